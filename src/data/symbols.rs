//! Symbol → bar file: the on-disk cache first, then the bundled datasets.
//!
//! Cache layout (written by the fetchers): `DATA_DIR/bars/<source>/<name>_<interval>.parquet`
//! where `source` is `binance` for `BASE/QUOTE` pairs and `yahoo` otherwise, `name` is
//! [`sanitise_symbol`] of the symbol, and the default interval is `1h` for pairs and `1d`
//! otherwise. Bundled datasets live in `ALGOLAB_DATASETS`, else `./datasets` if it exists,
//! else the crate's own `datasets/` folder.

use std::path::{Path, PathBuf};

use super::DataError;

/// Where a resolved symbol's bars come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolSource {
    /// A file in the fetch cache under `DATA_DIR/bars/`.
    Cache,
    /// A dataset shipped with algolab.
    Bundled,
}

/// A symbol resolved to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The bar file to load.
    pub path: PathBuf,
    /// Where it came from.
    pub source: SymbolSource,
}

/// The bundled datasets: symbol (upper case) → file name.
const BUNDLED: [(&str, &str); 10] = [
    ("BTC/USDT", "BTCUSDT_1h.csv"),
    ("BTCUSDT", "BTCUSDT_1h.csv"),
    ("BTC-USD", "BTCUSD_1d.csv"),
    ("BTCUSD", "BTCUSD.csv"),
    ("GC=F", "GOLD_1d.csv"),
    ("GOLD", "GOLD_1d.csv"),
    ("SPY", "SPY_1d.csv"),
    ("TLT", "TLT_1d.csv"),
    ("GOOG", "GOOG.csv"),
    ("EURUSD", "EURUSD.csv"),
];

/// The symbols with a bundled dataset, as written in [`DataError::UnknownSymbol`].
pub fn known_symbols() -> Vec<&'static str> {
    BUNDLED.iter().map(|(s, _)| *s).collect()
}

/// `DATA_DIR` from the environment, default `./data`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from)
}

/// The bundled datasets folder: `ALGOLAB_DATASETS`, else `./datasets` if it exists, else
/// the crate's `datasets/`.
pub fn datasets_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ALGOLAB_DATASETS") {
        return PathBuf::from(d);
    }
    let local = PathBuf::from("datasets");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/datasets"))
}

/// A symbol as a file-name stem: upper case, `/` removed, `=` replaced by `_`
/// (`btc/usdt` → `BTCUSDT`, `GC=F` → `GC_F`). Other characters are kept (`BTC-USD`).
pub fn sanitise_symbol(symbol: &str) -> String {
    symbol
        .trim()
        .to_uppercase()
        .replace('/', "")
        .replace('=', "_")
}

/// The fetch source for a symbol: `binance` for `BASE/QUOTE` pairs, else `yahoo`.
pub fn default_source(symbol: &str) -> &'static str {
    if symbol.contains('/') {
        "binance"
    } else {
        "yahoo"
    }
}

/// The default bar interval for a symbol: `1h` for `BASE/QUOTE` pairs, else `1d`.
pub fn default_interval(symbol: &str) -> &'static str {
    if symbol.contains('/') { "1h" } else { "1d" }
}

/// The cache file for `symbol` from `source` at `interval`:
/// `data_dir/bars/<source>/<sanitised>_<interval>.parquet`.
pub fn cache_path(data_dir: &Path, source: &str, symbol: &str, interval: &str) -> PathBuf {
    data_dir
        .join("bars")
        .join(source)
        .join(format!("{}_{interval}.parquet", sanitise_symbol(symbol)))
}

/// Resolve a symbol (case-insensitive) to a bar file: the cache entry at its default source
/// and interval if present, else the bundled dataset.
///
/// # Errors
/// [`DataError::UnknownSymbol`] listing the known symbols when neither exists;
/// [`DataError::File`] when the symbol is known but its bundled file is missing.
pub fn resolve_symbol(symbol: &str, data_dir: &Path) -> Result<Resolved, DataError> {
    let cached = cache_path(
        data_dir,
        default_source(symbol),
        symbol,
        default_interval(symbol),
    );
    if cached.is_file() {
        return Ok(Resolved {
            path: cached,
            source: SymbolSource::Cache,
        });
    }
    let upper = symbol.trim().to_uppercase();
    let Some((_, file)) = BUNDLED.iter().find(|(s, _)| *s == upper) else {
        return Err(DataError::UnknownSymbol {
            symbol: symbol.to_string(),
            known: known_symbols().join(", "),
        });
    };
    let path = datasets_dir().join(file);
    if !path.is_file() {
        return Err(DataError::File {
            path: path.display().to_string(),
            cause: format!("bundled dataset for {upper} not found"),
        });
    }
    Ok(Resolved {
        path,
        source: SymbolSource::Bundled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_symbols_resolve_case_insensitively() {
        let d = tempfile::tempdir().unwrap();
        for (sym, file) in [
            ("BTC/USDT", "BTCUSDT_1h.csv"),
            ("btcusdt", "BTCUSDT_1h.csv"),
            ("BTC-USD", "BTCUSD_1d.csv"),
            ("BTCUSD", "BTCUSD.csv"),
            ("gc=f", "GOLD_1d.csv"),
            ("Gold", "GOLD_1d.csv"),
            ("SPY", "SPY_1d.csv"),
            ("tlt", "TLT_1d.csv"),
            ("GOOG", "GOOG.csv"),
            ("EURUSD", "EURUSD.csv"),
        ] {
            let r = resolve_symbol(sym, d.path()).unwrap();
            assert_eq!(r.source, SymbolSource::Bundled);
            assert!(r.path.ends_with(file), "{sym} → {}", r.path.display());
        }
    }

    #[test]
    fn cache_wins_over_bundled() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bars/binance/BTCUSDT_1h.parquet");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"x").unwrap();
        let r = resolve_symbol("btc/usdt", d.path()).unwrap();
        assert_eq!(
            r,
            Resolved {
                path: p,
                source: SymbolSource::Cache
            }
        );
        assert_eq!(
            cache_path(Path::new("D"), "yahoo", "GC=F", "1d"),
            Path::new("D/bars/yahoo/GC_F_1d.parquet")
        );
    }

    #[test]
    fn unknown_symbol_lists_the_known_ones() {
        let d = tempfile::tempdir().unwrap();
        let e = resolve_symbol("NOPE", d.path()).unwrap_err();
        assert!(matches!(e, DataError::UnknownSymbol { .. }));
        let s = e.to_string();
        assert!(
            s.contains("\"NOPE\"") && s.contains("GC=F") && s.contains("EURUSD"),
            "{s}"
        );
    }
}
