//! Where a trading client connects: the testnet by default, the real exchange only when the
//! caller says so explicitly ([`Network::Live`], wired to `--live --i-understand-real-money`),
//! and any base URL from `ALGOLAB_BINANCE_URL` / `ALGOLAB_BINANCE_FUTURES_URL` (the variables
//! `fetch` reads), so tests point the bot at a server on 127.0.0.1.

use crate::venues::VenueError;

/// The spot testnet (`/api` endpoints only; balances reset about monthly).
pub const SPOT_TESTNET_BASE: &str = "https://testnet.binance.vision";
/// The USD-M futures test environment (`demo-fapi` in recent clients; the older
/// `testnet.binancefuture.com` serves the same API).
pub const FUTURES_TESTNET_BASE: &str = "https://demo-fapi.binance.com";
/// The environment variable overriding the spot base URL.
pub const SPOT_URL_VAR: &str = "ALGOLAB_BINANCE_URL";
/// The environment variable overriding the futures base URL.
pub const FUTURES_URL_VAR: &str = "ALGOLAB_BINANCE_FUTURES_URL";

/// Test money or real money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// The Binance testnets (the default).
    Testnet,
    /// The real exchange: real money. Only with an explicit flag.
    Live,
}

/// Base URLs of a trading client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrls {
    /// Spot REST base.
    pub spot: String,
    /// USD-M futures REST base.
    pub futures: String,
    /// Which network the defaults pointed at (an override keeps the flag it was given).
    pub network: Network,
}

impl BaseUrls {
    /// The defaults of `network`, replaced by `ALGOLAB_BINANCE_URL` /
    /// `ALGOLAB_BINANCE_FUTURES_URL` when `var` returns them (pass `|k| std::env::var(k).ok()`).
    ///
    /// # Errors
    /// [`VenueError::BadArgs`] for an override that is not an `http://` or `https://` URL.
    pub fn resolve(
        network: Network,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, VenueError> {
        let (spot, futures) = match network {
            Network::Testnet => (SPOT_TESTNET_BASE, FUTURES_TESTNET_BASE),
            Network::Live => (
                super::market::DEFAULT_SPOT_BASE,
                super::market::DEFAULT_FUTURES_BASE,
            ),
        };
        let pick = |name: &str, default: &str| -> Result<String, VenueError> {
            match var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            {
                Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                    Ok(v.trim_end_matches('/').to_string())
                }
                Some(v) => Err(VenueError::BadArgs(format!(
                    "{name}={v:?} is not an http(s) URL"
                ))),
                None => Ok(default.to_string()),
            }
        };
        Ok(BaseUrls {
            spot: pick(SPOT_URL_VAR, spot)?,
            futures: pick(FUTURES_URL_VAR, futures)?,
            network,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testnet_is_the_default_and_live_needs_asking() {
        let t = BaseUrls::resolve(Network::Testnet, |_| None).unwrap();
        assert_eq!(t.spot, SPOT_TESTNET_BASE);
        assert_eq!(t.futures, FUTURES_TESTNET_BASE);
        let l = BaseUrls::resolve(Network::Live, |_| None).unwrap();
        assert_eq!(l.spot, "https://api.binance.com");
        assert_eq!(l.futures, "https://fapi.binance.com");
    }

    #[test]
    fn overrides_replace_each_base_and_bad_ones_are_refused() {
        let u = BaseUrls::resolve(Network::Testnet, |k| {
            (k == SPOT_URL_VAR).then(|| "http://127.0.0.1:9/".to_string())
        })
        .unwrap();
        assert_eq!(u.spot, "http://127.0.0.1:9");
        assert_eq!(u.futures, FUTURES_TESTNET_BASE);
        let e = BaseUrls::resolve(Network::Testnet, |_| Some("ftp://x".to_string())).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
