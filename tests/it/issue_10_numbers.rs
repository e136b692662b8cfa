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

#[test]
fn issue_10_every_listed_run_can_be_reported() {
    let t = TestDir::new();
    let out = t.run(&[
        "optimize",
        "--symbol",
        "GOOG",
        "--grid",
        "fast=5..7",
        "--grid",
        "slow=20..22",
    ]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let out = t.run(&["report", "--list", "--json"]);
    let runs = json(&out);
    let id = runs[0]["id"].as_i64().unwrap();
    assert_eq!(runs[0]["command"], "optimize");
    let out = t.run(&["report", &id.to_string(), "--out", "opt", "--json"]);
    let v = json(&out);
    let html = std::fs::read_to_string(t.path().join("opt/optimize.html")).unwrap();
    assert!(
        v["report"].as_str().unwrap().ends_with("optimize.html"),
        "{v}"
    );
    // the stored trials: 3 × 3 grid, a heatmap over fast and slow
    assert!(
        html.contains("id=\"heatmap\"") && html.contains(">9<"),
        "{html}"
    );
    // the winner's equity curve is stored with the run and drawn again
    assert!(
        html.contains("Best parameters (whole run)"),
        "no equity chart"
    );
}

#[test]
fn issue_10_technical_trades_whole_units_and_reports_skipped_signals() {
    // GOLD closes near 1 000–2 000 with 10 000 cash: at a 10 % base most confidence-sized
    // entries bought less than one unit and were dropped silently (0 trades in 10 years)
    let t = TestDir::new();
    let out = t.run(&[
        "backtest",
        "--symbol",
        "GOLD",
        "--strategy",
        "technical",
        "--no-record",
        "--json",
    ]);
    let v = json(&out);
    assert!(f(&v, "trades") > 0.0, "{v}");
    let skipped = v["signals_skipped_zero_size"].as_u64().unwrap();
    assert!(skipped > 0, "{v}");
    let (_, stderr) = texts(&out);
    assert!(
        stderr.contains(&format!("{skipped} entry signal(s) skipped")),
        "{stderr}"
    );
}

#[test]
fn issue_10_a_rerun_grid_does_not_deflate_the_sharpe_ratio_again() {
    let t = TestDir::new();
    let grid = [
        "optimize",
        "--symbol",
        "GOOG",
        "--grid",
        "fast=5..9",
        "--grid",
        "slow=20..30:2",
        "--json",
    ];
    let first = json(&t.run(&grid));
    let second = json(&t.run(&grid));
    assert_eq!(first["dsr"], second["dsr"], "{first} / {second}");
    // a different grid adds only its new points: 5..11 × 20..30 has 7 × 6 = 42, 30 new
    let mut wider = grid;
    wider[4] = "fast=5..11";
    let third = json(&t.run(&wider));
    assert_eq!(third["dsr"]["n_trials"], 42, "{}", third["dsr"]);
}

#[test]
fn issue_10_bayes_trials_are_distinct_points() {
    // 4 × 4 = 16 points with fast < slow … fewer: asking for 30 gives each feasible one once
    let t = TestDir::new();
    let v = json(&t.run(&[
        "optimize",
        "--symbol",
        "GOOG",
        "--method",
        "bayes",
        "--trials",
        "30",
        "--grid",
        "fast=5..8",
        "--grid",
        "slow=7..10",
        "--no-record",
        "--json",
    ]));
    let trials = v["trials"].as_array().unwrap();
    let mut seen: Vec<String> = trials.iter().map(|t| t["params"].to_string()).collect();
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n, "a point was evaluated twice");
    // fast < slow: 5 → 7..10 (4), 6 → 4, 7 → 3, 8 → 2 = 13 feasible points
    assert_eq!(n, 13);
}

#[test]
fn issue_10_results_go_to_stdout_and_quiet_keeps_them() {
    let t = TestDir::new();
    let out = t.run(&["backtest", "--symbol", "GOOG", "--quiet"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("Sharpe") && stdout.contains("run 1 recorded"),
        "{stdout}"
    );
    assert!(stderr.is_empty(), "{stderr}");
    let out = t.run(&["report", "--list"]);
    let (stdout, _) = texts(&out);
    assert!(
        stdout.contains("backtest") && stdout.contains("GOOG"),
        "{stdout}"
    );
    // --json everywhere: data synth and indicators
    let v = json(&t.run(&["data", "synth", "--bars", "50", "w.csv", "--json"]));
    assert_eq!(v["bars"], 50);
    let rows = json(&t.run(&["indicators", "--data", "w.csv", "--json"]));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 50);
    assert!(rows[49]["ema_12"].is_number() && rows[0]["ema_12"].is_null());
    let v = json(&t.run(&["indicators", "--data", "w.csv", "--out", "i.csv", "--json"]));
    assert_eq!(v["rows"], 50);
}

#[test]
fn issue_10_bad_input_exits_2_with_a_human_message() {
    let t = TestDir::new();
    t.write("sub/x.txt", "");
    let cases: &[(&[&str], &str)] = &[
        (&["backtest", "--symbol", "GOOG", "--cash", "-100"], "cash"),
        (&["backtest", "--data", "sub"], "is a directory"),
        (
            &["indicators", "--symbol", "GOOG", "--out", "sub"],
            "is a directory",
        ),
        (
            &["backtest", "--symbol", "GOOG", "--report", "sub/x.txt"],
            "is a file",
        ),
        (
            &[
                "backtest",
                "--symbol",
                "GOOG",
                "--from",
                "2012-01-01",
                "--to",
                "2010-01-01",
            ],
            "--from 2012-01-01 is after --to 2010-01-01",
        ),
        (
            &[
                "backtest", "--symbol", "GOOG", "--param", "fast=30", "--param", "slow=20",
            ],
            "must be greater than fast (30)",
        ),
        (
            &["backtest", "--symbol", "GOOG", "--param", "fast=0"],
            "must be an integer from 1 to 1000",
        ),
        (
            &["data", "convert", "--resample", "1h", "GOOG.csv", "o.csv"],
            "cannot resample 1d bars to 1h",
        ),
        (
            &["data", "convert", "GOOG.csv", "o.json"],
            "unknown output format",
        ),
    ];
    std::fs::copy(crate::util::dataset("GOOG.csv"), t.path().join("GOOG.csv")).unwrap();
    for (args, needle) in cases {
        let out = t.run(args);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("..="), "{args:?}: {stderr}");
    }
    assert!(!t.path().join("o.csv").exists());
    // a warm-up longer than the data is a warning, not an error
    let out = t.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--param",
        "slow=5000",
        "--no-record",
    ]);
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no trade is possible"), "{stderr}");
}

#[test]
fn issue_10_strategies_lists_parameters_defaults_and_ranges() {
    let t = TestDir::new();
    let v = json(&t.run(&["strategies", "--json"]));
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "sma-cross",
            "technical",
            "evolved",
            "ai",
            "dqn",
            "leverage-dqn"
        ]
    );
    let slow = v[0]["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "slow")
        .unwrap();
    assert_eq!(
        (slow["default"].as_i64(), slow["max"].as_f64()),
        (Some(20), Some(5000.0))
    );
    let out = t.run(&["strategies"]);
    let (stdout, _) = texts(&out);
    assert!(
        stdout.contains("ema_fast") && stdout.contains("fast<slow"),
        "{stdout}"
    );
}
