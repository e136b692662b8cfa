//! Binance: spot and USD-M futures, market data and trading side by side.
//!
//! - [`market`]: public market data (klines, funding, open interest, long/short ratio).
//! - [`credentials`]: the key and a secret that never prints; HMAC-SHA256 signing.
//! - [`config`]: testnet by default, real endpoints only on request, URL overrides.
//! - [`budget`]: one request-weight budget per API, shared by every client of a process.
//! - [`rest`]: the signed REST client and its retry policy (what is resent, what is unknown).
//! - [`rules`]: `exchangeInfo` filters, applied before an order is sent.
//! - [`trade`]: orders that are never doubled, stops on the exchange, reconciliation.
//! - [`broker`]: [`BinanceBroker`], the engine's `Broker` on Binance.
//! - [`types`]: what the exchange reports (orders, algo orders, fills, balances, positions).

pub mod broker;
pub mod budget;
pub mod config;
pub mod credentials;
pub mod market;
pub mod rest;
pub mod rules;
pub mod trade;
pub mod types;

pub use broker::{BinanceBroker, BrokerConfig, StartCheck};
pub use budget::WeightBudget;
pub use config::{BaseUrls, Network};
pub use credentials::{Credentials, Secret};
pub use market::{
    DEFAULT_FUTURES_BASE, DEFAULT_SPOT_BASE, Market, Request, fetch, interval_ms, pair_symbol,
    server_time,
};
pub use rest::{Call, Effect, Rest, RestConfig, Security};
pub use rules::{Checked, Pricing, SymbolRules, parse_exchange_info};
pub use trade::{Ack, Cancelled, NewOrder, OrderKind, Reconciliation, Trader};
pub use types::{
    AlgoReport, Balance, FundingFee, OrderReport, OrderSide, OrderStatus, PositionRisk, TradeFill,
};
