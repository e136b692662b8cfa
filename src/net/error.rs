//! [`NetError`]: what the shared HTTP layer fails with. Venue code adds its own meaning
//! (unknown symbol, exchange error codes) in [`crate::venues::VenueError`], which wraps this.
//!
//! Messages name the URL *path* only: a signed request's query holds the API key's
//! signature, and a secret must never reach a log or an error message.

/// A request that failed in transport, or whose answer could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The TLS or HTTP stack could not be set up.
    #[error("{0}")]
    Setup(String),
    /// 5xx answers until the tries ran out.
    #[error("{path}: http {status} after {tries} tries")]
    Server {
        /// The URL path (no query).
        path: String,
        /// The last HTTP status.
        status: u16,
        /// How many requests were made.
        tries: u32,
    },
    /// Connection or timeout errors until the tries ran out.
    #[error("{path}: network error after {tries} tries: {cause}")]
    Network {
        /// The URL path (no query).
        path: String,
        /// How many requests were made.
        tries: u32,
        /// The last error, without the URL.
        cause: String,
    },
    /// The request never reached the server (connection refused, DNS): safe to resend.
    #[error("{path}: unreachable: {cause}")]
    Unreachable {
        /// The URL path (no query).
        path: String,
        /// The error, without the URL.
        cause: String,
    },
    /// Rate limited (429) or banned (418) for longer than we are willing to wait.
    #[error("{path}: rate limited (http {status}), retry after {retry_after_s} s")]
    RateLimited {
        /// The URL path (no query).
        path: String,
        /// 429 or 418.
        status: u16,
        /// The server's `Retry-After`, seconds.
        retry_after_s: u64,
    },
    /// A body that is not the JSON shape we expect.
    #[error("{path}: malformed response: {cause}")]
    Malformed {
        /// The URL path (no query).
        path: String,
        /// What is wrong.
        cause: String,
    },
}
