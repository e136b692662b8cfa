//! `algolab reconcile BOT`: a paper bot ticked through a bar file agrees with the backtest
//! trade for trade (no gap); a bot without state is bad usage. (The live bot, whose fills
//! differ from the simulation, is in `live_cli`.)

use crate::util::{TestDir, dataset, texts};

#[test]
fn a_paper_bot_agrees_with_its_backtest_trade_for_trade() {
    let t = TestDir::new();
    let text = std::fs::read_to_string(dataset("GOOG.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows: Vec<&str> = lines.take(400).collect();
    let file = t.path().join("bars.csv");
    for upto in [200, 260, 330, 400] {
        let mut s = format!("{header}\n");
        for l in &rows[..upto] {
            s.push_str(l);
            s.push('\n');
        }
        std::fs::write(&file, s).unwrap();
        let out = t.run(&[
            "paper",
            "--data",
            "bars.csv",
            "--bot",
            "p1",
            "--from",
            "2005-01-01",
            "-q",
            "--strategy",
            "sma-cross",
            "--param",
            "fast=5",
            "--param",
            "slow=15",
            "--commission",
            "0.001",
        ]);
        assert!(out.status.success(), "{:?}", texts(&out));
    }
    let out = t.run(&["reconcile", "p1", "--json"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    // a row torn by a killed tick (no final newline) is left for the next tick to repair:
    // reconcile reads the complete rows, does not touch the file, and reports the same
    let bars_file = t.path().join("data/bots/p1/bars.csv");
    let before = std::fs::read(&bars_file).unwrap();
    let mut torn = before.clone();
    torn.extend_from_slice(b"2099-01-01,1.0,2.");
    std::fs::write(&bars_file, &torn).unwrap();
    let out = t.run(&["reconcile", "p1", "--json"]);
    let (stdout_torn, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout_torn, stdout);
    assert_eq!(std::fs::read(&bars_file).unwrap(), torn);
    std::fs::write(&bars_file, &before).unwrap();
    let n = v["trades_bot"].as_u64().unwrap();
    assert!(
        n >= 3,
        "the bot must trade for the test to mean anything: {v}"
    );
    assert_eq!(v["trades_backtest"], n, "{v}");
    assert_eq!(v["matched"], n, "{v}");
    assert_eq!(v["signal_agreement_pct"], 100.0);
    for r in v["rows"].as_array().unwrap() {
        assert_eq!(r["entry_gap_bps"], 0.0, "{r}");
        assert!(
            r["exit_gap_bps"].is_null() || r["exit_gap_bps"] == 0.0,
            "{r}"
        );
        assert_eq!(r["bot_pnl"], r["backtest_pnl"], "{r}");
    }
    assert_eq!(v["pnl_bot"], v["pnl_backtest"], "{v}");
    assert_eq!(v["fees_bot"], v["fees_backtest"], "{v}");
    // four ticks, one bot run in the learning DB, each closed trade once
    let store = algolab::store::Store::open(&t.path().join("data/ai_learning.db")).unwrap();
    let runs: Vec<_> = store
        .list_runs(100)
        .unwrap()
        .into_iter()
        .filter(|r| r.record.command == "paper")
        .collect();
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let closed = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["open"] == false)
        .count();
    assert_eq!(store.load_trades(runs[0].id).unwrap().len(), closed);
    // the table form names the bot and the agreement
    let out = t.run(&["reconcile", "p1"]);
    assert!(
        texts(&out).0.contains("100.0% agreement"),
        "{:?}",
        texts(&out)
    );
    // no such bot: exit 2
    let out = t.run(&["reconcile", "nobody"]);
    assert_eq!(out.status.code(), Some(2), "{:?}", texts(&out));
}
