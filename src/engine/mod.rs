//! The engine: one bar loop that drives a strategy through risk and a broker, and keeps
//! the portfolio's books (docs/DESIGN.md §3).
//!
//! At each bar `t`: the broker syncs (funding, pending orders fill at the open of `t`,
//! stops, take-profits and liquidation inside `t`, mark at the close), risk updates the
//! managed stops (in force from `t + 1`), equity is recorded, then the strategy decides on
//! `History::new(bars, t)` and its intent goes through risk to the broker (filling at the
//! open of `t + 1`, or at the close of `t` with [`Fill::Close`]).
//!
//! Accounting holds exactly on every bar: `cash[t] + position_value[t] == equity[t]`, where
//! cash is the free balance and the position's value is its isolated margin plus unrealized
//! PnL (for an unleveraged long that is `qty × close`; for an unleveraged short
//! `qty × (2·entry − close)`). Equity is never NaN. The loop allocates nothing per bar:
//! the result vectors are preallocated and events are pushed only when something happens.

mod event;
pub mod fast;
mod run;
mod step;

pub use crate::broker::Series;
pub use crate::broker::sim::Fill;
pub use crate::core::order::{Rationale, Reason};
pub use event::{EngineEvent, EventKind};
pub use run::run_backtest;
pub use step::{BarInput, Engine, Mark, SavedRun};

use crate::broker::{BrokerError, FillAction, MaintenanceMargin, OrderFill, SimConfig};
use crate::core::order::{ExitReason, Side, Trade};
use crate::risk::{Protection, RefusalReason, RiskConfig};

/// Backtest settings. `Default` is backtesting.py's: 10 000 cash, no commission, fill at
/// the next open, whole units, leverage 1, positions left open at the end, no risk rules.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BacktestConfig {
    /// Starting cash.
    pub cash: f64,
    /// Commission, fraction of traded notional, on entry and exit.
    pub commission: f64,
    /// Slippage, fraction of price against the trader.
    pub slippage: f64,
    /// When market orders fill.
    pub fill: Fill,
    /// Fractional quantities (crypto).
    pub fractional: bool,
    /// Leverage, 1 to 125 (isolated margin).
    pub leverage: f64,
    /// Close an open position at the last close (reason `EndOfData`) instead of reporting
    /// it open (reason `Open`).
    pub close_at_end: bool,
    /// Risk rules.
    pub risk: RiskConfig,
    /// Maintenance-margin brackets (tiered like Binance BTCUSDT, or flat).
    pub maintenance: MaintenanceMargin,
    /// Liquidation fee, fraction of notional (0.005).
    pub liquidation_fee_rate: f64,
    /// Trade only from this bar open time on (UTC ms); earlier bars warm the strategy up.
    pub from_ts_ms: Option<i64>,
    /// Stop after this bar open time (inclusive).
    pub to_ts_ms: Option<i64>,
    /// The instrument's minimum order quantity (0 = none): smaller entries are not placed.
    pub min_qty: f64,
    /// The instrument's minimum order notional, quote currency (0 = none): smaller entries
    /// are not placed, and a flat run whose equity cannot pay one minimum order
    /// (`min_notional / leverage + min_notional × commission`) stops trading
    /// ([`BacktestResult::halted`]; issue 10 item 3).
    pub min_notional: f64,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        BacktestConfig {
            cash: 10_000.0,
            commission: 0.0,
            slippage: 0.0,
            fill: Fill::NextOpen,
            fractional: false,
            leverage: 1.0,
            close_at_end: false,
            risk: RiskConfig::passthrough(),
            maintenance: MaintenanceMargin::BinanceBtcUsdt,
            liquidation_fee_rate: 0.005,
            from_ts_ms: None,
            to_ts_ms: None,
            min_qty: 0.0,
            min_notional: 0.0,
        }
    }
}

impl BacktestConfig {
    /// The simulated broker's part of the settings.
    pub fn sim_config(&self) -> SimConfig {
        SimConfig {
            cash: self.cash,
            commission: self.commission,
            slippage: self.slippage,
            fill: self.fill,
            fractional: self.fractional,
            leverage: self.leverage,
            maintenance: self.maintenance,
            liquidation_fee_rate: self.liquidation_fee_rate,
            min_qty: self.min_qty,
            min_notional: self.min_notional,
        }
    }

    /// What one minimum order costs in margin and commission (`min_notional / leverage +
    /// min_notional × commission`); 0 without a minimum notional.
    pub fn min_order_cost(&self) -> f64 {
        if self.min_notional > 0.0 {
            self.min_notional / self.leverage + self.min_notional * self.commission
        } else {
            0.0
        }
    }

    /// Check every number is in range.
    ///
    /// # Errors
    /// [`EngineError::Config`] naming the first bad setting.
    pub fn validate(&self) -> Result<(), EngineError> {
        let checks: [(&'static str, f64, bool, &'static str); 7] = [
            (
                "min_qty",
                self.min_qty,
                self.min_qty.is_finite() && self.min_qty >= 0.0,
                ">= 0",
            ),
            (
                "min_notional",
                self.min_notional,
                self.min_notional.is_finite() && self.min_notional >= 0.0,
                ">= 0",
            ),
            (
                "cash",
                self.cash,
                self.cash.is_finite() && self.cash > 0.0,
                "> 0",
            ),
            (
                "commission",
                self.commission,
                (0.0..0.1).contains(&self.commission),
                "0 <= x < 0.1",
            ),
            (
                "slippage",
                self.slippage,
                (0.0..0.1).contains(&self.slippage),
                "0 <= x < 0.1",
            ),
            (
                "leverage",
                self.leverage,
                (1.0..=125.0).contains(&self.leverage),
                "1..=125",
            ),
            (
                "liquidation_fee_rate",
                self.liquidation_fee_rate,
                (0.0..=0.1).contains(&self.liquidation_fee_rate),
                "0..=0.1",
            ),
        ];
        for (name, value, ok, allowed) in checks {
            if !ok {
                return Err(EngineError::Config {
                    name,
                    value,
                    allowed,
                });
            }
        }
        if let MaintenanceMargin::Flat(r) = self.maintenance
            && !(0.0..=0.5).contains(&r)
        {
            return Err(EngineError::Config {
                name: "maintenance_margin_rate",
                value: r,
                allowed: "0..=0.5",
            });
        }
        Ok(())
    }
}

/// What can stop a backtest.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The broker failed.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// A setting out of range.
    #[error("{name} = {value} is out of range: {allowed}")]
    Config {
        /// Setting name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// Allowed range in words.
        allowed: &'static str,
    },
    /// A saved state could not be written or read.
    #[error(transparent)]
    State(#[from] crate::persist::StateError),
    /// No bars in the requested range.
    #[error("no bars between {from} and {to}")]
    EmptyRange {
        /// Range start as text.
        from: String,
        /// Range end as text.
        to: String,
    },
}

/// How a fill changed the position (the transcript's form of [`FillAction`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillKind {
    /// Opened a position.
    Open,
    /// Added to a position on the same side.
    Increase,
    /// Closed all or part of the position, for this reason; the closed part is a trade of
    /// [`BacktestResult::trades`] ([`FillEvent::trade_index`]).
    Close(ExitReason),
}

/// A fill in the backtest transcript: 40 bytes, no heap. The closed trade is not copied
/// here but referred to by its index in [`BacktestResult::trades`]; the order's client id
/// and purpose are in the engine's full events ([`EventKind::Fill`]), which a venue reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillEvent {
    /// Bar index of the fill.
    pub t: usize,
    /// Quantity in base units.
    pub qty: f64,
    /// Fill price, slippage included.
    pub price: f64,
    /// Commission (or liquidation fee) charged on this fill.
    pub fee: f64,
    /// Buy (`Long`) or sell (`Short`).
    pub side: Side,
    /// Open, increase, or close with a reason.
    pub action: FillKind,
    /// For a closing fill, the index of its trade in [`BacktestResult::trades`] (`u32`:
    /// it fits beside the other fields in 40 bytes; `u32::MAX` otherwise).
    trade: u32,
}

impl FillEvent {
    /// The transcript form of `f`; `trade` is the index its closed trade (if any) gets in
    /// [`BacktestResult::trades`].
    pub fn new(f: &OrderFill, trade: usize) -> Self {
        let (action, trade) = match f.action {
            FillAction::Open => (FillKind::Open, u32::MAX),
            FillAction::Increase => (FillKind::Increase, u32::MAX),
            FillAction::Close { trade: closed } => (
                FillKind::Close(closed.exit_reason),
                // more than 4 billion trades cannot fit in memory: the fallback is unreachable
                u32::try_from(trade).unwrap_or(u32::MAX),
            ),
        };
        FillEvent {
            t: f.t,
            qty: f.qty,
            price: f.price,
            fee: f.fee,
            side: f.side,
            action,
            trade,
        }
    }

    /// The exit reason when this fill closed something.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        match self.action {
            FillKind::Close(r) => Some(r),
            FillKind::Open | FillKind::Increase => None,
        }
    }

    /// For a closing fill, the index of the trade it closed in [`BacktestResult::trades`]
    /// (closing fills and trades are in the same order: the k-th closing fill closed
    /// `trades[k]`).
    pub fn trade_index(&self) -> Option<usize> {
        match self.action {
            FillKind::Close(_) if self.trade != u32::MAX => usize::try_from(self.trade).ok(),
            _ => None,
        }
    }
}

/// One entry of the engine's audit transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An order, stop, take-profit or liquidation filled (the closed trade, if any, is in
    /// [`BacktestResult::trades`] at [`FillEvent::trade_index`]). A compact copy of the
    /// broker's fill: the transcript of a 1 M-bar run holds ~77 k entries.
    Fill(FillEvent),
    /// Risk changed the protective orders (stop moved, legs placed), in force from `t + 1`.
    Protection {
        /// Bar whose close decided it.
        t: usize,
        /// The new protection (boxed: rare, and it would triple the size of every event).
        protection: Box<Protection>,
    },
    /// Funding paid (negative: received) at the open of bar `t`.
    Funding {
        /// Bar index.
        t: usize,
        /// Amount paid.
        payment: f64,
    },
    /// Risk refused the strategy's intent at bar `t`.
    Refused {
        /// Bar index.
        t: usize,
        /// Why.
        reason: RefusalReason,
    },
    /// The broker cancelled orders at fill time (not enough margin, zero size).
    OrdersRejected {
        /// Bar index.
        t: usize,
        /// How many.
        count: u64,
    },
    /// Equity reached zero at the close of bar `t`; trading stopped.
    Bankrupt {
        /// Bar index.
        t: usize,
    },
}

/// A backtest's outcome: per-bar books, trades and the audit transcript.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BacktestResult {
    /// Index of the first traded bar (`from_ts_ms`); the vectors below start there.
    pub first_bar: usize,
    /// Equity at each bar's close.
    pub equity: Series,
    /// Free cash at each bar's close.
    pub cash: Series,
    /// Position value (isolated margin + unrealized PnL) at each bar's close.
    pub position_value: Series,
    /// Whether a position is open at each bar's close.
    pub exposure: Vec<bool>,
    /// Closed trades in exit order; a position still open at the end comes last with
    /// `ExitReason::Open`, valued at the last close without an exit fee.
    pub trades: Vec<Trade>,
    /// Commissions and liquidation fees paid (the open position's entry fee included).
    pub fees_paid: f64,
    /// Net funding paid.
    pub funding_paid: f64,
    /// True when the run ended in bankruptcy.
    pub bankrupt: bool,
    /// The audit transcript, in order.
    pub events: Vec<Event>,
    /// The strategy's regime changes (warm-up bars included), in order.
    pub regime_transitions: Vec<crate::regime::RegimeTransition>,
    /// Set when trading stopped because equity fell below one minimum order.
    pub halted: Option<Halt>,
}

/// Trading stopped: the account cannot pay for one minimum order (issue 10 item 3).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Halt {
    /// Bar index at whose close it stopped.
    pub t: usize,
    /// Open time of that bar (UTC ms).
    pub ts_ms: i64,
    /// Equity then.
    pub equity: f64,
    /// What one minimum order needs (margin plus commission).
    pub min_order: f64,
}
