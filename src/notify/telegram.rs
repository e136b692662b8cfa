//! The Telegram Bot API client: `sendMessage` (plain or HTML, split under 4 096 characters)
//! and `getUpdates` (for the chat commands of [`super::commands`]).
//!
//! Requests go to `{base_url}/bot{token}/{method}` as JSON `POST`s. The base URL defaults to
//! `https://api.telegram.org` and is overridden in tests with a loopback server. Every
//! request has a short timeout. A 429 answer carries `parameters.retry_after` (seconds): the
//! client waits it out when it is at most [`TelegramConfig::max_wait`] and tries again, and
//! gives up with [`NotifyError::RateLimited`] otherwise, so a flood limit never blocks a tick
//! for long. A 5xx or network error is retried once.
//!
//! The token is part of every URL, so no URL is ever put in an error (reqwest errors are
//! shown `without_url`), [`TelegramConfig`]'s `Debug` redacts it, and any text that reaches
//! an error is scrubbed of it.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Event, Format, NotifyError, TELEGRAM_MAX_CHARS, render, split_message};

/// The public Bot API server.
pub const DEFAULT_BASE_URL: &str = "https://api.telegram.org";

/// Where and how to send: token, chat, format, limits.
#[derive(Clone)]
pub struct TelegramConfig {
    token: String,
    /// The chat messages go to, and the only chat whose commands are obeyed.
    pub chat_id: String,
    /// The API server (tests point it at 127.0.0.1).
    pub base_url: String,
    /// Plain text or HTML.
    pub format: Format,
    /// Timeout of one request.
    pub timeout: Duration,
    /// The longest 429 `retry_after` worth waiting for; a longer one fails at once.
    pub max_wait: Duration,
    /// Tries per request (network errors, 5xx and short 429s count).
    pub max_tries: u32,
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("token", &"<redacted>")
            .field("chat_id", &self.chat_id)
            .field("base_url", &self.base_url)
            .field("format", &self.format)
            .field("timeout", &self.timeout)
            .field("max_wait", &self.max_wait)
            .field("max_tries", &self.max_tries)
            .finish()
    }
}

impl TelegramConfig {
    /// A configuration for bot `token` and chat `chat_id`, with the defaults: the public
    /// server, plain text, 5 s per request, 429 waits up to 10 s, 3 tries.
    ///
    /// # Errors
    /// [`NotifyError::Config`] for an empty token or chat id, or a token with characters
    /// that cannot be part of a URL path (the message never shows the token).
    pub fn new(token: &str, chat_id: &str) -> Result<TelegramConfig, NotifyError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(NotifyError::Config("TELEGRAM_BOT_TOKEN is empty".into()));
        }
        if !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))
        {
            return Err(NotifyError::Config(
                "TELEGRAM_BOT_TOKEN has characters a bot token cannot have".into(),
            ));
        }
        if chat_id.trim().is_empty() {
            return Err(NotifyError::Config("TELEGRAM_CHAT_ID is empty".into()));
        }
        Ok(TelegramConfig {
            token: token.to_string(),
            chat_id: chat_id.trim().to_string(),
            base_url: DEFAULT_BASE_URL.into(),
            format: Format::Plain,
            timeout: Duration::from_secs(5),
            max_wait: Duration::from_secs(10),
            max_tries: 3,
        })
    }

    /// The configuration from environment-style variables read through `var`:
    /// `TELEGRAM_BOT_TOKEN`, `TELEGRAM_CHAT_ID`, optionally `ALGOLAB_TELEGRAM_URL` (base URL)
    /// and `TELEGRAM_PARSE_MODE=HTML`. `None` when token or chat id is unset (Telegram off).
    ///
    /// # Errors
    /// As [`TelegramConfig::new`].
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
    ) -> Option<Result<TelegramConfig, NotifyError>> {
        let token = var("TELEGRAM_BOT_TOKEN").filter(|t| !t.trim().is_empty())?;
        let chat = var("TELEGRAM_CHAT_ID").filter(|t| !t.trim().is_empty())?;
        Some(TelegramConfig::new(&token, &chat).map(|mut c| {
            if let Some(url) = var("ALGOLAB_TELEGRAM_URL").filter(|u| !u.trim().is_empty()) {
                c.base_url = url.trim().to_string();
            }
            if var("TELEGRAM_PARSE_MODE").is_some_and(|m| m.eq_ignore_ascii_case("html")) {
                c.format = Format::Html;
            }
            c
        }))
    }

    /// Whether `text` contains the token (tests and the secrets scan use it).
    pub fn token_appears_in(&self, text: &str) -> bool {
        text.contains(&self.token)
    }

    fn scrub(&self, text: &str) -> String {
        text.replace(&self.token, "<redacted>")
    }
}

/// One `getUpdates` entry, reduced to what commands need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Telegram's `update_id` (the next poll's offset is the largest seen plus one).
    pub update_id: i64,
    /// The chat the message came from, if it was a message.
    pub chat_id: Option<String>,
    /// The message text, if any.
    pub text: Option<String>,
}

#[derive(Deserialize)]
struct ApiAnswer<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<i64>,
    description: Option<String>,
    parameters: Option<ApiParameters>,
}

#[derive(Deserialize)]
struct ApiParameters {
    retry_after: Option<u64>,
}

#[derive(Deserialize)]
struct RawUpdate {
    update_id: i64,
    message: Option<RawMessage>,
}

#[derive(Deserialize)]
struct RawMessage {
    chat: RawChat,
    text: Option<String>,
}

#[derive(Deserialize)]
struct RawChat {
    id: serde_json::Value,
}

/// The Bot API client. Cheap to share by reference.
#[derive(Debug)]
pub struct TelegramClient {
    client: reqwest::Client,
    cfg: TelegramConfig,
}

impl TelegramClient {
    /// Build a client.
    ///
    /// # Errors
    /// [`NotifyError::Config`] when the HTTP stack cannot be set up.
    pub fn new(cfg: TelegramConfig) -> Result<TelegramClient, NotifyError> {
        // Another part of the program may have installed it already: that is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .map_err(|e| NotifyError::Config(format!("cannot build http client: {e}")))?;
        Ok(TelegramClient { client, cfg })
    }

    /// The configuration.
    pub fn config(&self) -> &TelegramConfig {
        &self.cfg
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<T, NotifyError> {
        let url = format!(
            "{}/bot{}/{method}",
            self.cfg.base_url.trim_end_matches('/'),
            self.cfg.token
        );
        let mut tries = 0;
        loop {
            tries += 1;
            let last = tries >= self.cfg.max_tries.max(1);
            let resp = match self.client.post(&url).json(body).send().await {
                Ok(r) => r,
                Err(e) if !last => {
                    drop(e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(e) => {
                    return Err(NotifyError::Network {
                        method: method.into(),
                        cause: self.cfg.scrub(&e.without_url().to_string()),
                    });
                }
            };
            let status = resp.status().as_u16();
            let header_wait = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    return Err(NotifyError::Network {
                        method: method.into(),
                        cause: self.cfg.scrub(&e.without_url().to_string()),
                    });
                }
            };
            let answer: Option<ApiAnswer<T>> = serde_json::from_slice(&bytes).ok();
            if status >= 500 && !last {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let Some(answer) = answer else {
                return Err(NotifyError::Malformed {
                    method: method.into(),
                    cause: format!("http {status}, body is not a Bot API answer"),
                });
            };
            if answer.ok {
                return answer.result.ok_or_else(|| NotifyError::Malformed {
                    method: method.into(),
                    cause: "ok without result".into(),
                });
            }
            let code = answer.error_code.unwrap_or(i64::from(status));
            if code == 429 || status == 429 {
                let wait = answer
                    .parameters
                    .and_then(|p| p.retry_after)
                    .or(header_wait)
                    .unwrap_or(1);
                if last || Duration::from_secs(wait) > self.cfg.max_wait {
                    return Err(NotifyError::RateLimited {
                        method: method.into(),
                        retry_after_s: wait,
                    });
                }
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            return Err(NotifyError::Api {
                method: method.into(),
                code,
                description: self.cfg.scrub(&answer.description.unwrap_or_default()),
            });
        }
    }

    /// Send `text` to the configured chat, split into messages under 4 096 characters;
    /// returns how many messages were sent.
    ///
    /// # Errors
    /// The first [`NotifyError`]; the pieces before it were delivered.
    pub async fn send_text(&self, text: &str) -> Result<usize, NotifyError> {
        let parts = split_message(text, TELEGRAM_MAX_CHARS);
        for part in &parts {
            let mut body = json!({
                "chat_id": self.cfg.chat_id,
                "text": part,
                "disable_web_page_preview": true,
            });
            if self.cfg.format == Format::Html {
                body["parse_mode"] = json!("HTML");
            }
            self.call::<serde_json::Value>("sendMessage", &body).await?;
        }
        Ok(parts.len())
    }

    /// Send `event`, rendered in the configured format.
    ///
    /// # Errors
    /// As [`TelegramClient::send_text`].
    pub async fn send_event(&self, event: &Event) -> Result<usize, NotifyError> {
        self.send_text(&render(event, self.cfg.format)).await
    }

    /// The updates at or after `offset` (`getUpdates` with no long-polling wait).
    ///
    /// # Errors
    /// A [`NotifyError`] from the request.
    pub async fn get_updates(&self, offset: i64) -> Result<Vec<Update>, NotifyError> {
        let body = json!({"offset": offset, "timeout": 0, "allowed_updates": ["message"]});
        let raw: Vec<RawUpdate> = self.call("getUpdates", &body).await?;
        Ok(raw
            .into_iter()
            .map(|u| Update {
                update_id: u.update_id,
                chat_id: u.message.as_ref().map(|m| match &m.chat.id {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                }),
                text: u.message.and_then(|m| m.text),
            })
            .collect())
    }

    /// [`TelegramClient::send_text`] for synchronous callers (the tick): runs it on a
    /// private single-threaded runtime.
    ///
    /// # Errors
    /// As [`TelegramClient::send_text`]; [`NotifyError::Config`] when called from inside an
    /// async runtime (use the async method there).
    pub fn send_text_blocking(&self, text: &str) -> Result<usize, NotifyError> {
        block_on(self.send_text(text))
    }

    /// [`TelegramClient::get_updates`] for synchronous callers.
    ///
    /// # Errors
    /// As [`TelegramClient::send_text_blocking`].
    pub fn get_updates_blocking(&self, offset: i64) -> Result<Vec<Update>, NotifyError> {
        block_on(self.get_updates(offset))
    }
}

fn block_on<T>(
    fut: impl std::future::Future<Output = Result<T, NotifyError>>,
) -> Result<T, NotifyError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(NotifyError::Config(
            "blocking telegram call inside an async runtime".into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NotifyError::Config(format!("cannot start a runtime: {e}")))?;
    rt.block_on(fut)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456:ABC-very_secret_token";

    #[test]
    fn debug_never_shows_the_token() {
        let c = TelegramConfig::new(TOKEN, "42").unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("ABC-very_secret_token"), "{d}");
        assert!(d.contains("<redacted>") && d.contains("42"));
        let client = TelegramClient::new(c).unwrap();
        assert!(!format!("{client:?}").contains("very_secret"));
    }

    #[test]
    fn config_errors_never_show_the_token() {
        let e = TelegramConfig::new("bad token/with slash", "1").unwrap_err();
        assert!(!e.to_string().contains("with slash"), "{e}");
        assert!(TelegramConfig::new(" ", "1").is_err());
        assert!(TelegramConfig::new(TOKEN, "").is_err());
    }

    #[test]
    fn from_vars_is_off_without_token_or_chat_and_reads_url_and_mode() {
        let none = |_: &str| None;
        assert!(TelegramConfig::from_vars(none).is_none());
        let vars = |k: &str| match k {
            "TELEGRAM_BOT_TOKEN" => Some(TOKEN.to_string()),
            "TELEGRAM_CHAT_ID" => Some("-100".to_string()),
            "ALGOLAB_TELEGRAM_URL" => Some("http://127.0.0.1:9".to_string()),
            "TELEGRAM_PARSE_MODE" => Some("html".to_string()),
            _ => None,
        };
        let c = TelegramConfig::from_vars(vars).unwrap().unwrap();
        assert_eq!(c.base_url, "http://127.0.0.1:9");
        assert_eq!(c.format, Format::Html);
        assert_eq!(c.chat_id, "-100");
        assert!(c.token_appears_in(&format!("x{TOKEN}y")));
    }

    #[test]
    fn a_refused_connection_is_a_network_error_without_the_token() {
        let mut c = TelegramConfig::new(TOKEN, "1").unwrap();
        // a loopback port that was free a moment ago: nothing listens there
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        c.base_url = format!("http://127.0.0.1:{port}");
        c.max_tries = 1;
        let client = TelegramClient::new(c).unwrap();
        let e = client.send_text_blocking("hi").unwrap_err();
        assert!(matches!(e, NotifyError::Network { .. }), "{e}");
        assert!(!e.to_string().contains("very_secret"), "{e}");
        assert!(!format!("{e:?}").contains("very_secret"), "{e:?}");
    }
}
