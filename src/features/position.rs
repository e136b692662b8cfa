//! The position and risk part of the DQN states, from what a strategy sees each bar
//! ([`PositionView`] and the close): [`PositionTracker`] keeps the few running figures it
//! needs (peak equity, closed-trade outcomes) and fills fixed-scale columns, so these
//! columns never depend on a training window.
//!
//! A trade is seen as closed when the position goes flat, flips side or is re-entered
//! (a new entry time); its outcome is the equity change since the bar the tracker first saw
//! it open. The margin ratio uses the isolated margin `qty × entry / run leverage` and a
//! flat maintenance rate [`MAINTENANCE_RATE`] (Binance BTCUSDT's first bracket).

use std::collections::VecDeque;

use crate::core::order::{PositionView, Side};

/// Maintenance-margin rate used for the margin-ratio column (BTCUSDT tier 1).
pub const MAINTENANCE_RATE: f64 = 0.004;
/// Closed trades the recent win rate looks back over.
pub const WIN_RATE_TRADES: usize = 10;

/// Position and risk figures at one bar (unscaled).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PositionState {
    /// −1 short, 0 flat, +1 long.
    pub side: f64,
    /// Notional exposure as a multiple of equity (`qty × close / equity`).
    pub leverage: f64,
    /// Unrealized return of the position on its entry price, signed by side (fraction).
    pub pnl_frac: f64,
    /// Bars since entry.
    pub bars_held: usize,
    /// Unrealized PnL over the position's isolated margin (fraction).
    pub unrealized_on_margin: f64,
    /// Maintenance margin over margin balance (0 flat; ≥ 1 means liquidation).
    pub margin_ratio: f64,
    /// Account return since the first bar the tracker saw (fraction).
    pub account_pnl_frac: f64,
    /// Drawdown of equity from its peak (fraction, 0–1).
    pub drawdown_frac: f64,
    /// Losing trades in a row (the latest ones).
    pub consecutive_losses: usize,
    /// Share of winners among the last [`WIN_RATE_TRADES`] closed trades (0.5 before any).
    pub recent_win_rate: f64,
}

/// Running figures behind [`PositionState`].
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PositionTracker {
    start_equity: Option<f64>,
    peak: f64,
    open: Option<(Side, i64, f64)>,
    outcomes: VecDeque<bool>,
    consecutive_losses: usize,
    closed: u64,
}

impl PositionTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> Self {
        PositionTracker::default()
    }

    /// Forget everything.
    pub fn reset(&mut self) {
        *self = PositionTracker::default();
    }

    /// Closed trades seen so far.
    pub fn closed_trades(&self) -> u64 {
        self.closed
    }

    /// Update with the view at the close of a bar; `run_leverage` is the engine's leverage
    /// (the isolated margin is `qty × entry / run_leverage`).
    pub fn update(&mut self, pos: &PositionView, close: f64, run_leverage: f64) -> PositionState {
        let equity = pos.equity;
        let start = *self.start_equity.get_or_insert(equity);
        self.peak = self.peak.max(equity);
        let now = pos.side.map(|s| (s, pos.entry_ts_ms));
        if let Some((side, ts, eq0)) = self.open
            && now != Some((side, ts))
        {
            self.record(equity > eq0);
            self.open = None;
        }
        if let (Some((s, ts)), None) = (now, self.open) {
            self.open = Some((s, ts, equity_before_entry(pos, close, equity)));
        }
        let sign = pos.side.map_or(0.0, Side::sign);
        let notional = pos.qty * close;
        let entry_notional = pos.qty * pos.entry_price;
        let upnl = sign * pos.qty * (close - pos.entry_price);
        let margin = if run_leverage > 0.0 {
            entry_notional / run_leverage
        } else {
            entry_notional
        };
        let balance = margin + upnl;
        let frac = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        PositionState {
            side: sign,
            leverage: frac(notional, equity),
            pnl_frac: if pos.entry_price > 0.0 {
                sign * (close / pos.entry_price - 1.0)
            } else {
                0.0
            },
            bars_held: pos.bars_held,
            unrealized_on_margin: frac(upnl, margin),
            margin_ratio: if pos.side.is_none() {
                0.0
            } else if balance > 0.0 {
                MAINTENANCE_RATE * notional / balance
            } else {
                1.0
            },
            account_pnl_frac: frac(equity, start) - 1.0,
            drawdown_frac: if self.peak > 0.0 {
                (1.0 - equity / self.peak).clamp(0.0, 1.0)
            } else {
                0.0
            },
            consecutive_losses: self.consecutive_losses,
            recent_win_rate: if self.outcomes.is_empty() {
                0.5
            } else {
                self.outcomes.iter().filter(|w| **w).count() as f64 / self.outcomes.len() as f64
            },
        }
    }

    fn record(&mut self, win: bool) {
        self.closed += 1;
        self.outcomes.push_back(win);
        if self.outcomes.len() > WIN_RATE_TRADES {
            self.outcomes.pop_front();
        }
        self.consecutive_losses = if win { 0 } else { self.consecutive_losses + 1 };
    }
}

/// Equity before the position's unrealized PnL (the reference a trade's outcome is measured
/// from when the tracker first sees it open).
fn equity_before_entry(pos: &PositionView, close: f64, equity: f64) -> f64 {
    let sign = pos.side.map_or(0.0, Side::sign);
    equity - sign * pos.qty * (close - pos.entry_price)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(
        side: Option<Side>,
        qty: f64,
        entry: f64,
        ts: i64,
        held: usize,
        equity: f64,
    ) -> PositionView {
        PositionView {
            side,
            qty,
            entry_price: entry,
            entry_ts_ms: ts,
            bars_held: held,
            equity,
        }
    }

    #[test]
    fn figures_of_a_leveraged_long_by_hand() {
        let mut t = PositionTracker::new();
        t.update(&view(None, 0.0, 0.0, 0, 0, 1000.0), 100.0, 10.0);
        // 30 units at 100 = 3000 notional (3× of 1000), margin 300 at run leverage 10
        let s = t.update(
            &view(Some(Side::Long), 30.0, 100.0, 5, 1, 970.0),
            99.0,
            10.0,
        );
        assert_eq!(s.side, 1.0);
        assert!((s.leverage - 30.0 * 99.0 / 970.0).abs() < 1e-12);
        assert!((s.pnl_frac - (-0.01)).abs() < 1e-12);
        assert!((s.unrealized_on_margin - (-30.0 / 300.0)).abs() < 1e-12);
        assert!((s.margin_ratio - 0.004 * 2970.0 / 270.0).abs() < 1e-12);
        assert!((s.drawdown_frac - 0.03).abs() < 1e-12);
        assert!((s.account_pnl_frac - (-0.03)).abs() < 1e-12);
        assert_eq!(s.recent_win_rate, 0.5);
    }

    #[test]
    fn closed_trades_feed_losses_in_a_row_and_the_win_rate() {
        let mut t = PositionTracker::new();
        let mut eq = 1000.0;
        let mut ts = 0;
        for (i, win) in [true, false, false].into_iter().enumerate() {
            ts += 1;
            t.update(&view(Some(Side::Short), 1.0, 100.0, ts, 0, eq), 100.0, 1.0);
            eq += if win { 10.0 } else { -10.0 };
            let s = t.update(&view(None, 0.0, 0.0, 0, 0, eq), 100.0, 1.0);
            assert_eq!(t.closed_trades(), i as u64 + 1);
            assert_eq!(s.side, 0.0);
            assert_eq!(s.margin_ratio, 0.0);
        }
        let s = t.update(&view(None, 0.0, 0.0, 0, 0, eq), 100.0, 1.0);
        assert_eq!(s.consecutive_losses, 2);
        assert!((s.recent_win_rate - 1.0 / 3.0).abs() < 1e-12);
        // a flip (new entry time) closes the old trade too
        t.update(&view(Some(Side::Long), 1.0, 100.0, 50, 0, eq), 100.0, 1.0);
        let s = t.update(
            &view(Some(Side::Short), 1.0, 100.0, 51, 0, eq + 5.0),
            100.0,
            1.0,
        );
        assert_eq!(t.closed_trades(), 4);
        assert_eq!(s.consecutive_losses, 0);
    }
}
