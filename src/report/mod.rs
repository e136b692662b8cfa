//! Backtest reports (DESIGN §3 `--report DIR`): `report.html` (one self-contained file:
//! inline CSS, inline SVG and interactive charts drawn by the vendored TradingView
//! Lightweight Charts, inlined at build time; nothing is loaded from the network),
//! `equity.png` and `drawdown.png` (1200×600, plotters), `trades.csv` and `equity.csv`. Every file is written with
//! [`crate::store::atomic_write`], so a crash never leaves a half-written report file.
//!
//! Sits right of `metrics` and `store`: it takes finished [`Stats`] and plain slices, and
//! can rebuild a stored run's report from the learning DB ([`rebuild_report`]).

pub mod ai;
mod charts;
mod csv_out;
pub mod evolve;
mod html;
pub mod lwc;
pub mod optimize;
pub mod overlays;
pub mod page;
pub mod rl;
pub mod rolling;
pub mod series;
pub mod svg;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::core::order::Trade;
use crate::data::Bars;
use crate::metrics::Stats;
use crate::store::{Store, StoreError, atomic_write};

pub use charts::MAX_POINTS;
pub use html::{TRADES_PER_PAGE, markers};
pub use overlays::Overlay;

/// Size of the PNG charts.
pub const PNG_SIZE: (u32, u32) = (1200, 600);

/// An error while writing or rebuilding a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// plotters failed to draw a chart.
    #[error("drawing {0}")]
    Chart(String),
    /// A CSV file could not be formatted.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: String,
        /// The CSV error.
        #[source]
        source: csv::Error,
    },
    /// Reading the stored run failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored run cannot be turned into a report (no stats, bad JSON, bars that do
    /// not cover the equity curve).
    #[error("run {run_id}: {cause}")]
    BadRun {
        /// The run.
        run_id: i64,
        /// What is wrong.
        cause: String,
    },
}

impl ReportError {
    /// Exit code: always 1.
    pub fn exit_code(&self) -> i32 {
        1
    }
}

/// Everything a report shows. The per-bar slices are aligned with `ts_ms`; the OHLC slices
/// may be empty (then there is no price chart and no buy & hold line).
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// Page title.
    pub title: String,
    /// Symbol traded.
    pub symbol: String,
    /// Strategy name.
    pub strategy: String,
    /// Strategy parameters, shown in the header.
    pub params: BTreeMap<String, String>,
    /// Bar times, UTC ms.
    pub ts_ms: &'a [i64],
    /// Open prices.
    pub open: &'a [f64],
    /// High prices.
    pub high: &'a [f64],
    /// Low prices.
    pub low: &'a [f64],
    /// Close prices.
    pub close: &'a [f64],
    /// Volumes (may be empty: no volume bars).
    pub volume: &'a [f64],
    /// Indicator lines drawn over the price, one value per bar (see
    /// [`overlays::for_strategy`]).
    pub overlays: Vec<Overlay>,
    /// Equity at each bar's close.
    pub equity: &'a [f64],
    /// Trades.
    pub trades: &'a [Trade],
    /// Statistics of the run.
    pub stats: &'a Stats,
    /// An `ai` backtest's "AI decisions" section.
    pub ai: Option<&'a ai::AiSection>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Create `dir` and write each `(name, bytes)` into it atomically (temp + rename).
fn write_files(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    for (name, bytes) in files {
        let path = dir.join(name);
        atomic_write(&path, bytes).map_err(io_err(&path))?;
    }
    Ok(())
}

/// Draw a PNG through a temp file (the bitmap encoder writes to a path), then move its bytes
/// into place atomically.
fn write_png(
    dir: &Path,
    name: &str,
    chart: charts::Chart,
    data: &charts::ChartData<'_>,
    caption: &str,
) -> Result<(), ReportError> {
    let tmp: PathBuf = dir.join(format!(".{name}.{}.tmp.png", std::process::id()));
    let drawn = charts::png(chart, data, caption, &tmp, PNG_SIZE);
    let bytes = drawn.and_then(|()| std::fs::read(&tmp).map_err(io_err(&tmp)));
    let _ = std::fs::remove_file(&tmp);
    let path = dir.join(name);
    atomic_write(&path, &bytes?).map_err(io_err(&path))
}

/// Write the report files into `dir` (created if missing).
///
/// # Errors
/// [`ReportError::Io`] if the directory or a file cannot be written; [`ReportError::Chart`]
/// if a chart cannot be drawn; [`ReportError::Csv`] if a CSV cannot be formatted.
pub fn write_report(dir: &Path, input: &ReportInput<'_>) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let n = input.equity.len().min(input.ts_ms.len());
    let ts = &input.ts_ms[..n];
    let equity = &input.equity[..n];
    let cash0 = equity.first().copied().unwrap_or(f64::NAN);
    let has_price = input.close.len() >= n && n > 0;
    let close = if has_price {
        &input.close[..n]
    } else {
        &[][..]
    };
    let pick = |s: &[f64]| -> Vec<f64> {
        if s.len() >= n {
            s[..n].to_vec()
        } else {
            Vec::new()
        }
    };
    let (open, high, low) = (pick(input.open), pick(input.high), pick(input.low));
    let volume = pick(input.volume);
    let buy_hold = if has_price {
        series::buy_hold(close, cash0)
    } else {
        vec![f64::NAN; n]
    };
    let dd = series::drawdown_pct(equity);
    let data = charts::ChartData {
        ts_ms: ts,
        equity,
        buy_hold: &buy_hold,
        drawdown_pct: &dd,
    };
    let periods = series::period_returns(ts, equity);
    let bh_periods = if has_price {
        series::period_returns(ts, &buy_hold)
    } else {
        series::PeriodReturns::default()
    };
    let overlays: Vec<Overlay> = input
        .overlays
        .iter()
        .filter(|o| o.values.len() >= n)
        .map(|o| Overlay {
            values: o.values[..n].to_vec(),
            ..o.clone()
        })
        .collect();
    let page = html::render(&html::Page {
        title: &input.title,
        symbol: &input.symbol,
        strategy: &input.strategy,
        params: &input.params,
        stats: input.stats,
        ts_ms: ts,
        ohlcv: [&open, &high, &low, close, &volume],
        equity,
        buy_hold: &buy_hold,
        drawdown_pct: &dd,
        overlays: &overlays,
        periods: &periods,
        bh_periods: &bh_periods,
        period_series: &rolling::period_series(ts, equity),
        trades: input.trades,
        ai: input.ai,
    });
    let html_path = dir.join("report.html");
    atomic_write(&html_path, page.as_bytes()).map_err(io_err(&html_path))?;

    write_png(
        dir,
        "equity.png",
        charts::Chart::Equity,
        &data,
        "Equity vs buy & hold",
    )?;
    write_png(
        dir,
        "drawdown.png",
        charts::Chart::Drawdown,
        &data,
        "Drawdown (%)",
    )?;

    let eq_path = dir.join("equity.csv");
    let bytes =
        csv_out::equity_csv(ts, equity, &dd, &buy_hold).map_err(|source| ReportError::Csv {
            path: eq_path.display().to_string(),
            source,
        })?;
    atomic_write(&eq_path, &bytes).map_err(io_err(&eq_path))?;
    let tr_path = dir.join("trades.csv");
    let bytes = csv_out::trades_csv(input.trades).map_err(|source| ReportError::Csv {
        path: tr_path.display().to_string(),
        source,
    })?;
    atomic_write(&tr_path, &bytes).map_err(io_err(&tr_path))
}

/// Rebuild a stored run's report into `dir` from the learning DB: its equity curve, trades
/// and stats JSON, plus `bars` (the run's dataset, reloaded by the caller from the run's
/// `data_path`) for the price chart and buy & hold. With `bars = None` the report has no
/// price chart.
///
/// # Errors
/// [`ReportError::Store`] if the run cannot be read; [`ReportError::BadRun`] if it has no
/// stats or equity, or `bars` does not contain every bar of the equity curve; otherwise as
/// [`write_report`].
pub fn rebuild_report(
    store: &Store,
    run_id: i64,
    bars: Option<&Bars>,
    dir: &Path,
) -> Result<(), ReportError> {
    let bad = |cause: String| ReportError::BadRun { run_id, cause };
    let run = store.load_run(run_id)?;
    let stats_json = run
        .stats_json
        .as_deref()
        .ok_or_else(|| bad("has no stats (did it finish?)".into()))?;
    let stats: Stats =
        serde_json::from_str(stats_json).map_err(|e| bad(format!("bad stats json: {e}")))?;
    let (ts, equity) = store.load_equity(run_id)?;
    if ts.is_empty() {
        return Err(bad("has no stored equity curve".into()));
    }
    let trades = store.load_trades(run_id)?;
    let (mut open, mut high, mut low, mut close, mut volume) =
        (vec![], vec![], vec![], vec![], vec![]);
    let params = params_map(run.record.params_json.as_deref());
    let symbol = run.record.symbol.clone().unwrap_or_default();
    let strategy = run.record.strategy.clone().unwrap_or_default();
    let mut overlays = Vec::new();
    if let Some(b) = bars {
        let mut first = None;
        for &t in &ts {
            let i = b
                .ts_ms()
                .binary_search(&t)
                .map_err(|_| bad(format!("the data has no bar at {}", crate::metrics::iso(t))))?;
            first.get_or_insert(i);
            open.push(b.open()[i]);
            high.push(b.high()[i]);
            low.push(b.low()[i]);
            close.push(b.close()[i]);
            volume.push(b.volume()[i]);
        }
        // the stored curve covers consecutive bars of the file: indicators warm up before it
        if let Some(i) = first
            && b.ts_ms().get(i + ts.len() - 1) == ts.last()
        {
            overlays = overlays::for_strategy(&strategy, &params, b.close(), i..i + ts.len());
        }
    }
    let input = ReportInput {
        title: format!("{strategy} on {symbol} (run {run_id})"),
        symbol,
        strategy,
        params,
        ts_ms: &ts,
        open: &open,
        high: &high,
        low: &low,
        close: &close,
        volume: &volume,
        overlays,
        equity: &equity,
        trades: &trades,
        stats: &stats,
        ai: None,
    };
    write_report(dir, &input)
}

/// A JSON object's entries as strings (string values unquoted); empty for anything else.
fn params_map(json: Option<&str>) -> BTreeMap<String, String> {
    let Some(Ok(serde_json::Value::Object(map))) = json.map(serde_json::from_str) else {
        return BTreeMap::new();
    };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_json_becomes_strings() {
        let m = params_map(Some(r#"{"fast":10,"kind":"ema"}"#));
        assert_eq!(m["fast"], "10");
        assert_eq!(m["kind"], "ema");
        assert!(params_map(Some("[1]")).is_empty());
        assert!(params_map(None).is_empty());
    }
}
