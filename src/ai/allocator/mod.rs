//! The meta-allocator: several strategies share one account like a fund, each trading its
//! own sub-book with the capital allocated to it.
//!
//! **Weights** follow recent risk-adjusted performance: strategy `i`'s score is the Sharpe
//! ratio of its last `lookback` (30) returns, `mean / sd` (0 with fewer than 2 returns or zero
//! spread), floored at 0 and raised by `score_floor` (0.1) so a new or flat strategy keeps a
//! share. The target weights are the scores scaled by one factor `λ` and clipped to
//! [`min_weight`, `max_weight`] = [5 %, 40 %], `λ` found by bisection so they sum to 1 — the
//! projection of the proportional weights onto the capped simplex. When `n · 40 % < 1` (fewer
//! than three strategies) every strategy gets 40 % and the rest stays in cash; when
//! `n · 5 % > 1` all get `1/n`. Strategies the online learner blocks get 0 (their allocation
//! is cut) and the others share the account.
//!
//! **Rebalancing**: the sub-books drift with their PnL; when any sub-book's share of the
//! account is more than `rebalance_drift` (5 points) away from its target, all are reset to
//! the targets.
//!
//! **Daily risk budget**: the risk of a new position (size × leverage × stop distance, a
//! fraction of account equity) is granted only up to what is left of `daily_risk_frac` (2 %)
//! for the UTC day; the budget resets at 00:00 UTC.

use std::collections::VecDeque;

/// Allocator settings (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AllocatorConfig {
    /// Smallest weight of an active strategy (0.05).
    pub min_weight: f64,
    /// Largest weight (0.40).
    pub max_weight: f64,
    /// Returns the score looks back over (30).
    pub lookback: usize,
    /// Added to every score (0.1).
    pub score_floor: f64,
    /// Largest total new risk per UTC day, fraction of equity (0.02).
    pub daily_risk_frac: f64,
    /// Share drift that triggers a rebalance (0.05).
    pub rebalance_drift: f64,
}

impl Default for AllocatorConfig {
    fn default() -> Self {
        AllocatorConfig {
            min_weight: 0.05,
            max_weight: 0.40,
            lookback: 30,
            score_floor: 0.1,
            daily_risk_frac: 0.02,
            rebalance_drift: 0.05,
        }
    }
}

/// Sharpe ratio `mean / sd` (sample sd) of `r`; 0 with fewer than two values or no spread.
pub fn sharpe(r: &[f64]) -> f64 {
    if r.len() < 2 {
        return 0.0;
    }
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    if var <= 0.0 || !var.is_finite() {
        0.0
    } else {
        mean / var.sqrt()
    }
}

/// Scale `scores` by one factor and clip to `[lo, hi]` so the weights sum to 1 (module doc).
/// Zero scores stay at 0 weight only when `active` says the strategy is out.
pub fn capped_weights(scores: &[f64], active: &[bool], lo: f64, hi: f64) -> Vec<f64> {
    let idx: Vec<usize> = (0..scores.len()).filter(|&i| active[i]).collect();
    let mut w = vec![0.0; scores.len()];
    let n = idx.len() as f64;
    if idx.is_empty() {
        return w;
    }
    if n * hi <= 1.0 {
        for &i in &idx {
            w[i] = hi;
        }
        return w;
    }
    if n * lo >= 1.0 {
        for &i in &idx {
            w[i] = 1.0 / n;
        }
        return w;
    }
    let total = |lam: f64| -> f64 {
        idx.iter()
            .map(|&i| (scores[i].max(0.0) * lam).clamp(lo, hi))
            .sum()
    };
    // total(λ) grows from n·lo (< 1) to n·hi (> 1) as λ grows
    let (mut a, mut b) = (0.0, 1.0);
    while total(b) < 1.0 && b < 1e12 {
        b *= 2.0;
    }
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if total(m) < 1.0 { a = m } else { b = m }
    }
    for &i in &idx {
        w[i] = (scores[i].max(0.0) * b).clamp(lo, hi);
    }
    w
}

/// The allocator's state for a fixed list of strategies.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Allocator {
    /// Settings.
    pub cfg: AllocatorConfig,
    /// Strategy names, in order.
    pub names: Vec<String>,
    /// Recent returns per strategy.
    pub returns: Vec<VecDeque<f64>>,
    /// Whether each strategy may trade (false when the online learner blocks it).
    pub active: Vec<bool>,
    /// Target weights.
    pub target: Vec<f64>,
    /// UTC day (days since the epoch) of `risk_used`.
    pub day: i64,
    /// Risk granted today, fraction of equity.
    pub risk_used: f64,
    /// Rebalances done.
    pub rebalances: u64,
}

impl Allocator {
    /// Equal scores for `names`: every active strategy gets the same target.
    pub fn new(cfg: AllocatorConfig, names: Vec<String>) -> Self {
        let n = names.len();
        let mut a = Allocator {
            cfg,
            returns: vec![VecDeque::new(); n],
            active: vec![true; n],
            target: vec![0.0; n],
            names,
            day: i64::MIN,
            risk_used: 0.0,
            rebalances: 0,
        };
        a.retarget();
        a
    }

    /// Scores per strategy (module doc).
    pub fn scores(&self) -> Vec<f64> {
        self.returns
            .iter()
            .map(|r| {
                let v: Vec<f64> = r.iter().copied().collect();
                sharpe(&v).max(0.0) + self.cfg.score_floor
            })
            .collect()
    }

    fn retarget(&mut self) {
        self.target = capped_weights(
            &self.scores(),
            &self.active,
            self.cfg.min_weight,
            self.cfg.max_weight,
        );
    }

    /// Record a closed trade's (or a period's) return of strategy `i` and update the targets.
    pub fn record(&mut self, i: usize, ret: f64) {
        if let Some(r) = self.returns.get_mut(i) {
            r.push_back(ret);
            while r.len() > self.cfg.lookback {
                r.pop_front();
            }
        }
        self.retarget();
    }

    /// Block or unblock strategy `i` (its target becomes 0 while blocked).
    pub fn set_active(&mut self, i: usize, active: bool) {
        if let Some(a) = self.active.get_mut(i)
            && *a != active
        {
            *a = active;
            self.retarget();
        }
    }

    /// True when a sub-book's share of `equity` (the sum of `books`) is further than
    /// `rebalance_drift` from its target.
    pub fn needs_rebalance(&self, books: &[f64]) -> bool {
        let total: f64 = books.iter().sum();
        total > 0.0
            && books
                .iter()
                .zip(&self.target)
                .any(|(b, t)| (b / total - t).abs() > self.cfg.rebalance_drift)
    }

    /// Reset the sub-books to the targets (cash keeps the unallocated rest); returns the new
    /// books, which sum to at most the old total.
    pub fn rebalance(&mut self, books: &[f64], cash: f64) -> (Vec<f64>, f64) {
        let equity: f64 = books.iter().sum::<f64>() + cash;
        self.rebalances += 1;
        let new: Vec<f64> = self.target.iter().map(|t| t * equity).collect();
        let rest = equity - new.iter().sum::<f64>();
        (new, rest)
    }

    /// Grant up to `risk_frac` of equity of new risk on `ts_ms`'s UTC day; returns what is
    /// granted (0 once the day's budget is spent).
    pub fn grant_risk(&mut self, ts_ms: i64, risk_frac: f64) -> f64 {
        let day = ts_ms.div_euclid(86_400_000);
        if day != self.day {
            self.day = day;
            self.risk_used = 0.0;
        }
        let left = (self.cfg.daily_risk_frac - self.risk_used).max(0.0);
        let granted = risk_frac.max(0.0).min(left);
        self.risk_used += granted;
        granted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s{i}")).collect()
    }

    #[test]
    fn weights_stay_within_five_and_forty_percent_and_sum_to_one() {
        let w = capped_weights(&[10.0, 0.0, 0.1, 0.1, 0.1], &[true; 5], 0.05, 0.40);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{w:?}");
        assert!((w[0] - 0.40).abs() < 1e-9);
        assert!((w[1] - 0.05).abs() < 1e-9);
        assert!(w.iter().all(|x| (0.05 - 1e-12..=0.40 + 1e-12).contains(x)));
        // the three equal ones share the rest: (1 − 0.40 − 0.05) / 3
        assert!((w[2] - 0.55 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn few_strategies_leave_cash_and_blocked_ones_get_nothing() {
        let w = capped_weights(&[1.0, 1.0], &[true, true], 0.05, 0.40);
        assert_eq!(w, vec![0.40, 0.40]);
        let w = capped_weights(
            &[1.0, 1.0, 1.0, 1.0],
            &[true, false, true, true],
            0.05,
            0.40,
        );
        assert_eq!(w[1], 0.0);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let many = capped_weights(&[1.0; 25], &[true; 25], 0.05, 0.40);
        assert!((many[0] - 0.04).abs() < 1e-12);
    }

    #[test]
    fn better_risk_adjusted_returns_earn_more_weight() {
        let mut a = Allocator::new(AllocatorConfig::default(), names(4));
        assert!(a.target.iter().all(|t| (t - 0.25).abs() < 1e-9));
        for k in 0..20 {
            a.record(0, if k % 2 == 0 { 0.03 } else { 0.01 }); // steady winner
            a.record(1, if k % 2 == 0 { 0.05 } else { -0.05 }); // noisy, flat
            a.record(2, -0.01); // loser
        }
        assert!(a.target[0] > a.target[1] && a.target[1] >= a.target[2]);
        assert!((a.target[0] - 0.40).abs() < 1e-9);
        assert!((a.target[2] - 0.05).abs() < 1e-9 || a.target[2] > 0.05);
        assert!((a.target.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        a.set_active(0, false);
        assert_eq!(a.target[0], 0.0);
        assert!((a.target.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn rebalance_triggers_on_drift_and_resets_to_target() {
        let mut a = Allocator::new(AllocatorConfig::default(), names(4));
        assert!(!a.needs_rebalance(&[26.0, 25.0, 25.0, 24.0]));
        assert!(a.needs_rebalance(&[40.0, 20.0, 20.0, 20.0]));
        let (books, cash) = a.rebalance(&[40.0, 20.0, 20.0, 20.0], 0.0);
        assert!(books.iter().all(|b| (b - 25.0).abs() < 1e-9));
        assert!(cash.abs() < 1e-9);
        assert_eq!(a.rebalances, 1);
    }

    #[test]
    fn daily_risk_budget_caps_new_risk_and_resets_at_midnight_utc() {
        let mut a = Allocator::new(AllocatorConfig::default(), names(3));
        let day = 86_400_000;
        assert_eq!(a.grant_risk(10 * day + 1, 0.015), 0.015);
        assert!((a.grant_risk(10 * day + 2, 0.015) - 0.005).abs() < 1e-15);
        assert_eq!(a.grant_risk(11 * day - 1, 0.01), 0.0);
        assert_eq!(a.grant_risk(11 * day, 0.01), 0.01);
        assert_eq!(a.grant_risk(11 * day, -1.0), 0.0);
    }

    #[test]
    fn sharpe_by_hand() {
        // mean 0.02, sample sd 0.02·sqrt(2)/... for [0, 0.04]: sd = 0.028284…
        let s = sharpe(&[0.0, 0.04]);
        assert!((s - 0.02 / (0.0008f64).sqrt()).abs() < 1e-12);
        assert_eq!(sharpe(&[0.01]), 0.0);
        assert_eq!(sharpe(&[0.01, 0.01]), 0.0);
    }
}
