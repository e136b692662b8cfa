//! Tearsheet series for the backtest report (QuantStats-style): resampled period returns,
//! rolling Sharpe ratio and volatility, and the worst drawdown periods. Pure functions over
//! an equity curve, no I/O.
//!
//! Rolling figures use the simple period returns of [`period_series`] (daily for daily and
//! intraday bars) over a trailing window of `w` returns, annualised with the run's periods per year `p`: volatility
//! `σ · √p · 100` (sample σ, n − 1) and Sharpe `mean / σ · √p` (risk-free rate 0). Bars
//! before the window is full are NaN (a gap on the chart). These are display series: the
//! headline Sharpe in the statistics table is computed by `metrics` on resampled returns.

use crate::metrics::{Annualisation, Resample, drawdown_frac, drawdown_periods};

/// Equity resampled the way the statistics are (daily for intraday and daily data, weekly,
/// monthly or yearly for coarser bars; `metrics::Annualisation`): the time of each period's
/// last bar and the return into that period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PeriodSeries {
    /// UTC ms of each period's last bar (the first period has no return and is skipped).
    pub ts_ms: Vec<i64>,
    /// Simple return from the previous period's last equity to this one's.
    pub returns: Vec<f64>,
    /// Periods per year (252, 365, 52, 12 or 1).
    pub periods_per_year: f64,
    /// "daily", "weekly", "monthly" or "yearly".
    pub label: &'static str,
}

/// Resample `equity` into [`PeriodSeries`] (empty with fewer than two bars).
pub fn period_series(ts_ms: &[i64], equity: &[f64]) -> PeriodSeries {
    let Some(a) = Annualisation::infer(ts_ms) else {
        return PeriodSeries::default();
    };
    let mut last: Vec<(i64, f64)> = Vec::new();
    let mut cur: Option<i64> = None;
    for (&t, &e) in ts_ms.iter().zip(equity) {
        if e.is_nan() {
            continue;
        }
        let b = a.bucket(t);
        match (cur, last.last_mut()) {
            (Some(c), Some(slot)) if c == b => *slot = (t, e),
            _ => {
                last.push((t, e));
                cur = Some(b);
            }
        }
    }
    let (ts, returns) = last
        .windows(2)
        .map(|w| (w[1].0, w[1].1 / w[0].1 - 1.0))
        .unzip();
    PeriodSeries {
        ts_ms: ts,
        returns,
        periods_per_year: a.periods_per_year,
        label: match a.resample {
            Resample::Day => "daily",
            Resample::Week => "weekly",
            Resample::Month => "monthly",
            Resample::Year => "yearly",
        },
    }
}

/// The rolling window for a run: about six months of periods (`periods_per_year / 2`), at
/// least 20, and at most a third of the run so a short run still shows a curve.
pub fn window_for(periods_per_year: f64, bars: usize) -> usize {
    let half_year = if periods_per_year.is_finite() && periods_per_year > 0.0 {
        (periods_per_year / 2.0).round() as usize
    } else {
        126
    };
    half_year.min(bars / 3).max(20)
}

/// Rolling annualised volatility (percent) and Sharpe ratio over `w` returns: `(vol, sharpe)`
/// aligned with `returns`. A window with a NaN return, or with zero variance for the
/// Sharpe, gives NaN.
pub fn rolling_vol_sharpe(
    returns: &[f64],
    w: usize,
    periods_per_year: f64,
) -> (Vec<f64>, Vec<f64>) {
    let n = returns.len();
    let (mut vol, mut sharpe) = (vec![f64::NAN; n], vec![f64::NAN; n]);
    if w < 2 || n < w {
        return (vol, sharpe);
    }
    let ann = periods_per_year.max(0.0).sqrt();
    // running sums over finite values, with a count of NaNs in the window
    let (mut s, mut s2, mut bad) = (0.0f64, 0.0f64, 0usize);
    for i in 0..n {
        let x = returns[i];
        if x.is_finite() {
            s += x;
            s2 += x * x;
        } else {
            bad += 1;
        }
        if i >= w {
            let y = returns[i - w];
            if y.is_finite() {
                s -= y;
                s2 -= y * y;
            } else {
                bad -= 1;
            }
        }
        if i + 1 >= w && bad == 0 {
            let wf = w as f64;
            let mean = s / wf;
            let var = ((s2 - wf * mean * mean) / (wf - 1.0)).max(0.0);
            let sd = var.sqrt();
            vol[i] = sd * ann * 100.0;
            if sd > 1e-12 * mean.abs().max(1e-12) {
                sharpe[i] = mean / sd * ann;
            }
        }
    }
    (vol, sharpe)
}

/// One of the worst drawdowns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorstDrawdown {
    /// Bar of the peak it starts from.
    pub peak: usize,
    /// Bar of the trough.
    pub trough: usize,
    /// Bar where equity is back at the peak (`None`: not recovered by the end).
    pub recovery: Option<usize>,
    /// Depth, percent (positive).
    pub depth_pct: f64,
}

/// The `k` deepest drawdown periods, deepest first.
pub fn worst_drawdowns(equity: &[f64], k: usize) -> Vec<WorstDrawdown> {
    let dd = drawdown_frac(equity);
    let mut out: Vec<WorstDrawdown> = drawdown_periods(&dd)
        .into_iter()
        .map(|p| {
            let trough = (p.start..=p.end)
                .max_by(|&a, &b| dd[a].total_cmp(&dd[b]).then(b.cmp(&a)))
                .unwrap_or(p.start);
            WorstDrawdown {
                peak: p.start,
                trough,
                recovery: (dd[p.end] == 0.0).then_some(p.end),
                depth_pct: p.depth_frac * 100.0,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.depth_pct
            .total_cmp(&a.depth_pct)
            .then(a.peak.cmp(&b.peak))
    });
    out.truncate(k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_periods_of_hourly_bars() {
        const H: i64 = 3_600_000;
        // day 0: 100 then 110 (last); day 1: 99 (last); day 2: 108.9
        let ts = [0, H, 24 * H, 48 * H];
        let p = period_series(&ts, &[100.0, 110.0, 99.0, 108.9]);
        assert_eq!(p.label, "daily");
        assert_eq!(p.ts_ms, vec![24 * H, 48 * H]);
        assert!((p.returns[0] + 0.1).abs() < 1e-12);
        assert!((p.returns[1] - 0.1).abs() < 1e-12);
    }

    #[test]
    fn rolling_figures_by_hand() {
        // window 3 over [NaN, 0.01, -0.01, 0.03]: only the last window is complete:
        // mean 0.01, sample variance ((0)² + (-0.02)² + 0.02²) / 2 = 0.0004, σ = 0.02
        let r = [f64::NAN, 0.01, -0.01, 0.03];
        let (vol, sh) = rolling_vol_sharpe(&r, 3, 100.0);
        assert!(vol[..3].iter().all(|v| v.is_nan()));
        assert!((vol[3] - 0.02 * 10.0 * 100.0).abs() < 1e-9, "{}", vol[3]);
        assert!((sh[3] - 0.01 / 0.02 * 10.0).abs() < 1e-9, "{}", sh[3]);
    }

    #[test]
    fn window_is_half_a_year_within_bounds() {
        assert_eq!(window_for(252.0, 5000), 126);
        assert_eq!(window_for(252.0, 90), 30);
        assert_eq!(window_for(252.0, 30), 20);
        assert_eq!(window_for(f64::NAN, 5000), 126);
    }

    #[test]
    fn worst_drawdowns_deepest_first_with_trough_and_recovery() {
        // peak 100 → 80 → 100 (20 %), peak 110 → 104.5 → 110 (5 %), peak 120 → 60 (50 %, open)
        let eq = [
            100.0, 80.0, 100.0, 110.0, 104.5, 110.0, 120.0, 90.0, 60.0, 70.0,
        ];
        let w = worst_drawdowns(&eq, 5);
        assert_eq!(w.len(), 3);
        assert_eq!((w[0].peak, w[0].trough, w[0].recovery), (6, 8, None));
        assert!((w[0].depth_pct - 50.0).abs() < 1e-9);
        assert_eq!((w[1].peak, w[1].trough, w[1].recovery), (0, 1, Some(2)));
        assert!((w[2].depth_pct - 5.0).abs() < 1e-9);
        assert_eq!(worst_drawdowns(&eq, 1).len(), 1);
    }
}
