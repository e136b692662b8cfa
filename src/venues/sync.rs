//! Bring the on-disk bar cache (`crate::data::cache`, docs/cache.md) up to date from any
//! venue: read the cache, fetch only the missing ranges from Yahoo or Binance, merge by
//! timestamp, write the file once, atomically. [`fetch_to_cache`] is the one entry point of
//! `algolab fetch`.
//!
//! No wall clock and no environment here: the caller passes `now_ms`, the endpoints and the
//! HTTP settings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::data::cache::{Progress, Source, cache_path, find_gaps, merge};
use crate::data::{fmt_ts, read_parquet, write_parquet};
use crate::net::HttpClient;
use crate::venues::{VenueError, binance, yahoo};

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
/// nothing was fetched. Binance requests go through the machine-wide weight budget of
/// `data_dir` (`WeightBudget::machine`, of `weight_limit` per minute or Binance's), the one
/// the live bots' trading clients use.
///
/// # Errors
/// [`VenueError::BadArgs`] for an interval the source lacks, an empty range, `adjusted`
/// outside Yahoo or against a cache fetched the other way; the fetchers' errors; cache read
/// and write errors as [`VenueError::Cache`].
pub async fn fetch_to_cache(
    http: &Arc<HttpClient>,
    endpoints: &Endpoints,
    data_dir: &Path,
    spec: &FetchSpec,
    now_ms: i64,
    weight_limit: Option<u32>,
    progress: &mut dyn FnMut(Progress),
) -> Result<FetchSummary, VenueError> {
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
        return Err(VenueError::BadArgs(
            "--adjusted applies to yahoo only".to_string(),
        ));
    }
    if let Some(end) = spec.end_ms
        && end <= spec.start_ms
    {
        return Err(VenueError::BadArgs(format!(
            "--end {} is not after --start {}",
            fmt_ts(end),
            fmt_ts(spec.start_ms)
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
        return Err(VenueError::BadArgs(format!(
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
                // the machine-wide budget of DATA_DIR, shared with the live bots
                let budget = binance::WeightBudget::machine(market, data_dir, weight_limit);
                binance::fetch(http, base, &req, &budget, progress).await?
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
