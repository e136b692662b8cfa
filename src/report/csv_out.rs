//! `equity.csv` (timestamp, equity, drawdown_pct, buy_hold) and `trades.csv` (one row per
//! exit fill, the fields of [`Trade`] with ISO times, and the number of the round trip the
//! fill belongs to, so partial exits group into the trades the statistics count), formatted in memory so the caller can
//! write them atomically.

use crate::core::order::Trade;
use crate::metrics::iso;

/// `timestamp,equity,drawdown_pct,buy_hold` per bar; non-finite values are empty cells.
///
/// # Errors
/// The CSV writer's error (only on an internal formatting failure).
pub fn equity_csv(
    ts_ms: &[i64],
    equity: &[f64],
    drawdown_pct: &[f64],
    buy_hold: &[f64],
) -> Result<Vec<u8>, csv::Error> {
    let cell = |v: f64| {
        if v.is_finite() {
            v.to_string()
        } else {
            String::new()
        }
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["timestamp", "equity", "drawdown_pct", "buy_hold"])?;
    for (i, &t) in ts_ms.iter().enumerate() {
        let at = |s: &[f64]| s.get(i).copied().unwrap_or(f64::NAN);
        w.write_record([
            iso(t),
            cell(at(equity)),
            cell(at(drawdown_pct)),
            cell(at(buy_hold)),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The trades table header.
pub const TRADE_HEADER: [&str; 17] = [
    "seq",
    "round_trip",
    "side",
    "qty",
    "entry_bar",
    "exit_bar",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "pnl",
    "return_pct",
    "fees",
    "mae_pct",
    "mfe_pct",
    "exit_reason",
    "duration_bars",
];

/// One row per trade, in order.
///
/// # Errors
/// The CSV writer's error (only on an internal formatting failure).
pub fn trades_csv(trades: &[Trade]) -> Result<Vec<u8>, csv::Error> {
    let cell = |v: f64| {
        if v.is_finite() {
            v.to_string()
        } else {
            String::new()
        }
    };
    let name = |v: serde_json::Result<serde_json::Value>| {
        v.ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(TRADE_HEADER)?;
    let round_trip = crate::metrics::trades::round_trip_ids(trades);
    for (i, t) in trades.iter().enumerate() {
        w.write_record([
            (i + 1).to_string(),
            round_trip[i].to_string(),
            name(serde_json::to_value(t.side)),
            cell(t.qty),
            t.entry_bar.to_string(),
            t.exit_bar.to_string(),
            iso(t.entry_ts_ms),
            iso(t.exit_ts_ms),
            cell(t.entry_price),
            cell(t.exit_price),
            cell(t.pnl),
            cell(t.return_pct),
            cell(t.fees),
            cell(t.mae_pct),
            cell(t.mfe_pct),
            name(serde_json::to_value(t.exit_reason)),
            t.exit_bar.saturating_sub(t.entry_bar).to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
