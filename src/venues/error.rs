//! [`VenueError`]: the one error type of every venue client, market data and trading alike.
//! It wraps the transport's [`NetError`] and the cache's [`DataError`], and [`crate::Error`]
//! includes it, so the CLI needs no downcast per layer.
//!
//! Messages are lowercase, name the bad value and the URL path, and never hold a secret or a
//! query string.

use crate::data::DataError;
use crate::net::NetError;

/// An error from a venue: bad input (exit code 2) or a failed exchange (exit code 1).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VenueError {
    /// The venue does not know the symbol.
    #[error("unknown symbol {symbol:?} at {source_name}: {message}")]
    UnknownSymbol {
        /// The symbol as the user gave it.
        symbol: String,
        /// `binance` or `yahoo`.
        source_name: String,
        /// The server's own words.
        message: String,
    },
    /// A bad argument (interval, date range, source, flag combination).
    #[error("{0}")]
    BadArgs(String),
    /// A 4xx answer that is not a rate limit and not an unknown symbol.
    #[error("{path}: http {status}: {message}")]
    Rejected {
        /// The URL path (no query).
        path: String,
        /// The HTTP status.
        status: u16,
        /// The server's message, shortened.
        message: String,
    },
    /// A body that is not the JSON shape the venue code expects.
    #[error("{path}: malformed response: {cause}")]
    Malformed {
        /// The URL path (no query).
        path: String,
        /// What is wrong.
        cause: String,
    },
    /// Missing or unusable credentials (names the variable, never its value).
    #[error("binance credentials: {0}")]
    Auth(String),
    /// The exchange answered with an error code (`{"code": -2010, "msg": "…"}`).
    #[error("{path}: exchange error {code}: {msg}")]
    Exchange {
        /// The URL path (no query).
        path: String,
        /// The HTTP status.
        status: u16,
        /// The exchange's error code (Binance: negative).
        code: i64,
        /// The exchange's message.
        msg: String,
    },
    /// A request that may have changed state got no usable answer (timeout, 5xx, Binance
    /// `-1006`/`-1007`): whether it took effect is unknown until the order is queried.
    #[error("{path}: execution status unknown: {cause}")]
    Unknown {
        /// The URL path (no query).
        path: String,
        /// What happened.
        cause: String,
    },
    /// The transport failed or the body could not be decoded.
    #[error(transparent)]
    Net(#[from] NetError),
    /// Reading or writing the cache failed.
    #[error(transparent)]
    Cache(#[from] DataError),
}

impl VenueError {
    /// The exchange's error code, when the exchange answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            VenueError::Exchange { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Process exit code: 2 for an unknown symbol or bad arguments (and bad cached data), 1
    /// for a download or an exchange call that failed.
    pub fn exit_code(&self) -> i32 {
        match self {
            VenueError::UnknownSymbol { .. } | VenueError::BadArgs(_) | VenueError::Auth(_) => 2,
            VenueError::Cache(e) => e.exit_code(),
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_split_bad_input_from_failed_downloads() {
        let bad = VenueError::UnknownSymbol {
            symbol: "NOPE".into(),
            source_name: "binance".into(),
            message: "Invalid symbol.".into(),
        };
        assert_eq!(bad.exit_code(), 2);
        assert!(bad.to_string().contains("\"NOPE\""));
        let net = VenueError::from(NetError::Server {
            path: "/api/v3/klines".into(),
            status: 503,
            tries: 5,
        });
        assert_eq!(net.exit_code(), 1);
        assert_eq!(net.to_string(), "/api/v3/klines: http 503 after 5 tries");
    }
}
