//! Samplers with an ask/tell interface that maximise a value over a search space:
//! [`Tpe`], the Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio & Kégl 2011,
//! "Algorithms for Hyper-Parameter Optimization") with Optuna's defaults, and
//! [`RandomSearch`].
//!
//! TPE, per ask: below `n_startup_trials` told trials, a uniform random point. After that,
//! the told trials are ranked by value (NaN and −∞ last, ties by age), the best
//! `gamma(n) = min(⌈0.1·n⌉, 25)` form the "good" set `l` and the rest the "bad" set `g`; for
//! each dimension independently (Optuna's `multivariate=False`) a Parzen estimator is fitted
//! to each set (see `parzen`), 24 candidates are drawn from `l`, and the one maximising
//! `ln l(x) − ln g(x)` (the expected-improvement criterion) is kept. Log ranges are modelled
//! in log space, integer and stepped ranges by rounding, bools and choices by weighted counts.
//!
//! Constraints: a proposal that violates one is redrawn up to `max_resample` times, then
//! random points are tried as many times; if none is feasible the last one is returned
//! (check it with [`satisfies_all`]). All randomness comes from one ChaCha8 stream seeded at
//! construction, so a seed and the sequence of told values fix every proposal.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::constraint::{Constraint, satisfies_all};
use super::parzen::{CategoricalParzen, NumericParzen, default_weights};
use super::space::{Candidate, Dim, DimKind, check_space};
use crate::indicators::ParamError;
use crate::strategy::ParamValue;

/// TPE settings; [`Default`] gives Optuna's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TpeConfig {
    /// Random trials before the model is used (Optuna: 10).
    pub n_startup_trials: usize,
    /// Candidates drawn from the good-set estimator per dimension and ask (Optuna: 24).
    pub n_ei_candidates: usize,
    /// Weight of the prior kernel (Optuna: 1.0), > 0.
    pub prior_weight: f64,
    /// `gamma(n) = min(⌈gamma_frac·n⌉, gamma_max)` (Optuna: 0.1 and 25).
    pub gamma_frac: f64,
    /// Cap of the good-set size.
    pub gamma_max: usize,
    /// Redraws of an infeasible proposal before falling back to random points.
    pub max_resample: usize,
}

impl Default for TpeConfig {
    fn default() -> Self {
        TpeConfig {
            n_startup_trials: 10,
            n_ei_candidates: 24,
            prior_weight: 1.0,
            gamma_frac: 0.1,
            gamma_max: 25,
            max_resample: 100,
        }
    }
}

/// An ask/tell optimiser that maximises.
pub trait Sampler {
    /// The next point to evaluate.
    fn ask(&mut self) -> Candidate;
    /// Report the value of a point (higher is better; NaN and −∞ rank last).
    fn tell(&mut self, candidate: Candidate, value: f64);
    /// Every told `(candidate, value)`, in order.
    fn history(&self) -> &[(Candidate, f64)];
    /// The best told trial (earliest on ties); `None` before any finite or +∞ value.
    fn best(&self) -> Option<&(Candidate, f64)> {
        let mut best: Option<&(Candidate, f64)> = None;
        for t in self.history() {
            if rank_value(t.1) > best.map_or(f64::NEG_INFINITY, |b| rank_value(b.1)) {
                best = Some(t);
            }
        }
        best
    }
}

/// A value for ranking: NaN counts as −∞.
fn rank_value(v: f64) -> f64 {
    if v.is_nan() { f64::NEG_INFINITY } else { v }
}

/// How a dimension is modelled.
#[derive(Debug, Clone, Copy)]
enum Model {
    /// Ordinal indices `0..=last`.
    Discrete { last: u64 },
    /// `[low, high]`, in log space for log ranges.
    Continuous { low: f64, high: f64, log: bool },
    /// `k` unordered choices.
    Categorical { k: usize },
}

fn model(d: &Dim) -> Model {
    match &d.kind {
        DimKind::Float {
            lo,
            hi,
            step: None,
            log,
        } => {
            let (low, high) = if *log { (lo.ln(), hi.ln()) } else { (*lo, *hi) };
            Model::Continuous {
                low,
                high,
                log: *log,
            }
        }
        DimKind::Bool | DimKind::Choice(_) => Model::Categorical {
            k: d.n_values().unwrap_or(1) as usize,
        },
        _ => Model::Discrete {
            last: d.n_values().unwrap_or(1).saturating_sub(1),
        },
    }
}

/// Internal coordinate of `v` on dimension `d`: an index, or the (log-)value clamped to range.
fn to_internal(d: &Dim, m: Model, v: ParamValue) -> Option<f64> {
    match m {
        Model::Continuous { low, high, log } => {
            let x = v.as_f64();
            let x = if log { x.ln() } else { x };
            x.is_finite().then(|| x.clamp(low, high))
        }
        _ => d.index_of(v).map(|i| i as f64),
    }
}

/// The parameter value at internal coordinate `x`.
fn from_internal(d: &Dim, m: Model, x: f64) -> ParamValue {
    match (m, &d.kind) {
        (Model::Continuous { log, .. }, DimKind::Float { lo, hi, .. }) => {
            let v = if log { x.exp() } else { x };
            ParamValue::Float(v.clamp(*lo, *hi))
        }
        _ => d.value_at(x.max(0.0) as u64),
    }
}

/// A uniform random internal coordinate.
fn random_internal(m: Model, rng: &mut ChaCha8Rng) -> f64 {
    match m {
        Model::Discrete { last } => rng.random_range(0..=last) as f64,
        Model::Continuous { low, high, .. } => low + rng.random::<f64>() * (high - low),
        Model::Categorical { k } => rng.random_range(0..k.max(1)) as f64,
    }
}

/// A uniform random candidate.
fn random_candidate(dims: &[Dim], models: &[Model], rng: &mut ChaCha8Rng) -> Candidate {
    dims.iter()
        .zip(models)
        .map(|(d, &m)| (d.name.clone(), from_internal(d, m, random_internal(m, rng))))
        .collect()
}

/// The good/bad estimator pair of one dimension.
enum Pair {
    Numeric(NumericParzen, NumericParzen),
    Categorical(CategoricalParzen, CategoricalParzen),
}

/// Tree-structured Parzen Estimator (maximises).
#[derive(Debug, Clone)]
pub struct Tpe {
    dims: Vec<Dim>,
    models: Vec<Model>,
    constraints: Vec<Constraint>,
    cfg: TpeConfig,
    rng: ChaCha8Rng,
    history: Vec<(Candidate, f64)>,
}

impl Tpe {
    /// A TPE sampler over `space`, seeded with `seed`.
    ///
    /// # Errors
    /// [`ParamError`] for a bad space ([`check_space`]), an empty space, or a config with
    /// `n_ei_candidates = 0`, `prior_weight <= 0` or `gamma_frac` outside `(0, 1]`.
    pub fn new(space: Vec<Dim>, seed: u64, cfg: TpeConfig) -> Result<Tpe, ParamError> {
        check_space(&space)?;
        if space.is_empty() {
            return Err(ParamError::new("space", "empty", "at least one dimension"));
        }
        if cfg.n_ei_candidates == 0
            || !(cfg.prior_weight > 0.0 && cfg.prior_weight.is_finite())
            || !(cfg.gamma_frac > 0.0 && cfg.gamma_frac <= 1.0)
            || cfg.gamma_max == 0
        {
            return Err(ParamError::new(
                "tpe config",
                format!("{cfg:?}"),
                "n_ei_candidates >= 1, prior_weight > 0, 0 < gamma_frac <= 1, gamma_max >= 1",
            ));
        }
        let models = space.iter().map(model).collect();
        Ok(Tpe {
            dims: space,
            models,
            constraints: Vec::new(),
            cfg,
            rng: ChaCha8Rng::seed_from_u64(seed),
            history: Vec::new(),
        })
    }

    /// The same sampler, proposing only points that satisfy `constraints` when it can.
    pub fn with_constraints(mut self, constraints: Vec<Constraint>) -> Tpe {
        self.constraints = constraints;
        self
    }

    /// The search space.
    pub fn space(&self) -> &[Dim] {
        &self.dims
    }

    /// The good-set size for `n` trials: `min(⌈gamma_frac·n⌉, gamma_max)`.
    pub fn gamma(&self, n: usize) -> usize {
        ((self.cfg.gamma_frac * n as f64).ceil() as usize).min(self.cfg.gamma_max)
    }

    /// Split the history into (good, bad) trial indices, each in chronological order.
    fn split(&self) -> (Vec<usize>, Vec<usize>) {
        let n = self.history.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| {
            rank_value(self.history[j].1)
                .total_cmp(&rank_value(self.history[i].1))
                .then(i.cmp(&j))
        });
        let n_good = self.gamma(n).min(n);
        let mut good = order[..n_good].to_vec();
        let mut bad = order[n_good..].to_vec();
        good.sort_unstable();
        bad.sort_unstable();
        (good, bad)
    }

    /// Fit the estimator pair of dimension `k` on the good and bad trials.
    fn fit(&self, k: usize, good: &[usize], bad: &[usize]) -> Pair {
        let (d, m) = (&self.dims[k], self.models[k]);
        let obs = |set: &[usize]| -> Vec<f64> {
            set.iter()
                .filter_map(|&t| self.history[t].0.get(&d.name))
                .filter_map(|&v| to_internal(d, m, v))
                .collect()
        };
        let (og, ob) = (obs(good), obs(bad));
        let (wg, wb) = (default_weights(og.len()), default_weights(ob.len()));
        let pw = self.cfg.prior_weight;
        match m {
            Model::Categorical { k } => {
                let idx = |o: &[f64]| o.iter().map(|&x| x as usize).collect::<Vec<_>>();
                Pair::Categorical(
                    CategoricalParzen::new(&idx(&og), &wg, k, pw),
                    CategoricalParzen::new(&idx(&ob), &wb, k, pw),
                )
            }
            Model::Discrete { last } => {
                let high = last as f64 + 0.5;
                Pair::Numeric(
                    NumericParzen::new(&og, &wg, -0.5, high, true, pw),
                    NumericParzen::new(&ob, &wb, -0.5, high, true, pw),
                )
            }
            Model::Continuous { low, high, .. } => Pair::Numeric(
                NumericParzen::new(&og, &wg, low, high, false, pw),
                NumericParzen::new(&ob, &wb, low, high, false, pw),
            ),
        }
    }

    /// One model-based proposal: per dimension, the best of `n_ei_candidates` draws from
    /// the good estimator by `ln l − ln g` (the first on ties).
    fn propose(&mut self, pairs: &[Pair]) -> Candidate {
        let mut c = Candidate::new();
        for (k, pair) in pairs.iter().enumerate() {
            let mut best = (f64::NEG_INFINITY, f64::NAN);
            for _ in 0..self.cfg.n_ei_candidates {
                let (x, score) = match pair {
                    Pair::Numeric(l, g) => {
                        let x = l.sample(&mut self.rng);
                        (x, l.log_pdf(x) - g.log_pdf(x))
                    }
                    Pair::Categorical(l, g) => {
                        let i = l.sample(&mut self.rng);
                        (i as f64, l.log_pmf(i) - g.log_pmf(i))
                    }
                };
                if best.1.is_nan() || score > best.0 {
                    best = (score, x);
                }
            }
            let d = &self.dims[k];
            c.insert(d.name.clone(), from_internal(d, self.models[k], best.1));
        }
        c
    }
}

impl Sampler for Tpe {
    fn ask(&mut self) -> Candidate {
        let tries = self.cfg.max_resample.max(1);
        if self.history.len() >= self.cfg.n_startup_trials {
            let (good, bad) = self.split();
            let pairs: Vec<Pair> = (0..self.dims.len())
                .map(|k| self.fit(k, &good, &bad))
                .collect();
            for _ in 0..tries {
                let c = self.propose(&pairs);
                if satisfies_all(&self.constraints, &c) {
                    return c;
                }
            }
        }
        let mut c = Candidate::new();
        for _ in 0..tries {
            c = random_candidate(&self.dims, &self.models, &mut self.rng);
            if satisfies_all(&self.constraints, &c) {
                break;
            }
        }
        c
    }

    fn tell(&mut self, candidate: Candidate, value: f64) {
        self.history.push((candidate, value));
    }

    fn history(&self) -> &[(Candidate, f64)] {
        &self.history
    }
}

/// Uniform random search with the same interface (constraints by rejection).
#[derive(Debug, Clone)]
pub struct RandomSearch {
    dims: Vec<Dim>,
    models: Vec<Model>,
    constraints: Vec<Constraint>,
    max_resample: usize,
    rng: ChaCha8Rng,
    history: Vec<(Candidate, f64)>,
}

impl RandomSearch {
    /// Random search over `space`, seeded with `seed`.
    ///
    /// # Errors
    /// [`ParamError`] for a bad or empty space.
    pub fn new(space: Vec<Dim>, seed: u64) -> Result<RandomSearch, ParamError> {
        check_space(&space)?;
        if space.is_empty() {
            return Err(ParamError::new("space", "empty", "at least one dimension"));
        }
        let models = space.iter().map(model).collect();
        Ok(RandomSearch {
            dims: space,
            models,
            constraints: Vec::new(),
            max_resample: TpeConfig::default().max_resample,
            rng: ChaCha8Rng::seed_from_u64(seed),
            history: Vec::new(),
        })
    }

    /// The same sampler, rejecting points that violate `constraints` (up to 200 draws).
    pub fn with_constraints(mut self, constraints: Vec<Constraint>) -> RandomSearch {
        self.constraints = constraints;
        self
    }
}

impl Sampler for RandomSearch {
    fn ask(&mut self) -> Candidate {
        let mut c = Candidate::new();
        for _ in 0..2 * self.max_resample {
            c = random_candidate(&self.dims, &self.models, &mut self.rng);
            if satisfies_all(&self.constraints, &c) {
                break;
            }
        }
        c
    }

    fn tell(&mut self, candidate: Candidate, value: f64) {
        self.history.push((candidate, value));
    }

    fn history(&self) -> &[(Candidate, f64)] {
        &self.history
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::space::parse_grid;

    fn space(specs: &[&str]) -> Vec<Dim> {
        specs.iter().map(|s| parse_grid(s).unwrap()).collect()
    }

    #[test]
    fn gamma_is_optunas() {
        let t = Tpe::new(space(&["x=0..10"]), 0, TpeConfig::default()).unwrap();
        assert_eq!(t.gamma(10), 1);
        assert_eq!(t.gamma(11), 2);
        assert_eq!(t.gamma(100), 10);
        assert_eq!(t.gamma(1000), 25);
    }

    #[test]
    fn split_ranks_nan_and_neg_inf_last_and_keeps_age_order() {
        let mut t = Tpe::new(space(&["x=0..10"]), 0, TpeConfig::default()).unwrap();
        let vals = [
            1.0,
            f64::NAN,
            5.0,
            f64::NEG_INFINITY,
            5.0,
            3.0,
            2.0,
            0.0,
            4.0,
            1.5,
            6.0,
        ];
        for (i, v) in vals.iter().enumerate() {
            let c: Candidate = [("x".to_string(), ParamValue::Int(i as i64))].into();
            t.tell(c, *v);
        }
        // 11 trials → 2 good: 6.0 (index 10) and the first 5.0 (index 2).
        let (good, bad) = t.split();
        assert_eq!(good, vec![2, 10]);
        assert_eq!(bad.len(), 9);
        assert_eq!(t.best().unwrap().1, 6.0);
    }

    #[test]
    fn proposals_stay_in_range_for_every_kind() {
        let dims = space(&[
            "i=3..9:3",
            "f=0.5..2.0:0.25",
            "c=0.1..10",
            "l=1e-3..1:log",
            "b=true,false",
            "n=5,7",
        ]);
        let mut t = Tpe::new(dims.clone(), 4, TpeConfig::default()).unwrap();
        for step in 0..40 {
            let c = t.ask();
            for d in &dims {
                let v = c[&d.name];
                match &d.kind {
                    DimKind::Float { lo, hi, .. } => assert!((*lo..=*hi).contains(&v.as_f64())),
                    _ => assert_eq!(d.value_at(d.index_of(v).unwrap()), v),
                }
            }
            let score = -(c["c"].as_f64() - 3.0).powi(2) + f64::from(step % 3);
            t.tell(c, score);
        }
    }

    #[test]
    fn constraints_are_respected_when_feasible() {
        let dims = space(&["fast=2..50", "slow=2..50"]);
        let lt = vec![Constraint::parse("fast<slow").unwrap()];
        let mut t = Tpe::new(dims.clone(), 9, TpeConfig::default())
            .unwrap()
            .with_constraints(lt.clone());
        let mut r = RandomSearch::new(dims, 9)
            .unwrap()
            .with_constraints(lt.clone());
        for _ in 0..30 {
            let c = t.ask();
            assert!(satisfies_all(&lt, &c), "{c:?}");
            let v = c["slow"].as_f64() - c["fast"].as_f64();
            t.tell(c, -v);
            let c = r.ask();
            assert!(satisfies_all(&lt, &c), "{c:?}");
            r.tell(c, 0.0);
        }
    }

    #[test]
    fn bad_config_and_empty_space_are_rejected() {
        assert!(Tpe::new(vec![], 0, TpeConfig::default()).is_err());
        let cfg = TpeConfig {
            prior_weight: 0.0,
            ..TpeConfig::default()
        };
        assert!(Tpe::new(space(&["x=0..1"]), 0, cfg).is_err());
        assert!(RandomSearch::new(vec![], 0).is_err());
    }
}
