//! The AI engine as the API of `serve` shows it (issue 14): component status with loaded
//! models and LLM reachability, the orchestrator's decision and the LLM advisor's opinion on
//! a symbol's latest closed bar, learning progress, recorded runs and the explained
//! decisions of a run (why each trade happened). Built on [`crate::app::ai`] and the
//! learning DB; the only writes are none.
//!
//! The decision on the latest bar runs the `ai` strategy (technical, evolved, online; the
//! LLM off so a request never calls Ollama many times) over the last [`DECISION_WINDOW`]
//! bars: the strategy keeps a record for each bar where any component was not HOLD, so a
//! latest bar without a record means every component held.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Ctx;
use super::bots::{Page, PageRequest, page};
use crate::Error;
use crate::ai::llm::{LlmAnswer, LlmConfig, MarketContext};
use crate::app::load::{DataSpec, load_data};
use crate::data::fmt_ts;
use crate::net::{HttpClient, HttpConfig};

/// Bars the decision endpoints run the strategy over (warm-up included).
pub const DECISION_WINDOW: usize = 2000;

/// Check a symbol from a request: 1–32 of `A–Z a–z 0–9 / = ^ . _ -`, no `..`.
///
/// # Errors
/// [`Error::Usage`] naming the rule broken.
pub fn check_symbol(symbol: &str) -> Result<(), Error> {
    let ok = !symbol.is_empty()
        && symbol.len() <= 32
        && !symbol.contains("..")
        && symbol
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '=' | '^' | '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "symbol {symbol:?} must be 1-32 of A-Z a-z 0-9 / = ^ . _ -"
        )))
    }
}

/// Whether something answered, and what it said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    /// True when it answered as expected.
    pub ok: bool,
    /// One line: what answered, or why not.
    pub detail: String,
}

/// An HTTP client for probes: one try, a short timeout.
///
/// # Errors
/// [`Error::Usage`] when the HTTP stack cannot be set up.
pub fn probe_client(timeout: Duration) -> Result<HttpClient, Error> {
    HttpClient::new(HttpConfig {
        timeout,
        max_tries: 1,
        ..HttpConfig::default()
    })
    .map_err(|e| Error::Usage(format!("http client: {e}")))
}

/// Block on `fut` on a private single-threaded runtime (callers are never on a runtime).
///
/// # Errors
/// [`Error::Usage`] when the runtime cannot be started.
pub fn block_on<T>(fut: impl std::future::Future<Output = T>) -> Result<T, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start a runtime: {e}")))?;
    Ok(rt.block_on(fut))
}

/// Is Ollama up at `llm.host`, and does it have `llm.model`? (`GET /api/tags`.)
pub fn probe_ollama(llm: &LlmConfig, timeout: Duration) -> Probe {
    if !llm.enabled {
        return Probe {
            ok: false,
            detail: "LLM advisor disabled (AI_TRADING_ENABLED=false)".into(),
        };
    }
    let http = match probe_client(timeout) {
        Ok(h) => h,
        Err(e) => {
            return Probe {
                ok: false,
                detail: e.to_string(),
            };
        }
    };
    let answer = block_on(http.get_json::<Value>(&llm.host, "/api/tags", &[]));
    match answer {
        Ok(Ok(Ok(r))) => {
            let names: Vec<String> = r.body["models"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["name"].as_str().map(str::to_string))
                .collect();
            let has = names.iter().any(|n| n == &llm.model);
            Probe {
                ok: true,
                detail: if has {
                    format!("Ollama at {} has {}", llm.host, llm.model)
                } else {
                    format!(
                        "Ollama at {} answers but has no {} ({} models)",
                        llm.host,
                        llm.model,
                        names.len()
                    )
                },
            }
        }
        Ok(Ok(Err(e))) => Probe {
            ok: false,
            detail: format!("Ollama at {}: http {}", llm.host, e.status),
        },
        Ok(Err(e)) => Probe {
            ok: false,
            detail: format!("Ollama unreachable at {}: {e}", llm.host),
        },
        Err(e) => Probe {
            ok: false,
            detail: e.to_string(),
        },
    }
}

/// One AI component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentView {
    /// `technical`, `dqn`, `evolved`, `llm`, `online`.
    pub component: String,
    /// Whether it is wired in.
    pub available: bool,
    /// Why (or why not).
    pub detail: String,
    /// Its weight in the orchestrator's vote.
    pub weight: f64,
}

/// A stored model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelView {
    /// Its id (the version users see).
    pub id: i64,
    /// The model it was trained from.
    pub parent_id: Option<i64>,
    /// `dqn` or `leverage-dqn`.
    pub kind: String,
    /// Symbol trained on.
    pub symbol: String,
    /// Environment steps trained.
    pub env_steps: u64,
    /// When stored.
    pub created_at: String,
    /// Test-window return, percent, when recorded.
    pub test_return_pct: Option<f64>,
}

/// The online learner's view of one strategy in one regime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthView {
    /// `strategy|regime`.
    pub key: String,
    /// `active`, `healthy` or `blocked (why)`.
    pub status: String,
    /// Trades in the rolling window.
    pub trades: usize,
    /// Win rate in the window, 0–1.
    pub win_rate: f64,
    /// Expectancy per trade, fraction of notional.
    pub expectancy: f64,
    /// Drifts detected so far (Page-Hinkley, ADWIN).
    pub drifts: u32,
}

/// `GET /api/ai/status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AiStatus {
    /// Each component.
    pub components: Vec<ComponentView>,
    /// The orchestrator's weights (`technical=0.3,…`).
    pub weights: String,
    /// The LLM's settings (no secrets: host, model, timeout, on/off).
    pub llm: LlmView,
    /// Stored models, newest first.
    pub models: Vec<ModelView>,
    /// Model versions the orchestrator's state file names.
    pub model_versions: std::collections::BTreeMap<String, i64>,
    /// The online learner's health per strategy and regime.
    pub health: Vec<HealthView>,
    /// Drift state: the keys blocked now.
    pub blocked: Vec<String>,
    /// Evolved genomes stored.
    pub evolved_stored: usize,
    /// When the orchestrator's state file was written.
    pub state_updated_at: Option<String>,
}

/// The LLM advisor's settings and reachability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmView {
    /// `OLLAMA_HOST`.
    pub host: String,
    /// `AI_MODEL`.
    pub model: String,
    /// Whether it is on.
    pub enabled: bool,
    /// Timeout per call, seconds.
    pub timeout_s: f64,
    /// Whether Ollama answered now.
    pub reachable: bool,
    /// What it answered, or why not.
    pub detail: String,
    /// Calls recorded in the DB.
    pub calls_recorded: i64,
    /// Of which answered.
    pub calls_answered: i64,
}

/// `GET /api/ai/status`: components, models, health, LLM reachability.
///
/// # Errors
/// [`Error::Store`] when the DB exists but cannot be read.
pub fn status(ctx: &Ctx, llm: &LlmConfig, probe_timeout: Duration) -> Result<AiStatus, Error> {
    let s = super::ai::status(ctx, llm.clone())?;
    let models = if ctx.db_path.exists() {
        ctx.store()?.list_models(None, None, 50)?
    } else {
        Vec::new()
    };
    let state = super::ai::load_state(&ctx.data_dir);
    let probe = probe_ollama(llm, probe_timeout);
    let weight_of =
        |name: &str| crate::ai::advisor::Component::parse(name).map_or(0.0, |c| s.weights.of(c));
    Ok(AiStatus {
        components: s
            .components
            .iter()
            .map(|(c, ok, why)| ComponentView {
                component: c.clone(),
                available: *ok,
                detail: why.clone(),
                weight: weight_of(c),
            })
            .collect(),
        weights: s.weights.to_spec(),
        llm: LlmView {
            host: llm.host.clone(),
            model: llm.model.clone(),
            enabled: llm.enabled,
            timeout_s: llm.timeout.as_secs_f64(),
            reachable: probe.ok,
            detail: probe.detail,
            calls_recorded: s.llm_calls.0,
            calls_answered: s.llm_calls.1,
        },
        models: models
            .into_iter()
            .map(|m| ModelView {
                test_return_pct: serde_json::from_str::<Value>(&m.metrics_json)
                    .ok()
                    .and_then(|v| v["test"]["return_pct"].as_f64()),
                id: m.id,
                parent_id: m.parent_id,
                kind: m.kind,
                symbol: m.symbol,
                env_steps: m.env_steps,
                created_at: m.created_at,
            })
            .collect(),
        model_versions: state
            .as_ref()
            .map(|s| s.model_versions.clone())
            .unwrap_or_default(),
        blocked: s
            .health
            .iter()
            .filter(|h| h.1.starts_with("blocked"))
            .map(|h| h.0.clone())
            .collect(),
        health: s
            .health
            .into_iter()
            .map(|(key, status, trades, win_rate, expectancy)| HealthView {
                drifts: state
                    .as_ref()
                    .and_then(|st| st.online.health.get(&key))
                    .map_or(0, |h| h.drifts),
                key,
                status,
                trades,
                win_rate,
                expectancy,
            })
            .collect(),
        evolved_stored: s.evolved_stored,
        state_updated_at: s.updated_at,
    })
}

/// One component's vote, with its reasons as text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoteView {
    /// The component.
    pub component: String,
    /// Configured weight.
    pub weight: f64,
    /// Weight after renormalisation (0 when absent).
    pub effective_weight: f64,
    /// Blocked by the online learner.
    pub blocked: bool,
    /// `BUY`, `SELL`, `HOLD`, or `null` without an opinion.
    pub action: Option<String>,
    /// Its confidence.
    pub confidence: Option<f64>,
    /// Its reasons, one phrase each (`ema cross up (fast 101.2, slow 100.9)`).
    pub reasons: Vec<String>,
}

/// A decision with every component's part and a sentence saying why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionView {
    /// Bar open time, UTC ms.
    pub ts_ms: i64,
    /// The same, ISO-8601.
    pub time: String,
    /// What was sent to the engine (`enter long`, `exit`, `hold`).
    pub intent: String,
    /// The final action.
    pub action: String,
    /// Its confidence.
    pub confidence: f64,
    /// The weighted score in [−1, 1].
    pub score: Option<f64>,
    /// Position size, fraction of equity.
    pub size_frac: f64,
    /// Leverage.
    pub leverage: f64,
    /// Market regime.
    pub regime: Option<String>,
    /// The LLM's veto, if it vetoed.
    pub veto: Option<String>,
    /// Each component's vote.
    pub votes: Vec<VoteView>,
    /// What each component's absence would have changed: (component, action, confidence).
    pub without: Vec<(String, String, f64)>,
    /// One sentence: the action and the votes behind it.
    pub why: String,
}

fn num_text(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e12 => format!("{x:.0}"),
            Some(x) if x.abs() >= 100.0 => format!("{x:.1}"),
            Some(x) => format!("{x:.3}"),
            None => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "none".into(),
        other => other.to_string(),
    }
}

/// A reason (`{"kind": "technical", "reason": {"kind": "rsi_below_overbought", "rsi": 61.2}}`)
/// as a phrase (`rsi below overbought (rsi 61.2)`).
pub fn reason_text(r: &Value) -> String {
    let kind = r["kind"].as_str().unwrap_or("reason");
    match kind {
        "technical" => reason_text(&r["reason"]),
        "llm" => {
            let mut s = format!("llm: {}", r["explanation"].as_str().unwrap_or(""));
            if let Some(w) = r["risk_warning"].as_str().filter(|w| !w.is_empty()) {
                s += &format!(" (risk: {w})");
            }
            s
        }
        "blocked" => format!("blocked: {}", r["why"].as_str().unwrap_or("")),
        "evolved_rule" => match r["id"].as_i64() {
            Some(id) => format!("evolved rule #{id}"),
            None => "evolved rule".into(),
        },
        "regime" => format!(
            "regime {} ({})",
            r["regime"].as_str().unwrap_or("?"),
            num_text(&r["confidence"])
        ),
        _ => {
            let fields: Vec<String> = r
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| k.as_str() != "kind")
                .map(|(k, v)| format!("{} {}", k.replace('_', " "), num_text(v)))
                .collect();
            let name = kind.replace('_', " ");
            if fields.is_empty() {
                name
            } else {
                format!("{name} ({})", fields.join(", "))
            }
        }
    }
}

fn votes_of(decision: &Value) -> Vec<VoteView> {
    decision["votes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let o = &v["opinion"];
            VoteView {
                component: v["component"].as_str().unwrap_or("").to_string(),
                weight: v["weight"].as_f64().unwrap_or(0.0),
                effective_weight: v["effective_weight"].as_f64().unwrap_or(0.0),
                blocked: v["blocked"].as_bool().unwrap_or(false),
                action: o["action"].as_str().map(str::to_string),
                confidence: o["confidence"].as_f64(),
                reasons: o["reasons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(reason_text)
                    .collect(),
            }
        })
        .collect()
}

/// The sentence of a decision: `BUY (confidence 0.64) in bull: technical BUY 0.70 because
/// ema cross up (…); evolved BUY 0.80 because evolved rule #3`.
pub fn why_sentence(
    action: &str,
    confidence: f64,
    regime: Option<&str>,
    votes: &[VoteView],
    veto: Option<&str>,
) -> String {
    let mut s = format!("{action} (confidence {confidence:.2})");
    if let Some(r) = regime {
        s += &format!(" in {r}");
    }
    let parts: Vec<String> = votes
        .iter()
        .filter_map(|v| {
            let a = v.action.as_deref()?;
            let mut p = format!("{} {a} {:.2}", v.component, v.confidence.unwrap_or(0.0));
            if v.blocked {
                p += " (blocked)";
            }
            if !v.reasons.is_empty() {
                p += &format!(" because {}", v.reasons.join(", "));
            }
            Some(p)
        })
        .collect();
    if !parts.is_empty() {
        s += &format!(": {}", parts.join("; "));
    }
    if let Some(v) = veto {
        s += &format!(". LLM veto: {v}");
    }
    s
}

fn view_of(ts_ms: i64, intent: &str, decision: &Value, without: &Value) -> DecisionView {
    let votes = votes_of(decision);
    let action = decision["action"].as_str().unwrap_or("HOLD").to_string();
    let confidence = decision["confidence"].as_f64().unwrap_or(0.0);
    let regime = decision["regime"].as_str().map(str::to_string);
    let veto = decision["veto"].as_str().map(str::to_string);
    DecisionView {
        ts_ms,
        time: fmt_ts(ts_ms),
        intent: intent.to_string(),
        why: why_sentence(
            &action,
            confidence,
            regime.as_deref(),
            &votes,
            veto.as_deref(),
        ),
        action,
        confidence,
        score: decision["score"].as_f64(),
        size_frac: decision["size_frac"].as_f64().unwrap_or(0.0),
        leverage: decision["leverage"].as_f64().unwrap_or(1.0),
        regime,
        veto,
        votes,
        without: without
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                (
                    w[0].as_str().unwrap_or("").to_string(),
                    w[1].as_str().unwrap_or("").to_string(),
                    w[2].as_f64().unwrap_or(0.0),
                )
            })
            .collect(),
    }
}

/// `POST /api/ai/decision` and `/api/ai/advice` bodies.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolRequest {
    /// The symbol (`BTC/USDT`, `GOOG`): the fetch cache, then the bundled datasets.
    pub symbol: String,
    /// The bar to judge (ISO-8601 or `YYYY-MM-DD`): the last bar opened at or before it;
    /// default the latest closed bar.
    #[serde(default)]
    pub bar_time: Option<String>,
}

/// `POST /api/ai/decision`'s reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionReply {
    /// The symbol.
    pub symbol: String,
    /// The bar decided on, UTC ms.
    pub bar_ts_ms: i64,
    /// The same, ISO-8601.
    pub bar_time: String,
    /// Its close.
    pub close: f64,
    /// Components wired in.
    pub components: Vec<String>,
    /// The decision on that bar (`None`: every component held).
    pub decision: Option<DecisionView>,
    /// `HOLD` when no component had another opinion.
    pub action: String,
    /// One sentence.
    pub why: String,
    /// The decisions before it with any non-HOLD opinion, newest first (at most 5).
    pub recent: Vec<DecisionView>,
    /// Bars the strategy ran over.
    pub bars_seen: usize,
    /// Warnings (components absent).
    pub warnings: Vec<String>,
}

fn bar_index(bars: &crate::data::Bars, bar_time: Option<&str>) -> Result<usize, Error> {
    let last = bars
        .len()
        .checked_sub(1)
        .ok_or_else(|| Error::Usage("the symbol has no bars".into()))?;
    let Some(t) = bar_time else { return Ok(last) };
    let ms = super::bots::iso_ms(t)
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc().timestamp_millis())
        })
        .ok_or_else(|| Error::Usage(format!("bar_time {t:?} is not ISO-8601 or YYYY-MM-DD")))?;
    let n = bars.ts_ms().partition_point(|&ts| ts <= ms);
    n.checked_sub(1).ok_or_else(|| {
        Error::Usage(format!(
            "bar_time {t:?} is before the first bar ({})",
            fmt_ts(bars.ts_ms()[0])
        ))
    })
}

/// The orchestrator's decision on a symbol's latest closed bar (or `bar_time`).
///
/// # Errors
/// [`Error::Usage`] for a bad symbol or bar time, [`Error::Data`] for an unknown symbol,
/// engine and DB failures.
pub fn decision(ctx: &Ctx, req: &SymbolRequest) -> Result<DecisionReply, Error> {
    check_symbol(&req.symbol)?;
    let data = load_data(&DataSpec::Symbol(req.symbol.clone()), &ctx.data_dir)?;
    let at = bar_index(&data.bars, req.bar_time.as_deref())?;
    let start = (at + 1).saturating_sub(DECISION_WINDOW);
    let bars = data.bars.slice(start..at + 1);
    let params = super::backtest::resolve_params("ai", &[])?;
    let opts = super::ai::AiOptions {
        llm: super::ai::LlmMode::Off,
        ..super::ai::AiOptions::default()
    };
    let cfg = crate::engine::BacktestConfig::default();
    let (mut strat, summary, _) = super::ai::build(ctx, &data, &params, &opts, cfg.leverage)?;
    super::backtest::run_strategy(&bars, &mut strat, "ai", &params, &cfg)?;
    let records = strat.take_decision_records();
    let last_ts = bars.ts_ms()[bars.len() - 1];
    let views: Vec<DecisionView> = records
        .iter()
        .map(|r| {
            let d = serde_json::to_value(&r.decision).unwrap_or_default();
            let w = serde_json::to_value(&r.without).unwrap_or_default();
            view_of(r.ts_ms, &r.intent, &d, &w)
        })
        .collect();
    let (now, before): (Vec<DecisionView>, Vec<DecisionView>) =
        views.into_iter().partition(|v| v.ts_ms == last_ts);
    let decision = now.into_iter().next_back();
    let (action, why) = match &decision {
        Some(d) => (d.action.clone(), d.why.clone()),
        None => (
            "HOLD".to_string(),
            "HOLD: every component held on this bar".to_string(),
        ),
    };
    Ok(DecisionReply {
        symbol: data.label,
        bar_ts_ms: last_ts,
        bar_time: fmt_ts(last_ts),
        close: bars.close()[bars.len() - 1],
        components: summary.components,
        decision,
        action,
        why,
        recent: before.into_iter().rev().take(5).collect(),
        bars_seen: bars.len(),
        warnings: summary.warnings,
    })
}

/// `POST /api/ai/advice`'s reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdviceReply {
    /// The symbol.
    pub symbol: String,
    /// The bar asked about, UTC ms.
    pub bar_ts_ms: i64,
    /// The same, ISO-8601.
    pub bar_time: String,
    /// The orchestrator's action the LLM was asked to judge.
    pub proposed: String,
    /// The model asked.
    pub model: String,
    /// The LLM's answer (action, confidence, veto, risk warning, explanation).
    pub answer: Option<LlmAnswer>,
    /// Why there is no answer (Ollama unreachable, timeout, bad answer, disabled).
    pub error: Option<String>,
}

/// The LLM advisor's opinion on a symbol's latest closed bar (or `bar_time`), given the
/// orchestrator's decision there as context.
///
/// # Errors
/// As [`decision`]. An LLM that does not answer is not an error: the reply's `error` says why.
pub fn advice(ctx: &Ctx, llm: &LlmConfig, req: &SymbolRequest) -> Result<AdviceReply, Error> {
    let d = decision(ctx, req)?;
    let data = load_data(&DataSpec::Symbol(req.symbol.clone()), &ctx.data_dir)?;
    let at = bar_index(&data.bars, req.bar_time.as_deref())?;
    let closes = data.bars.close()[(at + 1).saturating_sub(20)..=at].to_vec();
    let votes = d
        .decision
        .as_ref()
        .map(|x| x.votes.clone())
        .unwrap_or_default();
    let proposed = crate::ai::advisor::Action::parse(&d.action).unwrap_or_default();
    let mctx = MarketContext {
        symbol: d.symbol.clone(),
        bar_ts_ms: d.bar_ts_ms,
        proposed,
        confidence: d.decision.as_ref().map_or(0.0, |x| x.confidence),
        closes,
        indicators: Vec::new(),
        regime: d
            .decision
            .as_ref()
            .and_then(|x| x.regime.as_deref())
            .and_then(|r| serde_json::from_value(Value::String(r.to_string())).ok()),
        opinions: votes
            .iter()
            .filter_map(|v| {
                Some((
                    crate::ai::advisor::Component::parse(&v.component)?,
                    crate::ai::advisor::Action::parse(v.action.as_deref()?)?,
                    v.confidence.unwrap_or(0.0),
                ))
            })
            .collect(),
    };
    let prompt = crate::ai::llm::prompt::build(&mctx);
    let result =
        crate::ai::llm::client::OllamaClient::new(llm.clone()).and_then(|c| c.chat(&prompt));
    let (answer, error) = match result {
        Ok((_, a)) => (Some(a), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(AdviceReply {
        symbol: d.symbol,
        bar_ts_ms: d.bar_ts_ms,
        bar_time: d.bar_time,
        proposed: d.action,
        model: llm.model.clone(),
        answer,
        error,
    })
}

/// A recorded run, as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunView {
    /// Run id.
    pub id: i64,
    /// The subcommand.
    pub command: String,
    /// Symbol.
    pub symbol: Option<String>,
    /// Strategy.
    pub strategy: Option<String>,
    /// `running`, `completed`, `failed`.
    pub status: String,
    /// Start, ISO-8601.
    pub started_at: String,
    /// Total return, percent.
    pub return_pct: Option<f64>,
    /// Sharpe ratio.
    pub sharpe: Option<f64>,
    /// Closed trades.
    pub trades: Option<u64>,
    /// Win rate, percent.
    pub win_rate_pct: Option<f64>,
}

/// The `limit` most recent runs, newest first.
///
/// # Errors
/// [`Error::Store`] when the DB cannot be read.
pub fn runs(ctx: &Ctx, limit: usize) -> Result<Vec<RunView>, Error> {
    if !ctx.db_path.exists() {
        return Ok(Vec::new());
    }
    let runs = ctx.store()?.list_runs(limit)?;
    Ok(runs
        .into_iter()
        .map(|r| {
            let stats: Value = r
                .stats_json
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            RunView {
                id: r.id,
                command: r.record.command,
                symbol: r.record.symbol,
                strategy: r.record.strategy,
                status: r.status.as_str().to_string(),
                started_at: r.record.started_at,
                return_pct: stats["return_pct"].as_f64(),
                sharpe: stats["sharpe"].as_f64(),
                trades: stats["trades"].as_u64(),
                win_rate_pct: stats["win_rate_pct"].as_f64(),
            }
        })
        .collect())
}

/// A trade, briefly, as a decision links to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeBrief {
    /// Its number in the run (0-based).
    pub seq: i64,
    /// `long` or `short`.
    pub side: String,
    /// Entry time, ISO-8601.
    pub entry_time: String,
    /// Exit time, ISO-8601.
    pub exit_time: String,
    /// Entry price.
    pub entry_price: f64,
    /// Exit price.
    pub exit_price: f64,
    /// P&L after fees.
    pub pnl: Option<f64>,
    /// Return, percent.
    pub return_pct: Option<f64>,
    /// Why it closed.
    pub exit_reason: String,
}

/// A stored decision of a run, explained, with the trade it opened or closed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedDecision {
    /// Its number in the run.
    pub seq: i64,
    /// The decision.
    #[serde(flatten)]
    pub decision: DecisionView,
    /// The trade it opened or closed.
    pub trade: Option<TradeBrief>,
}

fn fin(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// A run's stored AI decisions, explained, newest first; `trades_only` keeps those linked
/// to a trade (why each trade happened).
///
/// # Errors
/// [`Error::Usage`] for an unknown run; [`Error::Store`] when the DB cannot be read.
pub fn run_decisions(
    ctx: &Ctx,
    run_id: i64,
    trades_only: bool,
    req: PageRequest,
) -> Result<Page<ExplainedDecision>, Error> {
    if !ctx.db_path.exists() {
        return Err(Error::Usage(format!("no run {run_id}: no learning DB yet")));
    }
    let store = ctx.store()?;
    store
        .load_run(run_id)
        .map_err(|_| Error::Usage(format!("no run {run_id}")))?;
    let trades = store.load_trades(run_id)?;
    let rows = store.load_decisions(run_id, None)?;
    let items: Vec<ExplainedDecision> = rows
        .into_iter()
        .filter(|d| !trades_only || d.trade_seq.is_some())
        .map(|d| {
            let dec: Value = serde_json::from_str(&d.decision_json).unwrap_or_default();
            let without: Value = serde_json::from_str(&d.without_json).unwrap_or_default();
            let trade = d
                .trade_seq
                .and_then(|s| trades.get(usize::try_from(s).ok()?).map(|t| (s, t)))
                .map(|(seq, t)| TradeBrief {
                    seq,
                    side: format!("{:?}", t.side).to_lowercase(),
                    entry_time: fmt_ts(t.entry_ts_ms),
                    exit_time: fmt_ts(t.exit_ts_ms),
                    entry_price: t.entry_price,
                    exit_price: t.exit_price,
                    pnl: fin(t.pnl),
                    return_pct: fin(t.return_pct),
                    exit_reason: serde_json::to_value(t.exit_reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                });
            ExplainedDecision {
                seq: d.seq,
                decision: view_of(d.ts_ms, &d.intent, &dec, &without),
                trade,
            }
        })
        .collect();
    Ok(page(&items, req))
}

/// One point of a rolling win rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WinRatePoint {
    /// Trades seen so far (1-based).
    pub trade: usize,
    /// Exit time of that trade, UTC ms.
    pub exit_ts_ms: i64,
    /// Win rate over the last [`WIN_RATE_WINDOW`] trades, percent.
    pub win_rate_pct: f64,
}

/// Trades in the rolling win rate's window.
pub const WIN_RATE_WINDOW: usize = 20;

/// A strategy's rolling win rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyWinRate {
    /// The strategy.
    pub strategy: String,
    /// Trades counted.
    pub trades: usize,
    /// The curve.
    pub points: Vec<WinRatePoint>,
}

/// Best fitness of one evolver generation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerationFitness {
    /// Generation.
    pub generation: usize,
    /// Genomes stored from it.
    pub genomes: usize,
    /// Best training fitness.
    pub best_fitness: f64,
    /// Best validation fitness.
    pub best_validation_fitness: Option<f64>,
}

/// One DQN training episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodePoint {
    /// 1-based.
    pub episode: u64,
    /// Sum of rewards.
    pub reward: Option<f64>,
    /// Validation score (Sharpe, or −2).
    pub validation_score: Option<f64>,
}

/// `GET /api/ai/learning`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Learning {
    /// Counts of what was learned from.
    pub counts: crate::store::TableCounts,
    /// Trades in the online learner's windows (state file).
    pub online_trades: usize,
    /// Model versions over time (oldest first).
    pub models: Vec<ModelView>,
    /// Rolling win rate per strategy over its recorded trades.
    pub win_rate: Vec<StrategyWinRate>,
    /// The evolver's best fitness by generation.
    pub evolver: Vec<GenerationFitness>,
    /// The newest DQN model's reward per training episode.
    pub dqn_model_id: Option<i64>,
    /// Its episodes.
    pub dqn_rewards: Vec<EpisodePoint>,
}

/// Rolling win rates of `(strategy, exit_ts_ms, pnl)` rows grouped by strategy.
pub fn rolling_win_rates(
    rows: &[crate::store::TradeOutcome],
    window: usize,
) -> Vec<StrategyWinRate> {
    let mut out: Vec<StrategyWinRate> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|s| s.strategy != r.strategy) {
            out.push(StrategyWinRate {
                strategy: r.strategy.clone(),
                trades: 0,
                points: Vec::new(),
            });
        }
        if let Some(s) = out.last_mut() {
            s.trades += 1;
            s.points.push(WinRatePoint {
                trade: s.trades,
                exit_ts_ms: r.exit_ts_ms,
                win_rate_pct: 0.0,
            });
        }
    }
    // the window over each strategy's own trades
    let mut k = 0;
    for s in &mut out {
        let wins: Vec<bool> = rows[k..k + s.trades].iter().map(|r| r.pnl > 0.0).collect();
        k += s.trades;
        for (i, p) in s.points.iter_mut().enumerate() {
            let from = (i + 1).saturating_sub(window);
            let w = &wins[from..=i];
            p.win_rate_pct = 100.0 * w.iter().filter(|x| **x).count() as f64 / w.len() as f64;
        }
    }
    out
}

/// Learning progress from the DB and the orchestrator's state file.
///
/// # Errors
/// [`Error::Store`] when the DB exists but cannot be read.
pub fn learning(ctx: &Ctx) -> Result<Learning, Error> {
    let online_trades = super::ai::load_state(&ctx.data_dir)
        .map(|s| s.online.health.values().map(|h| h.recent.len()).sum())
        .unwrap_or(0);
    if !ctx.db_path.exists() {
        return Ok(Learning {
            counts: crate::store::TableCounts::default(),
            online_trades,
            models: Vec::new(),
            win_rate: Vec::new(),
            evolver: Vec::new(),
            dqn_model_id: None,
            dqn_rewards: Vec::new(),
        });
    }
    let store = ctx.store()?;
    let mut models = store.list_models(None, None, 200)?;
    models.reverse();
    let newest_dqn = models
        .iter()
        .rev()
        .find(|m| m.kind == "dqn")
        .or(models.last());
    let (dqn_model_id, dqn_rewards) = match newest_dqn {
        Some(m) => {
            let v: Value = serde_json::from_str(&m.metrics_json).unwrap_or_default();
            let eps = v["episodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| EpisodePoint {
                    episode: e["episode"].as_u64().unwrap_or(0),
                    reward: e["reward"].as_f64(),
                    validation_score: e["validation_score"].as_f64(),
                })
                .collect();
            (Some(m.id), eps)
        }
        None => (None, Vec::new()),
    };
    let mut evolver: Vec<GenerationFitness> = Vec::new();
    let mut rows = store.list_evolved(None, 100_000)?;
    rows.sort_by_key(|r| r.generation);
    for r in rows {
        let val = fin(r.validation_fitness);
        match evolver.last_mut() {
            Some(g) if g.generation == r.generation => {
                g.genomes += 1;
                g.best_fitness = g.best_fitness.max(r.fitness);
                g.best_validation_fitness = match (g.best_validation_fitness, val) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            _ => evolver.push(GenerationFitness {
                generation: r.generation,
                genomes: 1,
                best_fitness: r.fitness,
                best_validation_fitness: val,
            }),
        }
    }
    Ok(Learning {
        counts: store.table_counts()?,
        online_trades,
        win_rate: rolling_win_rates(&store.trade_outcomes(2000)?, WIN_RATE_WINDOW),
        models: models
            .iter()
            .map(|m| ModelView {
                id: m.id,
                parent_id: m.parent_id,
                kind: m.kind.clone(),
                symbol: m.symbol.clone(),
                env_steps: m.env_steps,
                created_at: m.created_at.clone(),
                test_return_pct: serde_json::from_str::<Value>(&m.metrics_json)
                    .ok()
                    .and_then(|v| v["test"]["return_pct"].as_f64()),
            })
            .collect(),
        evolver,
        dqn_model_id,
        dqn_rewards,
    })
}

/// One of a bot's decisions: for an `ai` bot, an orchestrator decision its ticks stored in
/// the learning DB (opinions, weights, confidence, size, leverage, veto, why, the trade it
/// caused); for other strategies, a signal as it filled.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BotDecision {
    /// A stored AI decision, explained (as [`run_decisions`]).
    Ai(Box<ExplainedDecision>),
    /// A filled signal.
    Signal(super::bots::SignalDecision),
}

/// A bot's decisions, newest first: an `ai` bot's stored orchestrator decisions (the items
/// of [`run_decisions`] for the bot's run), else its signals as filled.
///
/// # Errors
/// As [`super::bots::equity`]; [`Error::Store`] when the learning DB cannot be read.
pub fn bot_decisions(ctx: &Ctx, bot: &str, req: PageRequest) -> Result<Page<BotDecision>, Error> {
    let dir = super::bots::existing_bot(ctx, bot)?;
    if let Some(run) = ai_bot_run(ctx, &dir)? {
        let p = run_decisions(ctx, run, false, req)?;
        return Ok(Page {
            total: p.total,
            offset: p.offset,
            limit: p.limit,
            items: p
                .items
                .into_iter()
                .map(|d| BotDecision::Ai(Box::new(d)))
                .collect(),
        });
    }
    let p = super::bots::signal_decisions(ctx, bot, req)?;
    Ok(Page {
        total: p.total,
        offset: p.offset,
        limit: p.limit,
        items: p.items.into_iter().map(BotDecision::Signal).collect(),
    })
}

/// The learning-DB run of an `ai` bot (its ticks store their decisions there).
fn ai_bot_run(ctx: &Ctx, dir: &crate::runner::BotDir) -> Result<Option<i64>, Error> {
    let state: Option<crate::runner::PaperState> =
        crate::runner::bot_dir::read_json(&dir.state_path())?;
    let Some(state) = state.filter(|s| s.strategy == "ai") else {
        return Ok(None);
    };
    if !ctx.db_path.is_file() {
        return Ok(None);
    }
    let store = ctx.store()?;
    Ok(store.find_bot_run(&state.mode, &dir.root().display().to_string())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TradeOutcome;

    #[test]
    fn symbols_are_checked() {
        for ok in ["BTC/USDT", "GC=F", "^GSPC", "BRK.B", "eur_usd-1"] {
            assert!(check_symbol(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../etc/passwd", "a b", "x;y", &"X".repeat(33), "a\0"] {
            assert!(check_symbol(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reasons_read_as_phrases() {
        let r = serde_json::json!({"kind": "technical", "reason": {"kind": "ema_cross_up", "fast": 101.25, "slow": 100.5}});
        assert_eq!(reason_text(&r), "ema cross up (fast 101.2, slow 100.5)");
        let r = serde_json::json!({"kind": "regime", "regime": "bull", "confidence": 0.75});
        assert_eq!(reason_text(&r), "regime bull (0.750)");
        let r = serde_json::json!({"kind": "llm", "explanation": "momentum", "risk_warning": "", "veto": false});
        assert_eq!(reason_text(&r), "llm: momentum");
        assert_eq!(
            reason_text(&serde_json::json!({"kind": "exit_signal"})),
            "exit signal"
        );
    }

    #[test]
    fn the_sentence_names_action_regime_and_votes() {
        let votes = vec![
            VoteView {
                component: "technical".into(),
                weight: 0.3,
                effective_weight: 0.5,
                blocked: false,
                action: Some("BUY".into()),
                confidence: Some(0.7),
                reasons: vec!["ema cross up".into()],
            },
            VoteView {
                component: "dqn".into(),
                weight: 0.2,
                effective_weight: 0.0,
                blocked: false,
                action: None,
                confidence: None,
                reasons: vec![],
            },
        ];
        assert_eq!(
            why_sentence("BUY", 0.64, Some("bull"), &votes, None),
            "BUY (confidence 0.64) in bull: technical BUY 0.70 because ema cross up"
        );
    }

    #[test]
    fn win_rates_roll_over_each_strategys_own_trades() {
        let t = |s: &str, pnl: f64| TradeOutcome {
            strategy: s.into(),
            run_id: 1,
            seq: 0,
            exit_ts_ms: 0,
            pnl,
        };
        let rows = vec![t("a", 1.0), t("a", -1.0), t("a", -1.0), t("b", 2.0)];
        let w = rolling_win_rates(&rows, 2);
        assert_eq!(w.len(), 2);
        let a: Vec<f64> = w[0].points.iter().map(|p| p.win_rate_pct).collect();
        assert_eq!(a, vec![100.0, 50.0, 0.0]);
        assert_eq!(w[1].points[0].win_rate_pct, 100.0);
    }
}
