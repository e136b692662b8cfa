//! The `ai` strategy as a paper or live bot (issue 12 items 6–8): built as
//! `backtest --strategy ai` builds it (weights, the best stored evolved genome, the latest
//! DQN and leverage DQN for the symbol or the shipped defaults, the LLM — asked for real by
//! default), learning after every trade unless `--no-learn`, and resumed each tick from the
//! state the last tick saved (`strategy::ai`'s `save_state`, in the bot's `state.json`).
//!
//! After each tick ([`after_tick`]):
//! - its decisions (per-component opinion, weight, confidence, size, leverage, veto, LLM
//!   explanation) are stored in `ai_decisions` under the bot's run, numbered after those
//!   of earlier ticks and linked to the trades they opened or closed — the bot's closed
//!   trades and the one still open, whose number is the one it gets when it closes; the
//!   trades closed this tick are labelled (strategy `ai`, regime, WIN/LOSS, indicators) from
//!   their stored entry decision; the LLM's live calls are stored;
//! - with learning, a DQN whose version moved is stored as a new model, a child of the one
//!   the tick started from (`app::ai::store_learned_dqn`), so the next tick (and the next
//!   `backtest --strategy ai` for the symbol) starts from it;
//! - the bot's `ai_orchestrator_state.json` gets the orchestrator's learning state (weights,
//!   components and where they came from, model versions, the online learner's health and
//!   drift state), written atomically; the next tick's strategy starts from that online
//!   learner (the saved engine state, when there is one, carries the same).
//!
//! A failing learning DB is a warning of the tick, never a failed tick (as for the other
//! bot records). A tick killed after `state.json` and before the DB write loses that
//! tick's decision rows (the bars are done); a decision on a tick's last bar whose entry
//! fills on the next tick stays unlinked.

use super::Ctx;
use super::ai::{self as ai_app, AiSummary, DqnSource};
use super::backtest::{BacktestRequest, LoadedData, resolve_params};
use crate::Error;
use crate::ai::online::OnlineLearner;
use crate::ai::orchestrator::Weights;
use crate::core::order::{ExitReason, Trade};
use crate::runner::bot_dir::{BotDir, read_json, write_json};
use crate::runner::paper::OrchestratorState;
use crate::runner::{PaperState, TickOutcome};
use crate::store::{DecisionRow, RunRecord, Store, TradeLabel};
use crate::strategy::Params;
use crate::strategy::ai::AiStrategy;

/// The `ai` strategy of a bot and what its tick needs afterwards.
#[derive(Debug)]
pub struct AiBot {
    /// The strategy the tick steps.
    pub strategy: AiStrategy,
    /// Its components and where they came from.
    pub summary: AiSummary,
    /// The DQN model it was built from (what a learned version is a child of).
    source: Option<DqnSource>,
    /// The bot's symbol (its models' symbol).
    symbol: String,
    /// Hash of the bars (recorded with a learned model).
    data_hash: String,
}

/// The `ai` part of a bot's `ai_orchestrator_state.json` ([`OrchestratorState::ai`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BotAiState {
    /// Learning after every trade (`--no-learn` turns it off).
    pub learn: bool,
    /// The orchestrator's weights.
    pub weights: Weights,
    /// The components wired in.
    pub components: Vec<String>,
    /// Where each learned component came from.
    pub sources: std::collections::BTreeMap<String, String>,
    /// The DQN's version now (`dqn`) and the model it is stored as (`dqn_model`).
    pub model_versions: std::collections::BTreeMap<String, i64>,
    /// The online learner: health and drift state per strategy and regime.
    pub online: OnlineLearner,
    /// When written (ISO-8601 UTC).
    pub updated_at: String,
}

/// Whether a bot request runs the `ai` strategy.
pub fn is_ai(req: &BacktestRequest) -> bool {
    req.strategy == "ai" && req.strategy_file.is_none()
}

/// The bot's learning state from its `ai_orchestrator_state.json`, if it has one.
pub fn bot_state(bot: &BotDir) -> Option<BotAiState> {
    let orch: OrchestratorState = read_json(&bot.orchestrator_path()).ok().flatten()?;
    serde_json::from_value(orch.ai?).ok()
}

/// Build the `ai` strategy of bot `bot` on `data`; returns its resolved parameters too.
///
/// # Errors
/// As [`ai_app::build`].
pub fn build(
    ctx: &Ctx,
    req: &BacktestRequest,
    data: &LoadedData,
    bot: &BotDir,
) -> Result<(Params, AiBot), Error> {
    build_for(
        ctx,
        req,
        (&data.label, data.bars.interval_ms()),
        data.bars.content_hash(),
        bot,
    )
}

/// [`build`] for a symbol and bar interval (ms) whose bars are not loaded yet (live);
/// `data_hash` names the bars in a learned model's record.
///
/// # Errors
/// As [`ai_app::build`].
pub fn build_for(
    ctx: &Ctx,
    req: &BacktestRequest,
    (symbol, interval): (&str, Option<i64>),
    data_hash: String,
    bot: &BotDir,
) -> Result<(Params, AiBot), Error> {
    let params = resolve_params("ai", &req.params)?;
    let (mut strategy, summary, source) =
        ai_app::build_for(ctx, symbol, interval, &params, &req.ai, req.cfg.leverage)?;
    if req.ai.learn
        && let Some(st) = bot_state(bot)
    {
        strategy = strategy.with_online(st.online);
    }
    Ok((
        params,
        AiBot {
            strategy,
            summary,
            source,
            symbol: symbol.to_string(),
            data_hash,
        },
    ))
}

/// The settings of an `ai` bot that must not change between its ticks (beside the others).
pub fn settings(req: &BacktestRequest) -> serde_json::Value {
    serde_json::json!({
        "learn": req.ai.learn,
        "weights": req.ai.weights,
        "llm": req.ai.llm.as_str(),
    })
}

/// Store what the tick of the bot in folder `dir` decided and learned (module doc); returns
/// the warnings (failures included: they never fail the tick).
pub fn after_tick(
    ctx: &Ctx,
    bot: &mut AiBot,
    outcome: &TickOutcome,
    dir: &std::path::Path,
) -> Vec<String> {
    let records = bot.strategy.take_decision_records();
    let llm = bot
        .strategy
        .llm_mut()
        .map(|l| l.take_records())
        .unwrap_or_default();
    let mut warnings = bot.strategy.take_warnings();
    let TickOutcome::Done(report) = outcome else {
        return warnings;
    };
    let Some(state) = report.state.as_ref().filter(|_| report.acted.is_some()) else {
        return warnings;
    };
    let closed_now = report.new_trades.len();
    let learned = match store_tick(ctx, bot, state, dir, &records, llm, closed_now) {
        Ok(id) => id,
        Err(e) => {
            warnings.push(format!("learning DB: {e}"));
            None
        }
    };
    let mut versions = std::collections::BTreeMap::new();
    if let Some(o) = bot.strategy.dqn_online() {
        versions.insert("dqn".to_string(), o.version);
    }
    if let Some(id) = learned.or_else(|| bot.source.as_ref().and_then(|s| s.id)) {
        versions.insert("dqn_model".to_string(), id);
    }
    let ai = BotAiState {
        learn: bot.strategy.dqn_online().is_some() || bot.summary.learn,
        weights: bot.strategy.orchestrator().config().weights.clone(),
        components: bot.summary.components.clone(),
        sources: bot.summary.sources.clone(),
        model_versions: versions,
        online: bot.strategy.online().clone(),
        updated_at: (ctx.now_iso)(),
    };
    if let Err(e) = write_bot_state(dir, ai) {
        warnings.push(format!("ai state: {e}"));
    }
    warnings
}

fn write_bot_state(dir: &std::path::Path, ai: BotAiState) -> Result<(), Error> {
    let path = dir.join(crate::app::ai::STATE_FILE);
    let mut orch: OrchestratorState = read_json(&path)?.unwrap_or(OrchestratorState {
        strategy: "ai".into(),
        ai_enabled: true,
        last_signal: None,
        last_bar_ts_ms: 0,
        ai: None,
    });
    orch.ai = Some(serde_json::to_value(&ai).map_err(|e| Error::Usage(e.to_string()))?);
    write_json(&path, &orch)?;
    Ok(())
}

/// The bot's trades for linking decisions: the closed ones, then the open one (as a trade
/// still open at the last bar: the number it gets when it closes).
fn bot_trades(state: &PaperState) -> Vec<Trade> {
    let mut trades: Vec<Trade> = state.trades.iter().map(|t| t.to_trade()).collect();
    if let Some(p) = &state.position {
        trades.push(Trade {
            side: p.side,
            qty: p.qty,
            entry_bar: 0,
            exit_bar: 0,
            entry_ts_ms: p.entry_ts_ms,
            exit_ts_ms: state.last_bar_ts_ms,
            entry_price: p.entry_price,
            exit_price: p.last_price,
            pnl: p.unrealized_pnl,
            return_pct: 0.0,
            fees: 0.0,
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: ExitReason::Open,
        });
    }
    trades
}

/// Labels for the bot's trades `seqs` from their stored entry decisions.
fn labels(rows: &[DecisionRow], trades: &[Trade], seqs: std::ops::Range<usize>) -> Vec<TradeLabel> {
    seqs.filter_map(|i| {
        let t = trades.get(i)?;
        let entry = rows
            .iter()
            .find(|r| r.trade_seq == Some(i as i64) && r.intent.starts_with("enter"))?;
        let decision: Option<crate::ai::orchestrator::Decision> =
            serde_json::from_str(&entry.decision_json).ok();
        let indicators = decision.and_then(|d| {
            d.votes
                .iter()
                .find(|v| v.component == crate::ai::advisor::Component::Technical)
                .and_then(|v| v.opinion.as_ref())
                .and_then(|o| serde_json::to_string(&o.reasons).ok())
        });
        Some(TradeLabel {
            seq: i as i64,
            strategy_id: "ai".into(),
            regime: entry.regime.clone(),
            outcome: if t.pnl > 0.0 { "WIN" } else { "LOSS" }.into(),
            indicators_json: indicators,
        })
    })
    .collect()
}

/// The DB side of [`after_tick`]; returns the id of a newly stored DQN version.
fn store_tick(
    ctx: &Ctx,
    bot: &AiBot,
    state: &PaperState,
    dir: &std::path::Path,
    records: &[crate::strategy::ai::DecisionRecord],
    llm: Vec<crate::ai::llm::LlmRecord>,
    closed_now: usize,
) -> Result<Option<i64>, Error> {
    let now = (ctx.now_iso)();
    let mut store: Store = ctx.store()?;
    // the run `paper::record` found or made for this bot folder
    let run_id = store.bot_run(&RunRecord {
        command: state.mode.clone(),
        data_path: Some(dir.display().to_string()),
        started_at: now.clone(),
        symbol: Some(state.symbol.clone()),
        strategy: Some(state.strategy.clone()),
        params_json: Some(state.params.to_string()),
        ..RunRecord::default()
    })?;
    let kept: Vec<_> = records
        .iter()
        .filter(|r| ai_app::matters(r))
        .cloned()
        .collect();
    let trades = bot_trades(state);
    let mut stored = store.load_decisions(run_id, None)?;
    let first_seq = stored.last().map_or(0, |r| r.seq + 1);
    let mut rows = ai_app::decision_rows(&kept, &trades);
    for r in &mut rows {
        r.seq += first_seq;
    }
    store.insert_decisions(run_id, &rows)?;
    stored.extend(rows);
    let closed = state.trades.len();
    store.label_trades(
        run_id,
        &labels(&stored, &trades, closed.saturating_sub(closed_now)..closed),
    )?;
    store.insert_llm_calls(&ai_app::llm_call_rows(run_id, llm, &now))?;
    match (&bot.source, bot.strategy.dqn_online()) {
        (Some(from), Some(online)) => ai_app::store_learned_dqn(
            &mut store,
            run_id,
            &bot.symbol,
            &bot.data_hash,
            from,
            online,
            &now,
        ),
        _ => Ok(None),
    }
}
