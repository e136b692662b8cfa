//! Golden test: backtesting.py 0.6.6's own SmaCross/GOOG equity curve and trades
//! (scripts/golden_stats.py) fed into `metrics::compute`; every stat must match the stats
//! backtesting.py printed for them, except profit factor and buy & hold, which algolab
//! defines differently (issue 10) and which are checked against the golden trades and
//! closes.

#![allow(
    clippy::unwrap_used,
    reason = "test fixtures: a bad golden file should fail loudly"
)]

use std::path::PathBuf;

use algolab::core::order::{ExitReason, Side, Trade};
use algolab::metrics::{self, StatsInput};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/golden")
        .join(name)
}

fn ts(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .unwrap_or_else(|e| panic!("bad timestamp {s}: {e}"))
        .and_utc()
        .timestamp_millis()
}

struct Curve {
    ts: Vec<i64>,
    equity: Vec<f64>,
    exposure: Vec<bool>,
    close: Vec<f64>,
}

fn load_curve() -> Curve {
    let mut r = csv::Reader::from_path(golden("bt_stats_goog_equity.csv")).unwrap();
    let mut c = Curve {
        ts: vec![],
        equity: vec![],
        exposure: vec![],
        close: vec![],
    };
    for row in r.records() {
        let row = row.unwrap();
        c.ts.push(ts(&row[0]));
        c.equity.push(row[1].parse().unwrap());
        c.exposure.push(&row[2] == "1");
        c.close.push(row[3].parse().unwrap());
    }
    c
}

fn load_trades() -> Vec<Trade> {
    let mut r = csv::Reader::from_path(golden("bt_stats_goog_trades.csv")).unwrap();
    r.records()
        .map(|row| {
            let row = row.unwrap();
            let f = |i: usize| -> f64 { row[i].parse().unwrap() };
            let size = f(2);
            Trade {
                side: if size > 0.0 { Side::Long } else { Side::Short },
                qty: size.abs(),
                entry_bar: row[0].parse().unwrap(),
                exit_bar: row[1].parse().unwrap(),
                entry_price: f(3),
                exit_price: f(4),
                pnl: f(5),
                return_pct: f(6) * 100.0,
                entry_ts_ms: ts(&row[7]),
                exit_ts_ms: ts(&row[8]),
                fees: f(9),
                mae_pct: 0.0,
                mfe_pct: 0.0,
                exit_reason: ExitReason::Signal,
            }
        })
        .collect()
}

#[test]
fn stats_match_backtesting_py_on_goog_sma_cross() {
    let curve = load_curve();
    let trades = load_trades();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden("bt_stats_goog_stats.json")).unwrap())
            .unwrap();
    let exp = |k: &str| -> f64 {
        expected[k]
            .as_f64()
            .unwrap_or_else(|| panic!("golden key {k} missing"))
    };
    let fees: f64 = trades.iter().map(|t| t.fees).sum();
    let stats = metrics::compute(&StatsInput {
        ts_ms: &curve.ts,
        close: &curve.close,
        equity: &curve.equity,
        exposure: &curve.exposure,
        trades: &trades,
        fees_paid: fees,
        cash0: exp("cash"),
    });
    let got = serde_json::to_value(&stats).unwrap();

    assert_eq!(got["start"], "2004-08-19T00:00:00Z");
    assert_eq!(got["end"], "2013-03-01T00:00:00Z");
    assert_eq!(stats.bars, curve.ts.len());

    // (our key, golden key, sign, relative tolerance)
    let table: &[(&str, &str, f64, f64)] = &[
        ("duration_days", "Duration", 1.0, 1e-6),
        ("exposure_pct", "Exposure Time [%]", 1.0, 1e-6),
        ("equity_final", "Equity Final [$]", 1.0, 1e-6),
        ("equity_peak", "Equity Peak [$]", 1.0, 1e-6),
        ("fees_paid", "Commissions [$]", 1.0, 1e-6),
        ("return_pct", "Return [%]", 1.0, 1e-6),
        ("return_ann_pct", "Return (Ann.) [%]", 1.0, 1e-6),
        ("cagr_pct", "CAGR [%]", 1.0, 1e-6),
        ("volatility_ann_pct", "Volatility (Ann.) [%]", 1.0, 1e-6),
        ("sharpe", "Sharpe Ratio", 1.0, 1e-3),
        ("sortino", "Sortino Ratio", 1.0, 1e-3),
        ("calmar", "Calmar Ratio", 1.0, 1e-3),
        ("beta", "Beta", 1.0, 1e-6),
        ("max_drawdown_pct", "Max. Drawdown [%]", -1.0, 1e-6),
        ("avg_drawdown_pct", "Avg. Drawdown [%]", -1.0, 1e-6),
        (
            "max_drawdown_duration_days",
            "Max. Drawdown Duration",
            1.0,
            1e-6,
        ),
        (
            "avg_drawdown_duration_days",
            "raw_avg_drawdown_duration_days",
            1.0,
            1e-6,
        ),
        (
            "max_drawdown_duration_bars",
            "max_drawdown_duration_bars",
            1.0,
            0.0,
        ),
        (
            "avg_drawdown_duration_bars",
            "avg_drawdown_duration_bars",
            1.0,
            1e-9,
        ),
        ("trades", "# Trades", 1.0, 0.0),
        ("win_rate_pct", "Win Rate [%]", 1.0, 1e-6),
        ("best_trade_pct", "Best Trade [%]", 1.0, 1e-6),
        ("worst_trade_pct", "Worst Trade [%]", 1.0, 1e-6),
        ("avg_trade_pct", "Avg. Trade [%]", 1.0, 1e-6),
        ("max_trade_duration_days", "Max. Trade Duration", 1.0, 1e-6),
        (
            "avg_trade_duration_days",
            "raw_avg_trade_duration_days",
            1.0,
            1e-6,
        ),
        (
            "max_trade_duration_bars",
            "max_trade_duration_bars",
            1.0,
            0.0,
        ),
        (
            "avg_trade_duration_bars",
            "avg_trade_duration_bars",
            1.0,
            1e-9,
        ),
        ("expectancy_pct", "Expectancy [%]", 1.0, 1e-6),
        ("sqn", "SQN", 1.0, 1e-6),
        ("kelly_criterion", "Kelly Criterion", 1.0, 1e-6),
    ];
    let mut failures = Vec::new();
    for &(ours, theirs, sign, tol) in table {
        let a = got[ours]
            .as_f64()
            .unwrap_or_else(|| panic!("{ours} is not a number: {}", got[ours]));
        let b = sign * exp(theirs);
        if (a - b).abs() > tol * b.abs().max(1.0) {
            failures.push(format!("{ours}: ours {a} vs backtesting.py {theirs} {b}"));
        }
    }
    // backtesting.py ceils the mean durations to whole days
    assert_eq!(
        stats.avg_drawdown_duration_days.ceil(),
        exp("Avg. Drawdown Duration")
    );
    assert_eq!(
        stats.avg_trade_duration_days.ceil(),
        exp("Avg. Trade Duration")
    );
    assert_eq!(stats.periods_per_year, 252.0);
    // issue 10: two definitions differ from backtesting.py on purpose (metrics module doc),
    // checked against backtesting.py's own trades and closes instead:
    // profit factor in dollars, Σ PnL⁺ / |Σ PnL⁻| (backtesting.py sums returns) …
    let gross = |win: bool| -> f64 {
        trades
            .iter()
            .map(|t| t.pnl)
            .filter(|&p| if win { p > 0.0 } else { p < 0.0 })
            .sum()
    };
    let pf = gross(true) / gross(false).abs();
    assert!(
        (stats.profit_factor - pf).abs() < 1e-9 * pf,
        "profit factor {} vs {pf}",
        stats.profit_factor
    );
    assert!(
        (pf - exp("Profit Factor")).abs() > 0.01,
        "the definitions differ here"
    );
    // … and buy & hold from the first bar's close, not after the strategy's warm-up
    let bh = (curve.close[curve.close.len() - 1] / curve.close[0] - 1.0) * 100.0;
    assert!(
        (stats.buy_hold_return_pct - bh).abs() < 1e-9 * bh.abs(),
        "buy & hold {} vs {bh}",
        stats.buy_hold_return_pct
    );
    // alpha = return − β × buy & hold, with that buy & hold
    let alpha = exp("Return [%]") - exp("Beta") * bh;
    assert!(
        (stats.alpha_pct - alpha).abs() < 1e-6 * alpha.abs(),
        "alpha {} vs {alpha}",
        stats.alpha_pct
    );
    // no partial exits here: one fill per trade
    assert_eq!(stats.exit_fills, stats.trades);
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}
