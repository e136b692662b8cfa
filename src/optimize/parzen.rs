//! The univariate Parzen estimators of TPE, as Optuna's `_ParzenEstimator` builds them
//! (Bergstra et al. 2011; Optuna 3–4 defaults): a truncated-normal mixture for numeric
//! dimensions (one kernel per observation plus a prior kernel at the centre with width
//! `high − low`, bandwidths from the distances to the sorted neighbours, "magic clip" to
//! `[(high − low)/min(100, n + 2), high − low]`), and a weighted-count mixture for
//! categorical ones. Discrete numeric dimensions live in index space `[−0.5, n + 0.5]`, and
//! their log-density is the mass of the unit bin around the index.

use rand::RngExt;
use rand::distr::Open01;
use rand_chacha::ChaCha8Rng;

use super::normal::{log_gauss_mass, norm_cdf, norm_ppf};

/// `ln √(2π)`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Optuna's `default_weights`: ones below 25 observations; otherwise a ramp
/// `linspace(1/n, 1, n − 25)` for the oldest, then 25 ones for the newest.
pub(crate) fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let m = n - 25;
    let start = 1.0 / n as f64;
    let mut w: Vec<f64> = match m {
        0 => Vec::new(),
        1 => vec![start],
        _ => (0..m)
            .map(|i| start + i as f64 * (1.0 - start) / (m - 1) as f64)
            .collect(),
    };
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// Index of the component picked by `u ∈ [0, 1)` from normalised weights.
fn pick(weights: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if u < acc {
            return i;
        }
    }
    weights.len().saturating_sub(1)
}

/// `ln Σ exp(xs)`, −∞ for an empty or all-−∞ input.
fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// A standard normal draw truncated to `[a, b]`, by the inverse CDF at `u ∈ (0, 1)`; the
/// upper tail is mirrored into the lower one for precision.
fn trunc_std_normal(a: f64, b: f64, u: f64) -> f64 {
    if a >= 0.0 {
        return -trunc_std_normal(-b, -a, u);
    }
    let (pa, pb) = (norm_cdf(a), norm_cdf(b));
    norm_ppf(pa + u * (pb - pa)).clamp(a, b)
}

/// A truncated-normal mixture on `[low, high]`.
#[derive(Debug, Clone)]
pub(crate) struct NumericParzen {
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    weights: Vec<f64>,
    log_norm: Vec<f64>,
    low: f64,
    high: f64,
    discrete: bool,
}

impl NumericParzen {
    /// The estimator of observations `obs` (chronological) with `weights`, on `[low, high]`
    /// (for a discrete dimension with indices `0..=n`: `low = −0.5`, `high = n + 0.5`).
    pub(crate) fn new(
        obs: &[f64],
        weights: &[f64],
        low: f64,
        high: f64,
        discrete: bool,
        prior_weight: f64,
    ) -> Self {
        let n = obs.len();
        let prior_mu = 0.5 * (low + high);
        let mut with_prior = obs.to_vec();
        with_prior.push(prior_mu);
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&i, &j| with_prior[i].total_cmp(&with_prior[j]).then(i.cmp(&j)));
        let mut ends = Vec::with_capacity(n + 3);
        ends.push(low);
        ends.extend(order.iter().map(|&i| with_prior[i]));
        ends.push(high);
        let m = n + 1;
        let mut sorted_sigmas: Vec<f64> = (1..=m)
            .map(|k| (ends[k] - ends[k - 1]).max(ends[k + 1] - ends[k]))
            .collect();
        if ends.len() >= 4 {
            sorted_sigmas[0] = ends[2] - ends[1];
            sorted_sigmas[m - 1] = ends[m] - ends[m - 1];
        }
        let mut sigmas = vec![0.0; m];
        for (pos, &i) in order.iter().enumerate() {
            sigmas[i] = sorted_sigmas[pos];
        }
        sigmas.truncate(n);
        let max_sigma = high - low;
        let min_sigma = (high - low) / (100.0_f64).min(1.0 + m as f64);
        for s in &mut sigmas {
            *s = s.clamp(min_sigma, max_sigma);
        }
        let mut mus = obs.to_vec();
        mus.push(prior_mu);
        sigmas.push(high - low);
        let mut w = weights.to_vec();
        w.push(prior_weight);
        let total: f64 = w.iter().sum();
        for x in &mut w {
            *x /= total;
        }
        let log_norm = mus
            .iter()
            .zip(&sigmas)
            .map(|(mu, s)| log_gauss_mass((low - mu) / s, (high - mu) / s))
            .collect();
        NumericParzen {
            mus,
            sigmas,
            weights: w,
            log_norm,
            low,
            high,
            discrete,
        }
    }

    /// One draw: pick a kernel by weight, sample it truncated to `[low, high]`; discrete
    /// draws are rounded to the nearest index.
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        let k = pick(&self.weights, rng.random::<f64>());
        let (mu, s) = (self.mus[k], self.sigmas[k]);
        let z = trunc_std_normal(
            (self.low - mu) / s,
            (self.high - mu) / s,
            rng.sample(Open01),
        );
        let x = (mu + s * z).clamp(self.low, self.high);
        if self.discrete {
            x.round().clamp(self.low + 0.5, self.high - 0.5)
        } else {
            x
        }
    }

    /// Log-density at `x` (discrete: log-probability of index `x`).
    pub(crate) fn log_pdf(&self, x: f64) -> f64 {
        let terms: Vec<f64> = (0..self.mus.len())
            .map(|k| {
                let (mu, s) = (self.mus[k], self.sigmas[k]);
                let lp = if self.discrete {
                    log_gauss_mass((x - 0.5 - mu) / s, (x + 0.5 - mu) / s)
                } else {
                    let z = (x - mu) / s;
                    -0.5 * z * z - LN_SQRT_2PI - s.ln()
                };
                self.weights[k].ln() + lp - self.log_norm[k]
            })
            .collect();
        log_sum_exp(&terms)
    }
}

/// A categorical mixture: each observation a kernel `(prior_weight/k + [c = obs]) /
/// (prior_weight + 1)`, plus a uniform prior kernel.
#[derive(Debug, Clone)]
pub(crate) struct CategoricalParzen {
    probs: Vec<f64>,
}

impl CategoricalParzen {
    /// The estimator of observed indices `obs` (each `< k`) with `weights`.
    pub(crate) fn new(obs: &[usize], weights: &[f64], k: usize, prior_weight: f64) -> Self {
        let total: f64 = weights.iter().sum::<f64>() + prior_weight;
        let kf = k as f64;
        let mut probs = vec![prior_weight / total / kf; k];
        for (&o, &w) in obs.iter().zip(weights) {
            let w = w / total;
            for (c, p) in probs.iter_mut().enumerate() {
                let hit = if c == o { 1.0 } else { 0.0 };
                *p += w * (prior_weight / kf + hit) / (prior_weight + 1.0);
            }
        }
        CategoricalParzen { probs }
    }

    /// One draw.
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        pick(&self.probs, rng.random::<f64>())
    }

    /// Log-probability of index `c`.
    pub(crate) fn log_pmf(&self, c: usize) -> f64 {
        self.probs.get(c).map_or(f64::NEG_INFINITY, |p| p.ln())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn default_weights_ramp_the_oldest_beyond_25() {
        assert_eq!(default_weights(3), vec![1.0; 3]);
        assert_eq!(default_weights(25), vec![1.0; 25]);
        let w = default_weights(28);
        // linspace(1/28, 1, 3) = [1/28, (1/28 + 1)/2, 1], then 25 ones.
        assert_eq!(w.len(), 28);
        assert_eq!(w[0], 1.0 / 28.0);
        assert!((w[1] - (1.0 / 28.0 + 1.0) / 2.0).abs() < 1e-15);
        assert_eq!(w[2], 1.0);
        assert_eq!(default_weights(26)[0], 1.0 / 26.0);
    }

    #[test]
    fn bandwidths_follow_neighbour_distances_and_magic_clip() {
        // obs 2, 5 on [0, 10], prior at 5: with ends 0, 2, 5, 5, 10. Obs 2 is first: its
        // right gap 3; obs 5: max(5 − 2, 5 − 5) = 3; minsigma = 10 / min(100, 1 + 3) = 2.5.
        let p = NumericParzen::new(&[2.0, 5.0], &[1.0, 1.0], 0.0, 10.0, false, 1.0);
        assert_eq!(p.sigmas, vec![3.0, 3.0, 10.0]);
        assert_eq!(p.weights, vec![1.0 / 3.0; 3]);
        // A single observation at 9: sorted 5 (prior), 9 → first = 9 − 5 = 4, last = 4.
        let p = NumericParzen::new(&[9.0], &[1.0], 0.0, 10.0, false, 1.0);
        assert_eq!(p.sigmas, vec![4.0, 10.0]);
        // Crowded observations are clipped up to the magic minimum 10 / 5 = 2.
        let p = NumericParzen::new(&[5.0, 5.1, 5.2], &[1.0; 3], 0.0, 10.0, false, 1.0);
        assert!(p.sigmas[..3].iter().all(|&s| s >= 2.0));
    }

    #[test]
    fn numeric_density_integrates_to_one() {
        let p = NumericParzen::new(&[1.0, 2.0, 8.0], &[1.0, 2.0, 1.0], 0.0, 10.0, false, 1.0);
        let n = 20_000;
        let h = 10.0 / n as f64;
        let integral: f64 = (0..n)
            .map(|i| p.log_pdf((i as f64 + 0.5) * h).exp() * h)
            .sum();
        assert!((integral - 1.0).abs() < 1e-6, "{integral}");
    }

    #[test]
    fn discrete_masses_sum_to_one_and_samples_are_indices() {
        let p = NumericParzen::new(&[0.0, 3.0, 3.0], &[1.0; 3], -0.5, 4.5, true, 1.0);
        let total: f64 = (0..5).map(|i| p.log_pdf(i as f64).exp()).sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let x = p.sample(&mut rng);
            assert!(x.fract() == 0.0 && (0.0..=4.0).contains(&x), "{x}");
        }
    }

    #[test]
    fn categorical_probabilities_are_weighted_counts() {
        // k = 2, obs [1], weight 1, prior weight 1: mixture weights 1/2, 1/2.
        // Obs kernel: (0.5 + [c=1]) / 2 → [0.25, 0.75]; prior [0.5, 0.5] → [0.375, 0.625].
        let p = CategoricalParzen::new(&[1], &[1.0], 2, 1.0);
        assert!((p.log_pmf(0).exp() - 0.375).abs() < 1e-15);
        assert!((p.log_pmf(1).exp() - 0.625).abs() < 1e-15);
    }

    #[test]
    fn truncated_draws_stay_in_bounds() {
        for u in [1e-12, 0.3, 0.999_999] {
            let z = trunc_std_normal(2.0, 40.0, u);
            assert!((2.0..=40.0).contains(&z), "{z}");
            let z = trunc_std_normal(-3.0, 1.0, u);
            assert!((-3.0..=1.0).contains(&z), "{z}");
        }
    }
}
