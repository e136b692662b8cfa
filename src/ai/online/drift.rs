//! Two drift detectors for a stream of numbers (here: per-trade returns), with the semantics
//! of the Python library `river` 0.26 (`river.drift.PageHinkley`, `river.drift.ADWIN`), so the
//! golden files of `scripts/drift_golden.py` pin them: same detections, same ADWIN window.
//!
//! Both follow river's convention: after an update that reports a drift, the next update first
//! resets the detector and then counts its value as the first of a new stream.
//!
//! **Page-Hinkley** (Page 1954; a CUSUM of deviations from the running mean). With the running
//! mean `x̄_t`, `U_t = α·U_{t−1} + (x_t − x̄_t) − δ` and `L_t = α·L_{t−1} + (x_t − x̄_t) + δ`;
//! from `min_instances` values on, a rise is `U_t − min U > λ`, a fall `max L − L_t > λ`
//! (`max L` starts at −1, as in river). `mode` picks which sides count.
//!
//! **ADWIN** (Bifet & Gavaldà 2007, the ADWIN2 bucket compression): the window is kept as rows
//! of buckets, row `i` holding summaries (sum, variance) of `2^i` values; a row with more than
//! `max_buckets` entries merges its two oldest into one of the next row. Every `clock` updates,
//! once the window is wider than `grace_period`, every split into an older part `W0` and a newer
//! part `W1` (both at least `min_window_length` long) is tested with
//! `|μ0 − μ1| > sqrt(2·m·σ²·δ') + (2/3)·δ'·m`, where `δ' = ln(2·ln(n)/δ)`,
//! `m = 1/(n0 − mwl + 1) + 1/(n1 − mwl + 1)` and `σ²` the window variance; on a cut the oldest
//! bucket is dropped and the scan restarts.

use std::collections::VecDeque;

/// Which changes of the mean Page-Hinkley reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhMode {
    /// Increases only.
    Up,
    /// Decreases only.
    Down,
    /// Both.
    Both,
}

/// Page-Hinkley parameters (river's names and defaults: 30, 0.005, 50, 1 − 1e-4, both).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PageHinkleyConfig {
    /// Values before a drift may be reported.
    pub min_instances: usize,
    /// Tolerated change per value (δ).
    pub delta: f64,
    /// Detection threshold (λ).
    pub threshold: f64,
    /// Forgetting factor of the cumulative sums (α).
    pub alpha: f64,
    /// Which direction counts.
    pub mode: PhMode,
}

impl Default for PageHinkleyConfig {
    fn default() -> Self {
        PageHinkleyConfig {
            min_instances: 30,
            delta: 0.005,
            threshold: 50.0,
            alpha: 1.0 - 0.0001,
            mode: PhMode::Both,
        }
    }
}

/// The Page-Hinkley test.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PageHinkley {
    cfg: PageHinkleyConfig,
    n: f64,
    mean: f64,
    sum_up: f64,
    sum_down: f64,
    min_up: f64,
    max_down: f64,
    drift: bool,
}

impl PageHinkley {
    /// A fresh detector.
    pub fn new(cfg: PageHinkleyConfig) -> Self {
        PageHinkley {
            cfg,
            n: 0.0,
            mean: 0.0,
            sum_up: 0.0,
            sum_down: 0.0,
            // f64::MAX rather than infinity (river's start) so the state survives JSON; the
            // first sum is below either
            min_up: f64::MAX,
            max_down: -1.0,
            drift: false,
        }
    }

    /// Its parameters.
    pub fn config(&self) -> &PageHinkleyConfig {
        &self.cfg
    }

    /// Values counted since the last reset.
    pub fn count(&self) -> usize {
        self.n as usize
    }

    /// Add a value; true when it completes a drift.
    pub fn update(&mut self, x: f64) -> bool {
        if self.drift {
            *self = PageHinkley::new(self.cfg);
        }
        self.n += 1.0;
        self.mean += (1.0 / self.n) * (x - self.mean);
        let dev = x - self.mean;
        self.sum_up = self.cfg.alpha * self.sum_up + dev - self.cfg.delta;
        self.sum_down = self.cfg.alpha * self.sum_down + dev + self.cfg.delta;
        self.min_up = self.min_up.min(self.sum_up);
        self.max_down = self.max_down.max(self.sum_down);
        if self.n >= self.cfg.min_instances as f64 {
            let up = self.sum_up - self.min_up > self.cfg.threshold;
            let down = self.max_down - self.sum_down > self.cfg.threshold;
            self.drift = match self.cfg.mode {
                PhMode::Up => up,
                PhMode::Down => down,
                PhMode::Both => up || down,
            };
        }
        self.drift
    }

    /// True when the last update reported a drift.
    pub fn drift_detected(&self) -> bool {
        self.drift
    }
}

/// ADWIN parameters (river's names and defaults: 0.002, 32, 5, 5, 10).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdwinConfig {
    /// Confidence of the cut test (δ).
    pub delta: f64,
    /// Test every `clock` updates.
    pub clock: u32,
    /// Buckets per row before two merge.
    pub max_buckets: usize,
    /// Shortest sub-window a cut may leave.
    pub min_window_length: usize,
    /// No test until the window is wider than this.
    pub grace_period: usize,
}

impl Default for AdwinConfig {
    fn default() -> Self {
        AdwinConfig {
            delta: 0.002,
            clock: 32,
            max_buckets: 5,
            min_window_length: 5,
            grace_period: 10,
        }
    }
}

/// One bucket: the sum of its values and their sum of squared deviations from their mean.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct Summary {
    sum: f64,
    var: f64,
}

/// The adaptive-window detector.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Adwin {
    cfg: AdwinConfig,
    /// Row `i` holds summaries of `2^i` values, oldest first.
    rows: Vec<VecDeque<Summary>>,
    width: f64,
    total: f64,
    /// Sum of squared deviations from the window mean.
    var: f64,
    tick: u64,
    drift: bool,
}

impl Adwin {
    /// A fresh detector.
    pub fn new(cfg: AdwinConfig) -> Self {
        Adwin {
            cfg,
            rows: vec![VecDeque::new()],
            width: 0.0,
            total: 0.0,
            var: 0.0,
            tick: 0,
            drift: false,
        }
    }

    /// Its parameters.
    pub fn config(&self) -> &AdwinConfig {
        &self.cfg
    }

    /// Values in the window.
    pub fn width(&self) -> usize {
        self.width as usize
    }

    /// Mean of the window (0 when empty).
    pub fn estimation(&self) -> f64 {
        if self.width == 0.0 {
            0.0
        } else {
            self.total / self.width
        }
    }

    /// True when the last update reported a drift.
    pub fn drift_detected(&self) -> bool {
        self.drift
    }

    /// Add a value; true when the window was cut (a drift).
    pub fn update(&mut self, x: f64) -> bool {
        if self.drift {
            *self = Adwin::new(self.cfg);
        }
        self.insert(x);
        self.drift = self.check();
        self.drift
    }

    fn insert(&mut self, x: f64) {
        self.width += 1.0;
        if self.width > 1.0 {
            let d = x - self.total / (self.width - 1.0);
            self.var += (self.width - 1.0) * d * d / self.width;
        }
        self.total += x;
        self.rows[0].push_back(Summary { sum: x, var: 0.0 });
        let mut i = 0;
        while self.rows[i].len() > self.cfg.max_buckets {
            let (Some(a), Some(b)) = (self.rows[i].pop_front(), self.rows[i].pop_front()) else {
                break;
            };
            let n = (1u64 << i) as f64;
            let (ma, mb) = (a.sum / n, b.sum / n);
            let merged = Summary {
                sum: a.sum + b.sum,
                var: a.var + b.var + n * 0.5 * (ma - mb) * (ma - mb),
            };
            if self.rows.len() == i + 1 {
                self.rows.push(VecDeque::new());
            }
            self.rows[i + 1].push_back(merged);
            i += 1;
        }
    }

    /// Drop the oldest bucket.
    fn drop_oldest(&mut self) {
        let last = self.rows.len() - 1;
        let Some(b) = self.rows[last].pop_front() else {
            return;
        };
        let n = (1u64 << last) as f64;
        self.width -= n;
        self.total -= b.sum;
        let mu = b.sum / n;
        let mu_w = self.total / self.width;
        self.var -= b.var + n * self.width * (mu - mu_w) * (mu - mu_w) / (n + self.width);
        if self.rows[last].is_empty() && last > 0 {
            self.rows.pop();
        }
    }

    fn check(&mut self) -> bool {
        self.tick += 1;
        let mut cut_any = false;
        if !self.tick.is_multiple_of(u64::from(self.cfg.clock.max(1)))
            || self.width <= self.cfg.grace_period as f64
        {
            return false;
        }
        let mwl = self.cfg.min_window_length as f64;
        loop {
            let mut cut = false;
            let (mut n0, mut n1, mut u0, mut u1) = (0.0, self.width, 0.0, self.total);
            'scan: for i in (0..self.rows.len()).rev() {
                let size = (1u64 << i) as f64;
                let len = self.rows[i].len();
                for (k, b) in self.rows[i].iter().enumerate() {
                    n0 += size;
                    n1 -= size;
                    u0 += b.sum;
                    u1 -= b.sum;
                    if i == 0 && k + 1 == len {
                        break 'scan; // W1 would be empty
                    }
                    if n1 >= mwl && n0 >= mwl && self.cut_test(n0, n1, u0 / n0 - u1 / n1) {
                        cut = true;
                        break 'scan;
                    }
                }
            }
            if !cut {
                break;
            }
            cut_any = true;
            if self.width > 0.0 {
                self.drop_oldest();
            }
        }
        cut_any
    }

    fn cut_test(&self, n0: f64, n1: f64, diff: f64) -> bool {
        let mwl = self.cfg.min_window_length as f64;
        let dd = (2.0 * self.width.ln() / self.cfg.delta).ln();
        let m = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0);
        let eps = (2.0 * m * (self.var / self.width) * dd).sqrt() + 2.0 / 3.0 * dd * m;
        diff.abs() > eps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_hinkley_finds_a_step_down_and_resets_after_it() {
        let cfg = PageHinkleyConfig {
            min_instances: 10,
            delta: 0.0,
            threshold: 3.0,
            alpha: 1.0,
            mode: PhMode::Down,
        };
        let mut ph = PageHinkley::new(cfg);
        let hit = (0..60).find(|&i| ph.update(if i < 30 { 1.0 } else { 0.0 }));
        assert!(hit.is_some_and(|i| (30..40).contains(&i)), "{hit:?}");
        assert!(ph.drift_detected());
        // the update after a detection starts a new stream
        ph.update(0.0);
        assert_eq!(ph.count(), 1);
    }

    #[test]
    fn adwin_keeps_a_constant_stream_and_cuts_a_jump() {
        let mut a = Adwin::new(AdwinConfig {
            clock: 1,
            ..AdwinConfig::default()
        });
        for _ in 0..300 {
            assert!(!a.update(1.0));
        }
        assert_eq!(a.width(), 300);
        assert_eq!(a.estimation(), 1.0);
        let hit = (0..100).position(|_| a.update(10.0));
        assert!(hit.is_some());
        assert!(a.width() < 300);
    }
}
