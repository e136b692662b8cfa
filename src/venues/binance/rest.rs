//! The signed REST client: one [`Rest`] per API (spot or USD-M), over the shared
//! [`HttpClient`], with the shared [`WeightBudget`].
//!
//! Every call states its [`Effect`]. The retry policy follows from it:
//! - connection refused (never sent), 429/418 (Binance rejects the request unexecuted) and
//!   `-1021` (timestamp outside `recvWindow`: rejected; the clock offset is resynced first,
//!   once per call) are resent for every call;
//! - timeouts, lost answers, 5xx, `-1006` and `-1007` are resent for [`Effect::Read`] only.
//!   For [`Effect::Write`] they become [`VenueError::Unknown`]: the order may exist, and only
//!   a query by client id can tell (binance-spot-api-docs, "execution status unknown").
//!
//! Signing: `signature` = hex HMAC-SHA256 over the exact query string sent (`recvWindow` and
//! `timestamp` = local clock + server offset appended), sent last; the key goes in
//! `X-MBX-APIKEY`. Errors name the path only, never the query, so a signature or a key never
//! reaches a message or a log.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::budget::{Admit, WeightBudget};
use super::credentials::Credentials;
use super::{Market, server_time};
use crate::net::{HttpClient, Method, NetError, RawResponse};
use crate::venues::VenueError;

/// Whether a call can change state on the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only: safe to resend after any failure.
    Read,
    /// Places, cancels or changes something: resent only when it surely was not executed.
    Write,
}

/// Public market data or a signed account call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// No key, no signature.
    Public,
    /// `X-MBX-APIKEY`, `timestamp`, `recvWindow`, `signature`.
    Signed,
}

/// One REST call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<'a> {
    /// GET, POST, DELETE, …
    pub method: Method,
    /// The path, e.g. `/api/v3/order`.
    pub path: &'a str,
    /// Parameters in sending order (values unencoded).
    pub params: Vec<(&'a str, String)>,
    /// Request weight (Binance's documented cost).
    pub weight: u32,
    /// Public or signed.
    pub security: Security,
    /// Read or write.
    pub effect: Effect,
}

impl<'a> Call<'a> {
    /// A signed read.
    pub fn read(method: Method, path: &'a str, weight: u32) -> Self {
        Call {
            method,
            path,
            params: Vec::new(),
            weight,
            security: Security::Signed,
            effect: Effect::Read,
        }
    }

    /// A signed write.
    pub fn write(method: Method, path: &'a str, weight: u32) -> Self {
        Call {
            effect: Effect::Write,
            ..Call::read(method, path, weight)
        }
    }

    /// Add a parameter.
    #[must_use]
    pub fn param(mut self, key: &'a str, value: impl ToString) -> Self {
        self.params.push((key, value.to_string()));
        self
    }

    /// Add a parameter when `value` is `Some`.
    #[must_use]
    pub fn param_opt(self, key: &'a str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.param(key, v),
            None => self,
        }
    }
}

/// Settings of a [`Rest`] client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestConfig {
    /// `recvWindow`, ms (Binance default 5000, spot maximum 60000).
    pub recv_window_ms: u64,
    /// Tries per call in all (resends allowed by the policy of the module doc).
    pub max_tries: u32,
}

impl Default for RestConfig {
    fn default() -> Self {
        RestConfig {
            recv_window_ms: 5000,
            max_tries: 4,
        }
    }
}

/// A REST client of one Binance API.
#[derive(Debug)]
pub struct Rest {
    http: Arc<HttpClient>,
    base: String,
    market: Market,
    credentials: Option<Credentials>,
    budget: Arc<WeightBudget>,
    config: RestConfig,
    offset_ms: AtomicI64,
    synced: AtomicBool,
}

/// The local wall clock, UTC ms.
pub fn local_now_ms() -> i64 {
    #[allow(
        clippy::disallowed_methods,
        reason = "signed requests carry the wall clock (corrected by the server offset)"
    )]
    let now = chrono::Utc::now().timestamp_millis();
    now
}

impl Rest {
    /// A client of `market` at `base`. Without credentials only public calls work.
    pub fn new(
        http: Arc<HttpClient>,
        base: impl Into<String>,
        market: Market,
        credentials: Option<Credentials>,
        budget: Arc<WeightBudget>,
        config: RestConfig,
    ) -> Self {
        Rest {
            http,
            base: base.into().trim_end_matches('/').to_string(),
            market,
            credentials,
            budget,
            config,
            offset_ms: AtomicI64::new(0),
            synced: AtomicBool::new(false),
        }
    }

    /// The API this client talks to.
    pub fn market(&self) -> Market {
        self.market
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The shared weight budget.
    pub fn budget(&self) -> &Arc<WeightBudget> {
        &self.budget
    }

    /// Server time minus local time, ms, as last measured.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// The exchange's clock now: local clock + offset (the tick's "now").
    pub fn server_now_ms(&self) -> i64 {
        local_now_ms() + self.offset_ms()
    }

    /// Measure the server clock offset (`GET /api/v3/time` or `/fapi/v1/time`), taking the
    /// arrival of the answer as its local time (timestamps then never run ahead of the
    /// exchange's clock).
    ///
    /// # Errors
    /// The errors of [`server_time`]; [`NetError::RateLimited`] during a ban (nothing is
    /// sent then).
    pub async fn sync_time(&self) -> Result<i64, VenueError> {
        self.admit(1, self.market.time_path()).await?;
        let server = server_time(&self.http, &self.base, self.market).await?;
        let t1 = local_now_ms();
        // Anchor at the arrival of the answer, not the round trip's midpoint: the server read
        // its clock before we received it, so `local + offset` never runs ahead of the
        // exchange's clock (Binance rejects a timestamp more than 1 s ahead with -1021) and
        // lags it by at most the round trip, which `recvWindow` absorbs. A midpoint estimate
        // runs up to half a slow round trip ahead.
        let offset = server - t1;
        self.offset_ms.store(offset, Ordering::Relaxed);
        self.synced.store(true, Ordering::Relaxed);
        Ok(server)
    }

    /// Make one call with the policy of the module doc; the decoded JSON body on success.
    ///
    /// # Errors
    /// [`VenueError::Auth`] for a signed call without credentials; [`VenueError::Exchange`]
    /// for an error code; [`VenueError::Unknown`] for an ambiguous write;
    /// [`NetError::RateLimited`] when a ban or throttle outlasts the longest wait;
    /// [`NetError::Server`] / [`NetError::Network`] / [`NetError::Unreachable`] when the
    /// tries run out; [`VenueError::Malformed`] for a body that is not JSON.
    pub async fn call(&self, call: &Call<'_>) -> Result<Value, VenueError> {
        let creds = match call.security {
            Security::Signed => Some(self.credentials.as_ref().ok_or_else(|| {
                VenueError::Auth(format!(
                    "{} needs BINANCE_API_KEY and BINANCE_SECRET",
                    call.path
                ))
            })?),
            Security::Public => None,
        };
        if creds.is_some() && !self.synced.load(Ordering::Relaxed) {
            self.sync_time().await?;
        }
        let max_wait = self.http.config().max_wait;
        let path = call.path;
        let mut tries = 0u32;
        let mut resynced = false;
        loop {
            tries += 1;
            let last = tries >= self.config.max_tries.max(1);
            // the budget first: nothing is sent during a ban
            self.admit(call.weight, path).await?;
            let mut query = encode(&call.params);
            let key_header;
            let mut headers: Vec<(&str, &str)> = Vec::new();
            if let Some(c) = creds {
                if !query.is_empty() {
                    query.push('&');
                }
                query.push_str(&format!(
                    "recvWindow={}&timestamp={}",
                    self.config.recv_window_ms,
                    self.server_now_ms()
                ));
                let sig = c.secret().sign(&query);
                query.push_str("&signature=");
                query.push_str(&sig);
                key_header = c.api_key().to_string();
                headers.push(("X-MBX-APIKEY", key_header.as_str()));
            }
            let sent = self
                .http
                .send_once(call.method, &self.base, path, &query, &headers)
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(NetError::Unreachable { cause, .. }) if !last => {
                    let _ = cause;
                    self.http.sleep(self.backoff(tries)).await;
                    continue;
                }
                Err(e @ NetError::Unreachable { .. }) => return Err(e.into()),
                Err(e) if call.effect == Effect::Write => {
                    return Err(VenueError::Unknown {
                        path: path.to_string(),
                        cause: e.to_string(),
                    });
                }
                Err(_) if !last => {
                    self.http.sleep(self.backoff(tries)).await;
                    continue;
                }
                Err(NetError::Network { cause, .. }) => {
                    return Err(NetError::Network {
                        path: path.to_string(),
                        tries,
                        cause,
                    }
                    .into());
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(used) = resp.used_weight_1m {
                self.budget.observe(used, local_now_ms());
            }
            match classify(&resp) {
                Outcome::Ok => {
                    return serde_json::from_str(&resp.body).map_err(|e| VenueError::Malformed {
                        path: path.to_string(),
                        cause: format!("{e}"),
                    });
                }
                Outcome::RateLimited { retry_after_s } => {
                    self.budget.ban(retry_after_s, local_now_ms());
                    if last || Duration::from_secs(retry_after_s) > max_wait {
                        return Err(NetError::RateLimited {
                            path: path.to_string(),
                            status: resp.status,
                            retry_after_s,
                        }
                        .into());
                    }
                    continue;
                }
                Outcome::ClockSkew { code, msg } => {
                    if resynced {
                        return Err(VenueError::Exchange {
                            path: path.to_string(),
                            status: resp.status,
                            code,
                            msg,
                        });
                    }
                    resynced = true;
                    tries -= 1;
                    self.sync_time().await?;
                    continue;
                }
                Outcome::Ambiguous { cause } => {
                    if call.effect == Effect::Write {
                        return Err(VenueError::Unknown {
                            path: path.to_string(),
                            cause,
                        });
                    }
                    if last {
                        return Err(NetError::Server {
                            path: path.to_string(),
                            status: resp.status,
                            tries,
                        }
                        .into());
                    }
                    self.http.sleep(self.backoff(tries)).await;
                    continue;
                }
                Outcome::Error { code, msg } => {
                    return Err(match code {
                        Some(code) => VenueError::Exchange {
                            path: path.to_string(),
                            status: resp.status,
                            code,
                            msg,
                        },
                        None => VenueError::Rejected {
                            path: path.to_string(),
                            status: resp.status,
                            message: msg,
                        },
                    });
                }
            }
        }
    }

    /// Wait for the budget to admit a request of `weight`, or fail when the wait would
    /// outlast the longest one allowed.
    async fn admit(&self, weight: u32, path: &str) -> Result<(), VenueError> {
        loop {
            match self.budget.admit(weight, local_now_ms()) {
                Admit::Go => return Ok(()),
                Admit::Wait { ms, banned } => {
                    let wait = Duration::from_millis(ms);
                    if wait > self.http.config().max_wait {
                        return Err(NetError::RateLimited {
                            path: path.to_string(),
                            status: if banned { 429 } else { 200 },
                            retry_after_s: ms.div_ceil(1000),
                        }
                        .into());
                    }
                    self.http.sleep(wait).await;
                }
            }
        }
    }

    fn backoff(&self, tries: u32) -> Duration {
        crate::net::backoff_delay(self.http.config().backoff_base, tries, 0.5)
    }
}

/// What an answer means for the retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    RateLimited { retry_after_s: u64 },
    ClockSkew { code: i64, msg: String },
    Ambiguous { cause: String },
    Error { code: Option<i64>, msg: String },
}

/// Binance's `{"code": -1121, "msg": "…"}`, if the body is one.
pub fn error_body(body: &str) -> Option<(i64, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let code = v.get("code")?.as_i64()?;
    let msg = v
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Some((code, msg))
}

fn classify(r: &RawResponse) -> Outcome {
    let err = error_body(&r.body);
    let code = err.as_ref().map(|(c, _)| *c);
    if (200..300).contains(&r.status) && code.is_none_or(|c| c == 200 || c == 0) {
        return Outcome::Ok;
    }
    if r.status == 429 || r.status == 418 || code == Some(-1003) {
        return Outcome::RateLimited {
            retry_after_s: r.retry_after_s.unwrap_or(60),
        };
    }
    match (r.status, err) {
        (_, Some((-1021, msg))) => Outcome::ClockSkew { code: -1021, msg },
        (_, Some((c @ (-1006 | -1007), msg))) => Outcome::Ambiguous {
            cause: format!("exchange error {c}: {msg}"),
        },
        (s, _) if s >= 500 => Outcome::Ambiguous {
            cause: format!("http {s}"),
        },
        // a 2xx with a non-success code is still an error answer
        (_, Some((c, msg))) => Outcome::Error { code: Some(c), msg },
        (s, None) => Outcome::Error {
            code: None,
            msg: format!("http {s}: {}", r.body.chars().take(120).collect::<String>()),
        },
    }
}

/// `k=v&k=v` with values percent-encoded (unreserved characters kept).
pub fn encode(params: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (k, v) in params {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: u16, body: &str, retry_after_s: Option<u64>) -> RawResponse {
        RawResponse {
            status,
            used_weight_1m: None,
            retry_after_s,
            body: body.to_string(),
        }
    }

    #[test]
    fn answers_are_classified_as_the_policy_needs() {
        assert_eq!(classify(&raw(200, "{\"orderId\":1}", None)), Outcome::Ok);
        assert_eq!(
            classify(&raw(429, "{\"code\":-1003,\"msg\":\"Too many\"}", Some(7))),
            Outcome::RateLimited { retry_after_s: 7 }
        );
        assert_eq!(
            classify(&raw(418, "", None)),
            Outcome::RateLimited { retry_after_s: 60 }
        );
        assert!(matches!(
            classify(&raw(400, "{\"code\":-1021,\"msg\":\"Timestamp\"}", None)),
            Outcome::ClockSkew { code: -1021, .. }
        ));
        assert!(matches!(
            classify(&raw(408, "{\"code\":-1007,\"msg\":\"Timeout\"}", None)),
            Outcome::Ambiguous { .. }
        ));
        assert!(matches!(
            classify(&raw(503, "Service Unavailable", None)),
            Outcome::Ambiguous { .. }
        ));
        assert_eq!(
            classify(&raw(
                400,
                "{\"code\":-2010,\"msg\":\"Duplicate order sent.\"}",
                None
            )),
            Outcome::Error {
                code: Some(-2010),
                msg: "Duplicate order sent.".into()
            }
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        let q = encode(&[
            ("symbol", "BTCUSDT".into()),
            ("newClientOrderId", "b1_1700000000000_e0".into()),
            ("x", "a b&c".into()),
        ]);
        assert_eq!(
            q,
            "symbol=BTCUSDT&newClientOrderId=b1_1700000000000_e0&x=a%20b%26c"
        );
    }
}
