//! The AI use cases: building the `ai` strategy for a backtest (weights, the best stored
//! evolved genome, the LLM in replay or live mode, the carried-over online learner), recording
//! what it decided (decisions linked to trades, LLM calls, results per leverage level), the
//! atomically written `DATA_DIR/ai_orchestrator_state.json`, `algolab explain` and
//! `algolab ai status`.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::ai::advisor::Component;
use crate::ai::dqn::AgentKind;
use crate::ai::llm::client::OllamaClient;
use crate::ai::llm::{CallKey, LlmAdvisor, LlmConfig, Replay};
use crate::ai::online::OnlineLearner;
use crate::ai::orchestrator::Weights;
use crate::app::Ctx;
use crate::core::order::Trade;
use crate::store::{DecisionRow, LeverageRow, LlmCallRow, Store};
use crate::strategy::Params;
use crate::strategy::ai::{AiStrategy, DecisionRecord};

/// The state file's name under `DATA_DIR`.
pub const STATE_FILE: &str = "ai_orchestrator_state.json";

/// Where the LLM's answers come from in a backtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LlmMode {
    /// Answers recorded earlier in the learning DB (the look-ahead guard; the default).
    #[default]
    Replay,
    /// Call Ollama for real (an LLM trained on later data can know the future).
    Live,
    /// No LLM component.
    Off,
}

impl LlmMode {
    /// `replay`, `live` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            LlmMode::Replay => "replay",
            LlmMode::Live => "live",
            LlmMode::Off => "off",
        }
    }
}

/// The `ai` strategy's options in a backtest.
#[derive(Debug, Clone, Default)]
pub struct AiOptions {
    /// `--weights technical=0.3,…`.
    pub weights: Option<String>,
    /// `--weights-file FILE` (JSON or flat TOML).
    pub weights_file: Option<PathBuf>,
    /// `--llm replay|live|off`.
    pub llm: LlmMode,
    /// The LLM settings (from the environment).
    pub llm_config: LlmConfig,
    /// `--learn`: start from the saved online learner and keep what this run learns.
    pub learn: bool,
}

/// The orchestrator's weights from the options.
///
/// # Errors
/// [`Error::Usage`] for a bad `--weights` or weights file.
pub fn weights(opts: &AiOptions) -> Result<Weights, Error> {
    let mut w = Weights::default();
    if let Some(f) = &opts.weights_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| Error::Usage(format!("--weights-file {}: {e}", f.display())))?;
        w = w
            .parse_file_text(&text)
            .map_err(|e| Error::Usage(format!("{}: {e}", f.display())))?;
    }
    if let Some(spec) = &opts.weights {
        w = w
            .parse_overrides(spec)
            .map_err(|e| Error::Usage(format!("--weights: {e}")))?;
    }
    Ok(w)
}

/// What the run's AI side reports.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AiSummary {
    /// Components wired in.
    pub components: Vec<String>,
    /// The evolved genome used, if any.
    pub evolved_id: Option<i64>,
    /// The DQN model used, if any (a DB id; `None` for the shipped default).
    pub dqn_id: Option<i64>,
    /// The DQN's version at the start (0 for a trained or default model).
    pub dqn_version: Option<i64>,
    /// With `--learn`: the DQN's version after the run, the trades it learned from and the
    /// model id its new version was stored under.
    pub dqn_learned: Option<serde_json::Value>,
    /// Where each learned component came from: component → `db:model 5`, `db:evolved 3`
    /// or `default:models/default/dqn.json (weights …)` (the shipped defaults).
    pub sources: std::collections::BTreeMap<String, String>,
    /// `replay`, `live` or `off`.
    pub llm_mode: String,
    /// LLM questions asked and answered.
    pub llm_asked: u64,
    /// Answers received.
    pub llm_answered: u64,
    /// Whether learning carried over (`--learn`).
    pub learn: bool,
    /// Decisions kept.
    pub decisions: usize,
    /// Warnings (one per failing component).
    pub warnings: Vec<String>,
}

/// The `ai` strategy for `symbol`, with its summary so far.
///
/// # Errors
/// [`Error::Param`] for bad parameters, [`Error::Usage`] for bad weights, [`Error::Store`]
/// when the DB cannot be read.
pub fn build(
    ctx: &Ctx,
    data: &crate::app::load::LoadedData,
    params: &Params,
    opts: &AiOptions,
    engine_leverage: f64,
) -> Result<(AiStrategy, AiSummary, Option<DqnSource>), Error> {
    build_for(
        ctx,
        &data.label,
        data.bars.interval_ms(),
        params,
        opts,
        engine_leverage,
    )
}

/// [`build`] for `symbol` at bar interval `interval` (ms), before its bars are loaded (a
/// live bot's come from the exchange during its tick).
///
/// # Errors
/// As [`build`].
pub fn build_for(
    ctx: &Ctx,
    symbol: &str,
    interval: Option<i64>,
    params: &Params,
    opts: &AiOptions,
    engine_leverage: f64,
) -> Result<(AiStrategy, AiSummary, Option<DqnSource>), Error> {
    use crate::app::defaults;
    let mut dqn_model = None;
    let mut s = AiStrategy::new(params)?.with_weights(weights(opts)?);
    let mut summary = AiSummary {
        llm_mode: opts.llm.as_str().into(),
        learn: opts.learn,
        ..AiSummary::default()
    };
    let store = if ctx.db_path.exists() {
        Some(ctx.store()?)
    } else {
        None
    };
    // the best stored evolved genome for this symbol (highest validation fitness, then
    // training fitness); else the shipped default
    let mut evolved = None;
    if let Some(store) = &store {
        let mut rows = store.list_evolved(Some(symbol), 1000)?;
        rows.retain(|r| r.is_active);
        let key = |r: &crate::store::EvolvedRow| {
            if r.validation_fitness.is_finite() {
                r.validation_fitness
            } else {
                r.fitness
            }
        };
        rows.sort_by(|a, b| key(b).total_cmp(&key(a)));
        if let Some(best) = rows.first() {
            let genome = crate::app::evolve::stored_genome(store, best.id)?;
            if let Ok(ev) = crate::strategy::evolved::Evolved::from_genome(genome) {
                evolved = Some((ev.with_id(best.id), format!("db:evolved {}", best.id)));
                summary.evolved_id = Some(best.id);
            }
        }
    }
    if evolved.is_none()
        && let Some(d) = defaults::find("evolved", symbol, interval)
        && let Some(g) = d.genome.clone()
        && let Ok(ev) = crate::strategy::evolved::Evolved::from_genome(g)
    {
        evolved = Some((ev, d.source()));
    }
    if let Some((ev, source)) = evolved {
        s = s.with_evolved(ev);
        summary.sources.insert("evolved".into(), source);
    }
    // the latest trained DQN (and leverage DQN) for this symbol; else the shipped default
    let mut lev_dqn = None;
    for kind in [AgentKind::Dqn, AgentKind::LeverageDqn] {
        let stored = match &store {
            Some(st) => st
                .list_models(Some(symbol), Some(kind.name()), 1)?
                .first()
                .map(|m| (st, m.id)),
            None => None,
        };
        let model = match stored {
            Some((st, id)) => {
                let m = crate::app::train_rl::load_model(st, id, Some(kind))?;
                let metrics: serde_json::Value =
                    serde_json::from_str(&m.row.metrics_json).unwrap_or_default();
                let online = metrics.get("online").is_some();
                DqnSource {
                    source: format!("db:model {id}"),
                    id: Some(id),
                    seed: m.row.seed.unwrap_or(0),
                    optimizer: m.row.optimizer,
                    version: metrics.get("version").and_then(|v| v.as_i64()).unwrap_or(0),
                    env_steps: m.row.env_steps,
                    experiences: if online {
                        st.load_experiences(id)?
                    } else {
                        Vec::new()
                    },
                    spec: m.spec,
                    net: m.net,
                }
            }
            None => match defaults::find(kind.name(), symbol, interval) {
                Some(d) => {
                    let (spec, net) = d.network()?;
                    DqnSource {
                        source: d.source(),
                        id: None,
                        seed: d.seed.unwrap_or(0),
                        optimizer: None,
                        version: 0,
                        env_steps: 0,
                        experiences: Vec::new(),
                        spec,
                        net,
                    }
                }
                None => continue,
            },
        };
        let strategy =
            crate::strategy::dqn::DqnStrategy::new(model.spec.clone(), model.net.clone())
                .map_err(|e| Error::Usage(format!("{} {}: {e}", kind.name(), model.source)))?;
        let strategy = match model.id {
            Some(id) => strategy.with_id(id),
            None => strategy,
        };
        if kind == AgentKind::Dqn {
            summary.dqn_id = model.id;
            summary.dqn_version = Some(model.version);
            summary.sources.insert("dqn".into(), model.source.clone());
            s = s.with_dqn(strategy);
            if opts.learn {
                let agent = online_agent(&model)?;
                s = s.with_dqn_learning(agent, model.version);
            }
            dqn_model = Some(model);
        } else {
            lev_dqn = Some(strategy);
            summary.sources.insert(
                "leverage-dqn".into(),
                if engine_leverage > 1.0 {
                    model.source
                } else {
                    format!("{}; not used at --leverage 1", model.source)
                },
            );
        }
    }
    if engine_leverage > 1.0 {
        let base = lev_dqn.map(|d| {
            let max = d.spec().leverage;
            (
                Box::new(d) as Box<dyn crate::strategy::Strategy + Send>,
                max,
            )
        });
        s = s.with_leverage(engine_leverage, base);
    }
    let model = opts.llm_config.model.clone();
    match opts.llm {
        LlmMode::Off => {}
        _ if !opts.llm_config.enabled => {
            summary
                .warnings
                .push("LLM advisor disabled (AI_TRADING_ENABLED=false)".into());
        }
        LlmMode::Live => match OllamaClient::new(opts.llm_config.clone()) {
            Ok(c) => s = s.with_llm(LlmAdvisor::new(Box::new(c), &model).with_symbol(symbol)),
            Err(e) => summary.warnings.push(format!("LLM advisor absent: {e}")),
        },
        LlmMode::Replay => {
            let recorded = match &store {
                Some(st) => st.recorded_llm_answers(symbol)?,
                None => Vec::new(),
            };
            if !recorded.is_empty() {
                let replay = Replay::new(recorded.into_iter().map(|(h, ts, content)| {
                    (
                        CallKey {
                            prompt_hash: h,
                            symbol: symbol.to_string(),
                            bar_ts_ms: ts,
                        },
                        content,
                    )
                }));
                s = s.with_llm(LlmAdvisor::new(Box::new(replay), &model).with_symbol(symbol));
            }
        }
    }
    if opts.learn
        && let Some(state) = load_state(&ctx.data_dir)
    {
        s = s.with_online(state.online);
    }
    summary.components = s.components().iter().map(|c| c.to_string()).collect();
    Ok((s, summary, dqn_model))
}

/// Where the `ai` strategy's DQN came from, with what continuing its training needs.
#[derive(Debug, Clone)]
pub struct DqnSource {
    /// `db:model N` or `default:…`.
    pub source: String,
    /// The DB model id (`None` for the shipped default).
    pub id: Option<i64>,
    /// Its seed (the online agent's minibatches are drawn from it).
    pub seed: u64,
    /// Its optimiser state, when stored.
    pub optimizer: Option<Vec<u8>>,
    /// Its version (`metrics_json.version`; 0 for a trained or default model).
    pub version: i64,
    /// Environment steps it was trained for.
    pub env_steps: u64,
    /// The trade transitions an earlier online version learned from.
    pub experiences: Vec<crate::store::ExperienceRow>,
    /// Its spec.
    pub spec: crate::ai::dqn::ModelSpec,
    /// Its weights.
    pub net: crate::ai::nn::Mlp,
}

/// Minibatch of the DQN's learning after each trade (and the transitions it waits for).
pub const ONLINE_BATCH: usize = 32;

/// The agent that continues training `model` from closed trades: its weights and optimiser
/// state, minibatches of `ONLINE_BATCH` from the first `ONLINE_BATCH` trades on, its earlier
/// online transitions restored.
///
/// # Errors
/// [`Error::Nn`] when the weights do not fit the configuration.
pub fn online_agent(model: &DqnSource) -> Result<crate::ai::dqn::DqnAgent, Error> {
    let cfg = crate::ai::dqn::DqnConfig {
        batch: ONLINE_BATCH,
        learning_starts: ONLINE_BATCH as u64,
        ..model.spec.config
    };
    let mut agent = crate::ai::dqn::DqnAgent::from_parts(
        cfg,
        model.net.clone(),
        model.optimizer.as_deref(),
        model.seed,
    )?;
    for e in &model.experiences {
        agent.observe(&crate::ai::dqn::Transition {
            state: &e.state,
            action: e.action,
            reward: e.reward,
            next_state: &e.next_state,
            done: e.done,
        });
    }
    agent.set_env_steps(model.env_steps);
    Ok(agent)
}

/// Store the DQN's new version after a `--learn` run (a child of the model it started from,
/// linked to run `run_id`); returns its id, or `None` when nothing was learned.
///
/// # Errors
/// [`Error::Store`] when the DB cannot be written.
pub fn store_learned_dqn(
    store: &mut Store,
    run_id: i64,
    symbol: &str,
    data_hash: &str,
    from: &DqnSource,
    online: &crate::strategy::ai::DqnOnline,
    now: &str,
) -> Result<Option<i64>, Error> {
    if online.version == from.version {
        return Ok(None);
    }
    let net = online.agent.online();
    let weights = net.to_bytes();
    let replay = online.agent.replay();
    let experiences: Vec<crate::store::ExperienceRow> = (0..replay.len())
        .filter_map(|i| replay.get(i))
        .map(|t| crate::store::ExperienceRow {
            state: t.state.to_vec(),
            action: t.action,
            reward: t.reward,
            next_state: t.next_state.to_vec(),
            done: t.done,
        })
        .collect();
    let metrics = serde_json::json!({
        "version": online.version,
        "online": {
            "from": from.source,
            "from_version": from.version,
            "trades": online.trades,
            "grad_steps": online.grad_steps,
            "run_id": run_id,
        },
    });
    let id = store.insert_model(
        &crate::store::ModelRow {
            id: 0,
            run_id: Some(run_id),
            parent_id: from.id,
            kind: from.spec.kind.name().into(),
            symbol: symbol.into(),
            feature_spec: from.spec.features.id().into(),
            spec_json: serde_json::to_string(&from.spec)
                .map_err(|e| Error::Usage(format!("model spec json: {e}")))?,
            weights_sha256: crate::app::train_rl::sha256_hex(&weights),
            weights,
            optimizer: Some(online.agent.adam().to_bytes()),
            data_hash: Some(data_hash.into()),
            seed: Some(from.seed),
            env_steps: from.env_steps + online.trades,
            metrics_json: metrics.to_string(),
            created_at: now.into(),
        },
        &experiences,
    )?;
    Ok(Some(id))
}

/// A decision worth storing and showing: not HOLD, an order, or a veto.
pub fn matters(r: &DecisionRecord) -> bool {
    r.decision.action != crate::ai::advisor::Action::Hold
        || r.intent != "hold"
        || r.decision.veto.is_some()
}

/// Link each decision to the trade it opened or closed: an entering decision to the first
/// trade entered at or after its bar's open time and before the next entering decision, an
/// exiting one to the trade it closed. The engine holds one position at a time, so the
/// trades' entry and exit times never decrease: both are binary searches.
pub fn link(records: &[DecisionRecord], trades: &[Trade]) -> Vec<Option<usize>> {
    // open time of the next entering decision after each record
    let mut next_enter = vec![i64::MAX; records.len()];
    let mut next = i64::MAX;
    for (i, r) in records.iter().enumerate().rev() {
        next_enter[i] = next;
        if r.intent.starts_with("enter") {
            next = r.ts_ms;
        }
    }
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.intent.starts_with("enter") {
                let k = trades.partition_point(|t| t.entry_ts_ms < r.ts_ms);
                trades
                    .get(k)
                    .filter(|t| t.entry_ts_ms < next_enter[i])
                    .map(|_| k)
            } else if r.intent == "exit" {
                let k = trades.partition_point(|t| t.exit_ts_ms < r.ts_ms);
                trades
                    .get(k)
                    .filter(|t| t.entry_ts_ms <= r.ts_ms)
                    .map(|_| k)
            } else {
                None
            }
        })
        .collect()
}

/// The rows to store for a run's decisions.
pub fn decision_rows(records: &[DecisionRecord], trades: &[Trade]) -> Vec<DecisionRow> {
    let links = link(records, trades);
    records
        .iter()
        .zip(links)
        .enumerate()
        .map(|(i, (r, l))| DecisionRow {
            seq: i as i64,
            bar: r.bar as i64,
            ts_ms: r.ts_ms,
            action: r.decision.action.to_string(),
            confidence: r.decision.confidence,
            size_frac: r.decision.size_frac,
            leverage: r.decision.leverage,
            regime: r.decision.regime.map(|g| g.to_string()),
            veto: r.decision.veto.clone(),
            intent: r.intent.clone(),
            trade_seq: l.map(|x| x as i64),
            decision_json: serde_json::to_string(&r.decision).unwrap_or_else(|_| "{}".into()),
            without_json: serde_json::to_string(&r.without).unwrap_or_else(|_| "[]".into()),
        })
        .collect()
}

/// The report's "AI decisions" section: the decisions that entered, exited or were vetoed,
/// linked to the trades they caused, with the models used and where they came from.
pub fn report_section(
    records: &[DecisionRecord],
    trades: &[Trade],
    summary: &AiSummary,
) -> crate::report::ai::AiSection {
    use crate::ai::advisor::OpinionReason;
    use crate::report::ai::{AiDecisionRow, AiSection, OpinionCell};
    let links = link(records, trades);
    let rows = records
        .iter()
        .zip(links)
        .filter(|(r, _)| r.intent != "hold" || r.decision.veto.is_some())
        .filter(|(r, _)| matters(r))
        .map(|(r, l)| {
            let d = &r.decision;
            let llm = d
                .votes
                .iter()
                .filter(|v| v.component == Component::Llm)
                .filter_map(|v| v.opinion.as_ref())
                .flat_map(|o| o.reasons.iter())
                .find_map(|x| match x {
                    OpinionReason::Llm {
                        explanation,
                        risk_warning,
                        ..
                    } if risk_warning.is_empty() => Some(explanation.clone()),
                    OpinionReason::Llm {
                        explanation,
                        risk_warning,
                        ..
                    } => Some(format!("{explanation} (risk: {risk_warning})")),
                    _ => None,
                });
            AiDecisionRow {
                ts_ms: r.ts_ms,
                intent: r.intent.clone(),
                action: d.action.to_string(),
                confidence: d.confidence,
                size_frac: d.size_frac,
                leverage: d.leverage,
                regime: d.regime.map(|g| g.to_string()),
                opinions: d
                    .votes
                    .iter()
                    .filter_map(|v| {
                        v.opinion.as_ref().map(|o| OpinionCell {
                            component: v.component.to_string(),
                            action: o.action.to_string(),
                            confidence: o.confidence,
                            weight: v.effective_weight,
                            blocked: v.blocked,
                        })
                    })
                    .collect(),
                veto: d.veto.clone(),
                llm,
                trade: l,
            }
        })
        .collect();
    let mut facts: Vec<(String, String)> =
        vec![("components".into(), summary.components.join(", "))];
    facts.extend(summary.sources.iter().map(|(c, s)| (c.clone(), s.clone())));
    facts.push((
        "LLM".into(),
        format!(
            "{} ({} asked, {} answered)",
            summary.llm_mode, summary.llm_asked, summary.llm_answered
        ),
    ));
    facts.push((
        "learning".into(),
        if summary.learn { "on (--learn)" } else { "off" }.into(),
    ));
    AiSection {
        facts,
        total: records.len(),
        rows,
    }
}

/// Labels for the stored trades: strategy `ai`, the entry decision's regime, WIN/LOSS, and
/// the technical rule's reasons at entry (its indicator values) as the indicators JSON.
pub fn trade_labels(
    records: &[DecisionRecord],
    rows: &[DecisionRow],
    trades: &[Trade],
) -> Vec<crate::store::TradeLabel> {
    trades
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let entry = rows
                .iter()
                .zip(records)
                .find(|(r, _)| r.trade_seq == Some(i as i64) && r.intent.starts_with("enter"));
            let indicators = entry.and_then(|(_, rec)| {
                rec.decision
                    .votes
                    .iter()
                    .find(|v| v.component == Component::Technical)
                    .and_then(|v| v.opinion.as_ref())
                    .and_then(|o| serde_json::to_string(&o.reasons).ok())
            });
            crate::store::TradeLabel {
                seq: i as i64,
                strategy_id: "ai".into(),
                regime: entry.and_then(|(r, _)| r.regime.clone()),
                outcome: if t.pnl > 0.0 { "WIN" } else { "LOSS" }.into(),
                indicators_json: indicators,
            }
        })
        .collect()
}

/// Results per leverage level: every trade at the engine's leverage (the backtest engine
/// takes one leverage per run).
pub fn leverage_rows(trades: &[Trade], leverage: f64) -> Vec<LeverageRow> {
    if trades.is_empty() {
        return Vec::new();
    }
    vec![LeverageRow {
        leverage,
        trades: trades.len() as i64,
        wins: trades.iter().filter(|t| t.pnl > 0.0).count() as i64,
        return_sum: trades.iter().map(|t| t.return_pct).sum(),
        liquidations: trades
            .iter()
            .filter(|t| t.exit_reason == crate::core::order::ExitReason::Liquidation)
            .count() as i64,
    }]
}

/// Record the AI side of run `run_id`.
///
/// # Errors
/// [`Error::Store`] when the DB cannot be written.
pub fn record(
    store: &mut Store,
    run_id: i64,
    records: &[DecisionRecord],
    llm: Vec<crate::ai::llm::LlmRecord>,
    trades: &[Trade],
    leverage: f64,
    now: &str,
) -> Result<(), Error> {
    // stored: the decisions that were not HOLD, sent an order or were vetoed (with a DQN
    // voting, most bars have an opinion that did not carry the vote)
    let kept: Vec<DecisionRecord> = records.iter().filter(|r| matters(r)).cloned().collect();
    let records = &kept[..];
    let rows = decision_rows(records, trades);
    store.insert_decisions(run_id, &rows)?;
    store.label_trades(run_id, &trade_labels(records, &rows, trades))?;
    store.insert_llm_calls(&llm_call_rows(run_id, llm, now))?;
    store.insert_leverage_results(run_id, &leverage_rows(trades, leverage))?;
    Ok(())
}

/// The rows to store for the LLM's live calls of run `run_id` (replayed answers are
/// already stored).
pub fn llm_call_rows(
    run_id: i64,
    llm: Vec<crate::ai::llm::LlmRecord>,
    now: &str,
) -> Vec<LlmCallRow> {
    llm.into_iter()
        .filter(|r| r.mode == "live")
        .map(|r| LlmCallRow {
            run_id: Some(run_id),
            prompt_hash: r.key.prompt_hash,
            symbol: r.key.symbol,
            bar_ts_ms: r.key.bar_ts_ms,
            model: r.model,
            mode: r.mode,
            prompt_json: serde_json::to_string(&r.prompt).unwrap_or_else(|_| "{}".into()),
            content: r.content,
            error: r.error,
            created_at: now.to_string(),
        })
        .collect()
}

/// `DATA_DIR/ai_orchestrator_state.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrchestratorState {
    /// The run that wrote it.
    pub run_id: Option<i64>,
    /// The symbol.
    pub symbol: String,
    /// Weights.
    pub weights: Weights,
    /// Components available in that run.
    pub components: Vec<String>,
    /// The evolved genome used.
    pub evolved_id: Option<i64>,
    /// Model versions (name → version; the DQN's once trained).
    pub model_versions: std::collections::BTreeMap<String, i64>,
    /// Where each learned component came from (component → `db:model 5`, `default:…`).
    #[serde(default)]
    pub sources: std::collections::BTreeMap<String, String>,
    /// The online learner: health, drift state, blocks.
    pub online: OnlineLearner,
    /// When written (ISO-8601 UTC).
    pub updated_at: String,
}

/// Read the state file, if there is a valid one.
pub fn load_state(data_dir: &Path) -> Option<OrchestratorState> {
    let text = std::fs::read_to_string(data_dir.join(STATE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Write the state file atomically.
///
/// # Errors
/// [`Error::Usage`] never; [`Error::Store`]-style I/O failures come back as [`Error::Io`].
pub fn save_state(data_dir: &Path, state: &OrchestratorState) -> Result<PathBuf, Error> {
    let path = data_dir.join(STATE_FILE);
    let bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
    std::fs::create_dir_all(data_dir).map_err(|e| io_err(&path, e))?;
    crate::store::atomic_write(&path, &bytes).map_err(|e| io_err(&path, e))?;
    Ok(path)
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Usage(format!("{}: {e}", path.display()))
}

/// `algolab explain RUN_ID [--trade N]`.
#[derive(Debug, Clone)]
pub struct ExplainRequest {
    /// The run.
    pub run_id: i64,
    /// One trade (0-based `seq`), or all.
    pub trade: Option<i64>,
}

/// One explained trade.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExplainedTrade {
    /// Trade number.
    pub trade: i64,
    /// The trade.
    pub side: String,
    /// Entry time (UTC ms).
    pub entry_ts_ms: i64,
    /// Exit time (UTC ms).
    pub exit_ts_ms: i64,
    /// Return, percent.
    pub return_pct: f64,
    /// Exit reason.
    pub exit_reason: String,
    /// The decisions linked to it (the entry first).
    pub decisions: Vec<serde_json::Value>,
}

/// `explain`'s reply.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExplainReply {
    /// The run.
    pub run_id: i64,
    /// Its strategy.
    pub strategy: String,
    /// The trades explained.
    pub trades: Vec<ExplainedTrade>,
}

/// Explain a run's trades from its stored decisions.
///
/// # Errors
/// [`Error::Usage`] for an unknown run, a run without decisions (not an `ai` run) or an
/// unknown trade; [`Error::Store`] for DB failures.
pub fn explain(ctx: &Ctx, req: ExplainRequest) -> Result<ExplainReply, Error> {
    if !ctx.db_path.exists() {
        return Err(Error::Usage(format!(
            "no learning DB at {}",
            ctx.db_path.display()
        )));
    }
    let store = ctx.store()?;
    let run = store
        .load_run(req.run_id)
        .map_err(|_| Error::Usage(format!("no run {}", req.run_id)))?;
    let trades = store.load_trades(req.run_id)?;
    let decisions = store.load_decisions(req.run_id, None)?;
    if decisions.is_empty() {
        return Err(Error::Usage(format!(
            "run {} has no stored decisions (only `--strategy ai` runs do)",
            req.run_id
        )));
    }
    if let Some(n) = req.trade
        && (n < 0 || n as usize >= trades.len())
    {
        return Err(Error::Usage(format!(
            "run {} has {} trades; --trade {n} is out of range",
            req.run_id,
            trades.len()
        )));
    }
    let mut out = Vec::new();
    for (i, t) in trades.iter().enumerate() {
        let i = i as i64;
        if req.trade.is_some_and(|n| n != i) {
            continue;
        }
        let ds: Vec<serde_json::Value> = decisions
            .iter()
            .filter(|d| d.trade_seq == Some(i))
            .map(|d| {
                serde_json::json!({
                    "bar": d.bar,
                    "ts_ms": d.ts_ms,
                    "intent": d.intent,
                    "action": d.action,
                    "confidence": d.confidence,
                    "size_frac": d.size_frac,
                    "leverage": d.leverage,
                    "regime": d.regime,
                    "veto": d.veto,
                    "decision": serde_json::from_str::<serde_json::Value>(&d.decision_json).unwrap_or_default(),
                    "without": serde_json::from_str::<serde_json::Value>(&d.without_json).unwrap_or_default(),
                })
            })
            .collect();
        out.push(ExplainedTrade {
            trade: i,
            side: format!("{:?}", t.side).to_lowercase(),
            entry_ts_ms: t.entry_ts_ms,
            exit_ts_ms: t.exit_ts_ms,
            return_pct: t.return_pct,
            exit_reason: serde_json::to_value(t.exit_reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            decisions: ds,
        });
    }
    Ok(ExplainReply {
        run_id: req.run_id,
        strategy: run.record.strategy.unwrap_or_default(),
        trades: out,
    })
}

/// `algolab ai status`'s reply: what the seed's `/api/ai/status` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusReply {
    /// Weights in force (from the state file, else the defaults).
    pub weights: Weights,
    /// Per component: available or not and why.
    pub components: Vec<(String, bool, String)>,
    /// The LLM settings.
    pub llm: LlmConfig,
    /// LLM calls recorded (all, answered).
    pub llm_calls: (i64, i64),
    /// Evolved genomes stored.
    pub evolved_stored: usize,
    /// Online health per strategy and regime: (key, status, trades in window, win rate,
    /// expectancy).
    pub health: Vec<(String, String, usize, f64, f64)>,
    /// Results per leverage level: (leverage, trades, wins, return sum %).
    pub leverage: Vec<(f64, i64, i64, f64)>,
    /// The models the last `ai` run used (component → source), from the state file.
    pub sources: std::collections::BTreeMap<String, String>,
    /// The state file, when present.
    pub state_file: Option<PathBuf>,
    /// When it was written.
    pub updated_at: Option<String>,
}

/// `algolab ai status`.
///
/// # Errors
/// [`Error::Store`] when the DB exists but cannot be read.
pub fn status(ctx: &Ctx, llm: LlmConfig) -> Result<StatusReply, Error> {
    let state = load_state(&ctx.data_dir);
    let (llm_calls, evolved, dqn_models, leverage) = if ctx.db_path.exists() {
        let store = ctx.store()?;
        (
            store.llm_call_counts()?,
            store.list_evolved(None, 100_000)?.len(),
            store.list_models(None, Some("dqn"), 100_000)?.len(),
            store
                .leverage_summary()?
                .into_iter()
                .map(|r| (r.leverage, r.trades, r.wins, r.return_sum))
                .collect(),
        )
    } else {
        ((0, 0), 0, 0, Vec::new())
    };
    let shipped = |kind: &str| {
        crate::app::defaults::shipped()
            .iter()
            .any(|m| m.kind == kind)
    };
    let comp = |c: Component| -> (String, bool, String) {
        let (ok, why) = match c {
            Component::Technical => (true, "built in".to_string()),
            Component::Online => (true, "learns from closed trades".to_string()),
            Component::Evolved if evolved > 0 => (true, format!("{evolved} genomes stored")),
            Component::Evolved if shipped("evolved") => (
                true,
                "no genome stored: the shipped default models/default/evolved.json (BTC/USDT 1h)"
                    .into(),
            ),
            Component::Evolved => (false, "no evolved genome stored (algolab evolve)".into()),
            Component::Dqn if dqn_models > 0 => (
                true,
                format!("{dqn_models} DQN models stored; `ai` uses the latest for the symbol"),
            ),
            Component::Dqn if shipped("dqn") => (
                true,
                "no model stored: the shipped default models/default/dqn.json (BTC/USDT 1h)".into(),
            ),
            Component::Dqn => (
                false,
                "no trained DQN model in the DB (algolab train-rl)".into(),
            ),
            Component::Llm if !llm.enabled => (false, "AI_TRADING_ENABLED=false".into()),
            Component::Llm => (
                true,
                format!(
                    "{} at {} (backtests replay {} recorded answers)",
                    llm.model, llm.host, llm_calls.1
                ),
            ),
        };
        (c.to_string(), ok, why)
    };
    let health = state
        .as_ref()
        .map(|s| {
            s.online
                .health
                .iter()
                .map(|(k, h)| {
                    let st = match &h.status {
                        crate::ai::online::Status::Active => "active".to_string(),
                        crate::ai::online::Status::Healthy => "healthy".to_string(),
                        crate::ai::online::Status::Blocked { why, .. } => {
                            format!("blocked ({why})")
                        }
                    };
                    (k.clone(), st, h.recent.len(), h.win_rate(), h.expectancy())
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(StatusReply {
        weights: state
            .as_ref()
            .map_or_else(Weights::default, |s| s.weights.clone()),
        components: Component::ALL.into_iter().map(comp).collect(),
        llm,
        llm_calls,
        evolved_stored: evolved,
        health,
        leverage,
        sources: state
            .as_ref()
            .map(|s| s.sources.clone())
            .unwrap_or_default(),
        state_file: state.as_ref().map(|_| ctx.data_dir.join(STATE_FILE)),
        updated_at: state.map(|s| s.updated_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::advisor::Action;
    use crate::ai::orchestrator::{Decision, Inputs, Orchestrator};
    use crate::core::order::{ExitReason, Side};

    fn rec(ts: i64, intent: &str) -> DecisionRecord {
        DecisionRecord {
            bar: ts as usize,
            ts_ms: ts,
            position: None,
            decision: Orchestrator::default().decide(&Inputs::default()),
            without: vec![(Component::Technical, Action::Hold, 0.0)],
            intent: intent.into(),
        }
    }

    fn trade(entry: i64, exit: i64) -> Trade {
        Trade {
            side: Side::Long,
            qty: 1.0,
            entry_bar: entry as usize,
            exit_bar: exit as usize,
            entry_ts_ms: entry,
            exit_ts_ms: exit,
            entry_price: 100.0,
            exit_price: 101.0,
            pnl: 1.0,
            return_pct: 1.0,
            fees: 0.0,
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: ExitReason::Signal,
        }
    }

    #[test]
    fn decisions_link_to_the_trades_they_opened_and_closed() {
        let recs = vec![
            rec(10, "enter long"),
            rec(12, "hold"),
            rec(20, "exit"),
            rec(30, "enter long"),
            rec(31, "enter long"), // the position was already open: its order never filled
        ];
        let trades = vec![trade(11, 21), trade(32, 40)];
        assert_eq!(
            link(&recs, &trades),
            vec![Some(0), None, Some(0), None, Some(1)]
        );
        let rows = decision_rows(&recs, &trades);
        assert_eq!(rows[4].trade_seq, Some(1));
        let _: Decision = serde_json::from_str::<serde_json::Value>(&rows[0].decision_json)
            .map(|_| rec(0, "").decision)
            .unwrap();
    }

    #[test]
    fn weights_come_from_file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.toml");
        std::fs::write(&f, "technical = 0.5\n").unwrap();
        let w = weights(&AiOptions {
            weights_file: Some(f),
            weights: Some("llm=0".into()),
            ..AiOptions::default()
        })
        .unwrap();
        assert_eq!(w.of(Component::Technical), 0.5);
        assert_eq!(w.of(Component::Llm), 0.0);
        assert!(
            weights(&AiOptions {
                weights: Some("nope=1".into()),
                ..AiOptions::default()
            })
            .is_err()
        );
    }

    #[test]
    fn state_file_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let mut online = OnlineLearner::default();
        online.record("technical", crate::regime::Regime::Bull, 0.01);
        let s = OrchestratorState {
            run_id: Some(3),
            symbol: "BTC/USDT".into(),
            weights: Weights::default(),
            components: vec!["technical".into()],
            evolved_id: None,
            model_versions: Default::default(),
            sources: Default::default(),
            online,
            updated_at: "2026-01-01T00:00:00Z".into(),
        };
        let p = save_state(dir.path(), &s).unwrap();
        assert!(p.ends_with(STATE_FILE));
        assert_eq!(load_state(dir.path()), Some(s));
    }
}
