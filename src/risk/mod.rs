//! Risk: the gate every order passes before it reaches a broker, and the per-bar
//! management of an open position (stops, trailing, break-even, partial exits).
//!
//! Sits between `strategy` and `broker` (STYLE rule 2). [`RiskApproved`] can only be built
//! inside this module, so code that skips risk does not compile (STYLE rule 7, after
//! barter-rs). Every rule is optional: [`RiskConfig::passthrough`] gives backtesting.py's
//! semantics (no caps, all-cash sizing), [`RiskConfig::standard`] the seed's rules.
//!
//! Nothing here sees a bar after the current one: decisions use bar `t`, stop changes take
//! effect from bar `t + 1` (the broker applies them on its next `sync`).

mod approve;
mod config;
mod manage;
mod sizing;

pub use approve::{Holding, RiskContext, RiskManager};
pub use config::{BASE_FRAC, BreakEvenRule, KellyRule, PartialRule, RiskConfig, TrailingRule};
pub use manage::ManagedPosition;
pub use sizing::{KellyStats, confidence_frac, entry_qty, kelly_fraction};

use crate::core::order::{ExitReason, OrderKind, OrderPurpose, Side};

/// An item that passed the risk checks. Only `risk` can build one (the constructor is
/// `pub(in crate::risk)`), so a broker that takes `RiskApproved<T>` cannot be handed an
/// unchecked order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskApproved<T>(T);

impl<T> RiskApproved<T> {
    /// Wrap an item that passed the checks (risk-internal).
    pub(in crate::risk) fn new(item: T) -> Self {
        RiskApproved(item)
    }
    /// The approved item.
    pub fn inner(&self) -> &T {
        &self.0
    }
    /// Unwrap the approved item.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Why risk refused an intent (typed, so the store can query it).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum RefusalReason {
    /// The daily loss limit was hit: no new entries until the next UTC day.
    DailyLossLimit {
        /// Loss since the day's start, percent of the day's starting equity (> 0).
        loss_pct: f64,
    },
    /// An entry on the side already held (entries do not pyramid).
    AlreadyInPosition,
    /// An exit with no open position.
    NoPosition,
    /// The computed size is zero (confidence 0, Kelly floor 0, …).
    ZeroSize,
    /// A stop or take-profit on the wrong side of the current price, or not finite.
    BadLevel {
        /// The offending level.
        level: f64,
        /// The current close.
        close: f64,
    },
    /// A sizing value out of range (negative fraction, non-finite quantity, …).
    BadSizing {
        /// The offending value.
        value: f64,
    },
}

impl std::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            RefusalReason::DailyLossLimit { loss_pct } => {
                write!(f, "daily loss limit hit (down {loss_pct:.2} % today)")
            }
            RefusalReason::AlreadyInPosition => write!(f, "already in a position on that side"),
            RefusalReason::NoPosition => write!(f, "no open position to exit"),
            RefusalReason::ZeroSize => write!(f, "computed size is zero"),
            RefusalReason::BadLevel { level, close } => {
                write!(f, "level {level} is on the wrong side of close {close}")
            }
            RefusalReason::BadSizing { value } => write!(f, "sizing value {value} is invalid"),
        }
    }
}

/// Risk said no.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("risk refused: {reason}")]
pub struct RiskRefused {
    /// Why.
    pub reason: RefusalReason,
}

/// How much an order trades. Resolved by the broker against the fill price, so all-cash
/// sizing spends what is really there at the fill (backtesting.py's semantics).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum OrderQty {
    /// All free cash as margin (less commission).
    AllCash,
    /// This fraction (0–1] of equity as margin (capped at the free cash); notional is
    /// margin × leverage.
    EquityFrac(f64),
    /// Exactly this many base units.
    Units(f64),
    /// This fraction (0–1] of the open position (reduce-only exits).
    PositionFrac(f64),
}

/// An order as risk approves it and a broker executes it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderRequest {
    /// Buy (`Long`) or sell (`Short`).
    pub side: Side,
    /// Size.
    pub qty: OrderQty,
    /// Market, limit or stop.
    pub kind: OrderKind,
    /// Protective stop attached to the resulting position.
    pub stop: Option<f64>,
    /// Take-profit attached to the resulting position.
    pub take_profit: Option<f64>,
    /// Entry (may open or flip), exit or protective (reduce-only: never opens or flips).
    pub purpose: OrderPurpose,
}

impl OrderRequest {
    /// True for exits and protective orders.
    #[inline]
    pub fn is_reduce_only(&self) -> bool {
        self.purpose.is_reduce_only()
    }
}

/// A protective stop level and what kind of stop it is (reported as the exit reason).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StopLevel {
    /// Trigger price.
    pub price: f64,
    /// `StopLoss`, `TrailingStop` or `BreakEven`.
    pub reason: ExitReason,
}

/// One partial take-profit leg.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TpLeg {
    /// Limit price.
    pub price: f64,
    /// Quantity closed at that price.
    pub qty: f64,
}

/// The protective orders on an open position, replaced as a whole by `Broker::protect`.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Protection {
    /// Stop for the whole remaining position.
    pub stop: Option<StopLevel>,
    /// Take-profit for the whole remaining position.
    pub take_profit: Option<f64>,
    /// Partial take-profit legs, nearest first; `None` slots are unused.
    pub legs: [Option<TpLeg>; 3],
}
