//! Series derived for the report: buy & hold on the same starting cash, drawdown in percent,
//! min/max-preserving downsampling for charts, and the monthly/yearly return table. Pure
//! functions, no I/O.

use std::collections::BTreeMap;

use crate::metrics::annual::year_month_of;
use crate::metrics::drawdown_frac;

/// Buy & hold equity: `cash0` invested at the first close (fractional units, no fees).
pub fn buy_hold(close: &[f64], cash0: f64) -> Vec<f64> {
    match close.first() {
        Some(&c0) if c0 > 0.0 => close.iter().map(|c| cash0 * c / c0).collect(),
        _ => vec![f64::NAN; close.len()],
    }
}

/// Drawdown of each bar in percent (0 at a peak, positive below it).
pub fn drawdown_pct(equity: &[f64]) -> Vec<f64> {
    drawdown_frac(equity)
        .into_iter()
        .map(|d| d * 100.0)
        .collect()
}

/// Indices of at most `max_points` samples of `ys`: the series is cut into buckets of
/// consecutive bars and each bucket keeps its minimum and maximum (in time order), so a
/// spike or a drawdown trough always survives. The first and last bars are always kept.
pub fn downsample(ys: &[f64], max_points: usize) -> Vec<usize> {
    let n = ys.len();
    if n <= max_points.max(4) {
        return (0..n).collect();
    }
    let buckets = (max_points.max(4) - 2) / 2;
    let mut out = Vec::with_capacity(buckets * 2 + 2);
    out.push(0);
    for b in 0..buckets {
        let lo = 1 + b * (n - 2) / buckets;
        let hi = 1 + (b + 1) * (n - 2) / buckets;
        if lo >= hi {
            continue;
        }
        let (mut imin, mut imax) = (lo, lo);
        for i in lo..hi {
            if ys[i] < ys[imin] {
                imin = i;
            }
            if ys[i] > ys[imax] {
                imax = i;
            }
        }
        out.push(imin.min(imax));
        if imin != imax {
            out.push(imin.max(imax));
        }
    }
    out.push(n - 1);
    out
}

/// Monthly and yearly returns in percent: `months[(year, month)]` compares the month's last
/// equity with the previous month's last (the first month with the first equity value);
/// `years[year]` likewise.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PeriodReturns {
    /// (year, month 1–12) → return, percent.
    pub months: BTreeMap<(i64, i64), f64>,
    /// year → return, percent.
    pub years: BTreeMap<i64, f64>,
}

/// Compute [`PeriodReturns`] from an equity curve.
pub fn period_returns(ts_ms: &[i64], equity: &[f64]) -> PeriodReturns {
    let mut out = PeriodReturns::default();
    let Some(&first) = equity.first() else {
        return out;
    };
    let mut month_last: BTreeMap<(i64, i64), f64> = BTreeMap::new();
    for (&t, &e) in ts_ms.iter().zip(equity) {
        month_last.insert(year_month_of(t), e);
    }
    let (mut prev_m, mut prev_y, mut cur_year) = (first, first, None);
    let mut year_last = first;
    for (&(y, m), &e) in &month_last {
        if cur_year.is_some_and(|cy| cy != y) {
            if let Some(cy) = cur_year {
                out.years.insert(cy, (year_last / prev_y - 1.0) * 100.0);
            }
            prev_y = year_last;
        }
        cur_year = Some(y);
        out.months.insert((y, m), (e / prev_m - 1.0) * 100.0);
        prev_m = e;
        year_last = e;
    }
    if let Some(cy) = cur_year {
        out.years.insert(cy, (year_last / prev_y - 1.0) * 100.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = 86_400_000;

    #[test]
    fn buy_hold_scales_the_close_to_the_cash() {
        assert_eq!(
            buy_hold(&[10.0, 12.0, 9.0], 1000.0),
            vec![1000.0, 1200.0, 900.0]
        );
    }

    #[test]
    fn downsampling_keeps_the_extremes() {
        let mut ys: Vec<f64> = (0..10_000).map(|i| (i as f64 * 0.01).sin()).collect();
        ys[5_123] = -50.0;
        ys[7_777] = 40.0;
        let idx = downsample(&ys, 4000);
        assert!(idx.len() <= 4000);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        assert!(idx.contains(&5_123) && idx.contains(&7_777));
        assert_eq!((idx[0], *idx.last().unwrap()), (0, 9_999));
        assert_eq!(downsample(&[1.0, 2.0], 4000), vec![0, 1]);
    }

    #[test]
    fn monthly_returns_by_hand() {
        // 2023-12-31: 100; 2024-01-15: 110; 2024-01-31: 120; 2024-02-10: 90
        let ts = [19_722 * D, 19_737 * D, 19_753 * D, 19_763 * D];
        let r = period_returns(&ts, &[100.0, 110.0, 120.0, 90.0]);
        assert_eq!(r.months[&(2023, 12)], 0.0);
        assert!((r.months[&(2024, 1)] - 20.0).abs() < 1e-12);
        assert!((r.months[&(2024, 2)] + 25.0).abs() < 1e-12);
        assert_eq!(r.years[&2023], 0.0);
        assert!((r.years[&2024] + 10.0).abs() < 1e-12);
    }
}
