//! Drawdown series and drawdown periods, as backtesting.py 0.6.6's `compute_stats` and
//! `compute_drawdown_duration_peaks` define them.
//!
//! A drawdown period runs from a bar at a running peak (drawdown 0) to the next bar at a
//! peak, or to the last bar if the equity never recovers; periods with no bar strictly in
//! between are not periods. Pure functions on slices; no I/O.

/// Drawdown of each bar as a fraction in [0, 1]: `1 - equity / running max(equity)`.
///
/// Non-finite or non-positive running maxima give 0 for that bar, so the result is always
/// in [0, 1] for non-negative equity.
pub fn drawdown_frac(equity: &[f64]) -> Vec<f64> {
    let mut peak = f64::NEG_INFINITY;
    equity
        .iter()
        .map(|&e| {
            if e > peak {
                peak = e;
            }
            if peak > 0.0 && peak.is_finite() && e.is_finite() {
                (1.0 - e / peak).clamp(0.0, 1.0)
            } else {
                0.0
            }
        })
        .collect()
}

/// One drawdown period: from the peak bar `start` to the recovery (or last) bar `end`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawdownPeriod {
    /// Index of the peak bar the drawdown starts from.
    pub start: usize,
    /// Index of the bar where equity is back at a peak, or the last bar.
    pub end: usize,
    /// Deepest drawdown in the period, as a fraction.
    pub depth_frac: f64,
}

impl DrawdownPeriod {
    /// Length in bars (`end - start`).
    pub fn bars(&self) -> usize {
        self.end - self.start
    }
}

/// The drawdown periods of a drawdown series (see the module doc for the rule).
pub fn drawdown_periods(dd: &[f64]) -> Vec<DrawdownPeriod> {
    if dd.is_empty() {
        return Vec::new();
    }
    let last = dd.len() - 1;
    // backtesting.py: the bars at a peak, plus the last bar, de-duplicated and sorted.
    let mut marks: Vec<usize> = (0..dd.len()).filter(|&i| dd[i] == 0.0).collect();
    if marks.last() != Some(&last) {
        marks.push(last);
    }
    marks
        .windows(2)
        .filter(|w| w[1] > w[0] + 1)
        .map(|w| DrawdownPeriod {
            start: w[0],
            end: w[1],
            depth_frac: dd[w[0]..=w[1]].iter().copied().fold(0.0, f64::max),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn three_bar_curve_draws_down_then_recovers() {
        // 100 -> 80 -> 120: the middle bar is 20 % below the peak of 100.
        let dd = drawdown_frac(&[100.0, 80.0, 120.0]);
        assert!(close(&dd, &[0.0, 0.2, 0.0]), "{dd:?}");
        let p = drawdown_periods(&dd);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].start, p[0].end), (0, 2));
        assert!((p[0].depth_frac - 0.2).abs() < 1e-12);
        assert_eq!(p[0].bars(), 2);
    }

    #[test]
    fn unrecovered_drawdown_runs_to_the_last_bar() {
        // peak 100 at bar 1; 90 (10 %), 75 (25 %), still under water at the end.
        let dd = drawdown_frac(&[50.0, 100.0, 90.0, 75.0]);
        assert!(close(&dd, &[0.0, 0.0, 0.1, 0.25]), "{dd:?}");
        let p = drawdown_periods(&dd);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].start, p[0].end, p[0].depth_frac), (1, 3, 0.25));
    }

    #[test]
    fn a_single_losing_last_bar_is_not_a_period() {
        // backtesting.py needs a bar strictly between two marks.
        let dd = drawdown_frac(&[100.0, 110.0, 99.0]);
        assert!(drawdown_periods(&dd).is_empty());
    }

    #[test]
    fn rising_equity_has_no_drawdown() {
        let dd = drawdown_frac(&[1.0, 2.0, 3.0]);
        assert!(dd.iter().all(|&d| d == 0.0));
        assert!(drawdown_periods(&dd).is_empty());
    }
}
