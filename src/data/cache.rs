//! The on-disk bar cache that `algolab fetch` fills: `DATA_DIR/bars/<source>/<SYMBOL>_<interval>.parquet`
//! (layout and columns: docs/cache.md).
//!
//! Invariants: a cache file always holds validated [`Bars`] (strictly increasing UTC ms,
//! finite OHLCV); it is only ever replaced whole, by writing a temp file in the same folder
//! and renaming it over the old one, so a crash, a Ctrl-C or a failed download leaves either
//! the old file or the new one, never a mix. Bars still open at fetch time are never stored.
//!
//! Files are named by [`cache_path`] (shared with [`crate::data::resolve_symbol`]) and read
//! and written with [`crate::data::read_parquet`] and [`crate::data::write_parquet`] (atomic).
//! [`fetch_to_cache`] is the one entry point of `algolab fetch`: read the cache, fetch the
//! missing ranges, merge, write once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use super::symbols::{Source, cache_path, symbol_file_name};

use super::http::HttpClient;
use super::{Bars, Columns, DataError, FetchError, binance, read_parquet, write_parquet, yahoo};

/// Merge freshly fetched bars into cached ones by timestamp. With `replace` false a
/// timestamp already cached keeps its cached values (only new bars are appended); with
/// `replace` true fetched bars win (used for dividend-adjusted series, which change
/// retroactively). Extra columns are the union of both sides, NaN where a side lacks one.
/// Returns the merged bars and how many timestamps were new.
///
/// # Errors
/// [`DataError::InvalidBar`] when a fetched bar breaks a [`Bars`] invariant.
pub fn merge(
    cached: Option<&Bars>,
    fetched: &Columns,
    replace: bool,
) -> Result<(Bars, usize), DataError> {
    // row = (ohlcv, extras by name)
    type Row = ([f64; 5], BTreeMap<String, f64>);
    let mut rows: BTreeMap<i64, Row> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    if let Some(c) = cached {
        names.extend(c.extras().keys().cloned());
        for (i, b) in c.iter().enumerate() {
            let ex = c.extras().iter().map(|(k, v)| (k.clone(), v[i])).collect();
            rows.insert(b.ts_ms, ([b.open, b.high, b.low, b.close, b.volume], ex));
        }
    }
    for k in fetched.extra.keys() {
        if !names.contains(k) {
            names.push(k.clone());
        }
    }
    let mut added = 0;
    for i in 0..fetched.len() {
        let ts = fetched.ts_ms[i];
        let ohlcv = [
            fetched.open[i],
            fetched.high[i],
            fetched.low[i],
            fetched.close[i],
            fetched.volume[i],
        ];
        let ex = fetched
            .extra
            .iter()
            .map(|(k, v)| (k.clone(), v.get(i).copied().unwrap_or(f64::NAN)))
            .collect();
        let exists = rows.contains_key(&ts);
        if !exists {
            added += 1;
        }
        if !exists || replace {
            rows.insert(ts, (ohlcv, ex));
        }
    }
    let mut cols = Columns::with_capacity(rows.len());
    for n in &names {
        cols.extra.insert(n.clone(), Vec::with_capacity(rows.len()));
    }
    for (ts, (v, ex)) in rows {
        cols.ts_ms.push(ts);
        cols.open.push(v[0]);
        cols.high.push(v[1]);
        cols.low.push(v[2]);
        cols.close.push(v[3]);
        cols.volume.push(v[4]);
        for (n, col) in cols.extra.iter_mut() {
            col.push(ex.get(n).copied().unwrap_or(f64::NAN));
        }
    }
    Ok((Bars::new(cols)?, added))
}

/// Bars fetched from a source, before they are merged into the cache: sorted, unique
/// timestamps, finished bars only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    /// The bars (and extra columns).
    pub cols: Columns,
    /// Rows the source sent that were skipped: null fields, or values that break a
    /// [`Bars`] invariant.
    pub skipped: usize,
    /// The time the fetch treated as "now" (server time where the source has it), UTC ms.
    pub now_ms: i64,
}

/// Progress of one series' download, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Start of the range being fetched, UTC ms.
    pub start_ms: i64,
    /// End of the range (exclusive), UTC ms.
    pub end_ms: i64,
    /// The range is complete up to here, UTC ms.
    pub reached_ms: i64,
}

/// Gaps: consecutive bars further apart than `allowed_ms`, as `(last bar before, first bar
/// after)` open times.
pub fn find_gaps(ts_ms: &[i64], allowed_ms: i64) -> Vec<(i64, i64)> {
    ts_ms
        .windows(2)
        .filter(|w| w[1] - w[0] > allowed_ms)
        .map(|w| (w[0], w[1]))
        .collect()
}

/// Base URLs of the sources (configurable so tests can point them at a loopback server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Yahoo chart API host.
    pub yahoo: String,
    /// Binance spot API host.
    pub binance: String,
    /// Binance USD-M futures API host.
    pub binance_futures: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            yahoo: yahoo::DEFAULT_BASE.to_string(),
            binance: binance::DEFAULT_SPOT_BASE.to_string(),
            binance_futures: binance::DEFAULT_FUTURES_BASE.to_string(),
        }
    }
}

/// One series to bring up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchSpec {
    /// The symbol as the user wrote it.
    pub symbol: String,
    /// Where it comes from.
    pub source: Source,
    /// The bar interval in the source's spelling.
    pub interval: String,
    /// Range start, UTC ms.
    pub start_ms: i64,
    /// Range end (exclusive), UTC ms; `None` for "up to now".
    pub end_ms: Option<i64>,
    /// Yahoo only: dividend-adjusted OHLC (the cached series is then re-fetched whole).
    pub adjusted: bool,
}

/// What one [`fetch_to_cache`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchSummary {
    /// The symbol as the user wrote it.
    pub symbol: String,
    /// The source's folder name.
    pub source: &'static str,
    /// The interval as stored in the file name.
    pub interval: String,
    /// The cache file.
    pub path: PathBuf,
    /// Bars whose timestamp was not in the cache before.
    pub bars_added: usize,
    /// Bars in the cache now.
    pub bars_total: usize,
    /// First and last bar open times in the cache, UTC ms.
    pub range_ms: Option<(i64, i64)>,
    /// Rows the source sent that were skipped (null or invalid values).
    pub skipped: usize,
    /// Gaps in the cached series: (bar before, bar after) open times.
    pub gaps: Vec<(i64, i64)>,
    /// The time the fetch treated as now (server time for Binance), UTC ms.
    pub now_ms: i64,
}

/// Bring one cached series up to date: read the cache, fetch only the missing ranges (all
/// pages first), merge by timestamp, then write the file once, atomically. Bars still open
/// at `now_ms` (Binance: at the server time) are never stored. Nothing is written when
/// nothing was fetched.
///
/// # Errors
/// [`FetchError::BadArgs`] for an interval the source lacks, an empty range, `adjusted`
/// outside Yahoo or against a cache fetched the other way; the fetchers' errors; cache read
/// and write errors as [`FetchError::Cache`].
pub async fn fetch_to_cache(
    http: &HttpClient,
    endpoints: &Endpoints,
    data_dir: &Path,
    spec: &FetchSpec,
    now_ms: i64,
    progress: &mut dyn FnMut(Progress),
) -> Result<FetchSummary, FetchError> {
    let (interval, allowed_gap) = match spec.source {
        Source::Yahoo => {
            let r = yahoo::rule(&spec.interval)?;
            let span = match r.span {
                yahoo::Span::Ms(ms) => ms,
                yahoo::Span::Months(m) => i64::from(m) * 31 * DAY_MS,
            };
            let allowed = span.max(4 * DAY_MS);
            (
                yahoo::canonical_interval(&spec.interval).to_string(),
                allowed,
            )
        }
        Source::Binance | Source::BinanceFutures => {
            (spec.interval.clone(), binance::interval_ms(&spec.interval)?)
        }
    };
    if spec.adjusted && spec.source != Source::Yahoo {
        return Err(FetchError::BadArgs(
            "--adjusted applies to yahoo only".to_string(),
        ));
    }
    if let Some(end) = spec.end_ms
        && end <= spec.start_ms
    {
        return Err(FetchError::BadArgs(format!(
            "--end {} is not after --start {}",
            super::bars::fmt_ts(end),
            super::bars::fmt_ts(spec.start_ms)
        )));
    }
    let path = cache_path(data_dir, spec.source.name(), &spec.symbol, &interval);
    let cached = if path.exists() {
        Some(read_parquet(&path)?)
    } else {
        None
    };
    let cached_adjusted = cached.as_ref().map(|c| c.extra("adj_factor").is_some());
    if cached_adjusted.is_some_and(|a| a != spec.adjusted)
        && cached.as_ref().is_some_and(|c| !c.is_empty())
    {
        return Err(FetchError::BadArgs(format!(
            "{} holds {} bars; fetch {} --adjusted or delete the file",
            path.display(),
            if spec.adjusted {
                "unadjusted"
            } else {
                "adjusted"
            },
            if spec.adjusted { "without" } else { "with" },
        )));
    }
    let span = cached
        .as_ref()
        .and_then(|c| Some((*c.ts_ms().first()?, *c.ts_ms().last()?)));
    let mut ranges: Vec<(i64, Option<i64>)> = Vec::new();
    match span {
        Some((first, _)) if spec.adjusted => ranges.push((spec.start_ms.min(first), spec.end_ms)),
        Some((first, last)) => {
            if spec.start_ms < first {
                ranges.push((
                    spec.start_ms,
                    Some(spec.end_ms.map_or(first, |e| e.min(first))),
                ));
            }
            let from = spec.start_ms.max(last + 1);
            if spec.end_ms.is_none_or(|e| from < e) {
                ranges.push((from, spec.end_ms));
            }
        }
        None => ranges.push((spec.start_ms, spec.end_ms)),
    }
    let mut merged = cached;
    let mut added = 0;
    let mut skipped = 0;
    let mut seen_now = now_ms;
    let mut fetched_any = false;
    for (start, end) in ranges {
        let f = match spec.source {
            Source::Yahoo => {
                let req = yahoo::Request {
                    symbol: &spec.symbol,
                    interval: &spec.interval,
                    start_ms: start,
                    end_ms: end.unwrap_or(now_ms),
                    adjusted: spec.adjusted,
                };
                yahoo::fetch(http, &endpoints.yahoo, &req, now_ms, progress).await?
            }
            Source::Binance | Source::BinanceFutures => {
                let (market, base) = if spec.source == Source::Binance {
                    (binance::Market::Spot, &endpoints.binance)
                } else {
                    (binance::Market::UsdM, &endpoints.binance_futures)
                };
                let req = binance::Request {
                    symbol: &spec.symbol,
                    market,
                    interval: &spec.interval,
                    start_ms: start,
                    end_ms: end,
                };
                binance::fetch(http, base, &req, progress).await?
            }
        };
        seen_now = f.now_ms;
        skipped += f.skipped;
        if f.cols.is_empty() {
            continue;
        }
        fetched_any = true;
        let (m, n) = merge(merged.as_ref(), &f.cols, spec.adjusted)?;
        merged = Some(m);
        added += n;
    }
    if fetched_any && let Some(bars) = &merged {
        write_parquet(bars, &path)?;
    }
    let ts = merged.as_ref().map_or(&[][..], |b| b.ts_ms());
    Ok(FetchSummary {
        symbol: spec.symbol.clone(),
        source: spec.source.name(),
        interval,
        path,
        bars_added: added,
        bars_total: ts.len(),
        range_ms: ts.first().zip(ts.last()).map(|(a, b)| (*a, *b)),
        skipped,
        gaps: find_gaps(ts, allowed_gap),
        now_ms: seen_now,
    })
}

const DAY_MS: i64 = 86_400_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bar;

    fn bar(ts_ms: i64, c: f64) -> Bar {
        Bar {
            ts_ms,
            open: c,
            high: c + 1.0,
            low: c - 1.0,
            close: c,
            volume: 10.0,
        }
    }

    #[test]
    fn merge_appends_only_new_timestamps_and_keeps_cached_values() {
        let cached = Bars::from_bars([bar(0, 10.0), bar(60, 11.0)]).unwrap();
        let mut fetched = Columns::default();
        fetched.push(bar(60, 99.0));
        fetched.push(bar(120, 12.0));
        let (m, added) = merge(Some(&cached), &fetched, false).unwrap();
        assert_eq!(added, 1);
        assert_eq!(m.ts_ms(), &[0, 60, 120]);
        assert_eq!(m.close(), &[10.0, 11.0, 12.0]);
        let (r, added) = merge(Some(&cached), &fetched, true).unwrap();
        assert_eq!(added, 1);
        assert_eq!(r.close(), &[10.0, 99.0, 12.0]);
    }

    #[test]
    fn merge_fills_missing_extra_columns_with_nan() {
        let cached = Bars::from_bars([bar(0, 10.0)]).unwrap();
        let mut fetched = Columns::default();
        fetched.push(bar(60, 11.0));
        fetched.extra.insert("open_interest".into(), vec![5.0]);
        let (m, _) = merge(Some(&cached), &fetched, false).unwrap();
        let oi = m.extra("open_interest").unwrap();
        assert!(oi[0].is_nan());
        assert_eq!(oi[1], 5.0);
    }

    #[test]
    fn gaps_are_spacings_above_the_allowed() {
        assert_eq!(find_gaps(&[0, 60, 120, 300, 360], 60), vec![(120, 300)]);
        assert!(find_gaps(&[0], 60).is_empty());
    }
}
