//! JSON in and out: the error body every failure answers with (`{"error": …, "status": …}`),
//! the mapping of the library's errors to HTTP statuses, request bodies read and validated
//! (size-limited by the router, unknown fields refused), and the `offset`/`limit` query.
//! A bad request is a 400 with a message, never a 500 or a panic.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::Error;
use crate::app::bots::PageRequest;

/// An error answer: its status and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// A 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// A 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// A 500.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({
                "error": self.message,
                "status": self.status.as_u16(),
            })),
        )
            .into_response()
    }
}

impl From<Error> for ApiError {
    /// Bad input (exit code 2) is a 400, an unknown bot or run a 404, anything else a 500.
    fn from(e: Error) -> ApiError {
        let message = e.to_string().replace('\n', " ");
        let unknown = matches!(&e, Error::Usage(m) if m.starts_with("no bot named") || m.starts_with("no run "));
        if unknown {
            ApiError::not_found(message)
        } else if e.exit_code() == 2 {
            ApiError::bad_request(message)
        } else {
            ApiError::internal(message)
        }
    }
}

/// Read a JSON body as `T`: a body over the router's limit is a 413, an empty, malformed or
/// wrongly shaped one (unknown fields included) a 400 naming the problem.
///
/// # Errors
/// [`ApiError`] as above.
pub fn body<T: DeserializeOwned>(bytes: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = bytes.map_err(|e| {
        let status = e.status();
        ApiError {
            status: if status == StatusCode::PAYLOAD_TOO_LARGE {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
            message: format!("request body: {}", e.body_text()),
        }
    })?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "request body: expected a JSON object",
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("request body: {e}")))
}

/// The query's `offset` (default 0) and `limit` (default `default_limit`), plus the flags
/// named in `flags` (`name=true|false`); any other parameter is refused.
///
/// # Errors
/// A 400 naming the parameter.
pub fn page_query(
    query: Option<&str>,
    default_limit: usize,
    flags: &[&str],
) -> Result<(PageRequest, Vec<(String, bool)>), ApiError> {
    let (mut offset, mut limit) = (0usize, default_limit);
    let mut set = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let num = || {
            v.parse::<usize>()
                .map_err(|_| ApiError::bad_request(format!("{k}={v:?} is not a whole number")))
        };
        match k {
            "offset" => offset = num()?,
            "limit" => limit = num()?,
            f if flags.contains(&f) => {
                let b = match v {
                    "true" | "1" | "" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "{k}={v:?} is not true or false"
                        )));
                    }
                };
                set.push((f.to_string(), b));
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {k:?}"
                )));
            }
        }
    }
    let req = PageRequest::new(offset, limit).map_err(ApiError::from)?;
    Ok((req, set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "only parsed")]
    struct B {
        symbol: String,
    }

    #[test]
    fn bodies_are_checked_and_errors_are_400s() {
        assert!(body::<B>(Ok(Bytes::from_static(br#"{"symbol":"X"}"#))).is_ok());
        for bad in [
            &b""[..],
            b"{",
            b"[]",
            br#"{"symbol":1}"#,
            br#"{"symbol":"X","x":1}"#,
            b"{}",
        ] {
            let e = body::<B>(Ok(Bytes::copy_from_slice(bad))).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad:?}");
            assert!(e.message.starts_with("request body"), "{}", e.message);
        }
    }

    #[test]
    fn the_page_query_is_strict() {
        let (p, f) = page_query(
            Some("offset=5&limit=10&trades_only=true"),
            50,
            &["trades_only"],
        )
        .unwrap();
        assert_eq!((p.offset, p.limit), (5, 10));
        assert_eq!(f, vec![("trades_only".to_string(), true)]);
        assert_eq!(page_query(None, 50, &[]).unwrap().0.limit, 50);
        for bad in ["limit=0", "limit=x", "offset=-1", "foo=1", "limit=999999"] {
            assert_eq!(
                page_query(Some(bad), 50, &[]).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn library_errors_map_to_statuses() {
        assert_eq!(
            ApiError::from(Error::Usage("no bot named \"x\"".into())).status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ApiError::from(Error::Usage("bad".into())).status,
            StatusCode::BAD_REQUEST
        );
    }
}
