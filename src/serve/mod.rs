//! `algolab serve`: the REST API and the web dashboard for the bots and the AI engine
//! (issue 14), on axum over a single-threaded tokio runtime.
//!
//! An adapter like `cli`: every endpoint calls the same `app` functions as the command line
//! ([`crate::app::bots`], [`crate::app::ai_views`], [`crate::app::ready`], …) on a worker
//! thread, so this module holds routing, auth and JSON only. Security: it listens on
//! 127.0.0.1 unless told otherwise and refuses a non-loopback address without
//! `ALGOLAB_API_TOKEN` ([`auth::check_bind`]); every POST, and every request off loopback
//! (or with `--auth-all`), needs `Authorization: Bearer <token>` (compared in constant time); bodies are limited to
//! [`ServeConfig::body_limit`] bytes and validated (400 with a JSON message); every answer
//! carries a `default-src 'self'` CSP and has any secret value the caller named replaced.

pub mod auth;
pub mod dashboard;
pub mod json;
pub mod openapi;
pub mod routes;

use std::net::{IpAddr, SocketAddr};

use crate::Error;
use crate::ai::llm::LlmConfig;
use crate::app::Ctx;
use crate::app::ready::ReadyConfig;

/// The largest request body by default, bytes.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port (0: any free port; the chosen one is passed to `on_listen`).
    pub port: u16,
    /// Every request needs the token, also on loopback (always so off loopback).
    pub auth_all: bool,
    /// `ALGOLAB_API_TOKEN`, if set.
    pub token: Option<String>,
    /// Values never to send (the token, exchange and Telegram secrets).
    pub secrets: Vec<String>,
    /// The LLM advisor's settings.
    pub llm: LlmConfig,
    /// The readiness check's settings.
    pub ready: ReadyConfig,
    /// The largest request body, bytes.
    pub body_limit: usize,
}

/// Listen and serve until Ctrl-C (or SIGTERM); `on_listen` gets the address once bound.
///
/// # Errors
/// [`Error::Usage`] (exit 2) for a non-loopback address without a token or an address that
/// cannot be bound; [`Error::Usage`] when the runtime cannot start.
pub fn run(ctx: Ctx, cfg: ServeConfig, on_listen: impl FnOnce(SocketAddr)) -> Result<(), Error> {
    auth::check_bind(cfg.bind, cfg.token.as_deref())?;
    if cfg.auth_all && cfg.token.as_deref().is_none_or(str::is_empty) {
        return Err(Error::Usage(
            "--auth-all needs ALGOLAB_API_TOKEN: every request must carry it".into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the server runtime: {e}")))?;
    rt.block_on(async move {
        let addr = SocketAddr::new(cfg.bind, cfg.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Usage(format!("cannot listen on {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::Usage(format!("cannot listen on {addr}: {e}")))?;
        let all = cfg.auth_all || !cfg.bind.is_loopback();
        let app = routes::router(ctx, cfg.clone(), all);
        on_listen(local);
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|e| Error::Usage(format!("server on {local} failed: {e}")))
    })
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
