//! The learning DB end to end: opening creates directories and sets the pragmas, older
//! schemas upgrade in place, and every table round-trips.

#![allow(clippy::unwrap_used, reason = "test code")]

use algolab::core::order::{ExitReason, Side, Trade};
use algolab::store::{
    MIGRATIONS, RegimeTransition, RunRecord, RunStatus, Store, StoreError, StrategyPerformance,
};

fn record() -> RunRecord {
    RunRecord {
        command: "backtest".into(),
        args_json: r#"["--symbol","GOOG"]"#.into(),
        seed: Some(u64::MAX - 1),
        data_hash: Some("abc123".into()),
        data_path: Some("datasets/GOOG.csv".into()),
        git_rev: algolab::store::git_rev(),
        started_at: "2024-01-01T00:00:00Z".into(),
        symbol: Some("GOOG".into()),
        strategy: Some("sma-cross".into()),
        params_json: Some(r#"{"fast":10,"slow":20}"#.into()),
    }
}

fn trade(i: usize, reason: ExitReason) -> Trade {
    Trade {
        side: if i.is_multiple_of(2) {
            Side::Long
        } else {
            Side::Short
        },
        qty: 3.0,
        entry_bar: i,
        exit_bar: i + 2,
        entry_ts_ms: i as i64 * 1000,
        exit_ts_ms: (i as i64 + 2) * 1000,
        entry_price: 100.0,
        exit_price: 101.5,
        pnl: 4.5,
        return_pct: 1.5,
        fees: 0.4,
        mae_pct: -0.5,
        mfe_pct: f64::NAN,
        exit_reason: reason,
    }
}

#[test]
fn open_creates_directories_and_sets_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/ai_learning.db");
    let store = Store::open(&path).unwrap();
    assert!(path.exists());
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // reopening is a no-op
    drop(store);
    let again = Store::open(&path).unwrap();
    assert_eq!(again.schema_version().unwrap(), MIGRATIONS.len() as i64);
}

#[test]
fn runs_trades_equity_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db.sqlite")).unwrap();
    let rec = record();
    let id = store.begin_run(&rec).unwrap();
    let trades = vec![
        trade(0, ExitReason::Signal),
        trade(5, ExitReason::StopLoss),
        trade(9, ExitReason::Open),
    ];
    store.insert_trades(id, &trades).unwrap();
    store
        .insert_equity(id, &[0, 1000, 2000], &[100.0, 99.5, 102.25])
        .unwrap();
    store
        .finish_run(id, r#"{"sharpe":1.5}"#, "2024-01-01T00:01:00Z")
        .unwrap();

    let run = store.load_run(id).unwrap();
    assert_eq!(run.record, rec);
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.ended_at.as_deref(), Some("2024-01-01T00:01:00Z"));
    assert_eq!(run.stats_json.as_deref(), Some(r#"{"sharpe":1.5}"#));

    let back = store.load_trades(id).unwrap();
    assert_eq!(back.len(), 3);
    for (a, b) in back.iter().zip(&trades) {
        assert!(
            b.mfe_pct.is_nan() && a.mfe_pct.is_nan(),
            "NaN stored as NULL"
        );
        assert_eq!(Trade { mfe_pct: 0.0, ..*a }, Trade { mfe_pct: 0.0, ..*b });
    }
    assert_eq!(
        store.load_equity(id).unwrap(),
        (vec![0, 1000, 2000], vec![100.0, 99.5, 102.25])
    );

    let id2 = store.begin_run(&RunRecord::default()).unwrap();
    store.fail_run(id2, "2024-01-02T00:00:00Z").unwrap();
    let runs = store.list_runs(10).unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id2, id]);
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert_eq!(store.list_runs(1).unwrap().len(), 1);
}

#[test]
fn regimes_and_strategy_performance_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db.sqlite")).unwrap();
    let id = store.begin_run(&record()).unwrap();
    let tr = vec![
        RegimeTransition {
            ts_ms: 5,
            from_regime: "bull".into(),
            to_regime: "crash".into(),
            confidence: 0.8,
        },
        RegimeTransition {
            ts_ms: 9,
            from_regime: "crash".into(),
            to_regime: "sideways".into(),
            confidence: 0.6,
        },
    ];
    store.insert_regime_transitions(id, &tr).unwrap();
    assert_eq!(store.load_regime_transitions(id).unwrap(), tr);

    let perf = StrategyPerformance {
        strategy: "sma-cross".into(),
        symbol: "GOOG".into(),
        params_json: "{}".into(),
        run_id: Some(id),
        sharpe: 0.6,
        return_pct: 462.6,
        max_drawdown_pct: 33.9,
        trades: 93,
        win_rate_pct: 52.7,
        created_at: "2024-01-01T00:00:00Z".into(),
    };
    store
        .insert_strategy_performance(&[perf.clone(), perf.clone()])
        .unwrap();
    assert_eq!(
        store.strategy_performance("sma-cross", "GOOG").unwrap(),
        vec![perf.clone(), perf]
    );
    assert!(
        store
            .strategy_performance("sma-cross", "SPY")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn unknown_run_is_an_error_naming_the_db_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut store = Store::open(&path).unwrap();
    let e = store
        .insert_trades(42, &[trade(0, ExitReason::Signal)])
        .unwrap_err();
    assert!(matches!(e, StoreError::RunNotFound { run_id: 42, .. }));
    let msg = e.to_string();
    assert!(msg.contains("42") && msg.contains("db.sqlite"), "{msg}");
    assert_eq!(e.exit_code(), 1);
    assert!(matches!(
        store.load_run(7),
        Err(StoreError::RunNotFound { run_id: 7, .. })
    ));
    assert!(store.finish_run(7, "{}", "x").is_err());
    // the failed batch wrote nothing
    assert!(store.load_trades(42).unwrap().is_empty());
}

#[test]
fn a_v1_database_upgrades_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let mut v1 = Store::open_at_version(&path, 1).unwrap();
        assert_eq!(v1.schema_version().unwrap(), 1);
        // v1 has no data_path column: write the row by hand, as a v1 build would have
        drop(v1);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO runs (command, started_at, status) VALUES ('backtest', 't0', 'completed')",
            [],
        )
        .unwrap();
        assert!(conn.execute("SELECT data_path FROM runs", []).is_err());
        v1 = Store::open_at_version(&path, 1).unwrap();
        assert_eq!(v1.schema_version().unwrap(), 1);
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let old = store.load_run(1).unwrap();
    assert_eq!(old.record.command, "backtest");
    assert_eq!(old.record.data_path, None);
    assert_eq!(old.status, RunStatus::Completed);
    // the v2 tables work on the upgraded file
    store.insert_equity(1, &[0], &[1.0]).unwrap();
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::TooNew { found: 999, .. }), "{e}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(e.to_string().contains("junk.db"), "{e}");
}

#[test]
fn git_rev_reads_this_checkout() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if root.join(".git").exists() {
        let rev = algolab::store::git_rev_from(root).unwrap();
        assert_eq!(rev.len(), 40);
        assert!(rev.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
