//! `algolab train-rl` / `train-leverage` end to end (small networks so the debug build is
//! quick): the JSON keys, the same weights and JSON for a seed on 1 and 2 threads, the
//! stored model reproducing its test stats through `backtest --strategy dqn`, the report,
//! `--list`, and bad input exiting 2.

use crate::util::{TestDir, texts};

const SMALL: &[&str] = &[
    "--symbol",
    "GOOG",
    "--episodes",
    "1",
    "--seed",
    "7",
    "--hidden",
    "16,16,8",
    "--batch",
    "16",
    "--learning-starts",
    "64",
];

fn train(dir: &TestDir, cmd: &str, extra: &[&str], threads: &str) -> serde_json::Value {
    let mut args = vec![cmd];
    args.extend_from_slice(SMALL);
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

fn without_timing(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("steps_per_sec");
        o.remove("train_seconds");
    }
    v
}

#[test]
fn train_rl_is_deterministic_and_its_model_reproduces_the_test_stats() {
    let a_dir = TestDir::new();
    let b_dir = TestDir::new();
    let a = train(&a_dir, "train-rl", &[], "1");
    let b = train(&b_dir, "train-rl", &[], "2");
    for key in [
        "model_id",
        "seed",
        "weights_sha256",
        "split",
        "test",
        "baselines",
        "actions",
        "liquidations",
        "dsr",
        "env_steps",
        "steps_per_sec",
    ] {
        assert!(a.get(key).is_some(), "{key} missing");
    }
    for w in ["train", "validation", "test"] {
        for k in ["start", "end", "bars"] {
            assert!(a["split"][w].get(k).is_some(), "split.{w}.{k}");
        }
    }
    assert!(a["baselines"]["buy_hold"]["return_pct"].is_number());
    assert!(
        a["baselines"]["technical"]["sharpe"].is_number()
            || a["baselines"]["technical"]["sharpe"].is_null()
    );
    assert_eq!(a["actions"].as_object().unwrap().len(), 3);
    assert_eq!(a["weights_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(without_timing(a.clone()), without_timing(b));

    // the stored model through `backtest` over its test window gives the stored stats
    let (from, to) = (
        a["split"]["test"]["start"].as_str().unwrap(),
        a["split"]["test"]["end"].as_str().unwrap(),
    );
    let bt = a_dir.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "dqn",
        "--param",
        "id=1",
        "--from",
        from,
        "--to",
        to,
        "--json",
    ]);
    let (stdout, stderr) = texts(&bt);
    assert!(bt.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for k in [
        "start",
        "end",
        "bars",
        "equity_final",
        "return_pct",
        "sharpe",
        "trades",
        "max_drawdown_pct",
        "exposure_pct",
    ] {
        assert_eq!(v[k], a["test"][k], "{k}");
    }
    // the wrong kind, an unknown id: exit 2 with a one-line cause
    for (args, needle) in [
        (
            vec![
                "backtest",
                "--symbol",
                "GOOG",
                "--strategy",
                "leverage-dqn",
                "--param",
                "id=1",
            ],
            "feature spec",
        ),
        (
            vec![
                "backtest",
                "--symbol",
                "GOOG",
                "--strategy",
                "dqn",
                "--param",
                "id=99",
            ],
            "no model with id 99",
        ),
    ] {
        let out = a_dir.run(&args);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    let list = a_dir.run(&["train-rl", "--list"]);
    let (stdout, stderr) = texts(&list);
    assert!(list.status.success(), "{stderr}");
    assert!(stdout.contains("GOOG") && stdout.contains("→"), "{stdout}");
}

#[test]
fn train_leverage_reports_and_lists() {
    let dir = TestDir::new();
    let report = dir.path().join("rep");
    let v = train(
        &dir,
        "train-leverage",
        &["--max-leverage", "5", "--report", report.to_str().unwrap()],
        "2",
    );
    assert_eq!(v["kind"], "leverage-dqn");
    assert_eq!(v["actions"].as_object().unwrap().len(), 11);
    assert!(v["liquidations"]["train"].is_number());
    let html = std::fs::read_to_string(report.join("rl.html")).unwrap();
    assert!(html.contains("action mix") && html.contains("exposure"));
    for chart in ["equity", "actions", "exposure", "reward", "validation"] {
        assert!(html.contains(&format!("id=\"chart-{chart}\"")), "{chart}");
    }
    crate::report_files::check_self_contained(&html);
    assert!(
        std::fs::read_to_string(report.join("episodes.csv"))
            .unwrap()
            .starts_with("episode,")
    );
    let list = dir.run(&["train-leverage", "--list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&texts(&list).0).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["kind"], "leverage-dqn");
}

#[test]
fn bad_training_input_exits_2() {
    let dir = TestDir::new();
    let mut rows = String::from("timestamp,open,high,low,close,volume\n");
    for i in 0..120 {
        rows.push_str(&format!(
            "2024-01-{:02}T{:02}:00:00Z,10,11,9,10,5\n",
            1 + i / 24,
            i % 24
        ));
    }
    let small = dir.write("small.csv", rows);
    for (args, needle) in [
        (
            vec![
                "train-leverage",
                "--symbol",
                "GOOG",
                "--max-leverage",
                "200",
            ],
            "--max-leverage",
        ),
        (
            vec!["train-rl", "--symbol", "GOOG", "--max-leverage", "5"],
            "train-leverage",
        ),
        (
            vec!["train-rl", "--data", small.to_str().unwrap()],
            "too few bars",
        ),
        (
            vec!["train-rl", "--symbol", "GOOG", "--resume-from", "3"],
            "no model with id 3",
        ),
    ] {
        let out = dir.run(&args);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}
