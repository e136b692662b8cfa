//! The shared HTTP client of every venue ([`crate::venues::yahoo`], [`crate::venues::binance`]):
//! timeouts, retries with seeded, jittered exponential backoff, rate-limit handling, and the
//! typed [`NetError`] every request returns.
//!
//! Policy (issue "fetch", part 4):
//! - 5xx and network errors (connect, timeout, reset) are retried, at most
//!   [`HttpConfig::max_tries`] tries in all, waiting `base · 2^(try-1) · U[0.5, 1)` between
//!   tries (the jitter comes from a seeded ChaCha8 RNG, so runs are reproducible).
//! - 429 and 418 are retried after the server's `Retry-After` (seconds) when it fits within
//!   [`HttpConfig::max_wait`]; a longer ban fails at once instead of hanging the command.
//! - Every other 4xx is final and is handed back to the caller to interpret.
//! - Malformed JSON is an error naming the URL *path*; queries are never shown, since a
//!   signed request's query can hold secrets.
//!
//! This module does no disk I/O and reads no environment: the CLI builds [`HttpConfig`].

use std::sync::Mutex;
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;

use super::NetError;

/// The User-Agent sent with every request (Yahoo rejects an empty one).
pub const USER_AGENT: &str = concat!(
    "Mozilla/5.0 (compatible; algolab/",
    env!("CARGO_PKG_VERSION"),
    "; +https://github.com/algolab)"
);

/// Settings of the HTTP client. Build with [`HttpConfig::default`] and override fields.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    /// Per-request timeout (default 10 s).
    pub timeout: Duration,
    /// Tries per request in all, first included (default 5).
    pub max_tries: u32,
    /// Base backoff delay; try k waits `base · 2^(k-1)` scaled by jitter (default 500 ms).
    pub backoff_base: Duration,
    /// The longest single wait we accept (Retry-After, weight throttling; default 120 s).
    /// A `Retry-After` above it fails with [`NetError::RateLimited`] instead.
    pub max_wait: Duration,
    /// Seed of the jitter RNG.
    pub seed: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout: Duration::from_secs(10),
            max_tries: 5,
            backoff_base: Duration::from_millis(500),
            max_wait: Duration::from_secs(120),
            seed: 0,
        }
    }
}

/// A successful JSON answer and the headers the fetchers care about.
#[derive(Debug)]
pub struct JsonResponse<T> {
    /// The decoded body.
    pub body: T,
    /// Binance's `X-MBX-USED-WEIGHT-1M`, when present.
    pub used_weight_1m: Option<u32>,
}

/// A final non-2xx answer that the caller interprets (unknown symbol, bad request).
#[derive(Debug)]
pub struct ErrorResponse {
    /// The URL path (no query).
    pub path: String,
    /// The HTTP status.
    pub status: u16,
    /// The body as text (possibly empty).
    pub body: String,
}

/// What a request gave: a body, or a final 4xx for the caller to interpret.
pub type Answer<T> = Result<JsonResponse<T>, ErrorResponse>;

/// An HTTP client with the retry policy of the module doc. Cheap to share by reference.
#[derive(Debug)]
pub struct HttpClient {
    client: reqwest::Client,
    config: HttpConfig,
    rng: Mutex<ChaCha8Rng>,
}

impl HttpClient {
    /// Build a client (installs the ring rustls provider once per process).
    ///
    /// # Errors
    /// [`NetError::Setup`] when the TLS or HTTP stack cannot be set up.
    pub fn new(config: HttpConfig) -> Result<Self, NetError> {
        // Another part of the program may have installed it already: that is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| NetError::Setup(format!("cannot build http client: {e}")))?;
        let rng = Mutex::new(ChaCha8Rng::seed_from_u64(config.seed));
        Ok(HttpClient {
            client,
            config,
            rng,
        })
    }

    /// The settings.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// `GET base + path ? query`, decoded as JSON `T`, with the retry policy of the module
    /// doc. A final 4xx comes back as `Ok(Err(ErrorResponse))` for the caller to interpret.
    ///
    /// # Errors
    /// [`NetError::Server`], [`NetError::Network`], [`NetError::RateLimited`] when the
    /// tries run out; [`NetError::Malformed`] when a 2xx body is not `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        base: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Answer<T>, NetError> {
        let url = format!("{}{}", base.trim_end_matches('/'), path);
        let mut tries = 0u32;
        loop {
            tries += 1;
            let last = tries >= self.config.max_tries.max(1);
            let sent = self.client.get(&url).query(query).send().await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    if last {
                        return Err(NetError::Network {
                            path: path.to_string(),
                            tries,
                            cause: e.without_url().to_string(),
                        });
                    }
                    self.sleep(self.backoff(tries)).await;
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let used_weight_1m = resp
                .headers()
                .get("x-mbx-used-weight-1m")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if (200..300).contains(&status) {
                let bytes = match resp.bytes().await {
                    Ok(b) => b,
                    Err(_) if !last => {
                        self.sleep(self.backoff(tries)).await;
                        continue;
                    }
                    Err(e) => {
                        return Err(NetError::Network {
                            path: path.to_string(),
                            tries,
                            cause: e.without_url().to_string(),
                        });
                    }
                };
                let body = serde_json::from_slice(&bytes).map_err(|e| NetError::Malformed {
                    path: path.to_string(),
                    cause: format!("{e} (body starts {:?})", snippet(&bytes)),
                })?;
                return Ok(Ok(JsonResponse {
                    body,
                    used_weight_1m,
                }));
            }
            if status == 429 || status == 418 {
                let wait_s = retry_after.unwrap_or(1);
                let wait = Duration::from_secs(wait_s);
                if last || wait > self.config.max_wait {
                    return Err(NetError::RateLimited {
                        path: path.to_string(),
                        status,
                        retry_after_s: wait_s,
                    });
                }
                self.sleep(wait).await;
                continue;
            }
            if status >= 500 {
                if last {
                    return Err(NetError::Server {
                        path: path.to_string(),
                        status,
                        tries,
                    });
                }
                self.sleep(self.backoff(tries)).await;
                continue;
            }
            let body = resp.text().await.unwrap_or_default();
            return Ok(Err(ErrorResponse {
                path: path.to_string(),
                status,
                body,
            }));
        }
    }

    /// One request, no retry: the building block of signed exchange calls, whose retry policy
    /// depends on whether the request may have changed state (an order submit must not be
    /// resent blindly). `query` is sent as is (already encoded and signed); the body is empty.
    ///
    /// # Errors
    /// [`NetError::Unreachable`] when the request cannot have reached the server (connect
    /// failed); [`NetError::Network`] (tries 1) when it was sent and no answer came back
    /// (timeout, connection closed): the server may have acted on it.
    pub async fn send_once(
        &self,
        method: Method,
        base: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse, NetError> {
        let mut url = format!("{}{}", base.trim_end_matches('/'), path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        let m = match method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut req = self.client.request(m, &url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.map_err(|e| transport(path, &e))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let used_weight_1m =
            header("x-mbx-used-weight-1m").map(|v| v.min(u64::from(u32::MAX)) as u32);
        let retry_after_s = header("retry-after");
        let body = resp.text().await.map_err(|e| transport(path, &e))?;
        Ok(RawResponse {
            status,
            used_weight_1m,
            retry_after_s,
            body,
        })
    }

    /// The jittered backoff before try `tries + 1`.
    fn backoff(&self, tries: u32) -> Duration {
        let u: f64 = {
            let mut rng = self
                .rng
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            rng.random::<f64>()
        };
        backoff_delay(self.config.backoff_base, tries, u)
    }

    /// Sleep, never longer than `max_wait`.
    pub async fn sleep(&self, d: Duration) {
        let d = d.min(self.config.max_wait);
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }
}

/// The HTTP methods the exchanges use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

/// The answer of [`HttpClient::send_once`], whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: u16,
    /// Binance's `X-MBX-USED-WEIGHT-1M`, when present.
    pub used_weight_1m: Option<u32>,
    /// `Retry-After` in seconds, when present.
    pub retry_after_s: Option<u64>,
    /// The body as text.
    pub body: String,
}

/// A transport error of one attempt: unreachable (never sent) or lost (maybe acted on).
fn transport(path: &str, e: &reqwest::Error) -> NetError {
    let cause = e_without_url(e);
    if e.is_connect() {
        NetError::Unreachable {
            path: path.to_string(),
            cause,
        }
    } else {
        NetError::Network {
            path: path.to_string(),
            tries: 1,
            cause,
        }
    }
}

/// An error's text without its URL (a signed URL holds the signature).
fn e_without_url(e: &reqwest::Error) -> String {
    let mut s = String::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cur {
        if !s.is_empty() {
            s.push_str(": ");
        }
        let text = c.to_string();
        // reqwest prints "error sending request for url (…)": keep only the words before it
        s.push_str(text.split(" for url (").next().unwrap_or(""));
        cur = c.source();
    }
    s
}

/// The wait after failed try number `tries` (1-based): `base · 2^(tries-1) · (0.5 + u/2)`,
/// `u` uniform in [0, 1).
pub fn backoff_delay(base: Duration, tries: u32, u: f64) -> Duration {
    let exp = 2f64.powi(tries.saturating_sub(1).min(16) as i32);
    base.mul_f64(exp * (0.5 + 0.5 * u.clamp(0.0, 1.0)))
}

/// How long to pause after a response that reports `used` of `limit` request weight in the
/// current minute: nothing up to 80 %, then rising linearly to a full minute at 100 %.
pub fn weight_pause(used: u32, limit: u32) -> Duration {
    let threshold = f64::from(limit) * 0.8;
    let used = f64::from(used);
    if limit == 0 || used <= threshold {
        return Duration::ZERO;
    }
    let frac = ((used - threshold) / (f64::from(limit) - threshold)).min(1.0);
    Duration::from_secs_f64(60.0 * frac)
}

/// The first 80 characters of a body, for error messages.
fn snippet(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_try_and_jitter_scales_between_half_and_one() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff_delay(base, 1, 0.0), Duration::from_millis(50));
        assert_eq!(backoff_delay(base, 1, 1.0), Duration::from_millis(100));
        assert_eq!(backoff_delay(base, 3, 0.0), Duration::from_millis(200));
        assert_eq!(backoff_delay(base, 3, 0.5), Duration::from_millis(300));
    }

    #[test]
    fn weight_pause_starts_above_eighty_percent() {
        assert_eq!(weight_pause(4800, 6000), Duration::ZERO);
        assert_eq!(weight_pause(100, 6000), Duration::ZERO);
        // 5400 is halfway from 4800 to 6000: half a minute
        assert_eq!(weight_pause(5400, 6000), Duration::from_secs(30));
        assert_eq!(weight_pause(7000, 6000), Duration::from_secs(60));
    }
}
