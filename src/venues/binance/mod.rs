//! Binance: spot and USD-M futures. [`market`] holds the public market data (klines,
//! funding, open interest, long/short ratio).

pub mod market;

pub use market::{
    DEFAULT_FUTURES_BASE, DEFAULT_SPOT_BASE, Market, Request, fetch, interval_ms, pair_symbol,
    server_time,
};
