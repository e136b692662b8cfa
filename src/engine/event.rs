//! The events one engine step emits ([`EngineEvent`]), each stamped with the bar it
//! happened on and a run-wide sequence number, and their projection onto the backtest
//! transcript ([`super::Event`]).

use super::{Event, FillEvent};
use crate::broker::{Ack, OrderFill, OrderStatus};
use crate::core::order::{ClientOrderId, Intent, OrderPurpose, Reason};
use crate::regime::RegimeTransition;
use crate::risk::{Protection, RefusalReason};

/// What happened.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The strategy wanted something other than to hold.
    Decision {
        /// Its intent.
        intent: Intent,
        /// Its confidence (the strategy's own, else the one in `Sizing::Risk`).
        confidence: Option<f64>,
        /// Its reasons.
        reasons: Vec<Reason>,
    },
    /// An order was sent to the broker and answered.
    Submitted {
        /// Its client id.
        id: ClientOrderId,
        /// Entry or exit.
        purpose: OrderPurpose,
        /// The broker's acknowledgement.
        ack: Ack,
    },
    /// A resting entry or exit order was cancelled to make way for a new entry (protective
    /// orders never are).
    Cancelled {
        /// Its client id.
        id: ClientOrderId,
    },
    /// An order, stop, take-profit or liquidation executed.
    Fill(OrderFill),
    /// Risk changed the protective orders, in force from the next bar.
    Protection(Box<Protection>),
    /// Funding paid (negative: received) at the open of the bar.
    Funding {
        /// Amount paid.
        payment: f64,
    },
    /// Risk refused the strategy's intent.
    Refused {
        /// Why.
        reason: RefusalReason,
    },
    /// The broker cancelled orders at fill time (not enough margin, zero size).
    OrdersRejected {
        /// How many.
        count: u64,
    },
    /// Equity reached zero at the close; trading stopped.
    Bankrupt,
    /// Equity fell below one minimum order while flat: trading stopped for good.
    Halted(super::Halt),
    /// The strategy's market regime changed.
    Regime(RegimeTransition),
    /// A broker call failed inside the step; the run goes on and the state is reconciled
    /// from the broker later (an order may or may not exist).
    BrokerFailed {
        /// `poll`, `submit`, `cancel`, `protect` or `query`.
        op: String,
        /// The client id involved, if any.
        id: Option<ClientOrderId>,
        /// The error, as text.
        error: String,
    },
    /// An order whose acknowledgement was unknown was found by `query`.
    Reconciled {
        /// Its client id.
        id: ClientOrderId,
        /// What the broker says about it.
        status: OrderStatus,
    },
}

/// One event of an engine step.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EngineEvent {
    /// Run-wide sequence number, from 0, without gaps.
    pub seq: u64,
    /// Bar index.
    pub t: usize,
    /// Open time of the bar (UTC ms).
    pub ts_ms: i64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl EngineEvent {
    /// The backtest-transcript form of this event: fills, protections, funding, refusals,
    /// broker rejections and bankruptcy; `None` for the others (decisions, submissions,
    /// cancels, regimes, broker failures, reconciliations). `trade` is the index a closing
    /// fill's trade gets in the result's trades.
    pub fn transcript(&self, trade: usize) -> Option<Event> {
        let t = self.t;
        Some(match &self.kind {
            EventKind::Fill(f) => Event::Fill(FillEvent::new(f, trade)),
            EventKind::Protection(p) => Event::Protection {
                t,
                protection: p.clone(),
            },
            EventKind::Funding { payment } => Event::Funding {
                t,
                payment: *payment,
            },
            EventKind::Refused { reason } => Event::Refused { t, reason: *reason },
            EventKind::OrdersRejected { count } => Event::OrdersRejected { t, count: *count },
            EventKind::Bankrupt => Event::Bankrupt { t },
            EventKind::Decision { .. }
            | EventKind::Submitted { .. }
            | EventKind::Cancelled { .. }
            | EventKind::Regime(_)
            | EventKind::Halted(_)
            | EventKind::BrokerFailed { .. }
            | EventKind::Reconciled { .. } => return None,
        })
    }
}
