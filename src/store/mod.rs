//! The learning DB (DESIGN §4, `DATA_DIR/ai_learning.db`) and atomic state files.
//!
//! [`Store`] wraps one SQLite connection in WAL mode with foreign keys on and a busy
//! timeout, and upgrades older files through the versioned [`MIGRATIONS`] (tracked in
//! `PRAGMA user_version`, each applied in its own transaction). Every multi-row write runs in
//! one transaction. Sits right of `engine` and left of `metrics`: it stores stats as JSON
//! text and never interprets them. No wall clock: callers pass timestamps.
//!
//! Many processes write one DB (bots, backtests, `serve`; issue 13 item 5). Every write
//! transaction therefore begins `IMMEDIATE` ([`Store::write_tx`]): it takes the write lock
//! before reading anything, so it never has to upgrade a read snapshot that another writer
//! has made stale (`SQLITE_BUSY_SNAPSHOT`, "database is locked: Error code 517", which the
//! busy handler cannot wait out). Waiting for the lock is the busy timeout's job; a write that
//! still finds the DB busy is retried a bounded number of times with a growing pause.

mod ai_rows;
mod atomic;
mod bot_rows;
mod error;
mod evolve_rows;
mod git;
mod migrations;
mod model_rows;
mod optimize_rows;
mod rows;
mod serve_rows;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

pub use ai_rows::{AI_MIGRATION, DecisionRow, LeverageRow, LlmCallRow, TradeLabel};
pub use atomic::atomic_write;
pub use bot_rows::{BOT_FUNDING_MIGRATION, BotFundingRow};
pub use error::StoreError;
pub use evolve_rows::{EVOLVE_MIGRATION, EvolvedRow};
pub use git::{git_rev, git_rev_from};
pub use migrations::MIGRATIONS;
pub use model_rows::{
    EXPERIENCES_MAX, EXPERIENCES_PER_MODEL, ExperienceRow, MODELS_MIGRATION, ModelRow,
};
pub use optimize_rows::OptimizationRow;
pub use rows::{RegimeTransition, StrategyPerformance};
pub use serve_rows::{SchemaProbe, TableCounts, TradeOutcome, probe};

/// How long a writer waits for another process's lock before an attempt fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times a write that still found the DB busy after [`BUSY_TIMEOUT`] is retried.
const WRITE_RETRIES: u32 = 4;

/// The pause before retry `attempt` (1-based): 100 ms, 200 ms, 400 ms, … plus a few
/// milliseconds that differ between processes, so two retrying writers drift apart.
fn retry_pause(attempt: u32) -> Duration {
    let spread = u64::from(std::process::id() % 37);
    Duration::from_millis((100u64 << attempt.saturating_sub(1).min(6)) + spread)
}

/// Lifecycle of a run row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Started, not finished (or the process died).
    Running,
    /// Finished normally.
    Completed,
    /// Finished with an error.
    Failed,
}

impl RunStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<RunStatus> {
        match s {
            "running" => Some(RunStatus::Running),
            "completed" => Some(RunStatus::Completed),
            "failed" => Some(RunStatus::Failed),
            _ => None,
        }
    }
}

/// What is known about a run when it starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRecord {
    /// The subcommand (`backtest`, `optimize`, …).
    pub command: String,
    /// The command-line arguments as a JSON array.
    pub args_json: String,
    /// The `--seed`, if the command is random.
    pub seed: Option<u64>,
    /// The dataset's content hash.
    pub data_hash: Option<String>,
    /// Where the dataset was read from (so a report can be rebuilt).
    pub data_path: Option<String>,
    /// The git revision of the build's source tree, if known.
    pub git_rev: Option<String>,
    /// Start time, ISO-8601 UTC (the caller's clock).
    pub started_at: String,
    /// Symbol traded.
    pub symbol: Option<String>,
    /// Strategy name.
    pub strategy: Option<String>,
    /// Strategy parameters as a JSON object.
    pub params_json: Option<String>,
}

/// A run row as stored: the start record plus its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// The row id (the run id users see).
    pub id: i64,
    /// What was recorded at the start.
    pub record: RunRecord,
    /// Where the run is in its lifecycle.
    pub status: RunStatus,
    /// End time, ISO-8601 UTC.
    pub ended_at: Option<String>,
    /// The stats JSON (`metrics::Stats`), once finished.
    pub stats_json: Option<String>,
}

/// The learning DB.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

const RUN_COLUMNS: &str = "id, command, args_json, seed, data_hash, data_path, git_rev, \
     started_at, symbol, strategy, params_json, status, ended_at, stats_json";

impl Store {
    /// Open (creating it and its directory if needed) and upgrade to the latest schema.
    ///
    /// # Errors
    /// [`StoreError`] naming the path: the directory cannot be created, the file is not a
    /// SQLite DB, a migration fails, or the file's schema is newer than this build's.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_at_version(path, MIGRATIONS.len())
    }

    /// Open and apply migrations only up to `version` (tests and tooling use it to create
    /// an older DB; everyone else calls [`Store::open`]).
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_at_version(path: &Path, version: usize) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Sql {
            path: path.display().to_string(),
            op: "opening".into(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.configure()?;
        store.migrate(version.min(MIGRATIONS.len()))?;
        Ok(store)
    }

    /// The DB file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn sql_err(&self, op: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        let op = op.to_string();
        move |source| StoreError::Sql {
            path: self.path.display().to_string(),
            op,
            source,
        }
    }

    /// A mapper from a SQLite error to [`StoreError::Sql`] naming this DB and `op`.
    fn sql_fn(&self, op: &str) -> impl Fn(rusqlite::Error) -> StoreError + use<> {
        let (path, op) = (self.path.display().to_string(), op.to_string());
        move |source| StoreError::Sql {
            path: path.clone(),
            op: op.clone(),
            source,
        }
    }

    fn configure(&self) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(self.sql_err("setting busy_timeout"))?;
        // Switching a fresh file to WAL needs an exclusive lock; several processes opening
        // the same new DB at once may find it busy, so retry like a write.
        let mut attempt = 0;
        loop {
            // journal_mode returns a row, so it is a query, not an execute
            let r: Result<String, StoreError> = self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(self.sql_err("setting journal_mode=WAL"));
            match r {
                Err(e) if e.is_busy() && attempt < WRITE_RETRIES => {
                    attempt += 1;
                    std::thread::sleep(retry_pause(attempt));
                }
                r => {
                    r?;
                    break;
                }
            }
        }
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
            .map_err(self.sql_err("setting pragmas"))
    }

    /// Run `f` in one write transaction begun `IMMEDIATE` and commit it; `op` names the
    /// work in errors. A transaction that fails because the DB is busy or locked is rolled
    /// back and run again, at most [`WRITE_RETRIES`] more times, so `f` must be safe to
    /// repeat (it only sees its own transaction).
    ///
    /// # Errors
    /// `f`'s error, or [`StoreError::Sql`] when the transaction cannot begin or commit
    /// (after the retries for a busy DB).
    pub(crate) fn write_tx<T>(
        &mut self,
        op: &str,
        mut f: impl FnMut(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut attempt = 0;
        loop {
            match self.try_write_tx(op, &mut f) {
                Err(e) if e.is_busy() && attempt < WRITE_RETRIES => {
                    attempt += 1;
                    std::thread::sleep(retry_pause(attempt));
                }
                r => return r,
            }
        }
    }

    fn try_write_tx<T>(
        &mut self,
        op: &str,
        f: &mut impl FnMut(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let path = self.path.display().to_string();
        let err = |source| StoreError::Sql {
            path: path.clone(),
            op: op.to_string(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let value = f(&tx)?;
        tx.commit().map_err(err)?;
        Ok(value)
    }

    /// The schema version stored in the file (`PRAGMA user_version`).
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the pragma cannot be read.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.sql_err("reading user_version"))
    }

    fn migrate(&mut self, target: usize) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        if found > MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew {
                path: self.path.display().to_string(),
                found,
                supported: MIGRATIONS.len(),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().take(target) {
            if (i as i64) < found {
                continue;
            }
            let op = format!("applying migration {}", i + 1);
            let path = self.path.display().to_string();
            self.write_tx(&op, |tx| {
                let err = |source| StoreError::Sql {
                    path: path.clone(),
                    op: op.clone(),
                    source,
                };
                // another process may have applied it since we looked
                let now: i64 = tx
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(err)?;
                if now > i as i64 {
                    return Ok(());
                }
                tx.execute_batch(sql).map_err(err)?;
                tx.pragma_update(None, "user_version", (i + 1) as i64)
                    .map_err(err)
            })?;
        }
        Ok(())
    }

    /// Record the start of a run; returns its id.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the insert fails.
    pub fn begin_run(&mut self, run: &RunRecord) -> Result<i64, StoreError> {
        let err = self.sql_fn("inserting run");
        self.write_tx("inserting run", |tx| {
            tx.execute(
                "INSERT INTO runs (command, args_json, seed, data_hash, data_path, git_rev,
                     started_at, symbol, strategy, params_json, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'running')",
                params![
                    run.command,
                    run.args_json,
                    // SQLite integers are i64: store the seed's bits
                    run.seed.map(|s| s as i64),
                    run.data_hash,
                    run.data_path,
                    run.git_rev,
                    run.started_at,
                    run.symbol,
                    run.strategy,
                    run.params_json,
                ],
            )
            .map_err(&err)?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn set_outcome(
        &mut self,
        run_id: i64,
        status: RunStatus,
        stats_json: Option<&str>,
        ended_at: &str,
    ) -> Result<(), StoreError> {
        let err = self.sql_fn("finishing run");
        let n = self.write_tx("finishing run", |tx| {
            tx.execute(
                "UPDATE runs SET status = ?1, stats_json = COALESCE(?2, stats_json),
                     ended_at = ?3 WHERE id = ?4",
                params![status.as_str(), stats_json, ended_at, run_id],
            )
            .map_err(&err)
        })?;
        if n == 0 {
            return Err(self.not_found(run_id));
        }
        Ok(())
    }

    /// Mark a run completed with its stats JSON and end time.
    ///
    /// # Errors
    /// [`StoreError::RunNotFound`] for an unknown id; [`StoreError::Sql`] otherwise.
    pub fn finish_run(
        &mut self,
        run_id: i64,
        stats_json: &str,
        ended_at: &str,
    ) -> Result<(), StoreError> {
        self.set_outcome(run_id, RunStatus::Completed, Some(stats_json), ended_at)
    }

    /// Mark a run failed at `ended_at`.
    ///
    /// # Errors
    /// As [`Store::finish_run`].
    pub fn fail_run(&mut self, run_id: i64, ended_at: &str) -> Result<(), StoreError> {
        self.set_outcome(run_id, RunStatus::Failed, None, ended_at)
    }

    /// Run `body` on this store for run `run_id`; when it fails, mark the run failed at
    /// `ended_at` (best effort: the original error is what is returned), so a command that
    /// fails part-way never leaves its run `running`.
    ///
    /// # Errors
    /// `body`'s error.
    pub fn or_fail_run<T, E>(
        &mut self,
        run_id: i64,
        ended_at: &str,
        body: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let r = body(self);
        if r.is_err() {
            let _ignored = self.fail_run(run_id, ended_at);
        }
        r
    }

    pub(crate) fn not_found(&self, run_id: i64) -> StoreError {
        StoreError::RunNotFound {
            path: self.path.display().to_string(),
            run_id,
        }
    }

    fn run_from_row(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<(StoredRun, String)> {
        let seed: Option<i64> = r.get(3)?;
        let status: String = r.get(11)?;
        Ok((
            StoredRun {
                id: r.get(0)?,
                record: RunRecord {
                    command: r.get(1)?,
                    args_json: r.get(2)?,
                    seed: seed.map(|s| s as u64),
                    data_hash: r.get(4)?,
                    data_path: r.get(5)?,
                    git_rev: r.get(6)?,
                    started_at: r.get(7)?,
                    symbol: r.get(8)?,
                    strategy: r.get(9)?,
                    params_json: r.get(10)?,
                },
                status: RunStatus::Running,
                ended_at: r.get(12)?,
                stats_json: r.get(13)?,
            },
            status,
        ))
    }

    fn with_status(&self, (mut run, status): (StoredRun, String)) -> Result<StoredRun, StoreError> {
        run.status = RunStatus::parse(&status).ok_or_else(|| StoreError::BadValue {
            path: self.path.display().to_string(),
            what: format!("run {} has status {status:?}", run.id),
        })?;
        Ok(run)
    }

    /// Load one run.
    ///
    /// # Errors
    /// [`StoreError::RunNotFound`] for an unknown id; [`StoreError::Sql`] otherwise.
    pub fn load_run(&self, run_id: i64) -> Result<StoredRun, StoreError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
                [run_id],
                |r| self.run_from_row(r),
            )
            .optional()
            .map_err(self.sql_err("loading run"))?
            .ok_or_else(|| self.not_found(run_id))?;
        self.with_status(row)
    }

    /// The `limit` most recent runs, newest first.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn list_runs(&self, limit: usize) -> Result<Vec<StoredRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?1"
            ))
            .map_err(self.sql_err("listing runs"))?;
        let rows = stmt
            .query_map([limit as i64], |r| self.run_from_row(r))
            .map_err(self.sql_err("listing runs"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.sql_err("listing runs"))?;
        rows.into_iter().map(|r| self.with_status(r)).collect()
    }
}
