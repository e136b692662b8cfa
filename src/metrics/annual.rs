//! Annualised figures the way backtesting.py 0.6.6 computes them for a datetime index.
//!
//! The bar period is the median spacing of the last 100 timestamps. The equity is resampled
//! to calendar days (weeks ending Sunday for weekly bars, month ends for ~monthly bars, year
//! ends for yearly bars), keeping each bucket's last value; the bucket returns are compounded
//! with a geometric mean and annualised over 252 periods a year when fewer than 60 % of the
//! expected weekend bars exist (stock data) and over 365 otherwise (crypto), or 52/12/1 for
//! weekly, monthly and yearly bars. Timestamps are UTC milliseconds; no wall clock.

const DAY_MS: i64 = 86_400_000;

/// Median spacing of the last 100 timestamps, in ms (pandas' median: the mean of the two
/// middle values for an even count); `None` with fewer than two timestamps.
pub fn data_period_ms(ts_ms: &[i64]) -> Option<f64> {
    let tail = &ts_ms[ts_ms.len().saturating_sub(100)..];
    let mut diffs: Vec<i64> = tail.windows(2).map(|w| w[1] - w[0]).collect();
    if diffs.is_empty() {
        return None;
    }
    diffs.sort_unstable();
    let m = diffs.len() / 2;
    Some(if diffs.len() % 2 == 1 {
        diffs[m] as f64
    } else {
        (diffs[m - 1] as f64 + diffs[m] as f64) / 2.0
    })
}

/// The calendar bucket the equity is resampled to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resample {
    /// Calendar days (UTC).
    Day,
    /// Weeks ending on Sunday.
    Week,
    /// Calendar months.
    Month,
    /// Calendar years.
    Year,
}

/// How returns are annualised: the bucket and the number of buckets per year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Annualisation {
    /// The resampling bucket.
    pub resample: Resample,
    /// Buckets per year (252, 365, 52, 12 or 1).
    pub periods_per_year: f64,
}

/// Day number since 1970-01-01 (Thursday) of a UTC ms timestamp.
fn day_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(DAY_MS)
}

/// True for Saturday and Sunday (UTC).
fn is_weekend(ts_ms: i64) -> bool {
    // day 0 was a Thursday: (day + 3) mod 7 gives Monday = 0 … Sunday = 6
    (day_of(ts_ms) + 3).rem_euclid(7) >= 5
}

/// Civil (year, month) of a day number (Howard Hinnant's `civil_from_days`).
fn year_month(day: i64) -> (i64, i64) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

/// Public (year, month 1–12) of a UTC ms timestamp, for monthly tables.
pub fn year_month_of(ts_ms: i64) -> (i64, i64) {
    year_month(day_of(ts_ms))
}

impl Annualisation {
    /// Infer it from the timestamps (backtesting.py's rule); `None` with fewer than two bars.
    pub fn infer(ts_ms: &[i64]) -> Option<Annualisation> {
        let period = data_period_ms(ts_ms)?;
        let freq_days = (period / DAY_MS as f64).floor() as i64;
        let weekend = ts_ms.iter().filter(|&&t| is_weekend(t)).count() as f64;
        let have_weekends = weekend / ts_ms.len() as f64 > 2.0 / 7.0 * 0.6;
        let (resample, periods_per_year) = match freq_days {
            7 => (Resample::Week, 52.0),
            31 => (Resample::Month, 12.0),
            365 => (Resample::Year, 1.0),
            _ if have_weekends => (Resample::Day, 365.0),
            _ => (Resample::Day, 252.0),
        };
        Some(Annualisation {
            resample,
            periods_per_year,
        })
    }

    /// The resampling bucket of `ts_ms` (a day, week, month or year number); bars with equal
    /// buckets are resampled to one value.
    pub fn bucket(&self, ts_ms: i64) -> i64 {
        let day = day_of(ts_ms);
        match self.resample {
            Resample::Day => day,
            // Monday 1970-01-05 is day 4; weeks run Monday..Sunday
            Resample::Week => (day - 4).div_euclid(7),
            Resample::Month => {
                let (y, m) = year_month(day);
                y * 12 + m
            }
            Resample::Year => year_month(day).0,
        }
    }

    /// Returns between consecutive non-empty buckets' last equity values
    /// (pandas `resample(...).last().dropna().pct_change().dropna()`).
    pub fn period_returns(&self, ts_ms: &[i64], equity: &[f64]) -> Vec<f64> {
        let mut last: Vec<f64> = Vec::new();
        let mut cur: Option<i64> = None;
        for (&t, &e) in ts_ms.iter().zip(equity) {
            if e.is_nan() {
                continue;
            }
            let b = self.bucket(t);
            match (cur, last.last_mut()) {
                (Some(c), Some(slot)) if c == b => *slot = e,
                _ => {
                    last.push(e);
                    cur = Some(b);
                }
            }
        }
        last.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
    }
}

/// backtesting.py's `geometric_mean`: NaN for no returns, 0 when any return is <= -100 %.
pub fn geometric_mean(returns: &[f64]) -> f64 {
    if returns.is_empty() {
        return f64::NAN;
    }
    let mut log_sum = 0.0;
    for &r in returns {
        let g = if r.is_nan() { 1.0 } else { 1.0 + r };
        if g <= 0.0 {
            return 0.0;
        }
        log_sum += g.ln();
    }
    (log_sum / returns.len() as f64).exp() - 1.0
}

/// Sample variance (ddof = 1); NaN with fewer than two values.
pub fn sample_var(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return f64::NAN;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)
}

/// The annual figures of one equity curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnnualFigures {
    /// Annualised compounded return, fraction.
    pub return_ann: f64,
    /// Annualised volatility, fraction.
    pub volatility_ann: f64,
    /// Sortino ratio (risk-free rate 0).
    pub sortino: f64,
}

/// Annual return, volatility and Sortino from bucket returns (backtesting.py's formulas:
/// `(1+g)^N - 1`; `sqrt((var + (1+g)^2)^N - (1+g)^(2N))`; return over the downside
/// deviation times `sqrt(N)`).
pub fn annual_figures(returns: &[f64], periods_per_year: f64) -> AnnualFigures {
    let g = geometric_mean(returns);
    let n = periods_per_year;
    let return_ann = (1.0 + g).powf(n) - 1.0;
    // pandas' `var` and `mean` skip NaN (a 0 → 0 equity step after a bankruptcy), so a
    // bankrupt run gets a finite volatility and Sharpe, Sortino and Calmar of 0 as in
    // backtesting.py (issue 9 item 6)
    let kept: Vec<f64>;
    let returns = if returns.iter().any(|r| r.is_nan()) {
        kept = returns.iter().copied().filter(|r| !r.is_nan()).collect();
        &kept[..]
    } else {
        returns
    };
    let var = sample_var(returns);
    let volatility_ann = ((var + (1.0 + g).powi(2)).powf(n) - (1.0 + g).powf(2.0 * n)).sqrt();
    let downside = if returns.is_empty() {
        f64::NAN
    } else {
        let sq: f64 = returns.iter().map(|r| r.min(0.0).powi(2)).sum();
        (sq / returns.len() as f64).sqrt()
    };
    let sortino = return_ann / (downside * n.sqrt());
    AnnualFigures {
        return_ann,
        volatility_ann,
        sortino,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = DAY_MS;

    #[test]
    fn weekdays_only_annualise_over_252() {
        // Mon 2024-01-01 .. Fri 2024-01-05, then Mon 2024-01-08
        let start = 19_723 * D;
        let ts: Vec<i64> = [0, 1, 2, 3, 4, 7].iter().map(|d| start + d * D).collect();
        let a = Annualisation::infer(&ts).unwrap();
        assert_eq!(a.resample, Resample::Day);
        assert_eq!(a.periods_per_year, 252.0);
    }

    #[test]
    fn every_day_annualises_over_365() {
        let ts: Vec<i64> = (0..14).map(|d| 19_723 * D + d * D).collect();
        assert_eq!(Annualisation::infer(&ts).unwrap().periods_per_year, 365.0);
    }

    #[test]
    fn hourly_bars_resample_to_the_day_close() {
        let a = Annualisation {
            resample: Resample::Day,
            periods_per_year: 365.0,
        };
        let ts = [0, 3_600_000, D, D + 3_600_000, 2 * D];
        let eq = [100.0, 110.0, 121.0, 99.0, 121.0];
        let r = a.period_returns(&ts, &eq);
        // day closes 110, 99, 121 -> -10 %, +22.2 %
        assert_eq!(r.len(), 2);
        assert!((r[0] + 0.1).abs() < 1e-12);
        assert!((r[1] - 121.0 / 99.0 + 1.0).abs() < 1e-12);
    }

    #[test]
    fn geometric_mean_of_up_and_down_ten_percent() {
        // sqrt(1.1 * 0.9) - 1 = sqrt(0.99) - 1
        let g = geometric_mean(&[0.1, -0.1]);
        assert!((g - (0.99f64.sqrt() - 1.0)).abs() < 1e-15);
        assert_eq!(geometric_mean(&[0.5, -1.0]), 0.0);
        assert!(geometric_mean(&[]).is_nan());
    }

    #[test]
    fn civil_dates_round_trip_known_days() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(19_723), (2024, 1)); // 2024-01-01
        assert_eq!(year_month(19_782), (2024, 2)); // 2024-02-29
        assert_eq!(year_month(19_783), (2024, 3));
    }
}
