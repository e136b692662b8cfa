//! The genetic algorithm: tournament selection, elitism, crossover, mutation and
//! immigrants, over a caller-supplied fitness function (the lean evaluator plus scoring, in
//! `app::evolve`), so the GA itself runs no backtest and reads no data.
//!
//! Honesty: evolution (selection, elitism) uses the *training* fitness only; each
//! generation the elites are also scored on the *validation* window, and the reported best
//! genome is the one with the best validation fitness seen. The test window is not known
//! here at all. Every training evaluation is a trial for the deflated Sharpe ratio, so its
//! per-period Sharpe ratio is kept ([`GaResult::trial_sharpes`]).
//!
//! Determinism: individual `i` of generation `g` is bred with its own RNG seeded
//! `task_seed(seed, g·P + i)` (immigrants from a second stream), bred and evaluated in
//! parallel with rayon, collected in index order; ties rank by index. The result is the
//! same for a seed whatever the thread count.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::features::FeatureRanges;
use super::genome::Genome;
use super::ops::{crossover, mutate, random_genome};
use crate::core::seed::task_seed;
use crate::indicators::ParamError;

/// Salt of the immigrants' seed stream.
const IMMIGRANT_SALT: u64 = 0x1A3A_16A7_5EED_0001;
/// Fitness given to a non-finite score, so ranking stays total.
pub const FITNESS_FLOOR: f64 = -1.0e6;

/// GA settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaConfig {
    /// Individuals per generation.
    pub population: usize,
    /// Generations (including the random first one).
    pub generations: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Tournament size.
    pub tournament: usize,
    /// Individuals copied unchanged into the next generation.
    pub elites: usize,
    /// Probability that a child is a crossover (else a copy of its first parent).
    pub crossover_rate: f64,
    /// Per-gene mutation probability.
    pub mutation_rate: f64,
    /// Stop after this many generations without a validation improvement.
    pub early_stop: Option<usize>,
    /// Immigrants arrive when the share of distinct genomes falls below this.
    pub diversity_floor: f64,
    /// Share of the population (the worst) replaced by immigrants.
    pub immigrant_frac: f64,
}

impl Default for GaConfig {
    fn default() -> Self {
        GaConfig {
            population: 50,
            generations: 50,
            seed: 42,
            tournament: 3,
            elites: 5,
            crossover_rate: 0.8,
            mutation_rate: 0.15,
            early_stop: None,
            diversity_floor: 0.3,
            immigrant_frac: 0.2,
        }
    }
}

impl GaConfig {
    /// Check the settings.
    ///
    /// # Errors
    /// [`ParamError`] naming the first bad setting.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.population < 4 {
            return Err(ParamError::new("population", self.population, "at least 4"));
        }
        if self.generations < 1 {
            return Err(ParamError::new(
                "generations",
                self.generations,
                "at least 1",
            ));
        }
        if self.tournament < 1 || self.tournament > self.population {
            return Err(ParamError::new(
                "tournament",
                self.tournament,
                "1..=population",
            ));
        }
        if self.early_stop == Some(0) {
            return Err(ParamError::new("early-stop", 0, "at least 1"));
        }
        for (name, v) in [
            ("crossover_rate", self.crossover_rate),
            ("mutation_rate", self.mutation_rate),
            ("diversity_floor", self.diversity_floor),
            ("immigrant_frac", self.immigrant_frac),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(ParamError::new(name, v, "from 0 to 1"));
            }
        }
        Ok(())
    }
}

/// Which window a genome is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The training window (drives evolution).
    Train,
    /// The validation window (picks the reported best).
    Validation,
}

/// What the fitness function returns for one genome on one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Fitness (higher is better); non-finite counts as [`FITNESS_FLOOR`].
    pub fitness: f64,
    /// Per-period Sharpe ratio of the run (a deflated-Sharpe trial); NaN when undefined.
    pub trial_sharpe: f64,
}

/// One generation's figures (the progress callback's argument).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GenerationStats {
    /// Generation number, from 0.
    pub generation: usize,
    /// Best training fitness in the generation.
    pub best_fitness: f64,
    /// Mean training fitness in the generation.
    pub mean_fitness: f64,
    /// Best validation fitness among this generation's elites.
    pub validation_fitness: f64,
    /// Best validation fitness so far (the reported best's).
    pub best_validation_fitness: f64,
    /// Share of distinct genomes, in [0, 1].
    pub unique_frac: f64,
    /// Immigrants added in this generation.
    pub immigrants: usize,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct GaResult {
    /// The genome with the best validation fitness seen.
    pub best: Genome,
    /// Its training fitness.
    pub best_fitness: f64,
    /// Its validation fitness.
    pub best_validation_fitness: f64,
    /// The generation it was found in.
    pub best_generation: usize,
    /// Per-generation figures.
    pub history: Vec<GenerationStats>,
    /// The per-period Sharpe ratio of every training evaluation, in evaluation order.
    pub trial_sharpes: Vec<f64>,
    /// Validation evaluations made.
    pub validation_evaluations: usize,
    /// True when `early_stop` ended the run.
    pub stopped_early: bool,
}

fn sane(f: f64) -> f64 {
    if f.is_finite() { f } else { FITNESS_FLOOR }
}

/// Indices by fitness, best first; ties by index.
fn ranking(fit: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..fit.len()).collect();
    idx.sort_by(|&a, &b| fit[b].total_cmp(&fit[a]).then(a.cmp(&b)));
    idx
}

fn tournament(rng: &mut ChaCha8Rng, fit: &[f64], k: usize) -> usize {
    let mut best = rng.random_range(0..fit.len());
    for _ in 1..k {
        let c = rng.random_range(0..fit.len());
        if fit[c] > fit[best] || (fit[c] == fit[best] && c < best) {
            best = c;
        }
    }
    best
}

fn unique_frac(pop: &[Genome]) -> f64 {
    let mut keys: Vec<String> = pop.iter().map(Genome::key).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.len() as f64 / pop.len().max(1) as f64
}

/// Run the GA (see the module doc). `eval` scores a genome on a window; `progress` is
/// called after each generation.
///
/// # Errors
/// [`ParamError`] for bad settings.
pub fn evolve<F>(
    cfg: &GaConfig,
    ranges: &FeatureRanges,
    eval: &F,
    progress: &mut dyn FnMut(&GenerationStats),
) -> Result<GaResult, ParamError>
where
    F: Fn(&Genome, Stage) -> Evaluation + Sync,
{
    cfg.validate()?;
    let p = cfg.population;
    let elites = cfg.elites.min(p);
    let mut trial_sharpes = Vec::with_capacity(p * cfg.generations);

    let first: Vec<(Genome, Evaluation)> = (0..p)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(task_seed(cfg.seed, i as u64));
            let g = random_genome(&mut rng, ranges);
            let e = eval(&g, Stage::Train);
            (g, e)
        })
        .collect();
    let (mut pop, evals): (Vec<Genome>, Vec<Evaluation>) = first.into_iter().unzip();
    trial_sharpes.extend(evals.iter().map(|e| e.trial_sharpe));
    let mut fit: Vec<f64> = evals.iter().map(|e| sane(e.fitness)).collect();

    let mut val_cache: HashMap<String, f64> = HashMap::new();
    let mut validation_evaluations = 0;
    let mut best: Option<(Genome, f64, f64, usize)> = None;
    let mut history = Vec::with_capacity(cfg.generations);
    let mut since_improvement = 0;
    let mut stopped_early = false;

    for g_idx in 0..cfg.generations {
        // immigrants when diversity collapses: the worst share replaced by random genomes
        let mut immigrants = 0;
        if unique_frac(&pop) < cfg.diversity_floor {
            let n = ((p as f64 * cfg.immigrant_frac).ceil() as usize).min(p - elites);
            let worst: Vec<usize> = ranking(&fit).into_iter().rev().take(n).collect();
            let fresh: Vec<(Genome, Evaluation)> = worst
                .par_iter()
                .map(|&i| {
                    let s = task_seed(cfg.seed ^ IMMIGRANT_SALT, (g_idx * p + i) as u64);
                    let g = random_genome(&mut ChaCha8Rng::seed_from_u64(s), ranges);
                    let e = eval(&g, Stage::Train);
                    (g, e)
                })
                .collect();
            for (&i, (g, e)) in worst.iter().zip(fresh) {
                trial_sharpes.push(e.trial_sharpe);
                pop[i] = g;
                fit[i] = sane(e.fitness);
            }
            immigrants = n;
        }

        let order = ranking(&fit);
        // validation scores of this generation's elites (cached by genome)
        let todo: Vec<usize> = order
            .iter()
            .take(elites.max(1))
            .copied()
            .filter(|&i| !val_cache.contains_key(&pop[i].key()))
            .collect();
        let scored: Vec<f64> = todo
            .par_iter()
            .map(|&i| sane(eval(&pop[i], Stage::Validation).fitness))
            .collect();
        validation_evaluations += scored.len();
        for (&i, v) in todo.iter().zip(scored) {
            val_cache.insert(pop[i].key(), v);
        }
        let mut gen_val = f64::NEG_INFINITY;
        let mut improved = false;
        for &i in order.iter().take(elites.max(1)) {
            let v = val_cache
                .get(&pop[i].key())
                .copied()
                .unwrap_or(FITNESS_FLOOR);
            gen_val = gen_val.max(v);
            if best.as_ref().is_none_or(|b| v > b.2) {
                best = Some((pop[i].clone(), fit[i], v, g_idx));
                improved = true;
            }
        }
        since_improvement = if improved { 0 } else { since_improvement + 1 };
        let stats = GenerationStats {
            generation: g_idx,
            best_fitness: fit[order[0]],
            mean_fitness: fit.iter().sum::<f64>() / p as f64,
            validation_fitness: gen_val,
            best_validation_fitness: best.as_ref().map_or(f64::NAN, |b| b.2),
            unique_frac: unique_frac(&pop),
            immigrants,
        };
        progress(&stats);
        history.push(stats);
        if g_idx + 1 == cfg.generations {
            break;
        }
        if cfg.early_stop.is_some_and(|n| since_improvement >= n) {
            stopped_early = true;
            break;
        }

        // the next generation: elites, then children bred and scored in parallel
        let next_gen = g_idx + 1;
        let children: Vec<(Genome, Evaluation)> = (elites..p)
            .into_par_iter()
            .map(|i| {
                let s = task_seed(cfg.seed, (next_gen * p + i) as u64);
                let mut rng = ChaCha8Rng::seed_from_u64(s);
                let a = tournament(&mut rng, &fit, cfg.tournament);
                let b = tournament(&mut rng, &fit, cfg.tournament);
                let mut child = if rng.random::<f64>() < cfg.crossover_rate {
                    crossover(&mut rng, &pop[a], &pop[b])
                } else {
                    pop[a].clone()
                };
                mutate(&mut rng, &mut child, ranges, cfg.mutation_rate);
                let e = eval(&child, Stage::Train);
                (child, e)
            })
            .collect();
        let mut next_pop = Vec::with_capacity(p);
        let mut next_fit = Vec::with_capacity(p);
        for &i in order.iter().take(elites) {
            next_pop.push(pop[i].clone());
            next_fit.push(fit[i]);
        }
        for (g, e) in children {
            trial_sharpes.push(e.trial_sharpe);
            next_pop.push(g);
            next_fit.push(sane(e.fitness));
        }
        pop = next_pop;
        fit = next_fit;
    }

    let (best, best_fitness, best_validation_fitness, best_generation) =
        best.ok_or_else(|| ParamError::new("generations", cfg.generations, "at least 1"))?;
    Ok(GaResult {
        best,
        best_fitness,
        best_validation_fitness,
        best_generation,
        history,
        trial_sharpes,
        validation_evaluations,
        stopped_early,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::evolver::features::{Feature, FeatureTable};

    fn ranges() -> FeatureRanges {
        let bars = crate::testutil::random_walk(400, 2);
        FeatureRanges::measure(FeatureTable::new(&bars).unwrap().rows())
    }

    /// A toy fitness: reward long RSI(14) genes with thresholds near 30 (train) and near
    /// 35 (validation).
    fn toy(g: &Genome, stage: Stage) -> Evaluation {
        let target = if stage == Stage::Train { 30.0 } else { 35.0 };
        let score = g
            .long
            .iter()
            .filter(|x| x.active && x.feature == Feature::Rsi14)
            .map(|x| -(x.threshold - target).abs())
            .fold(-100.0, f64::max);
        Evaluation {
            fitness: score,
            trial_sharpe: score / 100.0,
        }
    }

    fn cfg(seed: u64) -> GaConfig {
        GaConfig {
            population: 16,
            generations: 12,
            seed,
            ..GaConfig::default()
        }
    }

    #[test]
    fn same_seed_gives_the_same_run_and_fitness_improves() {
        let r = ranges();
        let a = evolve(&cfg(7), &r, &toy, &mut |_| {}).unwrap();
        let b = evolve(&cfg(7), &r, &toy, &mut |_| {}).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.history.len(), 12);
        assert!(a.history[11].best_fitness >= a.history[0].best_fitness);
        // elitism: the best training fitness never falls
        for w in a.history.windows(2) {
            assert!(w[1].best_fitness >= w[0].best_fitness);
        }
        // every training evaluation is a trial: 16 + 11 generations of 11 children (+ immigrants)
        let immigrants: usize = a.history.iter().map(|h| h.immigrants).sum();
        assert_eq!(a.trial_sharpes.len(), 16 + 11 * 11 + immigrants);
        let c = evolve(&cfg(8), &r, &toy, &mut |_| {}).unwrap();
        assert_ne!(a.best, c.best);
    }

    #[test]
    fn thread_count_does_not_change_the_result() {
        let r = ranges();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| evolve(&cfg(3), &r, &toy, &mut |_| {}).unwrap())
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn early_stop_ends_a_run_without_validation_progress() {
        let r = ranges();
        let flat = |_: &Genome, _: Stage| Evaluation {
            fitness: 1.0,
            trial_sharpe: 0.0,
        };
        let c = GaConfig {
            early_stop: Some(3),
            ..cfg(1)
        };
        let res = evolve(&c, &r, &flat, &mut |_| {}).unwrap();
        assert!(res.stopped_early);
        assert_eq!(res.history.len(), 4);
        assert_eq!(res.best_generation, 0);
    }

    #[test]
    fn collapsed_diversity_brings_immigrants() {
        let r = ranges();
        // everything scores the same: tournaments pick index order, children converge
        let c = GaConfig {
            mutation_rate: 0.0,
            crossover_rate: 0.0,
            elites: 1,
            tournament: 16,
            ..cfg(5)
        };
        let flat = |_: &Genome, _: Stage| Evaluation {
            fitness: 0.0,
            trial_sharpe: 0.0,
        };
        let res = evolve(&c, &r, &flat, &mut |_| {}).unwrap();
        assert!(
            res.history.iter().any(|h| h.immigrants == 4),
            "{:?}",
            res.history
        );
    }

    #[test]
    fn bad_settings_are_rejected() {
        let r = ranges();
        let c = GaConfig {
            population: 2,
            ..GaConfig::default()
        };
        assert!(evolve(&c, &r, &toy, &mut |_| {}).is_err());
    }
}
