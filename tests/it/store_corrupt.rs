//! Issue 9 item 5: a corrupt DB row (a stored genome that no longer decodes) is not bad
//! usage: the command fails with exit 1 naming the DB, not exit 2.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use algolab::store::{EvolvedRow, Store};

use crate::util::{TestDir, texts};

#[test]
fn issue_9_corrupt_stored_genome_exits_1_not_2() {
    let dir = TestDir::new();
    let db = dir.path().join("data").join("ai_learning.db");
    let mut store = Store::open(&db).unwrap();
    let id = store
        .insert_evolved(&EvolvedRow {
            id: 0,
            run_id: None,
            generation: 1,
            fitness: 0.0,
            validation_fitness: 0.0,
            test_sharpe: 0.0,
            test_return_pct: 0.0,
            genes_json: "{\"not\": \"a genome\"}".into(),
            rule_text: "?".into(),
            symbol: "GOOG".into(),
            regime: None,
            is_active: true,
            created_at: "2026-01-01T00:00:00Z".into(),
        })
        .unwrap();
    drop(store);
    let param = format!("id={id}");
    let out = dir.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "evolved",
        "--param",
        &param,
        "--no-record",
    ]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bad stored value"), "{stderr}");
    // an unknown id is still the user's mistake
    let out = dir.run(&[
        "backtest",
        "--symbol",
        "GOOG",
        "--strategy",
        "evolved",
        "--param",
        "id=999",
        "--no-record",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", texts(&out).1);
}
