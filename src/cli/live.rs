//! `algolab live`: one testnet (default) or live tick on Binance per call (safe under
//! cron), or `--loop` ticking after every bar close. Parsing, the environment (keys, base
//! URLs), the wall clock, sleeping and printing only; the tick is [`crate::app::live::tick`].

use clap::Args;

use super::common::{BotArgs, note, now_ms};
use super::paper::{print_reply, telegram_from_env, wait_answering_commands};
use super::{Global, UsageError};
use crate::app::Ctx;
use crate::app::live::{self as app, LiveRequest};
use crate::runner::fleet::Health;
use crate::runner::{BotDir, TickOutcome, next_wake_ms};
use crate::venues::binance::{BaseUrls, Credentials, Market, Network};

/// Trade a strategy on Binance (testnet unless --live --i-understand-real-money): one tick
/// per call.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct LiveArgs {
    /// The pair (`--symbol BTC/USDT`) and kline interval (`--interval 1h`, the default),
    /// strategy, sizing (`--leverage` needs `--futures`; `--cash` is ignored: the books start
    /// from the exchange balance), bot name and `--loop`, as for `paper`.
    #[command(flatten)]
    pub bot: BotArgs,
    /// USD-M perpetual futures (isolated margin, `--leverage`) instead of spot.
    #[arg(long)]
    pub futures: bool,
    /// Trade on the real exchange (needs --i-understand-real-money too).
    #[arg(long)]
    pub live: bool,
    /// Confirms --live.
    #[arg(long)]
    pub i_understand_real_money: bool,
    /// Bars loaded before the first acting bar to warm the strategy up.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub warmup: usize,
}

const EXAMPLES: &str = "Examples:
  algolab live --symbol BTC/USDT --interval 1h --strategy sma-cross --param fast=3 --param slow=8 --param long_only=true --bot b1
  algolab live --symbol BTC/USDT --futures --leverage 3 --fractional --bot f1 --json
  # crontab: a testnet bot, one tick five seconds after every hour
  0 * * * * cd /srv/algolab && sleep 5 && BINANCE_API_KEY=... BINANCE_SECRET=... algolab live --symbol BTC/USDT --bot b1 -q

Testnet unless --live --i-understand-real-money. Keys from BINANCE_API_KEY and BINANCE_SECRET;
base URLs from ALGOLAB_BINANCE_URL / ALGOLAB_BINANCE_FUTURES_URL when set. The bots of one
DATA_DIR share one request-weight budget per minute (DATA_DIR/binance_weight_*.txt; Binance's
limit, or ALGOLAB_BINANCE_WEIGHT_LIMIT), so a ban met by one holds back all. Every tick first
reconciles with the exchange (balances, position, open orders and algo orders, fills since
the last tick), then steps the new closed bars. Exit codes: 0 done (or another tick runs),
1 exchange or state failure, 2 bad usage, missing or refused keys, changed settings.";

fn request(args: &LiveArgs, ctx: &Ctx) -> anyhow::Result<LiveRequest> {
    let network = match (args.live, args.i_understand_real_money) {
        (false, false) => Network::Testnet,
        (true, true) => Network::Live,
        (true, false) => {
            return Err(UsageError(
                "--live trades real money: add --i-understand-real-money to confirm".into(),
            )
            .into());
        }
        (false, true) => {
            return Err(UsageError(
                "--i-understand-real-money only confirms --live; without --live the bot uses the testnet".into(),
            )
            .into());
        }
    };
    if args.bot.data.data.is_some() {
        return Err(UsageError(
            "live trades the exchange's bars: give --symbol (and --interval), not --data".into(),
        )
        .into());
    }
    let credentials = Credentials::from_vars(|k| std::env::var(k).ok()).map_err(|e| {
        UsageError(format!(
            "{e} (live needs BINANCE_API_KEY and BINANCE_SECRET)"
        ))
    })?;
    let urls = BaseUrls::resolve(network, |k| std::env::var(k).ok())?;
    let market = if args.futures {
        Market::UsdM
    } else {
        Market::Spot
    };
    Ok(LiveRequest {
        backtest: args.bot.backtest()?,
        bot: args.bot.bot.clone(),
        network,
        market,
        urls,
        credentials,
        warmup_bars: args.warmup,
        // one budget for every bot and download of this machine (a file under DATA_DIR)
        budget: ctx.binance_budget(market),
        telegram: telegram_from_env()?,
    })
}

fn tick_once(args: &LiveArgs, g: Global, ctx: &Ctx) -> anyhow::Result<TickOutcome> {
    let req = request(args, ctx)?;
    let tg = req.telegram.clone();
    let name = app::bot_name(&req)?;
    match app::tick(ctx, req) {
        Ok(reply) => {
            print_reply(&reply, g);
            if let TickOutcome::Done(r) = &reply.outcome
                && let Some(live) = r.state.as_ref().and_then(|s| s.live.as_ref())
            {
                let c = &live.last_check;
                note(
                    g.quiet,
                    &format!(
                        "{name}: reconciled: position {} (booked {}), {} open order(s), {} unknown, {} cancelled, {} pending fill(s){}",
                        c.exchange_qty,
                        c.local_qty,
                        c.open_orders.len(),
                        c.unknown_orders.len(),
                        c.cancelled.len(),
                        c.pending_fills,
                        c.mismatch
                            .as_ref()
                            .map_or_else(String::new, |m| format!("; MISMATCH: {m}"))
                    ),
                );
                for n in &live.notes {
                    note(g.quiet, &format!("{name}: {n}"));
                }
            }
            Ok(reply.outcome)
        }
        Err(e) => {
            if let Some(cfg) = &tg
                && e.exit_code() != 2
            {
                let ev = crate::notify::Event::Error {
                    bot: name,
                    message: e.to_string(),
                };
                for w in crate::app::paper::send_notes(cfg, &[ev]).1 {
                    note(g.quiet, &format!("warning: telegram: {w}"));
                }
            }
            Err(e.into())
        }
    }
}

/// Run the command.
///
/// # Errors
/// Bad usage, missing keys or changed settings (exit 2); exchange, state or I/O failures
/// (exit 1).
pub fn run(args: LiveArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    if !args.bot.run_loop {
        tick_once(&args, g, ctx)?;
        return Ok(());
    }
    let first = request(&args, ctx)?;
    let name = app::bot_name(&first)?;
    let tg = first.telegram.clone();
    let iv =
        crate::venues::binance::interval_ms(args.bot.data.interval.as_deref().unwrap_or("1h"))?;
    let dir = BotDir::new(&ctx.data_dir, &name)?;
    dir.create()?;
    let mut health = Health::default();
    let mut ticks = 0u64;
    loop {
        health.last_tick_ms = Some(now_ms());
        health.last_tick_at = Some((ctx.now_iso)());
        match tick_once(&args, g, ctx) {
            Ok(o) => {
                health.failures = 0;
                health.last_error = None;
                health.last_status = match &o {
                    TickOutcome::Busy { .. } => "busy".into(),
                    TickOutcome::Done(r) if r.acted.is_some() => "ok".into(),
                    TickOutcome::Done(_) => "idle".into(),
                };
            }
            Err(e) if super::exit_code(&e) == 2 => return Err(e),
            Err(e) => {
                let msg = super::one_line(&e);
                note(g.quiet, &format!("error: {name}: {msg}"));
                health.failures += 1;
                health.last_status = "error".into();
                health.last_error = Some(msg);
            }
        }
        if let Err(e) = crate::runner::bot_dir::write_json(&dir.health_path(), &health) {
            note(g.quiet, &format!("warning: {e}"));
        }
        ticks += 1;
        if args.bot.max_ticks.is_some_and(|m| ticks >= m) {
            return Ok(());
        }
        let wake = next_wake_ms(now_ms(), iv, (args.bot.settle as i64) * 1000);
        if wait_answering_commands(tg.as_ref(), &dir, g, &name, wake) {
            return Ok(());
        }
    }
}
