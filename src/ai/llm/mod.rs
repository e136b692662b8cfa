//! The LLM advisor: asks a local Ollama (`POST {OLLAMA_HOST}/api/chat`) for an opinion before
//! the orchestrator opens or increases a position, and may veto it.
//!
//! - [`LlmConfig`]: `OLLAMA_HOST` (default `http://localhost:11434`), `AI_MODEL` (default
//!   `qwen2.5:7b`), `AI_TIMEOUT` seconds (30), `AI_TRADING_ENABLED` (`false` turns it off).
//! - [`prompt`]: the market-context prompt, its hash, the answer's JSON schema and its check.
//! - [`client`]: the HTTP call (`stream: false`, `options: {temperature: 0, seed}`,
//!   `format` = the schema), every failure typed.
//! - [`LlmAdvisor`]: turns answers into opinions; where answers come from is an
//!   [`AnswerSource`] — live Ollama, or answers recorded earlier in the learning DB (the
//!   look-ahead guard: a backtest replays recorded answers unless `--llm live`).
//!
//! An unreachable, slow or failing Ollama (connection refused, 404 model not found, timeout,
//! non-JSON or schema-violating answer) makes the opinion absent, and the advisor keeps one
//! warning for the caller to print; it never hangs longer than the timeout or fails the run.

pub mod client;
pub mod prompt;

use std::collections::HashMap;
use std::time::Duration;

use crate::ai::advisor::{Action, Opinion, OpinionReason};
pub use prompt::{LlmAnswer, MarketContext, Prompt, answer_schema, parse_answer};

/// Where the LLM advisor points and whether it is on.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LlmConfig {
    /// Base URL (`OLLAMA_HOST`, default `http://localhost:11434`).
    pub host: String,
    /// Model (`AI_MODEL`, default `qwen2.5:7b`).
    pub model: String,
    /// Bound on each call (`AI_TIMEOUT` seconds, default 30).
    pub timeout: Duration,
    /// False when `AI_TRADING_ENABLED=false`.
    pub enabled: bool,
    /// Sampling seed sent in `options.seed`.
    pub seed: u64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            host: "http://localhost:11434".into(),
            model: "qwen2.5:7b".into(),
            timeout: Duration::from_secs(30),
            enabled: true,
            seed: 42,
        }
    }
}

impl LlmConfig {
    /// Read the settings through `var` (the CLI passes `std::env::var`); unset or empty
    /// variables keep their defaults, and a bad `AI_TIMEOUT` is an error.
    ///
    /// # Errors
    /// [`LlmError::Config`] for an `AI_TIMEOUT` that is not a positive number of seconds.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, LlmError> {
        let mut c = LlmConfig::default();
        let get = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        if let Some(h) = get("OLLAMA_HOST") {
            let h = h.trim().trim_end_matches('/').to_string();
            // Ollama's own convention: a bare host:port means http
            c.host = if h.contains("://") {
                h
            } else {
                format!("http://{h}")
            };
        }
        if let Some(m) = get("AI_MODEL") {
            c.model = m.trim().to_string();
        }
        if let Some(t) = get("AI_TIMEOUT") {
            let secs: f64 = t
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s > 0.0)
                .ok_or_else(|| {
                    LlmError::Config(format!("AI_TIMEOUT={t:?}: expected seconds > 0"))
                })?;
            c.timeout = Duration::from_secs_f64(secs);
        }
        if let Some(e) = get("AI_TRADING_ENABLED") {
            c.enabled = !matches!(
                e.trim().to_ascii_lowercase().as_str(),
                "false" | "0" | "no" | "off"
            );
        }
        Ok(c)
    }
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// The advisor is turned off.
    #[error("LLM advisor disabled (AI_TRADING_ENABLED=false)")]
    Disabled,
    /// A bad setting.
    #[error("{0}")]
    Config(String),
    /// No connection (refused, DNS, reset).
    #[error("Ollama unreachable at {host}: {message}")]
    Unreachable {
        /// The base URL.
        host: String,
        /// What failed.
        message: String,
    },
    /// No answer within the timeout.
    #[error("Ollama did not answer within {0:?}")]
    Timeout(Duration),
    /// An HTTP error status (`{"error": "…"}` body).
    #[error("Ollama http {status}: {message}")]
    Http {
        /// The status.
        status: u16,
        /// Ollama's `error` field, or the body's start.
        message: String,
    },
    /// The body or `message.content` is not JSON.
    #[error("Ollama answer is not JSON: {0}")]
    NotJson(String),
    /// The content is JSON but not the schema's object.
    #[error("Ollama answer violates the schema: {0}")]
    Schema(String),
    /// No recorded answer for this prompt (replay mode).
    #[error("no recorded LLM answer for this bar (replay)")]
    NotRecorded,
}

/// Identifies one question: the look-ahead guard's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct CallKey {
    /// SHA-256 of model, system and user text (hex).
    pub prompt_hash: String,
    /// The symbol.
    pub symbol: String,
    /// Open time of the bar decided on (UTC ms).
    pub bar_ts_ms: i64,
}

/// One question and its outcome, for the learning DB's `llm_calls` table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LlmRecord {
    /// The key.
    pub key: CallKey,
    /// The model asked.
    pub model: String,
    /// The prompt.
    pub prompt: Prompt,
    /// `message.content` as received (`None` when the call failed).
    pub content: Option<String>,
    /// The parsed answer.
    pub answer: Option<LlmAnswer>,
    /// The failure, if any.
    pub error: Option<String>,
    /// `live` or `replay`.
    pub mode: String,
}

/// Where answers come from.
pub trait AnswerSource {
    /// Answer `prompt` for `key`, or say why not; `Ok` carries the raw content and the
    /// parsed answer.
    ///
    /// # Errors
    /// [`LlmError`] for every way an answer can fail to arrive.
    fn answer(&mut self, key: &CallKey, prompt: &Prompt) -> Result<(String, LlmAnswer), LlmError>;
    /// `live` or `replay`.
    fn mode(&self) -> &'static str;
}

/// Answers recorded earlier, by key (the backtest default).
#[derive(Debug, Clone, Default)]
pub struct Replay {
    answers: HashMap<CallKey, String>,
}

impl Replay {
    /// From recorded `(key, content)` pairs.
    pub fn new(recorded: impl IntoIterator<Item = (CallKey, String)>) -> Self {
        Replay {
            answers: recorded.into_iter().collect(),
        }
    }

    /// Recorded answers held.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// True when none are held.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }
}

impl AnswerSource for Replay {
    fn answer(&mut self, key: &CallKey, _prompt: &Prompt) -> Result<(String, LlmAnswer), LlmError> {
        let content = self.answers.get(key).ok_or(LlmError::NotRecorded)?;
        Ok((content.clone(), parse_answer(content)?))
    }

    fn mode(&self) -> &'static str {
        "replay"
    }
}

/// The LLM component: asks its source, records every call, keeps one warning.
pub struct LlmAdvisor {
    source: Box<dyn AnswerSource + Send>,
    model: String,
    symbol: String,
    records: Vec<LlmRecord>,
    warning: Option<String>,
    warned: bool,
    asked: u64,
    answered: u64,
}

impl std::fmt::Debug for LlmAdvisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmAdvisor")
            .field("mode", &self.source.mode())
            .field("model", &self.model)
            .field("asked", &self.asked)
            .field("answered", &self.answered)
            .finish()
    }
}

impl LlmAdvisor {
    /// An advisor over `source` for `model`.
    pub fn new(source: Box<dyn AnswerSource + Send>, model: &str) -> Self {
        LlmAdvisor {
            source,
            model: model.to_string(),
            symbol: String::new(),
            records: Vec::new(),
            warning: None,
            warned: false,
            asked: 0,
            answered: 0,
        }
    }

    /// The symbol to ask about when the context leaves it empty.
    pub fn with_symbol(mut self, symbol: &str) -> Self {
        self.symbol = symbol.to_string();
        self
    }

    /// `live` or `replay`.
    pub fn mode(&self) -> &'static str {
        self.source.mode()
    }

    /// Questions asked and answered.
    pub fn counts(&self) -> (u64, u64) {
        (self.asked, self.answered)
    }

    /// Ask about `ctx`; an opinion, or `None` when no valid answer came (the first failure
    /// is kept as the warning).
    pub fn ask(&mut self, ctx: &MarketContext) -> Option<Opinion> {
        let filled;
        let ctx = if ctx.symbol.is_empty() && !self.symbol.is_empty() {
            filled = MarketContext {
                symbol: self.symbol.clone(),
                ..ctx.clone()
            };
            &filled
        } else {
            ctx
        };
        let prompt = prompt::build(ctx);
        let key = CallKey {
            prompt_hash: prompt.hash(&self.model),
            symbol: ctx.symbol.clone(),
            bar_ts_ms: ctx.bar_ts_ms,
        };
        self.asked += 1;
        let result = self.source.answer(&key, &prompt);
        let mode = self.source.mode().to_string();
        match result {
            Ok((content, answer)) => {
                self.answered += 1;
                let opinion = opinion_of(&answer);
                self.records.push(LlmRecord {
                    key,
                    model: self.model.clone(),
                    prompt,
                    content: Some(content),
                    answer: Some(answer),
                    error: None,
                    mode,
                });
                Some(opinion)
            }
            Err(e) => {
                if !self.warned {
                    self.warned = true;
                    self.warning = Some(format!("LLM advisor absent: {e}"));
                }
                // a missing replay answer is not a call: nothing to record
                if e != LlmError::NotRecorded {
                    self.records.push(LlmRecord {
                        key,
                        model: self.model.clone(),
                        prompt,
                        content: None,
                        answer: None,
                        error: Some(e.to_string()),
                        mode,
                    });
                }
                None
            }
        }
    }

    /// The first failure's warning, once.
    pub fn take_warning(&mut self) -> Option<String> {
        self.warning.take()
    }

    /// The calls made since the last take (for the learning DB).
    pub fn take_records(&mut self) -> Vec<LlmRecord> {
        std::mem::take(&mut self.records)
    }
}

/// The opinion an answer gives.
pub fn opinion_of(a: &LlmAnswer) -> Opinion {
    Opinion::new(
        Action::parse(&a.action).unwrap_or(Action::Hold),
        a.confidence,
        vec![OpinionReason::Llm {
            explanation: a.explanation.clone(),
            risk_warning: a.risk_warning.clone(),
            veto: a.veto,
        }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn config_reads_the_documented_variables() {
        let d = LlmConfig::from_vars(vars(&[])).unwrap();
        assert_eq!(d, LlmConfig::default());
        let c = LlmConfig::from_vars(vars(&[
            ("OLLAMA_HOST", "127.0.0.1:9999/"),
            ("AI_MODEL", "llama3.2:1b"),
            ("AI_TIMEOUT", "2.5"),
            ("AI_TRADING_ENABLED", "false"),
        ]))
        .unwrap();
        assert_eq!(c.host, "http://127.0.0.1:9999");
        assert_eq!(c.model, "llama3.2:1b");
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert!(!c.enabled);
        assert!(LlmConfig::from_vars(vars(&[("AI_TIMEOUT", "0")])).is_err());
        assert!(LlmConfig::from_vars(vars(&[("AI_TIMEOUT", "soon")])).is_err());
    }

    fn ctx() -> MarketContext {
        MarketContext {
            symbol: "BTC/USDT".into(),
            bar_ts_ms: 1_700_000_000_000,
            proposed: Action::Buy,
            ..MarketContext::default()
        }
    }

    #[test]
    fn replay_answers_recorded_keys_and_a_missing_one_is_absent_with_one_warning() {
        let c = ctx();
        let p = prompt::build(&c);
        let key = CallKey {
            prompt_hash: p.hash("m"),
            symbol: c.symbol.clone(),
            bar_ts_ms: c.bar_ts_ms,
        };
        let answer = r#"{"action":"HOLD","confidence":0.8,"veto":true,"risk_warning":"r","explanation":"too extended"}"#;
        let mut adv = LlmAdvisor::new(Box::new(Replay::new([(key, answer.into())])), "m");
        let o = adv.ask(&c).unwrap();
        assert_eq!(o.action, Action::Hold);
        assert!(
            matches!(&o.reasons[0], OpinionReason::Llm { veto: true, explanation, .. } if explanation == "too extended")
        );
        assert_eq!(adv.take_records().len(), 1);
        // another bar: not recorded → absent, one warning, nothing recorded
        let other = MarketContext {
            bar_ts_ms: c.bar_ts_ms + 1,
            ..c.clone()
        };
        assert!(adv.ask(&other).is_none());
        assert!(adv.ask(&other).is_none());
        assert!(adv.take_warning().is_some());
        assert!(adv.take_warning().is_none());
        assert!(adv.take_records().is_empty());
        assert_eq!(adv.counts(), (3, 1));
        // the same bar under another model is another key
        let mut other_model = LlmAdvisor::new(Box::new(Replay::default()), "m2");
        assert!(other_model.ask(&c).is_none());
    }
}
