//! `algolab run --config bots.toml` (the multi-market runner) and `algolab status`.
//!
//! The runner starts one `algolab paper --loop …` process per `[[bot]]`, restarts a bot
//! whose process dies with a doubling backoff (1 s, 2 s, 4 s … up to `--max-backoff`; a
//! process that ran a minute counts as healthy again), and rewrites
//! `DATA_DIR/portfolio.json` every few seconds. A bot refused as bad usage (exit 2) is not
//! restarted. On Ctrl-C or SIGTERM it stops its bots and leaves. Process handling and the
//! wall clock live here; the pure parts are [`crate::runner::fleet`].

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::Global;
use super::common::{note, num};
use crate::app::Ctx;
use crate::runner::bot_dir::write_json;
use crate::runner::fleet::{BotSpec, Portfolio, backoff_s, parse_config, portfolio};

/// Run many paper bots from a config file.
#[derive(Debug, Args)]
#[command(after_help = RUN_EXAMPLES)]
pub struct RunArgs {
    /// The bots, as `[[bot]]` tables (name, market, symbol, interval, strategy, params, args).
    #[arg(long, value_name = "bots.toml")]
    pub config: PathBuf,
    /// The longest wait before restarting a crashed bot, seconds.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub max_backoff: u64,
    /// How often to rewrite DATA_DIR/portfolio.json, seconds.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub status_every: u64,
    /// Stop everything after SECS (for tests and trials).
    #[arg(long, value_name = "SECS", hide = true)]
    pub run_for: Option<u64>,
}

const RUN_EXAMPLES: &str = "Examples:
  algolab run --config bots.toml
  algolab status

bots.toml:
  [[bot]]
  name = \"crypto-btc\"
  market = \"crypto\"          # crypto | stock | commodity (trading hours)
  symbol = \"BTC/USDT\"
  strategy = \"sma-cross\"
  params = { fast = 3, slow = 8 }

  [[bot]]
  name = \"gold\"
  market = \"commodity\"
  symbol = \"GC=F\"
  strategy = \"technical\"

Each bot runs as `algolab paper --loop …` with its output in DATA_DIR/bots/NAME/bot.log.";

/// Show every bot's value, P&L, position and health.
#[derive(Debug, Args)]
pub struct StatusArgs {}

struct Slot {
    spec: BotSpec,
    child: Option<Child>,
    started: Option<Instant>,
    failures: u32,
    restarts: u32,
    next_start: Option<Instant>,
    gave_up: Option<String>,
}

#[allow(
    clippy::disallowed_methods,
    reason = "the runner's schedule and status timestamps are wall-clock"
)]
fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A flag raised by Ctrl-C or SIGTERM.
fn stop_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                if let Ok(mut term) = signal(SignalKind::terminate()) {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                } else {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
        });
        f.store(true, Ordering::SeqCst);
    });
    flag
}

fn spawn(spec: &BotSpec, ctx: &Ctx) -> anyhow::Result<Child> {
    let dir = ctx.data_dir.join("bots").join(&spec.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("bot.log"))
        .with_context(|| format!("opening {}", dir.join("bot.log").display()))?;
    let exe = std::env::current_exe().context("finding the algolab binary")?;
    Command::new(exe)
        .args(spec.command_args())
        .env("DATA_DIR", &ctx.data_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("bot log")?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting bot {}", spec.name))
}

fn write_portfolio(ctx: &Ctx, slots: &mut [Slot]) -> anyhow::Result<Portfolio> {
    let mut bots = Vec::new();
    for s in slots.iter_mut() {
        let mut b = crate::runner::fleet::bot_status(&ctx.data_dir, &s.spec.name)?;
        b.market = Some(s.spec.market);
        b.symbol = b.symbol.or_else(|| Some(s.spec.symbol.clone()));
        b.strategy = b.strategy.or_else(|| Some(s.spec.strategy.clone()));
        b.restarts = s.restarts;
        b.running = Some(s.child.is_some());
        b.pid = s.child.as_ref().map(Child::id);
        if let Some(why) = &s.gave_up {
            b.health.last_status = "error".into();
            b.health.last_error = Some(why.clone());
        }
        bots.push(b);
    }
    let p = portfolio(bots, &now_iso());
    write_json(&ctx.data_dir.join("portfolio.json"), &p)?;
    Ok(p)
}

/// Run the fleet.
///
/// # Errors
/// A bad config (exit 2); a bot that cannot be started or a status file that cannot be
/// written (exit 1).
pub fn run(args: RunArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))
        .map_err(|e| super::UsageError(format!("{e:#}")))?;
    let specs = parse_config(&text).map_err(crate::Error::from)?;
    std::fs::create_dir_all(&ctx.data_dir)
        .with_context(|| format!("creating {}", ctx.data_dir.display()))?;
    let stop = stop_flag();
    let t0 = Instant::now();
    let mut slots: Vec<Slot> = specs
        .into_iter()
        .map(|spec| Slot {
            spec,
            child: None,
            started: None,
            failures: 0,
            restarts: 0,
            next_start: Some(Instant::now()),
            gave_up: None,
        })
        .collect();
    let mut last_status: Option<Instant> = None;
    let result = (|| -> anyhow::Result<()> {
        loop {
            let now = Instant::now();
            for s in slots.iter_mut() {
                if let Some(child) = s.child.as_mut()
                    && let Some(status) = child.try_wait()?
                {
                    s.child = None;
                    if status.code() == Some(2) {
                        let why = format!(
                            "bot {} refused its arguments (exit 2): see bot.log",
                            s.spec.name
                        );
                        note(g.quiet, &why);
                        s.gave_up = Some(why);
                        s.next_start = None;
                        continue;
                    }
                    let healthy = s
                        .started
                        .is_some_and(|t| now - t >= Duration::from_secs(60));
                    s.failures = if healthy { 1 } else { s.failures + 1 };
                    let wait = backoff_s(s.failures, args.max_backoff);
                    note(
                        g.quiet,
                        &format!(
                            "bot {} stopped ({status}); restarting in {wait} s",
                            s.spec.name
                        ),
                    );
                    s.next_start = Some(now + Duration::from_secs(wait));
                }
                if s.child.is_none() && s.next_start.is_some_and(|t| t <= now) {
                    let child = spawn(&s.spec, ctx)?;
                    if s.started.is_some() {
                        s.restarts += 1;
                    }
                    note(
                        g.quiet,
                        &format!("bot {} started (pid {})", s.spec.name, child.id()),
                    );
                    s.child = Some(child);
                    s.started = Some(now);
                    s.next_start = None;
                }
            }
            if last_status.is_none_or(|t| now - t >= Duration::from_secs(args.status_every.max(1)))
            {
                write_portfolio(ctx, &mut slots)?;
                last_status = Some(now);
            }
            let timed_out = args
                .run_for
                .is_some_and(|s| t0.elapsed() >= Duration::from_secs(s));
            if stop.load(Ordering::SeqCst) || timed_out {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })();
    for s in slots.iter_mut() {
        if let Some(mut c) = s.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    let p = write_portfolio(ctx, &mut slots);
    result?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&p?)?);
    }
    Ok(())
}

/// Print the portfolio.
///
/// # Errors
/// A state file that cannot be read (exit 1).
pub fn status(_args: StatusArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let p = crate::app::status::run(ctx)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(());
    }
    println!(
        "portfolio: value {}, P&L {}, {} bot(s), {} unhealthy",
        num(p.total_value, 2),
        num(p.total_pnl, 2),
        p.bots.len(),
        p.unhealthy
    );
    for b in &p.bots {
        println!(
            "  {:<20} {:<10} {:<6} equity {:>12}  P&L {:>10}  {:<24} last bar {}  {}{}",
            b.name,
            b.symbol.as_deref().unwrap_or("-"),
            b.mode.as_deref().unwrap_or("-"),
            b.equity.map_or_else(|| "-".into(), |v| num(v, 2)),
            b.total_pnl.map_or_else(|| "-".into(), |v| num(v, 2)),
            b.position,
            b.last_bar.as_deref().unwrap_or("-"),
            if b.health.last_status.is_empty() {
                "-"
            } else {
                &b.health.last_status
            },
            b.health
                .last_error
                .as_deref()
                .map_or_else(String::new, |e| format!(": {e}")),
        );
    }
    Ok(())
}
