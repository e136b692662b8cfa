//! Issue 9 item 6: the engine's own output, fed to the stats, matches backtesting.py
//! 0.6.6 (the metrics golden test feeds backtesting.py's own exposure curve, so it cannot
//! see the engine's): exposure leaves out a trade still open at the end, and a bankrupt run
//! reports Sharpe, Sortino and Calmar of 0.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use algolab::core::order::{Entry, Intent, PositionView, Side};
use algolab::data::{Bar, Bars};
use algolab::engine::{BacktestConfig, BacktestResult, run_backtest};
use algolab::metrics::{self, Stats, StatsInput};
use algolab::strategy::sma_cross::SmaCross;
use algolab::strategy::{History, Strategy};

use crate::util::dataset;

fn stats(bars: &Bars, res: &BacktestResult, cash0: f64) -> Stats {
    let (a, n) = (res.first_bar, res.equity.len());
    metrics::compute(&StatsInput {
        ts_ms: &bars.ts_ms()[a..a + n],
        close: &bars.close()[a..a + n],
        equity: &res.equity,
        exposure: &res.exposure,
        trades: &res.trades,
        fees_paid: res.fees_paid,
        cash0,
    })
}

#[test]
fn issue_9_engine_exposure_on_goog_is_backtesting_pys() {
    let bars = algolab::data::load(&dataset("GOOG.csv")).unwrap();
    let cfg = BacktestConfig {
        commission: 0.002,
        ..BacktestConfig::default()
    };
    let res = run_backtest(&bars, &mut SmaCross::new(10, 20, false).unwrap(), &cfg).unwrap();
    // the run ends with an open trade, which backtesting.py leaves out
    assert_eq!(
        res.trades.last().unwrap().exit_reason,
        algolab::core::order::ExitReason::Open
    );
    let s = stats(&bars, &res, cfg.cash);
    let want = 94.273_743_016_759_78; // bt_smacross_goog_stats.json "Exposure Time [%]"
    assert!((s.exposure_pct - want).abs() < 1e-9, "{}", s.exposure_pct);
}

/// Long with all cash on the first bar; never exits.
struct AllIn;

impl Strategy for AllIn {
    fn name(&self) -> &str {
        "all-in"
    }
    fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
        if hist.index() == 0 && pos.is_flat() {
            Intent::Enter(Entry::market(Side::Short))
        } else {
            Intent::Hold
        }
    }
    fn reset(&mut self) {}
}

#[test]
fn issue_9_bankrupt_run_has_zero_sharpe_sortino_and_calmar() {
    // daily bars; a short into a tripling price goes bankrupt
    const D: i64 = 86_400_000;
    let closes = [
        100.0, 100.0, 120.0, 150.0, 250.0, 300.0, 290.0, 310.0, 305.0, 320.0,
    ];
    let bars = Bars::from_bars(
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| Bar {
                ts_ms: 19_723 * D + i as i64 * D,
                open: c,
                high: c,
                low: c,
                close: c,
                volume: 1.0,
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let res = run_backtest(&bars, &mut AllIn, &BacktestConfig::default()).unwrap();
    assert!(res.bankrupt);
    let s = stats(&bars, &res, 10_000.0);
    assert_eq!(s.return_ann_pct, 0.0);
    assert_eq!(s.sharpe, 0.0);
    assert_eq!(s.sortino, 0.0);
    assert_eq!(s.calmar, 0.0);
}
