//! `check`: a lenient pass over a bar file that reports every problem (not just the first),
//! the time range, the inferred bar interval and the gaps.
//!
//! Gaps: a spacing larger than the inferred interval (the most common spacing). Two
//! calendars are recognised so that closed markets are not reported as missing data:
//! - a daily series with no bar on a Saturday or Sunday (UTC) follows a trading-day
//!   calendar: only spacings over 4 days are gaps (so weekends and one-day holidays next to
//!   them are not), counted in missing weekdays;
//! - any other gap no longer than 4 days that spans a Saturday is labelled `weekend` (forex
//!   and futures closures on hourly data): reported, but expected.

use std::path::Path;

use serde::Serialize;

use super::bars::check_bar;
use super::csv::{Lenient, Problems, parse_csv};
use super::file::{FileKind, is_parquet_file, kind_of};
use super::parquet::read_parquet_columns;
use super::{Columns, DataError};
use crate::core::time::weekday;

const DAY: i64 = 86_400_000;

/// A hole in the series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Timestamp (UTC ms) of the last bar before the gap.
    pub after_ts: i64,
    /// Bars missing at the inferred interval (weekdays, on a trading-day calendar).
    pub missing_bars: i64,
    /// True for a gap over a weekend (expected for forex and futures).
    pub weekend: bool,
}

/// What [`check`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// The file checked.
    pub path: String,
    /// Its format (`csv`, `yfinance csv`, `binance csv`, `parquet`), if it was recognised.
    pub format: Option<String>,
    /// Rows that parsed into a bar (including those with a problem such as high < low).
    pub bars: usize,
    /// First timestamp (UTC ms).
    pub first_ts: Option<i64>,
    /// Last timestamp (UTC ms).
    pub last_ts: Option<i64>,
    /// The most common spacing between bars, in ms.
    pub interval_ms: Option<i64>,
    /// True when the series is daily with no weekend bars (trading-day calendar).
    pub trading_days: bool,
    /// The gaps, in time order.
    pub gaps: Vec<Gap>,
    /// Every problem, one line each naming file, line and cause (at most
    /// [`super::csv::MAX_PROBLEMS`] are listed; `problems_total` counts them all).
    pub problems: Vec<String>,
    /// How many problems there were.
    pub problems_total: usize,
}

impl CheckReport {
    /// True when there is no problem (gaps are not problems).
    pub fn is_ok(&self) -> bool {
        self.problems_total == 0
    }
}

/// Check a bar file (CSV in any supported dialect, or Parquet), collecting every problem.
/// Never fails: an unreadable file is reported as a problem.
pub fn check(path: &Path) -> CheckReport {
    let mut lenient = Lenient::default();
    let mut format = None;
    let cols = if kind_of(path) == Some(FileKind::Parquet) || is_parquet_file(path) {
        format = Some("parquet".to_string());
        read_parquet_columns(path).and_then(|cols| {
            let mut prev = None;
            for i in 0..cols.len() {
                let bar = crate::data::Bar {
                    ts_ms: cols.ts_ms[i],
                    open: cols.open[i],
                    high: cols.high[i],
                    low: cols.low[i],
                    close: cols.close[i],
                    volume: cols.volume[i],
                };
                if let Err(cause) = check_bar(&bar, prev) {
                    lenient.report(DataError::Line {
                        path: path.display().to_string(),
                        line: i as u64 + 1,
                        cause,
                    })?;
                }
                prev = Some(bar.ts_ms);
            }
            Ok(cols)
        })
    } else {
        parse_csv(path, &mut lenient).map(|p| {
            format = Some(p.format.name().to_string());
            p.cols
        })
    };
    let cols = cols.unwrap_or_else(|e| {
        let _ = lenient.report(e);
        Columns::default()
    });
    if cols.is_empty() && lenient.total == 0 {
        let _ = lenient.report(DataError::File {
            path: path.display().to_string(),
            cause: "no bars in the file".into(),
        });
    }
    let ts = &cols.ts_ms;
    let interval_ms = infer_interval(ts);
    let trading_days =
        interval_ms == Some(DAY) && !ts.is_empty() && ts.iter().all(|&t| weekday(t) < 5);
    let gaps = interval_ms.map_or_else(Vec::new, |iv| find_gaps(ts, iv, trading_days));
    CheckReport {
        path: path.display().to_string(),
        format,
        bars: cols.len(),
        first_ts: ts.first().copied(),
        last_ts: ts.last().copied(),
        interval_ms,
        trading_days,
        gaps,
        problems: lenient.list,
        problems_total: lenient.total,
    }
}

/// The most common positive spacing; ties go to the smaller one. (Counted in a hash map,
/// not by sorting: 10 M spacings are nearly all equal.)
fn infer_interval(ts: &[i64]) -> Option<i64> {
    let mut counts: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    let mut last: Option<(i64, usize)> = None;
    // runs of equal spacings are counted once per run, cheaply
    for w in ts.windows(2) {
        let d = w[1].saturating_sub(w[0]);
        if d <= 0 {
            continue;
        }
        match &mut last {
            Some((ld, n)) if *ld == d => *n += 1,
            _ => {
                if let Some((ld, n)) = last {
                    *counts.entry(ld).or_default() += n;
                }
                last = Some((d, 1));
            }
        }
    }
    if let Some((ld, n)) = last {
        *counts.entry(ld).or_default() += n;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(d, _)| d)
}

/// Weekdays strictly between two timestamps' days.
fn weekdays_between(a: i64, b: i64) -> i64 {
    let (first, last) = (a.div_euclid(DAY) + 1, b.div_euclid(DAY));
    let days = (last - first).max(0);
    // whole weeks hold 5 weekdays each; walk the remaining < 7 days
    let tail_start = first + days / 7 * 7;
    days / 7 * 5 + (tail_start..last).filter(|&d| weekday(d * DAY) < 5).count() as i64
}

fn spans_saturday(a: i64, b: i64) -> bool {
    let (da, db) = (a.div_euclid(DAY), b.div_euclid(DAY));
    (da..=db).any(|d| weekday(d * DAY) == 5)
}

fn find_gaps(ts: &[i64], interval_ms: i64, trading_days: bool) -> Vec<Gap> {
    let mut gaps = Vec::new();
    for w in ts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let d = b.saturating_sub(a);
        if d <= interval_ms {
            continue;
        }
        if trading_days {
            if d > 4 * DAY {
                gaps.push(Gap {
                    after_ts: a,
                    missing_bars: weekdays_between(a, b),
                    weekend: false,
                });
            }
            continue;
        }
        // round, so that jitter (months of 30 and 31 days) is not a gap
        let missing = (d + interval_ms / 2) / interval_ms - 1;
        if missing >= 1 {
            gaps.push(Gap {
                after_ts: a,
                missing_bars: missing,
                weekend: d <= 4 * DAY && spans_saturday(a, b),
            });
        }
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    // 2024-01-01 was a Monday
    const MON: i64 = 19_723 * DAY;

    #[test]
    fn trading_days_skip_weekends_but_not_long_closures() {
        // Mon..Fri, next Mon, then Wed of the week after (Mon+Tue... missing)
        let mut ts: Vec<i64> = (0..5).map(|i| MON + i * DAY).collect();
        ts.push(MON + 7 * DAY);
        ts.push(MON + 16 * DAY); // Wed of week 3: 8 missing weekdays (Tue..Fri, Mon..Tue…)
        assert_eq!(infer_interval(&ts), Some(DAY));
        let g = find_gaps(&ts, DAY, true);
        // between Mon(7) and Wed(16): days 8..=15 are Tue,Wed,Thu,Fri,Sat,Sun,Mon,Tue → 6
        assert_eq!(
            g,
            vec![Gap {
                after_ts: MON + 7 * DAY,
                missing_bars: 6,
                weekend: false
            }]
        );
    }

    #[test]
    fn weekdays_between_counts_whole_weeks_and_tails() {
        // Fri → Mon two weeks and three days later: days 5..=20 hold Mon-Fri twice
        assert_eq!(weekdays_between(MON + 4 * DAY, MON + 21 * DAY), 10);
        assert_eq!(weekdays_between(MON, MON + DAY), 0);
        // Mon → Fri of the same week: Tue, Wed, Thu
        assert_eq!(weekdays_between(MON, MON + 4 * DAY), 3);
        // Thu → Tue: Fri and Mon
        assert_eq!(weekdays_between(MON + 3 * DAY, MON + 8 * DAY), 2);
    }

    #[test]
    fn hourly_weekend_is_labelled() {
        // Fri 20:00 → Sun 22:00 is 50 h: 49 missing hours; plus a 3 h outage on Monday
        let fri = MON + 4 * DAY + 20 * H;
        let sun = MON + 6 * DAY + 22 * H;
        let ts = vec![
            fri - 2 * H,
            fri - H,
            fri,
            sun,
            sun + H,
            sun + 4 * H,
            sun + 5 * H,
        ];
        let g = find_gaps(&ts, H, false);
        assert_eq!(
            g,
            vec![
                Gap {
                    after_ts: fri,
                    missing_bars: 49,
                    weekend: true
                },
                Gap {
                    after_ts: sun + H,
                    missing_bars: 2,
                    weekend: false
                },
            ]
        );
    }

    #[test]
    fn problems_are_all_reported() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.csv");
        std::fs::write(
            &p,
            "timestamp,open,high,low,close,volume\n2024-01-01,1,2,0.5,1,1\n2024-01-02,1,0.1,0.5,1,1\n\
             2024-01-03,x,2,0.5,1,1\n2024-01-05,1,2,0.5,1,1\n",
        )
        .unwrap();
        let r = check(&p);
        assert_eq!(r.problems_total, 2, "{:?}", r.problems);
        assert_eq!(r.bars, 3);
        assert_eq!(r.format.as_deref(), Some("csv"));
        assert!(!r.is_ok());
        let r = check(&d.path().join("missing.csv"));
        assert_eq!(r.problems_total, 1);
    }
}
