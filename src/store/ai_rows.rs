//! The AI tables ([`AI_MIGRATION`]): every orchestrator decision of a run (`ai_decisions`,
//! linked to the trade it opened), every LLM question and answer (`llm_calls`, keyed by
//! prompt hash, symbol and bar time: the look-ahead guard's replay source), the results per
//! leverage level (`leverage_results`), and four columns on `trades` that the learners read:
//! `strategy_id`, `regime` at entry, `outcome` (`WIN`/`LOSS`) and `indicators_json` (the
//! indicator values behind the entry).

use rusqlite::params;

use super::{Store, StoreError};

/// The AI tables.
pub const AI_MIGRATION: &str = "CREATE TABLE ai_decisions (
        run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq           INTEGER NOT NULL,
        bar           INTEGER NOT NULL,
        ts_ms         INTEGER NOT NULL,
        action        TEXT NOT NULL,
        confidence    REAL NOT NULL,
        size_frac     REAL NOT NULL,
        leverage      REAL NOT NULL,
        regime        TEXT,
        veto          TEXT,
        intent        TEXT NOT NULL,
        trade_seq     INTEGER,
        decision_json TEXT NOT NULL,
        without_json  TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    CREATE INDEX ai_decisions_trade ON ai_decisions(run_id, trade_seq);
    CREATE TABLE llm_calls (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        prompt_hash TEXT NOT NULL,
        symbol      TEXT NOT NULL,
        bar_ts_ms   INTEGER NOT NULL,
        model       TEXT NOT NULL,
        mode        TEXT NOT NULL,
        prompt_json TEXT NOT NULL,
        content     TEXT,
        error       TEXT,
        created_at  TEXT NOT NULL
    );
    CREATE INDEX llm_calls_key ON llm_calls(prompt_hash, symbol, bar_ts_ms);
    CREATE TABLE leverage_results (
        run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        leverage     REAL NOT NULL,
        trades       INTEGER NOT NULL,
        wins         INTEGER NOT NULL,
        return_sum   REAL NOT NULL,
        liquidations INTEGER NOT NULL,
        PRIMARY KEY (run_id, leverage)
    );
    ALTER TABLE trades ADD COLUMN strategy_id TEXT;
    ALTER TABLE trades ADD COLUMN regime TEXT;
    ALTER TABLE trades ADD COLUMN outcome TEXT;
    ALTER TABLE trades ADD COLUMN indicators_json TEXT;";

/// What the learners need to know about a stored trade.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeLabel {
    /// `trades.seq`.
    pub seq: i64,
    /// The strategy (and component set) that made it, e.g. `ai`.
    pub strategy_id: String,
    /// Regime at entry.
    pub regime: Option<String>,
    /// `WIN` (pnl > 0) or `LOSS`.
    pub outcome: String,
    /// Indicator values behind the entry, as JSON.
    pub indicators_json: Option<String>,
}

/// One stored decision.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    /// Order within the run.
    pub seq: i64,
    /// Bar index.
    pub bar: i64,
    /// Bar open time (UTC ms).
    pub ts_ms: i64,
    /// `BUY`, `SELL`, `HOLD`.
    pub action: String,
    /// Final confidence.
    pub confidence: f64,
    /// Size, fraction of equity.
    pub size_frac: f64,
    /// Leverage.
    pub leverage: f64,
    /// Regime, if known.
    pub regime: Option<String>,
    /// The LLM's veto explanation.
    pub veto: Option<String>,
    /// The intent sent (`enter long`, `exit`, `hold`).
    pub intent: String,
    /// The trade this decision opened or closed (`trades.seq`).
    pub trade_seq: Option<i64>,
    /// The whole decision (votes, opinions, reasons) as JSON.
    pub decision_json: String,
    /// The decision without each component, as JSON.
    pub without_json: String,
}

/// One LLM call.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmCallRow {
    /// The run that asked.
    pub run_id: Option<i64>,
    /// SHA-256 of model and prompt.
    pub prompt_hash: String,
    /// Symbol.
    pub symbol: String,
    /// Bar open time (UTC ms).
    pub bar_ts_ms: i64,
    /// Model.
    pub model: String,
    /// `live` or `replay`.
    pub mode: String,
    /// The prompt as JSON.
    pub prompt_json: String,
    /// `message.content`, when an answer came.
    pub content: Option<String>,
    /// The failure, when none came.
    pub error: Option<String>,
    /// ISO-8601 UTC.
    pub created_at: String,
}

/// Results at one leverage level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeverageRow {
    /// Leverage.
    pub leverage: f64,
    /// Trades.
    pub trades: i64,
    /// Wins.
    pub wins: i64,
    /// Sum of trade returns (percent).
    pub return_sum: f64,
    /// Liquidations.
    pub liquidations: i64,
}

/// A reusable error mapper (the store's own `sql_err` is `FnOnce`).
fn sql_err(path: &std::path::Path, op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Sql {
        path: path.clone(),
        op: op.to_string(),
        source,
    }
}

fn decision_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DecisionRow> {
    Ok(DecisionRow {
        seq: r.get(0)?,
        bar: r.get(1)?,
        ts_ms: r.get(2)?,
        action: r.get(3)?,
        confidence: r.get(4)?,
        size_frac: r.get(5)?,
        leverage: r.get(6)?,
        regime: r.get(7)?,
        veto: r.get(8)?,
        intent: r.get(9)?,
        trade_seq: r.get(10)?,
        decision_json: r.get(11)?,
        without_json: r.get(12)?,
    })
}

impl Store {
    /// Store a run's decisions.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if an insert fails.
    pub fn insert_decisions(
        &mut self,
        run_id: i64,
        rows: &[DecisionRow],
    ) -> Result<(), StoreError> {
        let err = sql_err(&self.path, "inserting decisions");
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO ai_decisions (run_id, seq, bar, ts_ms, action, confidence,
                     size_frac, leverage, regime, veto, intent, trade_seq, decision_json,
                     without_json) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
                )
                .map_err(&err)?;
            for d in rows {
                st.execute(params![
                    run_id,
                    d.seq,
                    d.bar,
                    d.ts_ms,
                    d.action,
                    d.confidence,
                    d.size_frac,
                    d.leverage,
                    d.regime,
                    d.veto,
                    d.intent,
                    d.trade_seq,
                    d.decision_json,
                    d.without_json
                ])
                .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }

    /// A run's decisions in order; with `trade_seq`, only those linked to that trade.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn load_decisions(
        &self,
        run_id: i64,
        trade_seq: Option<i64>,
    ) -> Result<Vec<DecisionRow>, StoreError> {
        let err = sql_err(&self.path, "loading decisions");
        let mut st = self
            .conn
            .prepare(
                "SELECT seq, bar, ts_ms, action, confidence, size_frac, leverage, regime, veto,
                 intent, trade_seq, decision_json, without_json FROM ai_decisions
                 WHERE run_id = ?1 AND (?2 IS NULL OR trade_seq = ?2) ORDER BY seq",
            )
            .map_err(&err)?;
        st.query_map(params![run_id, trade_seq], decision_from_row)
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)
    }

    /// Label a run's stored trades (strategy, regime, outcome, indicators).
    ///
    /// # Errors
    /// [`StoreError::Sql`] if an update fails.
    pub fn label_trades(&mut self, run_id: i64, labels: &[TradeLabel]) -> Result<(), StoreError> {
        let err = sql_err(&self.path, "labelling trades");
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut st = tx
                .prepare(
                    "UPDATE trades SET strategy_id = ?3, regime = ?4, outcome = ?5,
                     indicators_json = ?6 WHERE run_id = ?1 AND seq = ?2",
                )
                .map_err(&err)?;
            for l in labels {
                st.execute(params![
                    run_id,
                    l.seq,
                    l.strategy_id,
                    l.regime,
                    l.outcome,
                    l.indicators_json
                ])
                .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }

    /// A run's trade labels, by seq.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn trade_labels(&self, run_id: i64) -> Result<Vec<TradeLabel>, StoreError> {
        let err = sql_err(&self.path, "loading trade labels");
        let mut st = self
            .conn
            .prepare(
                "SELECT seq, strategy_id, regime, outcome, indicators_json FROM trades
                 WHERE run_id = ?1 AND outcome IS NOT NULL ORDER BY seq",
            )
            .map_err(&err)?;
        st.query_map([run_id], |r| {
            Ok(TradeLabel {
                seq: r.get(0)?,
                strategy_id: r.get(1)?,
                regime: r.get(2)?,
                outcome: r.get(3)?,
                indicators_json: r.get(4)?,
            })
        })
        .map_err(&err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(&err)
    }

    /// Record LLM calls.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if an insert fails.
    pub fn insert_llm_calls(&mut self, rows: &[LlmCallRow]) -> Result<(), StoreError> {
        let err = sql_err(&self.path, "inserting llm calls");
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO llm_calls (run_id, prompt_hash, symbol, bar_ts_ms, model, mode,
                     prompt_json, content, error, created_at)
                     VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                )
                .map_err(&err)?;
            for c in rows {
                st.execute(params![
                    c.run_id,
                    c.prompt_hash,
                    c.symbol,
                    c.bar_ts_ms,
                    c.model,
                    c.mode,
                    c.prompt_json,
                    c.content,
                    c.error,
                    c.created_at
                ])
                .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }

    /// The recorded answers for `symbol` (latest per key): `(prompt_hash, bar_ts_ms,
    /// content)` — what a backtest replays.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn recorded_llm_answers(
        &self,
        symbol: &str,
    ) -> Result<Vec<(String, i64, String)>, StoreError> {
        let err = sql_err(&self.path, "loading llm answers");
        let mut st = self
            .conn
            .prepare(
                "SELECT prompt_hash, bar_ts_ms, content FROM llm_calls
                 WHERE symbol = ?1 AND content IS NOT NULL ORDER BY id",
            )
            .map_err(&err)?;
        st.query_map([symbol], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(&err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&err)
    }

    /// Count LLM calls: (all, answered).
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn llm_call_counts(&self) -> Result<(i64, i64), StoreError> {
        self.conn
            .query_row("SELECT COUNT(*), COUNT(content) FROM llm_calls", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(self.sql_err("counting llm calls"))
    }

    /// Store a run's results per leverage level.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if an insert fails.
    pub fn insert_leverage_results(
        &mut self,
        run_id: i64,
        rows: &[LeverageRow],
    ) -> Result<(), StoreError> {
        let err = sql_err(&self.path, "inserting leverage results");
        for r in rows {
            self.conn
                .execute(
                    "INSERT INTO leverage_results (run_id, leverage, trades, wins, return_sum,
                     liquidations) VALUES (?1,?2,?3,?4,?5,?6)",
                    params![
                        run_id,
                        r.leverage,
                        r.trades,
                        r.wins,
                        r.return_sum,
                        r.liquidations
                    ],
                )
                .map_err(&err)?;
        }
        Ok(())
    }

    /// Results per leverage level over all runs.
    ///
    /// # Errors
    /// [`StoreError::Sql`] if the query fails.
    pub fn leverage_summary(&self) -> Result<Vec<LeverageRow>, StoreError> {
        let err = sql_err(&self.path, "summarising leverage results");
        let mut st = self
            .conn
            .prepare(
                "SELECT leverage, SUM(trades), SUM(wins), SUM(return_sum), SUM(liquidations)
                 FROM leverage_results GROUP BY leverage ORDER BY leverage",
            )
            .map_err(&err)?;
        st.query_map([], |r| {
            Ok(LeverageRow {
                leverage: r.get(0)?,
                trades: r.get(1)?,
                wins: r.get(2)?,
                return_sum: r.get(3)?,
                liquidations: r.get(4)?,
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
    use crate::store::RunRecord;

    #[test]
    fn decisions_llm_calls_and_leverage_rows_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let run = store
            .begin_run(&RunRecord {
                command: "backtest".into(),
                started_at: "2026-01-01T00:00:00Z".into(),
                ..RunRecord::default()
            })
            .unwrap();
        let d = DecisionRow {
            seq: 0,
            bar: 40,
            ts_ms: 1000,
            action: "BUY".into(),
            confidence: 0.5,
            size_frac: 0.1,
            leverage: 1.0,
            regime: Some("bull".into()),
            veto: None,
            intent: "enter long".into(),
            trade_seq: Some(0),
            decision_json: "{}".into(),
            without_json: "[]".into(),
        };
        let e = DecisionRow {
            seq: 1,
            trade_seq: None,
            ..d.clone()
        };
        store.insert_decisions(run, &[d.clone(), e]).unwrap();
        assert_eq!(store.load_decisions(run, None).unwrap().len(), 2);
        assert_eq!(store.load_decisions(run, Some(0)).unwrap(), vec![d]);
        let call = LlmCallRow {
            run_id: Some(run),
            prompt_hash: "h".into(),
            symbol: "BTC/USDT".into(),
            bar_ts_ms: 1000,
            model: "m".into(),
            mode: "live".into(),
            prompt_json: "{}".into(),
            content: Some("{\"action\":\"BUY\"}".into()),
            error: None,
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        let failed = LlmCallRow {
            content: None,
            error: Some("timeout".into()),
            ..call.clone()
        };
        store.insert_llm_calls(&[call, failed]).unwrap();
        assert_eq!(store.llm_call_counts().unwrap(), (2, 1));
        let answers = store.recorded_llm_answers("BTC/USDT").unwrap();
        assert_eq!(
            answers,
            vec![("h".into(), 1000, "{\"action\":\"BUY\"}".into())]
        );
        let lev = LeverageRow {
            leverage: 1.0,
            trades: 3,
            wins: 2,
            return_sum: 1.5,
            liquidations: 0,
        };
        store.insert_leverage_results(run, &[lev]).unwrap();
        let t = crate::core::order::Trade {
            side: crate::core::order::Side::Long,
            qty: 1.0,
            entry_bar: 1,
            exit_bar: 2,
            entry_ts_ms: 1,
            exit_ts_ms: 2,
            entry_price: 1.0,
            exit_price: 2.0,
            pnl: 1.0,
            return_pct: 100.0,
            fees: 0.0,
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: crate::core::order::ExitReason::Signal,
        };
        store.insert_trades(run, &[t]).unwrap();
        let label = TradeLabel {
            seq: 0,
            strategy_id: "ai".into(),
            regime: Some("bull".into()),
            outcome: "WIN".into(),
            indicators_json: Some("[]".into()),
        };
        store
            .label_trades(run, std::slice::from_ref(&label))
            .unwrap();
        assert_eq!(store.trade_labels(run).unwrap(), vec![label]);
        store.insert_leverage_results(run, &[]).unwrap();
        assert_eq!(store.leverage_summary().unwrap(), vec![lev]);
    }
}
