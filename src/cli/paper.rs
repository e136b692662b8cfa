//! `algolab paper`: one paper-trading tick per call (safe under cron), or `--loop` ticking
//! at every bar close. Parsing, the wall clock, sleeping and printing only; the tick is
//! [`crate::app::paper::tick`].

use std::time::Duration;

use clap::Args;

use super::Global;
use super::common::{BotArgs, note, now_ms, num};
use crate::app::Ctx;
use crate::app::fetch::{FetchPlan, FetchRequest};
use crate::app::paper::{self as app, PaperReply, PaperRequest};
use crate::data::cache::Source;
use crate::notify::commands::CommandInbox;
use crate::notify::{BotCommand, TelegramClient, TelegramConfig};
use crate::runner::bot_dir::write_json;
use crate::runner::fleet::{Health, Market};
use crate::runner::{BotDir, PaperState, TickOutcome, next_wake_ms};

/// Paper-trade a strategy on new closed bars: one tick per call.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct PaperArgs {
    /// Bars, strategy, sizing, bot name and `--loop`, as for `live`.
    #[command(flatten)]
    pub bot: BotArgs,
    /// With --loop: tick every SECS instead of at bar closes.
    #[arg(long, value_name = "SECS")]
    pub every: Option<u64>,
    /// With --loop: the market's trading hours; ticks outside them are skipped.
    #[arg(long, value_enum, default_value_t = MarketArg::Crypto)]
    pub market: MarketArg,
    /// Before every tick, bring the fetch cache of --symbol (at --interval) up to date from
    /// this date, as `algolab fetch` does (Binance for BASE/QUOTE pairs, Yahoo otherwise;
    /// only missing bars, through the machine's Binance weight budget). A failed download
    /// is a warning: the tick runs on what is cached. Give it from the bot's first tick on.
    #[arg(long, value_name = "DATE", requires = "symbol")]
    pub fetch_from: Option<String>,
}

/// Trading hours for `--loop` (see `runner::fleet::Market`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MarketArg {
    /// Always open.
    Crypto,
    /// US stocks, Monday–Friday 13:30–21:00 UTC.
    Stock,
    /// CME commodity futures, Sunday 22:00 – Friday 21:00 UTC with a daily pause.
    Commodity,
}

impl MarketArg {
    fn market(self) -> Market {
        match self {
            MarketArg::Crypto => Market::Crypto,
            MarketArg::Stock => Market::Stock,
            MarketArg::Commodity => Market::Commodity,
        }
    }
}

const EXAMPLES: &str = "Examples:
  algolab paper --symbol BTC/USDT --strategy sma-cross --param fast=3 --param slow=8 --bot b1
  algolab paper --data live_bars.csv --bot file-bot --from 2024-01-01 --json
  algolab paper --symbol BTC/USDT --bot b1 --loop
  algolab paper --symbol BTC/USDT --interval 1h --fetch-from 2024-01-01 --bot b2 --loop   # fresh Binance bars
  # crontab: one tick five seconds after every hour
  0 * * * * cd /srv/algolab && sleep 5 && algolab fetch --symbol BTC/USDT --interval 1h --start 2024-01-01 -q; algolab paper --symbol BTC/USDT --bot b1 -q

A bot's first tick only warms the strategy up on earlier bars and acts from the latest closed
bar on (or from --from). Every later tick steps each closed bar not yet processed, in order.
A second tick started while one runs exits 0 at once. State: DATA_DIR/bots/NAME/ (state.json,
signals.json, equity_history.json, ai_orchestrator_state.json). Telegram notifications when
TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are set.";

/// Telegram from the environment, if configured.
///
/// # Errors
/// A bad token or chat id (exit 2).
pub fn telegram_from_env() -> anyhow::Result<Option<TelegramConfig>> {
    match TelegramConfig::from_vars(|k| std::env::var(k).ok()) {
        None => Ok(None),
        Some(Ok(c)) => Ok(Some(c)),
        Some(Err(e)) => Err(super::UsageError(e.to_string()).into()),
    }
}

fn request(args: &PaperArgs) -> anyhow::Result<PaperRequest> {
    Ok(PaperRequest {
        backtest: args.bot.backtest()?,
        bot: args.bot.bot.clone(),
        now_ms: Some(now_ms()),
        telegram: telegram_from_env()?,
    })
}

/// Run the command.
///
/// # Errors
/// Bad usage, data or parameters (exit 2); state, engine or I/O failures (exit 1).
pub fn run(args: PaperArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let refresh = cache_refresh(&args, ctx)?;
    if !args.bot.run_loop {
        refresh_cache(refresh.as_ref(), g);
        let req = request(&args)?;
        let tg = req.telegram.clone();
        let name = app::bot_name(&req)?;
        match app::tick(ctx, req) {
            Ok(reply) => print_reply(&reply, g),
            Err(e) => {
                // tell the chat a tick failed (bad usage is the caller's, not news)
                if let Some(cfg) = &tg
                    && e.exit_code() != 2
                {
                    let note_ev = crate::notify::Event::Error {
                        bot: name,
                        message: e.to_string(),
                    };
                    for w in app::send_notes(cfg, &[note_ev]).1 {
                        note(g.quiet, &format!("warning: telegram: {w}"));
                    }
                }
                return Err(e.into());
            }
        }
        return Ok(());
    }
    let mut ticks = 0u64;
    let mut health = Health::default();
    let name = app::bot_name(&request(&args)?)?;
    let dir = BotDir::new(&ctx.data_dir, &name)?;
    dir.create()?;
    loop {
        let now = now_ms();
        if args.market.market().is_open(now) {
            refresh_cache(refresh.as_ref(), g);
        }
        let req = request(&args)?;
        let tg = req.telegram.clone();
        health.last_tick_ms = Some(now);
        health.last_tick_at = Some((ctx.now_iso)());
        if args.market.market().is_open(now) {
            match app::tick(ctx, req) {
                Ok(reply) => {
                    print_reply(&reply, g);
                    health.failures = 0;
                    health.last_error = None;
                    health.last_status = match &reply.outcome {
                        TickOutcome::Busy { .. } => "busy".into(),
                        TickOutcome::Done(r) if r.acted.is_some() => "ok".into(),
                        TickOutcome::Done(_) => "idle".into(),
                    };
                    if let TickOutcome::Done(r) = &reply.outcome {
                        health.last_bar_ts_ms = r.state.as_ref().map(|s| s.last_bar_ts_ms);
                    }
                }
                // bad usage will not get better: leave the loop (exit 2)
                Err(e) if e.exit_code() == 2 => return Err(e.into()),
                Err(e) => {
                    let msg = e.to_string();
                    note(g.quiet, &format!("error: {name}: {msg}"));
                    health.failures += 1;
                    health.last_status = "error".into();
                    health.last_error = Some(msg.clone());
                    if let Some(cfg) = &tg {
                        let (_, errs) = app::send_notes(
                            cfg,
                            &[crate::notify::Event::Error {
                                bot: name.clone(),
                                message: msg,
                            }],
                        );
                        for e in errs {
                            note(g.quiet, &format!("warning: telegram: {e}"));
                        }
                    }
                }
            }
        } else {
            health.last_status = "market_closed".into();
            note(g.quiet, &format!("{name}: market closed, tick skipped"));
        }
        if let Err(e) = write_json(&dir.health_path(), &health) {
            note(g.quiet, &format!("warning: {e}"));
        }
        ticks += 1;
        if args.bot.max_ticks.is_some_and(|m| ticks >= m) {
            return Ok(());
        }
        let interval = bar_interval_ms(&dir);
        let wake = match args.every {
            Some(s) => now_ms() + (s as i64) * 1000,
            None => next_wake_ms(now_ms(), interval, (args.bot.settle as i64) * 1000),
        };
        if wait_answering_commands(tg.as_ref(), &dir, g, &name, wake) {
            return Ok(());
        }
    }
}

/// `--fetch-from`: the fetch plan that refreshes the cache before each tick (checked now, so
/// bad usage exits 2 before anything runs).
fn cache_refresh(args: &PaperArgs, ctx: &Ctx) -> anyhow::Result<Option<FetchPlan>> {
    let Some(from) = &args.fetch_from else {
        return Ok(None);
    };
    let Some(symbol) = args.bot.data.symbol.clone() else {
        return Err(super::UsageError("--fetch-from needs --symbol".into()).into());
    };
    let interval = match &args.bot.data.interval {
        Some(iv) => iv.clone(),
        None if Source::infer(&symbol) == Source::Binance => "1h".into(),
        None => "1d".into(),
    };
    let req = FetchRequest {
        symbols: vec![symbol],
        interval,
        start_ms: super::fetch::parse_time("fetch-from", from)?,
        end_ms: None,
        now_ms: now_ms(),
        source: None,
        futures: false,
        adjusted: false,
        base_url: None,
        timeout: Duration::from_secs(10),
    };
    Ok(Some(crate::app::fetch::plan(ctx, &req)?))
}

/// Download the bars missing from the cache (a failure is a warning: the tick goes on).
fn refresh_cache(plan: Option<&FetchPlan>, g: Global) {
    let Some(plan) = plan else {
        return;
    };
    let mut plan = plan.clone();
    plan.now_ms = now_ms();
    let run = || -> anyhow::Result<Vec<String>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let http = crate::app::fetch::client(&plan)?;
        let mut lines = Vec::new();
        for spec in &plan.specs {
            let s = rt.block_on(crate::app::fetch::fetch_one(
                &http,
                &plan,
                spec,
                &mut |_| {},
            ))?;
            lines.push(crate::app::fetch::summary_line(&s));
        }
        Ok(lines)
    };
    match run() {
        Ok(lines) => {
            for l in lines {
                note(g.quiet, &format!("fetch: {l}"));
            }
        }
        Err(e) => note(
            g.quiet,
            &format!(
                "warning: fetch: {}; ticking on the cached bars",
                super::one_line(&e)
            ),
        ),
    }
}

/// The bot's bar interval from its equity history (1 h when unknown).
fn bar_interval_ms(dir: &BotDir) -> i64 {
    let pts: Vec<crate::runner::paper::EquityPoint> =
        crate::runner::bot_dir::read_json(&dir.equity_path())
            .ok()
            .flatten()
            .unwrap_or_default();
    let n = pts.len();
    if n >= 2 {
        (pts[n - 1].ts_ms - pts[n - 2].ts_ms).max(1)
    } else {
        3_600_000
    }
}

/// Poll Telegram for commands and answer them; true when /stop came.
/// Between two ticks of `--loop`: answer chat commands every few seconds until `wake_ms`.
/// True when `/stop` arrived (the loop ends).
pub(super) fn wait_answering_commands(
    tg: Option<&TelegramConfig>,
    dir: &BotDir,
    g: Global,
    name: &str,
    wake_ms: i64,
) -> bool {
    loop {
        if let Some(cfg) = tg
            && answer_commands(cfg, dir, g)
        {
            note(
                g.quiet,
                &format!("{name}: /stop received, leaving the loop"),
            );
            return true;
        }
        let left = wake_ms - now_ms();
        if left <= 0 {
            return false;
        }
        std::thread::sleep(Duration::from_millis(left.clamp(1, 5_000) as u64));
    }
}

pub(super) fn answer_commands(cfg: &TelegramConfig, dir: &BotDir, g: Global) -> bool {
    let Ok(client) = TelegramClient::new(cfg.clone()) else {
        return false;
    };
    let inbox = CommandInbox::new(&dir.telegram_offset_path());
    let (cmds, next) = match inbox.poll(&client) {
        Ok(x) => x,
        Err(e) => {
            note(g.quiet, &format!("warning: {e}"));
            return false;
        }
    };
    let state: Option<PaperState> = crate::runner::bot_dir::read_json(&dir.state_path())
        .ok()
        .flatten();
    let mut stop = false;
    for c in &cmds {
        let text = command_answer(*c, dir.name(), state.as_ref());
        if let Err(e) = client.send_text_blocking(&text) {
            note(g.quiet, &format!("warning: {e}"));
        }
        stop |= *c == BotCommand::Stop;
    }
    if let Err(e) = inbox.save(next) {
        note(g.quiet, &format!("warning: {e}"));
    }
    stop
}

/// The reply to a chat command.
pub fn command_answer(cmd: BotCommand, bot: &str, state: Option<&PaperState>) -> String {
    let Some(s) = state else {
        return format!("{bot}: no tick yet");
    };
    match cmd {
        BotCommand::Status => format!(
            "{bot} ({} {} {}): last bar {}, {} ticks, position {}",
            s.mode,
            s.symbol,
            s.strategy,
            s.last_bar_time,
            s.ticks,
            position_text(s)
        ),
        BotCommand::Balance => format!(
            "{bot}: cash {}, position value {}, equity {}",
            num(s.cash, 2),
            num(s.position_value, 2),
            num(s.equity, 2)
        ),
        BotCommand::Profit => format!(
            "{bot}: total P&L {} ({} closed trades, realised {}, fees {})",
            num(s.total_pnl, 2),
            s.trades.len(),
            num(s.realized_pnl, 2),
            num(s.fees_paid, 2)
        ),
        BotCommand::Stop => format!("{bot}: stopping after this tick"),
    }
}

fn position_text(s: &PaperState) -> String {
    match &s.position {
        None => "flat".into(),
        Some(p) => format!(
            "{:?} {} at {} (unrealised {})",
            p.side,
            p.qty,
            num(p.entry_price, 2),
            num(p.unrealized_pnl, 2)
        )
        .to_lowercase(),
    }
}

pub(super) fn print_reply(reply: &PaperReply, g: Global) {
    for e in &reply.notify_errors {
        note(g.quiet, &format!("warning: telegram: {e}"));
    }
    for w in &reply.warnings {
        note(g.quiet, &format!("warning: {w}"));
    }
    match &reply.outcome {
        TickOutcome::Busy { holder_pid } => {
            note(
                g.quiet,
                &format!(
                    "{}: another tick is running{}; nothing done",
                    reply.bot,
                    holder_pid.map_or_else(String::new, |p| format!(" (pid {p})"))
                ),
            );
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"bot": reply.bot, "status": "busy", "holder_pid": holder_pid})
                );
            }
        }
        TickOutcome::Done(r) => {
            if let Some(pid) = r.stale_lock_pid {
                note(
                    g.quiet,
                    &format!(
                        "{}: took over the lock of an earlier tick (pid {pid}) that did not finish",
                        reply.bot
                    ),
                );
            }
            if !g.quiet {
                eprintln!("{}", reply.data_note);
                match (&r.acted, &r.state) {
                    (Some((a, b)), Some(s)) => eprintln!(
                        "{}: {} new bar(s) {} → {}{}, {} fill(s), {} trade(s) closed; equity {}, {}",
                        reply.bot,
                        r.bars_acted,
                        crate::data::fmt_ts(*a),
                        crate::data::fmt_ts(*b),
                        if r.bars_warmup > 0 {
                            format!(" after {} warm-up bar(s)", r.bars_warmup)
                        } else {
                            String::new()
                        },
                        r.new_signals.len(),
                        r.new_trades.len(),
                        num(s.equity, 2),
                        position_text(s)
                    ),
                    (_, Some(s)) => eprintln!(
                        "{}: nothing new (last bar {}); equity {}, {}",
                        reply.bot,
                        s.last_bar_time,
                        num(s.equity, 2),
                        position_text(s)
                    ),
                    _ => eprintln!("{}: no closed bar yet", reply.bot),
                }
                eprintln!("state: {}", reply.dir.display());
            }
            if g.json {
                let v = serde_json::json!({
                    "bot": reply.bot,
                    "status": if r.acted.is_some() { "done" } else { "idle" },
                    "dir": reply.dir,
                    "bars_acted": r.bars_acted,
                    "bars_warmup": r.bars_warmup,
                    "acted_from": r.acted.map(|a| crate::data::fmt_ts(a.0)),
                    "acted_to": r.acted.map(|a| crate::data::fmt_ts(a.1)),
                    "stale_lock_pid": r.stale_lock_pid,
                    "new_signals": r.new_signals,
                    "new_trades": r.new_trades,
                    "notified": reply.notified,
                    "notify_errors": reply.notify_errors,
                    "state": r.state,
                });
                println!("{v}");
            }
        }
    }
}
