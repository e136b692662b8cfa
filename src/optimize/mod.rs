//! Parameter optimisation, the engine-independent half: search spaces and grids
//! ([`space`], [`constraint`]), samplers ([`tpe`]: TPE and random search), a parallel grid runner
//! ([`grid_runner`]), walk-forward folds ([`walk_forward`]) and overfitting statistics
//! ([`overfit`]: deflated Sharpe ratio, PBO by CSCV).
//!
//! This module sits to the right of `engine` in the pipeline (it will run backtests through
//! a caller-supplied closure) but imports nothing from it: the `algolab optimize` command
//! wires the engine in. Everything here is deterministic for a seed: random processes use
//! [`rand_chacha::ChaCha8Rng`], rayon tasks derive their seed with [`task_seed`], results are
//! collected in index order and reduced sequentially.

pub mod constraint;
pub mod grid_runner;
pub mod normal;
pub mod overfit;
mod parzen;
pub mod space;
pub mod tpe;
pub mod walk_forward;

pub use constraint::{Constraint, satisfies_all};
pub use grid_runner::{MetricMap, Trial, best, run_grid};
pub use overfit::{DsrResult, PboResult, ReturnMoments, deflated_sharpe, pbo_cscv, return_moments};
pub use space::{Candidate, Dim, DimKind, Grid, parse_grid};
pub use tpe::{RandomSearch, Sampler, Tpe, TpeConfig};
pub use walk_forward::{Fold, WalkForwardMode, folds, stitch_equity};

pub use crate::core::seed::task_seed;
