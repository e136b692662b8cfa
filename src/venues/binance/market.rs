//! Binance public market data: spot klines (`/api/v3/klines`, 1000 a page), USD-M futures
//! klines (`/fapi/v1/klines`, 1500 a page) and, for futures, the extra columns
//! `funding_rate` (`/fapi/v1/fundingRate`), `open_interest` (`/futures/data/openInterestHist`,
//! last 30 days only) and `long_short_ratio` (`/futures/data/globalLongShortAccountRatio`).
//!
//! The server clock (`/api/v3/time`, `/fapi/v1/time`) decides which bar is still open: a
//! kline whose close time is after the server time is never returned. Every request goes
//! through a [`WeightBudget`] with its documented weight (the machine-wide one of
//! `DATA_DIR` that the trading client also uses, so `fetch` and the bots of one machine
//! share one per-minute count and any ban) and the public-call retry policy of
//! [`super::rest`]; the `X-MBX-USED-WEIGHT-1M` header updates the budget. Extra values land on the bar whose
//! `[open, open + interval)` contains their time; several in one bar (funding on daily bars)
//! are summed for `funding_rate` and the last one is kept otherwise; NaN marks no value.

use std::sync::Arc;

use serde_json::Value;

use super::budget::WeightBudget;
use super::rest::{Call, Effect, Rest, RestConfig, Security};
use crate::data::Bar;
use crate::data::cache::{Fetched, Progress};
use crate::data::check_bar;
use crate::net::{ErrorResponse, HttpClient, Method};
use crate::venues::VenueError;

/// The public spot API host; `ALGOLAB_BINANCE_URL` or `--base-url` replace it.
pub const DEFAULT_SPOT_BASE: &str = "https://api.binance.com";
/// The public USD-M futures API host; `ALGOLAB_BINANCE_FUTURES_URL` or `--base-url` replace it.
pub const DEFAULT_FUTURES_BASE: &str = "https://fapi.binance.com";

const DAY: i64 = 86_400_000;

/// Spot or USD-M perpetual futures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Market {
    /// Spot (`/api/v3`).
    Spot,
    /// USD-M futures (`/fapi/v1`), with funding, open interest and long/short ratio.
    UsdM,
}

impl Market {
    fn klines_path(self) -> &'static str {
        match self {
            Market::Spot => "/api/v3/klines",
            Market::UsdM => "/fapi/v1/klines",
        }
    }
    pub(crate) fn time_path(self) -> &'static str {
        match self {
            Market::Spot => "/api/v3/time",
            Market::UsdM => "/fapi/v1/time",
        }
    }
    fn page_limit(self) -> usize {
        match self {
            Market::Spot => 1000,
            Market::UsdM => 1500,
        }
    }
    pub(crate) fn weight_limit(self) -> u32 {
        match self {
            Market::Spot => 6000,
            Market::UsdM => 2400,
        }
    }
    /// The documented weight of one klines page of `limit` rows (spot: 2; USD-M: 1, 2, 5
    /// or 10 by `limit`).
    pub(crate) fn klines_weight(self, limit: usize) -> u32 {
        match self {
            Market::Spot => 2,
            Market::UsdM => match limit {
                0..100 => 1,
                100..500 => 2,
                500..=1000 => 5,
                _ => 10,
            },
        }
    }
}

/// The length of a kline interval in ms (`1M` counts as 31 days: it is only used to place
/// extra values and to size gaps).
///
/// # Errors
/// [`VenueError::BadArgs`] for an interval Binance does not offer.
pub fn interval_ms(interval: &str) -> Result<i64, VenueError> {
    const M: i64 = 60_000;
    Ok(match interval {
        "1s" => 1000,
        "1m" => M,
        "3m" => 3 * M,
        "5m" => 5 * M,
        "15m" => 15 * M,
        "30m" => 30 * M,
        "1h" => 60 * M,
        "2h" => 120 * M,
        "4h" => 240 * M,
        "6h" => 360 * M,
        "8h" => 480 * M,
        "12h" => 720 * M,
        "1d" => DAY,
        "3d" => 3 * DAY,
        "1w" => 7 * DAY,
        "1M" => 31 * DAY,
        other => {
            return Err(VenueError::BadArgs(format!(
                "unknown binance interval {other:?}; use one of 1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w, 1M"
            )));
        }
    })
}

/// Binance's symbol for a pair: `BTC/USDT` → `BTCUSDT` (upper case, separators removed).
pub fn pair_symbol(symbol: &str) -> String {
    symbol
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What to fetch from Binance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The symbol as the user wrote it (`BTC/USDT` or `BTCUSDT`).
    pub symbol: &'a str,
    /// Spot or futures.
    pub market: Market,
    /// The kline interval (see [`interval_ms`]).
    pub interval: &'a str,
    /// Range start, UTC ms (inclusive).
    pub start_ms: i64,
    /// Range end, UTC ms (exclusive), or `None` for "up to the server time".
    pub end_ms: Option<i64>,
}

/// The server's clock, UTC ms.
///
/// # Errors
/// The HTTP errors of [`HttpClient::get_json`]; [`VenueError::Malformed`] without `serverTime`.
pub async fn server_time(http: &HttpClient, base: &str, market: Market) -> Result<i64, VenueError> {
    let path = market.time_path();
    let body = match http.get_json::<Value>(base, path, &[]).await? {
        Ok(r) => r.body,
        Err(e) => return Err(rejected(e)),
    };
    body.get("serverTime")
        .and_then(int)
        .ok_or_else(|| VenueError::Malformed {
            path: path.to_string(),
            cause: "no integer serverTime".to_string(),
        })
}

/// Fetch finished klines in `[start_ms, end_ms)` (and, for futures, the extra columns),
/// paging until the range is covered or a page comes back empty. Every request is first
/// admitted by `budget` (see the module doc).
///
/// # Errors
/// [`VenueError::UnknownSymbol`] on Binance's code -1121; [`VenueError::BadArgs`] for an
/// unknown interval; [`VenueError::Rejected`] for other 4xx; [`VenueError::Malformed`] for a
/// kline that is not a 12-element array of the documented types; the errors of
/// [`Rest::call`] (rate limited while the budget or a ban holds requests back longer than
/// the longest wait, server and network errors once the tries run out).
pub async fn fetch(
    http: &Arc<HttpClient>,
    base: &str,
    req: &Request<'_>,
    budget: &Arc<WeightBudget>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Fetched, VenueError> {
    let step = interval_ms(req.interval)?;
    let symbol = pair_symbol(req.symbol);
    let rest = Rest::new(
        Arc::clone(http),
        base,
        req.market,
        None,
        Arc::clone(budget),
        RestConfig {
            max_tries: http.config().max_tries,
            ..RestConfig::default()
        },
    );
    let rest = &rest;
    let now = rest.sync_time().await?;
    let end = req.end_ms.map_or(now, |e| e.min(now));
    let mut fetched = Fetched {
        now_ms: now,
        ..Fetched::default()
    };
    let path = req.market.klines_path();
    let mut cursor = req.start_ms;
    while cursor < end {
        let limit = req.market.page_limit();
        let query = vec![
            ("symbol", symbol.clone()),
            ("interval", req.interval.to_string()),
            ("startTime", cursor.to_string()),
            ("endTime", (end - 1).to_string()),
            ("limit", limit.to_string()),
        ];
        let rows = get_rows(rest, path, query, req.market.klines_weight(limit), req).await?;
        let Some(last) = rows.last() else { break };
        let last_open = kline_open(last, path)?;
        for row in &rows {
            let (bar, close_time) = parse_kline(row, path)?;
            if bar.ts_ms < cursor || bar.ts_ms >= end || close_time > now {
                continue;
            }
            let prev = fetched.cols.ts_ms.last().copied();
            if check_bar(&bar, prev).is_err() {
                fetched.skipped += 1;
                continue;
            }
            fetched.cols.push(bar);
        }
        progress(Progress {
            start_ms: req.start_ms,
            end_ms: end,
            reached_ms: (last_open + step).min(end),
        });
        if last_open < cursor {
            break; // no progress: the server ignored startTime
        }
        cursor = last_open + 1;
    }
    if req.market == Market::UsdM {
        add_futures_extras(rest, req, step, now, end, &mut fetched).await?;
    }
    Ok(fetched)
}

/// Fetch one JSON array page through the budget (a public read: resent after 429/418,
/// 5xx and network errors), interpreting error answers.
async fn get_rows(
    rest: &Rest,
    path: &str,
    params: Vec<(&str, String)>,
    weight: u32,
    req: &Request<'_>,
) -> Result<Vec<Value>, VenueError> {
    let call = Call {
        method: Method::Get,
        path,
        params,
        weight,
        security: Security::Public,
        effect: Effect::Read,
    };
    match rest.call(&call).await {
        Ok(Value::Array(rows)) => Ok(rows),
        Ok(other) => Err(VenueError::Malformed {
            path: path.to_string(),
            cause: format!(
                "not a JSON array: {}",
                other.to_string().chars().take(80).collect::<String>()
            ),
        }),
        Err(e) => Err(interpret(req.symbol, e)),
    }
}

/// Binance's error `{"code":-1121,"msg":"Invalid symbol."}` → unknown symbol; other error
/// codes → rejected with the exchange's message.
fn interpret(symbol: &str, e: VenueError) -> VenueError {
    match e {
        VenueError::Exchange {
            code: -1121, msg, ..
        } => VenueError::UnknownSymbol {
            symbol: symbol.to_string(),
            source_name: "binance".to_string(),
            message: msg,
        },
        VenueError::Exchange {
            path, status, msg, ..
        } => VenueError::Rejected {
            path,
            status,
            message: msg.chars().take(200).collect(),
        },
        other => other,
    }
}

fn rejected(e: ErrorResponse) -> VenueError {
    VenueError::Rejected {
        path: e.path,
        status: e.status,
        message: e.body.chars().take(200).collect(),
    }
}

/// A JSON number or a string holding one.
fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON integer or a string holding one.
fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn kline_open(row: &Value, path: &str) -> Result<i64, VenueError> {
    row.get(0)
        .and_then(int)
        .ok_or_else(|| VenueError::Malformed {
            path: path.to_string(),
            cause: format!("kline without an open time: {row}"),
        })
}

/// `[openTime, "open", "high", "low", "close", "volume", closeTime, …]` → bar and close time.
fn parse_kline(row: &Value, path: &str) -> Result<(Bar, i64), VenueError> {
    let bad = || VenueError::Malformed {
        path: path.to_string(),
        cause: format!(
            "kline is not [openTime, open, high, low, close, volume, closeTime, …]: {row}"
        ),
    };
    let a = row.as_array().filter(|a| a.len() >= 7).ok_or_else(bad)?;
    let f = |i: usize| num(&a[i]).ok_or_else(bad);
    let bar = Bar {
        ts_ms: int(&a[0]).ok_or_else(bad)?,
        open: f(1)?,
        high: f(2)?,
        low: f(3)?,
        close: f(4)?,
        volume: f(5)?,
    };
    Ok((bar, int(&a[6]).ok_or_else(bad)?))
}

/// How values land on bars: summed (funding) or the last one kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    Sum,
    Last,
}

/// Put `(time, value)` points on the bars whose `[open, open + step)` holds them.
fn place(ts: &[i64], step: i64, points: &[(i64, f64)], combine: Combine) -> Vec<f64> {
    let mut out = vec![f64::NAN; ts.len()];
    for &(t, v) in points {
        let idx = ts.partition_point(|&open| open <= t);
        if idx == 0 || t >= ts[idx - 1] + step {
            continue;
        }
        let slot = &mut out[idx - 1];
        *slot = match combine {
            Combine::Sum if !slot.is_nan() => *slot + v,
            _ => v,
        };
    }
    out
}

/// Page a futures history endpoint whose rows are objects with a time field.
#[allow(
    clippy::too_many_arguments,
    reason = "private helper over one endpoint family"
)]
async fn history(
    rest: &Rest,
    path: &str,
    extra_query: &[(&'static str, String)],
    time_key: &str,
    value_key: &str,
    limit: usize,
    (start, end): (i64, i64),
    req: &Request<'_>,
) -> Result<Vec<(i64, f64)>, VenueError> {
    let mut points = Vec::new();
    let mut cursor = start;
    while cursor < end {
        let mut query: Vec<(&str, String)> = vec![("symbol", pair_symbol(req.symbol))];
        query.extend(extra_query.iter().cloned());
        query.push(("startTime", cursor.to_string()));
        query.push(("endTime", (end - 1).to_string()));
        query.push(("limit", limit.to_string()));
        let rows = get_rows(rest, path, query, 1, req).await?;
        let mut last = None;
        for row in &rows {
            let (Some(t), Some(v)) = (
                row.get(time_key).and_then(int),
                row.get(value_key).and_then(num),
            ) else {
                return Err(VenueError::Malformed {
                    path: path.to_string(),
                    cause: format!("row without {time_key} and {value_key}: {row}"),
                });
            };
            last = Some(last.map_or(t, |l: i64| l.max(t)));
            if t >= cursor && t < end {
                points.push((t, v));
            }
        }
        match last {
            Some(l) if l >= cursor => cursor = l + 1,
            _ => break,
        }
    }
    points.sort_by_key(|p| p.0);
    points.dedup_by_key(|p| p.0);
    Ok(points)
}

/// The statistics endpoints' `period` for a kline interval, if they offer it.
fn stats_period(interval: &str) -> Option<&'static str> {
    ["5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d"]
        .into_iter()
        .find(|p| *p == interval)
}

async fn add_futures_extras(
    rest: &Rest,
    req: &Request<'_>,
    step: i64,
    now: i64,
    end: i64,
    fetched: &mut Fetched,
) -> Result<(), VenueError> {
    let ts = fetched.cols.ts_ms.clone();
    let n = ts.len();
    let (Some(&first), Some(&last)) = (ts.first(), ts.last()) else {
        for k in ["funding_rate", "open_interest", "long_short_ratio"] {
            fetched.cols.extra.insert(k.to_string(), Vec::new());
        }
        return Ok(());
    };
    let range = (first, (last + step).min(end));
    let funding = history(
        rest,
        "/fapi/v1/fundingRate",
        &[],
        "fundingTime",
        "fundingRate",
        1000,
        range,
        req,
    )
    .await?;
    fetched.cols.extra.insert(
        "funding_rate".to_string(),
        place(&ts, step, &funding, Combine::Sum),
    );
    // statistics exist only for the latest 30 days (a minute of slack for clock skew)
    let stats_range = (range.0.max(now - 30 * DAY + 60_000), range.1);
    let stats = [
        (
            "open_interest",
            "/futures/data/openInterestHist",
            "sumOpenInterest",
        ),
        (
            "long_short_ratio",
            "/futures/data/globalLongShortAccountRatio",
            "longShortRatio",
        ),
    ];
    for (column, path, key) in stats {
        let points = match stats_period(req.interval) {
            Some(period) if stats_range.0 < stats_range.1 => {
                history(
                    rest,
                    path,
                    &[("period", period.to_string())],
                    "timestamp",
                    key,
                    500,
                    stats_range,
                    req,
                )
                .await?
            }
            _ => Vec::new(),
        };
        let values = if points.is_empty() {
            vec![f64::NAN; n]
        } else {
            place(&ts, step, &points, Combine::Last)
        };
        fetched.cols.extra.insert(column.to_string(), values);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_lose_their_slash() {
        assert_eq!(pair_symbol("BTC/USDT"), "BTCUSDT");
        assert_eq!(pair_symbol("eth/usdt"), "ETHUSDT");
    }

    #[test]
    fn kline_parses_the_documented_array() {
        let row: Value = serde_json::from_str(
            r#"[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100",
            "148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]"#,
        )
        .unwrap();
        let (bar, close) = parse_kline(&row, "/api/v3/klines").unwrap();
        assert_eq!(bar.ts_ms, 1_499_040_000_000);
        assert_eq!(bar.high, 0.8);
        assert_eq!(bar.volume, 148_976.114_278_15);
        assert_eq!(close, 1_499_644_799_999);
        let short: Value = serde_json::from_str(r#"[1,"1"]"#).unwrap();
        let e = parse_kline(&short, "/api/v3/klines").unwrap_err();
        assert!(
            e.to_string().starts_with("/api/v3/klines: malformed"),
            "{e}"
        );
    }

    #[test]
    fn extras_land_on_the_bar_that_contains_them() {
        let ts = [0, 100, 200];
        let pts = [(0, 1.0), (150, 2.0), (199, 3.0), (300, 9.0), (-5, 9.0)];
        let s = place(&ts, 100, &pts, Combine::Sum);
        assert_eq!(s[0], 1.0);
        assert_eq!(s[1], 5.0);
        assert!(s[2].is_nan());
        let l = place(&ts, 100, &pts, Combine::Last);
        assert_eq!(l[1], 3.0);
    }

    #[test]
    fn invalid_symbol_code_is_an_unknown_symbol() {
        let e = interpret(
            "FOO/BAR",
            VenueError::Exchange {
                path: "/api/v3/klines".into(),
                status: 400,
                code: -1121,
                msg: "Invalid symbol.".into(),
            },
        );
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("FOO/BAR") && e.to_string().contains("Invalid symbol"));
    }
}
