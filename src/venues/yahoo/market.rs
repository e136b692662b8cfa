//! Yahoo Finance bars from the v8 chart endpoint:
//! `GET {base}/v8/finance/chart/{symbol}?period1=..&period2=..&interval=..&includeAdjustedClose=true&events=div,splits`.
//!
//! Yahoo limits how far back and how wide one request may reach per interval; [`rule`]
//! holds those limits and [`fetch`] pages long ranges in windows. Rows with a null field are
//! skipped and counted. Daily and longer bars are stamped with the exchange's local date at
//! 00:00 UTC (from `meta.gmtoffset`); intraday bars keep Yahoo's UTC open time. With
//! `adjusted`, OHLC are scaled by `adjclose / close` (Yahoo already applies splits to OHLC;
//! adjclose adds dividends) and the factor is kept in the extra column `adj_factor`.
//!
//! No wall clock here: the caller passes `now_ms`.

use std::collections::BTreeMap;

use chrono::{DateTime, Months};
use serde::Deserialize;

use crate::data::Bar;
use crate::data::cache::{Fetched, Progress};
use crate::data::check_bar;
use crate::net::HttpClient;
use crate::venues::VenueError;

/// The public Yahoo Finance host; `ALGOLAB_YAHOO_URL` or `--base-url` replace it.
pub const DEFAULT_BASE: &str = "https://query1.finance.yahoo.com";

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// How long one bar of an interval lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// A fixed number of milliseconds.
    Ms(i64),
    /// Calendar months (1mo, 3mo).
    Months(u32),
}

/// Yahoo's limits for one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The interval as Yahoo spells it in the query (`1h` is sent as `60m`).
    pub query: &'static str,
    /// One bar's length.
    pub span: Span,
    /// The widest range one request may cover, ms (`None`: no limit).
    pub window_ms: Option<i64>,
    /// How far back from now data exists, ms (`None`: no limit).
    pub back_ms: Option<i64>,
    /// Daily or longer: stamped with the exchange's local date at 00:00 UTC.
    pub is_daily: bool,
}

/// The limits of an interval: 1m, 2m, 5m, 15m, 30m, 60m (= 1h), 90m, 1d, 5d, 1wk, 1mo, 3mo.
/// 1m: 7 days per request, 30 days back; 2m–90m: 60 days; 60m: 730 days.
///
/// # Errors
/// [`VenueError::BadArgs`] for any other interval.
pub fn rule(interval: &str) -> Result<Rule, VenueError> {
    let intraday = |query, minutes: i64, window_days: i64, back_days: i64| Rule {
        query,
        span: Span::Ms(minutes * MINUTE),
        window_ms: Some(window_days * DAY),
        back_ms: Some(back_days * DAY),
        is_daily: false,
    };
    let daily = |query, span| Rule {
        query,
        span,
        window_ms: None,
        back_ms: None,
        is_daily: true,
    };
    Ok(match interval {
        "1m" => intraday("1m", 1, 7, 30),
        "2m" => intraday("2m", 2, 60, 60),
        "5m" => intraday("5m", 5, 60, 60),
        "15m" => intraday("15m", 15, 60, 60),
        "30m" => intraday("30m", 30, 60, 60),
        "90m" => intraday("90m", 90, 60, 60),
        "60m" | "1h" => intraday("60m", 60, 730, 730),
        "1d" => daily("1d", Span::Ms(DAY)),
        "5d" => daily("5d", Span::Ms(5 * DAY)),
        "1wk" => daily("1wk", Span::Ms(7 * DAY)),
        "1mo" => daily("1mo", Span::Months(1)),
        "3mo" => daily("3mo", Span::Months(3)),
        other => {
            return Err(VenueError::BadArgs(format!(
                "unknown yahoo interval {other:?}; use one of 1m, 2m, 5m, 15m, 30m, 60m, 1h, 90m, 1d, 5d, 1wk, 1mo, 3mo"
            )));
        }
    })
}

/// The interval's name in cache file names: `60m` is stored as `1h`, others as given.
pub use crate::data::canonical_yahoo_interval as canonical_interval;

/// The last millisecond of the bar that opens at `open_ms` (its close time).
pub fn close_ms(open_ms: i64, span: Span) -> i64 {
    match span {
        Span::Ms(ms) => open_ms + ms - 1,
        Span::Months(m) => {
            DateTime::from_timestamp_millis(open_ms)
                .and_then(|t| t.checked_add_months(Months::new(m)))
                .map_or(open_ms + i64::from(m) * 31 * DAY, |t| t.timestamp_millis())
                - 1
        }
    }
}

/// A daily bar's stamp: the exchange's local calendar date at 00:00 UTC. Three hours of slack
/// absorb a daylight-saving mismatch between `gmtoffset` (today's offset) and the bar's date
/// (a futures bar stamped at local midnight must not fall on the day before).
pub fn local_date_ms(ts_s: i64, gmtoffset_s: i64) -> i64 {
    let local_s = ts_s + gmtoffset_s + 3 * 3600;
    local_s.div_euclid(86_400) * DAY
}

#[derive(Debug, Deserialize)]
struct Envelope {
    chart: Chart,
}

#[derive(Debug, Deserialize)]
struct Chart {
    result: Option<Vec<ChartResult>>,
    error: Option<ChartError>,
}

#[derive(Debug, Deserialize)]
struct ChartError {
    code: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChartResult {
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    timestamp: Vec<i64>,
    #[serde(default)]
    indicators: Indicators,
}

#[derive(Debug, Default, Deserialize)]
struct Meta {
    #[serde(default)]
    gmtoffset: i64,
}

#[derive(Debug, Default, Deserialize)]
struct Indicators {
    #[serde(default)]
    quote: Vec<Quote>,
    #[serde(default)]
    adjclose: Vec<AdjClose>,
}

#[derive(Debug, Default, Deserialize)]
struct Quote {
    #[serde(default)]
    open: Vec<Option<f64>>,
    #[serde(default)]
    high: Vec<Option<f64>>,
    #[serde(default)]
    low: Vec<Option<f64>>,
    #[serde(default)]
    close: Vec<Option<f64>>,
    #[serde(default)]
    volume: Vec<Option<f64>>,
}

#[derive(Debug, Default, Deserialize)]
struct AdjClose {
    #[serde(default)]
    adjclose: Vec<Option<f64>>,
}

/// What to fetch from Yahoo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// Yahoo's symbol (`AAPL`, `GC=F`, `BTC-USD`).
    pub symbol: &'a str,
    /// The interval (see [`rule`]).
    pub interval: &'a str,
    /// Range start, UTC ms (inclusive).
    pub start_ms: i64,
    /// Range end, UTC ms (exclusive); clipped to `now_ms`.
    pub end_ms: i64,
    /// Scale OHLC by adjclose / close.
    pub adjusted: bool,
}

/// Fetch finished bars in `[start_ms, end_ms)`, paging in windows as [`rule`] requires.
/// Bars whose close time is after `now_ms` (still open) are dropped.
///
/// # Errors
/// [`VenueError::UnknownSymbol`] on Yahoo's 404 "Not Found"; [`VenueError::BadArgs`] for an
/// unknown interval or `adjusted` with an intraday interval; [`VenueError::Rejected`] for
/// other 4xx; the HTTP errors of [`HttpClient::get_json`].
pub async fn fetch(
    http: &HttpClient,
    base: &str,
    req: &Request<'_>,
    now_ms: i64,
    progress: &mut dyn FnMut(Progress),
) -> Result<Fetched, VenueError> {
    let rule = rule(req.interval)?;
    if req.adjusted && !rule.is_daily {
        return Err(VenueError::BadArgs(format!(
            "--adjusted needs a daily or longer interval (yahoo has no adjclose for {})",
            req.interval
        )));
    }
    let end = req.end_ms.min(now_ms);
    let start = match rule.back_ms {
        Some(back) => req.start_ms.max(now_ms - back + MINUTE),
        None => req.start_ms,
    };
    let mut rows: BTreeMap<i64, (Bar, f64)> = BTreeMap::new();
    let mut skipped = 0;
    let mut cursor = start;
    while cursor < end {
        let win_end = rule.window_ms.map_or(end, |w| (cursor + w).min(end));
        let path = format!("/v8/finance/chart/{}", req.symbol);
        let query = [
            ("period1", cursor.div_euclid(1000).to_string()),
            ("period2", (win_end + 999).div_euclid(1000).to_string()),
            ("interval", rule.query.to_string()),
            ("includeAdjustedClose", "true".to_string()),
            ("events", "div,splits".to_string()),
        ];
        let answer = http.get_json::<Envelope>(base, &path, &query).await?;
        let env = match answer {
            Ok(r) => r.body,
            Err(e) => return Err(error_answer(req.symbol, e.status, &e.path, &e.body)),
        };
        let result = match (env.chart.result, env.chart.error) {
            (_, Some(err)) => {
                return Err(chart_error(req.symbol, 200, &path, &err));
            }
            (Some(mut r), None) if !r.is_empty() => r.swap_remove(0),
            _ => {
                return Err(VenueError::Malformed {
                    path,
                    cause: "chart.result is empty and chart.error is null".to_string(),
                });
            }
        };
        skipped += convert(&result, &rule, req.adjusted, &mut rows, |ts| {
            ts >= start && ts < end && close_ms(ts, rule.span) <= now_ms
        });
        progress(Progress {
            start_ms: start,
            end_ms: end,
            reached_ms: win_end,
        });
        cursor = win_end;
    }
    let mut fetched = Fetched {
        now_ms,
        skipped,
        ..Fetched::default()
    };
    let mut factors = Vec::with_capacity(rows.len());
    for (bar, factor) in rows.into_values() {
        fetched.cols.push(bar);
        factors.push(factor);
    }
    if req.adjusted {
        fetched.cols.extra.insert("adj_factor".to_string(), factors);
    }
    Ok(fetched)
}

/// Add one response's rows to `rows` (keyed by bar time; `keep` filters by bar time).
/// Returns the number of rows skipped for null or invalid values.
fn convert(
    r: &ChartResult,
    rule: &Rule,
    adjusted: bool,
    rows: &mut BTreeMap<i64, (Bar, f64)>,
    keep: impl Fn(i64) -> bool,
) -> usize {
    let empty = Quote::default();
    let q = r.indicators.quote.first().unwrap_or(&empty);
    let adj = r.indicators.adjclose.first().map(|a| a.adjclose.as_slice());
    let at = |v: &[Option<f64>], i: usize| v.get(i).copied().flatten();
    let mut skipped = 0;
    for (i, &ts_s) in r.timestamp.iter().enumerate() {
        let ts = if rule.is_daily {
            local_date_ms(ts_s, r.meta.gmtoffset)
        } else {
            ts_s * 1000
        };
        if !keep(ts) {
            continue;
        }
        let (Some(o), Some(h), Some(l), Some(c), Some(v)) = (
            at(&q.open, i),
            at(&q.high, i),
            at(&q.low, i),
            at(&q.close, i),
            at(&q.volume, i),
        ) else {
            skipped += 1;
            continue;
        };
        let factor = if adjusted {
            match adj.and_then(|a| at(a, i)) {
                Some(ac) if c != 0.0 => ac / c,
                _ => {
                    skipped += 1;
                    continue;
                }
            }
        } else {
            1.0
        };
        let bar = Bar {
            ts_ms: ts,
            open: o * factor,
            high: h * factor,
            low: l * factor,
            close: c * factor,
            volume: v,
        };
        if check_bar(&bar, None).is_err() {
            skipped += 1;
            continue;
        }
        rows.insert(ts, (bar, factor));
    }
    skipped
}

/// Interpret a final non-2xx answer.
fn error_answer(symbol: &str, status: u16, path: &str, body: &str) -> VenueError {
    match serde_json::from_str::<Envelope>(body) {
        Ok(Envelope {
            chart: Chart {
                error: Some(err), ..
            },
        }) => chart_error(symbol, status, path, &err),
        _ if status == 404 => VenueError::UnknownSymbol {
            symbol: symbol.to_string(),
            source_name: "yahoo".to_string(),
            message: "not found".to_string(),
        },
        _ => VenueError::Rejected {
            path: path.to_string(),
            status,
            message: body.chars().take(200).collect(),
        },
    }
}

fn chart_error(symbol: &str, status: u16, path: &str, err: &ChartError) -> VenueError {
    let code = err.code.clone().unwrap_or_default();
    let description = err.description.clone().unwrap_or_default();
    if status == 404 || code == "Not Found" {
        VenueError::UnknownSymbol {
            symbol: symbol.to_string(),
            source_name: "yahoo".to_string(),
            message: description,
        }
    } else {
        VenueError::Rejected {
            path: path.to_string(),
            status,
            message: format!("{code}: {description}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_map_to_yahoo_limits() {
        let r = rule("1m").unwrap();
        assert_eq!(r.window_ms, Some(7 * DAY));
        assert_eq!(r.back_ms, Some(30 * DAY));
        assert_eq!(rule("1h").unwrap().query, "60m");
        assert_eq!(rule("15m").unwrap().back_ms, Some(60 * DAY));
        assert!(rule("1d").unwrap().is_daily);
        assert!(rule("4h").is_err());
    }

    #[test]
    fn daily_stamp_is_local_date_even_across_dst() {
        // AAPL 2024-01-02 09:30 EST = 14:30 UTC, gmtoffset -18000 → 2024-01-02
        assert_eq!(local_date_ms(1_704_205_800, -18_000), 1_704_153_600_000);
        // GC=F stamped at local midnight EDT (04:00 UTC 2024-07-01) while meta says EST
        // (-18000): 23:00 local the day before without slack; still 2024-07-01 with it.
        assert_eq!(local_date_ms(1_719_806_400, -18_000), 1_719_792_000_000);
        // crypto at 00:00 UTC, gmtoffset 0
        assert_eq!(local_date_ms(1_704_067_200, 0), 1_704_067_200_000);
    }

    #[test]
    fn close_time_of_months_follows_the_calendar() {
        // 2024-02-01 → closes 2024-02-29T23:59:59.999Z (leap year)
        let feb = 1_706_745_600_000;
        assert_eq!(close_ms(feb, Span::Months(1)), 1_709_251_200_000 - 1);
        assert_eq!(close_ms(0, Span::Ms(DAY)), DAY - 1);
    }

    #[test]
    fn null_rows_are_skipped_and_adjusted_scales_ohlc() {
        let r: ChartResult = serde_json::from_str(
            r#"{"meta":{"gmtoffset":0},"timestamp":[0,86400,172800],
            "indicators":{"quote":[{"open":[10.0,null,20.0],"high":[11.0,1.0,22.0],
            "low":[9.0,1.0,19.0],"close":[10.0,1.0,20.0],"volume":[5,1,7]}],
            "adjclose":[{"adjclose":[5.0,1.0,20.0]}]}}"#,
        )
        .unwrap();
        let mut rows = BTreeMap::new();
        let skipped = convert(&r, &rule("1d").unwrap(), true, &mut rows, |_| true);
        assert_eq!(skipped, 1);
        let (b0, f0) = rows[&0];
        assert_eq!(f0, 0.5);
        assert_eq!((b0.open, b0.high, b0.low, b0.close), (5.0, 5.5, 4.5, 5.0));
        assert_eq!(b0.volume, 5.0);
        assert_eq!(rows[&(2 * DAY)].0.close, 20.0);
    }
}
