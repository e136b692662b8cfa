//! `reconcile BOT`: backtest a bot's strategy over the very bars it ticked (`bars.csv` in
//! its folder) with the settings it was started with, and compare trade by trade with what
//! the bot did — signal agreement, entry and exit price gaps (slippage), fees, funding and
//! P&L (issue 13 item 9). Funding is compared per trade too: a live futures bot's funding
//! payments from the exchange and the backtest's funding events (from the `funding_rate`
//! column the bot keeps in `bars.csv`), each attributed to the trades that held the position
//! at the payment's time ([`crate::runner::funding`]). For a paper bot the two agree exactly (replay equivalence); for a
//! live bot the gaps are what the exchange cost compared with the simulation.
//!
//! Trades are matched in order: a bot trade and a backtest trade of the same side whose
//! entries lie within one bar of each other are the same signal. Gaps are in basis points,
//! signed so that a positive gap is a cost to the bot (bought dearer or sold cheaper).

use serde::Serialize;

use super::Ctx;
use super::backtest::{BacktestRequest, DataSpec, strategy_for};
use crate::Error;
use crate::core::order::{ExitReason, Side, Trade};
use crate::engine::{BacktestConfig, run_backtest};
use crate::runner::funding::{Span, attribute};
use crate::runner::paper::TradeRecord;
use crate::runner::{BotDir, PaperState};

/// One trade of the bot, of the backtest, or both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeGap {
    /// `long` or `short`.
    pub side: Side,
    /// Both sides took this trade.
    pub agree: bool,
    /// Still open at the bot's last bar.
    pub open: bool,
    /// The bot's entry time, UTC ms.
    pub bot_entry_ts_ms: Option<i64>,
    /// The backtest's entry time, UTC ms.
    pub backtest_entry_ts_ms: Option<i64>,
    /// The bot's entry price.
    pub bot_entry_price: Option<f64>,
    /// The backtest's entry price.
    pub backtest_entry_price: Option<f64>,
    /// Entry gap, bps (positive: the bot paid more than the backtest).
    pub entry_gap_bps: Option<f64>,
    /// The bot's exit price (closed trades).
    pub bot_exit_price: Option<f64>,
    /// The backtest's exit price (closed trades).
    pub backtest_exit_price: Option<f64>,
    /// Exit gap, bps (positive: the bot got less than the backtest).
    pub exit_gap_bps: Option<f64>,
    /// The bot's fees.
    pub bot_fees: Option<f64>,
    /// The backtest's fees.
    pub backtest_fees: Option<f64>,
    /// Funding the bot paid while the trade was open (live futures bots: the exchange's
    /// funding payments, attributed by time; `None` where not tracked).
    pub bot_funding: Option<f64>,
    /// Funding the backtest paid while its trade was open.
    pub backtest_funding: Option<f64>,
    /// The bot's P&L.
    pub bot_pnl: Option<f64>,
    /// The backtest's P&L.
    pub backtest_pnl: Option<f64>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconcileReport {
    /// Bot name.
    pub bot: String,
    /// `paper`, `testnet` or `live`.
    pub mode: String,
    /// Symbol.
    pub symbol: String,
    /// Strategy.
    pub strategy: String,
    /// Bars acted on (first acting bar to last bar).
    pub bars: usize,
    /// First acting bar, UTC ms.
    pub from_ts_ms: i64,
    /// Last bar, UTC ms.
    pub to_ts_ms: i64,
    /// Trades the bot made (open one included).
    pub trades_bot: usize,
    /// Trades the backtest made (open one included).
    pub trades_backtest: usize,
    /// Trades both made.
    pub matched: usize,
    /// `matched` over all distinct trades, percent (100 when neither traded).
    pub signal_agreement_pct: f64,
    /// Mean entry gap over matched trades, bps.
    pub mean_entry_gap_bps: Option<f64>,
    /// Mean exit gap over matched closed trades, bps.
    pub mean_exit_gap_bps: Option<f64>,
    /// Fees the bot paid.
    pub fees_bot: f64,
    /// Fees the backtest paid.
    pub fees_backtest: f64,
    /// Funding the bot paid (`None` where the venue's funding is not tracked).
    pub funding_bot: Option<f64>,
    /// Funding the backtest paid.
    pub funding_backtest: f64,
    /// The bot's closed-trade P&L.
    pub pnl_bot: f64,
    /// The backtest's closed-trade P&L.
    pub pnl_backtest: f64,
    /// Trade by trade.
    pub rows: Vec<TradeGap>,
}

fn bps(bot: f64, reference: f64, cost_when_higher: bool) -> Option<f64> {
    if !(bot.is_finite() && reference.is_finite()) || reference == 0.0 {
        return None;
    }
    let g = (bot - reference) / reference * 10_000.0;
    Some(if cost_when_higher { g } else { -g })
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut s, mut n) = (0.0, 0usize);
    for x in xs {
        s += x;
        n += 1;
    }
    (n > 0).then(|| s / n as f64)
}

/// A bot trade as the comparison sees it.
#[derive(Debug, Clone, Copy)]
struct Leg {
    side: Side,
    open: bool,
    entry_ts_ms: i64,
    entry_price: f64,
    exit_price: f64,
    fees: f64,
    funding: Option<f64>,
    pnl: f64,
}

fn leg_of_record(t: &TradeRecord) -> Leg {
    Leg {
        side: t.side,
        open: t.exit_reason == ExitReason::Open,
        entry_ts_ms: t.entry_ts_ms,
        entry_price: t.entry_price,
        exit_price: t.exit_price,
        fees: t.fees.unwrap_or(0.0),
        funding: t.funding,
        pnl: t.pnl.unwrap_or(0.0),
    }
}

fn leg_of_trade(t: &Trade, funding: f64) -> Leg {
    Leg {
        side: t.side,
        open: t.exit_reason == ExitReason::Open,
        entry_ts_ms: t.entry_ts_ms,
        entry_price: t.entry_price,
        exit_price: t.exit_price,
        fees: t.fees,
        funding: Some(funding),
        pnl: t.pnl,
    }
}

// Compare the bot's trades with the backtest's (pure; see the module doc).
fn compare(bot: &[Leg], backtest: &[Leg], interval_ms: i64) -> Vec<TradeGap> {
    let mut used = vec![false; backtest.len()];
    let mut rows = Vec::new();
    let mut next_bt = 0usize;
    for b in bot {
        let found = (next_bt..backtest.len()).find(|&j| {
            !used[j]
                && backtest[j].side == b.side
                && (backtest[j].entry_ts_ms - b.entry_ts_ms).abs() < interval_ms.max(1)
        });
        let long = b.side == Side::Long;
        match found {
            Some(j) => {
                // backtest trades skipped over were not taken by the bot
                for k in next_bt..j {
                    if !used[k] {
                        used[k] = true;
                        rows.push(only_backtest(&backtest[k]));
                    }
                }
                used[j] = true;
                next_bt = j + 1;
                let t = &backtest[j];
                let closed = !b.open && !t.open;
                rows.push(TradeGap {
                    side: b.side,
                    agree: true,
                    open: b.open,
                    bot_entry_ts_ms: Some(b.entry_ts_ms),
                    backtest_entry_ts_ms: Some(t.entry_ts_ms),
                    bot_entry_price: Some(b.entry_price),
                    backtest_entry_price: Some(t.entry_price),
                    entry_gap_bps: bps(b.entry_price, t.entry_price, long),
                    bot_exit_price: (!b.open).then_some(b.exit_price),
                    backtest_exit_price: (!t.open).then_some(t.exit_price),
                    exit_gap_bps: if closed {
                        bps(b.exit_price, t.exit_price, !long)
                    } else {
                        None
                    },
                    bot_fees: Some(b.fees),
                    backtest_fees: Some(t.fees),
                    bot_funding: b.funding,
                    backtest_funding: t.funding,
                    bot_pnl: Some(b.pnl),
                    backtest_pnl: Some(t.pnl),
                });
            }
            None => rows.push(TradeGap {
                side: b.side,
                agree: false,
                open: b.open,
                bot_entry_ts_ms: Some(b.entry_ts_ms),
                backtest_entry_ts_ms: None,
                bot_entry_price: Some(b.entry_price),
                backtest_entry_price: None,
                entry_gap_bps: None,
                bot_exit_price: (!b.open).then_some(b.exit_price),
                backtest_exit_price: None,
                exit_gap_bps: None,
                bot_fees: Some(b.fees),
                backtest_fees: None,
                bot_funding: b.funding,
                backtest_funding: None,
                bot_pnl: Some(b.pnl),
                backtest_pnl: None,
            }),
        }
    }
    for (k, t) in backtest.iter().enumerate() {
        if !used[k] {
            rows.push(only_backtest(t));
        }
    }
    rows
}

fn only_backtest(t: &Leg) -> TradeGap {
    TradeGap {
        side: t.side,
        agree: false,
        open: t.open,
        bot_entry_ts_ms: None,
        backtest_entry_ts_ms: Some(t.entry_ts_ms),
        bot_entry_price: None,
        backtest_entry_price: Some(t.entry_price),
        entry_gap_bps: None,
        bot_exit_price: None,
        backtest_exit_price: (!t.open).then_some(t.exit_price),
        exit_gap_bps: None,
        bot_fees: None,
        backtest_fees: Some(t.fees),
        bot_funding: None,
        backtest_funding: t.funding,
        bot_pnl: None,
        backtest_pnl: Some(t.pnl),
    }
}

fn bad(bot: &BotDir, cause: impl std::fmt::Display) -> Error {
    Error::Usage(format!("cannot reconcile bot {}: {cause}", bot.name()))
}

/// The bot's `bars.csv` up to its last complete row. A row torn by a killed tick (no final
/// newline) is the next tick's to repair; reconcile only reads, so it parses a copy of the
/// complete rows instead of failing or touching the bot's file.
fn load_complete_rows(bot: &BotDir, bot_name: &str) -> Result<crate::data::Bars, Error> {
    let path = bot.bars_path();
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(_) => return crate::data::load(&path).map_err(|e| bad(bot, e)),
    };
    let Some(last_nl) = bytes.iter().rposition(|&b| b == b'\n') else {
        return crate::data::load(&path).map_err(|e| bad(bot, e));
    };
    if last_nl + 1 == bytes.len() {
        return crate::data::load(&path).map_err(|e| bad(bot, e));
    }
    let safe: String = bot_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let copy = std::env::temp_dir().join(format!(
        "algolab-reconcile-{}-{safe}.csv",
        std::process::id()
    ));
    std::fs::write(&copy, &bytes[..=last_nl]).map_err(|e| bad(bot, e))?;
    let loaded = crate::data::load(&copy).map_err(|e| bad(bot, e));
    let _ = std::fs::remove_file(&copy);
    loaded
}

/// `algolab reconcile BOT`.
///
/// # Errors
/// A bot without state, bars or saved settings (exit 2); a strategy that cannot be built
/// again (exit 2); engine failures.
pub fn run(ctx: &Ctx, bot_name: &str) -> Result<ReconcileReport, Error> {
    let bot = BotDir::new(&ctx.data_dir, bot_name)?;
    let state: PaperState = crate::runner::bot_dir::read_json(&bot.state_path())?
        .ok_or_else(|| bad(&bot, format!("no {}", bot.state_path().display())))?;
    let all = load_complete_rows(&bot, bot_name)?;
    let ts = all.ts_ms();
    let n = ts.partition_point(|&t| t <= state.last_bar_ts_ms);
    let bars = all.slice(0..n);
    let saved = state
        .engine
        .as_ref()
        .ok_or_else(|| bad(&bot, "no saved engine settings in state.json"))?;
    let mut cfg: BacktestConfig = saved
        .engine
        .get("cfg")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| bad(&bot, "unreadable engine settings in state.json"))?;
    cfg.cash = state.initial_cash;
    cfg.from_ts_ms = Some(state.first_act_ts_ms);
    cfg.to_ts_ms = Some(state.last_bar_ts_ms);
    cfg.close_at_end = false;
    let params: Vec<(String, String)> = state
        .params
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let s = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect()
        })
        .unwrap_or_default();
    let strategy_file = state
        .settings
        .get("strategy_file")
        .and_then(|v| v.as_str())
        .map(std::path::PathBuf::from);
    let req = BacktestRequest {
        data: DataSpec::File(bot.bars_path()),
        strategy: state.strategy.clone(),
        params,
        strategy_file,
        regime_params: None,
        regime_objective: "sharpe".into(),
        cfg,
        report: None,
        record: false,
        ai: Default::default(),
        strategies: Vec::new(),
    };
    let (_, _, mut strat) = strategy_for(ctx, &req)?;
    let result = run_backtest(&bars, &mut *strat, &cfg)?;
    let mut bot_legs: Vec<Leg> = state.trades.iter().map(leg_of_record).collect();
    if let Some(p) = &state.position {
        bot_legs.push(Leg {
            side: p.side,
            open: true,
            entry_ts_ms: p.entry_ts_ms,
            entry_price: p.entry_price,
            exit_price: p.last_price,
            fees: 0.0,
            funding: p.funding,
            pnl: p.unrealized_pnl,
        });
    }
    // the backtest's funding events, attributed to its trades by time as the bot's are
    let pays: Vec<(i64, f64)> = result
        .events
        .iter()
        .filter_map(|e| match e {
            crate::engine::Event::Funding { t, payment } => Some((ts[*t], *payment)),
            _ => None,
        })
        .collect();
    let spans: Vec<Span> = result
        .trades
        .iter()
        .map(|t| Span {
            entry_ts_ms: t.entry_ts_ms,
            exit_ts_ms: (t.exit_reason != ExitReason::Open).then_some(t.exit_ts_ms),
            qty: t.qty,
        })
        .collect();
    let (bt_funding, _) = attribute(&pays, &spans);
    let bt_legs: Vec<Leg> = result
        .trades
        .iter()
        .zip(&bt_funding)
        .map(|(t, f)| leg_of_trade(t, *f))
        .collect();
    let rows = compare(&bot_legs, &bt_legs, bars.interval_ms().unwrap_or(1));
    let matched = rows.iter().filter(|r| r.agree).count();
    let futures_bot = state.live.as_ref().is_some_and(|l| l.market == "usdm");
    let funding_bot = if state.mode == "paper" {
        Some(
            saved
                .engine
                .pointer("/broker/account/funding_paid")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0),
        )
    } else {
        // live futures bots book the exchange's funding payments; spot has none
        futures_bot.then_some(state.funding_paid)
    };
    Ok(ReconcileReport {
        bot: bot.name().to_string(),
        mode: state.mode.clone(),
        symbol: state.symbol.clone(),
        strategy: state.strategy.clone(),
        bars: ts[..n]
            .iter()
            .filter(|&&t| t >= state.first_act_ts_ms)
            .count(),
        from_ts_ms: state.first_act_ts_ms,
        to_ts_ms: state.last_bar_ts_ms,
        trades_bot: bot_legs.len(),
        trades_backtest: bt_legs.len(),
        matched,
        signal_agreement_pct: if rows.is_empty() {
            100.0
        } else {
            100.0 * matched as f64 / rows.len() as f64
        },
        mean_entry_gap_bps: mean(rows.iter().filter_map(|r| r.entry_gap_bps)),
        mean_exit_gap_bps: mean(rows.iter().filter_map(|r| r.exit_gap_bps)),
        fees_bot: state.fees_paid,
        fees_backtest: result.fees_paid,
        funding_bot,
        funding_backtest: result.funding_paid,
        pnl_bot: state.realized_pnl,
        pnl_backtest: result
            .trades
            .iter()
            .filter(|t| t.exit_reason != ExitReason::Open)
            .map(|t| t.pnl)
            .sum(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(side: Side, entry_ts_ms: i64, entry: f64, exit: f64) -> Leg {
        Leg {
            side,
            open: false,
            entry_ts_ms,
            entry_price: entry,
            exit_price: exit,
            fees: 1.0,
            funding: None,
            pnl: exit - entry,
        }
    }

    #[test]
    fn matched_trades_report_gaps_signed_as_costs() {
        let bot = [
            leg(Side::Long, 1_000, 101.0, 99.0),
            leg(Side::Short, 5_000, 99.0, 101.0),
        ];
        let bt = [
            leg(Side::Long, 1_200, 100.0, 100.0),
            leg(Side::Short, 5_000, 100.0, 100.0),
        ];
        let rows = compare(&bot, &bt, 1_000);
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.agree));
        // long: bought 1 % dearer and sold 1 % cheaper → +100 bps each
        assert!((rows[0].entry_gap_bps.unwrap() - 100.0).abs() < 1e-9);
        assert!((rows[0].exit_gap_bps.unwrap() - 100.0).abs() < 1e-9);
        // short: sold 1 % cheaper and bought back 1 % dearer → +100 bps each
        assert!((rows[1].entry_gap_bps.unwrap() - 100.0).abs() < 1e-9);
        assert!((rows[1].exit_gap_bps.unwrap() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn trades_only_one_side_took_are_listed_as_disagreements() {
        let bot = [leg(Side::Long, 10_000, 100.0, 100.0)];
        let bt = [
            leg(Side::Long, 1_000, 100.0, 100.0),
            leg(Side::Long, 10_000, 100.0, 100.0),
            leg(Side::Short, 20_000, 100.0, 100.0),
        ];
        let rows = compare(&bot, &bt, 1_000);
        let agree: Vec<bool> = rows.iter().map(|r| r.agree).collect();
        assert_eq!(agree, [false, true, false]);
        assert_eq!(rows[0].backtest_entry_ts_ms, Some(1_000));
        assert_eq!(rows[0].bot_entry_ts_ms, None);
        assert_eq!(rows[2].side, Side::Short);
    }
}
