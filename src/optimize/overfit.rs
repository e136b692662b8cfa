//! Overfitting statistics for a chosen strategy configuration out of many tried:
//!
//! - the Deflated Sharpe Ratio (Bailey & López de Prado 2014, "The Deflated Sharpe Ratio:
//!   Correcting for Selection Bias, Backtest Overfitting and Non-Normality", J. Portfolio
//!   Management 40(5)), with the Probabilistic Sharpe Ratio it builds on;
//! - the Probability of Backtest Overfitting by Combinatorially Symmetric Cross-Validation
//!   (Bailey, Borwein, López de Prado & Zhu 2017, "The Probability of Backtest
//!   Overfitting", J. Computational Finance 20(4)).
//!
//! Sharpe ratios here are per period (mean / standard deviation of per-bar returns), never
//! annualised; kurtosis is the plain (non-excess) fourth standardised moment, 3 for a normal.
//! Pure functions of their inputs; PBO runs its combinations on rayon and collects them in
//! combination order, so the result does not depend on the thread count.

use rayon::prelude::*;

use super::normal::{norm_cdf, norm_ppf};
use crate::indicators::ParamError;

/// The Euler–Mascheroni constant γ.
pub const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// The deflated Sharpe ratio of a selected strategy.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DsrResult {
    /// DSR = PSR(SR0): the probability, in [0, 1], that the true Sharpe ratio exceeds the
    /// best one expected from the trials under the null of no skill.
    pub dsr: f64,
    /// SR0, the expected maximum per-period Sharpe ratio of the trials under the null.
    pub sr0: f64,
    /// PSR(0): the probability that the true Sharpe ratio is positive.
    pub psr: f64,
}

/// Per-period moments of a return series.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ReturnMoments {
    /// Number of returns.
    pub n: usize,
    /// Mean / sample standard deviation (n − 1), per period.
    pub sharpe: f64,
    /// Skewness (population moments: `m3 / m2^1.5`).
    pub skew: f64,
    /// Kurtosis, non-excess (population moments: `m4 / m2²`).
    pub kurt: f64,
}

/// The moments of `returns`; `None` with fewer than 2 values, a non-finite value, or zero
/// variance.
pub fn return_moments(returns: &[f64]) -> Option<ReturnMoments> {
    let n = returns.len();
    if n < 2 || returns.iter().any(|r| !r.is_finite()) {
        return None;
    }
    let nf = n as f64;
    let mean = returns.iter().sum::<f64>() / nf;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for r in returns {
        let d = r - mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    if m2 <= 0.0 {
        return None;
    }
    let sd = (m2 / (nf - 1.0)).sqrt();
    let (m2, m3, m4) = (m2 / nf, m3 / nf, m4 / nf);
    Some(ReturnMoments {
        n,
        sharpe: mean / sd,
        skew: m3 / m2.powf(1.5),
        kurt: m4 / (m2 * m2),
    })
}

/// SR0 = √V · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))): the expected maximum Sharpe
/// ratio of `n_trials` independent trials whose Sharpe ratios have variance `var_trials`.
pub fn expected_max_sharpe(n_trials: usize, var_trials: f64) -> f64 {
    let n = n_trials as f64;
    var_trials.sqrt()
        * ((1.0 - EULER_GAMMA) * norm_ppf(1.0 - 1.0 / n)
            + EULER_GAMMA * norm_ppf(1.0 - 1.0 / (n * std::f64::consts::E)))
}

/// PSR(SR*) = Φ((SR − SR*)·√(T − 1) / √(1 − γ3·SR + (γ4 − 1)/4·SR²)).
///
/// # Errors
/// [`ParamError`] for `n_obs < 2`, a non-finite input, or a non-positive variance term
/// (extreme skewness for this Sharpe ratio).
pub fn probabilistic_sharpe(
    sr_hat: f64,
    sr_star: f64,
    n_obs: usize,
    skew: f64,
    kurt: f64,
) -> Result<f64, ParamError> {
    if n_obs < 2 {
        return Err(ParamError::new("n_obs", n_obs, "at least 2 returns"));
    }
    for (name, v) in [
        ("sharpe", sr_hat),
        ("sr_star", sr_star),
        ("skew", skew),
        ("kurt", kurt),
    ] {
        if !v.is_finite() {
            return Err(ParamError::new(name, v, "a finite number"));
        }
    }
    let var = 1.0 - skew * sr_hat + (kurt - 1.0) / 4.0 * sr_hat * sr_hat;
    if var <= 0.0 {
        return Err(ParamError::new(
            "skew",
            skew,
            "1 - skew*sr + (kurt-1)/4*sr^2 > 0",
        ));
    }
    Ok(norm_cdf(
        (sr_hat - sr_star) * ((n_obs - 1) as f64).sqrt() / var.sqrt(),
    ))
}

/// The deflated Sharpe ratio from the number of trials and the variance of their Sharpe
/// ratios (the paper's parametrisation).
///
/// # Errors
/// As [`probabilistic_sharpe`], plus `n_trials < 2` or a negative or non-finite variance.
pub fn deflated_sharpe_from(
    sr_hat: f64,
    n_obs: usize,
    skew: f64,
    kurt: f64,
    n_trials: usize,
    var_trials: f64,
) -> Result<DsrResult, ParamError> {
    if n_trials < 2 {
        return Err(ParamError::new("trials", n_trials, "at least 2"));
    }
    if !(var_trials >= 0.0 && var_trials.is_finite()) {
        return Err(ParamError::new("trial sharpe variance", var_trials, ">= 0"));
    }
    let sr0 = expected_max_sharpe(n_trials, var_trials);
    Ok(DsrResult {
        dsr: probabilistic_sharpe(sr_hat, sr0, n_obs, skew, kurt)?,
        sr0,
        psr: probabilistic_sharpe(sr_hat, 0.0, n_obs, skew, kurt)?,
    })
}

/// The deflated Sharpe ratio of a selected strategy with per-period Sharpe `sr_hat` over
/// `n_obs` returns of skewness `skew` and (non-excess) kurtosis `kurt`, selected among
/// trials with per-period Sharpe ratios `sr_trials` (N = their count, V = their sample
/// variance, n − 1 denominator).
///
/// # Errors
/// As [`deflated_sharpe_from`]; also a non-finite trial Sharpe ratio.
pub fn deflated_sharpe(
    sr_hat: f64,
    n_obs: usize,
    skew: f64,
    kurt: f64,
    sr_trials: &[f64],
) -> Result<DsrResult, ParamError> {
    let n = sr_trials.len();
    if let Some(bad) = sr_trials.iter().find(|v| !v.is_finite()) {
        return Err(ParamError::new("trial sharpe", bad, "a finite number"));
    }
    if n < 2 {
        return Err(ParamError::new("trials", n, "at least 2"));
    }
    let mean = sr_trials.iter().sum::<f64>() / n as f64;
    let var = sr_trials
        .iter()
        .map(|s| (s - mean) * (s - mean))
        .sum::<f64>()
        / (n - 1) as f64;
    deflated_sharpe_from(sr_hat, n_obs, skew, kurt, n, var)
}

/// The result of CSCV.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PboResult {
    /// Share of combinations whose in-sample best strategy ranks at or below the median out
    /// of sample (logit ≤ 0).
    pub pbo: f64,
    /// Per combination (itertools order), the logit `ln(ω/(1 − ω))` of the in-sample best
    /// strategy's relative out-of-sample rank ω = rank/(N + 1).
    pub logits: Vec<f64>,
    /// C(S, S/2).
    pub n_combinations: usize,
}

/// Running (count, mean, sum of squared deviations).
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Stats {
    fn push(&mut self, x: f64) {
        self.n += 1.0;
        let d = x - self.mean;
        self.mean += d / self.n;
        self.m2 += d * (x - self.mean);
    }

    /// Chan et al.'s pairwise merge.
    fn merge(self, o: Stats) -> Stats {
        if self.n == 0.0 {
            return o;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        Stats {
            n,
            mean: self.mean + d * o.n / n,
            m2: self.m2 + o.m2 + d * d * self.n * o.n / n,
        }
    }

    /// Mean / sample sd; ±∞ or 0 when the sd is 0.
    fn sharpe(&self) -> f64 {
        let var = self.m2 / (self.n - 1.0);
        if var > 0.0 {
            self.mean / var.sqrt()
        } else if self.mean > 0.0 {
            f64::INFINITY
        } else if self.mean < 0.0 {
            f64::NEG_INFINITY
        } else {
            0.0
        }
    }
}

/// All `k`-subsets of `0..s` as bitmasks, in lexicographic order of their index tuples
/// (Python's `itertools.combinations`).
fn combinations(s: usize, k: usize) -> Vec<u32> {
    let mut out = Vec::new();
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        out.push(idx.iter().fold(0u32, |m, &i| m | (1 << i)));
        let Some(i) = (0..k).rev().find(|&i| idx[i] != i + s - k) else {
            return out;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// The largest number of splits [`pbo_cscv`] accepts (C(24, 12) = 2 704 156 combinations).
pub const MAX_SPLITS: usize = 24;

/// PBO by CSCV over a `T × N` matrix of per-period returns (`perf[t][n]`: period `t`,
/// strategy `n`).
///
/// Rows are split into `s_splits` contiguous blocks (sizes differ by at most one, the larger
/// first, as `numpy.array_split`). For each of the C(S, S/2) choices of S/2 blocks as
/// in-sample (the rest out of sample), the strategy with the best in-sample Sharpe ratio
/// (mean / sample sd; the lowest index on ties) is ranked among all N out of sample
/// (average rank on ties, 1 = worst), giving ω = rank/(N + 1) and the logit λ = ln(ω/(1−ω)).
/// PBO is the share of λ ≤ 0.
///
/// # Errors
/// [`ParamError`] for an odd `s_splits` or one outside `2..=24`, fewer than 2 strategies,
/// ragged rows, non-finite values, or too few rows (each half needs at least 2).
pub fn pbo_cscv(perf: &[Vec<f64>], s_splits: usize) -> Result<PboResult, ParamError> {
    let s = s_splits;
    if s < 2 || !s.is_multiple_of(2) || s > MAX_SPLITS {
        return Err(ParamError::new("splits", s, "an even number from 2 to 24"));
    }
    let t = perf.len();
    let n = perf.first().map_or(0, Vec::len);
    if n < 2 {
        return Err(ParamError::new("strategies", n, "at least 2 columns"));
    }
    if let Some(r) = perf.iter().position(|row| row.len() != n) {
        return Err(ParamError::new("row", r, &format!("{n} values like row 0")));
    }
    if perf.iter().flatten().any(|v| !v.is_finite()) {
        return Err(ParamError::new("returns", "non-finite", "finite values"));
    }
    if t < s || (s / 2) * (t / s) < 2 {
        return Err(ParamError::new("rows", t, "enough for 2 rows per half"));
    }
    // Per block and strategy: running stats; blocks as numpy.array_split.
    let (base, extra) = (t / s, t % s);
    let mut blocks = vec![vec![Stats::default(); n]; s];
    let mut row = 0;
    for (b, stats) in blocks.iter_mut().enumerate() {
        let len = base + usize::from(b < extra);
        for r in &perf[row..row + len] {
            for (st, &x) in stats.iter_mut().zip(r) {
                st.push(x);
            }
        }
        row += len;
    }
    let combos = combinations(s, s / 2);
    let logits: Vec<f64> = combos
        .par_iter()
        .map(|&mask| {
            let half = |inside: bool| -> Vec<f64> {
                (0..n)
                    .map(|j| {
                        (0..s)
                            .filter(|&b| (mask >> b & 1 == 1) == inside)
                            .fold(Stats::default(), |acc, b| acc.merge(blocks[b][j]))
                            .sharpe()
                    })
                    .collect()
            };
            let (is, oos) = (half(true), half(false));
            let mut best = 0;
            for j in 1..n {
                if is[j] > is[best] {
                    best = j;
                }
            }
            let below = oos.iter().filter(|&&v| v < oos[best]).count() as f64;
            let equal = oos.iter().filter(|&&v| v == oos[best]).count() as f64;
            let rank = 1.0 + below + (equal - 1.0) / 2.0;
            let w = rank / (n as f64 + 1.0);
            (w / (1.0 - w)).ln()
        })
        .collect();
    let at_or_below = logits.iter().filter(|&&l| l <= 0.0).count();
    Ok(PboResult {
        pbo: at_or_below as f64 / logits.len() as f64,
        n_combinations: logits.len(),
        logits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_example_gives_dsr_0_9004() {
        // Bailey & López de Prado (2014), numerical example: N = 100 trials, annualised
        // V[SR_n] = 1/2, SR = 2.5 annualised, 5 years of daily returns (T = 1250, 250 per
        // year), skewness −3, kurtosis 10 → E[max SR] ≈ 1.7894 annualised, DSR ≈ 0.9004.
        let r =
            deflated_sharpe_from(2.5 / 250f64.sqrt(), 1250, -3.0, 10.0, 100, 0.5 / 250.0).unwrap();
        assert!((r.sr0 * 250f64.sqrt() - 1.7894).abs() < 5e-5, "{r:?}");
        assert!((r.dsr - 0.9004).abs() < 5e-5, "{r:?}");
        assert!(r.psr > r.dsr && r.psr <= 1.0);
    }

    #[test]
    fn psr_of_zero_sharpe_against_zero_is_one_half() {
        assert_eq!(probabilistic_sharpe(0.0, 0.0, 100, 0.0, 3.0).unwrap(), 0.5);
    }

    #[test]
    fn dsr_rejects_bad_inputs() {
        assert!(deflated_sharpe(0.1, 1, 0.0, 3.0, &[0.0, 0.1]).is_err());
        assert!(deflated_sharpe(0.1, 100, 0.0, 3.0, &[0.1]).is_err());
        assert!(deflated_sharpe(0.1, 100, 0.0, 3.0, &[0.1, f64::NAN]).is_err());
        assert!(deflated_sharpe(0.5, 100, 10.0, 3.0, &[0.1, 0.2]).is_err());
        assert!(deflated_sharpe(f64::INFINITY, 100, 0.0, 3.0, &[0.1, 0.2]).is_err());
    }

    #[test]
    fn moments_of_a_symmetric_series() {
        // 1, −1, 1, −1: mean 0, skew 0, population kurtosis 1.
        let m = return_moments(&[1.0, -1.0, 1.0, -1.0]).unwrap();
        assert_eq!((m.sharpe, m.skew, m.kurt), (0.0, 0.0, 1.0));
        // 1, 2, 3: mean 2, sample sd 1.
        assert_eq!(return_moments(&[1.0, 2.0, 3.0]).unwrap().sharpe, 2.0);
        assert!(return_moments(&[1.0, 1.0]).is_none());
    }

    #[test]
    fn combinations_match_itertools_order() {
        // combinations(range(4), 2): 01 02 03 12 13 23.
        let got = combinations(4, 2);
        assert_eq!(got, vec![0b0011, 0b0101, 0b1001, 0b0110, 0b1010, 0b1100]);
        assert_eq!(combinations(16, 8).len(), 12_870);
    }

    #[test]
    fn stats_merge_equals_direct() {
        let xs = [0.5, -1.0, 2.0, 3.5, -0.25];
        let mut a = Stats::default();
        let mut b = Stats::default();
        let mut all = Stats::default();
        for (i, &x) in xs.iter().enumerate() {
            if i < 2 {
                a.push(x)
            } else {
                b.push(x)
            }
            all.push(x);
        }
        let m = a.merge(b);
        assert!((m.mean - all.mean).abs() < 1e-15 && (m.m2 - all.m2).abs() < 1e-12);
    }

    #[test]
    fn pbo_hand_worked_two_splits() {
        // 4 rows, 2 strategies, S = 2: blocks rows 0–1 and 2–3; combos {0} and {1}.
        // Strategy 0: [1, 3 | 1, 2] → Sharpe per block 2/√2 = 1.414, 1.5/√0.5 = 2.121.
        // Strategy 1: [2, 3 | 0, 1] → 2.5/√0.5 = 3.536, 0.5/√0.5 = 0.707.
        // Combo {0}: IS best = 1; OOS 2.121 vs 0.707 → rank 1, ω = 1/3, λ = ln(1/2).
        // Combo {1}: IS best = 0; OOS 1.414 vs 3.536 → rank 1, λ = ln(1/2). PBO = 1.
        let perf = vec![
            vec![1.0, 2.0],
            vec![3.0, 3.0],
            vec![1.0, 0.0],
            vec![2.0, 1.0],
        ];
        let r = pbo_cscv(&perf, 2).unwrap();
        assert_eq!(r.n_combinations, 2);
        assert!(
            r.logits.iter().all(|l| (l - 0.5f64.ln()).abs() < 1e-15),
            "{:?}",
            r.logits
        );
        assert_eq!(r.pbo, 1.0);
    }

    #[test]
    fn pbo_rejects_bad_inputs() {
        let ok = vec![vec![0.1, 0.2]; 8];
        assert!(pbo_cscv(&ok, 3).is_err());
        assert!(pbo_cscv(&ok, 26).is_err());
        assert!(pbo_cscv(&ok, 16).is_err());
        assert!(pbo_cscv(&vec![vec![0.1]; 8], 4).is_err());
        let mut ragged = ok.clone();
        ragged[3].push(1.0);
        assert!(pbo_cscv(&ragged, 4).is_err());
        let mut nan = ok.clone();
        nan[2][1] = f64::NAN;
        assert!(pbo_cscv(&nan, 4).is_err());
        assert!(pbo_cscv(&ok, 4).is_ok());
    }
}
