//! `backtest --strategy ai`, `explain` and `ai status` end to end: the AI backtest runs with
//! no Ollama and no trained model, its decisions are stored and linked to trades, `explain`
//! names the components behind a trade, the state file is written; a live LLM that vetoes
//! every entry stops all trades and its answers are recorded, and a second run replays them
//! without calling the server.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::{TestDir, texts};

const WINDOW: [&str; 4] = ["--from", "2021-01-01", "--to", "2021-07-01"];

fn backtest(td: &TestDir, extra: &[&str]) -> Value {
    let mut args = vec![
        "backtest",
        "--symbol",
        "BTC/USDT",
        "--strategy",
        "ai",
        "--json",
    ];
    args.extend_from_slice(&WINDOW);
    args.extend_from_slice(extra);
    let out = td
        .cmd(&args)
        .env("OLLAMA_HOST", "http://127.0.0.1:9")
        .output()
        .expect("run");
    let (so, se) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{se}");
    serde_json::from_str(&so).expect("json")
}

#[test]
fn ai_backtest_records_decisions_that_explain_names() {
    let td = TestDir::new();
    let v = backtest(&td, &["--report", "rep"]);
    assert_eq!(v["strategy"], "ai");
    // a fresh DATA_DIR: the shipped default models join (models/default, issue 12 item 8)
    assert_eq!(
        v["ai"]["components"],
        json!(["technical", "dqn", "evolved", "online"])
    );
    for c in ["dqn", "evolved", "leverage-dqn"] {
        let src = v["ai"]["sources"][c].as_str().unwrap();
        assert!(
            src.starts_with(&format!("default:models/default/{c}.json")),
            "{src}"
        );
    }
    assert_eq!(v["ai"]["llm_mode"], "replay");
    assert!(v["trades"].as_u64().unwrap() > 0, "{v}");
    assert!(td.path().join("rep/report.html").exists());
    assert!(td.path().join("data/ai_orchestrator_state.json").exists());
    let run_id = v["run_id"].as_i64().unwrap();
    let run = run_id.to_string();
    // the trades carry what the learners read
    let store = algolab::store::Store::open(&td.path().join("data/ai_learning.db")).unwrap();
    let labels = store.trade_labels(run_id).unwrap();
    // one label per stored fill row (a round trip's partial exits are rows of their own;
    // the `trades` stat counts round trips, issue 10)
    let fills = store
        .load_trades(run_id)
        .unwrap()
        .iter()
        .filter(|t| t.exit_reason != algolab::core::order::ExitReason::Open)
        .count() as u64;
    assert!(v["trades"].as_u64().unwrap() <= fills);
    assert_eq!(labels.len() as u64, fills);
    assert!(
        labels
            .iter()
            .all(|l| l.strategy_id == "ai" && ["WIN", "LOSS"].contains(&l.outcome.as_str()))
    );
    assert!(labels.iter().any(|l| {
        l.indicators_json
            .as_deref()
            .is_some_and(|j| j.contains("rsi"))
    }));
    drop(store);

    let out = td.run(&["explain", &run, "--json"]);
    let (so, se) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{se}");
    let e: Value = serde_json::from_str(&so).unwrap();
    let trades = e["trades"].as_array().unwrap();
    assert_eq!(trades.len() as u64, fills);
    let first = &trades[0];
    let entry = &first["decisions"][0];
    assert!(entry["intent"].as_str().unwrap().starts_with("enter"));
    let votes = entry["decision"]["votes"].as_array().unwrap();
    let tech = votes
        .iter()
        .find(|v| v["component"] == "technical")
        .unwrap();
    assert!(tech["effective_weight"].as_f64().unwrap() > 0.0);
    assert_eq!(entry["decision"]["action"], "BUY");
    assert!(
        entry["without"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w[0] == "technical")
    );

    let out = td.run(&["explain", &run, "--trade", "0"]);
    let (so, _) = texts(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(so.contains("trade 0: long"), "{so}");
    assert!(so.contains("technical"), "{so}");
    assert!(so.contains("without technical: "), "{so}");

    let out = td.run(&["ai", "status", "--json"]);
    let (so, se) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{se}");
    let s: Value = serde_json::from_str(&so).unwrap();
    assert_eq!(s["weights"]["technical"], 0.3);
    assert!(s["state_file"].as_str().is_some());
    let dqn = s["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[0] == "dqn")
        .unwrap();
    // no DQN in the DB, but the shipped default is available
    assert_eq!(dqn[1], true);
    assert!(
        dqn[2].as_str().unwrap().contains("models/default/dqn.json"),
        "{dqn}"
    );
    assert!(
        s["sources"]["dqn"]
            .as_str()
            .unwrap()
            .starts_with("default:models/default/dqn.json")
    );
    assert!(!s["leverage"].as_array().unwrap().is_empty());
}

#[test]
fn explain_and_weights_refuse_bad_input_with_exit_2() {
    let td = TestDir::new();
    let out = td.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "sma-cross",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_str(&texts(&out).0).unwrap();
    let run = v["run_id"].as_i64().unwrap().to_string();
    let out = td.run(&["explain", &run]);
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("no stored decisions"));
    let out = td.run(&["explain", "999"]);
    assert_eq!(out.status.code(), Some(2));
    let out = td.run(&[
        "backtest",
        "--symbol",
        "BTC/USDT",
        "--strategy",
        "ai",
        "--weights",
        "magic=1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("unknown component"));
}

#[tokio::test]
async fn a_vetoing_llm_stops_entries_and_its_answers_replay_without_calls() {
    let server = MockServer::start().await;
    let veto = r#"{"action":"HOLD","confidence":0.9,"veto":true,"risk_warning":"test","explanation":"vetoed by the test server"}"#;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model": "qwen2.5:7b",
            "created_at": "2026-11-30T06:00:00Z",
            "message": {"role": "assistant", "content": veto},
            "done": true,
            "done_reason": "stop"
        })))
        .mount(&server)
        .await;
    let td = TestDir::new();
    let uri = server.uri();
    let cmd = |extra: &[&str]| {
        let mut args = vec![
            "backtest",
            "--symbol",
            "BTC/USDT",
            "--strategy",
            "ai",
            "--json",
        ];
        args.extend_from_slice(&WINDOW);
        args.extend_from_slice(extra);
        let mut c = td.cmd(&args);
        c.env("OLLAMA_HOST", &uri)
            .env("NO_PROXY", "127.0.0.1")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy");
        c
    };
    let mut c = cmd(&["--llm", "live"]);
    let out = tokio::task::spawn_blocking(move || c.output().expect("run"))
        .await
        .unwrap();
    let (so, se) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{se}");
    let live: Value = serde_json::from_str(&so).unwrap();
    let asked = live["ai"]["llm_asked"].as_u64().unwrap();
    assert!(asked > 0);
    assert_eq!(live["ai"]["llm_answered"].as_u64(), Some(asked));
    assert_eq!(live["trades"], 0, "every entry was vetoed");
    let calls = server.received_requests().await.unwrap().len();
    assert_eq!(calls as u64, asked);

    let mut c = cmd(&[]);
    let out = tokio::task::spawn_blocking(move || c.output().expect("run"))
        .await
        .unwrap();
    let (so, se) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{se}");
    let replay: Value = serde_json::from_str(&so).unwrap();
    assert_eq!(replay["ai"]["llm_mode"], "replay");
    assert_eq!(replay["ai"]["llm_answered"].as_u64(), Some(asked));
    assert_eq!(replay["trades"], 0);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        calls,
        "replay makes no calls"
    );
}

#[test]
fn portfolio_attribution_adds_up_to_the_account_return() {
    let td = TestDir::new();
    let out = td.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "portfolio",
        "--strategies",
        "technical,sma-cross,ai",
        "--json",
    ]);
    let (so, se) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{se}");
    let v: Value = serde_json::from_str(&so).unwrap();
    let attr = v["attribution"].as_array().unwrap();
    assert_eq!(attr.len(), 3);
    let sum: f64 = attr
        .iter()
        .map(|a| a["contribution_pct"].as_f64().unwrap())
        .sum();
    let ret = v["return_pct"].as_f64().unwrap();
    assert!(
        (sum - ret).abs() < 1e-6,
        "attribution {sum} vs account {ret}"
    );
    for a in attr {
        let w = a["final_weight"].as_f64().unwrap();
        assert!((0.05 - 1e-9..=0.40 + 1e-9).contains(&w), "{a}");
    }
    assert!(se.contains("contribution"), "{se}");
    for bad in ["technical", "technical,dqn:5", "technical,evolved:x"] {
        let out = td.run(&[
            "backtest",
            "--symbol",
            "GOOG",
            "--strategy",
            "portfolio",
            "--strategies",
            bad,
        ]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", texts(&out).1);
    }
}

/// Learning after every trade (issue 12, item 6): off by default (two runs give the same
/// bytes), `--learn` trains the DQN after each closed trade, bumps its version and stores it
/// as a new model linked to the run; the next `--learn` run continues from it.
#[test]
fn learn_bumps_the_dqn_version_and_without_it_runs_are_identical() {
    let td = TestDir::new();
    let window = ["--from", "2020-01-01", "--to", "2021-07-01"];
    let run = |extra: &[&str], report: &str| -> Value {
        let mut args = vec![
            "backtest",
            "--symbol",
            "BTC/USDT",
            "--strategy",
            "ai",
            "--json",
            "--report",
            report,
        ];
        args.extend_from_slice(&window);
        args.extend_from_slice(extra);
        let out = td
            .cmd(&args)
            .env("OLLAMA_HOST", "http://127.0.0.1:9")
            .output()
            .expect("run");
        let (so, se) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{se}");
        serde_json::from_str(&so).expect("json")
    };
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("run_id");
        v
    };
    let a = run(&[], "a");
    let b = run(&[], "b");
    assert_eq!(a["ai"]["learn"], false);
    assert!(a["ai"]["dqn_learned"].is_null());
    assert_eq!(strip(a.clone()), strip(b));
    for f in ["trades.csv", "equity.csv"] {
        let (x, y) = (
            std::fs::read(td.path().join("a").join(f)).unwrap(),
            std::fs::read(td.path().join("b").join(f)).unwrap(),
        );
        assert_eq!(x, y, "{f}");
    }
    // --learn: the default DQN (version 0) learns from the run's trades
    let l1 = run(&["--learn"], "l1");
    assert_eq!(l1["ai"]["learn"], true);
    assert_eq!(l1["ai"]["dqn_version"], 0);
    let learned = &l1["ai"]["dqn_learned"];
    assert!(learned["trades"].as_u64().unwrap() >= 32, "{learned}");
    let v1 = learned["version"].as_i64().unwrap();
    assert!(v1 > 0, "{learned}");
    let id1 = learned["model_id"].as_i64().unwrap();
    // the run records it: the new model row names the run, its version and where it came from
    let store = algolab::store::Store::open(&td.path().join("data/ai_learning.db")).unwrap();
    let m = store.load_model(id1).unwrap().unwrap();
    assert_eq!(m.run_id, l1["run_id"].as_i64());
    assert_eq!(m.kind, "dqn");
    let metrics: Value = serde_json::from_str(&m.metrics_json).unwrap();
    assert_eq!(metrics["version"].as_i64(), Some(v1));
    assert!(
        metrics["online"]["from"]
            .as_str()
            .unwrap()
            .starts_with("default:models/default/dqn.json")
    );
    drop(store);
    // its decisions differ from the run without learning once the weights changed
    assert_ne!(strip(l1.clone())["ai"], strip(a.clone())["ai"]);
    // the next --learn run starts from the stored version and bumps it again
    let l2 = run(&["--learn"], "l2");
    assert_eq!(l2["ai"]["dqn_version"].as_i64(), Some(v1));
    assert_eq!(l2["ai"]["dqn_id"].as_i64(), Some(id1));
    assert!(l2["ai"]["dqn_learned"]["version"].as_i64().unwrap() > v1);
    assert!(l2["ai"]["dqn_learned"]["model_id"].as_i64().unwrap() > id1);
}
