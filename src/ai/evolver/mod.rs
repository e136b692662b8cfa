//! Genetic evolution of indicator trading rules (the `evolve` command's engine-free half).
//!
//! - [`features`]: the fixed feature menu, the streaming [`FeatureSet`] and the shared
//!   [`FeatureTable`];
//! - [`genome`]: genes, the decision rule, rule text and JSON;
//! - [`ops`]: random genomes, crossover, mutation;
//! - [`lean`]: the lean evaluator (the broker's rules for the GA's configuration, bit for
//!   bit equal to the engine driving the `evolved` strategy);
//! - [`ga`]: the GA over a caller-supplied fitness.
//!
//! Sits left of `strategy` (the `evolved` strategy uses the genome and the feature set). The
//! GA takes its per-task seeds from `core::seed::task_seed`; scoring, the train / validation /
//! test split, the comparison and persistence live in `app::evolve`.

pub mod features;
pub mod ga;
pub mod genome;
pub mod ops;

pub use features::{Feature, FeatureRanges, FeatureSet, FeatureTable};
pub use ga::{Evaluation, GaConfig, GaResult, GenerationStats, Stage, evolve};
pub use genome::{Compiled, Decision, Gene, Genome, GenomeError, Op, RiskGenes};
