//! THE fill arithmetic of a simulated isolated-margin book: what an entry costs, what
//! closing (part of) a position returns, its PnL and the position's value at a price.
//!
//! [`super::SimBroker`] (backtests, paper) and the engine's fast paths
//! (`engine::fast::sweep` for optimize, `engine::fast::genome` for evolve) all compute their
//! cash, fees and PnL with these functions, so they agree bit for bit by construction
//! (issue 9 item 3); their tests still compare them bar by bar. Sizing is
//! `risk::entry_qty`. Every function is a few float operations in a fixed order: change
//! the order and every golden test moves.

use crate::core::order::{ExitReason, Side, Trade};

/// A position's books, as the kernel reads them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Held {
    /// +1 long, −1 short.
    pub sign: f64,
    /// Quantity held (> 0).
    pub qty: f64,
    /// Average entry price.
    pub entry_price: f64,
    /// Isolated margin now.
    pub margin: f64,
    /// Entry commission not yet attributed to a closed part.
    pub entry_fees: f64,
    /// Funding paid and not yet attributed to a closed part.
    pub funding: f64,
}

/// What closing part of a position did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Closed {
    /// Quantity closed (at most the quantity held).
    pub qty: f64,
    /// Commission, or the liquidation fee.
    pub fee: f64,
    /// Cash returned to the free balance.
    pub returned: f64,
    /// Profit of the closed part, net of its share of entry fees and funding.
    pub pnl: f64,
    /// The closed part's share of the margin.
    pub margin_part: f64,
    /// Its share of the entry commission.
    pub entry_fee_part: f64,
    /// Its share of the funding paid.
    pub funding_part: f64,
}

/// Where a position was opened, for the trade record of a close.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Opened {
    /// Direction.
    pub side: Side,
    /// Bar index of the first entry fill.
    pub bar: usize,
    /// Time of the first entry fill.
    pub ts_ms: i64,
    /// Average entry price.
    pub price: f64,
}

/// Where and why (part of) a position closed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exited {
    /// Bar index of the close.
    pub bar: usize,
    /// Time of the close.
    pub ts_ms: i64,
    /// Exit price.
    pub price: f64,
    /// Why it closed.
    pub reason: ExitReason,
    /// Maximum adverse and favourable excursion, percent (NaN when not tracked).
    pub excursions: (f64, f64),
}

impl Closed {
    /// The trade record of this close: THE one `Trade` the simulated broker and the fast
    /// paths report for a closed part.
    #[inline(always)]
    pub fn trade(&self, o: Opened, x: Exited) -> Trade {
        Trade {
            side: o.side,
            qty: self.qty,
            entry_bar: o.bar,
            exit_bar: x.bar,
            entry_ts_ms: o.ts_ms,
            exit_ts_ms: x.ts_ms,
            entry_price: o.price,
            exit_price: x.price,
            pnl: self.pnl,
            return_pct: 100.0 * self.pnl / (self.qty * o.price),
            fees: self.entry_fee_part + self.fee,
            mae_pct: x.excursions.0,
            mfe_pct: x.excursions.1,
            exit_reason: x.reason,
        }
    }
}

/// Close `q` of `held` at `price` (slippage already applied). With `liq_fee_rate` it is a
/// liquidation: that fee instead of commission, the loss capped at the margin.
#[inline(always)]
pub fn close(
    held: &Held,
    q: f64,
    price: f64,
    commission: f64,
    liq_fee_rate: Option<f64>,
) -> Closed {
    let q = q.min(held.qty);
    let r = q / held.qty;
    let margin_part = held.margin * r;
    let entry_fee_part = held.entry_fees * r;
    let funding_part = held.funding * r;
    let gross = held.sign * q * (price - held.entry_price);
    let (fee, returned) = match liq_fee_rate {
        None => {
            let fee = q * price * commission;
            (fee, margin_part + gross - fee)
        }
        Some(rate) => {
            let left = (margin_part + gross).max(0.0);
            let fee = (q * price * rate).min(left);
            (fee, left - fee)
        }
    };
    let pnl = returned - margin_part - funding_part - entry_fee_part;
    Closed {
        qty: q,
        fee,
        returned,
        pnl,
        margin_part,
        entry_fee_part,
        funding_part,
    }
}

/// Margin and commission of an entry of `qty` at `price`.
#[inline(always)]
pub fn open_cost(qty: f64, price: f64, leverage: f64, commission: f64) -> (f64, f64) {
    (qty * price / leverage, qty * price * commission)
}

/// What one unit of an entry costs: its margin plus commission.
#[inline(always)]
pub fn unit_cost(price: f64, leverage: f64, commission: f64) -> f64 {
    price / leverage + price * commission
}

/// Unrealized PnL of `qty` entered at `entry_price`, marked at `price`.
#[inline(always)]
pub fn unrealized(sign: f64, qty: f64, entry_price: f64, price: f64) -> f64 {
    sign * qty * (price - entry_price)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_half_a_long_returns_half_the_margin_plus_the_gain_less_fees() {
        // 2 units long at 100, margin 200, entry fees 0.4; close 1 at 110, commission 0.2 %
        let h = Held {
            sign: 1.0,
            qty: 2.0,
            entry_price: 100.0,
            margin: 200.0,
            entry_fees: 0.4,
            funding: 0.0,
        };
        let c = close(&h, 1.0, 110.0, 0.002, None);
        assert_eq!(c.qty, 1.0);
        assert!((c.fee - 0.22).abs() < 1e-12);
        assert!((c.returned - (100.0 + 10.0 - 0.22)).abs() < 1e-12);
        assert!((c.pnl - (10.0 - 0.22 - 0.2)).abs() < 1e-12);
        // a liquidation loses at most the margin: fee capped by what is left
        let l = close(&h, 5.0, 0.5, 0.002, Some(0.005));
        assert_eq!(l.qty, 2.0);
        assert!((l.fee - 0.005).abs() < 1e-15);
        assert!((l.returned - 0.995).abs() < 1e-12);
        let wiped = close(&h, 2.0, 0.0, 0.002, Some(0.005));
        assert_eq!((wiped.fee, wiped.returned), (0.0, 0.0));
        assert!((wiped.pnl + 200.4).abs() < 1e-12);
        assert_eq!(open_cost(2.0, 100.0, 4.0, 0.001), (50.0, 0.2));
        assert_eq!(unit_cost(100.0, 4.0, 0.001), 25.1);
        assert_eq!(unrealized(-1.0, 2.0, 100.0, 90.0), 20.0);
    }
}
