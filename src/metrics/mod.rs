//! Performance statistics of one backtest (DESIGN §3), with backtesting.py 0.6.6's
//! definitions (`backtesting/_stats.py::compute_stats`), computed from plain slices so this
//! module does not depend on the engine.
//!
//! Differences from backtesting.py, on purpose:
//! - drawdowns are positive percentages in [0, 100] (backtesting.py prints them negative);
//! - durations are given in bars (`*_bars`) and in days (`*_days`, unrounded), where
//!   backtesting.py reports `Timedelta`s ceiled to the data's resolution;
//! - returns are measured from `cash0` (backtesting.py uses `equity[0]`, which is the same
//!   unless a fill happens on the first bar);
//! - trades still open at the end ([`ExitReason::Open`]) are left out of the trade
//!   statistics, as backtesting.py leaves out `broker.trades`;
//! - a trade is a round trip, open to flat, whatever the number of partial exits, and the
//!   profit factor is in dollars ([`trades`]);
//! - buy & hold buys at the close of the first bar of the window and holds to the last
//!   close, whatever the strategy (backtesting.py starts after the strategy's warm-up, so
//!   its figure changes with the strategy); the report's buy & hold line and
//!   `equity.csv`'s `buy_hold` column are the same series;
//! - NaN (undefined) and infinite values serialize as JSON `null`.
//!
//! Risk-free rate is 0. No I/O, no wall clock.

pub mod annual;
pub mod drawdown;
pub mod trades;

use serde::{Deserialize, Serialize};

use crate::core::order::{ExitReason, Trade};

pub use annual::{Annualisation, Resample};
pub use drawdown::{DrawdownPeriod, drawdown_frac, drawdown_periods};
pub use trades::{TradeStats, trade_stats};

/// Everything [`compute`] needs, as plain per-bar slices of equal length.
///
/// Slices shorter than `equity` are treated as missing values (an absent close is NaN, an
/// absent exposure flag is `false`).
#[derive(Debug, Clone, Copy)]
pub struct StatsInput<'a> {
    /// Bar open times, UTC ms, strictly increasing.
    pub ts_ms: &'a [i64],
    /// Close prices (for buy & hold and beta).
    pub close: &'a [f64],
    /// Account equity at each bar's close.
    pub equity: &'a [f64],
    /// True on bars where a position is held.
    pub exposure: &'a [bool],
    /// Trades; [`ExitReason::Open`] ones are ignored.
    pub trades: &'a [Trade],
    /// Total commission paid.
    pub fees_paid: f64,
    /// Starting cash (the base of `return_pct`); a non-positive value falls back to
    /// `equity[0]`.
    pub cash0: f64,
}

/// Bars counted as exposed: backtesting.py 0.6.6's `have_position`, every bar from a closed
/// trade's entry bar to its exit bar inclusive; a trade still open at the end
/// ([`ExitReason::Open`]) does not count (issue 9 item 6). Without any trade (a buy & hold
/// curve) the `exposure` flags count.
/// `ts_ms` are the window's bar times (trades are located by their fill times).
pub fn exposed_bars(ts_ms: &[i64], exposure: &[bool], trades: &[Trade]) -> usize {
    let n = ts_ms.len();
    if trades.is_empty() {
        return (0..n)
            .filter(|&i| exposure.get(i).copied().unwrap_or(false))
            .count();
    }
    let ts = ts_ms;
    // +1 at the entry bar, −1 after the exit bar
    let mut diff = vec![0i64; ts.len() + 1];
    for t in trades.iter().filter(|t| t.exit_reason != ExitReason::Open) {
        let a = ts.partition_point(|&x| x < t.entry_ts_ms);
        let b = ts.partition_point(|&x| x <= t.exit_ts_ms);
        if a < b {
            diff[a] += 1;
            diff[b] -= 1;
        }
    }
    let mut open = 0i64;
    diff[..ts.len()]
        .iter()
        .filter(|&&d| {
            open += d;
            open > 0
        })
        .count()
}

/// The stats JSON of DESIGN §3 (keys in snake_case; non-finite numbers as `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// First bar time, ISO-8601 UTC.
    pub start: String,
    /// Last bar time, ISO-8601 UTC.
    pub end: String,
    /// `end - start` in days.
    #[serde(with = "nan_null")]
    pub duration_days: f64,
    /// Number of bars.
    pub bars: usize,
    /// Share of bars with a position, percent.
    #[serde(with = "nan_null")]
    pub exposure_pct: f64,
    /// Equity at the last bar.
    #[serde(with = "nan_null")]
    pub equity_final: f64,
    /// Highest equity.
    #[serde(with = "nan_null")]
    pub equity_peak: f64,
    /// Total return, percent of `cash0`.
    #[serde(with = "nan_null")]
    pub return_pct: f64,
    /// Buy & hold return of the close from the first tradable bar, percent.
    #[serde(with = "nan_null")]
    pub buy_hold_return_pct: f64,
    /// Annualised compounded return from resampled period returns, percent.
    #[serde(with = "nan_null")]
    pub return_ann_pct: f64,
    /// Compound annual growth rate over calendar time (365.25-day years), percent.
    #[serde(with = "nan_null")]
    pub cagr_pct: f64,
    /// Annualised volatility, percent.
    #[serde(with = "nan_null")]
    pub volatility_ann_pct: f64,
    /// `return_ann_pct / volatility_ann_pct`.
    #[serde(with = "nan_null")]
    pub sharpe: f64,
    /// Annual return over annualised downside deviation.
    #[serde(with = "nan_null")]
    pub sortino: f64,
    /// Annual return over maximum drawdown.
    #[serde(with = "nan_null")]
    pub calmar: f64,
    /// Jensen's alpha against the close, percent.
    #[serde(with = "nan_null")]
    pub alpha_pct: f64,
    /// Beta of the equity's log returns against the close's.
    #[serde(with = "nan_null")]
    pub beta: f64,
    /// Deepest drawdown, percent in [0, 100].
    #[serde(with = "nan_null")]
    pub max_drawdown_pct: f64,
    /// Mean depth of the drawdown periods, percent (positive).
    #[serde(with = "nan_null")]
    pub avg_drawdown_pct: f64,
    /// Longest drawdown period in bars (`null` with none).
    pub max_drawdown_duration_bars: Option<usize>,
    /// Mean drawdown period length in bars.
    #[serde(with = "nan_null")]
    pub avg_drawdown_duration_bars: f64,
    /// Longest drawdown period in days.
    #[serde(with = "nan_null")]
    pub max_drawdown_duration_days: f64,
    /// Mean drawdown period length in days.
    #[serde(with = "nan_null")]
    pub avg_drawdown_duration_days: f64,
    /// Number of closed trades (round trips: open to flat, partial exits included).
    pub trades: usize,
    /// Number of exit fills of the closed trades (each partial exit is one).
    #[serde(default)]
    pub exit_fills: usize,
    /// Share of trades with positive PnL, percent.
    #[serde(with = "nan_null")]
    pub win_rate_pct: f64,
    /// Best trade return, percent.
    #[serde(with = "nan_null")]
    pub best_trade_pct: f64,
    /// Worst trade return, percent.
    #[serde(with = "nan_null")]
    pub worst_trade_pct: f64,
    /// Geometric mean trade return, percent.
    #[serde(with = "nan_null")]
    pub avg_trade_pct: f64,
    /// Longest trade in bars.
    pub max_trade_duration_bars: Option<usize>,
    /// Mean trade length in bars.
    #[serde(with = "nan_null")]
    pub avg_trade_duration_bars: f64,
    /// Longest trade in days.
    #[serde(with = "nan_null")]
    pub max_trade_duration_days: f64,
    /// Mean trade length in days.
    #[serde(with = "nan_null")]
    pub avg_trade_duration_days: f64,
    /// Gross profit over gross loss, in money: `Σ PnL⁺ / |Σ PnL⁻|` over trades.
    #[serde(with = "nan_null")]
    pub profit_factor: f64,
    /// Mean trade return, percent.
    #[serde(with = "nan_null")]
    pub expectancy_pct: f64,
    /// Mean trade PnL, quote currency.
    #[serde(with = "nan_null", default = "nan")]
    pub expectancy: f64,
    /// Sum of the winning trades' PnL, quote currency.
    #[serde(with = "nan_null", default = "nan")]
    pub gross_profit: f64,
    /// Sum of the losing trades' PnL, quote currency (<= 0).
    #[serde(with = "nan_null", default = "nan")]
    pub gross_loss: f64,
    /// Mean return of the winning trades, percent.
    #[serde(with = "nan_null", default = "nan")]
    pub avg_win_pct: f64,
    /// Mean return of the losing trades, percent (<= 0).
    #[serde(with = "nan_null", default = "nan")]
    pub avg_loss_pct: f64,
    /// System quality number.
    #[serde(with = "nan_null")]
    pub sqn: f64,
    /// Kelly criterion (fraction).
    #[serde(with = "nan_null")]
    pub kelly_criterion: f64,
    /// Entry signals not traded because their size rounds to zero (whole units worth
    /// more than the position: GOLD at 10 000 cash). Set by the caller from the engine's
    /// refusals; [`compute`] leaves it 0.
    #[serde(default)]
    pub signals_skipped_zero_size: usize,
    /// Total commission paid.
    #[serde(with = "nan_null")]
    pub fees_paid: f64,
    /// Periods per year used for annualisation (252, 365, 52, 12 or 1).
    #[serde(with = "nan_null")]
    pub periods_per_year: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// Serialize non-finite `f64` as `null`, and read `null` back as NaN.
pub mod nan_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Write `v`, or `null` when it is NaN or infinite.
    ///
    /// # Errors
    /// The serializer's error.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    /// Read a number, or NaN for `null`.
    ///
    /// # Errors
    /// The deserializer's error for anything but a number or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

const DAY_MS: f64 = 86_400_000.0;

/// Format a UTC ms timestamp as ISO-8601 (`2024-01-01T00:00:00Z`).
pub fn iso(ts_ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ts_ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => format!("{ts_ms}ms"),
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Beta of `a` against `b` (sample covariance over sample variance of `b`), for series
/// given by index (`a(i)`, `b(i)` for `i < n`): two passes that recompute the values
/// instead of holding them, so a 10 M-bar run allocates nothing here. Same operations in
/// the same order as summing materialised slices, so the same bits.
fn beta(n: usize, a: impl Fn(usize) -> f64, b: impl Fn(usize) -> f64) -> f64 {
    if n < 2 {
        return f64::NAN;
    }
    let mean = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(&a), mean(&b));
    let cov: f64 = (0..n).map(|i| (a(i) - ma) * (b(i) - mb)).sum();
    let var: f64 = (0..n)
        .map(|i| {
            let y = b(i);
            (y - mb) * (y - mb)
        })
        .sum();
    cov / var
}

/// The log return from `xs[i]` to `xs[i + 1]`.
#[inline]
fn log_return(xs: &[f64], i: usize) -> f64 {
    (xs[i + 1] / xs[i]).ln()
}

/// Compute all statistics. Never panics; undefined figures are NaN.
pub fn compute(input: &StatsInput<'_>) -> Stats {
    let equity = input.equity;
    let n = equity.len();
    let ts = &input.ts_ms[..input.ts_ms.len().min(n)];
    // the close over the equity's bars, missing values NaN (borrowed when complete)
    let close: std::borrow::Cow<'_, [f64]> = if input.close.len() >= n {
        std::borrow::Cow::Borrowed(&input.close[..n])
    } else {
        (0..n)
            .map(|i| input.close.get(i).copied().unwrap_or(f64::NAN))
            .collect()
    };
    let first = equity.first().copied().unwrap_or(f64::NAN);
    let last = equity.last().copied().unwrap_or(f64::NAN);
    let base = if input.cash0 > 0.0 && input.cash0.is_finite() {
        input.cash0
    } else {
        first
    };
    let (start_ts, end_ts) = (ts.first().copied(), ts.last().copied());
    let duration_days = match (start_ts, end_ts) {
        (Some(a), Some(b)) => (b - a) as f64 / DAY_MS,
        _ => f64::NAN,
    };

    let exposed = exposed_bars(
        &input.ts_ms[..n.min(input.ts_ms.len())],
        input.exposure,
        input.trades,
    );
    let exposure_pct = if n == 0 {
        f64::NAN
    } else {
        exposed as f64 / n as f64 * 100.0
    };
    let return_pct = (last - base) / base * 100.0;
    let c0 = close.first().copied().unwrap_or(f64::NAN);
    let buy_hold_return_pct = (close.last().copied().unwrap_or(f64::NAN) - c0) / c0 * 100.0;

    // annual figures
    let (ann, periods_per_year) = match Annualisation::infer(ts) {
        Some(a) => (
            annual::annual_figures(&a.period_returns(ts, equity), a.periods_per_year),
            a.periods_per_year,
        ),
        None => (annual::annual_figures(&[], f64::NAN), f64::NAN),
    };
    let years = duration_days / 365.25;
    let cagr_pct = if years > 0.0 {
        ((last / base).powf(1.0 / years) - 1.0) * 100.0
    } else {
        f64::NAN
    };
    let return_ann_pct = ann.return_ann * 100.0;
    let volatility_ann_pct = ann.volatility_ann * 100.0;
    let sharpe = if volatility_ann_pct == 0.0 {
        f64::NAN
    } else {
        return_ann_pct / volatility_ann_pct
    };

    // drawdowns
    let (max_dd, periods) = {
        // one bar-sized series, freed before the next
        let dd = drawdown_frac(equity);
        (
            dd.iter().copied().fold(0.0, f64::max),
            drawdown_periods(&dd),
        )
    };
    let calmar = if max_dd == 0.0 {
        f64::NAN
    } else {
        ann.return_ann / max_dd
    };
    let depths: Vec<f64> = periods.iter().map(|p| p.depth_frac).collect();
    let dd_bars: Vec<f64> = periods.iter().map(|p| p.bars() as f64).collect();
    let dd_days: Vec<f64> = periods
        .iter()
        .map(|p| match (ts.get(p.end), ts.get(p.start)) {
            (Some(e), Some(s)) => (e - s) as f64 / DAY_MS,
            _ => f64::NAN,
        })
        .collect();

    let beta = beta(
        n.saturating_sub(1),
        |i| log_return(equity, i),
        |i| log_return(&close, i),
    );
    let alpha_pct = return_pct - beta * buy_hold_return_pct;

    let closed: Vec<Trade> = input
        .trades
        .iter()
        .filter(|t| t.exit_reason != ExitReason::Open)
        .copied()
        .collect();
    let t = trade_stats(&closed);

    Stats {
        start: start_ts.map(iso).unwrap_or_default(),
        end: end_ts.map(iso).unwrap_or_default(),
        duration_days,
        bars: n,
        exposure_pct,
        equity_final: last,
        equity_peak: equity.iter().copied().fold(f64::NAN, f64::max),
        return_pct,
        buy_hold_return_pct,
        return_ann_pct,
        cagr_pct,
        volatility_ann_pct,
        sharpe,
        sortino: ann.sortino,
        calmar,
        alpha_pct,
        beta,
        max_drawdown_pct: max_dd * 100.0,
        avg_drawdown_pct: mean(&depths) * 100.0,
        max_drawdown_duration_bars: periods.iter().map(DrawdownPeriod::bars).max(),
        avg_drawdown_duration_bars: mean(&dd_bars),
        max_drawdown_duration_days: dd_days.iter().copied().fold(f64::NAN, f64::max),
        avg_drawdown_duration_days: mean(&dd_days),
        trades: t.trades,
        exit_fills: t.exit_fills,
        win_rate_pct: t.win_rate_pct,
        best_trade_pct: t.best_trade_pct,
        worst_trade_pct: t.worst_trade_pct,
        avg_trade_pct: t.avg_trade_pct,
        max_trade_duration_bars: t.max_trade_duration_bars,
        avg_trade_duration_bars: t.avg_trade_duration_bars,
        max_trade_duration_days: t.max_trade_duration_days,
        avg_trade_duration_days: t.avg_trade_duration_days,
        profit_factor: t.profit_factor,
        expectancy_pct: t.expectancy_pct,
        expectancy: t.expectancy,
        gross_profit: t.gross_profit,
        gross_loss: t.gross_loss,
        avg_win_pct: t.avg_win_pct,
        avg_loss_pct: t.avg_loss_pct,
        sqn: t.sqn,
        kelly_criterion: t.kelly_criterion,
        signals_skipped_zero_size: 0,
        fees_paid: input.fees_paid,
        periods_per_year,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::trades::tests::trade;

    const D: i64 = 86_400_000;

    fn input<'a>(
        ts: &'a [i64],
        close: &'a [f64],
        equity: &'a [f64],
        trades: &'a [Trade],
    ) -> StatsInput<'a> {
        StatsInput {
            ts_ms: ts,
            close,
            equity,
            exposure: &[false, true, true],
            trades,
            fees_paid: 1.5,
            cash0: 100.0,
        }
    }

    #[test]
    fn three_bar_curve_stats_by_hand() {
        // Mon, Tue, Wed 2024-01-01..03: equity 100 -> 80 -> 120, close 10 -> 11 -> 12
        let ts = [19_723 * D, 19_724 * D, 19_725 * D];
        let mut tr = trade(20.0, 20.0, 1, 2);
        (tr.entry_ts_ms, tr.exit_ts_ms) = (ts[1], ts[2]);
        let trades = [tr];
        let s = compute(&input(
            &ts,
            &[10.0, 11.0, 12.0],
            &[100.0, 80.0, 120.0],
            &trades,
        ));
        assert_eq!(s.start, "2024-01-01T00:00:00Z");
        assert_eq!(s.end, "2024-01-03T00:00:00Z");
        assert_eq!(s.bars, 3);
        assert!((s.exposure_pct - 200.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.equity_peak, 120.0);
        assert!((s.return_pct - 20.0).abs() < 1e-12);
        assert!((s.buy_hold_return_pct - 20.0).abs() < 1e-12);
        assert!((s.max_drawdown_pct - 20.0).abs() < 1e-12);
        assert!((s.avg_drawdown_pct - 20.0).abs() < 1e-12);
        assert_eq!(s.max_drawdown_duration_bars, Some(2));
        assert_eq!(s.max_drawdown_duration_days, 2.0);
        assert_eq!(s.periods_per_year, 252.0);
        // day returns -20 %, +50 %: g = sqrt(0.8 * 1.5) - 1 = sqrt(1.2) - 1
        let g = 1.2f64.sqrt() - 1.0;
        let ann = (1.0 + g).powf(252.0) - 1.0;
        assert!((s.return_ann_pct / 100.0 / ann - 1.0).abs() < 1e-12);
        // Calmar = annual return / 0.2
        assert!((s.calmar - ann / 0.2).abs() / (ann / 0.2) < 1e-12);
        // downside deviation sqrt((0.04 + 0) / 2), Sortino = ann / (dd * sqrt(252))
        let sortino = ann / ((0.02f64).sqrt() * 252f64.sqrt());
        assert!((s.sortino / sortino - 1.0).abs() < 1e-12);
        assert_eq!(s.fees_paid, 1.5);
        assert_eq!(s.trades, 1);
    }

    #[test]
    fn non_finite_values_serialize_as_null_and_read_back() {
        let s = compute(&input(&[], &[], &[], &[]));
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["sharpe"].is_null());
        assert!(json["win_rate_pct"].is_null());
        assert!(json["max_drawdown_duration_bars"].is_null());
        let back: Stats = serde_json::from_value(json).unwrap();
        assert!(back.sharpe.is_nan());
        assert_eq!(back.bars, 0);
    }

    #[test]
    fn stats_json_without_the_round_trip_keys_still_reads() {
        // rows recorded before issue 10 lack exit_fills, gross_profit, …
        let mut json = serde_json::to_value(compute(&input(&[], &[], &[], &[]))).unwrap();
        for k in [
            "exit_fills",
            "expectancy",
            "gross_profit",
            "gross_loss",
            "avg_win_pct",
        ] {
            json.as_object_mut().unwrap().remove(k);
        }
        let back: Stats = serde_json::from_value(json).unwrap();
        assert_eq!(back.exit_fills, 0);
        assert!(back.gross_profit.is_nan());
    }

    #[test]
    fn open_trades_are_left_out() {
        let ts = [19_723 * D, 19_724 * D, 19_725 * D];
        let mut open = trade(5.0, 5.0, 1, 2);
        open.exit_reason = ExitReason::Open;
        let s = compute(&input(&ts, &[1.0; 3], &[100.0; 3], &[open]));
        assert_eq!(s.trades, 0);
        assert_eq!(s.max_drawdown_pct, 0.0);
        assert!(s.sharpe.is_nan(), "flat equity has zero volatility");
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop_max_drawdown_is_a_percentage(eq in prop::collection::vec(1.0f64..1e6, 1..200)) {
            let ts: Vec<i64> = (0..eq.len() as i64).map(|i| i * 86_400_000).collect();
            let s = compute(&StatsInput {
                ts_ms: &ts, close: &eq, equity: &eq, exposure: &[], trades: &[],
                fees_paid: 0.0, cash0: eq[0],
            });
            prop_assert!((0.0..=100.0).contains(&s.max_drawdown_pct));
            prop_assert!(s.avg_drawdown_pct.is_nan() || s.avg_drawdown_pct <= s.max_drawdown_pct);
        }
    }
}
