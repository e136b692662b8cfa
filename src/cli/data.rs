//! `algolab data …`: check, convert and synthesise bar files. Parsing and printing only;
//! the work is in [`crate::data`].

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::Global;
use super::common::result;
use crate::app::Ctx;
use crate::app::data as app;
use crate::data::{self, DataError, SynthSpec, fmt_ts, format_interval};

/// Bar files: check, convert, synthesise.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DataCommand,
}

const EXAMPLES: &str = "Examples:
  algolab data check datasets/GOOG.csv
  algolab data check --json prices.parquet
  algolab data convert datasets/BTCUSDT_1h.csv btc_4h.parquet --resample 4h
  algolab data synth --bars 1000000 --seed 42 --interval 1m walk.csv";

/// The `data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Validate a bar file and report every problem, the time range, the bar interval and
    /// the gaps. Exits 2 if there is any problem (gaps alone are not problems).
    #[command(after_help = "Examples:
  algolab data check datasets/EURUSD.csv
  algolab data check --json binance_klines.csv > report.json

Reads our CSV (timestamp,open,high,low,close,volume[,extras]), yfinance exports (three
header lines), Binance kline CSVs (with or without header, ms or µs times) and Parquet.
Daily series without weekend bars are treated as trading days (only gaps over 4 days are
reported); gaps over a weekend are labelled \"weekend\".")]
    Check {
        /// The file to check (.csv or .parquet).
        file: PathBuf,
    },
    /// Convert a bar file to CSV or Parquet (by OUT's extension), optionally resampling.
    #[command(after_help = "Examples:
  algolab data convert binance_klines.csv btc_1m.parquet
  algolab data convert datasets/BTCUSDT_1h.csv btc_1d.csv --resample 1d

Resampling buckets are aligned to UTC (1d at 00:00 UTC, 1w on Monday): first open, highest
high, lowest low, last close, summed volume; extra columns keep their last non-NaN value.
The output is written atomically (temp file, then rename).")]
    Convert {
        /// Input bar file (any supported format).
        input: PathBuf,
        /// Output file: .csv or .parquet.
        output: PathBuf,
        /// Resample to this interval first: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w.
        #[arg(long, value_name = "INTERVAL")]
        resample: Option<String>,
    },
    /// Write synthetic bars from a seeded random walk (same seed, same bars).
    #[command(after_help = "Examples:
  algolab data synth --bars 10000000 --seed 1 big.csv
  algolab data synth --bars 5000 --seed 7 --interval 1h --start 2024-01-01 walk.parquet

Prices are whole cents starting at 100; log returns have standard deviation --vol per bar.")]
    Synth {
        /// Number of bars.
        #[arg(long, default_value_t = 1000)]
        bars: usize,
        /// RNG seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Bar interval (1m, 1h, 1d, …).
        #[arg(long, default_value = "1m")]
        interval: String,
        /// First bar's time (a date or ISO-8601 UTC time).
        #[arg(long, default_value = "2020-01-01")]
        start: String,
        /// Per-bar volatility of the log return.
        #[arg(long, default_value_t = 0.002, allow_negative_numbers = true)]
        vol: f64,
        /// Output file: .csv or .parquet.
        output: PathBuf,
    },
}

/// Run `algolab data …`.
///
/// # Errors
/// A [`DataError`] (exit code 2) for bad input or a check that found problems.
pub fn run(args: DataArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    match args.command {
        DataCommand::Check { file } => check(&file, g, ctx),
        DataCommand::Convert {
            input,
            output,
            resample,
        } => {
            let w = app::convert(
                ctx,
                app::ConvertRequest {
                    input,
                    output,
                    resample,
                },
            )?;
            written(&w, g);
            Ok(())
        }
        DataCommand::Synth {
            bars,
            seed,
            interval,
            start,
            vol,
            output,
        } => {
            let start_ms =
                crate::core::time::parse_time(&start).ok_or_else(|| DataError::File {
                    path: "--start".into(),
                    cause: format!("bad time {start:?}"),
                })?;
            let spec = SynthSpec {
                bars,
                seed,
                start_ms,
                interval_ms: data::parse_interval(&interval)?,
                vol,
                ..SynthSpec::default()
            };
            let w = app::synth(ctx, &spec, output.clone())
                .with_context(|| format!("writing {}", output.display()))?;
            written(&w, g);
            Ok(())
        }
    }
}

/// The result of `convert` and `synth`: JSON with `--json`, else a line.
fn written(w: &app::Written, g: Global) {
    if g.json {
        println!(
            "{}",
            serde_json::json!({ "bars": w.bars, "output": w.output.display().to_string() })
        );
    }
    result(
        g,
        &format!("wrote {} bars to {}\n", w.bars, w.output.display()),
    );
}

fn check(file: &std::path::Path, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let r = app::check(ctx, file);
    if g.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    }
    {
        let mut h = String::new();
        let ts = |t: Option<i64>| t.map_or_else(|| "-".to_string(), fmt_ts);
        let _ = writeln!(h, "file:     {}", r.path);
        let _ = writeln!(h, "format:   {}", r.format.as_deref().unwrap_or("unknown"));
        let _ = writeln!(h, "bars:     {}", r.bars);
        let _ = writeln!(h, "range:    {} .. {}", ts(r.first_ts), ts(r.last_ts));
        let iv = r.interval_ms.map_or_else(|| "-".into(), format_interval);
        let cal = if r.trading_days {
            " (trading days)"
        } else {
            ""
        };
        let _ = writeln!(h, "interval: {iv}{cal}");
        let weekend = r.gaps.iter().filter(|g| g.weekend).count();
        let _ = writeln!(h, "gaps:     {} ({weekend} over a weekend)", r.gaps.len());
        const SHOWN: usize = 20;
        for gap in r.gaps.iter().filter(|g| !g.weekend).take(SHOWN) {
            let _ = writeln!(
                h,
                "  after {}: {} missing bars",
                fmt_ts(gap.after_ts),
                gap.missing_bars
            );
        }
        let other = r.gaps.len() - weekend;
        if other > SHOWN {
            let _ = writeln!(h, "  … {} more (see --json)", other - SHOWN);
        }
        let _ = writeln!(h, "problems: {}", r.problems_total);
        for p in &r.problems {
            let _ = writeln!(h, "  {p}");
        }
        if r.problems_total > r.problems.len() {
            let _ = writeln!(
                h,
                "  … {} more not listed",
                r.problems_total - r.problems.len()
            );
        }
        // a clean report is the result (stdout, or stderr beside --json); a report with
        // problems is the error's detail: stderr, even with --quiet
        if r.is_ok() {
            result(g, &h);
        } else {
            eprint!("{h}");
        }
    }
    if r.is_ok() {
        Ok(())
    } else {
        Err(DataError::File {
            path: r.path,
            cause: format!("{} problem(s) found", r.problems_total),
        }
        .into())
    }
}
