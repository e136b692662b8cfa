//! Golden test: our engine runs backtesting.py 0.6.6's SmaCross README example on GOOG
//! (SMA 10/20, cash 10 000, commission 0.002) and must reproduce its trade list and equity
//! curve. Expected values come from scripts/golden_backtesting.py (never from our output).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use algolab::core::order::{ExitReason, Side};
use algolab::data::{Bar, Bars};
use algolab::engine::{BacktestConfig, run_backtest};
use algolab::strategy::sma_cross::SmaCross;

use crate::util::{dataset, repo_root};

/// Load a `timestamp,open,high,low,close,volume` CSV with `YYYY-MM-DD` dates.
pub fn load_daily_csv(name: &str) -> Bars {
    let mut rdr = csv::Reader::from_path(dataset(name)).expect("open csv");
    let rows = rdr.records().map(|r| {
        let r = r.expect("csv row");
        let d = chrono::NaiveDate::parse_from_str(&r[0], "%Y-%m-%d").expect("date");
        let ts_ms = d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis();
        let f = |i: usize| r[i].parse::<f64>().expect("number");
        Bar {
            ts_ms,
            open: f(1),
            high: f(2),
            low: f(3),
            close: f(4),
            volume: f(5),
        }
    });
    Bars::from_bars(rows).expect("valid bars")
}

fn golden_rows(file: &str) -> Vec<csv::StringRecord> {
    let path = repo_root().join("tests/it/golden").join(file);
    let mut rdr = csv::Reader::from_path(path).expect("open golden");
    rdr.records().map(|r| r.expect("golden row")).collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1.0)
}

#[test]
fn sma_cross_on_goog_matches_backtesting_py() {
    let bars = load_daily_csv("GOOG.csv");
    let mut strat = SmaCross::new(10, 20, false).unwrap();
    let cfg = BacktestConfig {
        cash: 10_000.0,
        commission: 0.002,
        ..BacktestConfig::default()
    };
    let res = run_backtest(&bars, &mut strat, &cfg).unwrap();

    let want = golden_rows("bt_smacross_goog_trades.csv");
    let closed: Vec<_> = res
        .trades
        .iter()
        .filter(|t| t.exit_reason != ExitReason::Open)
        .collect();
    assert_eq!(closed.len(), want.len(), "closed trade count");
    for (i, (got, w)) in closed.iter().zip(&want).enumerate() {
        let f = |j: usize| w[j].parse::<f64>().unwrap();
        let size = f(0);
        let signed = if got.side == Side::Long {
            got.qty
        } else {
            -got.qty
        };
        assert_eq!(signed, size, "trade {i}: Size");
        assert_eq!(got.entry_bar, f(1) as usize, "trade {i}: EntryBar");
        assert_eq!(got.exit_bar, f(2) as usize, "trade {i}: ExitBar");
        for (name, g, e) in [
            ("EntryPrice", got.entry_price, f(3)),
            ("ExitPrice", got.exit_price, f(4)),
            ("PnL", got.pnl, f(5)),
            ("Commission", got.fees, f(6)),
            ("ReturnPct", got.return_pct / 100.0, f(7)),
        ] {
            assert!(close(g, e, 1e-6), "trade {i}: {name} got {g} want {e}");
        }
    }
    // the last position is still open, as in backtesting.py (finalize_trades=False)
    let last = res.trades.last().unwrap();
    assert_eq!(last.exit_reason, ExitReason::Open);

    let eq = golden_rows("bt_smacross_goog_equity.csv");
    assert_eq!(res.equity.len(), eq.len());
    for (t, row) in eq.iter().enumerate() {
        let want: f64 = row[2].parse().unwrap();
        assert!(
            close(res.equity[t], want, 1e-9),
            "equity row {t}: got {} want {want}",
            res.equity[t]
        );
    }
    // backtesting.py's `Commissions [$]` counts closed trades only
    let closed_fees: f64 = closed.iter().map(|t| t.fees).sum();
    assert!(close(closed_fees, 10_563.951_54, 1e-9), "{closed_fees}");
}

#[test]
fn sma_cross_on_the_bench_series_matches_backtesting_py() {
    let path = repo_root().join("tests/it/golden/bt_smacross_lcg100k.json");
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // the bench series (algolab::data::lcg_walk, scripts/bench_backtesting.py)
    let bars = algolab::data::lcg_walk(100_000, 42).unwrap();
    let mut strat = SmaCross::new(10, 20, false).unwrap();
    let res = run_backtest(&bars, &mut strat, &BacktestConfig::default()).unwrap();
    let closed: Vec<_> = res
        .trades
        .iter()
        .filter(|t| t.exit_reason != ExitReason::Open)
        .collect();
    assert_eq!(closed.len() as u64, want["trades"].as_u64().unwrap());
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let eq = *res.equity.last().unwrap();
    assert!(close(eq, f(&want["equity_final"]), 1e-9), "equity {eq}");
    let pnl: f64 = closed.iter().map(|t| t.pnl).sum();
    assert!(close(pnl, f(&want["pnl_sum"]), 1e-9), "pnl {pnl}");
    let rows = want["first"].as_array().unwrap().iter().zip(&closed);
    for (w, got) in rows.chain(std::iter::once((&want["last"], closed.last().unwrap()))) {
        let signed = if got.side == Side::Long {
            got.qty
        } else {
            -got.qty
        };
        assert_eq!(signed, f(&w["Size"]));
        assert_eq!(got.entry_bar as u64, w["EntryBar"].as_u64().unwrap());
        assert_eq!(got.exit_bar as u64, w["ExitBar"].as_u64().unwrap());
        assert!(close(got.entry_price, f(&w["EntryPrice"]), 1e-12));
        assert!(close(got.exit_price, f(&w["ExitPrice"]), 1e-12));
        assert!(close(got.pnl, f(&w["PnL"]), 1e-9));
    }
}
