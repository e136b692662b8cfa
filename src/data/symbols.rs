//! Symbol → bar file: the on-disk cache first, then the bundled datasets; and the one
//! function that names cache files, [`cache_path`], which `algolab fetch` writes with.
//!
//! Cache layout (docs/cache.md): `DATA_DIR/bars/<source>/<SYMBOLFILE>_<interval>.parquet`,
//! `source` one of [`Source`]'s folders, `SYMBOLFILE` = [`symbol_file_name`]. Lookup
//! ([`cache_candidates`]): `BASE/QUOTE` pairs in `binance` (default interval `1h`); a pair
//! or a bare Binance symbol with `:PERP` or `:USDT` appended (`BTC/USDT:PERP`, CCXT's
//! `BTC/USDT:USDT`) in `binance-futures` (`1h`); a bare symbol that looks like a Binance pair
//! (letters and digits ending in a quote of [`BINANCE_QUOTES`], `BTCUSDT`) in `binance` (`1h`)
//! and then `yahoo` (`1d`); anything else in `yahoo` (`1d`). Bundled datasets live in
//! `ALGOLAB_DATASETS`, else `./datasets` if it exists, else the crate's own `datasets/`.

use std::path::{Path, PathBuf};

use super::{DataError, parse_interval};

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

/// Where a fetched series comes from; also its folder under `DATA_DIR/bars/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Yahoo Finance chart API (folder `yahoo`).
    Yahoo,
    /// Binance spot (folder `binance`).
    Binance,
    /// Binance USD-M futures (folder `binance-futures`, so perpetual prices never mix with
    /// spot prices in one file).
    BinanceFutures,
}

impl Source {
    /// The folder name (and the `source` in summaries).
    pub fn name(self) -> &'static str {
        match self {
            Source::Yahoo => "yahoo",
            Source::Binance => "binance",
            Source::BinanceFutures => "binance-futures",
        }
    }

    /// The default fetch source of a symbol: a `BASE/QUOTE` pair is Binance, anything else
    /// Yahoo.
    pub fn infer(symbol: &str) -> Source {
        if symbol.contains('/') {
            Source::Binance
        } else {
            Source::Yahoo
        }
    }

    /// The interval looked up when none is asked for: `1h` on Binance, `1d` on Yahoo.
    pub fn default_interval(self) -> &'static str {
        match self {
            Source::Yahoo => "1d",
            Source::Binance | Source::BinanceFutures => "1h",
        }
    }
}

/// Binance quote assets: a bare symbol of letters and digits that ends in one of these after
/// a non-empty base (`BTCUSDT`, `ETHBTC`) is looked up like the pair form (`BTC/USDT`).
pub const BINANCE_QUOTES: [&str; 6] = ["USDT", "BUSD", "USDC", "FDUSD", "BTC", "ETH"];

/// Suffixes that mark a USD-M perpetual (`BTC/USDT:PERP`, CCXT's `BTC/USDT:USDT`).
const FUTURES_SUFFIXES: [&str; 2] = [":PERP", ":USDT"];

/// The bundled datasets: symbol (upper case) → file name and bar interval.
const BUNDLED: [(&str, &str, &str); 10] = [
    ("BTC/USDT", "BTCUSDT_1h.csv", "1h"),
    ("BTCUSDT", "BTCUSDT_1h.csv", "1h"),
    ("BTC-USD", "BTCUSD_1d.csv", "1d"),
    ("BTCUSD", "BTCUSD.csv", "1M"),
    ("GC=F", "GOLD_1d.csv", "1d"),
    ("GOLD", "GOLD_1d.csv", "1d"),
    ("SPY", "SPY_1d.csv", "1d"),
    ("TLT", "TLT_1d.csv", "1d"),
    ("GOOG", "GOOG.csv", "1d"),
    ("EURUSD", "EURUSD.csv", "1h"),
];

/// The symbols with a bundled dataset, as written in [`DataError::UnknownSymbol`].
pub fn known_symbols() -> Vec<&'static str> {
    BUNDLED.iter().map(|(s, _, _)| *s).collect()
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

/// Every character outside `[A-Za-z0-9._=-]` replaced by `_`.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '=' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The file-name form of a symbol: trimmed, ASCII upper case, `/` dropped (`btc/usdt` →
/// `BTCUSDT`), then every character outside `[A-Za-z0-9._=-]` replaced by `_` (`GC=F` →
/// `GC=F`, `BTC-USD` → `BTC-USD`, `^GSPC` → `_GSPC`).
pub fn symbol_file_name(symbol: &str) -> String {
    file_safe(&symbol.trim().to_ascii_uppercase().replace('/', ""))
}

/// The cache file of one series: `data_dir/bars/<source>/<SYMBOLFILE>_<interval>.parquet`,
/// where `source` is a [`Source::name`] and `SYMBOLFILE` is [`symbol_file_name`]. The
/// interval keeps its case (`1m` is a minute, `1M` a month) and is made file-safe the same
/// way. The one place that names cache files: `algolab fetch` writes here and
/// [`resolve_symbol`] reads here.
pub fn cache_path(data_dir: &Path, source: &str, symbol: &str, interval: &str) -> PathBuf {
    data_dir.join("bars").join(source).join(format!(
        "{}_{}.parquet",
        symbol_file_name(symbol),
        file_safe(interval.trim())
    ))
}

/// A Yahoo interval's name in cache file names: `60m` is stored as `1h`, others as given.
pub fn canonical_yahoo_interval(interval: &str) -> &str {
    if interval == "60m" { "1h" } else { interval }
}

/// The fetch source for a symbol: `binance` for `BASE/QUOTE` pairs, else `yahoo`.
pub fn default_source(symbol: &str) -> &'static str {
    Source::infer(symbol).name()
}

/// The default bar interval for a symbol: `1h` for `BASE/QUOTE` pairs, else `1d`.
pub fn default_interval(symbol: &str) -> &'static str {
    Source::infer(symbol).default_interval()
}

/// True for a bare symbol that reads as a Binance pair: ASCII letters and digits only, ending
/// in one of [`BINANCE_QUOTES`] after a non-empty base (`BTCUSDT`, `ethbtc`; not `BTC-USD`,
/// `GC=F` or `USDT`).
pub fn is_binance_symbol(symbol: &str) -> bool {
    let s = symbol.trim().to_ascii_uppercase();
    s.chars().all(|c| c.is_ascii_alphanumeric())
        && BINANCE_QUOTES
            .iter()
            .any(|q| s.len() > q.len() && s.ends_with(q))
}

/// The part before a `:PERP`/`:USDT` suffix (case-insensitive), if the symbol has one.
fn futures_base(symbol: &str) -> Option<&str> {
    let s = symbol.trim();
    FUTURES_SUFFIXES.iter().find_map(|suffix| {
        let cut = s.len().checked_sub(suffix.len())?;
        let tail = s.get(cut..)?;
        if tail.eq_ignore_ascii_case(suffix) {
            s.get(..cut)
        } else {
            None
        }
    })
}

/// The cache files [`resolve_symbol_interval`] looks for, in order (see the module doc), at
/// `interval` or each source's default (`1h` Binance, `1d` Yahoo; Yahoo's `60m` is stored as
/// `1h`).
pub fn cache_candidates(symbol: &str, interval: Option<&str>, data_dir: &Path) -> Vec<PathBuf> {
    let at = |source: Source, sym: &str| {
        let iv = match (interval, source) {
            (Some(i), Source::Yahoo) => canonical_yahoo_interval(i.trim()),
            (Some(i), _) => i,
            (None, s) => s.default_interval(),
        };
        cache_path(data_dir, source.name(), sym, iv)
    };
    if let Some(base) = futures_base(symbol) {
        return vec![at(Source::BinanceFutures, base)];
    }
    if symbol.contains('/') {
        vec![at(Source::Binance, symbol)]
    } else if is_binance_symbol(symbol) {
        vec![at(Source::Binance, symbol), at(Source::Yahoo, symbol)]
    } else {
        vec![at(Source::Yahoo, symbol)]
    }
}

/// Resolve a symbol (case-insensitive) to a bar file at its default interval: the cache entry
/// if present, else the bundled dataset. Same as [`resolve_symbol_interval`] with `None`.
///
/// # Errors
/// As [`resolve_symbol_interval`].
pub fn resolve_symbol(symbol: &str, data_dir: &Path) -> Result<Resolved, DataError> {
    resolve_symbol_interval(symbol, None, data_dir)
}

/// Resolve a symbol (case-insensitive) to a bar file: the first of [`cache_candidates`] that
/// exists, else the bundled dataset. With an `interval`, the cache is searched at that
/// interval and the bundled dataset only serves if its bars have that interval. A futures
/// symbol (`BTC/USDT:PERP`) has no bundled fallback.
///
/// # Errors
/// [`DataError::UnknownSymbol`] listing the known symbols when neither exists;
/// [`DataError::File`] naming the cache file to fetch when the symbol is bundled but at
/// another interval, or is a futures symbol without a cache; [`DataError::File`] when the
/// bundled file is missing.
pub fn resolve_symbol_interval(
    symbol: &str,
    interval: Option<&str>,
    data_dir: &Path,
) -> Result<Resolved, DataError> {
    let candidates = cache_candidates(symbol, interval, data_dir);
    if let Some(path) = candidates.iter().find(|p| p.is_file()) {
        return Ok(Resolved {
            path: path.clone(),
            source: SymbolSource::Cache,
        });
    }
    let first = candidates
        .first()
        .map_or_else(String::new, |p| p.display().to_string());
    let missing = |cause: String| DataError::File {
        path: first.clone(),
        cause,
    };
    if let Some(base) = futures_base(symbol) {
        return Err(missing(format!(
            "no cached futures bars for {symbol}; fetch them with \
             `algolab fetch --symbol {base} --futures`"
        )));
    }
    let upper = symbol.trim().to_uppercase();
    let Some((_, file, bundled_iv)) = BUNDLED.iter().find(|(s, _, _)| *s == upper) else {
        return Err(DataError::UnknownSymbol {
            symbol: symbol.to_string(),
            known: known_symbols().join(", "),
        });
    };
    if let Some(iv) = interval
        && !same_interval(iv, bundled_iv)
    {
        return Err(missing(format!(
            "no cached {iv} bars for {symbol} (the bundled dataset is {bundled_iv}); \
             fetch them with `algolab fetch --symbol {symbol} --interval {iv}`"
        )));
    }
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

/// Two interval spellings of the same length (`60m` = `1h`), or the same text.
fn same_interval(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a == b || matches!((parse_interval(a), parse_interval(b)), (Ok(x), Ok(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty file at `dir/rel` (resolution only checks that the file exists).
    fn touch(dir: &Path, rel: &str) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"x").unwrap();
        p
    }

    fn cached(path: PathBuf) -> Resolved {
        Resolved {
            path,
            source: SymbolSource::Cache,
        }
    }

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
        let p = touch(d.path(), "bars/binance/BTCUSDT_1h.parquet");
        assert_eq!(resolve_symbol("btc/usdt", d.path()).unwrap(), cached(p));
        let g = touch(d.path(), "bars/yahoo/GC=F_1d.parquet");
        assert_eq!(resolve_symbol("gc=f", d.path()).unwrap(), cached(g));
    }

    #[test]
    fn file_names_are_upper_case_and_file_safe() {
        for (sym, name) in [
            ("BTC/USDT", "BTCUSDT"),
            (" btc/usdt ", "BTCUSDT"),
            ("GC=F", "GC=F"),
            ("BTC-USD", "BTC-USD"),
            ("^GSPC", "_GSPC"),
            ("a b:c", "A_B_C"),
            ("brk.b", "BRK.B"),
        ] {
            assert_eq!(symbol_file_name(sym), name, "{sym}");
        }
        assert_eq!(
            cache_path(Path::new("D"), "yahoo", "GC=F", "1d"),
            Path::new("D/bars/yahoo/GC=F_1d.parquet")
        );
        // the interval keeps its case: 1M is a month, 1m a minute
        assert_eq!(
            cache_path(Path::new("D"), "binance", "eth/btc", "1M"),
            Path::new("D/bars/binance/ETHBTC_1M.parquet")
        );
    }

    #[test]
    fn bare_binance_symbols_are_recognised_by_their_quote() {
        for s in [
            "BTCUSDT", "ethbtc", "BNBFDUSD", "SOLUSDC", "ETHBUSD", "BTCETH",
        ] {
            assert!(is_binance_symbol(s), "{s}");
        }
        for s in [
            "BTC-USD", "GC=F", "USDT", "BTC", "AAPL", "BTCUSD", "EURUSD", "BTC/USDT", "^GSPC",
        ] {
            assert!(!is_binance_symbol(s), "{s}");
        }
    }

    #[test]
    fn candidates_follow_the_fetch_layout() {
        let d = Path::new("D");
        let p = |s: &str| PathBuf::from(format!("D/bars/{s}.parquet"));
        assert_eq!(
            cache_candidates("BTC/USDT", None, d),
            [p("binance/BTCUSDT_1h")]
        );
        assert_eq!(
            cache_candidates("btcusdt", None, d),
            [p("binance/BTCUSDT_1h"), p("yahoo/BTCUSDT_1d")]
        );
        assert_eq!(cache_candidates("AAPL", None, d), [p("yahoo/AAPL_1d")]);
        assert_eq!(
            cache_candidates("AAPL", Some("60m"), d),
            [p("yahoo/AAPL_1h")]
        );
        assert_eq!(
            cache_candidates("BTC/USDT", Some("4h"), d),
            [p("binance/BTCUSDT_4h")]
        );
        for s in [
            "BTC/USDT:PERP",
            "btc/usdt:usdt",
            "BTCUSDT:PERP",
            "BTC/USDT:USDT",
        ] {
            assert_eq!(
                cache_candidates(s, None, d),
                [p("binance-futures/BTCUSDT_1h")],
                "{s}"
            );
        }
        assert_eq!(
            cache_candidates("ETH/USDT:PERP", Some("15m"), d),
            [p("binance-futures/ETHUSDT_15m")]
        );
    }

    #[test]
    fn bare_pair_symbol_finds_the_spot_cache_then_yahoo() {
        let d = tempfile::tempdir().unwrap();
        let y = touch(d.path(), "bars/yahoo/ETHBTC_1d.parquet");
        assert_eq!(resolve_symbol("ETHBTC", d.path()).unwrap(), cached(y));
        let b = touch(d.path(), "bars/binance/ETHBTC_1h.parquet");
        assert_eq!(
            resolve_symbol("ethbtc", d.path()).unwrap(),
            cached(b.clone())
        );
        assert_eq!(resolve_symbol("ETH/BTC", d.path()).unwrap(), cached(b));
        // BTCUSDT is bundled too, but a spot cache of it wins
        let c = touch(d.path(), "bars/binance/BTCUSDT_1h.parquet");
        assert_eq!(resolve_symbol("BTCUSDT", d.path()).unwrap(), cached(c));
    }

    #[test]
    fn futures_symbols_look_in_binance_futures_only() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "bars/binance/BTCUSDT_1h.parquet");
        let e = resolve_symbol("BTC/USDT:PERP", d.path()).unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, DataError::File { .. }), "{s}");
        assert!(
            s.contains("binance-futures/BTCUSDT_1h.parquet") && s.contains("--futures"),
            "{s}"
        );
        let f = touch(d.path(), "bars/binance-futures/BTCUSDT_1h.parquet");
        for sym in ["BTC/USDT:PERP", "BTC/USDT:USDT", "btcusdt:perp"] {
            assert_eq!(
                resolve_symbol(sym, d.path()).unwrap(),
                cached(f.clone()),
                "{sym}"
            );
        }
    }

    #[test]
    fn an_asked_interval_finds_that_cache_file() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "bars/binance/BTCUSDT_1h.parquet");
        let h4 = touch(d.path(), "bars/binance/BTCUSDT_4h.parquet");
        let r = resolve_symbol_interval("BTC/USDT", Some("4h"), d.path()).unwrap();
        assert_eq!(r, cached(h4.clone()));
        let r = resolve_symbol_interval("BTCUSDT", Some("4h"), d.path()).unwrap();
        assert_eq!(r, cached(h4));
        let aapl = touch(d.path(), "bars/yahoo/AAPL_1h.parquet");
        let r = resolve_symbol_interval("aapl", Some("60m"), d.path()).unwrap();
        assert_eq!(r, cached(aapl));
    }

    #[test]
    fn bundled_data_serves_an_asked_interval_only_if_it_matches() {
        let d = tempfile::tempdir().unwrap();
        for (sym, iv) in [("BTC/USDT", "1h"), ("BTC/USDT", "60m"), ("SPY", "1d")] {
            let r = resolve_symbol_interval(sym, Some(iv), d.path()).unwrap();
            assert_eq!(r.source, SymbolSource::Bundled, "{sym} {iv}");
        }
        let e = resolve_symbol_interval("BTC/USDT", Some("4h"), d.path()).unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, DataError::File { .. }), "{s}");
        assert!(
            s.contains("binance/BTCUSDT_4h.parquet") && s.contains("bundled dataset is 1h"),
            "{s}"
        );
        let e = resolve_symbol_interval("NOPE", Some("1d"), d.path()).unwrap_err();
        assert!(matches!(e, DataError::UnknownSymbol { .. }), "{e}");
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

    #[test]
    fn defaults_follow_the_pair_form() {
        assert_eq!(default_source("BTC/USDT"), "binance");
        assert_eq!(default_source("BTCUSDT"), "yahoo");
        assert_eq!(default_interval("BTC/USDT"), "1h");
        assert_eq!(default_interval("AAPL"), "1d");
    }
}
