//! The readiness check behind `GET /api/unified/readiness-check` (issue 14): is everything a
//! trading deployment needs there right now? Each check is named and says why it passed or
//! failed; the deployment is ready when all pass.
//!
//! - `db`: the learning DB exists, opens read-only and has every migration of this build
//!   (the check never creates or migrates it);
//! - `data:<bot>`: each bot's last processed bar is at most two bar intervals (plus
//!   [`GRACE_MS`]) old, or its market is closed now (the interval is read from its equity
//!   history, else one hour; `max_data_age` overrides the rule);
//! - `exchange`: Binance's `/api/v3/time` at the configured base URL answers, and the clock
//!   offset (server time less the local midpoint of the request) is within the bound;
//! - `ollama`: Ollama answers `GET /api/tags` at `OLLAMA_HOST` (or the LLM is turned off);
//! - `telegram`: a bot token and chat id are configured and well-formed;
//! - `bots`: there is at least one bot and none has failing ticks.
//!
//! The wall clock comes from the caller (`now_ms`), like every use case's.

use std::time::Duration;

use serde::Serialize;

use super::Ctx;
use super::ai_views::{Probe, block_on, probe_client, probe_ollama};
use crate::Error;
use crate::ai::llm::LlmConfig;
use crate::runner::bot_dir::{BotDir, read_json};
use crate::runner::fleet::current_portfolio;
use crate::runner::paper::EquityPoint;

/// Slack on the data-freshness rule for a bar file that is fetched a little after the close.
pub const GRACE_MS: i64 = 10 * 60_000;

/// Whether Telegram is configured, as the caller read it from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelegramSetting {
    /// Token and chat id present and well-formed.
    Configured,
    /// Not configured.
    Absent,
    /// Present but bad: why (never the token).
    Bad(String),
}

/// What the readiness check needs besides the context.
#[derive(Debug, Clone)]
pub struct ReadyConfig {
    /// The LLM's settings.
    pub llm: LlmConfig,
    /// Telegram.
    pub telegram: TelegramSetting,
    /// The largest clock offset to the exchange that passes, ms.
    pub max_clock_offset_ms: i64,
    /// A fixed bound on the age of a bot's last bar, instead of two bar intervals.
    pub max_data_age: Option<Duration>,
    /// Timeout of each network probe.
    pub probe_timeout: Duration,
    /// The wall clock, UTC ms.
    pub now_ms: fn() -> i64,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// `db`, `data:<bot>`, `exchange`, `ollama`, `telegram`, `bots`.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// Why.
    pub detail: String,
}

/// The readiness reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    /// All checks passed.
    pub ready: bool,
    /// When checked, ISO-8601.
    pub checked_at: String,
    /// The names of the failing checks.
    pub failing: Vec<String>,
    /// Every check.
    pub checks: Vec<Check>,
}

fn check(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        ok,
        detail: detail.into(),
    }
}

fn db_check(ctx: &Ctx) -> Check {
    if !ctx.db_path.exists() {
        return check(
            "db",
            false,
            format!("no learning DB at {}", ctx.db_path.display()),
        );
    }
    match crate::store::probe(&ctx.db_path) {
        Ok(p) if p.is_current() => check("db", true, format!("schema version {}", p.version)),
        Ok(p) => check(
            "db",
            false,
            format!(
                "schema version {} but this build has {} migrations (any command that opens the DB migrates it)",
                p.version, p.latest
            ),
        ),
        Err(e) => check("db", false, e.to_string()),
    }
}

/// The bar interval of an equity history: the smallest positive step of its last points.
fn interval_of(points: &[EquityPoint]) -> Option<i64> {
    points
        .windows(2)
        .rev()
        .take(50)
        .map(|w| w[1].ts_ms - w[0].ts_ms)
        .filter(|d| *d > 0)
        .min()
}

fn exchange_check(ctx: &Ctx, cfg: &ReadyConfig) -> Check {
    let base = &ctx.endpoints.binance;
    let http = match probe_client(cfg.probe_timeout) {
        Ok(h) => h,
        Err(e) => return check("exchange", false, e.to_string()),
    };
    let t0 = (cfg.now_ms)();
    let r = block_on(crate::venues::binance::server_time(
        &http,
        base,
        crate::venues::binance::Market::Spot,
    ));
    let t1 = (cfg.now_ms)();
    match r {
        Ok(Ok(server)) => {
            let offset = server - (t0 + t1) / 2;
            let ok = offset.abs() <= cfg.max_clock_offset_ms;
            check(
                "exchange",
                ok,
                format!(
                    "binance at {base}: clock offset {offset:+} ms (bound ±{} ms), round trip {} ms",
                    cfg.max_clock_offset_ms,
                    t1 - t0
                ),
            )
        }
        Ok(Err(e)) => check("exchange", false, format!("binance at {base}: {e}")),
        Err(e) => check("exchange", false, e.to_string()),
    }
}

/// Run every check.
///
/// # Errors
/// None today: every failure is a failing check; the `Result` leaves room for a broken
/// data dir.
pub fn check_all(ctx: &Ctx, cfg: &ReadyConfig) -> Result<Readiness, Error> {
    let now = (cfg.now_ms)();
    let mut checks = vec![db_check(ctx)];
    let portfolio = current_portfolio(&ctx.data_dir, &(ctx.now_iso)());
    match &portfolio {
        Ok(p) => {
            for b in &p.bots {
                let name = format!("data:{}", b.name);
                let points: Vec<EquityPoint> = BotDir::new(&ctx.data_dir, &b.name)
                    .ok()
                    .and_then(|d| read_json(&d.equity_path()).ok().flatten())
                    .unwrap_or_default();
                let last = points.last().map(|p| p.ts_ms).or(b.health.last_bar_ts_ms);
                let Some(last) = last else {
                    checks.push(check(name, false, "no bar processed yet"));
                    continue;
                };
                let max_age = match cfg.max_data_age {
                    Some(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
                    None => 2 * interval_of(&points).unwrap_or(3_600_000) + GRACE_MS,
                };
                let age = now - last;
                let closed = b.market.is_some_and(|m| !m.is_open(now));
                let detail = format!(
                    "last bar {} ({} min old, bound {} min){}",
                    crate::data::fmt_ts(last),
                    age / 60_000,
                    max_age / 60_000,
                    if closed { "; market closed" } else { "" }
                );
                checks.push(check(name, age <= max_age || closed, detail));
            }
        }
        Err(e) => checks.push(check("data", false, e.to_string())),
    }
    checks.push(exchange_check(ctx, cfg));
    let Probe { ok, detail } = probe_ollama(&cfg.llm, cfg.probe_timeout);
    checks.push(check("ollama", ok, detail));
    checks.push(match &cfg.telegram {
        TelegramSetting::Configured => check("telegram", true, "bot token and chat id set"),
        TelegramSetting::Absent => check(
            "telegram",
            false,
            "TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are not set",
        ),
        TelegramSetting::Bad(why) => check("telegram", false, why.clone()),
    });
    checks.push(match &portfolio {
        Ok(p) if p.bots.is_empty() => check("bots", false, "no bots under DATA_DIR/bots"),
        Ok(p) => {
            let bad: Vec<String> = p
                .bots
                .iter()
                .filter(|b| b.health.last_status == "error" || b.health.failures > 0)
                .map(|b| {
                    format!(
                        "{} ({})",
                        b.name,
                        b.health.last_error.as_deref().unwrap_or("failing ticks")
                    )
                })
                .collect();
            if bad.is_empty() {
                check("bots", true, format!("{} bots healthy", p.bots.len()))
            } else {
                check("bots", false, format!("unhealthy: {}", bad.join(", ")))
            }
        }
        Err(e) => check("bots", false, e.to_string()),
    });
    let failing: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.clone())
        .collect();
    Ok(Readiness {
        ready: failing.is_empty(),
        checked_at: (ctx.now_iso)(),
        failing,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(ts_ms: i64) -> EquityPoint {
        EquityPoint {
            ts_ms,
            time: String::new(),
            equity: 1.0,
            cash: 1.0,
        }
    }

    #[test]
    fn the_interval_is_the_smallest_recent_step() {
        let h = 3_600_000;
        assert_eq!(interval_of(&[pt(0), pt(h), pt(3 * h)]), Some(h));
        assert_eq!(interval_of(&[pt(0)]), None);
    }

    #[test]
    fn a_missing_db_fails_the_db_check_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::new(dir.path().to_path_buf(), String::new);
        let c = db_check(&ctx);
        assert!(!c.ok && c.detail.contains("no learning DB"), "{c:?}");
        assert!(!ctx.db_path.exists());
        drop(ctx.store().unwrap());
        assert!(db_check(&ctx).ok);
    }
}
