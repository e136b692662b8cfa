//! Issue 10, "numbers a trader can trust": each test runs the built binary on bundled data
//! and checks a figure that misled before (trade statistics per fill, buy & hold moving
//! with the strategy, …).

use crate::util::{TestDir, texts};

fn json(out: &std::process::Output) -> serde_json::Value {
    let (stdout, stderr) = texts(out);
    assert!(
        out.status.success(),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

fn f(v: &serde_json::Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("{k} is not a number in {v}"))
}

#[test]
fn issue_10_trade_stats_count_round_trips_and_dollars() {
    // technical under the standard risk rules takes 25 % partial profits: many fills per
    // trade. Before issue 10 every fill was a trade and the profit factor summed returns
    // (EURUSD: PF 3.07 on a losing run).
    let t = TestDir::new();
    let v = json(&t.run(&[
        "backtest",
        "--symbol",
        "EURUSD",
        "--strategy",
        "technical",
        "--close-at-end",
        "--no-record",
        "--json",
    ]));
    let (trades, fills) = (f(&v, "trades"), f(&v, "exit_fills"));
    assert!(
        trades > 0.0 && fills > trades,
        "trades {trades}, fills {fills}"
    );
    // everything is closed at the end, so the round trips' PnL is the whole profit
    let pnl = f(&v, "gross_profit") + f(&v, "gross_loss");
    let profit = f(&v, "equity_final") - 10_000.0;
    assert!(
        (pnl - profit).abs() < 1e-6 * profit.abs().max(1.0),
        "{pnl} vs {profit}"
    );
    let pf = f(&v, "profit_factor");
    assert!(
        (pf - f(&v, "gross_profit") / f(&v, "gross_loss").abs()).abs() < 1e-9,
        "profit factor {pf}"
    );
    // a losing run has a profit factor below 1, a winning one above
    assert_eq!(
        profit < 0.0,
        pf < 1.0,
        "return {profit}, profit factor {pf}"
    );
}

#[test]
fn issue_10_buy_hold_is_one_figure_whatever_the_strategy() {
    let t = TestDir::new();
    let run = |strategy: &str, dir: &str| {
        json(&t.run(&[
            "backtest",
            "--symbol",
            "GOOG",
            "--strategy",
            strategy,
            "--no-record",
            "--report",
            dir,
            "--json",
        ]))
    };
    let a = run("sma-cross", "r1");
    let b = run("technical", "r2");
    let bh = f(&a, "buy_hold_return_pct");
    assert_eq!(bh, f(&b, "buy_hold_return_pct"));
    // the same figure as the report's buy & hold series (equity.csv)
    let csv = std::fs::read_to_string(t.path().join("r1/equity.csv")).unwrap();
    let col: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    let series = (col[col.len() - 1] / col[0] - 1.0) * 100.0;
    assert!((series - bh).abs() < 1e-9 * bh.abs(), "{series} vs {bh}");
}
