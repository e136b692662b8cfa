//! API credentials: the key is sent in the `X-MBX-APIKEY` header, the secret only ever signs.
//!
//! The secret never leaves this module except as HMAC output: [`Secret`] has no `Display`, its
//! `Debug` prints `***`, it is not `Serialize`, and [`Credentials`]' `Debug` shows the key's
//! first four characters only. Nothing here logs.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::venues::VenueError;

/// The environment variable holding the API key.
pub const API_KEY_VAR: &str = "BINANCE_API_KEY";
/// The environment variable holding the API secret.
pub const SECRET_VAR: &str = "BINANCE_SECRET";

/// An API secret. Its `Debug` is redacted and it cannot be displayed or serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The lowercase hex HMAC-SHA256 of `payload` under this secret: Binance's `signature`.
    pub fn sign(&self, payload: &str) -> String {
        sign(self.0.as_bytes(), payload)
    }
}

/// An API key and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    api_key: String,
    secret: Secret,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: String = self.api_key.chars().take(4).collect();
        f.debug_struct("Credentials")
            .field("api_key", &format_args!("{shown}…"))
            .field("secret", &self.secret)
            .finish()
    }
}

impl Credentials {
    /// Credentials from a key and a secret.
    ///
    /// # Errors
    /// [`VenueError::Auth`] when either is empty or holds whitespace or control characters
    /// (a header value must not).
    pub fn new(api_key: impl Into<String>, secret: impl Into<String>) -> Result<Self, VenueError> {
        let api_key = api_key.into();
        let secret = secret.into();
        let bad = |s: &str| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control());
        if bad(&api_key) {
            return Err(VenueError::Auth(format!(
                "{API_KEY_VAR} is empty or holds whitespace"
            )));
        }
        if bad(&secret) {
            return Err(VenueError::Auth(format!(
                "{SECRET_VAR} is empty or holds whitespace"
            )));
        }
        Ok(Credentials {
            api_key,
            secret: Secret(secret),
        })
    }

    /// Credentials from `BINANCE_API_KEY` and `BINANCE_SECRET`, looked up with `var` (pass
    /// `|k| std::env::var(k).ok()`; tests pass a map).
    ///
    /// # Errors
    /// [`VenueError::Auth`] naming the missing variable (never its value).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, VenueError> {
        let key = var(API_KEY_VAR)
            .ok_or_else(|| VenueError::Auth(format!("{API_KEY_VAR} is not set")))?;
        let secret =
            var(SECRET_VAR).ok_or_else(|| VenueError::Auth(format!("{SECRET_VAR} is not set")))?;
        Credentials::new(key.trim(), secret.trim())
    }

    /// Credentials from the process environment (`BINANCE_API_KEY`, `BINANCE_SECRET`).
    ///
    /// # Errors
    /// As [`Credentials::from_vars`].
    pub fn from_env() -> Result<Self, VenueError> {
        Credentials::from_vars(|k| std::env::var(k).ok())
    }

    /// The API key (sent as `X-MBX-APIKEY`; not a secret, but not shown in full either).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The secret, for signing only.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }
}

/// Lowercase hex HMAC-SHA256 of `payload` under `key`.
fn sign(key: &[u8], payload: &str) -> String {
    match <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(payload.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length; this arm cannot be reached.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPOT_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

    #[test]
    fn spot_signature_matches_the_documented_vector() {
        let s = Secret::new(SPOT_SECRET);
        let payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(
            s.sign(payload),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }

    #[test]
    fn futures_signature_matches_the_documented_vector() {
        let s = Secret::new("2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9");
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";
        assert_eq!(
            s.sign(payload),
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        );
    }

    #[test]
    fn debug_never_shows_the_secret_or_the_whole_key() {
        let c = Credentials::new(
            "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
            SPOT_SECRET,
        )
        .unwrap();
        let d = format!("{c:?} {:?} {:#?}", c.secret(), c);
        assert!(!d.contains(SPOT_SECRET), "{d}");
        assert!(!d.contains("vmPUZE6mv9SD5VNHk4Hl"), "{d}");
        assert!(d.contains("vmPU…"), "{d}");
    }

    #[test]
    fn missing_variables_are_named_without_values() {
        let e =
            Credentials::from_vars(|k| (k == API_KEY_VAR).then(|| "abc".to_string())).unwrap_err();
        assert_eq!(
            e.to_string(),
            "binance credentials: BINANCE_SECRET is not set"
        );
        let e = Credentials::new("key", "has space").unwrap_err();
        assert!(!e.to_string().contains("has space"));
        assert_eq!(e.exit_code(), 2);
    }
}
