//! The simulated broker's open isolated position (its own file, so `sim` and `sim_book`
//! both use it without importing each other both ways).

use super::PositionInfo;
use crate::core::order::Side;
use crate::risk::{StopLevel, TpLeg};

/// The open isolated position.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pos {
    pub side: Side,
    pub qty: f64,
    pub entry_price: f64,
    pub entry_bar: usize,
    pub entry_ts_ms: i64,
    /// Isolated margin now (entry margin less funding paid).
    pub margin: f64,
    /// Entry commission not yet attributed to a closed part.
    pub entry_fees: f64,
    /// Funding paid and not yet attributed to a closed part.
    pub funding: f64,
    pub liq: Option<f64>,
    pub stop: Option<StopLevel>,
    pub take_profit: Option<f64>,
    pub legs: [Option<TpLeg>; 3],
    /// First bar on which protection is checked.
    pub active_from: usize,
    pub min_price: f64,
    pub max_price: f64,
    pub upnl: f64,
}

impl Pos {
    pub fn info(&self) -> PositionInfo {
        PositionInfo {
            side: self.side,
            qty: self.qty,
            entry_price: self.entry_price,
            entry_bar: self.entry_bar,
            entry_ts_ms: self.entry_ts_ms,
            margin: self.margin,
            unrealized_pnl: self.upnl,
            liquidation_price: self.liq,
            stop: self.stop,
            take_profit: self.take_profit,
        }
    }

    /// (MAE %, MFE %) including an exit at `price`.
    pub fn excursions(&self, price: f64) -> (f64, f64) {
        let lo = self.min_price.min(price);
        let hi = self.max_price.max(price);
        let e = self.entry_price;
        match self.side {
            Side::Long => ((lo / e - 1.0) * 100.0, (hi / e - 1.0) * 100.0),
            Side::Short => ((e - hi) / e * 100.0, (e - lo) / e * 100.0),
        }
    }
}
