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
//! Constraints are sampled inside (issue 10): the dimensions are drawn in order and a draw
//! that breaks a constraint whose parameters are all drawn already is skipped (TPE scores
//! only the feasible ones among its 24; when none is, or for a random point, a value is
//! drawn uniformly among the dimension's feasible values). A draw inside the constraint is
//! kept as is, so an unconstrained space samples exactly as before. Distinct points: TPE
//! never proposes a point it has proposed or been told before; after `max_resample`
//! repeated proposals it falls back to random points, then to the first unseen feasible
//! grid point from a random start. Only when the feasible space is exhausted does it return
//! a repeat (check with [`satisfies_all`] and the history). All randomness comes from one
//! ChaCha8 stream seeded at construction, so a seed and the sequence of told values fix
//! every proposal.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::constraint::{Constraint, satisfies_all};
use super::parzen::{CategoricalParzen, NumericParzen, default_weights};
use super::space::{Candidate, Dim, DimKind, Grid, check_space};
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
    /// Model proposals tried (infeasible or already seen) before falling back to random
    /// points, and random points tried before scanning the grid.
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
            max_resample: 4,
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

/// Whether every constraint whose parameters are all in `c` holds.
fn partial_ok(constraints: &[Constraint], c: &Candidate) -> bool {
    constraints
        .iter()
        .all(|k| !k.names().iter().all(|n| c.contains_key(*n)) || k.is_satisfied(c))
}

/// Most values of a discrete dimension enumerated to find its feasible ones.
const MAX_ENUMERATED: u64 = 100_000;

/// A random value of dimension `d` that keeps the constraints on `c` (the dimensions drawn
/// so far): a uniform draw if it is feasible, else a uniform choice among the feasible
/// values (enumerated when discrete, rejection-sampled when continuous). `None` when no
/// value is feasible.
fn random_inside(
    d: &Dim,
    m: Model,
    c: &mut Candidate,
    constraints: &[Constraint],
    rng: &mut ChaCha8Rng,
) -> Option<ParamValue> {
    let feasible = |v: ParamValue, c: &mut Candidate| {
        c.insert(d.name.clone(), v);
        let ok = partial_ok(constraints, c);
        c.remove(&d.name);
        ok
    };
    let v = from_internal(d, m, random_internal(m, rng));
    if feasible(v, c) {
        return Some(v);
    }
    match m {
        Model::Continuous { .. } => (0..1000)
            .map(|_| from_internal(d, m, random_internal(m, rng)))
            .find(|&v| feasible(v, c)),
        Model::Discrete { last } if last < MAX_ENUMERATED => {
            let ok: Vec<ParamValue> = (0..=last)
                .map(|i| from_internal(d, m, i as f64))
                .filter(|&v| feasible(v, c))
                .collect();
            (!ok.is_empty()).then(|| ok[rng.random_range(0..ok.len())])
        }
        Model::Categorical { k } => {
            let ok: Vec<ParamValue> = (0..k.max(1))
                .map(|i| from_internal(d, m, i as f64))
                .filter(|&v| feasible(v, c))
                .collect();
            (!ok.is_empty()).then(|| ok[rng.random_range(0..ok.len())])
        }
        Model::Discrete { .. } => None,
    }
}

/// A random candidate inside the constraints (dimension by dimension, see
/// [`random_inside`]); with no feasible value for a dimension, a uniform one (infeasible).
fn random_candidate(
    dims: &[Dim],
    models: &[Model],
    constraints: &[Constraint],
    rng: &mut ChaCha8Rng,
) -> Candidate {
    let mut c = Candidate::new();
    for (d, &m) in dims.iter().zip(models) {
        let v = random_inside(d, m, &mut c, constraints, rng)
            .unwrap_or_else(|| from_internal(d, m, random_internal(m, rng)));
        c.insert(d.name.clone(), v);
    }
    c
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
    /// Asked and not told yet (a batch is asked before it is told).
    pending: Vec<Candidate>,
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
            pending: Vec::new(),
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

    /// A feasible point neither told nor pending: model proposals, then random points,
    /// then a grid scan; a repeat only when none is left.
    fn ask_new(&mut self) -> Candidate {
        let tries = self.cfg.max_resample.max(1);
        let mut last = None;
        if self.history.len() >= self.cfg.n_startup_trials {
            let (good, bad) = self.split();
            let pairs: Vec<Pair> = (0..self.dims.len())
                .map(|k| self.fit(k, &good, &bad))
                .collect();
            for _ in 0..tries {
                let c = self.propose(&pairs);
                if satisfies_all(&self.constraints, &c) && self.is_new(&c) {
                    return c;
                }
                last = Some(c);
            }
        }
        for _ in 0..tries {
            let c = random_candidate(&self.dims, &self.models, &self.constraints, &mut self.rng);
            if satisfies_all(&self.constraints, &c) && self.is_new(&c) {
                return c;
            }
            last = Some(c);
        }
        match (self.scan_grid(), last) {
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => random_candidate(&self.dims, &self.models, &[], &mut self.rng),
        }
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
            let (d, m) = (&self.dims[k], self.models[k]);
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
                if !self.constraints.is_empty() {
                    c.insert(d.name.clone(), from_internal(d, m, x));
                    let ok = partial_ok(&self.constraints, &c);
                    c.remove(&d.name);
                    if !ok {
                        continue;
                    }
                }
                if best.1.is_nan() || score > best.0 {
                    best = (score, x);
                }
            }
            let v = if best.1.is_nan() {
                random_inside(d, m, &mut c, &self.constraints, &mut self.rng)
                    .unwrap_or_else(|| from_internal(d, m, random_internal(m, &mut self.rng)))
            } else {
                from_internal(d, m, best.1)
            };
            c.insert(d.name.clone(), v);
        }
        c
    }

    /// Whether `c` is neither told nor asked and not yet told.
    fn is_new(&self, c: &Candidate) -> bool {
        !self.history.iter().any(|(h, _)| h == c) && !self.pending.contains(c)
    }

    /// The first feasible unseen grid point from a random start, for a discrete space.
    fn scan_grid(&mut self) -> Option<Candidate> {
        let g = Grid::new(&self.dims).ok()?;
        let n = g.len();
        if n == 0 || n > MAX_ENUMERATED * 10 {
            return None;
        }
        let start = self.rng.random_range(0..n);
        (0..n)
            .map(|i| g.candidate((start + i) % n))
            .find(|c| satisfies_all(&self.constraints, c) && self.is_new(c))
    }
}

impl Sampler for Tpe {
    fn ask(&mut self) -> Candidate {
        let c = self.ask_new();
        self.pending.push(c.clone());
        c
    }

    fn tell(&mut self, candidate: Candidate, value: f64) {
        if let Some(i) = self.pending.iter().position(|p| p == &candidate) {
            self.pending.remove(i);
        }
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
            c = random_candidate(&self.dims, &self.models, &self.constraints, &mut self.rng);
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
    fn issue_10_tpe_never_proposes_a_point_twice() {
        // a tiny space (3 × 3 = 9 points) and a sharp optimum: TPE would keep proposing it
        let mut t = Tpe::new(space(&["a=0..2", "b=0..2"]), 4, TpeConfig::default()).unwrap();
        let mut seen = Vec::new();
        for _ in 0..9 {
            let c = t.ask();
            assert!(!seen.contains(&c), "repeat {c:?} after {seen:?}");
            seen.push(c.clone());
            let v = -(c["a"].as_f64() - 1.0).abs() - (c["b"].as_f64() - 1.0).abs();
            t.tell(c, v);
        }
        // a batch asked before it is told is distinct too
        let mut u = Tpe::new(space(&["a=0..3"]), 1, TpeConfig::default()).unwrap();
        let batch: Vec<Candidate> = (0..4).map(|_| u.ask()).collect();
        for (i, c) in batch.iter().enumerate() {
            assert!(!batch[..i].contains(c), "{batch:?}");
        }
    }

    #[test]
    fn issue_10_overlapping_ranges_are_sampled_inside_the_constraint() {
        // fast 2..50 and slow 10..200 overlap; every model draw is scored only where
        // fast < slow holds, so no proposal is rejected and redrawn
        let dims = space(&["fast=2..50", "slow=10..200"]);
        let lt = vec![Constraint::parse("fast<slow").unwrap()];
        let mut t = Tpe::new(dims, 5, TpeConfig::default())
            .unwrap()
            .with_constraints(lt.clone());
        for _ in 0..60 {
            let c = t.ask();
            assert!(satisfies_all(&lt, &c), "{c:?}");
            // rewarding fast close to slow pushes the good set against the boundary
            let v = c["fast"].as_f64() - c["slow"].as_f64();
            t.tell(c, v);
        }
        // the random fallback of one dimension keeps the constraint with the ones drawn
        let d = &space(&["slow=10..200"])[0];
        let mut c = Candidate::new();
        c.insert("fast".into(), ParamValue::Int(199));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let v = random_inside(d, model(d), &mut c, &lt, &mut rng).unwrap();
        assert_eq!(v, ParamValue::Int(200));
        c.insert("fast".into(), ParamValue::Int(200));
        assert_eq!(random_inside(d, model(d), &mut c, &lt, &mut rng), None);
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
