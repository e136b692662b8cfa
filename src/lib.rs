//! algolab: algorithmic-trading research and trading in one crate.
//!
//! The modules follow the data's path (docs/DESIGN.md §1): `data` → `indicators` →
//! `features` → `signal`, `regime`, `ai` → `strategy` → `risk` → `broker` → `engine` →
//! `store` → `metrics` → `report`, `server`, `runner`, `notify` → `cli`. A module imports
//! only from modules to its left; `tests::module_edges` checks it.

pub mod ai;
pub mod app;
pub mod broker;
pub mod cli;
pub mod core;
pub mod data;
pub mod engine;
pub mod error;
pub mod features;
pub mod indicators;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod optimize;
pub mod persist;
pub mod regime;
pub mod report;
pub mod risk;
pub mod runner;
pub mod serve;
pub mod signal;
pub mod store;
pub mod strategy;
pub mod venues;

#[cfg(test)]
pub(crate) mod testutil;

pub use error::Error;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod module_edges;
