//! `algolab serve [--port 8080] [--bind 127.0.0.1]`: parse, read the environment (token,
//! LLM, Telegram, the secrets never to send) and start [`crate::serve::run`]; and
//! `algolab ready`, the same readiness check as `GET /api/unified/readiness-check` for
//! scripts and health checks (exit 0 ready, 1 not).

use std::net::IpAddr;
use std::time::Duration;

use clap::Args;

use super::Global;
use super::common::now_ms;
use crate::app::Ctx;
use crate::app::ready::{ReadyConfig, TelegramSetting};
use crate::serve::{DEFAULT_BODY_LIMIT, ServeConfig};

/// Serve the REST API and the web dashboard.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  algolab serve                                  # http://127.0.0.1:8080/dashboard
  ALGOLAB_API_TOKEN=$(openssl rand -hex 24) algolab serve --bind 0.0.0.0 --port 9000
  curl -s localhost:8080/api/status | jq .total_value
  curl -s -H \"Authorization: Bearer $ALGOLAB_API_TOKEN\" -d '{\"symbol\":\"BTC/USDT\"}' localhost:8080/api/ai/decision

Every POST, and every request when bound to a non-loopback address, needs
Authorization: Bearer $ALGOLAB_API_TOKEN; a non-loopback address without a token is refused.
The readiness check probes Binance at ALGOLAB_BINANCE_URL and Ollama at OLLAMA_HOST.")]
pub struct ServeArgs {
    /// Port to listen on (0: any free port, printed on stderr).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Require the token for every request, reads and the dashboard included, also on
    /// loopback (other users of this machine can reach 127.0.0.1); implied by a non-loopback
    /// --bind.
    #[arg(long)]
    pub auth_all: bool,
    /// The readiness check's settings.
    #[command(flatten)]
    pub ready: ReadyArgs,
    /// Largest request body, bytes.
    #[arg(long, default_value_t = DEFAULT_BODY_LIMIT, value_name = "BYTES")]
    pub body_limit: usize,
}

/// The readiness check's settings.
#[derive(Debug, Clone, Args)]
pub struct ReadyArgs {
    /// The largest clock offset to the exchange that passes, ms.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub max_clock_offset_ms: i64,
    /// A fixed bound on the age of each bot's last bar, minutes (default: two bar intervals
    /// plus ten minutes).
    #[arg(long, value_name = "MINUTES")]
    pub max_data_age_min: Option<u64>,
}

/// `algolab ready`: is the deployment ready to trade?
#[derive(Debug, Args)]
#[command(
    after_help = "Checks: the learning DB (exists, migrated), each bot's data freshness, Binance
(ALGOLAB_BINANCE_URL) and its clock offset, Ollama (OLLAMA_HOST), Telegram configured, bots
healthy. Exit 0 when every check passes, 1 otherwise (the failing checks on stdout)."
)]
pub struct ReadyCmdArgs {
    /// The checks' settings.
    #[command(flatten)]
    pub ready: ReadyArgs,
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

/// The LLM settings and the readiness check's settings from the environment and `args`.
///
/// # Errors
/// A bad `AI_TIMEOUT` (exit 2).
pub fn ready_config(args: &ReadyArgs) -> anyhow::Result<ReadyConfig> {
    let llm = crate::ai::llm::LlmConfig::from_vars(|k| std::env::var(k).ok())
        .map_err(|e| super::UsageError(e.to_string()))?;
    let telegram = match crate::notify::TelegramConfig::from_vars(|k| std::env::var(k).ok()) {
        None => TelegramSetting::Absent,
        Some(Ok(_)) => TelegramSetting::Configured,
        Some(Err(e)) => TelegramSetting::Bad(e.to_string()),
    };
    Ok(ReadyConfig {
        llm,
        telegram,
        max_clock_offset_ms: args.max_clock_offset_ms,
        max_data_age: args.max_data_age_min.map(|m| Duration::from_secs(m * 60)),
        probe_timeout: Duration::from_secs(2),
        now_ms,
    })
}

/// Run `ready`.
///
/// # Errors
/// Not ready (exit 1, naming the failing checks), a bad `AI_TIMEOUT` (exit 2).
pub fn ready(args: ReadyCmdArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let r = crate::app::ready::check_all(ctx, &ready_config(&args.ready)?)?;
    let mut text = String::new();
    for c in &r.checks {
        text += &format!(
            "{:<4} {:<18} {}\n",
            if c.ok { "ok" } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    if g.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    }
    super::common::result(g, &text);
    if r.ready {
        Ok(())
    } else {
        anyhow::bail!("not ready: {}", r.failing.join(", "))
    }
}

/// Run `serve` until Ctrl-C.
///
/// # Errors
/// A non-loopback address without a token, an address in use, a bad `AI_TIMEOUT` (exit 2).
pub fn run(args: ServeArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let token = env("ALGOLAB_API_TOKEN").map(|t| t.trim().to_string());
    let ready = ready_config(&args.ready)?;
    // values that must never appear in an answer (short ones would redact ordinary text)
    let secrets: Vec<String> = [
        token.clone(),
        env("BINANCE_SECRET"),
        env("BINANCE_API_KEY"),
        env("TELEGRAM_BOT_TOKEN"),
    ]
    .into_iter()
    .flatten()
    .map(|s| s.trim().to_string())
    .filter(|s| s.len() >= 8)
    .collect();
    let cfg = ServeConfig {
        bind: args.bind,
        port: args.port,
        auth_all: args.auth_all,
        token,
        secrets,
        llm: ready.llm.clone(),
        ready,
        body_limit: args.body_limit,
    };
    let quiet = g.quiet;
    crate::serve::run(ctx.clone(), cfg, |addr| {
        // the first line on stderr, even with --quiet: scripts and tests read the port here
        eprintln!("algolab serve: listening on http://{addr} (dashboard http://{addr}/dashboard)");
        if !quiet {
            eprintln!("algolab serve: Ctrl-C stops");
        }
    })?;
    Ok(())
}
