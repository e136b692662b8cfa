//! The `models` and `rl_experiences` tables ([`MODELS_MIGRATION`]): trained networks with
//! everything needed to run or resume them, and the replay transitions they were trained on.
//!
//! A model row holds its kind (`dqn`, `leverage-dqn`), feature spec, the spec JSON
//! (normalisation, hyper-parameters, bar interval, leverage, layer sizes), the weights blob
//! and its SHA-256, the optimiser state, the training data hash, seed, environment steps,
//! metrics JSON and its parent (the model it resumed from). The model and its experiences are
//! written in one transaction, so nothing half-written is ever stored.
//!
//! `rl_experiences` is bounded: at most [`EXPERIENCES_PER_MODEL`] transitions are kept per
//! model (the newest), and at most [`EXPERIENCES_MAX`] in the table; beyond that the oldest
//! rows (lowest ids) are dropped. States are little-endian `f32` blobs. No wall clock:
//! callers pass `created_at`.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// Transitions stored per model (the newest of its replay buffer).
pub const EXPERIENCES_PER_MODEL: usize = 20_000;
/// Rows kept in `rl_experiences` across all models (oldest dropped).
pub const EXPERIENCES_MAX: usize = 200_000;

/// Schema: trained models and their experiences.
pub const MODELS_MIGRATION: &str = "CREATE TABLE models (
        id             INTEGER PRIMARY KEY,
        run_id         INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        parent_id      INTEGER REFERENCES models(id) ON DELETE SET NULL,
        kind           TEXT NOT NULL,
        symbol         TEXT NOT NULL,
        feature_spec   TEXT NOT NULL,
        spec_json      TEXT NOT NULL,
        weights        BLOB NOT NULL,
        weights_sha256 TEXT NOT NULL,
        optimizer      BLOB,
        data_hash      TEXT,
        seed           INTEGER,
        env_steps      INTEGER NOT NULL DEFAULT 0,
        metrics_json   TEXT NOT NULL DEFAULT '{}',
        created_at     TEXT NOT NULL
    );
    CREATE INDEX models_key ON models(symbol, kind);
    CREATE TABLE rl_experiences (
        id         INTEGER PRIMARY KEY,
        model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        state      BLOB NOT NULL,
        action     INTEGER NOT NULL,
        reward     REAL NOT NULL,
        next_state BLOB NOT NULL,
        done       INTEGER NOT NULL
    );
    CREATE INDEX rl_experiences_model ON rl_experiences(model_id, id);";

/// A stored model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelRow {
    /// Row id (0 before insertion).
    pub id: i64,
    /// The training run.
    pub run_id: Option<i64>,
    /// The model it was resumed from.
    pub parent_id: Option<i64>,
    /// `dqn` or `leverage-dqn`.
    pub kind: String,
    /// Symbol (or file stem) it was trained on.
    pub symbol: String,
    /// Feature spec id (`dqn18-v1`, …).
    pub feature_spec: String,
    /// Spec JSON (normaliser, hyper-parameters, interval, leverage, sizes).
    pub spec_json: String,
    /// Weights, little-endian `f32`.
    pub weights: Vec<u8>,
    /// SHA-256 of `weights`, hex.
    pub weights_sha256: String,
    /// Optimiser state.
    pub optimizer: Option<Vec<u8>>,
    /// Training data hash.
    pub data_hash: Option<String>,
    /// Seed.
    pub seed: Option<u64>,
    /// Environment steps trained (over all resumes).
    pub env_steps: u64,
    /// Metrics JSON (test stats, baselines, validation trials, …).
    pub metrics_json: String,
    /// ISO-8601 UTC.
    pub created_at: String,
}

/// One stored transition.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperienceRow {
    /// State.
    pub state: Vec<f32>,
    /// Action index.
    pub action: usize,
    /// Reward.
    pub reward: f32,
    /// Next state.
    pub next_state: Vec<f32>,
    /// Terminal.
    pub done: bool,
}

fn blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn floats(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

const COLUMNS: &str = "id, run_id, parent_id, kind, symbol, feature_spec, spec_json, weights, \
     weights_sha256, optimizer, data_hash, seed, env_steps, metrics_json, created_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ModelRow> {
    let seed: Option<i64> = r.get(11)?;
    let steps: i64 = r.get(12)?;
    Ok(ModelRow {
        id: r.get(0)?,
        run_id: r.get(1)?,
        parent_id: r.get(2)?,
        kind: r.get(3)?,
        symbol: r.get(4)?,
        feature_spec: r.get(5)?,
        spec_json: r.get(6)?,
        weights: r.get(7)?,
        weights_sha256: r.get(8)?,
        optimizer: r.get(9)?,
        data_hash: r.get(10)?,
        seed: seed.map(|s| s as u64),
        env_steps: steps.max(0) as u64,
        metrics_json: r.get(13)?,
        created_at: r.get(14)?,
    })
}

impl Store {
    fn model_err(&self, op: &str) -> impl Fn(rusqlite::Error) -> StoreError + use<> {
        let (path, op) = (self.path.display().to_string(), op.to_string());
        move |source| StoreError::Sql {
            path: path.clone(),
            op: op.clone(),
            source,
        }
    }

    /// Store a model and the newest [`EXPERIENCES_PER_MODEL`] of `experiences` in one
    /// transaction, then trim the table to [`EXPERIENCES_MAX`] rows; returns the model id.
    ///
    /// # Errors
    /// [`StoreError::Sql`]; nothing is written then.
    pub fn insert_model(
        &mut self,
        row: &ModelRow,
        experiences: &[ExperienceRow],
    ) -> Result<i64, StoreError> {
        let err = self.model_err("storing a model");
        let tx = self.conn.transaction().map_err(&err)?;
        tx.execute(
            "INSERT INTO models (run_id, parent_id, kind, symbol, feature_spec, spec_json,
                 weights, weights_sha256, optimizer, data_hash, seed, env_steps, metrics_json,
                 created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                row.run_id,
                row.parent_id,
                row.kind,
                row.symbol,
                row.feature_spec,
                row.spec_json,
                row.weights,
                row.weights_sha256,
                row.optimizer,
                row.data_hash,
                row.seed.map(|s| s as i64),
                row.env_steps as i64,
                row.metrics_json,
                row.created_at,
            ],
        )
        .map_err(&err)?;
        let id = tx.last_insert_rowid();
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO rl_experiences (model_id, state, action, reward, next_state, done)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(&err)?;
            let skip = experiences.len().saturating_sub(EXPERIENCES_PER_MODEL);
            for e in &experiences[skip..] {
                stmt.execute(params![
                    id,
                    blob(&e.state),
                    e.action as i64,
                    f64::from(e.reward),
                    blob(&e.next_state),
                    i64::from(e.done),
                ])
                .map_err(&err)?;
            }
        }
        tx.execute(
            "DELETE FROM rl_experiences WHERE id <= (SELECT MAX(id) FROM rl_experiences) - ?1",
            [EXPERIENCES_MAX as i64],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(id)
    }

    /// Set a stored model's metrics JSON (written once the test window is scored).
    ///
    /// # Errors
    /// [`StoreError::Sql`].
    pub fn set_model_metrics(&mut self, id: i64, metrics_json: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE models SET metrics_json = ?2 WHERE id = ?1",
                params![id, metrics_json],
            )
            .map_err(self.model_err("updating model metrics"))?;
        Ok(())
    }

    /// One model by id; `None` when there is none.
    ///
    /// # Errors
    /// [`StoreError::Sql`].
    pub fn load_model(&self, id: i64) -> Result<Option<ModelRow>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM models WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
            .map_err(self.model_err("loading a model"))
    }

    /// Models, newest first, optionally of one symbol and kind.
    ///
    /// # Errors
    /// [`StoreError::Sql`].
    pub fn list_models(
        &self,
        symbol: Option<&str>,
        kind: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ModelRow>, StoreError> {
        let err = self.model_err("listing models");
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM models
                 WHERE (?1 IS NULL OR symbol = ?1) AND (?2 IS NULL OR kind = ?2)
                 ORDER BY id DESC LIMIT ?3"
            ))
            .map_err(&err)?;
        stmt.query_map(params![symbol, kind, limit as i64], from_row)
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)
    }

    /// A model's stored transitions, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Sql`].
    pub fn load_experiences(&self, model_id: i64) -> Result<Vec<ExperienceRow>, StoreError> {
        let err = self.model_err("loading experiences");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT state, action, reward, next_state, done FROM rl_experiences
                 WHERE model_id = ?1 ORDER BY id",
            )
            .map_err(&err)?;
        stmt.query_map([model_id], |r| {
            let s: Vec<u8> = r.get(0)?;
            let a: i64 = r.get(1)?;
            let reward: f64 = r.get(2)?;
            let n: Vec<u8> = r.get(3)?;
            let d: i64 = r.get(4)?;
            Ok(ExperienceRow {
                state: floats(&s),
                action: a.max(0) as usize,
                reward: reward as f32,
                next_state: floats(&n),
                done: d != 0,
            })
        })
        .map_err(&err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(&err)
    }

    /// Rows in `rl_experiences` (all models).
    ///
    /// # Errors
    /// [`StoreError::Sql`].
    pub fn count_experiences(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM rl_experiences", [], |r| r.get(0))
            .map_err(self.model_err("counting experiences"))?;
        Ok(n.max(0) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(v: f32) -> ExperienceRow {
        ExperienceRow {
            state: vec![v, -v],
            action: 2,
            reward: v / 2.0,
            next_state: vec![v + 1.0, 0.0],
            done: v > 10.0,
        }
    }

    #[test]
    fn models_and_experiences_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let row = ModelRow {
            kind: "dqn".into(),
            symbol: "BTC/USDT".into(),
            feature_spec: "dqn18-v1".into(),
            spec_json: "{}".into(),
            weights: vec![1, 2, 3, 4],
            weights_sha256: "ab".into(),
            optimizer: Some(vec![9]),
            seed: Some(7),
            env_steps: 123,
            metrics_json: "{}".into(),
            created_at: "2024-01-01T00:00:00Z".into(),
            ..ModelRow::default()
        };
        let xs: Vec<ExperienceRow> = (0..12).map(|i| exp(i as f32)).collect();
        let id = store.insert_model(&row, &xs).unwrap();
        let back = store.load_model(id).unwrap().unwrap();
        assert_eq!(back, ModelRow { id, ..row.clone() });
        assert_eq!(store.load_experiences(id).unwrap(), xs);
        let other = store
            .insert_model(
                &ModelRow {
                    kind: "leverage-dqn".into(),
                    ..row.clone()
                },
                &[],
            )
            .unwrap();
        store.set_model_metrics(other, "{\"x\":1}").unwrap();
        let dqn = store
            .list_models(Some("BTC/USDT"), Some("dqn"), 10)
            .unwrap();
        assert_eq!(dqn.iter().map(|m| m.id).collect::<Vec<_>>(), vec![id]);
        let all = store.list_models(None, None, 10).unwrap();
        assert_eq!(all[0].id, other);
        assert_eq!(all[0].metrics_json, "{\"x\":1}");
        assert_eq!(store.load_model(999).unwrap(), None);
    }

    #[test]
    fn experiences_are_capped_per_model_keeping_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let n = EXPERIENCES_PER_MODEL + 5;
        let xs: Vec<ExperienceRow> = (0..n).map(|i| exp(i as f32)).collect();
        let id = store
            .insert_model(
                &ModelRow {
                    kind: "dqn".into(),
                    created_at: "t".into(),
                    ..ModelRow::default()
                },
                &xs,
            )
            .unwrap();
        let back = store.load_experiences(id).unwrap();
        assert_eq!(back.len(), EXPERIENCES_PER_MODEL);
        assert_eq!(back[0], xs[5]);
        assert_eq!(store.count_experiences().unwrap(), EXPERIENCES_PER_MODEL);
    }
}
