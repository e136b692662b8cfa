//! Yahoo Finance: daily and intraday bars from the v8 chart API ([`market`]).

pub mod market;

pub use market::{
    DEFAULT_BASE, Request, Rule, Span, canonical_interval, close_ms, fetch, local_date_ms, rule,
};
