//! Loading bars for any command (`--symbol`, `--symbol` + `--interval`, `--data FILE`) and
//! choosing the risk rules by strategy: the shared first step of `backtest`, `evolve`,
//! `train-rl`, `paper` and the others. It sits below every use case in `app`, so they can
//! share it without importing each other.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::data::{self, Bars, SymbolSource};
use crate::risk::RiskConfig;

/// Where the bars come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSpec {
    /// A bar file (CSV of any supported flavour, or Parquet).
    File(PathBuf),
    /// A symbol: the fetch cache first, then the bundled datasets.
    Symbol(String),
    /// A symbol at a bar interval (`4h`, `1d`, …): the cache file of that interval, or a
    /// bundled dataset of that interval.
    SymbolAt(String, String),
}

/// Bars and where they came from.
#[derive(Debug, Clone)]
pub struct LoadedData {
    /// The bars.
    pub bars: Bars,
    /// The file read.
    pub path: PathBuf,
    /// The symbol, or the file's stem for `--data`.
    pub label: String,
    /// A one-line note for stderr (`using the bundled dataset …`).
    pub note: String,
}

/// Load bars for a [`DataSpec`].
///
/// # Errors
/// [`Error::Data`] for an unknown symbol or a bad file.
pub fn load_data(spec: &DataSpec, data_dir: &Path) -> Result<LoadedData, Error> {
    let (symbol, interval) = match spec {
        DataSpec::File(p) => return load_file(p, stem(p), "file"),
        DataSpec::Symbol(s) => (s, None),
        DataSpec::SymbolAt(s, iv) => (s, Some(iv.as_str())),
    };
    let r = data::resolve_symbol_interval(symbol, interval, data_dir)?;
    let origin = match r.source {
        SymbolSource::Cache => "fetched cache",
        SymbolSource::Bundled => "bundled dataset",
    };
    load_file(&r.path, symbol.clone(), origin)
}

fn load_file(path: &Path, label: String, origin: &str) -> Result<LoadedData, Error> {
    let bars = data::load(path)?;
    let note = format!(
        "using {origin} {} ({} bars, {} → {})",
        path.display(),
        bars.len(),
        bars.ts_ms()
            .first()
            .map_or_else(String::new, |&t| data::fmt_ts(t)),
        bars.ts_ms()
            .last()
            .map_or_else(String::new, |&t| data::fmt_ts(t)),
    );
    Ok(LoadedData {
        bars,
        path: path.to_path_buf(),
        label,
        note,
    })
}

fn stem(p: &Path) -> String {
    p.file_stem().map_or_else(
        || p.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Which risk rules a backtest applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RiskChoice {
    /// `standard` for strategies that size by confidence (`technical`), else `passthrough`.
    #[default]
    Auto,
    /// backtesting.py's semantics: all-cash sizing, no managed stops or caps.
    Passthrough,
    /// The seed's rules: confidence-scaled sizing, Kelly, 25 % cap, trailing and
    /// break-even stops, partial take-profit, daily loss limit.
    Standard,
}

impl RiskChoice {
    /// The risk configuration for `strategy`.
    pub fn config(self, strategy: &str) -> RiskConfig {
        match (self, strategy) {
            (RiskChoice::Standard, _) | (RiskChoice::Auto, "technical" | "ai" | "portfolio") => {
                RiskConfig::standard()
            }
            _ => RiskConfig::passthrough(),
        }
    }
}
