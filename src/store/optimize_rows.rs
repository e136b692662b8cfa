//! The `optimization_results` table (migration v3): one row per optimisation trial, keyed by
//! (run, scope, trial). Scope is `all` for the search over all bars, a regime name for a
//! per-regime search, `fold-k` for a walk-forward fold. Parameters and metrics are stored as
//! JSON text and never interpreted here; `value` is the trial's objective when it could win
//! (NULL otherwise), and `objective` names it (`sharpe`, or `-max_drawdown_pct` when
//! minimised), so values are only compared between rows with the same objective.

use rusqlite::params;

use super::{Store, StoreError};

/// One stored trial.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizationRow {
    /// The optimisation run.
    pub run_id: i64,
    /// `all`, a regime name, or `fold-k`.
    pub scope: String,
    /// Trial number within the scope (0-based, in evaluation order).
    pub trial: i64,
    /// Symbol.
    pub symbol: String,
    /// Strategy name.
    pub strategy: String,
    /// The regime of a per-regime search (`None` otherwise).
    pub regime: Option<String>,
    /// The objective (`sharpe`, `-max_drawdown_pct`).
    pub objective: String,
    /// Parameters as a JSON object.
    pub params_json: String,
    /// Metrics as a JSON object.
    pub metrics_json: String,
    /// The objective's value when the trial could win.
    pub value: Option<f64>,
}

const COLUMNS: &str =
    "run_id, scope, trial, symbol, strategy, regime, objective, params_json, metrics_json, value";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OptimizationRow> {
    Ok(OptimizationRow {
        run_id: r.get(0)?,
        scope: r.get(1)?,
        trial: r.get(2)?,
        symbol: r.get(3)?,
        strategy: r.get(4)?,
        regime: r.get(5)?,
        objective: r.get(6)?,
        params_json: r.get(7)?,
        metrics_json: r.get(8)?,
        value: r.get(9)?,
    })
}

impl Store {
    fn opt_err(&self, op: &str) -> impl Fn(rusqlite::Error) -> StoreError + use<> {
        let (path, op) = (self.path.display().to_string(), op.to_string());
        move |source| StoreError::Sql {
            path: path.clone(),
            op: op.clone(),
            source,
        }
    }

    /// Store trials in one transaction (a trial stored again replaces the old row).
    ///
    /// # Errors
    /// [`StoreError::Sql`] (nothing is written), e.g. for an unknown run.
    pub fn insert_optimization_results(
        &mut self,
        rows: &[OptimizationRow],
    ) -> Result<(), StoreError> {
        let err = self.opt_err("inserting optimization results");
        self.write_tx("inserting optimization results", |tx| {
            let mut stmt = tx
                .prepare(&format!(
                    "INSERT OR REPLACE INTO optimization_results ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ))
                .map_err(&err)?;
            for r in rows {
                stmt.execute(params![
                    r.run_id,
                    r.scope,
                    r.trial,
                    r.symbol,
                    r.strategy,
                    r.regime,
                    r.objective,
                    r.params_json,
                    r.metrics_json,
                    r.value.filter(|v| v.is_finite()),
                ])
                .map_err(&err)?;
            }
            Ok(())
        })
    }

    /// A run's trials of one scope, by trial number.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn load_optimization_results(
        &self,
        run_id: i64,
        scope: &str,
    ) -> Result<Vec<OptimizationRow>, StoreError> {
        let err = self.opt_err("loading optimization results");
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM optimization_results
                 WHERE run_id = ?1 AND scope = ?2 ORDER BY trial"
            ))
            .map_err(&err)?;
        stmt.query_map(params![run_id, scope], row)
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)
    }

    /// The metrics JSON of every trial stored for `symbol` and `strategy`, except run
    /// `except_run`'s (the deflated Sharpe ratio counts them all).
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn optimization_metrics(
        &self,
        symbol: &str,
        strategy: &str,
        except_run: Option<i64>,
    ) -> Result<Vec<String>, StoreError> {
        let err = self.opt_err("counting optimization results");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT metrics_json FROM optimization_results
                 WHERE symbol = ?1 AND strategy = ?2 AND run_id IS NOT ?3
                 ORDER BY run_id, scope, trial",
            )
            .map_err(&err)?;
        stmt.query_map(params![symbol, strategy, except_run], |r| r.get(0))
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(&err)
    }

    /// `(data hash of the run, params_json, metrics_json)` of every trial recorded for
    /// `symbol` and `strategy` outside run `except_run`, in run, scope and trial order.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn optimization_trials(
        &self,
        symbol: &str,
        strategy: &str,
        except_run: Option<i64>,
    ) -> Result<Vec<(Option<String>, String, String)>, StoreError> {
        let err = self.opt_err("reading optimization results");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.data_hash, o.params_json, o.metrics_json
                 FROM optimization_results o LEFT JOIN runs r ON r.id = o.run_id
                 WHERE o.symbol = ?1 AND o.strategy = ?2 AND o.run_id IS NOT ?3
                 ORDER BY o.run_id, o.scope, o.trial",
            )
            .map_err(&err)?;
        stmt.query_map(params![symbol, strategy, except_run], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(&err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(&err)
    }

    /// For `symbol`, the best stored trial per (strategy, objective, regime): highest value,
    /// then the newest run, then the lowest trial number. Rows without a value are skipped;
    /// the search over all bars reports regime `None`. Walk-forward folds are left out.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn best_optimization_results(
        &self,
        symbol: &str,
    ) -> Result<Vec<OptimizationRow>, StoreError> {
        let err = self.opt_err("loading best optimization results");
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM (
                     SELECT *, ROW_NUMBER() OVER (
                         PARTITION BY strategy, objective, COALESCE(regime, '')
                         ORDER BY value DESC, run_id DESC, trial ASC) AS rn
                     FROM optimization_results
                     WHERE symbol = ?1 AND value IS NOT NULL AND scope NOT LIKE 'fold-%')
                 WHERE rn = 1 ORDER BY strategy, objective, COALESCE(regime, '')"
            ))
            .map_err(&err)?;
        stmt.query_map(params![symbol], row)
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunRecord;

    fn r(
        run_id: i64,
        scope: &str,
        trial: i64,
        regime: Option<&str>,
        value: Option<f64>,
    ) -> OptimizationRow {
        OptimizationRow {
            run_id,
            scope: scope.into(),
            trial,
            symbol: "GOOG".into(),
            strategy: "sma-cross".into(),
            regime: regime.map(Into::into),
            objective: "sharpe".into(),
            params_json: format!("{{\"fast\":{trial}}}"),
            metrics_json: "{\"sharpe_per_period\":0.1}".into(),
            value,
        }
    }

    #[test]
    fn trials_round_trip_count_and_best_per_regime() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let run = RunRecord {
            command: "optimize".into(),
            started_at: "2024-01-01T00:00:00Z".into(),
            ..RunRecord::default()
        };
        let a = s.begin_run(&run).unwrap();
        let b = s.begin_run(&run).unwrap();
        s.insert_optimization_results(&[
            r(a, "all", 1, None, Some(1.0)),
            r(a, "all", 0, None, Some(2.0)),
            r(a, "bull", 0, Some("bull"), Some(0.5)),
            r(a, "fold-1", 0, None, Some(9.0)),
        ])
        .unwrap();
        s.insert_optimization_results(&[
            r(b, "all", 0, None, Some(2.0)),
            r(b, "all", 1, None, None),
        ])
        .unwrap();
        let got = s.load_optimization_results(a, "all").unwrap();
        assert_eq!(got.iter().map(|x| x.trial).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(
            s.optimization_metrics("GOOG", "sma-cross", Some(a))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            s.optimization_metrics("GOOG", "sma-cross", None)
                .unwrap()
                .len(),
            6
        );
        let best = s.best_optimization_results("GOOG").unwrap();
        assert_eq!(best.len(), 2, "{best:?}");
        // ties on value go to the newest run; folds never count
        assert_eq!((best[0].run_id, best[0].regime.as_deref()), (b, None));
        assert_eq!(best[1].regime.as_deref(), Some("bull"));
        // replacing a trial keeps one row
        s.insert_optimization_results(&[r(a, "all", 0, None, Some(3.0))])
            .unwrap();
        assert_eq!(
            s.load_optimization_results(a, "all").unwrap()[0].value,
            Some(3.0)
        );
    }
}
