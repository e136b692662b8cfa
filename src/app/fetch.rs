//! `fetch`: download bars from Binance or Yahoo into the cache
//! (`DATA_DIR/bars/<source>/<SYMBOL>_<interval>.parquet`, docs/cache.md), appending only
//! bars not cached yet. [`plan`] checks a request and resolves each symbol's source and the
//! base URLs; [`fetch_one`] downloads one symbol. The caller owns the async runtime, the
//! wall clock ("now" comes in the request), Ctrl-C and progress display.

use std::sync::Arc;
use std::time::Duration;

use super::Ctx;
use crate::Error;
use crate::data::cache::{Progress, Source};
use crate::data::fmt_ts;
use crate::net::{HttpClient, HttpConfig};
use crate::venues::{Endpoints, FetchSpec, FetchSummary, VenueError, fetch_to_cache};

/// Where the user asked to fetch from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChoice {
    /// Yahoo Finance.
    Yahoo,
    /// Binance (spot; USD-M futures with `futures`).
    Binance,
}

/// One `fetch` request.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// Symbols, in order (BASE/QUOTE pairs or Yahoo symbols).
    pub symbols: Vec<String>,
    /// Bar interval (`1h`, `1d`, …).
    pub interval: String,
    /// First bar, UTC ms.
    pub start_ms: i64,
    /// End of the range, exclusive (default: `now_ms`).
    pub end_ms: Option<i64>,
    /// "Now", UTC ms: bars still open at this time are not stored.
    pub now_ms: i64,
    /// The source (default: Binance for BASE/QUOTE pairs, Yahoo otherwise).
    pub source: Option<SourceChoice>,
    /// Binance USD-M futures (with funding, open-interest and long/short columns).
    pub futures: bool,
    /// Yahoo: dividend-adjusted OHLC.
    pub adjusted: bool,
    /// One base URL for every source (overrides the context's endpoints).
    pub base_url: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// A checked request: one spec per symbol, the endpoints and HTTP settings to use.
#[derive(Debug, Clone)]
pub struct FetchPlan {
    /// What to fetch, one entry per symbol, in order.
    pub specs: Vec<FetchSpec>,
    /// Base URLs.
    pub endpoints: Endpoints,
    /// HTTP settings (the context's, with the request's timeout).
    pub http: HttpConfig,
    /// "Now", UTC ms.
    pub now_ms: i64,
    /// Where the cache lives (`DATA_DIR`), and the machine-wide Binance weight budget.
    pub data_dir: std::path::PathBuf,
    /// The budget's per-minute weight (`None`: Binance's).
    pub weight_limit: Option<u32>,
}

/// Check a request and resolve each symbol's source.
///
/// # Errors
/// [`Error::Usage`] (exit 2) for no symbol, a non-positive timeout, or `futures` with a
/// source or symbol that has none.
pub fn plan(ctx: &Ctx, req: &FetchRequest) -> Result<FetchPlan, Error> {
    if req.symbols.is_empty() {
        return Err(Error::Usage("give --symbol or --symbols".into()));
    }
    if req.timeout.is_zero() {
        return Err(Error::Usage(
            "--timeout must be a positive number of seconds".into(),
        ));
    }
    let mut specs = Vec::with_capacity(req.symbols.len());
    for symbol in &req.symbols {
        let source = match (req.source, req.futures) {
            (Some(SourceChoice::Yahoo), true) => {
                return Err(Error::Usage("--futures needs --source binance".into()));
            }
            (Some(SourceChoice::Binance), true) => Source::BinanceFutures,
            (None, true) if Source::infer(symbol) == Source::Binance => Source::BinanceFutures,
            (None, true) => {
                return Err(Error::Usage(format!(
                    "--futures needs a BASE/QUOTE pair or --source binance, got {symbol:?}"
                )));
            }
            (Some(SourceChoice::Binance), false) => Source::Binance,
            (Some(SourceChoice::Yahoo), false) => Source::Yahoo,
            (None, false) => Source::infer(symbol),
        };
        specs.push(FetchSpec {
            symbol: symbol.clone(),
            source,
            interval: req.interval.clone(),
            start_ms: req.start_ms,
            end_ms: req.end_ms,
            adjusted: req.adjusted,
        });
    }
    let mut endpoints = ctx.endpoints.clone();
    if let Some(b) = &req.base_url {
        endpoints.yahoo.clone_from(b);
        endpoints.binance.clone_from(b);
        endpoints.binance_futures.clone_from(b);
    }
    Ok(FetchPlan {
        specs,
        endpoints,
        http: HttpConfig {
            timeout: req.timeout,
            ..ctx.http.clone()
        },
        now_ms: req.now_ms,
        data_dir: ctx.data_dir.clone(),
        weight_limit: ctx.binance_weight_limit,
    })
}

/// The HTTP client of a plan (one per run, shared by its symbols).
///
/// # Errors
/// [`Error::Venue`] when the client cannot be built.
pub fn client(plan: &FetchPlan) -> Result<Arc<HttpClient>, Error> {
    Ok(Arc::new(
        HttpClient::new(plan.http.clone()).map_err(VenueError::from)?,
    ))
}

/// Download one symbol of the plan into the cache; `progress` sees how far it got.
///
/// # Errors
/// [`Error::Venue`]: 2 for an unknown symbol or bad arguments, 1 for failed downloads (the
/// cache keeps every completed write).
pub async fn fetch_one(
    http: &Arc<HttpClient>,
    plan: &FetchPlan,
    spec: &FetchSpec,
    progress: &mut dyn FnMut(Progress),
) -> Result<FetchSummary, Error> {
    Ok(fetch_to_cache(
        http,
        &plan.endpoints,
        &plan.data_dir,
        spec,
        plan.now_ms,
        plan.weight_limit,
        progress,
    )
    .await?)
}

/// One line per symbol: bars added, total, range, gaps, skipped rows, the largest gap.
pub fn summary_line(s: &FetchSummary) -> String {
    let range = s.range_ms.map_or("empty".to_string(), |(a, b)| {
        format!("{} .. {}", fmt_ts(a), fmt_ts(b))
    });
    let mut line = format!(
        "{} ({} {}): +{} bars, {} total, {}, {} gaps",
        s.symbol,
        s.source,
        s.interval,
        s.bars_added,
        s.bars_total,
        range,
        s.gaps.len()
    );
    if s.skipped > 0 {
        line.push_str(&format!(", {} rows skipped (null or invalid)", s.skipped));
    }
    if let Some((a, b)) = s.gaps.iter().max_by_key(|(a, b)| b - a) {
        line.push_str(&format!("; largest gap {} .. {}", fmt_ts(*a), fmt_ts(*b)));
    }
    line
}

/// The JSON object of one symbol's summary (`fetch --json` prints an array of them).
pub fn summary_json(s: &FetchSummary) -> serde_json::Value {
    serde_json::json!({
        "symbol": s.symbol,
        "source": s.source,
        "interval": s.interval,
        "path": s.path.display().to_string(),
        "bars_added": s.bars_added,
        "bars_total": s.bars_total,
        "start": s.range_ms.map(|r| fmt_ts(r.0)),
        "end": s.range_ms.map(|r| fmt_ts(r.1)),
        "skipped": s.skipped,
        "gaps": s.gaps.len(),
        "gap_ranges": s.gaps.iter().take(50).map(|(a, b)| [fmt_ts(*a), fmt_ts(*b)]).collect::<Vec<_>>(),
        "now": fmt_ts(s.now_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(symbols: &[&str]) -> FetchRequest {
        FetchRequest {
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            interval: "1h".into(),
            start_ms: 0,
            end_ms: None,
            now_ms: 1,
            source: None,
            futures: false,
            adjusted: false,
            base_url: None,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn sources_are_inferred_and_checked() {
        let ctx = Ctx::new("/tmp/x".into(), String::new);
        let p = plan(&ctx, &req(&["BTC/USDT", "AAPL"])).unwrap();
        assert_eq!(p.specs[0].source, Source::Binance);
        assert_eq!(p.specs[1].source, Source::Yahoo);
        let mut r = req(&["BTC/USDT"]);
        r.futures = true;
        assert_eq!(
            plan(&ctx, &r).unwrap().specs[0].source,
            Source::BinanceFutures
        );
        let mut r = req(&["AAPL"]);
        r.futures = true;
        assert!(matches!(plan(&ctx, &r), Err(Error::Usage(_))));
        r.source = Some(SourceChoice::Yahoo);
        assert!(matches!(plan(&ctx, &r), Err(Error::Usage(_))));
        assert!(matches!(plan(&ctx, &req(&[])), Err(Error::Usage(_))));
        let mut r = req(&["AAPL"]);
        r.base_url = Some("http://127.0.0.1:9".into());
        let p = plan(&ctx, &r).unwrap();
        assert_eq!(p.endpoints.yahoo, "http://127.0.0.1:9");
        assert_eq!(p.endpoints.binance_futures, "http://127.0.0.1:9");
    }
}
