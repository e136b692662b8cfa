//! Per-trade statistics over round trips. A *trade* is a position from open to flat: the
//! engine's [`Trade`] records are its exit fills (a partial take-profit closes 25 % of the
//! position and is one fill), and [`round_trips`] joins the fills of one position into one
//! trade. The definitions follow backtesting.py 0.6.6, vectorbt and QuantStats:
//! - win rate: share of round trips with `PnL > 0`;
//! - best / worst / expectancy: the round trips' returns (PnL over the entry notional of
//!   every fill), expectancy their arithmetic mean, the average trade their geometric mean;
//! - profit factor: gross dollar profit over gross dollar loss, `Σ PnL⁺ / |Σ PnL⁻|` (the
//!   dollar definition of vectorbt and QuantStats; backtesting.py sums returns instead,
//!   which weighs a 1 % position like a 100 % one and, with partial exits, counts each
//!   fill: issue 10);
//! - SQN `sqrt(n) * mean(PnL) / std(PnL, ddof 1)`; Kelly `W - (1 - W) / (avg win / avg loss)`.
//!
//! Undefined values (no trades, no losers, zero spread) are NaN.

use crate::core::order::Trade;
use crate::metrics::annual::geometric_mean;

const DAY_MS: f64 = 86_400_000.0;

/// Trade statistics over round trips; percentages in percent, NaN where undefined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeStats {
    /// Number of round trips (positions opened and closed).
    pub trades: usize,
    /// Number of exit fills (partial exits and final exits); `>= trades`.
    pub exit_fills: usize,
    /// Share of round trips with positive PnL, percent.
    pub win_rate_pct: f64,
    /// Best round-trip return, percent.
    pub best_trade_pct: f64,
    /// Worst round-trip return, percent.
    pub worst_trade_pct: f64,
    /// Geometric mean round-trip return, percent.
    pub avg_trade_pct: f64,
    /// Arithmetic mean round-trip return, percent.
    pub expectancy_pct: f64,
    /// Mean round-trip PnL, quote currency.
    pub expectancy: f64,
    /// Gross dollar profit over gross dollar loss.
    pub profit_factor: f64,
    /// Sum of the winning round trips' PnL, quote currency (>= 0).
    pub gross_profit: f64,
    /// Sum of the losing round trips' PnL, quote currency (<= 0).
    pub gross_loss: f64,
    /// Mean return of the winning round trips, percent.
    pub avg_win_pct: f64,
    /// Mean return of the losing round trips, percent.
    pub avg_loss_pct: f64,
    /// System quality number.
    pub sqn: f64,
    /// Kelly criterion.
    pub kelly_criterion: f64,
    /// Longest round trip in bars (entry to last exit), `None` without trades.
    pub max_trade_duration_bars: Option<usize>,
    /// Mean round-trip length in bars.
    pub avg_trade_duration_bars: f64,
    /// Longest round trip in days.
    pub max_trade_duration_days: f64,
    /// Mean round-trip length in days.
    pub avg_trade_duration_days: f64,
}

/// True when exit fill `b` closes (part of) the same position as `a`: same side, entry bar
/// and entry time ([`round_trips`] joins such adjacent fills into one trade).
pub fn same_position(a: &Trade, b: &Trade) -> bool {
    a.side == b.side && a.entry_bar == b.entry_bar && a.entry_ts_ms == b.entry_ts_ms
}

/// The 1-based round trip of each exit fill, in order: the number [`round_trips`] gives the
/// trade the fill belongs to.
pub fn round_trip_ids(fills: &[Trade]) -> Vec<usize> {
    let mut ids = Vec::with_capacity(fills.len());
    let mut id = 0;
    for (i, f) in fills.iter().enumerate() {
        if i == 0 || !same_position(&fills[i - 1], f) {
            id += 1;
        }
        ids.push(id);
    }
    ids
}

/// Join exit fills into round trips: consecutive fills of the same position (same side,
/// entry bar and entry time; the engine keeps one position at a time, so a position's
/// fills are adjacent) become one [`Trade`] with the summed quantity, PnL and fees, the
/// quantity-weighted entry and exit prices, the last exit's bar, time and reason, the
/// worst MAE and best MFE, and the return `100 × Σ PnL / Σ (qty × entry price)`.
pub fn round_trips(fills: &[Trade]) -> Vec<Trade> {
    let mut out: Vec<Trade> = Vec::with_capacity(fills.len());
    // Σ qty × entry price of the trade being built (its entry notional)
    let mut notional = 0.0;
    for f in fills {
        let same = out.last().is_some_and(|t| same_position(t, f));
        match out.last_mut() {
            Some(t) if same => {
                let qty = t.qty + f.qty;
                t.exit_price = if qty > 0.0 {
                    (t.exit_price * t.qty + f.exit_price * f.qty) / qty
                } else {
                    f.exit_price
                };
                notional += f.qty * f.entry_price;
                t.entry_price = if qty > 0.0 {
                    notional / qty
                } else {
                    f.entry_price
                };
                t.qty = qty;
                t.pnl += f.pnl;
                t.fees += f.fees;
                t.return_pct = if notional > 0.0 {
                    100.0 * t.pnl / notional
                } else {
                    f64::NAN
                };
                t.exit_bar = f.exit_bar;
                t.exit_ts_ms = f.exit_ts_ms;
                t.exit_reason = f.exit_reason;
                t.mae_pct = t.mae_pct.min(f.mae_pct);
                t.mfe_pct = t.mfe_pct.max(f.mfe_pct);
            }
            _ => {
                notional = f.qty * f.entry_price;
                out.push(*f);
            }
        }
    }
    out
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// `a / b`, NaN when `b` is 0 (pandas' `x / (y or np.nan)`).
fn div_or_nan(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

/// Statistics over the round trips of `fills` (closed ones only: filter open trades
/// before calling).
pub fn trade_stats(fills: &[Trade]) -> TradeStats {
    let trades = round_trips(fills);
    let n = trades.len();
    let rets: Vec<f64> = trades.iter().map(|t| t.return_pct / 100.0).collect();
    let pnl: Vec<f64> = trades.iter().map(|t| t.pnl).collect();
    let wins = pnl.iter().filter(|&&p| p > 0.0).count();
    let win_rate = if n == 0 {
        f64::NAN
    } else {
        wins as f64 / n as f64
    };
    let best = rets.iter().copied().fold(f64::NAN, f64::max);
    let worst = rets.iter().copied().fold(f64::NAN, f64::min);
    let gross_profit: f64 = pnl.iter().filter(|&&p| p > 0.0).sum();
    let gross_loss: f64 = pnl.iter().filter(|&&p| p < 0.0).sum();
    let pnl_mean = mean(pnl.iter().copied());
    let pnl_std = crate::metrics::annual::sample_var(&pnl).sqrt();
    let avg_win = mean(pnl.iter().copied().filter(|&p| p > 0.0));
    let avg_loss = -mean(pnl.iter().copied().filter(|&p| p < 0.0));
    let bars: Vec<usize> = trades
        .iter()
        .map(|t| t.exit_bar.saturating_sub(t.entry_bar))
        .collect();
    let days: Vec<f64> = trades
        .iter()
        .map(|t| (t.exit_ts_ms - t.entry_ts_ms) as f64 / DAY_MS)
        .collect();
    let side_mean = |win: bool| {
        mean(
            trades
                .iter()
                .filter(|t| if win { t.pnl > 0.0 } else { t.pnl < 0.0 })
                .map(|t| t.return_pct),
        )
    };
    TradeStats {
        trades: n,
        exit_fills: fills.len(),
        win_rate_pct: win_rate * 100.0,
        best_trade_pct: best * 100.0,
        worst_trade_pct: worst * 100.0,
        avg_trade_pct: geometric_mean(&rets) * 100.0,
        expectancy_pct: mean(rets.iter().copied()) * 100.0,
        expectancy: pnl_mean,
        profit_factor: div_or_nan(gross_profit, gross_loss.abs()),
        gross_profit,
        gross_loss,
        avg_win_pct: side_mean(true),
        avg_loss_pct: side_mean(false),
        sqn: div_or_nan((n as f64).sqrt() * pnl_mean, pnl_std),
        kelly_criterion: win_rate - (1.0 - win_rate) / (avg_win / avg_loss),
        max_trade_duration_bars: bars.iter().copied().max(),
        avg_trade_duration_bars: mean(bars.iter().map(|&b| b as f64)),
        max_trade_duration_days: days.iter().copied().fold(f64::NAN, f64::max),
        avg_trade_duration_days: mean(days.iter().copied()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::order::{ExitReason, Side};

    /// A long trade with the given PnL and return (percent), entered at bar `e`, exited at `x`.
    pub(crate) fn trade(pnl: f64, return_pct: f64, e: usize, x: usize) -> Trade {
        Trade {
            side: Side::Long,
            qty: 1.0,
            entry_bar: e,
            exit_bar: x,
            entry_ts_ms: e as i64 * 86_400_000,
            exit_ts_ms: x as i64 * 86_400_000,
            entry_price: 100.0,
            exit_price: 100.0 + pnl,
            pnl,
            return_pct,
            fees: 0.0,
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: ExitReason::Signal,
        }
    }

    #[test]
    fn profit_factor_of_a_winner_and_a_loser() {
        // +30 and -10 dollars: 30 / 10 = 3
        let s = trade_stats(&[trade(30.0, 30.0, 0, 2), trade(-10.0, -10.0, 3, 7)]);
        assert!((s.profit_factor - 3.0).abs() < 1e-12);
        assert_eq!((s.gross_profit, s.gross_loss), (30.0, -10.0));
        assert_eq!((s.avg_win_pct, s.avg_loss_pct), (30.0, -10.0));
        assert_eq!(s.expectancy, 10.0);
        assert_eq!(s.win_rate_pct, 50.0);
        assert_eq!(s.best_trade_pct, 30.0);
        assert_eq!(s.worst_trade_pct, -10.0);
        assert!((s.expectancy_pct - 10.0).abs() < 1e-12);
        // geometric: sqrt(1.3 * 0.9) - 1
        assert!((s.avg_trade_pct - ((1.17f64).sqrt() - 1.0) * 100.0).abs() < 1e-12);
        // Kelly: 0.5 - 0.5 / (30 / 10) = 1/3
        assert!((s.kelly_criterion - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.max_trade_duration_bars, Some(4));
        assert_eq!(s.avg_trade_duration_bars, 3.0);
        assert_eq!(s.max_trade_duration_days, 4.0);
    }

    #[test]
    fn sqn_of_three_trades() {
        // PnL 10, 20, 30: mean 20, sample std 10, sqrt(3) * 20 / 10 = 2 sqrt(3)
        let s = trade_stats(&[
            trade(10.0, 1.0, 0, 1),
            trade(20.0, 2.0, 1, 2),
            trade(30.0, 3.0, 2, 3),
        ]);
        assert!((s.sqn - 2.0 * 3f64.sqrt()).abs() < 1e-12);
        // no losers: profit factor and Kelly are undefined
        assert!(s.profit_factor.is_nan());
        assert!(s.kelly_criterion.is_nan());
    }

    /// A fill of a long position entered at bar `e` at price 100: `qty` closed at `exit`
    /// on bar `x`, no fees.
    fn fill(qty: f64, exit: f64, e: usize, x: usize) -> Trade {
        let pnl = qty * (exit - 100.0);
        Trade {
            qty,
            exit_price: exit,
            pnl,
            return_pct: 100.0 * pnl / (qty * 100.0),
            ..trade(pnl, 0.0, e, x)
        }
    }

    #[test]
    fn issue_10_partial_exits_are_fills_of_one_trade() {
        // position A (entry bar 0, 4 units at 100): 1 unit at 110 (+10), 1 at 105 (+5),
        // 2 at 80 (-40) → one trade, PnL -25 on a 400 entry notional: -6.25 %
        // position B (entry bar 10, 1 unit at 100): closed at 102 → +2, +2 %
        let fills = [
            fill(1.0, 110.0, 0, 2),
            fill(1.0, 105.0, 0, 3),
            fill(2.0, 80.0, 0, 5),
            fill(1.0, 102.0, 10, 12),
        ];
        let rt = round_trips(&fills);
        assert_eq!(rt.len(), 2);
        assert_eq!((rt[0].qty, rt[0].pnl, rt[0].exit_bar), (4.0, -25.0, 5));
        assert!((rt[0].return_pct + 6.25).abs() < 1e-12);
        // exit price weighted by quantity: (110 + 105 + 160) / 4
        assert!((rt[0].exit_price - 93.75).abs() < 1e-12);
        let s = trade_stats(&fills);
        assert_eq!((s.trades, s.exit_fills), (2, 4));
        // one winner (B) out of two trades, not two winners out of four fills
        assert_eq!(s.win_rate_pct, 50.0);
        // dollars: 2 / 25, not (10 % + 5 % + 2 %) / 20 %
        assert!((s.profit_factor - 2.0 / 25.0).abs() < 1e-12);
        assert!((s.expectancy_pct - (-6.25 + 2.0) / 2.0).abs() < 1e-12);
        assert_eq!(s.worst_trade_pct, -6.25);
        assert_eq!(s.max_trade_duration_bars, Some(5));
    }

    #[test]
    fn issue_10_profit_factor_is_in_dollars() {
        // a +50 % trade on a small position (+5 dollars) and a -10 % trade on a large one
        // (-100 dollars): the return ratio would say 5, the money says 0.05
        let s = trade_stats(&[trade(5.0, 50.0, 0, 1), trade(-100.0, -10.0, 2, 3)]);
        assert!((s.profit_factor - 0.05).abs() < 1e-12);
    }

    #[test]
    fn a_reversal_on_the_same_bar_starts_a_new_trade() {
        let mut short = fill(1.0, 90.0, 0, 4);
        short.side = crate::core::order::Side::Short;
        assert_eq!(round_trip_ids(&[fill(1.0, 90.0, 0, 4), short]), vec![1, 2]);
        let rt = round_trips(&[fill(1.0, 90.0, 0, 4), short]);
        assert_eq!(rt.len(), 2);
    }

    #[test]
    fn no_trades_is_all_undefined() {
        let s = trade_stats(&[]);
        assert_eq!(s.trades, 0);
        assert!(s.win_rate_pct.is_nan() && s.sqn.is_nan() && s.avg_trade_pct.is_nan());
        assert_eq!(s.max_trade_duration_bars, None);
    }
}
