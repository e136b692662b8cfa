//! Reads for the API of `serve` (issue 14): a read-only probe of the DB's schema (the
//! readiness check must not create or migrate anything), table counts, and the closed
//! trades of every run with its strategy (the rolling win rates of the learning view).
//! Nothing here writes.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{MIGRATIONS, Store, StoreError};

/// What a read-only look at a DB file found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaProbe {
    /// `PRAGMA user_version` of the file.
    pub version: i64,
    /// The latest version this build knows ([`MIGRATIONS`]`.len()`).
    pub latest: i64,
}

impl SchemaProbe {
    /// True when every migration of this build is applied.
    pub fn is_current(&self) -> bool {
        self.version == self.latest
    }
}

/// Row counts of the learning tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct TableCounts {
    /// Runs recorded.
    pub runs: i64,
    /// Closed trades recorded (all runs).
    pub trades: i64,
    /// Trades labelled for learning (strategy, regime, WIN/LOSS).
    pub labelled_trades: i64,
    /// AI decisions recorded.
    pub decisions: i64,
    /// Trained models stored.
    pub models: i64,
}

/// One closed trade with the strategy of its run.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeOutcome {
    /// The run's strategy (`?` when not recorded).
    pub strategy: String,
    /// The run.
    pub run_id: i64,
    /// The trade's number in its run.
    pub seq: i64,
    /// Exit time, UTC ms.
    pub exit_ts_ms: i64,
    /// P&L after fees (NaN when not stored).
    pub pnl: f64,
}

/// Open `path` read-only (never creating it) and read its schema version.
///
/// # Errors
/// [`StoreError::Sql`] when the file is missing, is not a SQLite DB or cannot be read.
pub fn probe(path: &Path) -> Result<SchemaProbe, StoreError> {
    let err = |op: &str| {
        let (path, op) = (path.display().to_string(), op.to_string());
        move |source| StoreError::Sql { path, op, source }
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err("opening read-only"))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err("reading user_version"))?;
    // a file that is not a DB fails here, not at open
    let _tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(err("reading the schema"))?;
    Ok(SchemaProbe {
        version,
        latest: MIGRATIONS.len() as i64,
    })
}

impl Store {
    /// Row counts of the learning tables.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if a count fails.
    pub fn table_counts(&self) -> Result<TableCounts, StoreError> {
        let count = |sql: &str| -> Result<i64, StoreError> {
            self.conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(self.sql_err("counting rows"))
        };
        Ok(TableCounts {
            runs: count("SELECT count(*) FROM runs")?,
            trades: count("SELECT count(*) FROM trades")?,
            labelled_trades: count("SELECT count(*) FROM trades WHERE outcome IS NOT NULL")?,
            decisions: count("SELECT count(*) FROM ai_decisions")?,
            models: count("SELECT count(*) FROM models")?,
        })
    }

    /// The last `limit` closed trades of each strategy, in (run, seq) order.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn trade_outcomes(&self, limit: usize) -> Result<Vec<TradeOutcome>, StoreError> {
        let err = self.sql_fn("loading trade outcomes");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT strategy, run_id, seq, exit_ts_ms, pnl FROM (
                     SELECT COALESCE(r.strategy, '?') AS strategy, t.run_id, t.seq,
                            t.exit_ts_ms, t.pnl,
                            ROW_NUMBER() OVER (PARTITION BY COALESCE(r.strategy, '?')
                                               ORDER BY t.run_id DESC, t.seq DESC) AS k
                     FROM trades t JOIN runs r ON r.id = t.run_id)
                 WHERE k <= ?1 ORDER BY strategy, run_id, seq",
            )
            .map_err(&err)?;
        stmt.query_map([limit as i64], |r| {
            Ok(TradeOutcome {
                strategy: r.get(0)?,
                run_id: r.get(1)?,
                seq: r.get(2)?,
                exit_ts_ms: r.get(3)?,
                pnl: r.get::<_, Option<f64>>(4)?.unwrap_or(f64::NAN),
            })
        })
        .map_err(&err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::order::{ExitReason, Side, Trade};
    use crate::store::RunRecord;

    fn trade(seq: i64, pnl: f64) -> Trade {
        Trade {
            side: Side::Long,
            qty: 1.0,
            entry_bar: seq as usize,
            exit_bar: seq as usize + 1,
            entry_ts_ms: seq * 10,
            exit_ts_ms: seq * 10 + 5,
            entry_price: 100.0,
            exit_price: 100.0 + pnl,
            pnl,
            return_pct: pnl,
            fees: 0.0,
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: ExitReason::Signal,
        }
    }

    #[test]
    fn probe_reads_the_version_without_creating_or_migrating() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        assert!(probe(&path).is_err(), "a missing DB is an error");
        assert!(!path.exists(), "the probe created nothing");
        drop(Store::open_at_version(&path, 1).unwrap());
        let p = probe(&path).unwrap();
        assert_eq!(p.version, 1);
        assert!(!p.is_current() || MIGRATIONS.len() == 1);
        drop(Store::open(&path).unwrap());
        assert!(probe(&path).unwrap().is_current());
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not a database, just text that is long enough").unwrap();
        assert!(probe(&junk).is_err());
    }

    #[test]
    fn trade_outcomes_keep_the_last_n_per_strategy_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("a.db")).unwrap();
        for (strategy, pnls) in [("ai", vec![1.0, -1.0, 2.0]), ("sma-cross", vec![-3.0])] {
            let id = s
                .begin_run(&RunRecord {
                    command: "backtest".into(),
                    strategy: Some(strategy.into()),
                    ..RunRecord::default()
                })
                .unwrap();
            let trades: Vec<Trade> = pnls
                .iter()
                .enumerate()
                .map(|(i, p)| trade(i as i64, *p))
                .collect();
            s.insert_trades(id, &trades).unwrap();
        }
        let all = s.trade_outcomes(2).unwrap();
        let got: Vec<(&str, i64, f64)> = all
            .iter()
            .map(|t| (t.strategy.as_str(), t.seq, t.pnl))
            .collect();
        assert_eq!(
            got,
            vec![("ai", 1, -1.0), ("ai", 2, 2.0), ("sma-cross", 0, -3.0)]
        );
        let c = s.table_counts().unwrap();
        assert_eq!((c.runs, c.trades, c.decisions), (2, 4, 0));
    }
}
