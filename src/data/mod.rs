//! Bar data: the validated columnar [`Bars`] type, its readers and writers, validation,
//! resampling and symbol resolution.
//!
//! Everything downstream takes `&Bars` and never re-checks it (STYLE rule 3: parse, don't
//! validate). This module imports nothing from the rest of the crate.
//!
//! - [`load`] / [`save`]: any supported file ⇄ [`Bars`] (format by extension or content);
//!   [`read_csv`], [`write_csv`], [`read_parquet`], [`write_parquet`] for one format.
//! - [`check()`]: a lenient pass that reports every problem, the interval and the gaps.
//! - [`resample`], [`parse_interval`]: UTC-aligned OHLCV buckets.
//! - [`resolve_symbol`], [`resolve_symbol_interval`]: symbol → cached or bundled file;
//!   [`cache_path`]: the one function that names cache files (written by [`cache`]).
//! - [`synth`]: seeded random-walk bars.
//! - [`cache`]: the on-disk bar cache's pure parts (merge, gaps); the downloads that fill it
//!   live in [`crate::venues`] (this module does no HTTP).

mod bars;
mod check;
mod csv;
mod csv_write;
mod error;
mod file;
mod parquet;
#[cfg(feature = "polars")]
mod polars;
mod resample;
mod symbols;
mod synth;

#[cfg(test)]
mod property_tests;

pub(crate) use bars::check_bar;
pub use bars::{Bar, Bars, Columns, fmt_ts};
pub use check::{CheckReport, Gap, check};
pub use csv::{MAX_PROBLEMS, read_csv};
pub use csv_write::{CsvAppend, append_csv, write_csv};
pub use error::DataError;
pub use file::{FileKind, kind_of, load, save, write_atomic_io};
pub use parquet::{read_parquet, write_parquet};
pub use resample::{bucket_start, format_interval, parse_interval, resample};
pub use symbols::{
    BINANCE_QUOTES, Resolved, SymbolSource, cache_candidates, cache_path, canonical_yahoo_interval,
    data_dir, datasets_dir, default_interval, default_source, is_binance_symbol, known_symbols,
    resolve_symbol, resolve_symbol_interval, symbol_file_name,
};
pub use synth::{SynthSpec, lcg_walk, synth};

pub mod cache;
