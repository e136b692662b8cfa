//! The search loops: exhaustive grid, TPE and random search, in batches that are evaluated
//! in parallel and recorded in order, with resume from recorded trials.
//!
//! Determinism: the grid's candidates are evaluated independently, so the trials do not
//! depend on the thread count or the batch size. Samplers ask a batch of [`SearchSpec::batch`]
//! points in order, the batch is evaluated in parallel, and the values are told back in
//! order; the batch size is a setting (default 8), never the thread count, so a seed gives
//! the same trials on any machine. Resume replays the recorded trials in the same order:
//! a sampler is asked again (its random stream advances exactly as before) and told the
//! recorded value, so a resumed run continues exactly where the interrupted one stopped.

use std::collections::BTreeSet;

use super::Observer;
use super::eval::{EvalOut, Evaluator};
use crate::Error;
use crate::optimize::{
    Candidate, Constraint, Dim, Grid, MetricMap, RandomSearch, Sampler, Tpe, TpeConfig, Trial,
    satisfies_all,
};

/// How candidates are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every point of the grid (`--grid` ranges need steps).
    Grid,
    /// Tree-structured Parzen Estimator (`--trials`, `--seed`).
    Bayes,
    /// Uniform random points (`--trials`, `--seed`).
    Random,
}

/// The objective: a statistic and its direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objective {
    /// A stats key (`sharpe`, `equity_final`, `max_drawdown_pct`, …).
    pub metric: String,
    /// Minimise instead of maximise.
    pub minimize: bool,
}

impl Objective {
    /// The value to maximise: the metric (negated when minimising); −∞ when missing or NaN.
    pub fn value(&self, m: &MetricMap) -> f64 {
        match m.get(&self.metric) {
            Some(v) if !v.is_nan() => {
                if self.minimize {
                    -v
                } else {
                    *v
                }
            }
            _ => f64::NEG_INFINITY,
        }
    }
}

/// What one search needs besides the evaluator.
#[derive(Debug, Clone)]
pub struct SearchSpec<'a> {
    /// The searched dimensions.
    pub dims: &'a [Dim],
    /// Constraints between searched parameters.
    pub constraints: &'a [Constraint],
    /// Grid, TPE or random.
    pub method: Method,
    /// Sampler trials.
    pub trials: usize,
    /// Sampler seed.
    pub seed: u64,
    /// Sampler batch size.
    pub batch: usize,
    /// The objective.
    pub objective: &'a Objective,
    /// Trials below this trade count never win (and are told −∞ to samplers).
    pub min_trades: usize,
    /// Stop once this many trials exist (an interrupted run, for tests and budgets).
    pub stop_after: Option<usize>,
}

/// A search's trials, in order, with the per-period returns of those evaluated in this
/// process (`None` for trials replayed from the record).
#[derive(Debug, Clone, Default)]
pub struct SearchOut {
    /// Trials in order (`index` = position).
    pub trials: Vec<Trial>,
    /// Per-period returns, aligned with `trials`.
    pub returns: Vec<Option<Vec<f64>>>,
    /// True when `stop_after` cut the search short.
    pub stopped: bool,
}

/// Asks for a point not evaluated yet before a sampler's space counts as exhausted.
pub(super) const REPEAT_ASKS: usize = 64;

/// Grid batch size: large enough to keep every core busy.
const GRID_BATCH: usize = 1024;

/// Grid batch size on the lean loop (`engine::fast::sweep`): a whole grid of a few thousand
/// combinations is one sweep, so the threads meet once at its end instead of once per
/// batch (each meeting waits for the slowest thread's last group).
const LEAN_GRID_BATCH: usize = 8192;

/// Whether a trial can win: enough trades and a finite-or-+∞ value.
pub fn eligible(t: &Trial, min_trades: usize) -> bool {
    let trades = t.metrics.get("trades").copied().unwrap_or(0.0);
    trades >= min_trades as f64 && t.value > f64::NEG_INFINITY
}

/// The best eligible trial (highest value, lowest index on ties).
pub fn best_trial(trials: &[Trial], min_trades: usize) -> Option<&Trial> {
    let mut best: Option<&Trial> = None;
    for t in trials.iter().filter(|t| eligible(t, min_trades)) {
        if best.is_none_or(|b| t.value > b.value) {
            best = Some(t);
        }
    }
    best
}

/// The trial `index` of candidate `params` evaluated as `e`.
pub(super) fn trial_of(index: usize, params: Candidate, e: &EvalOut, obj: &Objective) -> Trial {
    Trial {
        index,
        value: if e.error.is_some() {
            f64::NEG_INFINITY
        } else {
            obj.value(&e.metrics)
        },
        params,
        metrics: e.metrics.clone(),
    }
}

/// Run one search, recording each batch through `obs` under `scope`.
///
/// # Errors
/// [`Error::Param`] for a grid with a continuous range; whatever `obs` fails with.
pub fn search(
    ev: &Evaluator<'_>,
    spec: &SearchSpec<'_>,
    scope: &str,
    obs: &mut dyn Observer,
) -> Result<SearchOut, Error> {
    let stored = obs.stored(scope)?;
    match spec.method {
        Method::Grid => grid(ev, spec, scope, obs, stored),
        Method::Bayes => {
            let s = Tpe::new(spec.dims.to_vec(), spec.seed, TpeConfig::default())?
                .with_constraints(spec.constraints.to_vec());
            sampled(ev, spec, scope, obs, stored, s)
        }
        Method::Random => {
            let s = RandomSearch::new(spec.dims.to_vec(), spec.seed)?
                .with_constraints(spec.constraints.to_vec());
            sampled(ev, spec, scope, obs, stored, s)
        }
    }
}

/// The recorded trial at `index` when its parameters are `params`.
fn replay(stored: &[Trial], index: usize, params: &Candidate) -> Option<Trial> {
    let i = stored.binary_search_by_key(&index, |t| t.index).ok()?;
    stored.get(i).filter(|t| &t.params == params).cloned()
}

/// Evaluate `cands` (numbered from `first`), reusing recorded trials.
fn run_batch(
    ev: &Evaluator<'_>,
    spec: &SearchSpec<'_>,
    stored: &[Trial],
    first: usize,
    cands: Vec<Candidate>,
    feasible: &dyn Fn(&Candidate) -> bool,
) -> (Vec<Trial>, Vec<Option<Vec<f64>>>, Vec<Trial>) {
    let mut todo: Vec<(usize, Candidate)> = Vec::new();
    let mut slots: Vec<Option<(Trial, Option<Vec<f64>>)>> = Vec::with_capacity(cands.len());
    for (i, c) in cands.into_iter().enumerate() {
        let index = first + i;
        if let Some(t) = replay(stored, index, &c) {
            slots.push(Some((t, None)));
        } else if !feasible(&c) {
            let e = EvalOut {
                error: Some("infeasible".into()),
                ..EvalOut::default()
            };
            slots.push(Some((trial_of(index, c, &e, spec.objective), None)));
        } else {
            todo.push((i, c));
            slots.push(None);
        }
    }
    let batch: Vec<Candidate> = todo.iter().map(|(_, c)| c.clone()).collect();
    let outs = ev.eval_batch(&batch);
    let mut fresh = Vec::with_capacity(todo.len());
    for ((i, c), e) in todo.into_iter().zip(outs) {
        let t = trial_of(first + i, c, &e, spec.objective);
        fresh.push(t.clone());
        slots[i] = Some((t, Some(e.returns)));
    }
    let (trials, returns): (Vec<Trial>, Vec<Option<Vec<f64>>>) =
        slots.into_iter().flatten().unzip();
    (trials, returns, fresh)
}

fn grid(
    ev: &Evaluator<'_>,
    spec: &SearchSpec<'_>,
    scope: &str,
    obs: &mut dyn Observer,
    stored: Vec<Trial>,
) -> Result<SearchOut, Error> {
    let g = Grid::new(spec.dims)?;
    let cands: Vec<Candidate> = (0..g.len())
        .map(|i| g.candidate(i))
        .filter(|c| satisfies_all(spec.constraints, c))
        .collect();
    let total = cands.len();
    let limit = spec.stop_after.map_or(total, |s| s.min(total));
    let mut out = SearchOut::default();
    obs.progress(0, total);
    let mut it = cands.into_iter();
    while out.trials.len() < limit {
        let first = out.trials.len();
        let batch = if ev.is_lean() {
            LEAN_GRID_BATCH
        } else {
            GRID_BATCH
        };
        let n = batch.min(limit - first);
        let chunk: Vec<Candidate> = it.by_ref().take(n).collect();
        let (t, r, fresh) = run_batch(ev, spec, &stored, first, chunk, &|_| true);
        obs.record(scope, &fresh)?;
        out.trials.extend(t);
        out.returns.extend(r);
        obs.progress(out.trials.len(), total);
    }
    out.stopped = limit < total;
    Ok(out)
}

fn sampled<S: Sampler>(
    ev: &Evaluator<'_>,
    spec: &SearchSpec<'_>,
    scope: &str,
    obs: &mut dyn Observer,
    stored: Vec<Trial>,
    mut sampler: S,
) -> Result<SearchOut, Error> {
    let total = spec.trials;
    let limit = spec.stop_after.map_or(total, |s| s.min(total));
    let batch = spec.batch.max(1);
    let mut out = SearchOut::default();
    obs.progress(0, total);
    let feasible = |c: &Candidate| satisfies_all(spec.constraints, c);
    // `--trials N` is N distinct points (issue 10): a repeated proposal is asked again,
    // and a sampler that keeps repeating has exhausted the space
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut exhausted = false;
    while out.trials.len() < limit && !exhausted {
        let first = out.trials.len();
        let n = batch.min(limit - first);
        let mut asked: Vec<Candidate> = Vec::with_capacity(n);
        while asked.len() < n {
            let fresh = (0..REPEAT_ASKS)
                .map(|_| sampler.ask())
                .find(|c| seen.insert(format!("{c:?}")));
            match fresh {
                Some(c) => asked.push(c),
                None => {
                    exhausted = true;
                    break;
                }
            }
        }
        if asked.is_empty() {
            break;
        }
        let (t, r, fresh) = run_batch(ev, spec, &stored, first, asked, &feasible);
        for trial in &t {
            let v = if eligible(trial, spec.min_trades) {
                trial.value
            } else {
                f64::NEG_INFINITY
            };
            sampler.tell(trial.params.clone(), v);
        }
        obs.record(scope, &fresh)?;
        out.trials.extend(t);
        out.returns.extend(r);
        obs.progress(out.trials.len(), total);
    }
    out.stopped = limit < total;
    Ok(out)
}
