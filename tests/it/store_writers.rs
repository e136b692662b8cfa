//! Many writers, one learning DB (issue 13 item 5): concurrent processes and connections
//! on one fresh `ai_learning.db` all succeed, every run and trade is stored exactly once,
//! and a command that fails after its run began marks the run failed.

use std::process::Stdio;

use algolab::core::order::{ExitReason, Side, Trade};
use algolab::store::{RunRecord, RunStatus, Store};

use crate::util::{TestDir, texts};

fn trade(i: usize) -> Trade {
    Trade {
        side: Side::Long,
        qty: 1.0,
        entry_bar: i,
        exit_bar: i + 1,
        entry_ts_ms: i as i64,
        exit_ts_ms: i as i64 + 1,
        entry_price: 10.0,
        exit_price: 11.0,
        pnl: 1.0,
        return_pct: 10.0,
        fees: 0.0,
        mae_pct: 0.0,
        mfe_pct: 10.0,
        exit_reason: ExitReason::Signal,
    }
}

/// Threads with their own connections race to create, migrate and fill one new DB.
#[test]
fn concurrent_connections_on_a_new_db_store_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/ai_learning.db");
    let writers = 8;
    let per_writer = 400;
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).unwrap();
                let mut ids = Vec::new();
                for k in 0..3 {
                    let id = store
                        .begin_run(&RunRecord {
                            command: format!("writer{w}"),
                            started_at: format!("t{k}"),
                            ..RunRecord::default()
                        })
                        .unwrap();
                    let trades: Vec<Trade> = (0..per_writer).map(trade).collect();
                    store.insert_trades(id, &trades).unwrap();
                    let ts: Vec<i64> = (0..per_writer as i64).collect();
                    store
                        .insert_equity(id, &ts, &vec![1.0; per_writer])
                        .unwrap();
                    store.finish_run(id, "{}", "end").unwrap();
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    let mut ids: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), writers * 3, "every run got its own id");
    let store = Store::open(&path).unwrap();
    let runs = store.list_runs(1000).unwrap();
    assert_eq!(runs.len(), writers * 3);
    for r in &runs {
        assert_eq!(r.status, RunStatus::Completed, "run {}", r.id);
        assert_eq!(store.load_trades(r.id).unwrap().len(), per_writer);
        assert_eq!(store.load_equity(r.id).unwrap().0.len(), per_writer);
    }
}

/// Six `backtest --symbol BTC/USDT` started together on one `DATA_DIR` (the issue's
/// reproduction: before the fix, some failed with "table runs already exists" or
/// "database is locked: Error code 517" and left runs `running`).
#[test]
fn six_concurrent_backtests_all_record_their_runs_and_trades_once() {
    let t = TestDir::new();
    let children: Vec<_> = (0..6)
        .map(|_| {
            t.cmd(&["backtest", "--symbol", "BTC/USDT", "--json", "-q"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut by_run = std::collections::BTreeMap::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "backtest failed: {stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let id = v["run_id"].as_i64().unwrap();
        let closed = v["trades"].as_u64().unwrap() as usize;
        let bars = v["bars"].as_u64().unwrap() as usize;
        assert!(
            by_run.insert(id, (closed, bars)).is_none(),
            "run id {id} reused"
        );
    }
    let store = Store::open(&t.path().join("data/ai_learning.db")).unwrap();
    let runs = store.list_runs(100).unwrap();
    assert_eq!(runs.len(), 6);
    let mut stored = Vec::new();
    for r in runs {
        assert_eq!(r.status, RunStatus::Completed, "run {}", r.id);
        let (closed, bars) = by_run[&r.id];
        let trades = store.load_trades(r.id).unwrap();
        // the stats count closed trades; the DB also keeps a position still open at the end
        let open = trades
            .iter()
            .filter(|t| t.exit_reason == ExitReason::Open)
            .count();
        assert_eq!(trades.len(), closed + open, "run {}", r.id);
        assert_eq!(
            store.load_equity(r.id).unwrap().1.len(),
            bars,
            "run {}",
            r.id
        );
        stored.push(trades.len());
    }
    // the same backtest six times: the same rows six times, none lost or doubled
    assert!(
        stored.iter().all(|&n| n == stored[0] && n > 0),
        "{stored:?}"
    );
}

/// A backtest whose recording fails part-way exits 1 and leaves its run `failed`, not
/// `running` forever.
#[test]
fn a_backtest_that_fails_while_recording_marks_its_run_failed() {
    let t = TestDir::new();
    let db = t.path().join("data/ai_learning.db");
    drop(Store::open(&db).unwrap());
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER no_equity BEFORE INSERT ON equity
             BEGIN SELECT RAISE(ABORT, 'equity refused by test trigger'); END;",
        )
        .unwrap();
    }
    let out = t.run(&["backtest", "--symbol", "GOOG", "-q"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("equity refused"), "{stderr}");
    let store = Store::open(&db).unwrap();
    let runs = store.list_runs(10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert!(runs[0].ended_at.is_some());
}
