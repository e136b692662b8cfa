//! [`ManagedPosition`]: the per-bar management of an open position — break-even stop,
//! trailing stop and partial take-profit legs.
//!
//! Updated at the close of each bar with that bar's extreme (high for a long, low for a
//! short); the protection it returns applies from the next bar, so no rule sees the future.
//! Stops only ever move in the trade's favour.

use super::{Protection, RiskConfig, StopLevel, TpLeg};
use crate::core::order::{ExitReason, Side};
use crate::data::Bar;

/// The managed state of one open position.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ManagedPosition {
    /// Direction.
    pub side: Side,
    /// Average entry price.
    pub entry_price: f64,
    /// Quantity at entry (partial legs are fractions of it).
    pub initial_qty: f64,
    /// The entry's stop (defines R for partial legs).
    pub initial_stop: Option<f64>,
    /// ATR at decision time, for ATR trailing distance.
    pub atr: Option<f64>,
    /// Best price seen since entry (highest high for a long, lowest low for a short).
    pub best_price: f64,
    /// The protection currently in force.
    pub protection: Protection,
    legs_placed: bool,
    legs_filled: usize,
}

impl ManagedPosition {
    /// Start managing a position.
    pub fn new(
        side: Side,
        entry_price: f64,
        qty: f64,
        stop: Option<f64>,
        take_profit: Option<f64>,
        atr: Option<f64>,
    ) -> Self {
        ManagedPosition {
            side,
            entry_price,
            initial_qty: qty,
            initial_stop: stop,
            atr,
            best_price: entry_price,
            protection: Protection {
                stop: stop.map(|price| StopLevel {
                    price,
                    reason: ExitReason::StopLoss,
                }),
                take_profit,
                legs: [None; 3],
            },
            legs_placed: false,
            legs_filled: 0,
        }
    }

    /// The nearest unfilled leg has filled (legs fill nearest first).
    pub fn leg_filled(&mut self) {
        let legs = &mut self.protection.legs;
        legs.rotate_left(1);
        legs[2] = None;
        self.legs_filled += 1;
    }

    /// Update with bar `t`; `Some(new protection)` when it changed.
    pub fn update(&mut self, bar: &Bar, cfg: &RiskConfig, fractional: bool) -> Option<Protection> {
        let s = self.side.sign();
        let entry = self.entry_price;
        self.best_price = match self.side {
            Side::Long => self.best_price.max(bar.high),
            Side::Short => self.best_price.min(bar.low),
        };
        let best = self.best_price;
        let move_frac = s * (best - entry) / entry;
        let before = self.protection;
        let better =
            |new: f64, cur: Option<StopLevel>| cur.is_none_or(|c| s * (new - c.price) > 0.0);

        if let Some(be) = cfg.break_even
            && move_frac >= be.trigger_frac
        {
            let level = be.level(entry, s);
            if better(level, self.protection.stop) {
                self.protection.stop = Some(StopLevel {
                    price: level,
                    reason: ExitReason::BreakEven,
                });
            }
        }
        if let Some(tr) = cfg.trailing
            && move_frac >= tr.activate_frac
        {
            let atr_dist = self.atr.map_or(0.0, |a| tr.atr_mult * a);
            let dist = (tr.trail_frac * best).max(atr_dist);
            let level = best - s * dist;
            if better(level, self.protection.stop) {
                self.protection.stop = Some(StopLevel {
                    price: level,
                    reason: ExitReason::TrailingStop,
                });
            }
        }
        if let Some(p) = cfg.partials
            && !self.legs_placed
        {
            self.legs_placed = true;
            if let Some(stop0) = self.initial_stop {
                let r = (entry - stop0).abs();
                let mut q = p.frac_each * self.initial_qty;
                if !fractional {
                    q = q.floor();
                }
                if r > 0.0 && q > 0.0 {
                    for (slot, k) in self.protection.legs.iter_mut().zip(p.r_multiples) {
                        *slot = Some(TpLeg {
                            price: entry + s * k * r,
                            qty: q,
                        });
                    }
                }
                // the rest trails: no fixed take-profit once legs are placed
                self.protection.take_profit = None;
            }
        }
        (self.protection != before).then_some(self.protection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(high: f64, low: f64, close: f64) -> Bar {
        Bar {
            ts_ms: 0,
            open: close,
            high,
            low,
            close,
            volume: 1.0,
        }
    }

    fn only(cfg_fn: impl Fn(&mut RiskConfig)) -> RiskConfig {
        let mut c = RiskConfig::passthrough();
        cfg_fn(&mut c);
        c
    }

    #[test]
    fn break_even_moves_stop_to_entry_plus_five_bps_at_half_percent() {
        let cfg = only(|c| c.break_even = RiskConfig::standard().break_even);
        let mut m = ManagedPosition::new(Side::Long, 100.0, 10.0, Some(95.0), None, None);
        // high 100.4: +0.4 % → nothing
        assert_eq!(m.update(&bar(100.4, 99.0, 100.2), &cfg, false), None);
        // high 100.5: +0.5 % → stop 100.05
        let p = m.update(&bar(100.5, 100.0, 100.3), &cfg, false).unwrap();
        let st = p.stop.unwrap();
        assert!((st.price - 100.05).abs() < 1e-9);
        assert_eq!(st.reason, ExitReason::BreakEven);
        // once set, it does not change again
        assert_eq!(m.update(&bar(101.0, 100.2, 100.8), &cfg, false), None);
    }

    #[test]
    fn break_even_covers_both_commissions() {
        let cfg = only(|c| c.break_even = RiskConfig::standard().with_commission(0.001).break_even);
        let mut m = ManagedPosition::new(Side::Long, 100.0, 10.0, Some(95.0), None, None);
        let st = m
            .update(&bar(100.6, 100.0, 100.3), &cfg, false)
            .unwrap()
            .stop
            .unwrap();
        // exit·(1 − 0.001) = 100·(1 + 0.001) → 100.2002…, then + 0.05 %
        let be = 100.0 * 1.001 / 0.999;
        assert!((st.price - be * 1.0005).abs() < 1e-9, "{}", st.price);
        // a fill at the stop nets a profit after both commissions
        let net = st.price * 0.999 - 100.0 * 1.001;
        assert!(net > 0.0);
        // a short: below the entry by the same logic
        let mut m = ManagedPosition::new(Side::Short, 100.0, 10.0, Some(105.0), None, None);
        let st = m
            .update(&bar(100.0, 99.4, 99.6), &cfg, false)
            .unwrap()
            .stop
            .unwrap();
        assert!((st.price - 100.0 * 0.999 / 1.001 * 0.9995).abs() < 1e-9);
        assert!(100.0 * 0.999 - st.price * 1.001 > 0.0);
    }

    #[test]
    fn trailing_stop_activates_at_one_percent_and_takes_the_wider_distance() {
        let cfg = only(|c| c.trailing = RiskConfig::standard().trailing);
        // short, ATR 1.0 → 1.5 ATR = 1.5 > 0.5 % of ~99 (0.495)
        let mut m = ManagedPosition::new(Side::Short, 100.0, 1.0, None, None, Some(1.0));
        assert_eq!(m.update(&bar(100.5, 99.1, 99.5), &cfg, false), None); // −0.9 %
        let p = m.update(&bar(99.5, 99.0, 99.2), &cfg, false).unwrap(); // −1 %
        let st = p.stop.unwrap();
        assert!((st.price - 100.5).abs() < 1e-9, "{}", st.price);
        assert_eq!(st.reason, ExitReason::TrailingStop);
        // price falls to 90: stop 91.5; a later rebound never moves it back up
        let p = m.update(&bar(99.0, 90.0, 91.0), &cfg, false).unwrap();
        assert!((p.stop.unwrap().price - 91.5).abs() < 1e-9);
        assert_eq!(m.update(&bar(91.4, 90.5, 91.3), &cfg, false), None);
        // without ATR the 0.5 % distance applies: long, best 110 → 109.45
        let mut m = ManagedPosition::new(Side::Long, 100.0, 1.0, None, None, None);
        let p = m.update(&bar(110.0, 100.0, 109.0), &cfg, false).unwrap();
        assert!((p.stop.unwrap().price - 109.45).abs() < 1e-9);
    }

    #[test]
    fn partial_legs_at_one_two_three_r_of_a_quarter_each() {
        let cfg = only(|c| c.partials = RiskConfig::standard().partials);
        // long 100, stop 98 → R = 2; qty 10 → 2.5 → 2 whole units per leg
        let mut m = ManagedPosition::new(Side::Long, 100.0, 10.0, Some(98.0), Some(120.0), None);
        let p = m.update(&bar(100.5, 99.5, 100.0), &cfg, false).unwrap();
        let prices: Vec<f64> = p.legs.iter().map(|l| l.unwrap().price).collect();
        assert_eq!(prices, vec![102.0, 104.0, 106.0]);
        assert!(p.legs.iter().all(|l| l.unwrap().qty == 2.0));
        assert_eq!(p.take_profit, None);
        m.leg_filled();
        assert_eq!(m.protection.legs[0].unwrap().price, 104.0);
        assert_eq!(m.protection.legs[2], None);
        // fractional quantities keep 2.5
        let mut m = ManagedPosition::new(Side::Short, 100.0, 10.0, Some(102.0), None, None);
        let p = m.update(&bar(100.5, 99.5, 100.0), &cfg, true).unwrap();
        assert_eq!(
            p.legs[0].unwrap(),
            TpLeg {
                price: 98.0,
                qty: 2.5
            }
        );
    }
}
