//! Per-trade statistics with backtesting.py 0.6.6's definitions: win rate counts trades with
//! `PnL > 0`; the average trade is the geometric mean of the trade returns; the profit factor
//! is the sum of positive trade *returns* over the absolute sum of negative ones; SQN is
//! `sqrt(n) * mean(PnL) / std(PnL, ddof 1)`; Kelly is `W - (1 - W) / (avg win / avg loss)`.
//! Undefined values (no trades, no losers, zero spread) are NaN.

use crate::metrics::annual::geometric_mean;
use crate::order::Trade;

const DAY_MS: f64 = 86_400_000.0;

/// Trade statistics; percentages in percent, NaN where undefined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeStats {
    /// Number of trades.
    pub trades: usize,
    /// Share of trades with positive PnL, percent.
    pub win_rate_pct: f64,
    /// Best trade return, percent.
    pub best_trade_pct: f64,
    /// Worst trade return, percent.
    pub worst_trade_pct: f64,
    /// Geometric mean trade return, percent.
    pub avg_trade_pct: f64,
    /// Arithmetic mean trade return, percent.
    pub expectancy_pct: f64,
    /// Sum of winning returns / |sum of losing returns|.
    pub profit_factor: f64,
    /// System quality number.
    pub sqn: f64,
    /// Kelly criterion.
    pub kelly_criterion: f64,
    /// Longest trade in bars (`exit_bar - entry_bar`), `None` without trades.
    pub max_trade_duration_bars: Option<usize>,
    /// Mean trade length in bars.
    pub avg_trade_duration_bars: f64,
    /// Longest trade in days (exit minus entry time).
    pub max_trade_duration_days: f64,
    /// Mean trade length in days.
    pub avg_trade_duration_days: f64,
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// `a / b`, NaN when `b` is 0 (pandas' `x / (y or np.nan)`).
fn div_or_nan(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

/// Statistics over `trades` (all of them: filter open trades before calling).
pub fn trade_stats(trades: &[Trade]) -> TradeStats {
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
    let gains: f64 = rets.iter().filter(|&&r| r > 0.0).sum();
    let losses: f64 = rets.iter().filter(|&&r| r < 0.0).sum();
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
    TradeStats {
        trades: n,
        win_rate_pct: win_rate * 100.0,
        best_trade_pct: best * 100.0,
        worst_trade_pct: worst * 100.0,
        avg_trade_pct: geometric_mean(&rets) * 100.0,
        expectancy_pct: mean(rets.iter().copied()) * 100.0,
        profit_factor: div_or_nan(gains, losses.abs()),
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
    use crate::order::{ExitReason, Side};

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
        // +30 % and -10 %: 0.30 / 0.10 = 3
        let s = trade_stats(&[trade(30.0, 30.0, 0, 2), trade(-10.0, -10.0, 3, 7)]);
        assert!((s.profit_factor - 3.0).abs() < 1e-12);
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

    #[test]
    fn no_trades_is_all_undefined() {
        let s = trade_stats(&[]);
        assert_eq!(s.trades, 0);
        assert!(s.win_rate_pct.is_nan() && s.sqn.is_nan() && s.avg_trade_pct.is_nan());
        assert_eq!(s.max_trade_duration_bars, None);
    }
}
