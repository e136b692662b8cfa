//! The `evolved_strategies` table (schema version 4, [`EVOLVE_MIGRATION`]): genomes found by
//! `algolab evolve`, with their fitness on each window and their rule text, so `--list`,
//! `backtest --strategy evolved --param id=N` and the learners can find them.
//!
//! Non-finite numbers are stored as NULL and read back as NaN. No wall clock: callers pass
//! `created_at`.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// Schema version 4: evolved strategies.
pub const EVOLVE_MIGRATION: &str = "CREATE TABLE evolved_strategies (
        id                 INTEGER PRIMARY KEY,
        run_id             INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        generation         INTEGER NOT NULL,
        fitness            REAL,
        validation_fitness REAL,
        test_sharpe        REAL,
        test_return_pct    REAL,
        genes_json         TEXT NOT NULL,
        rule_text          TEXT NOT NULL,
        symbol             TEXT NOT NULL,
        regime             TEXT,
        is_active          INTEGER NOT NULL DEFAULT 1,
        created_at         TEXT NOT NULL
    );
    CREATE INDEX evolved_strategies_symbol ON evolved_strategies(symbol, is_active);";

/// One evolved strategy as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct EvolvedRow {
    /// Row id (0 before insertion).
    pub id: i64,
    /// The `evolve` run that found it.
    pub run_id: Option<i64>,
    /// Generation it was found in.
    pub generation: usize,
    /// Training fitness.
    pub fitness: f64,
    /// Validation fitness.
    pub validation_fitness: f64,
    /// Sharpe ratio on the test window (scored once).
    pub test_sharpe: f64,
    /// Return on the test window, percent.
    pub test_return_pct: f64,
    /// The genome as JSON.
    pub genes_json: String,
    /// The genome as rule text.
    pub rule_text: String,
    /// Symbol it was evolved on.
    pub symbol: String,
    /// Market regime it is meant for, if any.
    pub regime: Option<String>,
    /// Whether it may be used.
    pub is_active: bool,
    /// When it was stored, ISO-8601 UTC.
    pub created_at: String,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn nan(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

const COLUMNS: &str = "id, run_id, generation, fitness, validation_fitness, test_sharpe, \
     test_return_pct, genes_json, rule_text, symbol, regime, is_active, created_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EvolvedRow> {
    let generation: i64 = r.get(2)?;
    Ok(EvolvedRow {
        id: r.get(0)?,
        run_id: r.get(1)?,
        generation: generation.max(0) as usize,
        fitness: nan(r.get(3)?),
        validation_fitness: nan(r.get(4)?),
        test_sharpe: nan(r.get(5)?),
        test_return_pct: nan(r.get(6)?),
        genes_json: r.get(7)?,
        rule_text: r.get(8)?,
        symbol: r.get(9)?,
        regime: r.get(10)?,
        is_active: r.get::<_, i64>(11)? != 0,
        created_at: r.get(12)?,
    })
}

impl Store {
    /// Store an evolved strategy; returns its id.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the insert fails (e.g. an unknown run id).
    pub fn insert_evolved(&mut self, row: &EvolvedRow) -> Result<i64, StoreError> {
        let err = self.sql_fn("inserting evolved strategy");
        self.write_tx("inserting evolved strategy", |tx| {
            tx.execute(
                "INSERT INTO evolved_strategies (run_id, generation, fitness,
                     validation_fitness, test_sharpe, test_return_pct, genes_json, rule_text,
                     symbol, regime, is_active, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    row.run_id,
                    row.generation as i64,
                    finite(row.fitness),
                    finite(row.validation_fitness),
                    finite(row.test_sharpe),
                    finite(row.test_return_pct),
                    row.genes_json,
                    row.rule_text,
                    row.symbol,
                    row.regime,
                    i64::from(row.is_active),
                    row.created_at,
                ],
            )
            .map_err(&err)?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The `limit` most recent evolved strategies, newest first, optionally for one symbol.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn list_evolved(
        &self,
        symbol: Option<&str>,
        limit: usize,
    ) -> Result<Vec<EvolvedRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM evolved_strategies
                 WHERE ?1 IS NULL OR symbol = ?1 ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(self.sql_err("listing evolved strategies"))?;
        stmt.query_map(params![symbol, limit as i64], from_row)
            .map_err(self.sql_err("listing evolved strategies"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.sql_err("listing evolved strategies"))
    }

    /// One evolved strategy by id; `None` when there is none.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn load_evolved(&self, id: i64) -> Result<Option<EvolvedRow>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM evolved_strategies WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
            .map_err(self.sql_err("loading evolved strategy"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunRecord;

    fn row(run_id: Option<i64>, symbol: &str) -> EvolvedRow {
        EvolvedRow {
            id: 0,
            run_id,
            generation: 7,
            fitness: 1.25,
            validation_fitness: f64::NAN,
            test_sharpe: -0.5,
            test_return_pct: 3.0,
            genes_json: "{}".into(),
            rule_text: "RSI(14) < 28 → LONG".into(),
            symbol: symbol.into(),
            regime: None,
            is_active: true,
            created_at: "2024-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn evolved_rows_round_trip_and_list_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let run = store
            .begin_run(&RunRecord {
                command: "evolve".into(),
                started_at: "2024-01-01T00:00:00Z".into(),
                ..RunRecord::default()
            })
            .unwrap();
        let a = store.insert_evolved(&row(Some(run), "GOOG")).unwrap();
        let b = store.insert_evolved(&row(None, "SPY")).unwrap();
        let all = store.list_evolved(None, 10).unwrap();
        assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b, a]);
        let goog = store.list_evolved(Some("GOOG"), 10).unwrap();
        assert_eq!(goog.len(), 1);
        let back = &goog[0];
        assert_eq!(back.run_id, Some(run));
        assert_eq!(back.generation, 7);
        assert_eq!(back.fitness, 1.25);
        assert!(back.validation_fitness.is_nan());
        assert_eq!(back.rule_text, "RSI(14) < 28 → LONG");
        assert_eq!(store.load_evolved(a).unwrap().unwrap().symbol, "GOOG");
        assert_eq!(store.load_evolved(999).unwrap(), None);
    }
}
