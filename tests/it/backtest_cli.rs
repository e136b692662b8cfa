//! `algolab backtest`, `report` and `indicators` end to end: exit codes, the stats JSON
//! keys of DESIGN §3, the files a report writes, and the run recorded in the learning DB.

use crate::util::{TestDir, dataset, texts};

const STATS_KEYS: &[&str] = &[
    "start",
    "end",
    "bars",
    "exposure_pct",
    "equity_final",
    "equity_peak",
    "return_pct",
    "buy_hold_return_pct",
    "return_ann_pct",
    "volatility_ann_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "avg_drawdown_pct",
    "max_drawdown_duration_bars",
    "trades",
    "win_rate_pct",
    "best_trade_pct",
    "worst_trade_pct",
    "avg_trade_pct",
    "profit_factor",
    "expectancy_pct",
    "sqn",
    "fees_paid",
];

fn json(out: &std::process::Output) -> serde_json::Value {
    let (stdout, stderr) = texts(out);
    assert!(
        out.status.success(),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

#[test]
fn backtest_json_has_every_stats_key_and_matches_the_golden_smacross() {
    let t = TestDir::new();
    let out = t.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "sma-cross",
        "--param",
        "fast=10",
        "--param",
        "slow=20",
        "--commission",
        "0.002",
        "--json",
    ]);
    let v = json(&out);
    for k in STATS_KEYS {
        assert!(v.get(k).is_some(), "missing key {k} in {v}");
    }
    assert_eq!(v["bars"], 2148);
    // backtesting.py 0.6.6's SmaCross on GOOG closes 93 trades (tests/it/golden)
    assert_eq!(v["trades"], 93);
    assert_eq!(v["run_id"], 1);
    let (_, stderr) = texts(&out);
    assert!(stderr.contains("using bundled dataset"), "{stderr}");
    assert!(stderr.contains("Sharpe"), "{stderr}");
}

#[test]
fn same_input_gives_identical_json() {
    let t = TestDir::new();
    let args = [
        "backtest",
        "--symbol",
        "EURUSD",
        "--strategy",
        "technical",
        "--json",
        "--no-record",
    ];
    let a = json(&t.run(&args));
    let b = json(&t.run(&args));
    assert_eq!(a, b);
}

#[test]
fn report_dir_gets_html_pngs_and_csvs_and_report_rebuilds_from_the_db() {
    let t = TestDir::new();
    let out = t.run(&[
        "backtest",
        "--data",
        dataset("GOOG.csv").to_str().unwrap(),
        "--report",
        "rep",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", texts(&out).1);
    for f in [
        "report.html",
        "equity.png",
        "drawdown.png",
        "trades.csv",
        "equity.csv",
    ] {
        let p = t.path().join("rep").join(f);
        assert!(
            p.is_file() && std::fs::metadata(&p).unwrap().len() > 100,
            "{f}"
        );
    }
    let html = std::fs::read_to_string(t.path().join("rep/report.html")).unwrap();
    assert!(html.contains("<svg"), "inline SVG charts");
    let out = t.run(&["report", "1", "--out", "again"]);
    assert!(out.status.success(), "{}", texts(&out).1);
    assert!(t.path().join("again/report.html").is_file());
    let list = json(&t.run(&["report", "--list", "--json"]));
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["strategy"], "sma-cross");
}

#[test]
fn bad_usage_and_bad_input_exit_2_with_one_line() {
    let t = TestDir::new();
    let cases: &[(&[&str], &str)] = &[
        (&["backtest", "--symbol", "NOPE"], "unknown symbol \"NOPE\""),
        (
            &["backtest", "--symbol", "GOOG", "--param", "fast=0"],
            "fast = 0",
        ),
        (
            &["backtest", "--symbol", "GOOG", "--param", "speed=3"],
            "param = speed: must be one of the keys fast",
        ),
        (
            &["backtest", "--symbol", "GOOG", "--strategy", "magic"],
            "strategy = magic: must be one of sma-cross, technical",
        ),
        (
            &[
                "backtest", "--symbol", "GOOG", "--param", "fast=30", "--param", "slow=20",
            ],
            "fast",
        ),
        (
            &["backtest", "--symbol", "GOOG", "--leverage", "500"],
            "leverage",
        ),
        (
            &["backtest", "--symbol", "GOOG", "--from", "yesterday"],
            "--from",
        ),
        (
            &["backtest", "--symbol", "GOOG", "--from", "2030-01-01"],
            "no bars",
        ),
        (&["backtest"], "--data FILE or --symbol SYM"),
        (&["report", "99"], "no learning DB"),
    ];
    for (args, needle) in cases {
        let out = t.run(args);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        let errors = stderr.lines().filter(|l| l.starts_with("error:")).count();
        assert_eq!(errors, 1, "{args:?}: {stderr}");
    }
}

#[test]
fn indicators_writes_the_design_columns_with_empty_warmup_cells() {
    let t = TestDir::new();
    let out = t.run(&[
        "indicators",
        "--symbol",
        "GOOG",
        "--out",
        "ind.csv",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let csv = std::fs::read_to_string(t.path().join("ind.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "timestamp,ema_12,ema_26,sma_20,rsi_14,atr_14,adx_14,plus_di_14,minus_di_14,macd,macd_signal,macd_hist,bb_upper,bb_middle,bb_lower"
    );
    let first = lines.next().unwrap();
    assert_eq!(first, "2004-08-19T00:00:00Z,,,,,,,,,,,,,,");
    assert_eq!(csv.lines().count(), 2149);
    // by bar 40 every column is warm (MACD's lookback is 33, ADX's 27)
    let row40: Vec<&str> = csv.lines().nth(41).unwrap().split(',').collect();
    assert!(row40.iter().all(|c| !c.is_empty()), "{row40:?}");
    // stdout when --out is absent
    let out = t.run(&["indicators", "--symbol", "GOOG"]);
    assert_eq!(texts(&out).0, csv);
}

#[test]
fn technical_switches_to_per_regime_parameters_stored_by_optimize() {
    let t = TestDir::new();
    let out = t.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "technical",
        "--regime-params",
        "GOOG",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "nothing stored yet: {}",
        texts(&out).1
    );
    assert!(
        texts(&out)
            .1
            .contains("no per-regime sharpe parameters stored for GOOG")
    );
    let out = t.run(&[
        "optimize",
        "--symbol",
        "GOOG",
        "--strategy",
        "technical",
        "--per-regime",
        "--grid",
        "adx_threshold=15..25:5",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let plain = json(&t.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "technical",
        "--json",
    ]));
    let switched = json(&t.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "technical",
        "--regime-params",
        "GOOG",
        "--json",
    ]));
    assert_eq!(plain["bars"], switched["bars"]);
    let out = t.run(&["backtest", "--symbol", "GOOG", "--regime-params", "GOOG"]);
    assert_eq!(out.status.code(), Some(2), "sma-cross has no regime table");
}

#[test]
fn issue_10_markers_appear_when_from_narrows_the_run() {
    // `--from` cuts the first bars off: trade bar indexes count from the file's start, the
    // report's bars from 2010; markers are placed by time and must all be there
    let t = TestDir::new();
    let out = t.run(&[
        "backtest",
        "--data",
        dataset("GOOG.csv").to_str().unwrap(),
        "--param",
        "fast=10",
        "--param",
        "slow=20",
        "--from",
        "2010-01-01",
        "--report",
        "rep",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let trades = csv::Reader::from_path(t.path().join("rep/trades.csv"))
        .unwrap()
        .records()
        .count();
    assert!(trades > 10, "the run trades");
    let out = t.run(&["report", "1", "--out", "again"]);
    assert!(out.status.success(), "{}", texts(&out).1);
    for dir in ["rep", "again"] {
        let html = std::fs::read_to_string(t.path().join(dir).join("report.html")).unwrap();
        crate::report_files::check_self_contained(&html);
        let data = crate::report_files::report_data(&html);
        let price = &data["charts"][0];
        let candles: Vec<i64> = price["series"][0]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_i64().unwrap())
            .collect();
        assert!(
            candles[0] >= 1_262_304_000,
            "{dir}: the chart starts in 2010"
        );
        let markers = price["markers"].as_array().unwrap();
        // one entry per trade, one exit per closed trade
        assert!(
            markers.len() >= 2 * trades - 1,
            "{dir}: {} markers",
            markers.len()
        );
        assert!(
            markers
                .iter()
                .all(|m| candles.binary_search(&m["t"].as_i64().unwrap()).is_ok()),
            "{dir}: every marker sits on a candle"
        );
        // sma-cross's SMAs are drawn over the price, already warm at the first bar
        assert_eq!(price["series"][1]["name"], "SMA(10)");
        assert!(price["series"][1]["data"][0][1].is_number(), "{dir}");
    }
}
