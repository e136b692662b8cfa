//! Brokers: the one synchronous [`Broker`] trait (STYLE rule 7) the engine drives, for the
//! simulated broker ([`sim::SimBroker`], backtest and paper) and venue brokers (Binance).
//!
//! The contract, shaped for an exchange whose answers can be lost:
//! - Orders carry a [`ClientOrderId`] the engine derives from (run or bot, bar time,
//!   intent sequence) before sending, and an [`OrderPurpose`]: entry, exit or protective.
//! - A broker takes only [`RiskApproved`] orders, so skipping risk does not compile, and
//!   quantities are resolved in risk against the [`Instrument`] before the broker (see
//!   [`Broker::resolves_sizing`]): a venue broker sends the units it is given.
//! - [`Broker::submit`] answers [`Ack::Accepted`], [`Ack::Rejected`] or [`Ack::Unknown`]
//!   (timeout or 5xx after sending: the order may exist). An unknown order is resolved by
//!   [`Broker::query`] on its id, never by sending it again.
//! - `query`, `cancel`, `snapshot` and `poll` may fail; a failure inside an engine step
//!   becomes an event for reconciliation, it does not abort the run.
//! - [`Broker::poll`] is called once per bar: the simulated broker fills resting orders
//!   against the bar, a venue broker reports the executions since the last call.
//! - The engine never awaits: the trait is synchronous.

pub mod book;
pub mod margin;
mod rows;
pub mod sim;
mod sim_book;
mod sim_pos;
mod sim_quiet;
#[cfg(test)]
mod sim_tests;

pub use margin::{MaintenanceMargin, MarginTier, liquidation_price};
pub use rows::{BookRows, Series};
pub use sim::{SimBroker, SimConfig};
pub use sim_quiet::{QuietColumns, SimQuietGate};

pub use crate::core::order::{ClientOrderId, Instrument, OrderPurpose};
use crate::core::order::{OrderKind, PositionView, Side};
use crate::data::Bar;
use crate::risk::{OrderRequest, Protection, RiskApproved, StopLevel};

/// The fill types of [`Broker::poll`], defined with the other order types in `core`.
pub use crate::core::order::{FillAction, OrderFill};

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
    UnknownOrder(ClientOrderId),
    /// The venue answered something the client cannot read.
    #[error("broker answer unreadable: {0}")]
    Decode(String),
}

impl BrokerError {
    /// True for failures where sending the SAME request again is safe and may succeed:
    /// rate limits, and 5xx or timeouts of reads (`query`, `snapshot`, `poll`, `cancel`).
    /// A timeout or 5xx on `submit` is NOT retryable: Binance documents the execution
    /// status as unknown then, so the order is resolved with [`Broker::query`] (the submit
    /// returns [`Ack::Unknown`] for it, not this error).
    pub fn is_retryable(&self) -> bool {
        match self {
            BrokerError::Http { status } => *status >= 500,
            BrokerError::RateLimited { .. } | BrokerError::Timeout => true,
            BrokerError::Rejected { .. }
            | BrokerError::Auth
            | BrokerError::InsufficientMargin { .. }
            | BrokerError::UnknownOrder(_)
            | BrokerError::Decode(_) => false,
        }
    }
}

/// A broker's answer to [`Broker::submit`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "ack", rename_all = "snake_case")]
pub enum Ack {
    /// The broker holds the order (resting or already filled).
    Accepted,
    /// The broker refused it; nothing was placed.
    Rejected {
        /// Venue error code (Binance's, e.g. -2010), 0 for the simulator.
        code: i64,
        /// Venue message.
        msg: String,
    },
    /// The request was sent but no answer came (timeout, 5xx): the order may or may not
    /// exist. Resolve with [`Broker::query`]; never resend.
    Unknown {
        /// What went wrong.
        cause: String,
    },
}

/// An order's state as [`Broker::query`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OrderStatus {
    /// Resting, possibly partly filled.
    Open {
        /// Quantity filled so far.
        filled_qty: f64,
    },
    /// Completely filled.
    Filled,
    /// Cancelled (by the engine, the venue or expiry) or rejected after acceptance.
    Cancelled,
    /// The broker has no order with this id: it never arrived (safe to decide again).
    NotFound,
}

/// The bar a broker processes: index, prices and the funding rate of that bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarketBar {
    /// Bar index in the run's data.
    pub t: usize,
    /// The bar.
    pub bar: Bar,
    /// The `funding_rate` column's value at this bar (`Some(NaN)` when the column exists
    /// but has no rate here; `None` without the column).
    pub funding_rate: Option<f64>,
}

/// Everything a broker holds, read fresh (reconciliation at start-up and after an
/// unknown acknowledgement).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// Balances, position and totals.
    pub account: Account,
    /// Resting orders, oldest first (protective ones included).
    pub open_orders: Vec<OpenOrder>,
}

/// The open position as the broker sees it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// Resting orders (protective ones included).
    pub open_orders: usize,
}

/// The account totals the engine reads on every bar: [`Account`] without the position's
/// details, so a simulator answers from its fields without building a [`PositionInfo`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    /// Free balance.
    pub cash: f64,
    /// Value of the open position (0 when flat).
    pub position_value: f64,
    /// `cash + position_value`.
    pub equity: f64,
    /// True while a position is open.
    pub has_position: bool,
    /// Resting orders (protective ones included).
    pub open_orders: usize,
    /// Net funding paid so far.
    pub funding_paid: f64,
    /// Orders cancelled by the broker at fill time so far.
    pub orders_rejected: u64,
    /// Equity reached zero: trading has stopped.
    pub bankrupt: bool,
}

impl Totals {
    /// The totals of `a`.
    #[inline]
    pub fn of(a: &Account) -> Self {
        Totals {
            cash: a.cash,
            position_value: a.position_value,
            equity: a.equity,
            has_position: a.position.is_some(),
            open_orders: a.open_orders,
            funding_paid: a.funding_paid,
            orders_rejected: a.orders_rejected,
            bankrupt: a.bankrupt,
        }
    }
}

/// A resting order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpenOrder {
    /// Its client id.
    pub id: ClientOrderId,
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

/// What a strategy sees of `position` at the close of bar `t` with this equity (the one
/// mapping behind [`Broker::position_view`] and the simulator's own).
#[inline]
pub fn position_view_of(position: Option<&PositionInfo>, equity: f64, t: usize) -> PositionView {
    match position {
        None => PositionView {
            equity,
            ..PositionView::default()
        },
        Some(p) => PositionView {
            side: Some(p.side),
            qty: p.qty,
            entry_price: p.entry_price,
            entry_ts_ms: p.entry_ts_ms,
            bars_held: t.saturating_sub(p.entry_bar),
            equity,
        },
    }
}

/// The one broker interface: simulated, testnet and live. See the module doc for the
/// contract; every method is synchronous.
pub trait Broker {
    /// The traded instrument and its order rules.
    fn instrument(&self) -> &Instrument;

    /// True when the broker sizes [`crate::risk::OrderQty::AllCash`] and
    /// [`crate::risk::OrderQty::EquityFrac`] orders itself at the fill price (the
    /// simulator, for backtesting.py parity). False (the default) for venue brokers: the
    /// engine then resolves every entry to units with [`crate::risk::entry_qty`] and
    /// every exit to units of the position before calling [`Broker::submit`].
    fn resolves_sizing(&self) -> bool {
        false
    }

    /// Send an approved order under the client id `id`.
    ///
    /// # Errors
    /// [`BrokerError`] only when the order certainly did not reach the venue (bad
    /// credentials, connection refused before sending). A refusal is
    /// `Ok(Ack::Rejected)`, a lost answer `Ok(Ack::Unknown)`.
    fn submit(
        &mut self,
        id: &ClientOrderId,
        order: &RiskApproved<OrderRequest>,
    ) -> Result<Ack, BrokerError>;

    /// The state of the order with client id `id`.
    ///
    /// # Errors
    /// [`BrokerError`] when the venue cannot be asked.
    fn query(&mut self, id: &ClientOrderId) -> Result<OrderStatus, BrokerError>;

    /// Cancel a resting order.
    ///
    /// # Errors
    /// [`BrokerError::UnknownOrder`] when it is not resting; others when the venue cannot
    /// be reached.
    fn cancel(&mut self, id: &ClientOrderId) -> Result<(), BrokerError>;

    /// Replace the protective orders (stop, take-profit, partial legs; purpose
    /// [`OrderPurpose::Protective`]) of the open position. Entries never cancel them.
    ///
    /// # Errors
    /// [`BrokerError`] when the broker cannot place them.
    fn protect(&mut self, protection: RiskApproved<Protection>) -> Result<(), BrokerError>;

    /// The account at the last poll (cached: no I/O, cannot fail).
    fn account(&self) -> Account;

    /// [`Broker::account`]'s totals (cached: no I/O). The default builds the account; a
    /// simulator overrides it to read its fields (the engine asks on every bar).
    #[inline]
    fn totals(&self) -> Totals {
        Totals::of(&self.account())
    }

    /// What a strategy sees of the position at the close of bar `t`, from the account at
    /// the last poll (cached: no I/O). The default builds it from [`Broker::account`].
    #[inline]
    fn position_view(&self, t: usize) -> PositionView {
        let a = self.account();
        position_view_of(a.position.as_ref(), a.equity, t)
    }

    /// Resting orders at the last poll, oldest first (cached: no I/O).
    fn open_orders(&self) -> Vec<OpenOrder>;

    /// Balances, position and open orders, read fresh from the venue.
    ///
    /// # Errors
    /// [`BrokerError`] when the venue cannot be reached.
    fn snapshot(&mut self) -> Result<Snapshot, BrokerError>;

    /// Process bar `bar.t`: the simulator charges funding, fills resting orders at its
    /// open, stops and liquidation within it, and marks at its close; a venue broker
    /// reports the executions since the last call and marks. Returns the executions in
    /// order.
    ///
    /// # Errors
    /// [`BrokerError`] when a venue cannot be reached.
    fn poll(&mut self, bar: &MarketBar) -> Result<Vec<OrderFill>, BrokerError>;

    /// [`Broker::poll`], appending the executions to `fills` instead of returning a new
    /// list: the engine keeps one list for every poll, so a bar with fills allocates
    /// nothing. The default calls `poll` (on an error `fills` is unchanged); the
    /// simulator overrides it.
    ///
    /// # Errors
    /// As [`Broker::poll`].
    #[inline]
    fn poll_into(
        &mut self,
        bar: &MarketBar,
        fills: &mut Vec<OrderFill>,
    ) -> Result<(), BrokerError> {
        fills.extend(self.poll(bar)?);
        Ok(())
    }

    /// Process bar `bar.t` when nothing can happen on it, and say so: true means this call
    /// did all that [`Broker::poll`] would have done, and that would have executed nothing
    /// and changed no funding, rejection or bankruptcy total (the simulator: flat without
    /// orders, or a held position without orders, protection, liquidation price or
    /// funding column). False, having changed nothing, when the bar needs `poll`; the
    /// default, for brokers whose executions arrive from elsewhere.
    #[inline]
    fn quiet_poll(&mut self, _bar: &MarketBar) -> bool {
        false
    }

    /// Fill market orders at the close of the bar (`Fill::Close` mode); venue brokers fill
    /// in real time and need not implement it.
    ///
    /// # Errors
    /// As [`Broker::poll`].
    fn poll_close(&mut self, _bar: &MarketBar) -> Result<Vec<OrderFill>, BrokerError> {
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
