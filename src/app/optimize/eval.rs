//! Evaluating candidates: a candidate's parameters become a backtest over a window of bars,
//! and its statistics become a metric map plus the per-period returns the overfitting
//! statistics need.
//!
//! `sma-cross` under backtesting.py's settings runs on the lean loop ([`super::lean`]) with
//! SMA columns shared by every candidate; when the objective is one of [`FAST_KEYS`] the
//! statistics are streamed (no per-bar buffers), otherwise the lean loop's equity goes through
//! [`crate::metrics::compute`]. Every other strategy or setting runs the engine once per
//! candidate. Batches are evaluated on rayon and come back in input order.
//!
//! Per-period returns are the equity's returns between the last bars of consecutive
//! resampling buckets (the stats' annualisation: calendar days for intraday bars, so
//! per-bar returns for daily data); they bound the memory of PBO's return matrix.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::lean::{self, LeanConfig, SmaPair, SummarySink, TradeFold, rolling_mean_column};
use crate::Error;
use crate::core::order::{ExitReason, Intent, PositionView, Trade};
use crate::data::Bars;
use crate::engine::fast::single;
use crate::engine::{BacktestConfig, BacktestResult, run_backtest};
use crate::metrics::annual::annual_figures;
use crate::metrics::trades::TradeStats;
use crate::metrics::{Annualisation, Stats, StatsInput, compute, trade_stats};
use crate::optimize::{Candidate, MetricMap};
use crate::strategy::{self, History, ParamSpec, ParamValue, Params, Strategy};

/// The statistics the lean loop streams, so a sweep optimising one of them never keeps a
/// per-bar buffer. Other keys cost a full [`compute`] per candidate.
pub const FAST_KEYS: &[&str] = &[
    "bars",
    "duration_days",
    "exposure_pct",
    "equity_final",
    "equity_peak",
    "return_pct",
    "buy_hold_return_pct",
    "return_ann_pct",
    "cagr_pct",
    "volatility_ann_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "trades",
    "win_rate_pct",
    "best_trade_pct",
    "worst_trade_pct",
    "avg_trade_pct",
    "max_trade_duration_bars",
    "avg_trade_duration_bars",
    "max_trade_duration_days",
    "avg_trade_duration_days",
    "profit_factor",
    "expectancy_pct",
    "sqn",
    "kelly_criterion",
    "fees_paid",
    "periods_per_year",
];

/// Extra metric: the per-period Sharpe ratio (mean / sd of the per-period returns), for the
/// deflated Sharpe ratio.
pub const SHARPE_PER_PERIOD: &str = "sharpe_per_period";

const DAY_MS: f64 = 86_400_000.0;

/// The numeric statistics of `stats` by key (`null` → NaN; the `start`/`end` texts left out).
pub fn stats_metrics(stats: &Stats) -> MetricMap {
    let mut out = MetricMap::new();
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(stats) {
        for (k, v) in m {
            match v {
                serde_json::Value::Number(n) => {
                    out.insert(k, n.as_f64().unwrap_or(f64::NAN));
                }
                serde_json::Value::Null => {
                    out.insert(k, f64::NAN);
                }
                _ => {}
            }
        }
    }
    out
}

/// Every statistic `--maximize` accepts, sorted.
pub fn metric_keys() -> Vec<String> {
    let empty = compute(&StatsInput {
        ts_ms: &[],
        close: &[],
        equity: &[],
        exposure: &[],
        trades: &[],
        fees_paid: 0.0,
        cash0: 1.0,
    });
    stats_metrics(&empty).into_keys().collect()
}

/// One evaluated candidate.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EvalOut {
    /// Metrics by key (empty when the candidate failed).
    pub metrics: MetricMap,
    /// Per-period returns.
    pub returns: Vec<f64>,
    /// Why the candidate could not be run.
    pub error: Option<String>,
}

impl EvalOut {
    fn failed(why: String) -> EvalOut {
        EvalOut {
            error: Some(why),
            ..EvalOut::default()
        }
    }
}

/// Entries are allowed only on these bars (per-regime runs); an entry signal elsewhere only
/// closes a position held the other way.
struct Gated<'a> {
    inner: Box<dyn Strategy + Send>,
    allowed: &'a [bool],
}

impl Strategy for Gated<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
        let intent = self.inner.on_bar(hist, pos);
        match intent {
            Intent::Enter(e) if !self.allowed.get(hist.index()).copied().unwrap_or(false) => {
                match pos.side {
                    Some(s) if s != e.side => Intent::Exit { frac: 1.0 },
                    _ => Intent::Hold,
                }
            }
            other => other,
        }
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
    fn params(&self) -> Params {
        self.inner.params()
    }
    fn warmup_bars(&self) -> usize {
        self.inner.warmup_bars()
    }
}

/// A finished full backtest of one parameter set.
#[derive(Debug, Clone)]
pub struct FullRun {
    /// The statistics.
    pub stats: Stats,
    /// The engine's result.
    pub result: BacktestResult,
    /// Per-period returns.
    pub returns: Vec<f64>,
}

fn engine_err(e: crate::engine::EngineError) -> Error {
    Error::Engine(e)
}

/// Evaluates candidates of one strategy over one window of bars.
#[derive(Debug)]
pub struct Evaluator<'a> {
    bars: &'a Bars,
    strategy: String,
    specs: &'static [ParamSpec],
    base: Params,
    cfg: BacktestConfig,
    window: Range<usize>,
    gate: Option<&'a [bool]>,
    lean: Option<LeanConfig>,
    fast: bool,
    ann: Option<Annualisation>,
    bucket_ends: Vec<usize>,
    columns: Mutex<BTreeMap<usize, Arc<Vec<f64>>>>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator of `strategy` with fixed parameters `base` (defaults filled in by the
    /// caller) under `cfg` over bars `window` (earlier bars warm the strategy up), entries
    /// limited to `gate` when given, optimising `objective` (picks the fast statistics).
    ///
    /// # Errors
    /// [`Error::Param`] for an unknown strategy; [`Error::Usage`] for an empty window or a
    /// bad setting.
    pub fn new(
        bars: &'a Bars,
        strategy: &str,
        base: Params,
        cfg: &BacktestConfig,
        window: Range<usize>,
        gate: Option<&'a [bool]>,
        objective: &str,
    ) -> Result<Evaluator<'a>, Error> {
        let specs = strategy::param_specs(strategy)?;
        cfg.validate().map_err(engine_err)?;
        if window.start >= window.end || window.end > bars.len() {
            return Err(Error::Usage(format!(
                "empty bar window {}..{} of {} bars",
                window.start,
                window.end,
                bars.len()
            )));
        }
        let ts = bars.ts_ms();
        let mut cfg = *cfg;
        cfg.from_ts_ms = Some(ts[window.start]);
        cfg.to_ts_ms = Some(ts[window.end - 1]);
        let lean = (strategy == "sma-cross")
            .then(|| LeanConfig::from_backtest(&cfg, bars))
            .flatten();
        let wts = &ts[window.clone()];
        let ann = Annualisation::infer(wts);
        let bucket_ends = match ann {
            Some(a) => (0..wts.len())
                .filter(|&i| i + 1 == wts.len() || a.bucket(wts[i]) != a.bucket(wts[i + 1]))
                .map(|i| i + window.start)
                .collect(),
            None => Vec::new(),
        };
        Ok(Evaluator {
            bars,
            strategy: strategy.to_string(),
            specs,
            base,
            cfg,
            window,
            gate,
            lean,
            fast: FAST_KEYS.contains(&objective),
            ann,
            bucket_ends,
            columns: Mutex::new(BTreeMap::new()),
        })
    }

    /// True when candidates run on the lean loop with shared columns.
    pub fn is_lean(&self) -> bool {
        self.lean.is_some()
    }

    /// The backtest settings (with the window's dates).
    pub fn config(&self) -> &BacktestConfig {
        &self.cfg
    }

    /// The bar window.
    pub fn window(&self) -> Range<usize> {
        self.window.clone()
    }

    /// `base` with the candidate's values, each checked against the strategy's space.
    ///
    /// # Errors
    /// [`Error::Param`] for an unknown name or a value out of range.
    pub fn params_of(&self, cand: &Candidate) -> Result<Params, Error> {
        let mut p = self.base.clone();
        for (k, v) in cand {
            let spec = self.specs.iter().find(|s| s.name == k).ok_or_else(|| {
                let known: Vec<&str> = self.specs.iter().map(|s| s.name).collect();
                crate::indicators::ParamError::new(
                    "grid",
                    k,
                    &format!("a parameter of {}: {}", self.strategy, known.join(", ")),
                )
            })?;
            p.0.insert(k.clone(), spec.check(*v)?);
        }
        Ok(p)
    }

    /// The shared SMA column of period `n`, computed on first use.
    fn column(&self, n: usize) -> Arc<Vec<f64>> {
        if let Ok(m) = self.columns.lock()
            && let Some(c) = m.get(&n)
        {
            return Arc::clone(c);
        }
        let col = Arc::new(rolling_mean_column(self.bars.close(), n));
        match self.columns.lock() {
            Ok(mut m) => Arc::clone(m.entry(n).or_insert(col)),
            Err(_) => col,
        }
    }

    /// Compute the missing columns of `periods` in parallel.
    fn prefetch(&self, periods: &[usize]) {
        let missing: Vec<usize> = match self.columns.lock() {
            Ok(m) => periods
                .iter()
                .copied()
                .filter(|n| !m.contains_key(n))
                .collect(),
            Err(_) => return,
        };
        let cols: Vec<(usize, Vec<f64>)> = missing
            .par_iter()
            .map(|&n| (n, rolling_mean_column(self.bars.close(), n)))
            .collect();
        if let Ok(mut m) = self.columns.lock() {
            for (n, c) in cols {
                m.entry(n).or_insert_with(|| Arc::new(c));
            }
        }
    }

    /// Evaluate a batch; results in input order.
    pub fn eval_batch(&self, cands: &[Candidate]) -> Vec<EvalOut> {
        let params: Vec<Result<Params, String>> = cands
            .iter()
            .map(|c| self.params_of(c).map_err(|e| e.to_string()))
            .collect();
        match self.lean {
            Some(lc) => self.eval_lean(&params, lc),
            None => params
                .par_iter()
                .map(|p| match p {
                    Ok(p) => match self.full(p) {
                        Ok(run) => self.out_of(&run.stats, run.returns),
                        Err(e) => EvalOut::failed(e.to_string()),
                    },
                    Err(e) => EvalOut::failed(e.clone()),
                })
                .collect(),
        }
    }

    /// `(fast, slow, long_only)` of sma-cross parameters, or why they are invalid.
    fn sma_triplet(p: &Params) -> Result<(usize, usize, bool), String> {
        let (f, s) = (p.usize_or("fast", 10), p.usize_or("slow", 20));
        if f == 0 || s <= f {
            return Err(format!("slow = {s}: must be greater than fast ({f})"));
        }
        Ok((f, s, p.bool_or("long_only", false)))
    }

    fn eval_lean(&self, params: &[Result<Params, String>], lc: LeanConfig) -> Vec<EvalOut> {
        let trip: Vec<Result<(usize, usize, bool), String>> = params
            .iter()
            .map(|p| p.as_ref().map_err(Clone::clone).and_then(Self::sma_triplet))
            .collect();
        let mut periods: Vec<usize> = trip
            .iter()
            .flatten()
            .flat_map(|&(f, s, _)| [f, s])
            .collect();
        periods.sort_unstable();
        periods.dedup();
        self.prefetch(&periods);
        let cols: BTreeMap<usize, Arc<Vec<f64>>> =
            periods.iter().map(|&n| (n, self.column(n))).collect();
        let ok: Vec<(usize, SmaPair<'_>)> = trip
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().ok().map(|&tr| (i, tr)))
            .filter_map(|(i, (f, s, lo))| {
                Some((
                    i,
                    SmaPair {
                        fast: cols.get(&f)?.as_slice(),
                        slow: cols.get(&s)?.as_slice(),
                        slow_n: s,
                        long_only: lo,
                        gate: self.gate,
                    },
                ))
            })
            .collect();
        let mut out: Vec<EvalOut> = trip
            .iter()
            .map(|t| match t {
                Ok(_) => EvalOut::default(),
                Err(e) => EvalOut::failed(e.clone()),
            })
            .collect();
        let pairs: Vec<SmaPair<'_>> = ok.iter().map(|(_, p)| *p).collect();
        let evals: Vec<EvalOut> = if self.fast {
            // each summary becomes its metrics inside its group, so the trades of every
            // combination never sit in memory at once
            lean::sweep_map(
                self.bars,
                &pairs,
                lc,
                self.window.clone(),
                &self.bucket_ends,
                &|p, s, fees| self.summary_out(lc, p, s, fees),
            )
        } else {
            pairs
                .par_iter()
                .map(|p| {
                    let (d, fees) = single::run_detail(self.bars, *p, lc, self.window.clone());
                    let stats = self.stats_of(&d.equity, &d.exposure, &d.trades, fees);
                    let returns = self.returns_of(&d.equity);
                    self.out_of(&stats, returns)
                })
                .collect()
        };
        for ((i, _), e) in ok.iter().zip(evals) {
            out[*i] = e;
        }
        out
    }

    fn returns_of(&self, equity: &[f64]) -> Vec<f64> {
        match self.ann {
            Some(a) => a.period_returns(&self.bars.ts_ms()[self.window.clone()], equity),
            None => Vec::new(),
        }
    }

    fn stats_of(
        &self,
        equity: &[f64],
        exposure: &[bool],
        trades: &[Trade],
        fees_paid: f64,
    ) -> Stats {
        let first = self.window.start;
        let n = equity.len();
        compute(&StatsInput {
            ts_ms: &self.bars.ts_ms()[first..first + n],
            close: &self.bars.close()[first..first + n],
            equity,
            exposure,
            trades,
            fees_paid,
            cash0: self.cfg.cash,
        })
    }

    fn out_of(&self, stats: &Stats, returns: Vec<f64>) -> EvalOut {
        let mut metrics = stats_metrics(stats);
        let sr = crate::optimize::return_moments(&returns).map_or(f64::NAN, |m| m.sharpe);
        metrics.insert(SHARPE_PER_PERIOD.to_string(), sr);
        EvalOut {
            metrics,
            returns,
            error: None,
        }
    }

    /// The fast statistics of a lean summary, with `compute`'s formulas and operation order.
    fn summary_out(
        &self,
        lc: LeanConfig,
        pair: &SmaPair<'_>,
        s: &SummarySink<'_>,
        fees_paid: f64,
    ) -> EvalOut {
        let w = self.window.clone();
        let ts = &self.bars.ts_ms()[w.clone()];
        let close = &self.bars.close()[w.clone()];
        let n = s.bars;
        let last = s.last;
        let base = if self.cfg.cash > 0.0 && self.cfg.cash.is_finite() {
            self.cfg.cash
        } else {
            f64::NAN
        };
        let duration_days = match (ts.first(), ts.last()) {
            (Some(a), Some(b)) => (b - a) as f64 / DAY_MS,
            _ => f64::NAN,
        };
        let returns: Vec<f64> = s
            .bucket_equity
            .windows(2)
            .map(|x| x[1] / x[0] - 1.0)
            .collect();
        let (ann, ppy) = match self.ann {
            Some(a) => (
                annual_figures(&returns, a.periods_per_year),
                a.periods_per_year,
            ),
            None => (annual_figures(&[], f64::NAN), f64::NAN),
        };
        let years = duration_days / 365.25;
        let return_ann_pct = ann.return_ann * 100.0;
        let volatility_ann_pct = ann.volatility_ann * 100.0;
        let max_dd = s.max_dd;
        let c0 = close.first().copied().unwrap_or(f64::NAN);
        let (t, exposed) = self.trade_figures(lc, pair, s);
        let opt = |v: Option<usize>| v.map_or(f64::NAN, |x| x as f64);
        let m: [(&str, f64); 29] = [
            ("bars", n as f64),
            ("duration_days", duration_days),
            (
                "exposure_pct",
                if n == 0 {
                    f64::NAN
                } else {
                    exposed as f64 / n as f64 * 100.0
                },
            ),
            ("equity_final", last),
            ("equity_peak", s.peak),
            ("return_pct", (last - base) / base * 100.0),
            (
                "buy_hold_return_pct",
                (close.last().copied().unwrap_or(f64::NAN) - c0) / c0 * 100.0,
            ),
            ("return_ann_pct", return_ann_pct),
            (
                "cagr_pct",
                if years > 0.0 {
                    ((last / base).powf(1.0 / years) - 1.0) * 100.0
                } else {
                    f64::NAN
                },
            ),
            ("volatility_ann_pct", volatility_ann_pct),
            (
                "sharpe",
                if volatility_ann_pct == 0.0 {
                    f64::NAN
                } else {
                    return_ann_pct / volatility_ann_pct
                },
            ),
            ("sortino", ann.sortino),
            (
                "calmar",
                if max_dd == 0.0 {
                    f64::NAN
                } else {
                    ann.return_ann / max_dd
                },
            ),
            ("max_drawdown_pct", max_dd * 100.0),
            ("trades", t.trades as f64),
            ("win_rate_pct", t.win_rate_pct),
            ("best_trade_pct", t.best_trade_pct),
            ("worst_trade_pct", t.worst_trade_pct),
            ("avg_trade_pct", t.avg_trade_pct),
            ("max_trade_duration_bars", opt(t.max_trade_duration_bars)),
            ("avg_trade_duration_bars", t.avg_trade_duration_bars),
            ("max_trade_duration_days", t.max_trade_duration_days),
            ("avg_trade_duration_days", t.avg_trade_duration_days),
            ("profit_factor", t.profit_factor),
            ("expectancy_pct", t.expectancy_pct),
            ("sqn", t.sqn),
            ("kelly_criterion", t.kelly_criterion),
            ("fees_paid", fees_paid),
            ("periods_per_year", ppy),
        ];
        let mut metrics: MetricMap = m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let sr = crate::optimize::return_moments(&returns).map_or(f64::NAN, |m| m.sharpe);
        metrics.insert(SHARPE_PER_PERIOD.to_string(), sr);
        EvalOut {
            metrics,
            returns,
            error: None,
        }
    }

    /// The trade statistics and the exposed bars (`metrics::exposed_bars`) of a lean
    /// summary, from its [`TradeFold`]; when the fold does not describe the round trips
    /// ([`TradeFold::irregular`], or a trade past the window: not the lean loop's trades),
    /// from the trades of a detailed re-run of `pair` instead.
    fn trade_figures(
        &self,
        lc: LeanConfig,
        pair: &SmaPair<'_>,
        s: &SummarySink<'_>,
    ) -> (TradeStats, usize) {
        let f = &s.trades;
        if !f.irregular && f.exposed_end <= self.window.end {
            return (fold_stats(f), f.exposed);
        }
        let (d, _) = lean::run_detail(self.bars, *pair, lc, self.window.clone());
        let closed: Vec<Trade> = d
            .trades
            .into_iter()
            .filter(|t| t.exit_reason != ExitReason::Open)
            .collect();
        let ts = &self.bars.ts_ms()[self.window.clone()];
        let exposed = crate::metrics::exposed_bars(ts, &[], &closed);
        (trade_stats(&closed), exposed)
    }

    /// Run one parameter set in full (engine, or the lean loop when it applies), with the
    /// statistics and per-period returns.
    ///
    /// # Errors
    /// [`Error::Param`] when the strategy rejects the parameters; [`Error::Usage`] when
    /// the engine fails.
    pub fn full(&self, params: &Params) -> Result<FullRun, Error> {
        let strat = strategy::build(&self.strategy, params)?;
        let result = match self.gate {
            Some(allowed) => {
                let mut g = Gated {
                    inner: strat,
                    allowed,
                };
                run_backtest(self.bars, &mut g, &self.cfg).map_err(engine_err)?
            }
            None => {
                let mut s = strat;
                run_backtest(self.bars, &mut *s, &self.cfg).map_err(engine_err)?
            }
        };
        let mut stats = self.stats_of(
            &result.equity,
            &result.exposure,
            &result.trades,
            result.fees_paid,
        );
        stats.signals_skipped_zero_size = crate::app::backtest::zero_size_skips(&result);
        let returns = self.returns_of(&result.equity);
        Ok(FullRun {
            stats,
            result,
            returns,
        })
    }
}

/// [`trade_stats`] of a lean run's closed trades from their [`TradeFold`] (which holds the
/// round trips' sums, counts and extremes in `trade_stats`' order and operations; the test
/// compares all fields): the means, the sample variance of the PnLs (their mean by `Sum`,
/// then the squared deviations by `Sum`), the geometric mean and the ratios.
fn fold_stats(f: &TradeFold) -> TradeStats {
    let n = f.n;
    let mean = |s: f64, k: usize| if k == 0 { f64::NAN } else { s / k as f64 };
    let div_or_nan = |a: f64, b: f64| if b == 0.0 { f64::NAN } else { a / b };
    let (wins, losses) = (f.wins, f.losses);
    let (gross_profit, gross_loss) = (f.gross_profit, f.gross_loss);
    let win_rate = if n == 0 {
        f64::NAN
    } else {
        wins as f64 / n as f64
    };
    let pnl_mean = mean(f.pnl_sum, n);
    // `sample_var`: the mean by `Sum`, then the squared deviations by `Sum`
    let pnl_std = if n < 2 {
        f64::NAN
    } else {
        let k = n as f64;
        let m = f.pnl_total / k;
        let mut dev: f64 = std::iter::empty::<f64>().sum();
        for &p in &f.pnls {
            dev += (p - m) * (p - m);
        }
        (dev / (k - 1.0)).sqrt()
    };
    let geo = if n == 0 {
        f64::NAN
    } else if f.ruined {
        0.0
    } else {
        (f.log_sum / n as f64).exp() - 1.0
    };
    let (avg_win, avg_loss) = (mean(f.win_sum, wins), -mean(f.loss_sum, losses));
    TradeStats {
        trades: n,
        exit_fills: n,
        win_rate_pct: win_rate * 100.0,
        best_trade_pct: f.best * 100.0,
        worst_trade_pct: f.worst * 100.0,
        avg_trade_pct: geo * 100.0,
        expectancy_pct: mean(f.ret_sum, n) * 100.0,
        expectancy: pnl_mean,
        profit_factor: div_or_nan(gross_profit, gross_loss.abs()),
        gross_profit,
        gross_loss,
        avg_win_pct: mean(f.win_ret, wins),
        avg_loss_pct: mean(f.loss_ret, losses),
        sqn: div_or_nan((n as f64).sqrt() * pnl_mean, pnl_std),
        kelly_criterion: win_rate - (1.0 - win_rate) / (avg_win / avg_loss),
        max_trade_duration_bars: f.max_bars,
        avg_trade_duration_bars: mean(f.bars_sum, n),
        max_trade_duration_days: f.max_days,
        avg_trade_duration_days: mean(f.days_sum, n),
    }
}

/// A parameter value for display and JSON (`5`, `0.5`, `true`).
pub fn value_json(v: &ParamValue) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::order::Side;

    fn trade(e: usize, x: usize, reason: ExitReason) -> Trade {
        Trade {
            side: Side::Long,
            qty: 1.0,
            entry_bar: e,
            exit_bar: x,
            entry_ts_ms: e as i64 * 60_000,
            exit_ts_ms: x as i64 * 60_000,
            entry_price: 1.0,
            exit_price: 1.0,
            pnl: 0.0,
            return_pct: 0.0,
            fees: 0.0,
            mae_pct: f64::NAN,
            mfe_pct: f64::NAN,
            exit_reason: reason,
        }
    }

    /// The fold of trades in order.
    fn fold(trades: &[Trade]) -> TradeFold {
        let mut f = TradeFold::default();
        for t in trades {
            f.push(t);
        }
        f
    }

    #[test]
    fn fold_exposure_equals_exposed_bars() {
        let first = 7;
        let n = 60;
        let ts: Vec<i64> = (first..first + n).map(|i| i as i64 * 60_000).collect();
        // flips (shared bars), gaps, a one-bar trade, an open one at the end
        let mut x = 12345u64;
        for case in 0..200 {
            let mut trades = Vec::new();
            let mut t = first + (case % 5);
            while t < first + n {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let len = (x >> 60) as usize;
                let gap = ((x >> 40) % 3) as usize;
                let exit = t + len;
                if exit >= first + n {
                    if case % 2 == 0 {
                        trades.push(trade(t, first + n - 1, ExitReason::Open));
                    }
                    break;
                }
                trades.push(trade(t, exit, ExitReason::Signal));
                // the next position enters at a later bar than this one (flips share a bar)
                t = exit + gap.max(usize::from(len == 0));
            }
            let f = fold(&trades);
            assert!(!f.irregular && f.exposed_end <= first + n, "case {case}");
            assert_eq!(
                f.exposed,
                crate::metrics::exposed_bars(&ts, &[], &trades),
                "case {case}: {trades:?}"
            );
        }
        assert_eq!(fold(&[]).exposed, 0);
    }

    /// The re-run `trade_figures` falls back to gives the fold's figures.
    #[test]
    fn trade_figures_rerun_equals_fold() {
        let bars = crate::data::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/datasets/GOOG.csv"
        )))
        .unwrap();
        let cfg = BacktestConfig {
            commission: 0.002,
            ..BacktestConfig::default()
        };
        let base = Params::resolve(crate::strategy::sma_cross::SMA_CROSS_PARAMS, &[]).unwrap();
        let w = 100..bars.len() - 50;
        let ev = Evaluator::new(&bars, "sma-cross", base, &cfg, w.clone(), None, "sharpe").unwrap();
        let lc = LeanConfig::from_backtest(&cfg, &bars).unwrap();
        let (fast, slow) = (
            rolling_mean_column(bars.close(), 5),
            rolling_mean_column(bars.close(), 20),
        );
        let pair = SmaPair {
            fast: &fast,
            slow: &slow,
            slow_n: 20,
            long_only: false,
            gate: None,
        };
        let mut s = lean::sweep(&bars, &[pair], lc, w, &[]).remove(0).0;
        let a = ev.trade_figures(lc, &pair, &s);
        s.trades.irregular = true;
        let b = ev.trade_figures(lc, &pair, &s);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert!(a.0.trades > 10 && a.1 > 100);
    }

    #[test]
    fn fold_stats_equal_trade_stats() {
        let mut x = 99u64;
        let mut next = move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 11) as f64 / 9_007_199_254_740_992.0
        };
        let mut irregular = 0;
        for case in 0..300 {
            let n = case % 9;
            let mut bar = 3;
            let mut trades: Vec<Trade> = Vec::new();
            for i in 0..n {
                let t = {
                    let u = next();
                    let pnl = match case % 5 {
                        0 => (u - 0.5) * 100.0,
                        1 => u * 10.0,
                        2 => -u * 10.0,
                        3 => [0.0, -0.0, 5.0][i % 3],
                        _ => (u - 0.7) * 1e3,
                    };
                    let ret = match (case % 7, i) {
                        (6, 1) => -100.0,
                        (5, 0) => f64::NAN,
                        _ => pnl / 10.0,
                    };
                    let mut t = trade(bar, bar + 1 + (u * 50.0) as usize, ExitReason::Signal);
                    // a second fill of the same position now and then
                    match trades.last() {
                        Some(prev) if case % 11 == 10 => {
                            t.entry_bar = prev.entry_bar;
                            t.entry_ts_ms = prev.entry_ts_ms;
                        }
                        _ => bar = t.exit_bar,
                    }
                    t.pnl = pnl;
                    t.return_pct = ret;
                    t
                };
                trades.push(t);
            }
            let want = trade_stats(&trades);
            let f = fold(&trades);
            if f.irregular {
                // two fills of one position: `trade_figures` recomputes from the trades
                assert!(case % 11 == 10 && n > 1, "case {case}");
                irregular += 1;
            } else {
                let got = fold_stats(&f);
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "case {case}");
            }
        }
        assert!(irregular > 0 && irregular < 100);
    }
}
