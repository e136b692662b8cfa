//! Bar data: the validated columnar [`Bars`] type, its readers and writers, validation,
//! resampling and symbol resolution.
//!
//! Everything downstream takes `&Bars` and never re-checks it (STYLE rule 3: parse, don't
//! validate). This module imports nothing from the rest of the crate.

mod bars;
mod error;

pub use bars::{Bar, Bars, Columns};
pub use error::DataError;
pub mod binance;
pub mod cache;
mod http;
pub mod yahoo;

pub use http::{FetchError, HttpClient, HttpConfig};
