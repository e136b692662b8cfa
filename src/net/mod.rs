//! The one HTTP layer every venue shares: a `reqwest` client with timeouts, seeded jittered
//! backoff, `Retry-After` handling for 429/418, and the typed [`NetError`].
//!
//! It knows nothing about any venue (no endpoints, no exchange error codes: those live in
//! [`crate::venues`]), does no disk I/O and reads no environment. It imports nothing from
//! the rest of the crate.

mod error;
mod http;

pub use error::NetError;
pub use http::{
    Answer, ErrorResponse, HttpClient, HttpConfig, JsonResponse, Method, RawResponse, USER_AGENT,
    backoff_delay, weight_pause,
};
