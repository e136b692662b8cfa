//! `algolab evolve` end to end: the comparison printed and in JSON, rows stored and listed,
//! the same genome for a seed whatever the thread count, the report files, and bad
//! arguments exiting 2.

use crate::util::{TestDir, texts};

const SMALL: &[&str] = &[
    "evolve",
    "--symbol",
    "GOOG",
    "--generations",
    "5",
    "--population",
    "12",
    "--seed",
    "42",
];

fn run_json(dir: &TestDir, extra: &[&str], threads: &str) -> serde_json::Value {
    let mut args = SMALL.to_vec();
    args.extend_from_slice(extra);
    args.push("--json");
    let out = dir
        .cmd(&args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    assert!(
        out.status.success(),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn evolve_prints_the_comparison_and_stores_the_genome() {
    let dir = TestDir::new();
    let out = dir.run(SMALL);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    // the comparison is the result: stdout (issue 10)
    for needle in [
        "Best rule",
        "Test window (scored once)",
        "buy & hold",
        "technical",
        "evolved",
        "Deflated Sharpe",
        "stored as evolved strategy 1",
    ] {
        assert!(
            stdout.contains(needle),
            "{needle:?} missing from:\n{stdout}"
        );
    }
    let list = dir.run(&["evolve", "--list"]);
    let (stdout, stderr) = texts(&list);
    assert!(list.status.success(), "{stderr}");
    assert!(stdout.contains("GOOG") && stdout.contains("→"), "{stdout}");
    let list = dir.run(&["evolve", "--list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&texts(&list).0).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["id"], 1);
    assert!(rows[0]["rule_text"].as_str().unwrap().contains('→'));
    assert!(rows[0]["genes"]["long"].is_array());
    // the stored genome backtests as `--strategy evolved --param id=1`
    let bt = dir.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "evolved",
        "--param",
        "id=1",
        "--json",
    ]);
    let (stdout, stderr) = texts(&bt);
    assert!(bt.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["strategy"], "evolved");
    assert_eq!(v["params"]["id"], 1);
    let missing = dir.run(&["backtest", "--symbol", "GOOG", "--strategy", "evolved"]);
    assert_eq!(missing.status.code(), Some(2));
    let unknown = dir.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "evolved",
        "--param",
        "id=99",
    ]);
    assert_eq!(unknown.status.code(), Some(2), "{}", texts(&unknown).1);
}

#[test]
fn same_seed_same_genome_across_thread_counts_and_json_keys() {
    let dir = TestDir::new();
    let a = run_json(&dir, &["--no-record"], "1");
    let b = run_json(&dir, &["--no-record"], "2");
    assert_eq!(a["genome"], b["genome"]);
    assert_eq!(a["history"], b["history"]);
    assert_eq!(a["test"]["return_pct"], b["test"]["return_pct"]);
    for key in [
        "genome",
        "rule",
        "windows",
        "train",
        "validation",
        "test",
        "buy_hold",
        "technical",
        "deflated_sharpe",
        "evaluations",
        "history",
    ] {
        assert!(!a[key].is_null(), "{key} missing: {a}");
    }
    assert_eq!(a["lean_matches_engine"], true);
    assert_eq!(a["history"].as_array().unwrap().len(), 5);
    assert!(a["run_id"].is_null());
    let mut args: Vec<&str> = SMALL[..SMALL.len() - 1].to_vec();
    args.extend_from_slice(&["7", "--no-record", "--json"]);
    let c: serde_json::Value = serde_json::from_str(&texts(&dir.run(&args)).0).unwrap();
    assert_ne!(a["genome"], c["genome"]);
}

#[test]
fn report_writes_the_page_and_a_genome_file() {
    let dir = TestDir::new();
    let mut args = SMALL.to_vec();
    args.extend_from_slice(&["--report", "rep", "--no-record", "-q"]);
    let out = dir.run(&args);
    assert!(out.status.success(), "{}", texts(&out).1);
    let html = std::fs::read_to_string(dir.path().join("rep/evolve.html")).unwrap();
    assert!(html.contains("id=\"chart-equity\"") && html.contains("Test window"));
    crate::report_files::check_self_contained(&html);
    let genome = std::fs::read_to_string(dir.path().join("rep/best_genome.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&genome).unwrap();
    assert!(v["risk"]["size_frac"].is_number());
}

#[test]
fn bad_arguments_exit_2() {
    let dir = TestDir::new();
    for args in [
        vec!["evolve", "--symbol", "GOOG", "--population", "2"],
        vec!["evolve", "--symbol", "GOOG", "--split", "0.9,0.2"],
        vec!["evolve", "--symbol", "GOOG", "--leverage", "3"],
        vec!["evolve", "--symbol", "NOPE"],
        vec!["evolve"],
        vec!["evolve", "--list"],
        vec!["evolve", "--symbol", "GOOG", "--generations", "0"],
    ] {
        let out = dir.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", texts(&out).1);
    }
}
