//! The router: every endpoint of the API and the dashboard, the auth and hardening layers,
//! and the bridge to the library's synchronous use cases (each runs on its own OS thread,
//! at most [`MAX_WORKERS`] at once, so a slow one never blocks the event loop and a
//! panicking one becomes a 500, not a dead server).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tokio::sync::Semaphore;

use super::ServeConfig;
use super::auth;
use super::json::{ApiError, body, page_query};
use crate::app::{self, Ctx};

/// Use cases running at once; more requests wait.
pub const MAX_WORKERS: usize = 8;

/// The Content-Security-Policy of every answer: nothing but this server.
pub const CSP: &str = "default-src 'self' 'unsafe-inline'";

/// What every handler shares.
pub struct AppState {
    ctx: Ctx,
    cfg: ServeConfig,
    /// True when the server listens on a non-loopback address.
    all_requests_need_token: bool,
    dashboard: String,
    workers: Arc<Semaphore>,
}

type Shared = Arc<AppState>;

/// Run `f` on its own thread and wait for it without blocking the event loop.
async fn work<T: Send + 'static>(
    s: &Shared,
    f: impl FnOnce() -> Result<T, crate::Error> + Send + 'static,
) -> Result<T, ApiError> {
    // the permit travels with the thread, so a client that hangs up does not free a slot
    // while its work still runs
    let permit = s
        .workers
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::internal("server shutting down"))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("serve-work".into())
        .spawn(move || {
            let _ = tx.send(f());
            drop(permit);
        })
        .map_err(|e| ApiError::internal(format!("cannot start a worker: {e}")))?;
    match rx.await {
        Ok(r) => r.map_err(ApiError::from),
        Err(_) => Err(ApiError::internal("the request's worker failed")),
    }
}

fn ok<T: Serialize>(v: T) -> Response {
    Json(v).into_response()
}

async fn status(State(s): State<Shared>) -> Result<Response, ApiError> {
    let ctx = s.ctx.clone();
    work(&s, move || app::bots::summary(&ctx)).await.map(ok)
}

async fn ai_status(State(s): State<Shared>) -> Result<Response, ApiError> {
    let (ctx, llm, t) = (s.ctx.clone(), s.cfg.llm.clone(), s.cfg.ready.probe_timeout);
    work(&s, move || app::ai_views::status(&ctx, &llm, t))
        .await
        .map(ok)
}

async fn ai_learning(State(s): State<Shared>) -> Result<Response, ApiError> {
    let ctx = s.ctx.clone();
    work(&s, move || app::ai_views::learning(&ctx))
        .await
        .map(ok)
}

async fn ai_decision(
    State(s): State<Shared>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: app::ai_views::SymbolRequest = body(bytes)?;
    app::ai_views::check_symbol(&req.symbol).map_err(ApiError::from)?;
    let ctx = s.ctx.clone();
    work(&s, move || app::ai_views::decision(&ctx, &req))
        .await
        .map(ok)
}

async fn ai_advice(
    State(s): State<Shared>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: app::ai_views::SymbolRequest = body(bytes)?;
    app::ai_views::check_symbol(&req.symbol).map_err(ApiError::from)?;
    let (ctx, llm) = (s.ctx.clone(), s.cfg.llm.clone());
    let reply = work(&s, move || app::ai_views::advice(&ctx, &llm, &req)).await?;
    // no answer from the LLM: the reply says why, with 503
    let code = if reply.answer.is_some() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((code, Json(reply)).into_response())
}

async fn readiness(State(s): State<Shared>) -> Result<Response, ApiError> {
    let (ctx, cfg) = (s.ctx.clone(), s.cfg.ready.clone());
    let r = work(&s, move || app::ready::check_all(&ctx, &cfg)).await?;
    let code = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((code, Json(r)).into_response())
}

fn bot_name(
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<String, ApiError> {
    let Path(name) = p.map_err(|e| ApiError::bad_request(e.body_text()))?;
    crate::runner::validate_name(&name).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(name)
}

/// One page of a bot's history: the bot's name from the path, the page from the query
/// (`default_limit` rows unless `limit` says otherwise), read off the async workers.
async fn bot_page<T: Serialize + Send + 'static>(
    s: &Shared,
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
    q: Option<String>,
    default_limit: usize,
    read: fn(&crate::app::Ctx, &str, app::bots::PageRequest) -> Result<T, crate::Error>,
) -> Result<Response, ApiError> {
    let bot = bot_name(p)?;
    let (page, _) = page_query(q.as_deref(), default_limit, &[])?;
    let ctx = s.ctx.clone();
    work(s, move || read(&ctx, &bot, page)).await.map(ok)
}

async fn bot_equity(
    State(s): State<Shared>,
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    bot_page(&s, p, q, 1000, app::bots::equity).await
}

async fn bot_trades(
    State(s): State<Shared>,
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    bot_page(&s, p, q, 50, app::bots::trades).await
}

async fn bot_decisions(
    State(s): State<Shared>,
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    bot_page(&s, p, q, 50, app::ai_views::bot_decisions).await
}

async fn runs(State(s): State<Shared>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let (page, _) = page_query(q.as_deref(), 20, &[])?;
    if page.offset != 0 {
        return Err(ApiError::bad_request("runs take only limit"));
    }
    let ctx = s.ctx.clone();
    work(&s, move || app::ai_views::runs(&ctx, page.limit))
        .await
        .map(ok)
}

async fn run_decisions(
    State(s): State<Shared>,
    p: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Path(id) = p.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (page, flags) = page_query(q.as_deref(), 50, &["trades_only"])?;
    let trades_only = flags.iter().any(|(_, b)| *b);
    let ctx = s.ctx.clone();
    work(&s, move || {
        app::ai_views::run_decisions(&ctx, id, trades_only, page)
    })
    .await
    .map(ok)
}

async fn openapi() -> Response {
    ok(super::openapi::document())
}

async fn dashboard(State(s): State<Shared>) -> Response {
    Html(s.dashboard.clone()).into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint (see /api/openapi.json)")
}

async fn method_not_allowed() -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: "method not allowed (see /api/openapi.json)".into(),
    }
}

/// The token check of [`auth`]: a 401 with `WWW-Authenticate: Bearer` when it fails.
async fn require_token(State(s): State<Shared>, req: Request, next: Next) -> Response {
    if auth::needs_token(req.method(), s.all_requests_need_token)
        && !auth::authorized(req.headers(), s.cfg.token.as_deref())
    {
        let mut r = ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: if s.cfg.token.is_some() {
                "missing or wrong bearer token (Authorization: Bearer $ALGOLAB_API_TOKEN)".into()
            } else {
                "this request needs a token and the server has none: set ALGOLAB_API_TOKEN".into()
            },
        }
        .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    next.run(req).await
}

/// Every answer: security headers, and any secret value replaced (defence in depth: no
/// endpoint puts one in, and the tests scan for them).
async fn harden(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let (mut parts, body) = resp.into_parts();
    let h = &mut parts.headers;
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if s.cfg.secrets.is_empty() {
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => b,
        Err(_) => return ApiError::internal("answer too large").into_response(),
    };
    let text = String::from_utf8_lossy(&bytes);
    if s.cfg.secrets.iter().any(|k| text.contains(k.as_str())) {
        let mut t = text.into_owned();
        for k in &s.cfg.secrets {
            t = t.replace(k.as_str(), "<redacted>");
        }
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(t));
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The whole app: routes, body limit, token check, hardening.
pub fn router(ctx: Ctx, cfg: ServeConfig, all_requests_need_token: bool) -> Router {
    let limit = cfg.body_limit;
    let state: Shared = Arc::new(AppState {
        ctx,
        cfg,
        all_requests_need_token,
        dashboard: super::dashboard::page(),
        workers: Arc::new(Semaphore::new(MAX_WORKERS)),
    });
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/dashboard", get(dashboard))
        .route("/api/openapi.json", get(openapi))
        .route("/api/status", get(status))
        .route("/api/ai/status", get(ai_status))
        .route("/api/ai/advice", post(ai_advice))
        .route("/api/ai/decision", post(ai_decision))
        .route("/api/ai/learning", get(ai_learning))
        .route("/api/unified/readiness-check", get(readiness))
        .route("/api/bots/{bot}/equity", get(bot_equity))
        .route("/api/bots/{bot}/trades", get(bot_trades))
        .route("/api/bots/{bot}/decisions", get(bot_decisions))
        .route("/api/runs", get(runs))
        .route("/api/runs/{id}/decisions", get(run_decisions))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(middleware::from_fn_with_state(state.clone(), harden))
        .with_state(state)
}
