//! The simulated broker's side of a quiet stretch (docs/DESIGN.md §3, "Quiet stretches"):
//! [`SimBroker::quiet_gate`] books held bars for a strategy that runs ahead with
//! [`crate::strategy::Strategy::quiet_bars`], and [`SimBroker::commit_quiet`] moves the
//! broker past the bars it consumed. Each booked bar is [`SimBroker`]'s `hold_bar` (same
//! operations, same order, so the same bits), split in two: the per-bar rows first, the
//! position's excursion and the last mark once at the end.

use super::book;
use super::sim::SimBroker;
use crate::strategy::QuietGate;

/// The per-bar books of a backtest from some bar on (one row per bar, in bar order).
#[derive(Debug)]
pub struct BookRows<'a> {
    /// Equity at each bar's close.
    pub equity: &'a mut [f64],
    /// Free cash at each bar's close.
    pub cash: &'a mut [f64],
    /// Position value at each bar's close.
    pub position_value: &'a mut [f64],
    /// Whether a position is open at each bar's close.
    pub exposure: &'a mut [bool],
}

/// Books bars `from, from + 1, …` as held bars of [`SimBroker`] with nothing else to do
/// (no orders, no protection, no funding: [`SimBroker::quiet_gate`] checked), refusing
/// the first bar whose mark would need the full path (equity at or below zero).
#[derive(Debug)]
pub struct SimQuietGate<'a> {
    from: usize,
    held: usize,
    /// `Some((sign, qty, entry price, margin))` with a position, `None` flat.
    pos: Option<(f64, f64, f64, f64)>,
    cash: f64,
    /// The flat marks (equity, position value).
    flat: (f64, f64),
    close: &'a [f64],
    rows: BookRows<'a>,
}

impl SimQuietGate<'_> {
    /// Bars booked so far.
    pub fn held(&self) -> usize {
        self.held
    }
}

impl QuietGate for SimQuietGate<'_> {
    #[inline]
    fn hold(&mut self, t: usize) -> bool {
        let i = self.held;
        if t != self.from + i || i >= self.rows.equity.len() {
            return false;
        }
        let (Some(close), Some(eq), Some(cash), Some(pv), Some(exp)) = (
            self.close.get(t),
            self.rows.equity.get_mut(i),
            self.rows.cash.get_mut(i),
            self.rows.position_value.get_mut(i),
            self.rows.exposure.get_mut(i),
        ) else {
            return false;
        };
        match self.pos {
            Some((sign, qty, entry, margin)) => {
                let upnl = book::unrealized(sign, qty, entry, *close);
                let position_value = margin + upnl;
                let equity = self.cash + position_value;
                if !(equity.is_finite() && equity > 0.0) {
                    return false;
                }
                *eq = equity;
                *pv = position_value;
                *exp = true;
            }
            None => {
                *eq = self.flat.0;
                *pv = self.flat.1;
                *exp = false;
            }
        }
        *cash = self.cash;
        self.held += 1;
        true
    }
}

impl SimBroker {
    /// A gate for a quiet stretch from bar `t` of a run whose closes are `close`, writing
    /// `rows` (row 0 is bar `t`); `None` when bar `t` is not quiet for the broker: bankrupt,
    /// orders resting, or a position with a liquidation price, stop, take-profit or legs,
    /// or in its first bar. The caller guarantees there is no funding column.
    pub fn quiet_gate<'a>(
        &self,
        t: usize,
        close: &'a [f64],
        rows: BookRows<'a>,
    ) -> Option<SimQuietGate<'a>> {
        if self.bankrupt || !self.orders.is_empty() {
            return None;
        }
        let pos = match &self.pos {
            None => None,
            Some(p) => {
                if t < p.active_from
                    || p.liq.is_some()
                    || p.stop.is_some()
                    || p.take_profit.is_some()
                    || p.legs[0].is_some()
                {
                    return None;
                }
                Some((p.side.sign(), p.qty, p.entry_price, p.margin))
            }
        };
        Some(SimQuietGate {
            from: t,
            held: 0,
            pos,
            cash: self.cash,
            flat: (self.equity, self.position_value),
            close,
            rows,
        })
    }

    /// Move past the `k > 0` bars from `t` a [`SimQuietGate`] booked: the position's
    /// excursion over their lows and highs, then the mark of the last one at `close[t + k
    /// − 1]` (the values the gate wrote in its last row).
    pub fn commit_quiet(&mut self, t: usize, k: usize, high: &[f64], low: &[f64], close: &[f64]) {
        if k == 0 {
            return;
        }
        let last = t + k - 1;
        self.last_t = last;
        let (Some(p), Some(high), Some(low), Some(&close)) = (
            self.pos.as_mut(),
            high.get(t..=last),
            low.get(t..=last),
            close.get(last),
        ) else {
            return;
        };
        for (&h, &l) in high.iter().zip(low) {
            p.min_price = p.min_price.min(l);
            p.max_price = p.max_price.max(h);
        }
        let upnl = book::unrealized(p.side.sign(), p.qty, p.entry_price, close);
        let position_value = p.margin + upnl;
        p.upnl = upnl;
        self.position_value = position_value;
        self.equity = self.cash + position_value;
    }
}
