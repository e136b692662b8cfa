//! Golden test: every indicator against TA-Lib's values on three bundled datasets.
//!
//! The expected values come from `scripts/make_golden_talib.py` (python `talib`, TA-Lib C),
//! never from our own output. Column names are `FUNC:params:field`, params separated by `/`.
//! After warm-up, the functions of [`EXACT`] must equal TA-Lib bit for bit (the fixtures are
//! the output of TA-Lib's FMA build: regenerated on an Intel Xeon (Sapphire Rapids class,
//! FMA) with python `ta-lib` 0.8.2 / TA-Lib C 0.8.1 in session 12, byte-identical to the
//! committed files), every other value must satisfy `|a - b| <= 1e-9 * max(1, |b|)`; warm-up
//! `None`s must line up with the empty cells. A failure names the dataset, row, column and
//! both values.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a bad fixture should fail loudly"
)]

use std::path::Path;

use algolab::data::{Bar, Bars};
use algolab::indicators::{
    Adx, Atr, BollingerBands, Dx, Ema, Indicator, Macd, Max, Min, MinusDi, Mom, Obv, PlusDi, Roc,
    Rsi, Sma, StdDev, Stoch, TrueRange, VolumeSma, Wma, batch,
};

use crate::util::{dataset, repo_root};

/// The functions whose values equal TA-Lib's bit for bit (same operations in the same order,
/// the fused multiply-adds of its FMA build included). The rest (WMA, RSI, the DMI family,
/// STOCH) follow other roundings of the same formulas and are held to the tolerance.
const EXACT: &[&str] = &[
    "SMA",
    "EMA",
    "TRANGE",
    "ATR",
    "MACD",
    "BBANDS",
    "STDDEV",
    "OBV",
    "ROC",
    "MOM",
    "MAX",
    "MIN",
    "VOLUME_SMA",
];

/// A tiny parser for our 6-column CSV (`timestamp,open,high,low,close,volume`); the
/// timestamp is a date or an RFC 3339 time. The real loader lives in `data`.
fn load_bars(path: &Path, limit: usize) -> Bars {
    let text = std::fs::read_to_string(path).unwrap();
    let mut bars = Vec::new();
    for line in text.lines().skip(1).take(limit) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 6, "{}: bad line {line}", path.display());
        let ts_ms = if f[0].len() == 10 {
            chrono::NaiveDate::parse_from_str(f[0], "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis()
        } else {
            chrono::DateTime::parse_from_rfc3339(f[0])
                .unwrap()
                .timestamp_millis()
        };
        let n = |i: usize| f[i].parse::<f64>().unwrap();
        bars.push(Bar {
            ts_ms,
            open: n(1),
            high: n(2),
            low: n(3),
            close: n(4),
            volume: n(5),
        });
    }
    Bars::from_bars(bars).unwrap()
}

fn run<I: Indicator>(ind: I, bars: &Bars, field: impl Fn(I::Output) -> f64) -> Vec<Option<f64>> {
    let mut ind = ind;
    batch(&mut ind, bars)
        .into_iter()
        .map(|v| v.map(&field))
        .collect()
}

/// Our values for one golden column `FUNC:params:field`.
fn ours(column: &str, bars: &Bars) -> Vec<Option<f64>> {
    let parts: Vec<&str> = column.split(':').collect();
    let (func, field) = (parts[0], parts[2]);
    let p: Vec<f64> = parts[1]
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let n = |i: usize| p[i] as usize;
    let id = |v: f64| v;
    match func {
        "SMA" => run(Sma::new(n(0)).unwrap(), bars, id),
        "EMA" => run(Ema::new(n(0)).unwrap(), bars, id),
        "WMA" => run(Wma::new(n(0)).unwrap(), bars, id),
        "RSI" => run(Rsi::new(n(0)).unwrap(), bars, id),
        "TRANGE" => run(TrueRange::new().unwrap(), bars, id),
        "ATR" => run(Atr::new(n(0)).unwrap(), bars, id),
        "PLUS_DI" => run(PlusDi::new(n(0)).unwrap(), bars, id),
        "MINUS_DI" => run(MinusDi::new(n(0)).unwrap(), bars, id),
        "DX" => run(Dx::new(n(0)).unwrap(), bars, id),
        "ADX" => run(Adx::new(n(0)).unwrap(), bars, id),
        "OBV" => run(Obv::new().unwrap(), bars, id),
        "ROC" => run(Roc::new(n(0)).unwrap(), bars, id),
        "MOM" => run(Mom::new(n(0)).unwrap(), bars, id),
        "STDDEV" => run(StdDev::new(n(0), p[1]).unwrap(), bars, id),
        "MAX" => run(Max::new(n(0)).unwrap(), bars, id),
        "MIN" => run(Min::new(n(0)).unwrap(), bars, id),
        "VOLUME_SMA" => run(VolumeSma::new(n(0)).unwrap(), bars, id),
        "MACD" => {
            let m = Macd::new(n(0), n(1), n(2)).unwrap();
            match field {
                "macd" => run(m, bars, |v| v.macd),
                "signal" => run(m, bars, |v| v.signal),
                _ => run(m, bars, |v| v.hist),
            }
        }
        "BBANDS" => {
            let b = BollingerBands::new(n(0), p[1], p[2]).unwrap();
            match field {
                "upper" => run(b, bars, |v| v.upper),
                "middle" => run(b, bars, |v| v.middle),
                _ => run(b, bars, |v| v.lower),
            }
        }
        "STOCH" => {
            let s = Stoch::new(n(0), n(1), n(2)).unwrap();
            match field {
                "k" => run(s, bars, |v| v.k),
                _ => run(s, bars, |v| v.d),
            }
        }
        other => panic!("golden column {column}: unknown function {other}"),
    }
}

fn check_dataset(name: &str, limit: usize) {
    let bars = load_bars(&dataset(&format!("{name}.csv")), limit);
    let golden = repo_root()
        .join("tests/it/golden")
        .join(format!("talib_{name}.csv"));
    let text = std::fs::read_to_string(&golden).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), bars.len(), "{name}: golden rows vs bars");
    let mut failures = Vec::new();
    for (j, column) in header.iter().enumerate() {
        let got = ours(column, &bars);
        let exact = column
            .split(':')
            .next()
            .is_some_and(|func| EXACT.contains(&func));
        for (i, row) in rows.iter().enumerate() {
            let want: Option<f64> = (!row[j].is_empty()).then(|| row[j].parse().unwrap());
            let ok = match (got[i], want) {
                (None, None) => true,
                (Some(a), Some(b)) if exact => a.to_bits() == b.to_bits(),
                (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{name} row {i} column {column}{}: ours {:?}, talib {:?}",
                    if exact { " (exact)" } else { "" },
                    got[i],
                    want
                ));
                break; // first failure per column is enough
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn indicators_match_talib_on_goog() {
    check_dataset("GOOG", usize::MAX);
}

#[test]
fn indicators_match_talib_on_eurusd() {
    check_dataset("EURUSD", usize::MAX);
}

#[test]
fn indicators_match_talib_on_btcusdt_1h_first_10000() {
    check_dataset("BTCUSDT_1h", 10_000);
}
