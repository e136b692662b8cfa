//! The Ollama HTTP call: `POST {host}/api/chat` with `model`, the two messages,
//! `stream: false`, `format` = the answer schema and `options: {temperature: 0, seed}`; the
//! answer is read from `message.content` and checked against the schema.
//!
//! The client owns a single-threaded tokio runtime so the synchronous strategy can call it;
//! every call is bounded by the configured timeout (connect included).

use std::time::Duration;

use super::prompt::{LlmAnswer, Prompt, answer_schema, parse_answer, short};
use super::{AnswerSource, CallKey, LlmConfig, LlmError};

/// A blocking Ollama client.
#[derive(Debug)]
pub struct OllamaClient {
    cfg: LlmConfig,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl OllamaClient {
    /// A client for `cfg`.
    ///
    /// # Errors
    /// [`LlmError::Disabled`] when `cfg.enabled` is false; [`LlmError::Config`] when the HTTP
    /// client or the runtime cannot be built.
    pub fn new(cfg: LlmConfig) -> Result<Self, LlmError> {
        if !cfg.enabled {
            return Err(LlmError::Disabled);
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .build()
            .map_err(|e| LlmError::Config(format!("http client: {e}")))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| LlmError::Config(format!("runtime: {e}")))?;
        Ok(OllamaClient { cfg, http, rt })
    }

    /// Its settings.
    pub fn config(&self) -> &LlmConfig {
        &self.cfg
    }

    /// The request body for `prompt`.
    pub fn request_body(&self, prompt: &Prompt) -> serde_json::Value {
        serde_json::json!({
            "model": self.cfg.model,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user}
            ],
            "stream": false,
            "format": answer_schema(),
            "options": {"temperature": 0, "seed": self.cfg.seed}
        })
    }

    /// Ask; `Ok((content, answer))` or the typed failure. Never waits longer than the
    /// timeout (plus the runtime's own small overhead).
    ///
    /// # Errors
    /// Every [`LlmError`] but `Disabled`/`NotRecorded`.
    pub fn chat(&self, prompt: &Prompt) -> Result<(String, LlmAnswer), LlmError> {
        let url = format!("{}/api/chat", self.cfg.host);
        let body = self.request_body(prompt);
        let timeout = self.cfg.timeout;
        let host = self.cfg.host.clone();
        let fut = async {
            let resp = self
                .http
                .post(&url)
                .json(&body)
                .send()
                .await
                .map_err(|e| transport(e, &host, timeout))?;
            let status = resp.status().as_u16();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| transport(e, &host, timeout))?;
            Ok::<_, LlmError>((status, bytes))
        };
        let (status, bytes) = self
            .rt
            .block_on(async {
                tokio::time::timeout(timeout + Duration::from_millis(50), fut).await
            })
            .map_err(|_| LlmError::Timeout(timeout))??;
        let text = String::from_utf8_lossy(&bytes).to_string();
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or_else(|| short(&text));
            return Err(LlmError::Http { status, message });
        }
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| LlmError::NotJson(format!("body: {e} in {:?}", short(&text))))?;
        if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
            return Err(LlmError::Http {
                status,
                message: e.to_string(),
            });
        }
        let content = v
            .get("message")
            .and_then(|m| m.get("content"))
            .and_then(|c| c.as_str())
            .ok_or_else(|| LlmError::Schema("no message.content in the response".into()))?;
        let answer = parse_answer(content)?;
        Ok((content.to_string(), answer))
    }
}

fn transport(e: reqwest::Error, host: &str, timeout: Duration) -> LlmError {
    if e.is_timeout() {
        LlmError::Timeout(timeout)
    } else {
        LlmError::Unreachable {
            host: host.to_string(),
            message: e.to_string(),
        }
    }
}

impl AnswerSource for OllamaClient {
    fn answer(&mut self, _key: &CallKey, prompt: &Prompt) -> Result<(String, LlmAnswer), LlmError> {
        self.chat(prompt)
    }

    fn mode(&self) -> &'static str {
        "live"
    }
}
