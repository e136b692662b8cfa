//! `algolab optimize` reproduces backtesting.py 0.6.6's `Backtest.optimize` on GOOG
//! (scripts/golden_optimize.py → golden/bt_optimize_goog.json).

use crate::util::{TestDir, repo_root, texts};

#[test]
fn optimize_goog_matches_backtesting_py() {
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/it/golden/bt_optimize_goog.json"))
            .unwrap(),
    )
    .unwrap();
    let t = TestDir::new();
    let out = t.run(&[
        "optimize",
        "--symbol",
        "GOOG",
        "--strategy",
        "sma-cross",
        "--grid",
        "fast=5..29",
        "--grid",
        "slow=10..68:2",
        "--maximize",
        "equity_final",
        "--cash",
        "10000",
        "--commission",
        "0.002",
        "--json",
    ]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let best = &v["best"];
    assert_eq!(best["params"]["fast"], golden["n1"], "{best}");
    assert_eq!(best["params"]["slow"], golden["n2"], "{best}");
    let (a, b) = (
        best["metric"].as_f64().unwrap(),
        golden["equity_final"].as_f64().unwrap(),
    );
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "equity_final {a} vs {b}"
    );
    assert_eq!(v["n_trials"], golden["combinations"]);
    // the runner-up too: the whole ranking agrees, not just the winner
    let second = v["top"][1]["metrics"]["equity_final"].as_f64().unwrap();
    let g2 = golden["second_best_equity_final"].as_f64().unwrap();
    assert!(
        (second - g2).abs() <= 1e-9 * g2.abs(),
        "second {second} vs {g2}"
    );
}
