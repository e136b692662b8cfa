//! The bot's state files as written (`state.json`, `signals.json`, `equity_history.json`,
//! `ai_orchestrator_state.json`): plain serde types shared by the paper and live ticks, the
//! notes, the learning-DB record and the API.

use serde::{Deserialize, Serialize};

use crate::core::order::{ExitReason, Side, Trade};
use crate::engine::SavedRun;

/// The state files' format version.
pub const STATE_VERSION: u32 = 1;

/// An open position as the state file shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionState {
    /// `long` or `short`.
    pub side: Side,
    /// Quantity, base units.
    pub qty: f64,
    /// Average entry price.
    pub entry_price: f64,
    /// Entry time, UTC ms.
    pub entry_ts_ms: i64,
    /// Entry time, ISO-8601.
    pub entry_time: String,
    /// Unrealized P&L at the last closed bar (after the entry fee).
    pub unrealized_pnl: f64,
    /// The last closed bar's close.
    pub last_price: f64,
    /// Funding paid by the position so far (live futures bots; `None` where not tracked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<f64>,
}

/// A closed trade as the state file shows it (non-finite numbers as `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRecord {
    /// `long` or `short`.
    pub side: Side,
    /// Quantity, base units.
    pub qty: f64,
    /// Entry fill time, UTC ms.
    pub entry_ts_ms: i64,
    /// Exit fill time, UTC ms.
    pub exit_ts_ms: i64,
    /// Entry fill price.
    pub entry_price: f64,
    /// Exit fill price.
    pub exit_price: f64,
    /// P&L after fees and funding.
    pub pnl: Option<f64>,
    /// Return, percent of entry notional.
    pub return_pct: Option<f64>,
    /// Fees on entry and exit.
    pub fees: Option<f64>,
    /// Why it closed.
    pub exit_reason: ExitReason,
    /// Entry bar index in the bot's bars (`bars.csv`).
    #[serde(default)]
    pub entry_bar: usize,
    /// Exit bar index in the bot's bars.
    #[serde(default)]
    pub exit_bar: usize,
    /// Funding paid while it was open, included in `pnl` (live futures bots: from the
    /// exchange's income history; `None` where not tracked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<f64>,
}

impl TradeRecord {
    /// The trade as the learning DB stores it (MAE/MFE are not tracked by bots: 0).
    pub fn to_trade(&self) -> Trade {
        Trade {
            side: self.side,
            qty: self.qty,
            entry_bar: self.entry_bar,
            exit_bar: self.exit_bar,
            entry_ts_ms: self.entry_ts_ms,
            exit_ts_ms: self.exit_ts_ms,
            entry_price: self.entry_price,
            exit_price: self.exit_price,
            pnl: self.pnl.unwrap_or(f64::NAN),
            return_pct: self.return_pct.unwrap_or(f64::NAN),
            fees: self.fees.unwrap_or(f64::NAN),
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: self.exit_reason,
        }
    }
}

fn fin(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl From<&Trade> for TradeRecord {
    fn from(t: &Trade) -> Self {
        TradeRecord {
            side: t.side,
            qty: t.qty,
            entry_ts_ms: t.entry_ts_ms,
            exit_ts_ms: t.exit_ts_ms,
            entry_price: t.entry_price,
            exit_price: t.exit_price,
            pnl: fin(t.pnl),
            return_pct: fin(t.return_pct),
            fees: fin(t.fees),
            exit_reason: t.exit_reason,
            entry_bar: t.entry_bar,
            exit_bar: t.exit_bar,
            funding: None,
        }
    }
}

/// `state.json`: who the bot is, where it is, its books and its closed trades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperState {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// Bot name.
    pub bot: String,
    /// `paper`, `testnet` or `live`.
    pub mode: String,
    /// Symbol.
    pub symbol: String,
    /// Strategy name.
    pub strategy: String,
    /// Strategy parameters.
    pub params: serde_json::Value,
    /// The settings the bot was started with.
    pub settings: serde_json::Value,
    /// Open time of the bot's first acting bar, UTC ms.
    pub first_act_ts_ms: i64,
    /// Open time of the last bar processed, UTC ms.
    pub last_bar_ts_ms: i64,
    /// The same, ISO-8601.
    pub last_bar_time: String,
    /// Bars acted on so far.
    pub bars_processed: u64,
    /// Ticks that processed bars.
    pub ticks: u64,
    /// Wall-clock time of the last tick that processed bars.
    pub last_tick_at: String,
    /// Starting cash.
    pub initial_cash: f64,
    /// Free cash.
    pub cash: f64,
    /// Position value (isolated margin + unrealized P&L).
    pub position_value: f64,
    /// `cash + position_value`.
    pub equity: f64,
    /// `equity - initial_cash`.
    pub total_pnl: f64,
    /// Sum of closed trades' P&L.
    pub realized_pnl: f64,
    /// Fees paid.
    pub fees_paid: f64,
    /// Net funding paid (negative: received): the simulation's for paper bots, the
    /// exchange's for live futures bots.
    #[serde(default)]
    pub funding_paid: f64,
    /// The open position, if any.
    pub position: Option<PositionState>,
    /// Closed trades, in exit order.
    pub trades: Vec<TradeRecord>,
    /// The engine and strategy state to continue from (`None` for a strategy that cannot
    /// save its state: such a bot replays its bars each tick).
    #[serde(default)]
    pub engine: Option<SavedRun>,
    /// Live and testnet bots: where their bars start and their last reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveInfo>,
}

/// What `state.json` records about a live bot: where its bars start and what the last
/// reconciliation found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveInfo {
    /// `testnet` or `live`.
    pub network: String,
    /// `spot` or `usdm`.
    pub market: String,
    /// Open time of the first bar the bot loads (fixed by its first tick).
    pub bars_from_ms: i64,
    /// Ticks run (with or without new bars).
    pub checks: u64,
    /// The last tick's reconciliation.
    pub last_check: crate::venues::binance::StartCheck,
    /// Wall-clock time of that check.
    pub last_check_at: String,
    /// The broker's notes of the last tick (orders not sent and why, adoptions, cancels).
    pub notes: Vec<String>,
    /// Mismatches and unknown orders found so far, newest last (the last 50).
    pub alerts: Vec<String>,
    /// USD-M futures: every funding payment booked (`GET /fapi/v1/income`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub funding: Vec<crate::venues::binance::FundingFee>,
}

impl PaperState {
    /// Attribute a live futures bot's funding ledger to its trades and its open position by
    /// time ([`super::funding::attribute`]); other bots keep `None`.
    pub fn attribute_funding(&mut self) {
        let Some(live) = &self.live else {
            return;
        };
        if live.market != "usdm" {
            return;
        }
        let pays: Vec<(i64, f64)> = live.funding.iter().map(|f| (f.time_ms, f.paid)).collect();
        let mut spans: Vec<super::funding::Span> = self
            .trades
            .iter()
            .map(|t| super::funding::Span {
                entry_ts_ms: t.entry_ts_ms,
                exit_ts_ms: Some(t.exit_ts_ms),
                qty: t.qty,
            })
            .collect();
        if let Some(p) = &self.position {
            spans.push(super::funding::Span {
                entry_ts_ms: p.entry_ts_ms,
                exit_ts_ms: None,
                qty: p.qty,
            });
        }
        let (per, _) = super::funding::attribute(&pays, &spans);
        for (t, f) in self.trades.iter_mut().zip(&per) {
            t.funding = Some(*f);
        }
        if let Some(p) = self.position.as_mut() {
            p.funding = per.last().copied();
        }
    }
}

/// One entry of `signals.json`: an order the strategy's signal produced, as filled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalRecord {
    /// Fill bar open time, UTC ms.
    pub ts_ms: i64,
    /// The same, ISO-8601.
    pub time: String,
    /// `open`, `increase` or `close`.
    pub action: String,
    /// Buy side of the fill (`long` buys, `short` sells).
    pub side: Side,
    /// Quantity.
    pub qty: f64,
    /// Fill price.
    pub price: f64,
    /// Fee paid.
    pub fee: f64,
    /// For closes, why.
    pub reason: Option<ExitReason>,
}

/// One entry of `equity_history.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquityPoint {
    /// Bar open time, UTC ms.
    pub ts_ms: i64,
    /// The same, ISO-8601.
    pub time: String,
    /// Equity at the bar's close.
    pub equity: f64,
    /// Free cash at the bar's close.
    pub cash: f64,
}

/// `ai_orchestrator_state.json` for a bot: which decision maker drives it and its last
/// decision (the AI orchestrator fills in its components when `--strategy ai` runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrchestratorState {
    /// Strategy name.
    pub strategy: String,
    /// Whether the AI orchestrator drives the bot.
    pub ai_enabled: bool,
    /// The last signal, if any.
    pub last_signal: Option<SignalRecord>,
    /// Open time of the last bar decided on, UTC ms.
    pub last_bar_ts_ms: i64,
    /// `--strategy ai`: the orchestrator's learning state (weights, components, model
    /// versions, online learner), written by `app::ai_bot` after each tick and kept by the
    /// tick's own rewrite of this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<serde_json::Value>,
}
