//! Multi-row tables of the learning DB: trades, equity curves, regime transitions and
//! strategy performance. Each batch write is one transaction; non-finite numbers are stored
//! as NULL and read back as NaN.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Serialize, de::DeserializeOwned};

use super::{Store, StoreError};
use crate::core::order::{ExitReason, Side, Trade};

/// A change of market regime seen during a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RegimeTransition {
    /// Bar time of the change, UTC ms.
    pub ts_ms: i64,
    /// Regime before (`bull`, `bear`, `sideways`, `crash`, `high_vol`).
    pub from_regime: String,
    /// Regime after.
    pub to_regime: String,
    /// Detector confidence in [0, 1].
    pub confidence: f64,
}

/// One strategy's result on one symbol, for the learners' memory.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyPerformance {
    /// Strategy name.
    pub strategy: String,
    /// Symbol.
    pub symbol: String,
    /// Parameters as a JSON object.
    pub params_json: String,
    /// The run that produced it, if any.
    pub run_id: Option<i64>,
    /// Sharpe ratio.
    pub sharpe: f64,
    /// Total return, percent.
    pub return_pct: f64,
    /// Maximum drawdown, percent in [0, 100].
    pub max_drawdown_pct: f64,
    /// Number of trades.
    pub trades: usize,
    /// Win rate, percent.
    pub win_rate_pct: f64,
    /// When it was recorded, ISO-8601 UTC.
    pub created_at: String,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn nan(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// The serde spelling of a unit enum variant (`long`, `stop_loss`).
fn spelling<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn parse_spelling<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// Fail with [`StoreError::RunNotFound`] unless the run exists.
fn ensure_run(tx: &Transaction<'_>, path: &str, run_id: i64) -> Result<(), StoreError> {
    let found: Option<i64> = tx
        .query_row("SELECT id FROM runs WHERE id = ?1", [run_id], |r| r.get(0))
        .optional()
        .map_err(|source| StoreError::Sql {
            path: path.to_string(),
            op: "checking run".into(),
            source,
        })?;
    found.map(|_| ()).ok_or_else(|| StoreError::RunNotFound {
        path: path.to_string(),
        run_id,
    })
}

impl Store {
    /// Store a run's trades (appending after any already stored), in one transaction.
    ///
    /// # Errors
    /// [`StoreError::RunNotFound`] for an unknown run; [`StoreError::Sql`] otherwise (and
    /// nothing is written).
    pub fn insert_trades(&mut self, run_id: i64, trades: &[Trade]) -> Result<(), StoreError> {
        let err = self.sql_fn("inserting trades");
        let path = self.path.display().to_string();
        self.write_tx("inserting trades", |tx| {
            ensure_run(tx, &path, run_id)?;
            let start: i64 = tx
                .query_row(
                    "SELECT COALESCE(MAX(seq) + 1, 0) FROM trades WHERE run_id = ?1",
                    [run_id],
                    |r| r.get(0),
                )
                .map_err(&err)?;
            {
                let mut stmt = tx
                    .prepare(
                        "INSERT INTO trades (run_id, seq, side, qty, entry_bar, exit_bar,
                             entry_ts_ms, exit_ts_ms, entry_price, exit_price, pnl, return_pct,
                             fees, mae_pct, mfe_pct, exit_reason)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                             ?16)",
                    )
                    .map_err(&err)?;
                for (i, t) in trades.iter().enumerate() {
                    stmt.execute(params![
                        run_id,
                        start + i as i64,
                        spelling(&t.side),
                        t.qty,
                        t.entry_bar as i64,
                        t.exit_bar as i64,
                        t.entry_ts_ms,
                        t.exit_ts_ms,
                        t.entry_price,
                        t.exit_price,
                        finite(t.pnl),
                        finite(t.return_pct),
                        finite(t.fees),
                        finite(t.mae_pct),
                        finite(t.mfe_pct),
                        spelling(&t.exit_reason),
                    ])
                    .map_err(&err)?;
                }
            }
            Ok(())
        })
    }

    /// A run's trades in the order they were stored.
    ///
    /// # Errors
    /// [`StoreError::Sql`] on a query failure; [`StoreError::BadValue`] for an unknown side
    /// or exit reason.
    pub fn load_trades(&self, run_id: i64) -> Result<Vec<Trade>, StoreError> {
        let err = self.sql_fn("loading trades");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT side, qty, entry_bar, exit_bar, entry_ts_ms, exit_ts_ms, entry_price,
                     exit_price, pnl, return_pct, fees, mae_pct, mfe_pct, exit_reason
                 FROM trades WHERE run_id = ?1 ORDER BY seq",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(13)?,
                    Trade {
                        side: Side::Long,
                        qty: r.get(1)?,
                        entry_bar: r.get::<_, i64>(2)? as usize,
                        exit_bar: r.get::<_, i64>(3)? as usize,
                        entry_ts_ms: r.get(4)?,
                        exit_ts_ms: r.get(5)?,
                        entry_price: r.get(6)?,
                        exit_price: r.get(7)?,
                        pnl: nan(r.get(8)?),
                        return_pct: nan(r.get(9)?),
                        fees: nan(r.get(10)?),
                        mae_pct: nan(r.get(11)?),
                        mfe_pct: nan(r.get(12)?),
                        exit_reason: ExitReason::Open,
                    },
                ))
            })
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)?;
        rows.into_iter()
            .map(|(side, reason, mut t)| {
                let bad = |what: String| StoreError::BadValue {
                    path: self.path.display().to_string(),
                    what,
                };
                t.side = parse_spelling(&side).ok_or_else(|| bad(format!("side {side:?}")))?;
                t.exit_reason = parse_spelling(&reason)
                    .ok_or_else(|| bad(format!("exit reason {reason:?}")))?;
                Ok(t)
            })
            .collect()
    }

    /// Store a run's equity curve (one row per bar; replaces any stored curve), in one
    /// transaction. Extra values in the longer slice are ignored.
    ///
    /// # Errors
    /// As [`Store::insert_trades`].
    pub fn insert_equity(
        &mut self,
        run_id: i64,
        ts_ms: &[i64],
        equity: &[f64],
    ) -> Result<(), StoreError> {
        let err = self.sql_fn("inserting equity");
        let path = self.path.display().to_string();
        self.write_tx("inserting equity", |tx| {
            ensure_run(tx, &path, run_id)?;
            tx.execute("DELETE FROM equity WHERE run_id = ?1", [run_id])
                .map_err(&err)?;
            let mut stmt = tx
                .prepare("INSERT INTO equity (run_id, bar, ts_ms, equity) VALUES (?1, ?2, ?3, ?4)")
                .map_err(&err)?;
            for (i, (&t, &e)) in ts_ms.iter().zip(equity).enumerate() {
                stmt.execute(params![run_id, i as i64, t, finite(e)])
                    .map_err(&err)?;
            }
            Ok(())
        })
    }

    /// A run's equity curve as (timestamps, equity), in bar order.
    ///
    /// # Errors
    /// [`StoreError::Sql`] on a query failure.
    pub fn load_equity(&self, run_id: i64) -> Result<(Vec<i64>, Vec<f64>), StoreError> {
        let err = self.sql_fn("loading equity");
        let mut stmt = self
            .conn
            .prepare("SELECT ts_ms, equity FROM equity WHERE run_id = ?1 ORDER BY bar")
            .map_err(&err)?;
        let rows = stmt
            .query_map([run_id], |r| Ok((r.get::<_, i64>(0)?, nan(r.get(1)?))))
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)?;
        Ok(rows.into_iter().unzip())
    }

    /// Store regime changes of a run, in one transaction.
    ///
    /// # Errors
    /// As [`Store::insert_trades`].
    pub fn insert_regime_transitions(
        &mut self,
        run_id: i64,
        transitions: &[RegimeTransition],
    ) -> Result<(), StoreError> {
        let err = self.sql_fn("inserting regime transitions");
        let path = self.path.display().to_string();
        self.write_tx("inserting regime transitions", |tx| {
            ensure_run(tx, &path, run_id)?;
            let mut stmt = tx
                .prepare(
                    "INSERT INTO regime_transitions (run_id, ts_ms, from_regime, to_regime,
                         confidence) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(&err)?;
            for t in transitions {
                stmt.execute(params![
                    run_id,
                    t.ts_ms,
                    t.from_regime,
                    t.to_regime,
                    finite(t.confidence)
                ])
                .map_err(&err)?;
            }
            Ok(())
        })
    }

    /// A run's regime changes in time order.
    ///
    /// # Errors
    /// [`StoreError::Sql`] on a query failure.
    pub fn load_regime_transitions(
        &self,
        run_id: i64,
    ) -> Result<Vec<RegimeTransition>, StoreError> {
        let err = self.sql_fn("loading regime transitions");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT ts_ms, from_regime, to_regime, confidence FROM regime_transitions
                 WHERE run_id = ?1 ORDER BY ts_ms, id",
            )
            .map_err(&err)?;
        stmt.query_map([run_id], |r| {
            Ok(RegimeTransition {
                ts_ms: r.get(0)?,
                from_regime: r.get(1)?,
                to_regime: r.get(2)?,
                confidence: nan(r.get(3)?),
            })
        })
        .map_err(&err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(&err)
    }

    /// Store strategy results, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Sql`] (including a `run_id` that names no run).
    pub fn insert_strategy_performance(
        &mut self,
        rows: &[StrategyPerformance],
    ) -> Result<(), StoreError> {
        let err = self.sql_fn("inserting strategy performance");
        self.write_tx("inserting strategy performance", |tx| {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO strategy_performance (strategy, symbol, params_json, run_id,
                         sharpe, return_pct, max_drawdown_pct, trades, win_rate_pct, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(&err)?;
            for p in rows {
                stmt.execute(params![
                    p.strategy,
                    p.symbol,
                    p.params_json,
                    p.run_id,
                    finite(p.sharpe),
                    finite(p.return_pct),
                    finite(p.max_drawdown_pct),
                    p.trades as i64,
                    finite(p.win_rate_pct),
                    p.created_at,
                ])
                .map_err(&err)?;
            }
            Ok(())
        })
    }

    /// Stored results of `strategy` on `symbol`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Sql`] on a query failure.
    pub fn strategy_performance(
        &self,
        strategy: &str,
        symbol: &str,
    ) -> Result<Vec<StrategyPerformance>, StoreError> {
        let err = self.sql_fn("loading strategy performance");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT strategy, symbol, params_json, run_id, sharpe, return_pct,
                     max_drawdown_pct, trades, win_rate_pct, created_at
                 FROM strategy_performance WHERE strategy = ?1 AND symbol = ?2 ORDER BY id",
            )
            .map_err(&err)?;
        stmt.query_map(params![strategy, symbol], |r| {
            Ok(StrategyPerformance {
                strategy: r.get(0)?,
                symbol: r.get(1)?,
                params_json: r.get(2)?,
                run_id: r.get(3)?,
                sharpe: nan(r.get(4)?),
                return_pct: nan(r.get(5)?),
                max_drawdown_pct: nan(r.get(6)?),
                trades: r.get::<_, i64>(7)? as usize,
                win_rate_pct: nan(r.get(8)?),
                created_at: r.get(9)?,
            })
        })
        .map_err(&err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(&err)
    }
}
