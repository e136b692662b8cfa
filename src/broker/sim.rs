//! [`SimBroker`]: the simulated broker for backtests and paper trading.
//!
//! Semantics (docs/DESIGN.md §3):
//! - A market order submitted at the close of bar `t` fills at the open of `t + 1`
//!   ([`Fill::NextOpen`], the default) or at the close of `t` ([`Fill::Close`]).
//! - Limit orders fill at their level or better (at the open when the bar opens through
//!   it); stop orders at their level, or at the open when the bar gaps through it.
//!   Resting orders stay until filled or cancelled.
//! - Protective stops and take-profits fill at their level, or at the open on a gap.
//!   When a stop and a take-profit are both touched in one bar the stop fills first
//!   (pessimistic: the bar's path is unknown). Protection is checked from the bar the
//!   position opened at (a market fill at the open) or from the next bar (a limit or
//!   stop fill inside a bar).
//! - Commission is `commission × notional`, on entry and on exit. Slippage moves market
//!   and stop fills against the trader by `slippage × price` (limit and take-profit fills
//!   and liquidations have none).
//! - Entries below the instrument's minimum quantity or notional are not placed (counted
//!   as rejected orders).
//! - Whole units unless `fractional`. All-cash sizing spends the free balance at the fill
//!   price: `qty = floor(cash·(1−ε) / (price/leverage + price·commission))`, as
//!   backtesting.py's `_Broker._process_orders` does at leverage 1.
//! - One-way positions, long or short, with ISOLATED margin: margin = entry notional /
//!   leverage, taken from the free balance; the position's value is margin + unrealized
//!   PnL, so `cash + position_value = equity` on every bar. An entry against an open
//!   position closes it first (reason `Flip`) and is then sized with the freed cash.
//! - Liquidation (leverage > 1 only): at Binance's isolated liquidation price (see
//!   [`super::margin`]), when the bar's low (long) or high (short) reaches it. The close
//!   is at the liquidation price and a liquidation fee of `liquidation_fee_rate ×
//!   notional` (default 0.5 %) is charged out of what is left of the margin; the trader
//!   never loses more than the position's isolated margin. With the default rates the
//!   remaining maintenance margin (0.4 %) is below the fee, so the whole margin is lost.
//!   Unleveraged positions are never liquidated (a 1× short ends in bankruptcy instead,
//!   as in backtesting.py).
//! - Funding: with a `funding_rate` column, at each bar opening at 00:00, 08:00 or 16:00
//!   UTC a position held into that bar pays `side × qty × open × rate` (longs pay positive
//!   rates) out of its isolated margin.
//! - Bankruptcy: when equity at a close is ≤ 0 the position is closed at that close, cash
//!   and equity are set to 0 and trading stops.

use super::sim_pos::Pos;
use super::{
    Account, Ack, Broker, BrokerError, MaintenanceMargin, MarketBar, OpenOrder, OrderFill,
    OrderStatus, PositionInfo, Snapshot, Totals,
};
use crate::core::order::{ClientOrderId, ExitReason, Instrument, PositionView, Trade};
use crate::risk::{OrderRequest, Protection, RiskApproved};

/// When market orders decided at the close of bar `t` fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Fill {
    /// At the open of bar `t + 1` (default).
    #[default]
    NextOpen,
    /// At the close of bar `t` (`--fill close`).
    Close,
}

/// Simulated broker settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SimConfig {
    /// Starting cash (quote currency).
    pub cash: f64,
    /// Commission, fraction of traded notional, per side.
    pub commission: f64,
    /// Slippage, fraction of price against the trader (market and stop fills).
    pub slippage: f64,
    /// When market orders fill.
    pub fill: Fill,
    /// Allow fractional quantities (crypto); whole units otherwise.
    pub fractional: bool,
    /// Leverage, 1 to 125.
    pub leverage: f64,
    /// Maintenance-margin brackets for the liquidation price.
    pub maintenance: MaintenanceMargin,
    /// Liquidation fee, fraction of notional at the liquidation price.
    pub liquidation_fee_rate: f64,
    /// Minimum order quantity (0 = none).
    pub min_qty: f64,
    /// Minimum order notional (0 = none).
    pub min_notional: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            cash: 10_000.0,
            commission: 0.0,
            slippage: 0.0,
            fill: Fill::NextOpen,
            fractional: false,
            leverage: 1.0,
            maintenance: MaintenanceMargin::BinanceBtcUsdt,
            liquidation_fee_rate: 0.005,
            min_qty: 0.0,
            min_notional: 0.0,
        }
    }
}

/// The simulated broker. See the module doc for its fill rules. Its whole book serialises
/// (part of the engine's saved state).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SimBroker {
    pub(super) cfg: SimConfig,
    pub(super) instrument: Instrument,
    pub(super) cash: f64,
    pub(super) pos: Option<Pos>,
    pub(super) orders: Vec<OpenOrder>,
    pub(super) fees_paid: f64,
    pub(super) funding_paid: f64,
    pub(super) rejected: u64,
    pub(super) bankrupt: bool,
    pub(super) equity: f64,
    pub(super) position_value: f64,
    pub(super) last_t: usize,
}

impl SimBroker {
    /// A broker with `cfg.cash` and no position, trading an instrument with no minimums
    /// (whole units unless `cfg.fractional`).
    pub fn new(cfg: SimConfig) -> Self {
        SimBroker {
            cfg,
            instrument: Instrument {
                min_qty: cfg.min_qty,
                min_notional: cfg.min_notional,
                ..Instrument::simulated("SIM", cfg.fractional)
            },
            cash: cfg.cash,
            pos: None,
            orders: Vec::with_capacity(8),
            fees_paid: 0.0,
            funding_paid: 0.0,
            rejected: 0,
            bankrupt: false,
            equity: cfg.cash,
            position_value: 0.0,
            last_t: 0,
        }
    }

    /// Trade `instrument` (its step size and minimums) instead of the default one.
    pub fn with_instrument(mut self, instrument: Instrument) -> Self {
        self.instrument = instrument;
        self
    }

    /// The settings.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Equity at the last mark.
    #[inline]
    pub fn equity(&self) -> f64 {
        self.equity
    }

    /// Free balance at the last mark.
    #[inline]
    pub fn cash(&self) -> f64 {
        self.cash
    }

    /// Position value (margin + unrealized PnL) at the last mark.
    #[inline]
    pub fn position_value(&self) -> f64 {
        self.position_value
    }

    /// True while a position is open.
    #[inline]
    pub fn has_position(&self) -> bool {
        self.pos.is_some()
    }

    /// True while orders are resting.
    #[inline]
    pub fn has_orders(&self) -> bool {
        !self.orders.is_empty()
    }

    /// The open position, if any.
    #[inline]
    pub fn position(&self) -> Option<PositionInfo> {
        self.pos.map(|p| p.info())
    }

    /// Net funding paid so far.
    #[inline]
    pub fn funding_paid(&self) -> f64 {
        self.funding_paid
    }

    /// Orders the broker cancelled at fill time so far.
    #[inline]
    pub fn orders_rejected(&self) -> u64 {
        self.rejected
    }

    /// What a strategy sees of the position at the close of bar `t`.
    #[inline]
    pub fn position_view(&self, t: usize) -> PositionView {
        super::position_view_of(self.pos.as_ref().map(Pos::info).as_ref(), self.equity, t)
    }

    /// True once equity reached zero.
    #[inline]
    pub fn is_bankrupt(&self) -> bool {
        self.bankrupt
    }

    /// Close the whole position now at `price` (slippage and commission apply), e.g. at
    /// the end of the data; `None` when flat.
    pub fn close_position(
        &mut self,
        t: usize,
        ts_ms: i64,
        price: f64,
        reason: ExitReason,
    ) -> Option<OrderFill> {
        let pos = self.pos?;
        let px = self.slipped(pos.side.sign() < 0.0, price);
        let fill = self.close_qty(pos.qty, px, t, ts_ms, reason, None);
        self.mark(price);
        Some(fill)
    }

    /// The open position as a trade valued at `price` without an exit fee
    /// ([`ExitReason::Open`]); `None` when flat.
    pub fn open_trade(&self, t: usize, ts_ms: i64, price: f64) -> Option<Trade> {
        let p = self.pos?;
        let gross = p.side.sign() * p.qty * (price - p.entry_price);
        let pnl = gross - p.entry_fees - p.funding;
        let (mae_pct, mfe_pct) = p.excursions(price);
        Some(Trade {
            side: p.side,
            qty: p.qty,
            entry_bar: p.entry_bar,
            exit_bar: t,
            entry_ts_ms: p.entry_ts_ms,
            exit_ts_ms: ts_ms,
            entry_price: p.entry_price,
            exit_price: price,
            pnl,
            return_pct: 100.0 * pnl / (p.qty * p.entry_price),
            fees: p.entry_fees,
            mae_pct,
            mfe_pct,
            exit_reason: ExitReason::Open,
        })
    }
}

impl Broker for SimBroker {
    fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    fn resolves_sizing(&self) -> bool {
        true
    }

    fn submit(
        &mut self,
        id: &ClientOrderId,
        order: &RiskApproved<OrderRequest>,
    ) -> Result<Ack, BrokerError> {
        self.orders.push(OpenOrder {
            id: *id,
            submitted_t: self.last_t,
            request: *order.inner(),
        });
        Ok(Ack::Accepted)
    }

    fn query(&mut self, id: &ClientOrderId) -> Result<OrderStatus, BrokerError> {
        // the simulator forgets orders once they leave the book; it never answers Unknown,
        // so the engine never needs to ask about a filled one
        Ok(if self.orders.iter().any(|o| &o.id == id) {
            OrderStatus::Open { filled_qty: 0.0 }
        } else {
            OrderStatus::NotFound
        })
    }

    fn cancel(&mut self, id: &ClientOrderId) -> Result<(), BrokerError> {
        match self.orders.iter().position(|o| &o.id == id) {
            Some(i) => {
                self.orders.remove(i);
                Ok(())
            }
            None => Err(BrokerError::UnknownOrder(*id)),
        }
    }

    fn protect(&mut self, protection: RiskApproved<Protection>) -> Result<(), BrokerError> {
        if let Some(p) = self.pos.as_mut() {
            let pr = protection.into_inner();
            p.stop = pr.stop;
            p.take_profit = pr.take_profit;
            p.legs = pr.legs;
        }
        Ok(())
    }

    #[inline]
    fn account(&self) -> Account {
        Account {
            cash: self.cash,
            position_value: self.position_value,
            equity: self.equity,
            position: self.pos.as_ref().map(Pos::info),
            fees_paid: self.fees_paid,
            funding_paid: self.funding_paid,
            orders_rejected: self.rejected,
            bankrupt: self.bankrupt,
            open_orders: self.orders.len(),
        }
    }

    #[inline]
    fn totals(&self) -> Totals {
        Totals {
            cash: self.cash,
            position_value: self.position_value,
            equity: self.equity,
            has_position: self.pos.is_some(),
            open_orders: self.orders.len(),
            funding_paid: self.funding_paid,
            orders_rejected: self.rejected,
            bankrupt: self.bankrupt,
        }
    }

    #[inline]
    fn position_view(&self, t: usize) -> PositionView {
        SimBroker::position_view(self, t)
    }

    fn open_orders(&self) -> Vec<OpenOrder> {
        self.orders.clone()
    }

    fn snapshot(&mut self) -> Result<Snapshot, BrokerError> {
        Ok(Snapshot {
            account: self.account(),
            open_orders: self.orders.clone(),
        })
    }

    #[inline]
    fn poll(&mut self, mb: &MarketBar) -> Result<Vec<OrderFill>, BrokerError> {
        let mut fills = Vec::new();
        self.poll_into(mb, &mut fills)?;
        Ok(fills)
    }

    #[inline]
    fn poll_into(&mut self, mb: &MarketBar, fills: &mut Vec<OrderFill>) -> Result<(), BrokerError> {
        let (bar, t) = (&mb.bar, mb.t);
        self.last_t = t;
        if self.bankrupt || (self.pos.is_none() && self.orders.is_empty()) {
            return Ok(());
        }
        if mb.funding_rate.is_none() && self.hold_bar(bar, t) {
            return Ok(());
        }
        self.process_bar(bar, t, mb.funding_rate, fills);
        Ok(())
    }

    #[inline]
    fn quiet_poll(&mut self, mb: &MarketBar) -> bool {
        if self.bankrupt {
            return false;
        }
        let quiet = if self.pos.is_none() {
            self.orders.is_empty()
        } else {
            mb.funding_rate.is_none() && self.hold_bar(&mb.bar, mb.t)
        };
        if quiet {
            self.last_t = mb.t;
        }
        quiet
    }

    fn poll_close(&mut self, mb: &MarketBar) -> Result<Vec<OrderFill>, BrokerError> {
        self.last_t = mb.t;
        if self.bankrupt || self.orders.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.process_close(&mb.bar, mb.t))
    }
}
