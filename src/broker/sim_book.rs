//! The simulated broker's book keeping: the isolated position, order fills against a bar,
//! protective exits, liquidation, funding and the mark at the close. Rules: see
//! [`super::sim`].

use super::book::{self, Held};
use super::margin::liquidation_price;
use super::sim::{Fill, SimBroker};
use super::sim_pos::Pos;
use super::{FillAction, OrderFill};
use crate::core::order::{ClientOrderId, ExitReason, OrderKind, Side};
use crate::data::Bar;
use crate::risk::{OrderQty, OrderRequest, StopLevel, entry_qty};

const FUNDING_PERIOD_MS: i64 = 8 * 3_600_000;

/// True when `level` was reached by a bar moving against a position of sign `s`
/// (its low for a long, its high for a short).
#[inline]
fn adverse_hit(s: f64, bar: &Bar, level: f64) -> bool {
    if s > 0.0 {
        bar.low <= level
    } else {
        bar.high >= level
    }
}

/// True when `level` was reached by a bar moving in favour.
#[inline]
fn favourable_hit(s: f64, bar: &Bar, level: f64) -> bool {
    if s > 0.0 {
        bar.high >= level
    } else {
        bar.low <= level
    }
}

impl SimBroker {
    /// `price` moved against a buyer (`is_buy`) or seller by the slippage.
    #[inline]
    pub(super) fn slipped(&self, is_buy: bool, price: f64) -> f64 {
        if is_buy {
            price * (1.0 + self.cfg.slippage)
        } else {
            price * (1.0 - self.cfg.slippage)
        }
    }

    fn round_qty(&self, q: f64) -> f64 {
        self.instrument.round_qty(q)
    }

    /// Mark at `close`: unrealized PnL, position value, equity.
    pub(super) fn mark(&mut self, close: f64) {
        match self.pos.as_mut() {
            Some(p) => {
                p.upnl = book::unrealized(p.side.sign(), p.qty, p.entry_price, close);
                self.position_value = p.margin + p.upnl;
            }
            None => self.position_value = 0.0,
        }
        self.equity = self.cash + self.position_value;
    }

    /// The common bar of a held position with nothing else to do: no resting orders, no
    /// funding column (the caller checks), no liquidation price, stop, take-profit or take-profit legs, and
    /// past its first bar. [`Self::process_bar`] would then only track the excursion and
    /// mark at the close; this does exactly that (same operations, same order) and returns
    /// true. It returns false, having changed nothing, when the bar needs the full path,
    /// including a mark that would leave equity at or below zero (bankruptcy).
    #[inline]
    pub(super) fn hold_bar(&mut self, bar: &Bar, t: usize) -> bool {
        if self.bankrupt || !self.orders.is_empty() {
            return false;
        }
        let Some(p) = self.pos.as_mut() else {
            return false;
        };
        if t < p.active_from
            || p.liq.is_some()
            || p.stop.is_some()
            || p.take_profit.is_some()
            || p.legs[0].is_some()
        {
            return false;
        }
        let upnl = book::unrealized(p.side.sign(), p.qty, p.entry_price, bar.close);
        let position_value = p.margin + upnl;
        let equity = self.cash + position_value;
        if !(equity.is_finite() && equity > 0.0) {
            return false;
        }
        p.min_price = p.min_price.min(bar.low);
        p.max_price = p.max_price.max(bar.high);
        p.upnl = upnl;
        self.position_value = position_value;
        self.equity = equity;
        true
    }

    /// Process bar `t`: funding at the open, orders, protection, mark at the close; the
    /// executions are appended to `fills`. Kept out of line so the common bar
    /// ([`Self::hold_bar`]) inlines into the engine's step.
    #[inline(never)]
    pub(super) fn process_bar(
        &mut self,
        bar: &Bar,
        t: usize,
        funding_rate: Option<f64>,
        fills: &mut Vec<OrderFill>,
    ) {
        self.charge_funding(bar, funding_rate);
        if !self.orders.is_empty() {
            self.fill_orders(bar, t, false, fills);
        }
        if self.pos.as_ref().is_some_and(|p| t >= p.active_from) {
            self.check_protection(bar, t, fills);
        }
        if let Some(p) = self.pos.as_mut()
            && t >= p.active_from
        {
            p.min_price = p.min_price.min(bar.low);
            p.max_price = p.max_price.max(bar.high);
        }
        self.settle_close(bar, t, fills);
    }

    /// `Fill::Close`: fill market orders at the close of bar `t`, then re-mark.
    pub(super) fn process_close(&mut self, bar: &Bar, t: usize) -> Vec<OrderFill> {
        let mut fills = Vec::new();
        self.fill_orders(bar, t, true, &mut fills);
        self.settle_close(bar, t, &mut fills);
        fills
    }

    /// Mark at the close; when equity is ≤ 0, close the position at the close, zero the
    /// account and stop trading (bankruptcy, as backtesting.py does).
    fn settle_close(&mut self, bar: &Bar, t: usize, fills: &mut Vec<OrderFill>) {
        self.mark(bar.close);
        if self.equity.is_finite() && self.equity > 0.0 {
            return;
        }
        if let Some(p) = self.pos {
            let fill = self.close_qty(
                p.qty,
                bar.close,
                t,
                bar.ts_ms,
                ExitReason::Liquidation,
                None,
            );
            fills.push(fill);
        }
        self.bankrupt = true;
        self.cash = 0.0;
        self.position_value = 0.0;
        self.equity = 0.0;
        self.orders.clear();
    }

    fn charge_funding(&mut self, bar: &Bar, funding_rate: Option<f64>) {
        let Some(rate) = funding_rate else {
            return;
        };
        let Some(p) = self.pos.as_mut() else {
            return;
        };
        if bar.ts_ms.rem_euclid(FUNDING_PERIOD_MS) != 0 {
            return;
        }
        if !rate.is_finite() {
            return;
        }
        let payment = p.side.sign() * p.qty * bar.open * rate;
        p.margin -= payment;
        p.funding += payment;
        self.funding_paid += payment;
        self.refresh_liq();
    }

    fn refresh_liq(&mut self) {
        let lev = self.cfg.leverage;
        let mm = self.cfg.maintenance;
        if let Some(p) = self.pos.as_mut() {
            p.liq = if lev > 1.0 {
                let bracket = mm.bracket(p.qty * p.entry_price);
                liquidation_price(p.side.sign(), p.qty, p.entry_price, p.margin, bracket)
            } else {
                None
            };
        }
    }

    /// Fill resting orders against the bar (market orders at its open, or at its close
    /// when `at_close`).
    fn fill_orders(&mut self, bar: &Bar, t: usize, at_close: bool, fills: &mut Vec<OrderFill>) {
        let mut i = 0;
        while i < self.orders.len() {
            let req = self.orders[i].request;
            let is_buy = req.side == Side::Long;
            let (price, active_from) = match req.kind {
                OrderKind::Market => {
                    let want_close = self.cfg.fill == Fill::Close;
                    if want_close != at_close {
                        i += 1;
                        continue;
                    }
                    let px = if at_close { bar.close } else { bar.open };
                    (self.slipped(is_buy, px), if at_close { t + 1 } else { t })
                }
                OrderKind::Limit(l) => {
                    if at_close {
                        i += 1;
                        continue;
                    }
                    let hit = if is_buy { bar.low <= l } else { bar.high >= l };
                    if !hit {
                        i += 1;
                        continue;
                    }
                    let px = if is_buy {
                        bar.open.min(l)
                    } else {
                        bar.open.max(l)
                    };
                    (px, if px == bar.open { t } else { t + 1 })
                }
                OrderKind::Stop(st) => {
                    if at_close {
                        i += 1;
                        continue;
                    }
                    let hit = if is_buy {
                        bar.high >= st
                    } else {
                        bar.low <= st
                    };
                    if !hit {
                        i += 1;
                        continue;
                    }
                    let px = if is_buy {
                        bar.open.max(st)
                    } else {
                        bar.open.min(st)
                    };
                    (
                        self.slipped(is_buy, px),
                        if px == bar.open { t } else { t + 1 },
                    )
                }
            };
            let id = self.orders[i].id;
            // the last order (the common one) is truncated away: `remove` would move the
            // orders after it with a `memmove` call even when there are none
            if i + 1 == self.orders.len() {
                self.orders.truncate(i);
            } else {
                self.orders.remove(i);
            }
            self.execute(id, &req, price, t, bar.ts_ms, active_from, fills);
            if self.bankrupt {
                return;
            }
        }
    }

    /// Execute an order at `price` (slippage already applied).
    #[allow(
        clippy::too_many_arguments,
        reason = "internal helper on one fill's facts"
    )]
    fn execute(
        &mut self,
        id: ClientOrderId,
        req: &OrderRequest,
        price: f64,
        t: usize,
        ts_ms: i64,
        active_from: usize,
        fills: &mut Vec<OrderFill>,
    ) {
        // reduce-only: close part of the position, never open or flip
        if req.is_reduce_only() {
            let Some(p) = self.pos.filter(|p| p.side != req.side) else {
                self.rejected += 1;
                return;
            };
            let q = match req.qty {
                OrderQty::PositionFrac(f) if f >= 1.0 => p.qty,
                OrderQty::PositionFrac(f) => self.round_qty(f * p.qty),
                OrderQty::Units(u) => self.round_qty(u.min(p.qty)),
                OrderQty::AllCash | OrderQty::EquityFrac(_) => p.qty,
            };
            if q <= 0.0 {
                self.rejected += 1;
                return;
            }
            let mut f = self.close_qty(q, price, t, ts_ms, ExitReason::Signal, None);
            f.order = Some(id);
            fills.push(f);
            return;
        }
        // an entry against the open position closes it first
        if let Some(p) = self.pos
            && p.side != req.side
        {
            let mut f = self.close_qty(p.qty, price, t, ts_ms, ExitReason::Flip, None);
            f.order = Some(id);
            fills.push(f);
        }
        let lev = self.cfg.leverage;
        let c = self.cfg.commission;
        let per_unit = book::unit_cost(price, lev, c);
        let pos_value = match req.qty {
            OrderQty::EquityFrac(_) => self.pos_value_at(price),
            _ => 0.0,
        };
        let qty = entry_qty(
            req.qty,
            price,
            self.cash,
            pos_value,
            lev,
            c,
            self.instrument.step_size,
        );
        if qty.is_nan()
            || qty <= 0.0
            || qty * per_unit > self.cash
            || !self.instrument.admits(qty, price)
        {
            self.rejected += 1;
            return;
        }
        let bracket = self.cfg.maintenance.bracket(qty * price);
        if lev > bracket.max_leverage {
            self.rejected += 1;
            return;
        }
        let (margin, fee) = book::open_cost(qty, price, lev, c);
        self.cash -= margin + fee;
        self.fees_paid += fee;
        let action = match self.pos.as_mut() {
            Some(p) => {
                let new_qty = p.qty + qty;
                p.entry_price = (p.qty * p.entry_price + qty * price) / new_qty;
                p.qty = new_qty;
                p.margin += margin;
                p.entry_fees += fee;
                FillAction::Increase
            }
            None => {
                self.pos = Some(Pos {
                    side: req.side,
                    qty,
                    entry_price: price,
                    entry_bar: t,
                    entry_ts_ms: ts_ms,
                    margin,
                    entry_fees: fee,
                    funding: 0.0,
                    liq: None,
                    stop: req.stop.map(|price| StopLevel {
                        price,
                        reason: ExitReason::StopLoss,
                    }),
                    take_profit: req.take_profit,
                    legs: [None; 3],
                    active_from,
                    min_price: price,
                    max_price: price,
                    upnl: 0.0,
                });
                FillAction::Open
            }
        };
        self.refresh_liq();
        fills.push(OrderFill {
            order: Some(id),
            t,
            ts_ms,
            side: req.side,
            qty,
            price,
            fee,
            action,
        });
    }

    /// Position value (margin + unrealized PnL) at `price`.
    fn pos_value_at(&self, price: f64) -> f64 {
        self.pos.map_or(0.0, |p| {
            p.margin + book::unrealized(p.side.sign(), p.qty, p.entry_price, price)
        })
    }

    /// Close `q` of the position at `price` (slippage already applied). `liq_fee_rate`
    /// marks a liquidation: that fee instead of commission, the loss capped at the margin.
    pub(super) fn close_qty(
        &mut self,
        q: f64,
        price: f64,
        t: usize,
        ts_ms: i64,
        reason: ExitReason,
        liq_fee_rate: Option<f64>,
    ) -> OrderFill {
        let Some(mut p) = self.pos else {
            // unreachable by construction: callers check for a position
            return OrderFill {
                order: None,
                t,
                ts_ms,
                side: Side::Long,
                qty: 0.0,
                price,
                fee: 0.0,
                action: FillAction::Increase,
            };
        };
        let s = p.side.sign();
        let held = Held {
            sign: s,
            qty: p.qty,
            entry_price: p.entry_price,
            margin: p.margin,
            entry_fees: p.entry_fees,
            funding: p.funding,
        };
        let closed = book::close(&held, q, price, self.cfg.commission, liq_fee_rate);
        let q = closed.qty;
        let fee = closed.fee;
        let (margin_part, entry_fee_part, funding_part) = (
            closed.margin_part,
            closed.entry_fee_part,
            closed.funding_part,
        );
        self.cash += closed.returned;
        self.fees_paid += fee;
        let trade = closed.trade(
            book::Opened {
                side: p.side,
                bar: p.entry_bar,
                ts_ms: p.entry_ts_ms,
                price: p.entry_price,
            },
            book::Exited {
                bar: t,
                ts_ms,
                price,
                reason,
                excursions: p.excursions(price),
            },
        );
        let left = p.qty - q;
        if left <= p.qty * 1e-12 {
            self.pos = None;
        } else {
            p.qty = left;
            p.margin -= margin_part;
            p.entry_fees -= entry_fee_part;
            p.funding -= funding_part;
            self.pos = Some(p);
            self.refresh_liq();
        }
        OrderFill {
            order: None,
            t,
            ts_ms,
            side: if s > 0.0 { Side::Short } else { Side::Long },
            qty: q,
            price,
            fee,
            action: FillAction::Close { trade },
        }
    }

    /// Stops, liquidation and take-profits against bar `t`, adverse events first.
    fn check_protection(&mut self, bar: &Bar, t: usize, fills: &mut Vec<OrderFill>) {
        let Some(p) = self.pos.as_ref() else { return };
        if p.liq.is_none() && p.stop.is_none() && p.take_profit.is_none() && p.legs[0].is_none() {
            return;
        }
        let p = *p;
        let s = p.side.sign();
        let liq_rate = Some(self.cfg.liquidation_fee_rate);
        // gapped through the liquidation price at the open
        if let Some(lp) = p.liq
            && s * (bar.open - lp) <= 0.0
        {
            fills.push(self.close_qty(p.qty, lp, t, bar.ts_ms, ExitReason::Liquidation, liq_rate));
            return;
        }
        if let Some(st) = p.stop
            && adverse_hit(s, bar, st.price)
            && p.liq.is_none_or(|lp| s * (st.price - lp) > 0.0)
        {
            let level = if s * (bar.open - st.price) < 0.0 {
                bar.open
            } else {
                st.price
            };
            let px = self.slipped(s < 0.0, level);
            fills.push(self.close_qty(p.qty, px, t, bar.ts_ms, st.reason, None));
            return;
        }
        if let Some(lp) = p.liq
            && adverse_hit(s, bar, lp)
        {
            fills.push(self.close_qty(p.qty, lp, t, bar.ts_ms, ExitReason::Liquidation, liq_rate));
            return;
        }
        for _ in 0..3 {
            let Some(cur) = self.pos else { return };
            let Some(leg) = cur.legs[0] else { break };
            if !favourable_hit(s, bar, leg.price) {
                break;
            }
            let px = if s * (bar.open - leg.price) > 0.0 {
                bar.open
            } else {
                leg.price
            };
            let q = self.round_qty(leg.qty).min(cur.qty);
            if let Some(pm) = self.pos.as_mut() {
                pm.legs.rotate_left(1);
                pm.legs[2] = None;
            }
            if q > 0.0 {
                let f = self.close_qty(q, px, t, bar.ts_ms, ExitReason::PartialTakeProfit, None);
                fills.push(f);
            }
        }
        if let Some(cur) = self.pos
            && let Some(tp) = cur.take_profit
            && favourable_hit(s, bar, tp)
        {
            let px = if s * (bar.open - tp) > 0.0 {
                bar.open
            } else {
                tp
            };
            fills.push(self.close_qty(cur.qty, px, t, bar.ts_ms, ExitReason::TakeProfit, None));
        }
    }
}
