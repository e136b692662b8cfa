//! Brokers: the one synchronous [`Broker`] trait (STYLE rule 7) the engine drives, for the
//! simulated broker ([`sim::SimBroker`], backtest and paper) and, later, Binance.
//!
//! A broker takes only [`RiskApproved`] orders, so skipping risk does not compile. `sync`
//! is called once per bar: the simulated broker fills pending orders against the bar, a
//! live one polls the fills since the last call. The engine never awaits.

pub mod margin;
pub mod sim;
mod sim_book;
#[cfg(test)]
mod sim_tests;

pub use margin::{MaintenanceMargin, MarginTier, liquidation_price};
pub use sim::{SimBroker, SimConfig};

use crate::data::Bar;
use crate::order::{ExitReason, OrderKind, Side, Trade};
use crate::risk::{OrderRequest, Protection, RiskApproved, StopLevel};

/// A broker-assigned order id (sequential in the simulated broker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(pub u64);

/// What can go wrong talking to a broker.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// An HTTP error status.
    #[error("broker http error: status {status}")]
    Http {
        /// The status code.
        status: u16,
    },
    /// Rate limited; retry after the given delay.
    #[error("broker rate limit: retry after {retry_after_ms} ms")]
    RateLimited {
        /// Milliseconds to wait.
        retry_after_ms: u64,
    },
    /// The request timed out.
    #[error("broker request timed out")]
    Timeout,
    /// The broker rejected the request.
    #[error("broker rejected the order: {msg} (code {code})")]
    Rejected {
        /// Broker error code (Binance's, e.g. -2027).
        code: i64,
        /// Broker message.
        msg: String,
    },
    /// Bad or missing credentials.
    #[error("broker authentication failed")]
    Auth,
    /// Not enough free margin for the order.
    #[error("insufficient margin: need {needed:.2}, free {free:.2}")]
    InsufficientMargin {
        /// Margin plus fees the order needs.
        needed: f64,
        /// Free balance.
        free: f64,
    },
    /// An order id the broker does not know (cancel of a filled order, …).
    #[error("unknown order id {0}")]
    UnknownOrder(u64),
}

impl BrokerError {
    /// True for transient failures worth retrying (5xx, rate limits, timeouts).
    pub fn is_retryable(&self) -> bool {
        match self {
            BrokerError::Http { status } => *status >= 500,
            BrokerError::RateLimited { .. } | BrokerError::Timeout => true,
            BrokerError::Rejected { .. }
            | BrokerError::Auth
            | BrokerError::InsufficientMargin { .. }
            | BrokerError::UnknownOrder(_) => false,
        }
    }
}

/// What a fill did to the position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FillAction {
    /// Opened a new position.
    Open,
    /// Added to a position on the same side.
    Increase,
    /// Closed all or part of the position; the closed part is reported as a trade.
    Close {
        /// The closed (part of the) trade, fees and funding included.
        trade: Trade,
    },
}

/// One execution reported by `sync`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderFill {
    /// The order it fills (`None` for protective stops, take-profits and liquidations).
    pub order: Option<OrderId>,
    /// Bar index of the fill.
    pub t: usize,
    /// Fill time (the bar's open time, UTC ms).
    pub ts_ms: i64,
    /// Buy (`Long`) or sell (`Short`).
    pub side: Side,
    /// Quantity in base units.
    pub qty: f64,
    /// Fill price, slippage included.
    pub price: f64,
    /// Commission (or liquidation fee) charged on this fill.
    pub fee: f64,
    /// Open, increase, or close with a reason.
    pub action: FillAction,
}

impl OrderFill {
    /// The exit reason when this fill closed something.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        match self.action {
            FillAction::Close { trade } => Some(trade.exit_reason),
            _ => None,
        }
    }
}

/// The open position as the broker sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionInfo {
    /// Direction.
    pub side: Side,
    /// Quantity in base units (> 0).
    pub qty: f64,
    /// Average entry price.
    pub entry_price: f64,
    /// Bar index of the first entry fill.
    pub entry_bar: usize,
    /// Time of the first entry fill.
    pub entry_ts_ms: i64,
    /// Isolated margin (entry notional / leverage, less funding paid).
    pub margin: f64,
    /// Unrealized PnL at the last mark.
    pub unrealized_pnl: f64,
    /// Liquidation price (`None` when it cannot be liquidated, e.g. unleveraged).
    pub liquidation_price: Option<f64>,
    /// Protective stop in force.
    pub stop: Option<StopLevel>,
    /// Take-profit in force.
    pub take_profit: Option<f64>,
}

/// Account state at the last mark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Account {
    /// Free balance: wallet less the isolated margin of the open position.
    pub cash: f64,
    /// Value of the open position: isolated margin + unrealized PnL (0 when flat).
    pub position_value: f64,
    /// `cash + position_value`.
    pub equity: f64,
    /// The open position.
    pub position: Option<PositionInfo>,
    /// Commissions and liquidation fees paid so far.
    pub fees_paid: f64,
    /// Net funding paid so far (negative when received).
    pub funding_paid: f64,
    /// Orders cancelled by the broker at fill time (not enough margin, zero size).
    pub orders_rejected: u64,
    /// Equity reached zero: trading has stopped.
    pub bankrupt: bool,
}

/// A resting order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenOrder {
    /// Its id.
    pub id: OrderId,
    /// Bar index at which it was submitted.
    pub submitted_t: usize,
    /// The approved request.
    pub request: OrderRequest,
}

impl OpenOrder {
    /// True for a market order.
    pub fn is_market(&self) -> bool {
        matches!(self.request.kind, OrderKind::Market)
    }
}

/// The one broker interface: simulated, testnet and live.
pub trait Broker {
    /// Place an approved order.
    ///
    /// # Errors
    /// [`BrokerError`] when the broker refuses it or cannot be reached.
    fn submit(&mut self, order: RiskApproved<OrderRequest>) -> Result<OrderId, BrokerError>;

    /// Cancel a resting order.
    ///
    /// # Errors
    /// [`BrokerError::UnknownOrder`] when it is not resting.
    fn cancel(&mut self, id: OrderId) -> Result<(), BrokerError>;

    /// Replace the protective orders of the open position.
    ///
    /// # Errors
    /// [`BrokerError`] when the broker cannot place them.
    fn protect(&mut self, protection: RiskApproved<Protection>) -> Result<(), BrokerError>;

    /// The account at the last mark.
    fn account(&self) -> Account;

    /// Resting orders, oldest first.
    fn open_orders(&self) -> Vec<OpenOrder>;

    /// Process bar `t` (index `t`): funding, fills at its open, stops and liquidation within
    /// it, then mark at its close. Returns the fills in execution order.
    ///
    /// # Errors
    /// [`BrokerError`] when a live broker cannot be reached.
    fn sync(&mut self, bar: &Bar, t: usize) -> Result<Vec<OrderFill>, BrokerError>;

    /// Fill market orders at the close of bar `t` (`Fill::Close` mode); live brokers fill
    /// in real time and need not implement it.
    ///
    /// # Errors
    /// As [`Broker::sync`].
    fn sync_close(&mut self, _bar: &Bar, _t: usize) -> Result<Vec<OrderFill>, BrokerError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors_are_the_transient_ones() {
        assert!(BrokerError::Http { status: 503 }.is_retryable());
        assert!(!BrokerError::Http { status: 400 }.is_retryable());
        assert!(BrokerError::RateLimited { retry_after_ms: 10 }.is_retryable());
        assert!(BrokerError::Timeout.is_retryable());
        assert!(!BrokerError::Auth.is_retryable());
        assert!(
            !BrokerError::Rejected {
                code: -2027,
                msg: "x".into()
            }
            .is_retryable()
        );
        assert!(
            !BrokerError::InsufficientMargin {
                needed: 1.0,
                free: 0.0
            }
            .is_retryable()
        );
    }
}
