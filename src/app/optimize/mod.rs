//! `optimize`: search a strategy's parameters on bars (exhaustive grid on rayon, TPE or
//! random search), then judge the winner: deflated Sharpe ratio over every trial ever
//! recorded for the symbol and strategy, probability of backtest overfitting by CSCV,
//! optional walk-forward validation and per-regime optimisation.
//!
//! The metric is always *maximised*; `minimize` maximises its negation (use it for
//! `max_drawdown_pct`, `volatility_ann_pct`, durations, fees). A trial's `value` is that
//! signed objective (−∞ when the metric is undefined or the candidate failed).
//!
//! Per-regime optimisation labels every bar with [`RegimeDetector`] and, for each regime,
//! backtests over *all* bars while allowing entries only on that regime's bars (an entry
//! signal on another regime's bar only closes a position held the other way). We chose this
//! over restricting the returns to the regime's bars because it keeps real trades, fills and
//! fees, so every statistic (and `--maximize` key) keeps its meaning, and because it is
//! what a strategy that switches parameters when the regime changes actually does.
//!
//! Walk-forward folds optimise on each training window and backtest the winner on the test
//! window; all earlier bars warm the strategy up (the engine's `from_ts_ms`), so indicators
//! are warm at the test window's first bar.
//!
//! No I/O here: recording and resuming go through an [`Observer`] (the CLI's writes to the
//! learning DB), and the trials already recorded for the symbol and strategy come in as
//! [`PriorTrials`].

mod command;
pub mod eval;
pub use crate::engine::fast::sweep as lean;
pub mod record;
pub mod search;
mod stored;
pub(crate) mod validate;

use std::collections::BTreeMap;
pub mod shard;

use crate::Error;
use crate::data::Bars;
use crate::engine::BacktestConfig;
use crate::indicators::ParamError;
use crate::metrics::Stats;
use crate::optimize::{Constraint, Dim, DsrResult, Fold, MetricMap, Trial, WalkForwardMode};
use crate::regime::{Regime, RegimeConfig, RegimeDetector};
use crate::strategy::{self, Params};

pub use command::{OptimizeReply, OptimizeRequest, run, show};
pub use eval::{Evaluator, FAST_KEYS, SHARPE_PER_PERIOD, metric_keys, stats_metrics};
pub use search::{Method, Objective, best_trial, eligible};
pub use stored::stored_report;
pub use validate::{PboSummary, pbo_of};

/// The scope name of the search over all bars.
pub const SCOPE_ALL: &str = "all";

/// Walk-forward settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalkForward {
    /// Number of folds.
    pub k: usize,
    /// Rolling or anchored training windows.
    pub mode: WalkForwardMode,
    /// Training share of each fold, in (0, 1).
    pub train_frac: f64,
}

/// Everything an optimisation run needs.
#[derive(Debug, Clone)]
pub struct OptimizeSpec {
    /// Strategy name.
    pub strategy: String,
    /// Fixed `--param k=v` pairs, merged into every candidate.
    pub params: Vec<(String, String)>,
    /// Searched dimensions.
    pub dims: Vec<Dim>,
    /// Constraints (the strategy's default ones are added when both sides are searched).
    pub constraints: Vec<Constraint>,
    /// Grid, TPE or random.
    pub method: Method,
    /// Trials for samplers.
    pub trials: usize,
    /// Seed for samplers and PBO's sample.
    pub seed: u64,
    /// Sampler batch (asked in order, evaluated in parallel, told in order).
    pub batch: usize,
    /// The objective.
    pub objective: Objective,
    /// Trials with fewer trades never win.
    pub min_trades: usize,
    /// Rows in the top table.
    pub top: usize,
    /// Backtest settings.
    pub cfg: BacktestConfig,
    /// Walk-forward validation.
    pub walk_forward: Option<WalkForward>,
    /// Optimise each regime separately too.
    pub per_regime: bool,
    /// Stop the main search after this many trials (interrupted run).
    pub stop_after: Option<usize>,
    /// Most trials in PBO's return matrix (the best ones, then a seeded sample).
    pub pbo_max_trials: usize,
}

impl OptimizeSpec {
    /// A grid search of `strategy` over `dims` maximising `metric`, with defaults elsewhere.
    pub fn new(strategy: &str, dims: Vec<Dim>, metric: &str) -> OptimizeSpec {
        OptimizeSpec {
            strategy: strategy.to_string(),
            params: Vec::new(),
            dims,
            constraints: Vec::new(),
            method: Method::Grid,
            trials: 100,
            seed: 42,
            batch: 8,
            objective: Objective {
                metric: metric.to_string(),
                minimize: false,
            },
            min_trades: 0,
            top: 10,
            cfg: BacktestConfig::default(),
            walk_forward: None,
            per_regime: false,
            stop_after: None,
            pbo_max_trials: 256,
        }
    }
}

/// Distinct trials recorded earlier for the same symbol and strategy (for the deflated
/// Sharpe ratio).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriorTrials {
    /// How many.
    pub count: usize,
    /// Their per-period Sharpe ratios (finite ones).
    pub sharpe_per_period: Vec<f64>,
    /// The data hash of this run's bars.
    pub data_hash: String,
    /// Those on the same data, by [`record::trial_key`], with their per-period Sharpe ratio
    /// (NaN when undefined): a trial of this run with the same key is the same trial and
    /// counts once.
    pub same_data: BTreeMap<String, f64>,
}

/// Receives progress and finished trials, and supplies recorded ones (resume).
pub trait Observer {
    /// `done` of `total` trials of the current search are finished.
    fn progress(&mut self, _done: usize, _total: usize) {}
    /// Trials already recorded for `scope` by the run being resumed, sorted by index.
    ///
    /// # Errors
    /// Whatever reading the record fails with.
    fn stored(&mut self, _scope: &str) -> Result<Vec<Trial>, Error> {
        Ok(Vec::new())
    }
    /// Newly evaluated trials of `scope`, in order.
    ///
    /// # Errors
    /// Whatever recording fails with.
    fn record(&mut self, _scope: &str, _trials: &[Trial]) -> Result<(), Error> {
        Ok(())
    }
}

struct ProgressOnly<'a>(&'a dyn Fn(usize, usize));

impl Observer for ProgressOnly<'_> {
    fn progress(&mut self, done: usize, total: usize) {
        (self.0)(done, total);
    }
}

/// The winner of a search, run in full.
#[derive(Debug, Clone)]
pub struct BestRun {
    /// The winning trial.
    pub trial: Trial,
    /// Its full parameters (fixed ones and defaults included).
    pub params: Params,
    /// Its statistics.
    pub stats: Stats,
    /// Its equity curve.
    pub equity: Vec<f64>,
    /// Index of the curve's first bar.
    pub first_bar: usize,
}

/// One walk-forward fold.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FoldOutcome {
    /// Bar ranges.
    pub fold: Fold,
    /// The training window's winner (`None`: no eligible trial).
    pub params: Option<Params>,
    /// The winner's in-sample metrics.
    pub in_sample: MetricMap,
    /// The winner's out-of-sample statistics.
    pub out_of_sample: Option<Stats>,
    /// Out-of-sample equity (from the fold's own starting cash).
    #[serde(skip)]
    pub oos_equity: Vec<f64>,
}

/// One regime's search.
#[derive(Debug, Clone)]
pub struct RegimeOutcome {
    /// The regime.
    pub regime: Regime,
    /// Bars labelled with it.
    pub bars: usize,
    /// Its trials.
    pub trials: Vec<Trial>,
    /// Its winner.
    pub best: Option<Trial>,
}

/// The result of [`optimize`].
#[derive(Debug, Clone)]
pub struct OptimizeOutcome {
    /// The spec's objective.
    pub objective: Objective,
    /// The searched dimensions.
    pub dims: Vec<Dim>,
    /// Every trial of the search over all bars, in order.
    pub trials: Vec<Trial>,
    /// The winner, run in full.
    pub best: Option<BestRun>,
    /// The best eligible trials, best first.
    pub top: Vec<Trial>,
    /// Deflated Sharpe ratio of the winner.
    pub dsr: Option<DsrResult>,
    /// Trials the DSR counts (recorded before plus this run's).
    pub dsr_trials: usize,
    /// Probability of backtest overfitting.
    pub pbo: Option<PboSummary>,
    /// Walk-forward folds.
    pub folds: Vec<FoldOutcome>,
    /// Stitched out-of-sample equity of the folds.
    pub oos_equity: Vec<f64>,
    /// Per-regime searches.
    pub regimes: Vec<RegimeOutcome>,
    /// True when `stop_after` interrupted the search (nothing after it ran).
    pub stopped: bool,
}

/// [`optimize_with`] reporting only progress.
///
/// # Errors
/// As [`optimize_with`].
pub fn optimize(
    bars: &Bars,
    spec: &OptimizeSpec,
    progress: &dyn Fn(usize, usize),
) -> Result<OptimizeOutcome, Error> {
    optimize_with(
        bars,
        spec,
        &PriorTrials::default(),
        &mut ProgressOnly(progress),
    )
}

/// The strategy's built-in constraints between searched parameters.
fn default_constraints(strategy: &str, dims: &[Dim]) -> Vec<Constraint> {
    let has = |n: &str| dims.iter().any(|d| d.name == n);
    let pair = match strategy {
        "sma-cross" => ("fast", "slow"),
        "technical" => ("ema_fast", "ema_slow"),
        _ => return Vec::new(),
    };
    if has(pair.0) && has(pair.1) {
        Constraint::parse(&format!("{}<{}", pair.0, pair.1))
            .into_iter()
            .collect()
    } else {
        Vec::new()
    }
}

/// Check the spec: known metric, known parameter names, constraints on searched names.
///
/// # Errors
/// [`Error::Usage`] naming the allowed metric keys; [`Error::Param`] for a bad name.
pub fn check_spec(spec: &OptimizeSpec) -> Result<Params, Error> {
    let keys = metric_keys();
    if !keys.contains(&spec.objective.metric) {
        return Err(Error::Usage(format!(
            "unknown metric {:?}; allowed: {}",
            spec.objective.metric,
            keys.join(", ")
        )));
    }
    let specs = strategy::param_specs(&spec.strategy)?;
    let base = Params::resolve(specs, &spec.params)?;
    let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
    for d in &spec.dims {
        if !names.contains(&d.name.as_str()) {
            return Err(ParamError::new(
                "grid",
                &d.name,
                &format!("a parameter of {}: {}", spec.strategy, names.join(", ")),
            )
            .into());
        }
    }
    let searched: Vec<&str> = spec.dims.iter().map(|d| d.name.as_str()).collect();
    for c in &spec.constraints {
        c.check_names(&searched)?;
    }
    if spec.dims.is_empty() {
        return Err(Error::Usage(
            "nothing to search: give at least one --grid".into(),
        ));
    }
    if spec.method != Method::Grid && spec.trials == 0 {
        return Err(ParamError::new("trials", 0, "at least 1").into());
    }
    Ok(base)
}

/// Bar labels by regime (`None` during the detector's warm-up).
pub fn regime_labels(bars: &Bars) -> Result<Vec<Option<Regime>>, Error> {
    let mut det = RegimeDetector::new(RegimeConfig::default())?;
    Ok(bars
        .iter()
        .map(|b| det.update(&b).map(|s| s.regime))
        .collect())
}

/// Run the optimisation.
///
/// # Errors
/// [`Error::Usage`] for an unknown metric or an empty window; [`Error::Param`] for bad
/// parameter names, values or grids; whatever `obs` fails with.
pub fn optimize_with(
    bars: &Bars,
    spec: &OptimizeSpec,
    prior: &PriorTrials,
    obs: &mut dyn Observer,
) -> Result<OptimizeOutcome, Error> {
    let base = check_spec(spec)?;
    let mut constraints = spec.constraints.clone();
    for c in default_constraints(&spec.strategy, &spec.dims) {
        if !constraints.contains(&c) {
            constraints.push(c);
        }
    }
    let window = validate::window_of(bars, &spec.cfg)?;
    let metric = spec.objective.metric.as_str();
    let ev = Evaluator::new(
        bars,
        &spec.strategy,
        base.clone(),
        &spec.cfg,
        window.clone(),
        None,
        metric,
    )?;
    let sspec = search::SearchSpec {
        dims: &spec.dims,
        constraints: &constraints,
        method: spec.method,
        trials: spec.trials,
        seed: spec.seed,
        batch: spec.batch,
        objective: &spec.objective,
        min_trades: spec.min_trades,
        stop_after: spec.stop_after,
    };
    let main = search::search(&ev, &sspec, SCOPE_ALL, obs)?;
    let mut out = OptimizeOutcome {
        objective: spec.objective.clone(),
        dims: spec.dims.clone(),
        trials: main.trials.clone(),
        best: None,
        top: Vec::new(),
        dsr: None,
        dsr_trials: 0,
        pbo: None,
        folds: Vec::new(),
        oos_equity: Vec::new(),
        regimes: Vec::new(),
        stopped: main.stopped,
    };
    if main.stopped {
        return Ok(out);
    }
    out.top = validate::top(&main.trials, spec.min_trades, spec.top);
    if let Some(b) = best_trial(&main.trials, spec.min_trades) {
        let params = ev.params_of(&b.params)?;
        let run = ev.full(&params)?;
        let (dsr, n) = validate::dsr_of(&main, &run.returns, prior);
        out.dsr = dsr;
        out.dsr_trials = n;
        out.pbo = pbo_of(&ev, &main, spec.min_trades, spec.pbo_max_trials, spec.seed);
        out.best = Some(BestRun {
            trial: b.clone(),
            params,
            stats: run.stats,
            first_bar: run.result.first_bar,
            equity: run.result.equity.to_vec(),
        });
    }
    if let Some(wf) = spec.walk_forward {
        let (folds, eq) = validate::walk_forward(bars, spec, &base, &sspec, &window, wf, obs)?;
        out.folds = folds;
        out.oos_equity = eq;
    }
    if spec.per_regime {
        out.regimes = per_regime(bars, spec, &base, &sspec, &window, obs)?;
    }
    Ok(out)
}

/// Search each regime with entries gated to its bars.
fn per_regime(
    bars: &Bars,
    spec: &OptimizeSpec,
    base: &Params,
    sspec: &search::SearchSpec<'_>,
    window: &std::ops::Range<usize>,
    obs: &mut dyn Observer,
) -> Result<Vec<RegimeOutcome>, Error> {
    let labels = regime_labels(bars)?;
    let mut out = Vec::new();
    for r in Regime::ALL {
        let gate: Vec<bool> = labels.iter().map(|l| *l == Some(r)).collect();
        let n = gate[window.clone()].iter().filter(|&&g| g).count();
        if n == 0 {
            continue;
        }
        let ev = Evaluator::new(
            bars,
            &spec.strategy,
            base.clone(),
            &spec.cfg,
            window.clone(),
            Some(&gate),
            &spec.objective.metric,
        )?;
        let res = search::search(&ev, sspec, r.as_str(), obs)?;
        let best = best_trial(&res.trials, spec.min_trades).cloned();
        out.push(RegimeOutcome {
            regime: r,
            bars: n,
            trials: res.trials,
            best,
        });
    }
    Ok(out)
}

/// Best stored parameters per regime (in [`Regime::ALL`] order), as `technical` loads them.
pub type RegimeParams = Vec<(Regime, Params)>;
