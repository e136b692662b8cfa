//! Venues: one folder per exchange or data vendor, holding its market data and (for Binance)
//! its trading side by side, over the one HTTP layer [`crate::net`].
//!
//! - [`binance`]: spot and USD-M futures klines and extras.
//! - [`yahoo`]: Yahoo Finance chart bars.
//! - [`sync`]: bring the on-disk bar cache up to date from either ([`fetch_to_cache`]).
//!
//! Every function here returns [`VenueError`], which [`crate::Error`] includes. `venues` and
//! `engine` never import each other (STYLE rule 2); the wall clock stays with the caller.

pub mod binance;
mod error;
pub mod sync;
pub mod yahoo;

pub use error::VenueError;
pub use sync::{Endpoints, FetchSpec, FetchSummary, fetch_to_cache};
