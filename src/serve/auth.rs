//! Who may call: the bearer token of `ALGOLAB_API_TOKEN`, compared in constant time, and
//! the rule of when it is needed (every POST; every request when bound to a non-loopback
//! address), plus the rule that a non-loopback bind needs a token at all.

use std::net::IpAddr;

use axum::http::{HeaderMap, Method, header};
use sha2::{Digest, Sha256};

use crate::Error;

/// Refuse to listen on a non-loopback address without a token.
///
/// # Errors
/// [`Error::Usage`] (exit 2) naming the address.
pub fn check_bind(bind: IpAddr, token: Option<&str>) -> Result<(), Error> {
    if bind.is_loopback() || token.is_some_and(|t| !t.is_empty()) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "refusing to listen on {bind} (not loopback) without ALGOLAB_API_TOKEN: set a token, or bind 127.0.0.1"
    )))
}

/// Whether `a` equals `b`, in time that depends on neither: both are hashed (SHA-256) and
/// the digests compared byte by byte without an early exit, so neither the length nor the
/// first differing byte of the token leaks through timing.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let (ha, hb) = (Sha256::digest(a), Sha256::digest(b));
    ha.iter()
        .zip(hb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Whether a request needs the token: every POST (or other non-read method), and every
/// request when the server listens on a non-loopback address.
pub fn needs_token(method: &Method, all_requests: bool) -> bool {
    all_requests || !(method == Method::GET || method == Method::HEAD)
}

/// Whether the headers carry `Authorization: Bearer <token>` for `token`.
pub fn authorized(headers: &HeaderMap, token: Option<&str>) -> bool {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return false;
    };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    ct_eq(given.trim().as_bytes(), token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn loopback_binds_need_no_token_others_do() {
        assert!(check_bind("127.0.0.1".parse().unwrap(), None).is_ok());
        assert!(check_bind("::1".parse().unwrap(), None).is_ok());
        let e = check_bind("0.0.0.0".parse().unwrap(), None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(check_bind("0.0.0.0".parse().unwrap(), Some("")).is_err());
        assert!(check_bind("0.0.0.0".parse().unwrap(), Some("t0ken")).is_ok());
    }

    #[test]
    fn the_bearer_token_must_match_exactly() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, Some("s3cret")));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(authorized(&h, Some("s3cret")));
        assert!(!authorized(&h, Some("s3cret2")));
        assert!(!authorized(&h, None), "no token configured: nothing passes");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic s3cret"),
        );
        assert!(!authorized(&h, Some("s3cret")));
    }

    #[test]
    fn posts_always_need_the_token_gets_only_off_loopback() {
        assert!(needs_token(&Method::POST, false));
        assert!(!needs_token(&Method::GET, false));
        assert!(needs_token(&Method::GET, true));
        assert!(needs_token(&Method::DELETE, false));
    }
}
