//! Moving averages of the close: [`Sma`], [`Ema`], [`Wma`], each bit-compatible with TA-Lib.
//!
//! Each keeps O(period) state and does O(1) work per bar. The arithmetic follows TA-Lib's C
//! source operation by operation (running sums that add the new value and subtract the
//! oldest, the EMA's SMA seed), so golden values agree to rounding, not just to a tolerance.

use std::fmt;

use super::kernels::Isa;
use super::{
    BatchRaw, Indicator, ParamError, RollingSum, check_period, kernels, ring_restore, stream_raw,
};
use crate::data::Bar;

/// Simple moving average of the close.
///
/// `SMA_t = (x_{t-n+1} + … + x_t) / n`, kept as a running sum that adds the new value and
/// subtracts the oldest (TA-Lib's `TA_INT_SMA`). No seed. Lookback `n - 1`. Matches
/// `talib.SMA(close, n)`.
#[doc(alias = "SMA")]
#[doc(alias = "SimpleMovingAverage")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Sma {
    period: usize,
    sum: RollingSum,
}

impl Sma {
    /// An SMA over `period` bars.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
    pub fn new(period: usize) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        Ok(Sma {
            period,
            sum: RollingSum::new(period),
        })
    }

    /// Feed one value (instead of a bar's close).
    #[inline]
    pub fn update_raw(&mut self, x: f64) -> Option<f64> {
        let n = self.period as f64;
        self.sum.push(x).map(|s| s / n)
    }
}

impl Indicator for Sma {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.update_raw(bar.close)
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
    fn reset(&mut self) {
        self.sum.reset();
    }
}

impl fmt::Display for Sma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SMA({})", self.period)
    }
}

/// Exponential moving average of the close.
///
/// `k = 2 / (n + 1)`, `EMA_t = fma(x_t - EMA_{t-1}, k, EMA_{t-1})` (one rounding for the
/// product and the sum: TA-Lib 0.8.1's FMA build, the one it runs on a CPU with FMA). Seed:
/// the SMA of the first `n` values is the first output (TA-Lib's default compatibility).
/// Lookback `n - 1`. Matches `talib.EMA(close, n)` bit for bit.
#[doc(alias = "EMA")]
#[doc(alias = "ExponentialMovingAverage")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Ema {
    period: usize,
    k: f64,
    count: usize,
    seed_sum: f64,
    value: f64,
}

impl Ema {
    /// An EMA over `period` bars.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
    pub fn new(period: usize) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        Ok(Ema {
            period,
            k: 2.0 / ((period + 1) as f64),
            count: 0,
            seed_sum: 0.0,
            value: 0.0,
        })
    }

    /// Feed one value (instead of a bar's close).
    #[inline]
    pub fn update_raw(&mut self, x: f64) -> Option<f64> {
        if self.count < self.period {
            self.seed_sum += x;
            self.count += 1;
            if self.count < self.period {
                return None;
            }
            self.value = self.seed_sum / self.period as f64;
            return Some(self.value);
        }
        self.value = (x - self.value).mul_add(self.k, self.value);
        Some(self.value)
    }
}

impl Indicator for Ema {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.update_raw(bar.close)
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
    fn reset(&mut self) {
        self.count = 0;
        self.seed_sum = 0.0;
        self.value = 0.0;
    }
}

impl fmt::Display for Ema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EMA({})", self.period)
    }
}

/// Linearly weighted moving average of the close.
///
/// `WMA_t = (n·x_t + (n-1)·x_{t-1} + … + 1·x_{t-n+1}) / (n(n+1)/2)`, kept as TA-Lib's
/// `TA_WMA` keeps it: a weighted sum that gains `n·x_t` and loses the plain window sum each
/// bar. No seed. Lookback `n - 1`. Matches `talib.WMA(close, n)`.
#[doc(alias = "WMA")]
#[doc(alias = "WeightedMovingAverage")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Wma {
    period: usize,
    buf: Vec<f64>,
    pos: usize,
    count: usize,
    period_sub: f64,
    period_sum: f64,
    trailing: f64,
}

impl Wma {
    /// A WMA over `period` bars.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
    pub fn new(period: usize) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        Ok(Wma {
            period,
            buf: vec![0.0; period],
            pos: 0,
            count: 0,
            period_sub: 0.0,
            period_sum: 0.0,
            trailing: 0.0,
        })
    }

    /// Feed one value (instead of a bar's close).
    #[inline]
    pub fn update_raw(&mut self, x: f64) -> Option<f64> {
        if self.period == 1 {
            // TA-Lib copies the input for a period of 1.
            return Some(x);
        }
        self.buf[self.pos] = x;
        self.pos += 1;
        if self.pos == self.period {
            self.pos = 0;
        }
        if self.count + 1 < self.period {
            self.count += 1;
            self.period_sub += x;
            self.period_sum += x * self.count as f64;
            return None;
        }
        self.period_sub += x;
        self.period_sub -= self.trailing;
        self.period_sum += x * self.period as f64;
        // the oldest value of the current window leaves at the next bar
        self.trailing = self.buf[self.pos];
        let divider = ((self.period * (self.period + 1)) >> 1) as f64;
        let out = self.period_sum / divider;
        self.period_sum -= self.period_sub;
        Some(out)
    }
}

impl Indicator for Wma {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.update_raw(bar.close)
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
    fn reset(&mut self) {
        self.buf.fill(0.0);
        self.pos = 0;
        self.count = 0;
        self.period_sub = 0.0;
        self.period_sum = 0.0;
        self.trailing = 0.0;
    }
}

impl fmt::Display for Wma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WMA({})", self.period)
    }
}

impl Sma {
    /// The batch kernel from a fresh SMA, its `xs.len()` values appended to `out`, leaving
    /// the state streaming would; `false` (nothing done) when not fresh.
    pub(crate) fn kernel_into(&mut self, xs: &[f64], out: &mut Vec<f64>) -> bool {
        if !self.sum.is_fresh() {
            return false;
        }
        let s = kernels::rolling_mean(xs, self.period, self.period as f64, out);
        self.sum.restore(xs, s);
        true
    }
}

impl Ema {
    /// The batch kernel from a fresh EMA, its `xs.len()` values appended to `out`, leaving
    /// the state streaming would; `false` (nothing done) when not fresh.
    pub(crate) fn kernel_into(&mut self, xs: &[f64], out: &mut Vec<f64>) -> bool {
        if self.count != 0 {
            return false;
        }
        let (p, k) = (self.period, self.k);
        let run = kernels::EmaRun { xs, p, k, out };
        (self.count, self.seed_sum, self.value) = Isa::detect().run(run);
        true
    }
}

impl Ema {
    /// The period and smoothing factor, for fused kernels.
    pub(crate) fn spec(&self) -> kernels::EmaSpec {
        (self.period, self.k)
    }

    /// Take the end state of a kernel run over this (fresh) EMA's input.
    pub(crate) fn restore(&mut self, end: kernels::EmaEnd) {
        (self.count, self.seed_sum, self.value) = end;
    }
}

impl BatchRaw for Sma {
    fn raw_values(&mut self, xs: &[f64]) -> Vec<f64> {
        if !self.sum.is_fresh() {
            return stream_raw(self, xs);
        }
        let mut out = kernels::column(xs.len());
        self.kernel_into(xs, &mut out);
        out
    }
}

impl BatchRaw for Ema {
    fn raw_values(&mut self, xs: &[f64]) -> Vec<f64> {
        if self.count != 0 {
            return stream_raw(self, xs);
        }
        let mut out = kernels::column(xs.len());
        self.kernel_into(xs, &mut out);
        out
    }
}

impl BatchRaw for Wma {
    fn raw_values(&mut self, xs: &[f64]) -> Vec<f64> {
        if self.period == 1 {
            // `update_raw` copies the input and keeps no state for a period of 1
            return xs.to_vec();
        }
        if self.count != 0 {
            return stream_raw(self, xs);
        }
        let mut out = kernels::column(xs.len());
        (self.count, self.period_sub, self.period_sum, self.trailing) =
            kernels::wma(xs, self.period, &mut out);
        self.pos = ring_restore(&mut self.buf, xs);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    conformance!(raw sma_1 => Sma::new(1));
    conformance!(raw sma_2 => Sma::new(2));
    conformance!(raw sma_20 => Sma::new(20));
    conformance!(raw ema_1 => Ema::new(1));
    conformance!(raw ema_12 => Ema::new(12));
    conformance!(raw ema_26 => Ema::new(26));
    conformance!(raw wma_1 => Wma::new(1));
    conformance!(raw wma_2 => Wma::new(2));
    conformance!(raw wma_30 => Wma::new(30));

    fn feed<F: FnMut(f64) -> Option<f64>>(mut f: F, xs: &[f64]) -> Vec<Option<f64>> {
        xs.iter().map(|&x| f(x)).collect()
    }

    #[test]
    fn sma_of_three_averages_the_last_three() {
        let mut s = Sma::new(3).unwrap();
        let out = feed(|x| s.update_raw(x), &[1.0, 2.0, 3.0, 4.0, 8.0]);
        assert_eq!(out, vec![None, None, Some(2.0), Some(3.0), Some(5.0)]);
    }

    #[test]
    fn ema_seeds_with_sma_of_first_n() {
        // k = 2/4 = 0.5; seed (1+2+3)/3 = 2; then (6-2)*0.5+2 = 4; (0-4)*0.5+4 = 2
        let mut e = Ema::new(3).unwrap();
        let out = feed(|x| e.update_raw(x), &[1.0, 2.0, 3.0, 6.0, 0.0]);
        assert_eq!(out, vec![None, None, Some(2.0), Some(4.0), Some(2.0)]);
    }

    #[test]
    fn wma_weights_recent_values_most() {
        // (1*1 + 2*2 + 3*3)/6 = 14/6; (1*2 + 2*3 + 3*6)/6 = 26/6
        let mut w = Wma::new(3).unwrap();
        let out = feed(|x| w.update_raw(x), &[1.0, 2.0, 3.0, 6.0]);
        assert_eq!(out[..2], [None, None]);
        assert!((out[2].unwrap() - 14.0 / 6.0).abs() < 1e-12);
        assert!((out[3].unwrap() - 26.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn batch_raw_writes_nan_for_warm_up() {
        let mut s = Sma::new(3).unwrap();
        let out = crate::indicators::batch_raw(&mut s, &[1.0, 2.0, 3.0, 4.0]);
        assert!(out[0].is_nan() && out[1].is_nan());
        assert_eq!(out[2..], [2.0, 3.0]);
    }

    #[test]
    fn zero_period_is_rejected() {
        assert!(Sma::new(0).is_err());
        assert!(Ema::new(0).is_err());
        let e = Wma::new(0).unwrap_err();
        assert_eq!(e.to_string(), "period = 0: must be from 1 to 100000");
        assert!(Sma::new(100_001).is_err());
    }

    #[test]
    fn display_names_the_period() {
        assert_eq!(Ema::new(12).unwrap().to_string(), "EMA(12)");
        assert_eq!(Sma::new(20).unwrap().to_string(), "SMA(20)");
        assert_eq!(Wma::new(9).unwrap().to_string(), "WMA(9)");
    }
}
