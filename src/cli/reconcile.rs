//! `algolab reconcile BOT`: the bot's trades next to a backtest of its strategy over the
//! same bars. Parsing and printing only; the comparison is [`crate::app::reconcile::run`].

use clap::Args;

use super::Global;
use super::common::num;
use crate::app::Ctx;
use crate::data::fmt_ts;

/// Compare a bot's trades with a backtest over the bars it ticked.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  algolab reconcile b1
  algolab reconcile b1 --json

Gaps are in basis points, positive when the bot did worse than the backtest (bought dearer,
sold cheaper). A paper bot agrees exactly; a live bot shows what the exchange cost.")]
pub struct ReconcileArgs {
    /// The bot's name (DATA_DIR/bots/NAME).
    pub bot: String,
}

fn opt(v: Option<f64>, d: usize) -> String {
    v.map_or_else(|| "-".into(), |x| num(x, d))
}

/// Run the command.
///
/// # Errors
/// An unknown bot or one without bars or settings (exit 2).
pub fn run(args: ReconcileArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let r = crate::app::reconcile::run(ctx, &args.bot)?;
    if g.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "{} ({} {} {}): {} bars {} → {}",
        r.bot,
        r.mode,
        r.symbol,
        r.strategy,
        r.bars,
        fmt_ts(r.from_ts_ms),
        fmt_ts(r.to_ts_ms)
    );
    println!(
        "trades: bot {}, backtest {}, both {} ({}% agreement)",
        r.trades_bot,
        r.trades_backtest,
        r.matched,
        num(r.signal_agreement_pct, 1)
    );
    println!(
        "mean gap: entry {} bps, exit {} bps; fees: bot {}, backtest {}; funding: bot {}, backtest {}; P&L: bot {}, backtest {}",
        opt(r.mean_entry_gap_bps, 1),
        opt(r.mean_exit_gap_bps, 1),
        num(r.fees_bot, 2),
        num(r.fees_backtest, 2),
        opt(r.funding_bot, 2),
        num(r.funding_backtest, 2),
        num(r.pnl_bot, 2),
        num(r.pnl_backtest, 2)
    );
    for (i, row) in r.rows.iter().enumerate() {
        let ts = row
            .bot_entry_ts_ms
            .or(row.backtest_entry_ts_ms)
            .unwrap_or(0);
        println!(
            "  {:>3} {:<5} {} {:<13} entry {:>12} vs {:>12} ({:>7} bps)  exit {:>12} vs {:>12} ({:>7} bps)  funding {:>8} vs {:>8}  pnl {:>10} vs {:>10}",
            i + 1,
            format!("{:?}", row.side).to_lowercase(),
            fmt_ts(ts),
            match (row.agree, row.bot_entry_ts_ms.is_some()) {
                (true, _) if row.open => "both (open)",
                (true, _) => "both",
                (false, true) => "bot only",
                (false, false) => "backtest only",
            },
            opt(row.bot_entry_price, 2),
            opt(row.backtest_entry_price, 2),
            opt(row.entry_gap_bps, 1),
            opt(row.bot_exit_price, 2),
            opt(row.backtest_exit_price, 2),
            opt(row.exit_gap_bps, 1),
            opt(row.bot_funding, 2),
            opt(row.backtest_funding, 2),
            opt(row.bot_pnl, 2),
            opt(row.backtest_pnl, 2),
        );
    }
    Ok(())
}
