//! `algolab optimize` end to end: determinism across thread counts, resume after an
//! interruption, usage errors, DSR/PBO/walk-forward/per-regime output, report and --show.

use crate::util::{TestDir, texts};

const GRID: &[&str] = &[
    "optimize",
    "--symbol",
    "GOOG",
    "--grid",
    "fast=5..15",
    "--grid",
    "slow=10..40:5",
    "--commission",
    "0.002",
    "--json",
    "--quiet",
];

fn json_of(out: &std::process::Output) -> serde_json::Value {
    let (stdout, stderr) = texts(out);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn grid_json_is_identical_on_one_and_two_threads() {
    let runs: Vec<String> = ["1", "2"]
        .iter()
        .map(|n| {
            let t = TestDir::new();
            let mut args = GRID.to_vec();
            args.push("--no-record");
            let out = t.cmd(&args).env("RAYON_NUM_THREADS", n).output().unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn json_has_dsr_pbo_and_all_trials() {
    let t = TestDir::new();
    let v = json_of(&t.run(GRID));
    assert!(
        v["dsr"]["dsr"]
            .as_f64()
            .is_some_and(|d| (0.0..=1.0).contains(&d)),
        "{}",
        v["dsr"]
    );
    assert!(
        v["pbo"]["pbo"]
            .as_f64()
            .is_some_and(|d| (0.0..=1.0).contains(&d)),
        "{}",
        v["pbo"]
    );
    // fast<slow by default: 11×7 points minus fast >= slow
    let n = v["trials"].as_array().unwrap().len();
    assert_eq!(n, v["n_trials"].as_u64().unwrap() as usize);
    assert!(n < 77 && n > 60, "{n}");
    assert_eq!(v["dsr"]["n_trials"].as_u64().unwrap() as usize, n);
    // a second identical run repeats the first one's trials: they count once (issue 10)
    let again = json_of(&t.run(GRID));
    assert_eq!(again["dsr"]["n_trials"].as_u64().unwrap() as usize, n);
    assert_eq!(again["dsr"], v["dsr"]);
    assert_eq!(again["run_id"], 2);
}

fn strip_run(mut v: serde_json::Value) -> serde_json::Value {
    v["run_id"] = serde_json::Value::Null;
    v["dsr"] = serde_json::Value::Null;
    v
}

#[test]
fn bayes_resume_finishes_like_an_uninterrupted_run() {
    let args = [
        "optimize",
        "--symbol",
        "GOOG",
        "--method",
        "bayes",
        "--trials",
        "30",
        "--seed",
        "5",
        "--grid",
        "fast=2..30",
        "--grid",
        "slow=5..80",
        "--json",
        "--quiet",
    ];
    let full = json_of(&TestDir::new().run(&args));
    let t = TestDir::new();
    let mut cut = args.to_vec();
    cut.extend(["--stop-after", "13"]);
    let part = json_of(&t.run(&cut));
    assert_eq!(part["stopped"], true);
    assert_eq!(part["n_trials"], 13);
    let id = part["run_id"].to_string();
    let mut resume = args.to_vec();
    resume.extend(["--resume", &id]);
    let done = json_of(&t.run(&resume));
    assert_eq!(done["stopped"], false);
    assert_eq!(strip_run(done), strip_run(full));
}

#[test]
fn grid_resume_skips_recorded_trials() {
    let t = TestDir::new();
    let mut cut = GRID.to_vec();
    cut.extend(["--stop-after", "20"]);
    let part = json_of(&t.run(&cut));
    let id = part["run_id"].to_string();
    let mut resume = GRID.to_vec();
    resume.extend(["--resume", &id]);
    let done = json_of(&t.run(&resume));
    let full = json_of(&TestDir::new().run(GRID));
    assert_eq!(strip_run(done), strip_run(full));
}

#[test]
fn bad_grid_and_unknown_metric_exit_2() {
    let t = TestDir::new();
    let out = t.run(&["optimize", "--symbol", "GOOG", "--grid", "fast=29..5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("29..5"));
    let out = t.run(&[
        "optimize",
        "--symbol",
        "GOOG",
        "--grid",
        "fast=5..9",
        "--maximize",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = texts(&out).1;
    assert!(
        err.contains("nope") && err.contains("sharpe") && err.contains("equity_final"),
        "{err}"
    );
    let out = t.run(&["optimize", "--symbol", "GOOG", "--grid", "nope=1..3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("fast"));
}

#[test]
fn walk_forward_per_regime_report_and_show() {
    let t = TestDir::new();
    let out = t.run(&[
        "optimize",
        "--symbol",
        "GOOG",
        "--grid",
        "fast=5..20:5",
        "--grid",
        "slow=20..60:10",
        "--walk-forward",
        "3",
        "--per-regime",
        "--report",
        "rep",
        "--json",
        "--quiet",
    ]);
    let v = json_of(&out);
    let folds = v["walk_forward"]["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    for f in folds {
        assert!(f["in_sample"]["sharpe"].is_number() || f["in_sample"]["sharpe"].is_null());
        assert!(f["out_of_sample"]["bars"].as_u64().unwrap() > 100);
    }
    assert!(v["walk_forward"]["oos_return_pct"].is_number());
    assert!(!v["per_regime"].as_array().unwrap().is_empty());
    let html = std::fs::read_to_string(t.path().join("rep/optimize.html")).unwrap();
    assert!(
        html.contains("id=\"best-cell\""),
        "heatmap with the winner marked"
    );
    assert!(
        html.contains("id=\"chart-equity\""),
        "interactive equity chart"
    );
    assert!(html.contains("id=\"folds\"") && html.contains("Chosen parameters"));
    crate::report_files::check_self_contained(&html);
    let show = t.run(&["optimize", "--show", "GOOG", "--json"]);
    let rows: serde_json::Value = json_of(&show);
    let regimes: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["regime"].as_str().unwrap())
        .collect();
    assert!(
        regimes.contains(&"all") && regimes.len() >= 2,
        "{regimes:?}"
    );
}
