//! Position sizing: confidence-scaled, regime-adjusted fraction of equity, capped by Kelly.

use super::OrderQty;
use crate::core::order::{Side, Trade, round_to_step};

/// The quantity an entry of `qty` buys at `price`: THE sizing rule, used by the simulated
/// broker at the fill price (backtesting.py sizes there) and by the engine before a venue
/// broker, which then gets exact units. `cash` is the free balance, `position_value` the
/// open position's margin plus unrealized PnL at `price` (0 when flat); `commission` the
/// fee fraction. All cash spends `cash × (1 − ε)` (backtesting.py's `_FULL_EQUITY`, so a
/// budget that is an exact multiple of the unit cost buys one unit less, as there); an
/// equity fraction spends `frac × equity`, at most the free cash. Each unit costs its margin
/// `price / leverage` plus `price × commission`; the result is rounded down to
/// `step_size` (the instrument's; 0 = none, 1 = whole units). [`OrderQty::PositionFrac`]
/// (an exit) gives 0.
#[inline]
pub fn entry_qty(
    qty: OrderQty,
    price: f64,
    cash: f64,
    position_value: f64,
    leverage: f64,
    commission: f64,
    step_size: f64,
) -> f64 {
    let per_unit = price / leverage + price * commission;
    let budget = match qty {
        OrderQty::AllCash => Some(cash * (1.0 - f64::EPSILON)),
        OrderQty::EquityFrac(f) => Some((f * (cash + position_value)).min(cash)),
        OrderQty::Units(_) | OrderQty::PositionFrac(_) => None,
    };
    match (budget, qty) {
        (Some(b), _) => round_to_step(b.max(0.0) / per_unit, step_size),
        (None, OrderQty::Units(u)) => round_to_step(u, step_size),
        (None, _) => 0.0,
    }
}

/// `base × confidence^exponent × regime_mult`, with confidence clamped to [0, 1] and a
/// negative or non-finite result read as 0.
pub fn confidence_frac(base: f64, confidence: f64, exponent: f64, regime_mult: f64) -> f64 {
    let c = if confidence.is_finite() {
        confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let f = base * c.powf(exponent) * regime_mult;
    if f.is_finite() && f > 0.0 { f } else { 0.0 }
}

/// The Kelly fraction `f* = (p·b − q) / b` for win probability `p`, win/loss ratio `b`
/// (average win over average loss) and `q = 1 − p`. `None` when `b` is not positive.
pub fn kelly_fraction(p: f64, b: f64) -> Option<f64> {
    (b > 0.0 && b.is_finite()).then(|| (p * b - (1.0 - p)) / b)
}

/// Running win/loss statistics of a strategy's closed trades (no allocation per trade).
/// A trade is a round trip: the fills of one position (partial exits) count once, with
/// their summed PnL (issue 10).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct KellyStats {
    /// Closed trades counted.
    pub trades: usize,
    /// Trades with pnl > 0.
    pub wins: usize,
    /// Sum of winning pnl.
    pub win_sum: f64,
    /// Sum of losing pnl's magnitudes.
    pub loss_sum: f64,
    /// The position of the last fill (side, entry bar, entry time) and its PnL so far.
    last: Option<(Side, usize, i64, f64)>,
}

impl KellyStats {
    /// Count an exit fill (pnl = 0 counts as a loss of 0). A fill of the same position as
    /// the previous one replaces that trade's contribution with the summed PnL.
    pub fn record(&mut self, fill: &Trade) {
        let key = (fill.side, fill.entry_bar, fill.entry_ts_ms);
        let pnl = match self.last {
            Some((side, bar, ts, before)) if (side, bar, ts) == key => {
                self.add(before, -1.0);
                before + fill.pnl
            }
            _ => fill.pnl,
        };
        self.add(pnl, 1.0);
        self.last = Some((key.0, key.1, key.2, pnl));
    }

    /// Add (`sign` 1) or take back (`sign` −1) one trade of `pnl`.
    fn add(&mut self, pnl: f64, sign: f64) {
        let one = |n: &mut usize| {
            if sign > 0.0 {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
        };
        one(&mut self.trades);
        if pnl > 0.0 {
            one(&mut self.wins);
            self.win_sum += sign * pnl;
        } else {
            self.loss_sum += sign * -pnl;
        }
    }

    /// The Kelly fraction from these trades; `None` with no trades, no wins or no losses.
    pub fn kelly(&self) -> Option<f64> {
        let losses = self.trades - self.wins;
        if self.wins == 0 || losses == 0 {
            return None;
        }
        let p = self.wins as f64 / self.trades as f64;
        let avg_win = self.win_sum / self.wins as f64;
        let avg_loss = self.loss_sum / losses as f64;
        if avg_loss <= 0.0 {
            return None;
        }
        kelly_fraction(p, avg_win / avg_loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::order::ExitReason;

    /// An exit fill of a position entered at bar `entry`.
    fn fill(pnl: f64, entry: usize) -> Trade {
        Trade {
            side: Side::Long,
            qty: 1.0,
            entry_bar: entry,
            exit_bar: entry + 1,
            entry_ts_ms: 0,
            exit_ts_ms: 1,
            entry_price: 100.0,
            exit_price: 100.0 + pnl,
            pnl,
            return_pct: pnl,
            fees: 0.0,
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: ExitReason::Signal,
        }
    }

    #[test]
    fn confidence_scaling_uses_power_one_and_a_half() {
        // 0.1 × 0.64^1.5 × 1.2 = 0.1 × 0.512 × 1.2 = 0.06144
        let f = confidence_frac(0.1, 0.64, 1.5, 1.2);
        assert!((f - 0.06144).abs() < 1e-12, "{f}");
        assert_eq!(confidence_frac(0.1, 0.0, 1.5, 1.0), 0.0);
        assert_eq!(confidence_frac(0.1, f64::NAN, 1.5, 1.0), 0.0);
        // confidence above 1 is clamped
        assert!((confidence_frac(0.1, 2.0, 1.5, 1.0) - 0.1).abs() < 1e-15);
    }

    #[test]
    fn kelly_matches_the_textbook_formula() {
        // p = 0.6, b = 2: (1.2 − 0.4) / 2 = 0.4
        assert!((kelly_fraction(0.6, 2.0).unwrap() - 0.4).abs() < 1e-15);
        // p = 0.4, b = 1: (0.4 − 0.6) / 1 = −0.2
        assert!((kelly_fraction(0.4, 1.0).unwrap() + 0.2).abs() < 1e-15);
        assert_eq!(kelly_fraction(0.5, 0.0), None);
    }

    #[test]
    fn kelly_stats_from_trades() {
        // 3 wins of 20 each, 2 losses of 10 each: p = 0.6, b = 20/10 = 2 → 0.4
        let mut s = KellyStats::default();
        for (i, pnl) in [20.0, -10.0, 20.0, -10.0, 20.0].into_iter().enumerate() {
            s.record(&fill(pnl, 10 * i));
        }
        assert_eq!(s.trades, 5);
        assert!((s.kelly().unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(KellyStats::default().kelly(), None);
    }

    #[test]
    fn issue_10_kelly_counts_partial_exits_once() {
        // one position: +5 (partial), +5 (partial), −30 (stop) → one losing trade of −20;
        // then one winner of +10
        let mut s = KellyStats::default();
        for pnl in [5.0, 5.0, -30.0] {
            s.record(&fill(pnl, 0));
        }
        s.record(&fill(10.0, 7));
        assert_eq!((s.trades, s.wins), (2, 1));
        assert!((s.loss_sum - 20.0).abs() < 1e-12 && (s.win_sum - 10.0).abs() < 1e-12);
    }
}
