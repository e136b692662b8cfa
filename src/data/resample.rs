//! Resampling bars to a coarser interval, in buckets aligned to UTC.
//!
//! A bucket of width `w` starts at a multiple of `w` since the Unix epoch, so `1d` buckets
//! start at 00:00 UTC and `4h` buckets at 00:00, 04:00, … UTC. Widths that are whole weeks
//! are aligned to Monday 00:00 UTC instead (the epoch fell on a Thursday). Each output bar is
//! stamped with its bucket's start and holds the first open, the highest high, the lowest low,
//! the last close and the summed volume of the bars in it; empty buckets produce no bar.
//! Extra columns (funding rate, open interest, …) take the **last non-NaN value** in the
//! bucket, NaN if there is none: they are levels or rates, not amounts to add up.

use super::{Bars, Columns, DataError};

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;
const WEEK: i64 = 7 * DAY;
/// Monday 1970-01-05 00:00 UTC: the origin of week buckets.
const MONDAY: i64 = 4 * DAY;

/// Parse an interval such as `1m`, `5m`, `15m`, `30m`, `1h`, `4h`, `1d`, `1w` into
/// milliseconds. Any positive count with unit `s`, `m`, `h`, `d` or `w` is accepted.
///
/// # Errors
/// [`DataError::File`] naming the bad text (path `"interval"`) for anything else
/// (`1M` months are not fixed-length and are refused).
pub fn parse_interval(s: &str) -> Result<i64, DataError> {
    let bad = || DataError::File {
        path: "interval".into(),
        cause: format!(
            "bad interval {s:?}: expected a count and a unit s, m, h, d or w (1m, 4h, 1d, 1w)"
        ),
    };
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "s" => 1000,
        "m" => MINUTE,
        "h" => 60 * MINUTE,
        "d" => DAY,
        "w" => WEEK,
        _ => return Err(bad()),
    };
    match n.checked_mul(unit_ms) {
        Some(ms) if n > 0 => Ok(ms),
        _ => Err(bad()),
    }
}

/// Format an interval in ms as the shortest `Nw`/`Nd`/`Nh`/`Nm`/`Ns` text (`ms` otherwise).
pub fn format_interval(ms: i64) -> String {
    for (unit, w) in [
        ("w", WEEK),
        ("d", DAY),
        ("h", 3_600_000),
        ("m", MINUTE),
        ("s", 1000),
    ] {
        if ms != 0 && ms % w == 0 {
            return format!("{}{unit}", ms / w);
        }
    }
    format!("{ms}ms")
}

/// The start of the bucket of width `interval_ms` that holds `ts_ms`.
pub fn bucket_start(ts_ms: i64, interval_ms: i64) -> i64 {
    let origin = if interval_ms % WEEK == 0 { MONDAY } else { 0 };
    ts_ms.saturating_sub(origin).div_euclid(interval_ms) * interval_ms + origin
}

/// Resample bars into UTC-aligned buckets of `interval_ms` (see the module doc).
///
/// # Errors
/// [`DataError::File`] if `interval_ms` is not positive.
pub fn resample(bars: &Bars, interval_ms: i64) -> Result<Bars, DataError> {
    if interval_ms <= 0 {
        return Err(DataError::File {
            path: "interval".into(),
            cause: format!("resample interval must be positive, got {interval_ms} ms"),
        });
    }
    let mut out = Columns::with_capacity(bars.len());
    let names: Vec<&String> = bars.extras().keys().collect();
    let src_extras: Vec<&[f64]> = bars.extras().values().map(Vec::as_slice).collect();
    let mut extras: Vec<Vec<f64>> = names.iter().map(|_| Vec::new()).collect();
    let mut i = 0;
    while i < bars.len() {
        let start = bucket_start(bars.ts_ms()[i], interval_ms);
        let end = start.saturating_add(interval_ms);
        let mut b = bars.bar(i);
        b.ts_ms = start;
        let first = i;
        i += 1;
        while i < bars.len() && bars.ts_ms()[i] < end {
            let x = bars.bar(i);
            b.high = b.high.max(x.high);
            b.low = b.low.min(x.low);
            b.close = x.close;
            b.volume += x.volume;
            i += 1;
        }
        out.push(b);
        for (col, src) in extras.iter_mut().zip(&src_extras) {
            let last = src[first..i].iter().rev().find(|v| !v.is_nan());
            col.push(last.copied().unwrap_or(f64::NAN));
        }
    }
    for (name, col) in names.into_iter().zip(extras) {
        out.extra.insert(name.clone(), col);
    }
    Bars::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bar;

    fn bar(ts_ms: i64, o: f64, h: f64, l: f64, c: f64, v: f64) -> Bar {
        Bar {
            ts_ms,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("1m").unwrap(), 60_000);
        assert_eq!(parse_interval("4h").unwrap(), 14_400_000);
        assert_eq!(parse_interval("1d").unwrap(), 86_400_000);
        assert_eq!(parse_interval("1w").unwrap(), 604_800_000);
        for bad in [
            "",
            "h",
            "0h",
            "1M",
            "1y",
            "-1h",
            "1.5h",
            "99999999999999999w",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        assert_eq!(format_interval(14_400_000), "4h");
        assert_eq!(format_interval(90_000), "90s");
    }

    #[test]
    fn hourly_bars_become_one_4h_bar_per_bucket() {
        let h = 3_600_000;
        let b = Bars::from_bars([
            bar(0, 10.0, 12.0, 9.0, 11.0, 1.0),
            bar(h, 11.0, 15.0, 10.0, 14.0, 2.0),
            bar(3 * h, 14.0, 14.0, 8.0, 9.0, 3.0),
            bar(4 * h, 9.0, 10.0, 9.0, 10.0, 4.0),
        ])
        .unwrap()
        .with_extra("oi", vec![1.0, 2.0, f64::NAN, f64::NAN])
        .unwrap();
        let r = resample(&b, 4 * h).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.bar(0), bar(0, 10.0, 15.0, 8.0, 9.0, 6.0));
        assert_eq!(r.bar(1), bar(4 * h, 9.0, 10.0, 9.0, 10.0, 4.0));
        let oi = r.extra("oi").unwrap();
        assert_eq!(oi[0], 2.0); // last non-NaN in the bucket
        assert!(oi[1].is_nan());
    }

    #[test]
    fn weeks_start_on_monday_utc() {
        // 2024-01-03 (Wednesday) falls in the week of Monday 2024-01-01 = day 19723.
        let wed = 19_725 * DAY + 5;
        assert_eq!(bucket_start(wed, WEEK), 19_723 * DAY);
        assert_eq!(bucket_start(-1, DAY), -DAY);
    }
}
