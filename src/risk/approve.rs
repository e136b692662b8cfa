//! [`RiskManager`]: turns a strategy's [`Intent`] into a [`RiskApproved`] order (or a typed
//! refusal), tracks the daily loss limit and the Kelly statistics, and owns the
//! [`ManagedPosition`] that moves stops bar by bar.

use super::manage::ManagedPosition;
use super::sizing::{KellyStats, confidence_frac};
use super::{
    OrderQty, OrderRequest, Protection, RefusalReason, RiskApproved, RiskConfig, RiskRefused,
};
use crate::core::order::{Intent, OrderKind, OrderPurpose, Side, Sizing, Trade};
use crate::data::Bar;

const DAY_MS: i64 = 86_400_000;

/// What risk needs to know about the account when approving an intent at bar `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskContext {
    /// Bar index of the decision.
    pub t: usize,
    /// Open time of the decision bar (UTC ms).
    pub ts_ms: i64,
    /// Close of the decision bar.
    pub close: f64,
    /// Equity at the close of bar `t`.
    pub equity: f64,
    /// Side of the open position, if any.
    pub position: Option<Side>,
    /// Account leverage (1 = unleveraged).
    pub leverage: f64,
}

/// The account as [`RiskManager::resolve_units`] sizes against it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Holding {
    /// Free balance.
    pub cash: f64,
    /// Quantity of the open position (0 when flat).
    pub qty: f64,
    /// The position's margin plus unrealized PnL at the sizing price (0 when flat).
    pub position_value: f64,
    /// Account leverage.
    pub leverage: f64,
    /// Commission, fraction of notional.
    pub commission: f64,
}

/// The risk gate and position manager for one run. Serde: part of the engine's state.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RiskManager {
    cfg: RiskConfig,
    fractional: bool,
    kelly: KellyStats,
    day: i64,
    #[serde(with = "crate::persist::float")]
    day_start_equity: f64,
    #[serde(with = "crate::persist::float")]
    last_equity: f64,
    halted_day: Option<i64>,
    pending_atr: Option<f64>,
    managed: Option<ManagedPosition>,
}

fn refuse<T>(reason: RefusalReason) -> Result<T, RiskRefused> {
    Err(RiskRefused { reason })
}

impl RiskManager {
    /// A manager applying `cfg`; `fractional` says whether quantities may be fractional
    /// (partial-exit legs are rounded down to whole units otherwise).
    pub fn new(cfg: RiskConfig, fractional: bool) -> Self {
        RiskManager {
            cfg,
            fractional,
            kelly: KellyStats::default(),
            day: i64::MIN,
            day_start_equity: f64::NAN,
            last_equity: f64::NAN,
            halted_day: None,
            pending_atr: None,
            managed: None,
        }
    }

    /// The rules in force.
    pub fn config(&self) -> &RiskConfig {
        &self.cfg
    }

    /// Win/loss statistics of the closed trades seen so far.
    pub fn kelly_stats(&self) -> &KellyStats {
        &self.kelly
    }

    /// The managed state of the open position, if any.
    pub fn managed(&self) -> Option<&ManagedPosition> {
        self.managed.as_ref()
    }

    /// True when new entries are blocked for the UTC day containing `ts_ms`.
    pub fn is_halted(&self, ts_ms: i64) -> bool {
        self.halted_day == Some(ts_ms.div_euclid(DAY_MS))
    }

    /// Record the equity at the close of a bar (daily loss limit). The day's starting
    /// equity is the equity at the previous bar's close (the first bar's own for the first
    /// day).
    pub fn on_bar_close(&mut self, ts_ms: i64, equity: f64) {
        let Some(limit) = self.cfg.daily_loss_limit_frac else {
            return;
        };
        let day = ts_ms.div_euclid(DAY_MS);
        if day != self.day {
            self.day = day;
            self.day_start_equity = if self.last_equity.is_nan() {
                equity
            } else {
                self.last_equity
            };
        }
        self.last_equity = equity;
        if equity <= self.day_start_equity * (1.0 - limit) {
            self.halted_day = Some(day);
        }
    }

    /// Count a closed (or partly closed) trade for Kelly sizing.
    pub fn on_trade_closed(&mut self, trade: &Trade) {
        self.kelly.record(trade);
    }

    /// Start managing a position just opened at `entry_price` for `qty`, with the initial
    /// stop and take-profit of its order.
    pub fn on_position_opened(
        &mut self,
        side: Side,
        entry_price: f64,
        qty: f64,
        stop: Option<f64>,
        take_profit: Option<f64>,
    ) {
        self.managed = Some(ManagedPosition::new(
            side,
            entry_price,
            qty,
            stop,
            take_profit,
            self.pending_atr,
        ));
    }

    /// A partial take-profit leg filled.
    pub fn on_partial_fill(&mut self) {
        if let Some(m) = self.managed.as_mut() {
            m.leg_filled();
        }
    }

    /// The position is closed: stop managing it.
    pub fn on_position_closed(&mut self) {
        self.managed = None;
    }

    /// Update the managed position with bar `t` (its close decides; the new protection
    /// applies from bar `t + 1`). `Some` only when the protection changed.
    pub fn manage(&mut self, bar: &Bar) -> Option<RiskApproved<Protection>> {
        let m = self.managed.as_mut()?;
        m.update(bar, &self.cfg, self.fractional)
            .map(RiskApproved::new)
    }

    /// Approve an unconditional reduce-only market exit of the whole position (end of data,
    /// emergency). Exits are never refused.
    pub fn approve_close_all(&self, position: Side) -> RiskApproved<OrderRequest> {
        RiskApproved::new(OrderRequest {
            side: opposite(position),
            qty: OrderQty::PositionFrac(1.0),
            kind: OrderKind::Market,
            stop: None,
            take_profit: None,
            purpose: OrderPurpose::Exit,
        })
    }

    /// Check an intent made at the close of bar `ctx.t`. `Ok(None)` for `Hold`.
    ///
    /// # Errors
    /// [`RiskRefused`] with the typed reason: daily loss limit, an entry on the side already
    /// held, an exit when flat, a bad level or sizing, or a zero size.
    pub fn approve(
        &mut self,
        intent: &Intent,
        ctx: &RiskContext,
    ) -> Result<Option<RiskApproved<OrderRequest>>, RiskRefused> {
        match *intent {
            Intent::Hold => Ok(None),
            Intent::Exit { frac } => {
                let Some(side) = ctx.position else {
                    return refuse(RefusalReason::NoPosition);
                };
                if !(frac > 0.0 && frac <= 1.0) {
                    return refuse(RefusalReason::BadSizing { value: frac });
                }
                Ok(Some(RiskApproved::new(OrderRequest {
                    side: opposite(side),
                    qty: OrderQty::PositionFrac(frac),
                    kind: OrderKind::Market,
                    stop: None,
                    take_profit: None,
                    purpose: OrderPurpose::Exit,
                })))
            }
            Intent::Enter(e) => {
                if ctx.position == Some(e.side) {
                    return refuse(RefusalReason::AlreadyInPosition);
                }
                if self.is_halted(ctx.ts_ms) {
                    let loss_pct = (1.0 - self.last_equity / self.day_start_equity) * 100.0;
                    return refuse(RefusalReason::DailyLossLimit { loss_pct });
                }
                let s = e.side.sign();
                if let Some(stop) = e.stop
                    && !(stop.is_finite() && stop > 0.0 && s * (ctx.close - stop) > 0.0)
                {
                    return refuse(RefusalReason::BadLevel {
                        level: stop,
                        close: ctx.close,
                    });
                }
                if let Some(tp) = e.take_profit
                    && !(tp.is_finite() && tp > 0.0 && s * (tp - ctx.close) > 0.0)
                {
                    return refuse(RefusalReason::BadLevel {
                        level: tp,
                        close: ctx.close,
                    });
                }
                let qty = self.size(e.sizing, ctx)?;
                self.pending_atr = e.atr.filter(|a| a.is_finite() && *a > 0.0);
                Ok(Some(RiskApproved::new(OrderRequest {
                    side: e.side,
                    qty,
                    kind: e.kind,
                    stop: e.stop,
                    take_profit: e.take_profit,
                    purpose: OrderPurpose::Entry,
                })))
            }
        }
    }

    /// Resolve an approved order to exact units for a venue broker (one that does not size
    /// orders itself): an entry with [`super::entry_qty`] at `price` (the decision's close)
    /// against the account and the instrument's step, an exit as that fraction of the open
    /// position rounded down to the step (the whole position for a fraction of 1).
    pub fn resolve_units(
        &self,
        order: RiskApproved<OrderRequest>,
        price: f64,
        holding: &Holding,
        instrument: &crate::core::order::Instrument,
    ) -> RiskApproved<OrderRequest> {
        let mut req = order.into_inner();
        let held = holding.qty;
        let units = match req.qty {
            OrderQty::Units(u) => instrument.round_qty(u),
            OrderQty::PositionFrac(f) if f >= 1.0 => held,
            OrderQty::PositionFrac(f) => instrument.round_qty(f * held),
            q @ (OrderQty::AllCash | OrderQty::EquityFrac(_)) => super::entry_qty(
                q,
                price,
                holding.cash,
                holding.position_value,
                holding.leverage,
                holding.commission,
                instrument.step_size,
            ),
        };
        req.qty = OrderQty::Units(units);
        RiskApproved::new(req)
    }

    /// True when whole units are traded and `frac` of equity at the decision bar's close
    /// buys less than one (GOLD at 10 000 cash and a 7 % position: issue 10). The fill
    /// price is the next open, so this is the decision-time estimate; the broker still
    /// rejects an order that rounds to zero at the fill.
    fn below_one_unit(&self, frac: f64, ctx: &RiskContext) -> bool {
        !self.fractional
            && ctx.close > 0.0
            && (frac * ctx.equity * ctx.leverage.max(1.0) / ctx.close).floor() < 1.0
    }

    /// Turn a sizing request into an order quantity under the configured caps.
    fn size(&self, sizing: Sizing, ctx: &RiskContext) -> Result<OrderQty, RiskRefused> {
        let max = self.cfg.max_position_frac;
        let cap = |f: f64| max.map_or(f, |m| f.min(m));
        match sizing {
            Sizing::AllCash => Ok(max.map_or(OrderQty::AllCash, OrderQty::EquityFrac)),
            Sizing::EquityFrac(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return refuse(RefusalReason::BadSizing { value: f });
                }
                if self.below_one_unit(cap(f), ctx) {
                    return refuse(RefusalReason::ZeroSize);
                }
                Ok(OrderQty::EquityFrac(cap(f)))
            }
            Sizing::Qty(q) => {
                if !(q > 0.0 && q.is_finite()) {
                    return refuse(RefusalReason::BadSizing { value: q });
                }
                let q = match max {
                    Some(m) if ctx.close > 0.0 => q.min(m * ctx.equity * ctx.leverage / ctx.close),
                    _ => q,
                };
                let q = if self.fractional { q } else { q.floor() };
                if q <= 0.0 {
                    return refuse(RefusalReason::ZeroSize);
                }
                Ok(OrderQty::Units(q))
            }
            Sizing::Risk {
                confidence,
                regime_mult,
            } => {
                let mut f = confidence_frac(
                    self.cfg.base_frac,
                    confidence,
                    self.cfg.confidence_exponent,
                    regime_mult,
                );
                if let Some(k) = self.cfg.kelly
                    && self.kelly.trades >= k.min_trades
                {
                    let kelly_cap = match self.kelly.kelly() {
                        Some(kf) => (kf * k.multiplier).max(k.floor_frac),
                        None if self.kelly.wins == 0 => k.floor_frac,
                        None => f64::INFINITY,
                    };
                    f = f.min(kelly_cap);
                }
                let f = cap(f).min(1.0);
                if f <= 0.0 || self.below_one_unit(f, ctx) {
                    return refuse(RefusalReason::ZeroSize);
                }
                Ok(OrderQty::EquityFrac(f))
            }
        }
    }
}

fn opposite(side: Side) -> Side {
    match side {
        Side::Long => Side::Short,
        Side::Short => Side::Long,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::order::{Entry, ExitReason};

    fn ctx(position: Option<Side>) -> RiskContext {
        RiskContext {
            t: 5,
            ts_ms: 0,
            close: 100.0,
            equity: 10_000.0,
            position,
            leverage: 1.0,
        }
    }

    fn risk_entry(confidence: f64, regime_mult: f64) -> Intent {
        Intent::Enter(Entry {
            sizing: Sizing::Risk {
                confidence,
                regime_mult,
            },
            ..Entry::market(Side::Long)
        })
    }

    #[test]
    fn issue_10_the_seeds_example_sizes_15_pct() {
        // confidence 72 %, bull market (× 1.2) → about 15 % of equity
        let mut rm = RiskManager::new(RiskConfig::standard(), true);
        match qty_of(rm.approve(&risk_entry(0.72, 1.2), &ctx(None))) {
            OrderQty::EquityFrac(f) => assert!((f - 0.15).abs() < 0.005, "{f}"),
            q => panic!("{q:?}"),
        }
    }

    #[test]
    fn issue_10_a_size_below_one_whole_unit_is_refused_as_zero() {
        // 12.288 % of 10 000 buys 0.12 units at 10 000: nothing in whole units
        let mut c = ctx(None);
        c.close = 10_000.0;
        let mut whole = RiskManager::new(RiskConfig::standard(), false);
        match whole.approve(&risk_entry(0.64, 1.2), &c) {
            Err(RiskRefused {
                reason: RefusalReason::ZeroSize,
            }) => {}
            r => panic!("{r:?}"),
        }
        // fractional quantities still trade
        let mut frac = RiskManager::new(RiskConfig::standard(), true);
        assert!(matches!(
            qty_of(frac.approve(&risk_entry(0.64, 1.2), &c)),
            OrderQty::EquityFrac(_)
        ));
    }

    fn qty_of(r: Result<Option<RiskApproved<OrderRequest>>, RiskRefused>) -> OrderQty {
        r.unwrap().unwrap().into_inner().qty
    }

    #[test]
    fn passthrough_keeps_all_cash_sizing() {
        let mut rm = RiskManager::new(RiskConfig::passthrough(), false);
        let r = rm.approve(
            &Intent::Enter(Entry::market(Side::Short)),
            &ctx(Some(Side::Long)),
        );
        let o = r.unwrap().unwrap().into_inner();
        assert_eq!(o.qty, OrderQty::AllCash);
        assert_eq!(o.side, Side::Short);
        assert_eq!(o.purpose, OrderPurpose::Entry);
    }

    #[test]
    fn risk_sizing_is_confidence_scaled_and_capped_at_max_position() {
        let mut rm = RiskManager::new(RiskConfig::standard(), false);
        // 0.2 × 0.64^1.5 × 1.2 = 0.12288
        match qty_of(rm.approve(&risk_entry(0.64, 1.2), &ctx(None))) {
            OrderQty::EquityFrac(f) => assert!((f - 0.12288).abs() < 1e-12, "{f}"),
            q => panic!("{q:?}"),
        }
        // base 0.5 × 1 × 1 = 0.5 → capped at 0.25
        let mut cfg = RiskConfig::standard();
        cfg.base_frac = 0.5;
        let mut rm = RiskManager::new(cfg, false);
        assert_eq!(
            qty_of(rm.approve(&risk_entry(1.0, 1.0), &ctx(None))),
            OrderQty::EquityFrac(0.25)
        );
        // all-cash under the standard rules becomes the max position
        assert_eq!(
            qty_of(rm.approve(&Intent::Enter(Entry::market(Side::Long)), &ctx(None))),
            OrderQty::EquityFrac(0.25)
        );
    }

    /// A closed position entered at bar `entry`.
    fn closed(pnl: f64, entry: usize) -> Trade {
        Trade {
            side: Side::Long,
            qty: 1.0,
            entry_bar: entry,
            exit_bar: entry + 1,
            entry_ts_ms: 0,
            exit_ts_ms: 0,
            entry_price: 100.0,
            exit_price: 100.0,
            pnl,
            return_pct: 0.0,
            fees: 0.0,
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: ExitReason::Signal,
        }
    }

    #[test]
    fn kelly_caps_at_half_kelly_only_after_twenty_trades() {
        let mut rm = RiskManager::new(RiskConfig::standard(), false);
        // 19 trades: 10 wins of 10, 9 losses of 10 → no cap yet (base 0.2)
        for i in 0..19 {
            rm.on_trade_closed(&closed(if i % 2 == 0 { 10.0 } else { -10.0 }, i));
        }
        assert_eq!(
            qty_of(rm.approve(&risk_entry(1.0, 1.0), &ctx(None))),
            OrderQty::EquityFrac(0.2)
        );
        // 20th trade a loss: p = 0.5, b = 1 → f* = 0 → half-Kelly 0 → floor 0.01
        rm.on_trade_closed(&closed(-10.0, 19));
        assert_eq!(
            qty_of(rm.approve(&risk_entry(1.0, 1.0), &ctx(None))),
            OrderQty::EquityFrac(0.01)
        );
        // 20 more wins of 30: p = 30/40 = 0.75, avg win = (100+600)/30 = 23.33…, avg loss 10,
        // b = 2.333…, f* = (0.75·b − 0.25)/b = 0.75 − 0.25/b = 0.642857…, half = 0.3214 > 0.2
        for i in 20..40 {
            rm.on_trade_closed(&closed(30.0, i));
        }
        assert_eq!(
            qty_of(rm.approve(&risk_entry(1.0, 1.0), &ctx(None))),
            OrderQty::EquityFrac(0.2)
        );
    }

    #[test]
    fn daily_loss_limit_blocks_entries_until_the_next_utc_day() {
        let mut rm = RiskManager::new(RiskConfig::standard(), false);
        let h = 3_600_000;
        rm.on_bar_close(0, 10_000.0);
        rm.on_bar_close(h, 9_850.0); // −1.5 %: still fine
        assert!(!rm.is_halted(h));
        rm.on_bar_close(2 * h, 9_790.0); // −2.1 %: halted
        assert!(rm.is_halted(2 * h));
        let mut c = ctx(None);
        c.ts_ms = 2 * h;
        let e = rm.approve(&risk_entry(1.0, 1.0), &c).unwrap_err();
        match e.reason {
            RefusalReason::DailyLossLimit { loss_pct } => assert!((loss_pct - 2.1).abs() < 1e-9),
            r => panic!("{r:?}"),
        }
        // exits still pass
        c.position = Some(Side::Long);
        assert!(rm.approve(&Intent::Exit { frac: 1.0 }, &c).is_ok());
        // next day: the day starts at the previous close (9 790), so not halted
        rm.on_bar_close(24 * h, 9_780.0);
        assert!(!rm.is_halted(24 * h));
    }

    #[test]
    fn bad_levels_and_same_side_entries_are_refused() {
        let mut rm = RiskManager::new(RiskConfig::passthrough(), false);
        let e = Intent::Enter(Entry {
            stop: Some(101.0),
            ..Entry::market(Side::Long)
        });
        assert!(matches!(
            rm.approve(&e, &ctx(None)).unwrap_err().reason,
            RefusalReason::BadLevel { .. }
        ));
        let e = Intent::Enter(Entry::market(Side::Long));
        assert_eq!(
            rm.approve(&e, &ctx(Some(Side::Long))).unwrap_err().reason,
            RefusalReason::AlreadyInPosition
        );
        assert_eq!(
            rm.approve(&Intent::Exit { frac: 1.0 }, &ctx(None))
                .unwrap_err()
                .reason,
            RefusalReason::NoPosition
        );
        assert!(rm.approve(&Intent::Hold, &ctx(None)).unwrap().is_none());
    }
}
