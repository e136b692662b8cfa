//! A bot's one run in the learning DB: paper, testnet and live ticks record their bot as a
//! single run (found by its folder, created once) and store its closed trades by position,
//! so a tick that is redone after a kill, or a tick that runs twice, never stores a trade
//! twice. The run stays `running` while the bot lives; its stats are refreshed each tick.

use rusqlite::{OptionalExtension, params};

use super::{RunRecord, Store, StoreError};
use crate::core::order::Trade;

/// The `bot_funding` table: the funding payments a live futures bot booked from the
/// exchange, one row per payment (keyed by the exchange's `tranId`, so a redone tick never
/// stores one twice).
pub const BOT_FUNDING_MIGRATION: &str = "CREATE TABLE bot_funding (
        run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        tran_id INTEGER NOT NULL,
        ts_ms   INTEGER NOT NULL,
        paid    REAL NOT NULL,
        asset   TEXT NOT NULL,
        PRIMARY KEY (run_id, tran_id)
    ) WITHOUT ROWID;";

/// One funding payment of a bot (paid > 0, received < 0).
#[derive(Debug, Clone, PartialEq)]
pub struct BotFundingRow {
    /// The exchange's transaction id.
    pub tran_id: i64,
    /// The funding time, UTC ms.
    pub ts_ms: i64,
    /// Amount paid (negative: received).
    pub paid: f64,
    /// The asset.
    pub asset: String,
}

impl Store {
    /// The id of the run of the bot whose folder is `record.data_path` and whose command
    /// is `record.command`; created from `record` when there is none yet.
    ///
    /// # Errors
    /// [`StoreError::Sql`] when the DB cannot be read or written.
    pub fn bot_run(&mut self, record: &RunRecord) -> Result<i64, StoreError> {
        let err = self.sql_fn("finding the bot's run");
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM runs WHERE command = ?1 AND data_path = ?2 ORDER BY id LIMIT 1",
                params![record.command, record.data_path],
                |r| r.get(0),
            )
            .optional()
            .map_err(&err)?;
        match found {
            Some(id) => Ok(id),
            None => self.begin_run(record),
        }
    }

    /// The run of the bot whose folder is `data_path` and whose ticks run as `command`
    /// (`paper`, `testnet`, `live`), if it has one (nothing is created).
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn find_bot_run(&self, command: &str, data_path: &str) -> Result<Option<i64>, StoreError> {
        let err = self.sql_fn("finding the bot's run");
        self.conn
            .query_row(
                "SELECT id FROM runs WHERE command = ?1 AND data_path = ?2 ORDER BY id LIMIT 1",
                params![command, data_path],
                |r| r.get(0),
            )
            .optional()
            .map_err(&err)
    }

    /// Store the trades of `all` (a bot's closed trades, oldest first) that are not stored
    /// yet: the first as many as are stored are taken as stored. Returns how many were
    /// added.
    ///
    /// # Errors
    /// [`StoreError::RunNotFound`] for an unknown run; [`StoreError::Sql`] otherwise.
    pub fn sync_trades(&mut self, run_id: i64, all: &[Trade]) -> Result<usize, StoreError> {
        let err = self.sql_fn("counting trades");
        let stored: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM trades WHERE run_id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .map_err(&err)?;
        let stored = usize::try_from(stored).unwrap_or(0);
        let new = all.get(stored..).unwrap_or_default();
        if !new.is_empty() {
            self.insert_trades(run_id, new)?;
        }
        Ok(new.len())
    }

    /// Store the funding payments of `rows` not stored yet (by `tran_id`); returns how many
    /// were added.
    ///
    /// # Errors
    /// [`StoreError::Sql`] when the DB cannot be written.
    pub fn sync_bot_funding(
        &mut self,
        run_id: i64,
        rows: &[BotFundingRow],
    ) -> Result<usize, StoreError> {
        let err = self.sql_fn("storing funding payments");
        self.write_tx("storing funding payments", |tx| {
            let mut stmt = tx
                .prepare(
                    "INSERT OR IGNORE INTO bot_funding (run_id, tran_id, ts_ms, paid, asset)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(&err)?;
            let mut added = 0;
            for r in rows {
                added += stmt
                    .execute(params![run_id, r.tran_id, r.ts_ms, r.paid, r.asset])
                    .map_err(&err)?;
            }
            Ok(added)
        })
    }

    /// A bot run's funding payments, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Sql`] when the DB cannot be read.
    pub fn load_bot_funding(&self, run_id: i64) -> Result<Vec<BotFundingRow>, StoreError> {
        let err = self.sql_fn("reading funding payments");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT tran_id, ts_ms, paid, asset FROM bot_funding WHERE run_id = ?1
                 ORDER BY ts_ms, tran_id",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok(BotFundingRow {
                    tran_id: r.get(0)?,
                    ts_ms: r.get(1)?,
                    paid: r.get(2)?,
                    asset: r.get(3)?,
                })
            })
            .map_err(&err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&err)?;
        Ok(rows)
    }

    /// Refresh a bot run's stats JSON and last update time (it stays `running`).
    ///
    /// # Errors
    /// [`StoreError::Sql`] when the DB cannot be written.
    pub fn update_bot_stats(
        &mut self,
        run_id: i64,
        stats_json: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        let err = self.sql_fn("updating the bot's run");
        self.write_tx("updating the bot's run", |tx| {
            tx.execute(
                "UPDATE runs SET stats_json = ?1, ended_at = ?2 WHERE id = ?3",
                params![stats_json, at, run_id],
            )
            .map_err(&err)
        })?;
        Ok(())
    }
}
