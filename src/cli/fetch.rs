//! `algolab fetch`: download bars from Binance or Yahoo into the cache
//! (`DATA_DIR/bars/<source>/<SYMBOL>_<interval>.parquet`, docs/cache.md), appending only new
//! bars. Parsing, the wall clock, the tokio runtime, progress bars and printing live here;
//! the work is [`crate::venues::fetch_to_cache`].
//!
//! Environment: `DATA_DIR` (default `./data`), `ALGOLAB_BINANCE_URL`,
//! `ALGOLAB_BINANCE_FUTURES_URL`, `ALGOLAB_YAHOO_URL` (base URLs; `--base-url` wins),
//! `ALGOLAB_HTTP_BACKOFF_MS` (base retry delay, default 500), `ALGOLAB_HTTP_MAX_WAIT_MS`
//! (longest single wait, default 120000).

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Global, UsageError};
use crate::data::cache::{Progress, Source};
use crate::data::fmt_ts;
use crate::net::{HttpClient, HttpConfig};
use crate::venues::{Endpoints, FetchSpec, FetchSummary, VenueError, fetch_to_cache};

const EXAMPLES: &str = "Examples:
  algolab fetch --symbol BTC/USDT --interval 1h --start 2024-01-01
  algolab fetch --symbol BTC/USDT --interval 1h --start 2024-06-01 --futures
  algolab fetch --symbols AAPL,GC=F,BTC-USD --interval 1d --start 2015-01-01 --adjusted
  algolab fetch --symbol ETHUSDT --source binance --interval 15m --start 2024-05-01 --end 2024-05-08 --json";

/// The source named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceArg {
    /// Yahoo Finance (stocks, futures such as GC=F, indices, BTC-USD).
    Yahoo,
    /// Binance (spot; USD-M futures with --futures).
    Binance,
}

/// Download bars into the cache, appending only bars not cached yet.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct FetchArgs {
    /// The symbol: a BASE/QUOTE pair (Binance) or a Yahoo symbol (AAPL, GC=F, BTC-USD).
    #[arg(long)]
    pub symbol: Option<String>,
    /// Several symbols, comma-separated (added to --symbol).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Bar interval: Binance 1m..1M (1h, 4h, 1d, …); Yahoo 1m, 2m, 5m, 15m, 30m, 1h, 90m, 1d, 5d, 1wk, 1mo, 3mo.
    #[arg(long)]
    pub interval: String,
    /// First bar to fetch (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[Z], UTC).
    #[arg(long)]
    pub start: String,
    /// End of the range, exclusive (default: now).
    #[arg(long)]
    pub end: Option<String>,
    /// Where to fetch from (default: Binance for BASE/QUOTE pairs, Yahoo otherwise).
    #[arg(long, value_enum)]
    pub source: Option<SourceArg>,
    /// Binance USD-M futures, with funding_rate, open_interest and long_short_ratio columns.
    #[arg(long)]
    pub futures: bool,
    /// Yahoo: scale OHLC by adjclose/close (dividend-adjusted; splits are always applied).
    #[arg(long)]
    pub adjusted: bool,
    /// Base URL of the source's API (overrides ALGOLAB_*_URL).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Treat this UTC time as "now" (reproducible runs and tests).
    #[arg(long, hide = true)]
    pub now: Option<String>,
}

/// Parse `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` (UTC) or RFC 3339 into UTC ms.
///
/// # Errors
/// [`UsageError`] naming the flag and the value.
pub fn parse_time(flag: &str, s: &str) -> Result<i64, UsageError> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), f) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    Err(UsageError(format!(
        "--{flag} {s:?} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"
    )))
}

fn env_ms(name: &str) -> Result<Option<Duration>, UsageError> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map(|ms| Some(Duration::from_millis(ms)))
            .map_err(|_| UsageError(format!("{name}={v:?} is not a number of milliseconds"))),
        Err(_) => Ok(None),
    }
}

/// Run `algolab fetch`.
///
/// # Errors
/// Usage errors (exit 2), [`crate::venues::VenueError`] (2 for an unknown symbol or bad
/// arguments, 1 for failed downloads), or "interrupted" on Ctrl-C (the cache stays valid).
pub fn run(args: FetchArgs, g: Global) -> anyhow::Result<()> {
    let mut symbols: Vec<String> = args.symbol.iter().cloned().collect();
    symbols.extend(
        args.symbols
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    );
    if symbols.is_empty() {
        return Err(UsageError("give --symbol or --symbols".to_string()).into());
    }
    let start_ms = parse_time("start", &args.start)?;
    let end_ms = args
        .end
        .as_deref()
        .map(|e| parse_time("end", e))
        .transpose()?;
    #[allow(
        clippy::disallowed_methods,
        reason = "the CLI supplies the wall clock to the library"
    )]
    let wall_now = chrono::Utc::now().timestamp_millis();
    let now_ms = args
        .now
        .as_deref()
        .map(|n| parse_time("now", n))
        .transpose()?
        .unwrap_or(wall_now);
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(UsageError(format!(
            "--timeout {} must be a positive number of seconds",
            args.timeout
        ))
        .into());
    }
    let mut config = HttpConfig {
        timeout: Duration::from_secs_f64(args.timeout),
        ..HttpConfig::default()
    };
    if let Some(d) = env_ms("ALGOLAB_HTTP_BACKOFF_MS")? {
        config.backoff_base = d;
    }
    if let Some(d) = env_ms("ALGOLAB_HTTP_MAX_WAIT_MS")? {
        config.max_wait = d;
    }
    let mut specs = Vec::new();
    for symbol in &symbols {
        let source = match (args.source, args.futures) {
            (Some(SourceArg::Yahoo), true) => {
                return Err(UsageError("--futures needs --source binance".to_string()).into());
            }
            (Some(SourceArg::Binance), true) => Source::BinanceFutures,
            (None, true) if Source::infer(symbol) == Source::Binance => Source::BinanceFutures,
            (None, true) => {
                return Err(UsageError(format!(
                    "--futures needs a BASE/QUOTE pair or --source binance, got {symbol:?}"
                ))
                .into());
            }
            (Some(SourceArg::Binance), false) => Source::Binance,
            (Some(SourceArg::Yahoo), false) => Source::Yahoo,
            (None, false) => Source::infer(symbol),
        };
        specs.push(FetchSpec {
            symbol: symbol.clone(),
            source,
            interval: args.interval.clone(),
            start_ms,
            end_ms,
            adjusted: args.adjusted,
        });
    }
    let env_or = |name: &str, default: String| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or(default)
    };
    let defaults = Endpoints::default();
    let mut endpoints = Endpoints {
        yahoo: env_or("ALGOLAB_YAHOO_URL", defaults.yahoo),
        binance: env_or("ALGOLAB_BINANCE_URL", defaults.binance),
        binance_futures: env_or("ALGOLAB_BINANCE_FUTURES_URL", defaults.binance_futures),
    };
    if let Some(b) = &args.base_url {
        endpoints.yahoo.clone_from(b);
        endpoints.binance.clone_from(b);
        endpoints.binance_futures.clone_from(b);
    }
    let data_dir = crate::data::data_dir();
    let show_progress = !g.quiet && std::io::stderr().is_terminal();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summaries = rt.block_on(async {
        let http = HttpClient::new(config).map_err(VenueError::from)?;
        let work = async {
            let mut out = Vec::new();
            for spec in &specs {
                let bar = progress_bar(show_progress, &spec.symbol);
                let mut report = |p: Progress| {
                    let total = (p.end_ms - p.start_ms).max(1) as f64;
                    let done = ((p.reached_ms - p.start_ms) as f64 / total).clamp(0.0, 1.0);
                    bar.set_position((done * 1000.0) as u64);
                };
                let s = fetch_to_cache(&http, &endpoints, &data_dir, spec, now_ms, &mut report)
                    .await
                    .with_context(|| format!("fetching {} from {}", spec.symbol, spec.source.name()));
                bar.finish_and_clear();
                let s = s?;
                // the per-symbol summary is the result: stdout, or stderr beside --json
                super::common::result(g, &format!("{}\n", human(&s)));
                out.push(s);
            }
            anyhow::Ok(out)
        };
        tokio::select! {
            r = work => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted; the cache holds only completed writes")),
        }
    })?;
    if g.json {
        let v: Vec<serde_json::Value> = summaries.iter().map(json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&v).context("encoding json")?
        );
    }
    Ok(())
}

fn progress_bar(show: bool, symbol: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {percent:>3}% {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(symbol.to_string());
    bar
}

fn human(s: &FetchSummary) -> String {
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

fn json(s: &FetchSummary) -> serde_json::Value {
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

    #[test]
    fn dates_parse_as_utc() {
        assert_eq!(
            parse_time("start", "2024-01-01").unwrap(),
            1_704_067_200_000
        );
        assert_eq!(
            parse_time("start", "2024-01-01T01:00:00Z").unwrap(),
            1_704_070_800_000
        );
        assert_eq!(
            parse_time("start", "2024-01-01T01:00").unwrap(),
            1_704_070_800_000
        );
        let e = parse_time("end", "yesterday").unwrap_err();
        assert!(e.to_string().contains("--end \"yesterday\""), "{e}");
    }
}
