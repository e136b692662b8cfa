//! The LLM's prompt (market context: price action, indicators, regime, the other components'
//! opinions), its hash, the answer's JSON schema and the strict check of an answer.

use sha2::{Digest, Sha256};

use crate::ai::advisor::{Action, Component};
use crate::regime::Regime;

/// What the LLM is told about the bar.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct MarketContext {
    /// The symbol.
    pub symbol: String,
    /// Open time of the bar (UTC ms).
    pub bar_ts_ms: i64,
    /// The action the orchestrator is about to take.
    pub proposed: Action,
    /// Its confidence.
    pub confidence: f64,
    /// The last closes (oldest first, at most 20).
    pub closes: Vec<f64>,
    /// Named indicator values (`rsi`, `adx`, `atr_pct`, …).
    pub indicators: Vec<(String, f64)>,
    /// The regime.
    pub regime: Option<Regime>,
    /// The other components' opinions: (component, action, confidence).
    pub opinions: Vec<(Component, Action, f64)>,
}

/// A chat prompt.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Prompt {
    /// The system message.
    pub system: String,
    /// The user message.
    pub user: String,
}

impl Prompt {
    /// SHA-256 (hex) of the model name, the system and the user text, NUL-separated.
    pub fn hash(&self, model: &str) -> String {
        let mut h = Sha256::new();
        h.update(model.as_bytes());
        h.update([0]);
        h.update(self.system.as_bytes());
        h.update([0]);
        h.update(self.user.as_bytes());
        hex::encode(h.finalize())
    }
}

const SYSTEM: &str = "You are the risk officer of a systematic crypto trading desk. You are \
shown the market context of one bar and the action the desk's models are about to take. Answer \
with one JSON object only: action (BUY, SELL or HOLD: what you would do), confidence (0 to 1), \
veto (true to block the proposed action), risk_warning and explanation (one sentence each). \
Veto only for a concrete risk you can name from the data shown.";

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.6}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        "n/a".into()
    }
}

/// The prompt for `ctx` (deterministic text, so equal contexts hash equally).
pub fn build(ctx: &MarketContext) -> Prompt {
    let mut u = format!(
        "Symbol: {}\nBar open time (UTC ms): {}\nProposed action: {} (confidence {})\n",
        ctx.symbol,
        ctx.bar_ts_ms,
        ctx.proposed,
        num(ctx.confidence)
    );
    u += &format!(
        "Regime: {}\n",
        ctx.regime.map_or("unknown".to_string(), |r| r.to_string())
    );
    let closes: Vec<String> = ctx.closes.iter().map(|c| num(*c)).collect();
    u += &format!("Last closes (oldest first): {}\n", closes.join(", "));
    for (k, v) in &ctx.indicators {
        u += &format!("{k}: {}\n", num(*v));
    }
    for (c, a, conf) in &ctx.opinions {
        u += &format!("Model {c}: {a} (confidence {})\n", num(*conf));
    }
    Prompt {
        system: SYSTEM.into(),
        user: u,
    }
}

/// The JSON schema sent as `format`.
pub fn answer_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["BUY", "SELL", "HOLD"]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "veto": {"type": "boolean"},
            "risk_warning": {"type": "string"},
            "explanation": {"type": "string"}
        },
        "required": ["action", "confidence", "veto", "risk_warning", "explanation"]
    })
}

/// The answer object.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LlmAnswer {
    /// `BUY`, `SELL` or `HOLD`.
    pub action: String,
    /// In [0, 1].
    pub confidence: f64,
    /// Block the proposed action.
    pub veto: bool,
    /// A risk warning.
    pub risk_warning: String,
    /// An explanation.
    pub explanation: String,
}

/// Check `content` against the schema: a JSON object with exactly the typed fields required
/// (extra fields are ignored), `action` one of the three, `confidence` a number in [0, 1].
///
/// # Errors
/// [`super::LlmError::NotJson`] when it is not JSON, [`super::LlmError::Schema`] otherwise.
pub fn parse_answer(content: &str) -> Result<LlmAnswer, super::LlmError> {
    use super::LlmError;
    let v: serde_json::Value = serde_json::from_str(content.trim())
        .map_err(|e| LlmError::NotJson(format!("{e} in {:?}", short(content))))?;
    let obj = v
        .as_object()
        .ok_or_else(|| LlmError::Schema("not an object".into()))?;
    let s = |k: &str| {
        obj.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| LlmError::Schema(format!("{k}: missing or not a string")))
    };
    let action = s("action")?;
    if Action::parse(&action).is_none_or(|a| a.as_str() != action) {
        return Err(LlmError::Schema(format!(
            "action {action:?} not one of BUY, SELL, HOLD"
        )));
    }
    let confidence = obj
        .get("confidence")
        .and_then(|x| x.as_f64())
        .ok_or_else(|| LlmError::Schema("confidence: missing or not a number".into()))?;
    if !(0.0..=1.0).contains(&confidence) {
        return Err(LlmError::Schema(format!(
            "confidence {confidence} outside [0, 1]"
        )));
    }
    let veto = obj
        .get("veto")
        .and_then(|x| x.as_bool())
        .ok_or_else(|| LlmError::Schema("veto: missing or not a boolean".into()))?;
    Ok(LlmAnswer {
        action,
        confidence,
        veto,
        risk_warning: s("risk_warning")?,
        explanation: s("explanation")?,
    })
}

/// The first 120 characters.
pub(crate) fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::llm::LlmError;

    #[test]
    fn prompt_is_deterministic_and_its_hash_depends_on_model_and_text() {
        let ctx = MarketContext {
            symbol: "BTC/USDT".into(),
            bar_ts_ms: 5,
            proposed: Action::Buy,
            confidence: 0.5,
            closes: vec![100.0, 101.5],
            indicators: vec![("rsi".into(), 55.25)],
            regime: Some(Regime::Bull),
            opinions: vec![(Component::Technical, Action::Buy, 0.8)],
        };
        let p = build(&ctx);
        assert_eq!(p, build(&ctx));
        assert!(p.user.contains("Last closes (oldest first): 100, 101.5"));
        assert!(p.user.contains("rsi: 55.25"));
        assert!(p.user.contains("Model technical: BUY (confidence 0.8)"));
        assert!(p.user.contains("Regime: bull"));
        assert_ne!(p.hash("a"), p.hash("b"));
        assert_eq!(p.hash("a").len(), 64);
    }

    #[test]
    fn answers_are_checked_against_the_schema() {
        let ok = r#"{"action":"SELL","confidence":0.7,"veto":false,"risk_warning":"w","explanation":"e","extra":1}"#;
        let a = parse_answer(ok).unwrap();
        assert_eq!(
            (a.action.as_str(), a.confidence, a.veto),
            ("SELL", 0.7, false)
        );
        assert!(matches!(
            parse_answer("I think BUY"),
            Err(LlmError::NotJson(_))
        ));
        for bad in [
            r#"[1]"#,
            r#"{"action":"buy","confidence":0.7,"veto":false,"risk_warning":"w","explanation":"e"}"#,
            r#"{"action":"BUY","confidence":1.7,"veto":false,"risk_warning":"w","explanation":"e"}"#,
            r#"{"action":"BUY","confidence":"high","veto":false,"risk_warning":"w","explanation":"e"}"#,
            r#"{"action":"BUY","confidence":0.5,"veto":"no","risk_warning":"w","explanation":"e"}"#,
            r#"{"action":"BUY","confidence":0.5,"veto":false,"explanation":"e"}"#,
        ] {
            assert!(
                matches!(parse_answer(bad), Err(LlmError::Schema(_))),
                "{bad}"
            );
        }
        let schema = answer_schema();
        assert_eq!(schema["required"].as_array().map(|r| r.len()), Some(5));
    }
}
