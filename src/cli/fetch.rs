//! `algolab fetch`: download bars from Binance or Yahoo into the cache
//! (`DATA_DIR/bars/<source>/<SYMBOL>_<interval>.parquet`, docs/cache.md), appending only new
//! bars. Parsing, the wall clock, the tokio runtime, progress bars and printing live here;
//! the use case is [`crate::app::fetch`].
//!
//! Environment: `DATA_DIR` (default `./data`), `ALGOLAB_BINANCE_URL`,
//! `ALGOLAB_BINANCE_FUTURES_URL`, `ALGOLAB_YAHOO_URL` (base URLs; `--base-url` wins),
//! `ALGOLAB_HTTP_BACKOFF_MS` (base retry delay, default 500), `ALGOLAB_HTTP_MAX_WAIT_MS`
//! (longest single wait, default 120000), `ALGOLAB_BINANCE_WEIGHT_LIMIT` (the per-minute
//! weight of the machine-wide Binance budget in `DATA_DIR/binance_weight_*.txt`, shared
//! with the live bots).

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Global, UsageError};
use crate::app::Ctx;
use crate::app::fetch::{self, FetchRequest, SourceChoice};
use crate::data::cache::Progress;

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

/// Parse a `--start`/`--end`/`--now` value (any format of [`crate::core::time`]:
/// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]Z`, RFC 3339, epoch ms) into UTC ms.
///
/// # Errors
/// [`UsageError`] naming the flag and the value.
pub fn parse_time(flag: &str, s: &str) -> Result<i64, UsageError> {
    crate::core::time::parse_time(s).ok_or_else(|| {
        UsageError(format!(
            "--{flag} {:?} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)",
            s.trim()
        ))
    })
}

/// Run `algolab fetch`: parse, supply the wall clock, drive [`crate::app::fetch`] on a
/// current-thread runtime with a progress bar per symbol, stop cleanly on Ctrl-C, print.
///
/// # Errors
/// Usage errors (exit 2), [`crate::venues::VenueError`] (2 for an unknown symbol or bad
/// arguments, 1 for failed downloads), or "interrupted" on Ctrl-C (the cache stays valid).
pub fn run(args: FetchArgs, ctx: &Ctx, g: Global) -> anyhow::Result<()> {
    let mut symbols: Vec<String> = args.symbol.iter().cloned().collect();
    symbols.extend(
        args.symbols
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    );
    #[allow(
        clippy::disallowed_methods,
        reason = "the CLI supplies the wall clock to the library"
    )]
    let wall_now = chrono::Utc::now().timestamp_millis();
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(UsageError(format!(
            "--timeout {} must be a positive number of seconds",
            args.timeout
        ))
        .into());
    }
    let req = FetchRequest {
        symbols,
        interval: args.interval.clone(),
        start_ms: parse_time("start", &args.start)?,
        end_ms: args
            .end
            .as_deref()
            .map(|e| parse_time("end", e))
            .transpose()?,
        now_ms: args
            .now
            .as_deref()
            .map(|n| parse_time("now", n))
            .transpose()?
            .unwrap_or(wall_now),
        source: args.source.map(|s| match s {
            SourceArg::Yahoo => SourceChoice::Yahoo,
            SourceArg::Binance => SourceChoice::Binance,
        }),
        futures: args.futures,
        adjusted: args.adjusted,
        base_url: args.base_url.clone(),
        timeout: Duration::from_secs_f64(args.timeout),
    };
    let plan = fetch::plan(ctx, &req)?;
    let show_progress = !g.quiet && std::io::stderr().is_terminal();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summaries = rt.block_on(async {
        let http = fetch::client(&plan)?;
        let work = async {
            let mut out = Vec::new();
            for spec in &plan.specs {
                let bar = progress_bar(show_progress, &spec.symbol);
                let mut report = |p: Progress| {
                    let total = (p.end_ms - p.start_ms).max(1) as f64;
                    let done = ((p.reached_ms - p.start_ms) as f64 / total).clamp(0.0, 1.0);
                    bar.set_position((done * 1000.0) as u64);
                };
                let s = fetch::fetch_one(&http, &plan, spec, &mut report)
                    .await
                    .with_context(|| format!("fetching {} from {}", spec.symbol, spec.source.name()));
                bar.finish_and_clear();
                let s = s?;
                // the per-symbol summary is the result: stdout, or stderr beside --json
                super::common::result(g, &format!("{}\n", fetch::summary_line(&s)));
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
        let v: Vec<serde_json::Value> = summaries.iter().map(fetch::summary_json).collect();
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
