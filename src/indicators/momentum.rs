//! Momentum oscillators: [`Rsi`], [`Roc`], [`Mom`], [`Macd`] and [`Stoch`], each following
//! TA-Lib's C source operation by operation (Wilder smoothing for RSI, the aligned fast EMA
//! of MACD, SMA slowing for the stochastic).

use std::fmt;

use super::extrema::Extreme;
use super::kernels::Isa;
use super::ma::{Ema, Sma};
use super::{
    BatchRaw, Indicator, ParamError, check_period, kernels, ring_restore, stream_raw, ta_is_zero,
};
use crate::data::Bar;

/// Relative strength index of the close, Wilder's smoothing.
///
/// Gains `g` and losses `l` of the close; seed: `avg_g = Σg / n`, `avg_l = Σl / n` over the
/// first `n` changes; then `avg = (avg·(n-1) + new)·(1/n)` (TA-Lib divides by `n`; the
/// product by the reciprocal keeps the division off the bar-to-bar dependency chain and
/// differs in the last bit at most). `RSI = 100·avg_g / (avg_g + avg_l)`,
/// 0 when the denominator is below 1e-8 (TA-Lib's `TA_IS_ZERO`). Lookback `n`.
/// Matches `talib.RSI(close, n)`.
#[doc(alias = "RSI")]
#[doc(alias = "RelativeStrengthIndex")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rsi {
    period: usize,
    /// `period - 1` and `1 / period`, for the smoothing step.
    keep: f64,
    inv_n: f64,
    has_prev: bool,
    prev: f64,
    count: usize,
    gain: f64,
    loss: f64,
}

impl Rsi {
    /// An RSI over `period` changes.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
    pub fn new(period: usize) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        Ok(Rsi {
            period,
            keep: (period - 1) as f64,
            inv_n: 1.0 / period as f64,
            has_prev: false,
            prev: 0.0,
            count: 0,
            gain: 0.0,
            loss: 0.0,
        })
    }

    #[inline]
    fn value(&self) -> f64 {
        let t = self.gain + self.loss;
        if ta_is_zero(t) {
            0.0
        } else {
            100.0 * (self.gain / t)
        }
    }

    /// Feed one value (instead of a bar's close).
    #[inline]
    pub fn update_raw(&mut self, x: f64) -> Option<f64> {
        if !self.has_prev {
            self.has_prev = true;
            self.prev = x;
            return None;
        }
        let d = x - self.prev;
        self.prev = x;
        // no branch on the sign (a coin flip): the part that TA-Lib skips is ±0.0 here, and
        // adding ±0.0 to a sum that is never -0.0 leaves it unchanged bit for bit
        let (g, l) = (d.max(0.0), (-d).max(0.0));
        if self.count < self.period {
            self.loss += l;
            self.gain += g;
            self.count += 1;
            if self.count < self.period {
                return None;
            }
            let n = self.period as f64;
            self.loss /= n;
            self.gain /= n;
            return Some(self.value());
        }
        self.loss = (self.loss * self.keep + l) * self.inv_n;
        self.gain = (self.gain * self.keep + g) * self.inv_n;
        Some(self.value())
    }
}

impl Indicator for Rsi {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.update_raw(bar.close)
    }
    fn lookback(&self) -> usize {
        self.period
    }
    fn reset(&mut self) {
        self.has_prev = false;
        self.prev = 0.0;
        self.count = 0;
        self.gain = 0.0;
        self.loss = 0.0;
    }
}

impl fmt::Display for Rsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RSI({})", self.period)
    }
}

/// The value `period` bars back, for [`Roc`] and [`Mom`]: a ring of the last `period`
/// values.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Lag {
    period: usize,
    buf: Vec<f64>,
    pos: usize,
    count: usize,
}

impl Lag {
    fn new(period: usize) -> Self {
        Lag {
            period,
            buf: vec![0.0; period],
            pos: 0,
            count: 0,
        }
    }
    /// Push `x`; the value `period` pushes ago, once there is one.
    #[inline]
    fn push(&mut self, x: f64) -> Option<f64> {
        let slot = self.buf.get_mut(self.pos)?;
        let old = std::mem::replace(slot, x);
        self.pos += 1;
        if self.pos == self.period {
            self.pos = 0;
        }
        if self.count < self.period {
            self.count += 1;
            return None;
        }
        Some(old)
    }
    fn reset(&mut self) {
        self.buf.fill(0.0);
        self.pos = 0;
        self.count = 0;
    }
    /// Run `f(x_t, x_{t-n})` over `xs` by the batch kernel (from fresh), leaving the state
    /// pushing every value would.
    fn batch(&mut self, xs: &[f64], f: impl Fn(f64, f64) -> f64) -> Option<Vec<f64>> {
        if self.count != 0 {
            return None;
        }
        let mut out = kernels::column(xs.len());
        kernels::lagged(xs, self.period, &mut out, f);
        self.pos = ring_restore(&mut self.buf, xs);
        self.count = xs.len().min(self.period);
        Some(out)
    }
}

/// Rate of change of the close, in percent.
///
/// `ROC_t = (x_t / x_{t-n} - 1) · 100`, 0 when `x_{t-n}` is 0. No seed. Lookback `n`.
/// Matches `talib.ROC(close, n)`.
#[doc(alias = "ROC")]
#[doc(alias = "RateOfChange")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Roc {
    lag: Lag,
}

impl Roc {
    /// A ROC over `period` bars.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
    pub fn new(period: usize) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        Ok(Roc {
            lag: Lag::new(period),
        })
    }

    /// Feed one value (instead of a bar's close).
    #[inline]
    pub fn update_raw(&mut self, x: f64) -> Option<f64> {
        let old = self.lag.push(x)?;
        Some(if old != 0.0 {
            ((x / old) - 1.0) * 100.0
        } else {
            0.0
        })
    }
}

impl Indicator for Roc {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.update_raw(bar.close)
    }
    fn lookback(&self) -> usize {
        self.lag.period
    }
    fn reset(&mut self) {
        self.lag.reset();
    }
}

impl fmt::Display for Roc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ROC({})", self.lag.period)
    }
}

/// Momentum of the close: `MOM_t = x_t - x_{t-n}`. No seed. Lookback `n`.
/// Matches `talib.MOM(close, n)`.
#[doc(alias = "MOM")]
#[doc(alias = "Momentum")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Mom {
    lag: Lag,
}

impl Mom {
    /// A momentum over `period` bars.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
    pub fn new(period: usize) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        Ok(Mom {
            lag: Lag::new(period),
        })
    }

    /// Feed one value (instead of a bar's close).
    #[inline]
    pub fn update_raw(&mut self, x: f64) -> Option<f64> {
        self.lag.push(x).map(|old| x - old)
    }
}

impl Indicator for Mom {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.update_raw(bar.close)
    }
    fn lookback(&self) -> usize {
        self.lag.period
    }
    fn reset(&mut self) {
        self.lag.reset();
    }
}

impl fmt::Display for Mom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MOM({})", self.lag.period)
    }
}

impl BatchRaw for Rsi {
    fn raw_values(&mut self, xs: &[f64]) -> Vec<f64> {
        let Some(&last) = xs.last() else {
            return Vec::new();
        };
        if self.has_prev {
            return stream_raw(self, xs);
        }
        let mut out = kernels::column(xs.len());
        (self.count, self.gain, self.loss) =
            kernels::rsi(xs, self.period, self.keep, self.inv_n, &mut out);
        self.has_prev = true;
        self.prev = last;
        out
    }
}

impl BatchRaw for Roc {
    fn raw_values(&mut self, xs: &[f64]) -> Vec<f64> {
        // the division's result is discarded for a zero base, so the select vectorises
        let roc = |x: f64, old: f64| {
            let r = ((x / old) - 1.0) * 100.0;
            if old != 0.0 { r } else { 0.0 }
        };
        match self.lag.batch(xs, roc) {
            Some(out) => out,
            None => stream_raw(self, xs),
        }
    }
}

impl BatchRaw for Mom {
    fn raw_values(&mut self, xs: &[f64]) -> Vec<f64> {
        match self.lag.batch(xs, |x, old| x - old) {
            Some(out) => out,
            None => stream_raw(self, xs),
        }
    }
}

/// One MACD reading.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MacdValue {
    /// Fast EMA minus slow EMA.
    pub macd: f64,
    /// EMA of `macd` over the signal period.
    pub signal: f64,
    /// `macd - signal`.
    pub hist: f64,
}

/// Moving average convergence/divergence of the close.
///
/// `macd = EMA_fast - EMA_slow`, `signal = EMA_signal(macd)`, `hist = macd - signal`. Seeds as
/// TA-Lib's `TA_INT_MACD`: the slow EMA is seeded by the SMA of the first `slow` closes, and
/// the fast EMA by the SMA of the `fast` closes ending on the same bar, so both start
/// together; the signal EMA is seeded by the SMA of the first `signal` MACD values. A fast
/// period above the slow one is swapped, as TA-Lib does. Lookback `slow - 1 + signal - 1`.
/// Matches `talib.MACD(close, fast, slow, signal)`.
#[doc(alias = "MACD")]
#[doc(alias = "MovingAverageConvergenceDivergence")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Macd {
    fast_period: usize,
    slow_period: usize,
    signal_period: usize,
    fast: Ema,
    slow: Ema,
    signal: Ema,
    seen: usize,
}

impl Macd {
    /// A MACD with the usual (12, 26, 9) or any other periods.
    ///
    /// # Errors
    /// [`ParamError`] when a period is 0 or above [`super::MAX_PERIOD`].
    pub fn new(fast: usize, slow: usize, signal: usize) -> Result<Self, ParamError> {
        let fast = check_period("fast", fast, 1)?;
        let slow = check_period("slow", slow, 1)?;
        let signal_period = check_period("signal", signal, 1)?;
        let (fast, slow) = if slow < fast {
            (slow, fast)
        } else {
            (fast, slow)
        };
        Ok(Macd {
            fast_period: fast,
            slow_period: slow,
            signal_period,
            fast: Ema::new(fast)?,
            slow: Ema::new(slow)?,
            signal: Ema::new(signal_period)?,
            seen: 0,
        })
    }

    /// Feed one value (instead of a bar's close).
    #[inline]
    pub fn update_raw(&mut self, x: f64) -> Option<MacdValue> {
        let s = self.slow.update_raw(x);
        self.update_with_slow(x, s)
    }

    /// The slow period (the larger of the two, as TA-Lib orders them).
    pub fn slow_period(&self) -> usize {
        self.slow_period
    }

    /// [`Macd::update_raw`] with the slow EMA computed elsewhere: `slow` must be what an
    /// `Ema::new(self.slow_period())` fed every value so far gives (a strategy's own slow
    /// EMA of the same closes gives it bit for bit), so it is not computed twice. The
    /// MACD's own slow EMA is then left untouched: use one form or the other for a whole
    /// run.
    #[inline]
    pub fn update_with_slow(&mut self, x: f64, slow: Option<f64>) -> Option<MacdValue> {
        let s = slow;
        // the fast EMA starts late so that its SMA seed ends on the slow seed's bar
        let f = if self.seen >= self.slow_period - self.fast_period {
            self.fast.update_raw(x)
        } else {
            None
        };
        self.seen = self.seen.saturating_add(1);
        let macd = f? - s?;
        let signal = self.signal.update_raw(macd)?;
        Some(MacdValue {
            macd,
            signal,
            hist: macd - signal,
        })
    }
}

/// MACD as three columns (`NaN` for warm-up), TA-Lib's output shape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MacdColumns {
    /// Fast EMA minus slow EMA.
    pub macd: Vec<f64>,
    /// EMA of `macd`.
    pub signal: Vec<f64>,
    /// `macd - signal`.
    pub hist: Vec<f64>,
}

impl Macd {
    /// MACD over `xs` as columns: `update_raw` on every value, bit for bit, by the fused
    /// kernel ([`kernels::macd`]: the three EMAs in one pass) from a fresh indicator, by the
    /// EMA kernel for each average when the input ends inside the warm-up, else the loop;
    /// the indicator is left as streaming would leave it.
    pub fn columns(&mut self, xs: &[f64]) -> MacdColumns {
        let mut c = MacdColumns::default();
        if self.seen == 0 {
            let n = xs.len();
            // the fused kernel writes in place (see `kernels`: zero-filled columns)
            let (mut macd, mut signal, mut hist) =
                (kernels::zeroed(n), kernels::zeroed(n), kernels::zeroed(n));
            let specs = [self.slow.spec(), self.fast.spec(), self.signal.spec()];
            let out = (&mut macd[..], &mut signal[..], &mut hist[..]);
            // a struct whose `call` is always inlined into the AVX2+FMA context (see
            // `kernels::MacdRun`)
            let run = kernels::MacdRun { xs, specs, out };
            if let Some([s, f, g]) = Isa::detect().run(run) {
                // one fused pass (the usual case: at least one output)
                self.slow.restore(s);
                self.fast.restore(f);
                self.signal.restore(g);
                self.seen = n;
                c.macd = macd;
                c.signal = signal;
                c.hist = hist;
                return c;
            }
            // nothing appended: the slow EMA into `hist` (scratch), the fast one from bar
            // `lag` into `macd`, so that its SMA seed ends on the slow seed's bar, as
            // `update_raw` feeds them (the slots before are overwritten below: `lag` and
            // `first` are at most the lookback)
            let lag = self.slow_period - self.fast_period;
            for col in [&mut macd, &mut signal, &mut hist] {
                col.clear();
            }
            self.slow.kernel_into(xs, &mut hist);
            macd.resize(lag.min(n), f64::NAN);
            if let Some(x) = xs.get(lag..) {
                self.fast.kernel_into(x, &mut macd);
            }
            let first = self.slow_period - 1;
            signal.resize(first.min(n), f64::NAN);
            if let (Some(m), Some(s)) = (macd.get_mut(first..), hist.get(first..)) {
                for (m, &s) in m.iter_mut().zip(s) {
                    *m -= s;
                }
                self.signal.kernel_into(m, &mut signal);
            }
            let lb = self.lookback().min(n);
            for ((h, &m), &s) in hist.iter_mut().zip(&macd).zip(&signal).skip(lb) {
                *h = m - s;
            }
            for col in [&mut macd, &mut signal, &mut hist] {
                col[..lb].fill(f64::NAN);
            }
            self.seen = n;
            c.macd = macd;
            c.signal = signal;
            c.hist = hist;
            return c;
        }
        for &x in xs {
            let v = self.update_raw(x);
            c.macd.push(v.map_or(f64::NAN, |v| v.macd));
            c.signal.push(v.map_or(f64::NAN, |v| v.signal));
            c.hist.push(v.map_or(f64::NAN, |v| v.hist));
        }
        c
    }
}

impl Indicator for Macd {
    type Output = MacdValue;
    fn update(&mut self, bar: &Bar) -> Option<MacdValue> {
        self.update_raw(bar.close)
    }
    fn lookback(&self) -> usize {
        self.slow_period - 1 + self.signal_period - 1
    }
    fn reset(&mut self) {
        self.fast.reset();
        self.slow.reset();
        self.signal.reset();
        self.seen = 0;
    }
}

impl fmt::Display for Macd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MACD({},{},{})",
            self.fast_period, self.slow_period, self.signal_period
        )
    }
}

/// One slow stochastic reading.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StochValue {
    /// Slow %K: SMA of the fast %K.
    pub k: f64,
    /// Slow %D: SMA of the slow %K.
    pub d: f64,
}

/// Slow stochastic oscillator (TA-Lib `STOCH` with SMA slowing).
///
/// Fast `%K = (close - LL) / ((HH - LL) / 100)` over the last `fastk` bars (0 when
/// `HH == LL`), slow `%K = SMA_slowk(fast %K)`, `%D = SMA_slowd(slow %K)`. No seed.
/// Lookback `fastk - 1 + slowk - 1 + slowd - 1`. Matches
/// `talib.STOCH(high, low, close, fastk, slowk, 0, slowd, 0)` (defaults 5, 3, 3).
#[doc(alias = "STOCH")]
#[doc(alias = "Stochastic")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stoch {
    fastk: usize,
    slowk_period: usize,
    slowd_period: usize,
    hh: Extreme<true>,
    ll: Extreme<false>,
    slowk: Sma,
    slowd: Sma,
}

impl Stoch {
    /// A stochastic with fast %K window `fastk` and SMA slowing periods `slowk`, `slowd`.
    ///
    /// # Errors
    /// [`ParamError`] when a period is 0 or above [`super::MAX_PERIOD`].
    pub fn new(fastk: usize, slowk: usize, slowd: usize) -> Result<Self, ParamError> {
        let fastk = check_period("fastk", fastk, 1)?;
        let slowk_period = check_period("slowk", slowk, 1)?;
        let slowd_period = check_period("slowd", slowd, 1)?;
        Ok(Stoch {
            fastk,
            slowk_period,
            slowd_period,
            hh: Extreme::new(fastk),
            ll: Extreme::new(fastk),
            slowk: Sma::new(slowk_period)?,
            slowd: Sma::new(slowd_period)?,
        })
    }
}

/// The slow stochastic as two columns (`NaN` for warm-up), TA-Lib's output shape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StochColumns {
    /// Slow %K.
    pub k: Vec<f64>,
    /// Slow %D.
    pub d: Vec<f64>,
}

impl Stoch {
    /// The stochastic over `bars` as columns: `update` on every bar, bit for bit, by the
    /// fused fast %K kernel (both rolling extremes in one pass, [`kernels::fast_k`]) and the
    /// SMA kernel for each slowing from a fresh indicator (else the loop); the indicator is
    /// left as streaming would leave it.
    pub fn columns(&mut self, bars: &crate::data::Bars) -> StochColumns {
        let mut c = StochColumns::default();
        if !(self.hh.is_fresh() && self.ll.is_fresh()) {
            for b in bars.iter() {
                let v = self.update(&b);
                c.k.push(v.map_or(f64::NAN, |v| v.k));
                c.d.push(v.map_or(f64::NAN, |v| v.d));
            }
            return c;
        }
        let n = bars.len();
        let (mut k, mut d) = (kernels::column(n), kernels::column(n));
        let first = self.fastk - 1;
        // fast %K into `d` (scratch, in place) with `k` lent for the lows' extreme, slow %K
        // appended to `k` (cleared), then slow %D over it appended to `d` (cut back to where
        // it starts): no third column; the slots before each start are overwritten below
        // (both are at most the lookback)
        let cols = (bars.high(), bars.low(), bars.close());
        let end = kernels::fast_k(cols, self.fastk, &mut d, &mut k);
        k.clear();
        let ((h, h_t), (l, l_t)) = end.unwrap_or(((0.0, 0), (0.0, 0)));
        self.hh.restore(bars.high(), (h, h_t));
        self.ll.restore(bars.low(), (l, l_t));
        k.resize(first.min(n), f64::NAN);
        if let Some(fast_k) = d.get(first..) {
            self.slowk.kernel_into(fast_k, &mut k);
        }
        let kfirst = first + self.slowk_period - 1;
        if let Some(slow_k) = k.get(kfirst..) {
            d.truncate(kfirst);
            self.slowd.kernel_into(slow_k, &mut d);
        }
        let lb = self.lookback().min(n);
        k[..lb].fill(f64::NAN);
        d[..lb].fill(f64::NAN);
        c.k = k;
        c.d = d;
        c
    }
}

impl Indicator for Stoch {
    type Output = StochValue;
    fn update(&mut self, bar: &Bar) -> Option<StochValue> {
        let highest = self.hh.push(bar.high);
        let lowest = self.ll.push(bar.low);
        let (Some(highest), Some(lowest)) = (highest, lowest) else {
            return None;
        };
        let diff = (highest - lowest) / 100.0;
        let fast_k = if diff != 0.0 {
            (bar.close - lowest) / diff
        } else {
            0.0
        };
        let k = self.slowk.update_raw(fast_k)?;
        let d = self.slowd.update_raw(k)?;
        Some(StochValue { k, d })
    }
    fn lookback(&self) -> usize {
        self.fastk - 1 + self.slowk_period - 1 + self.slowd_period - 1
    }
    fn reset(&mut self) {
        self.hh.reset();
        self.ll.reset();
        self.slowk.reset();
        self.slowd.reset();
    }
}

impl fmt::Display for Stoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "STOCH({},{},{})",
            self.fastk, self.slowk_period, self.slowd_period
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::bars_from_closes;

    #[test]
    fn macd_with_a_shared_slow_ema_equals_its_own() {
        // (26, 12) is swapped to (12, 26): the slow period is 26 either way
        for (fast, slow, signal) in [(12, 26, 9), (26, 12, 9), (3, 5, 1), (4, 4, 2)] {
            let mut own = Macd::new(fast, slow, signal).unwrap();
            let mut shared = Macd::new(fast, slow, signal).unwrap();
            let mut ema = Ema::new(shared.slow_period()).unwrap();
            let closes = crate::testutil::random_walk(500, 5).close().to_vec();
            for (i, &x) in closes.iter().enumerate() {
                let want = own.update_raw(x);
                let got = shared.update_with_slow(x, ema.update_raw(x));
                assert_eq!(got, want, "({fast}, {slow}, {signal}) bar {i}");
            }
        }
    }

    conformance!(raw rsi_1 => Rsi::new(1));
    conformance!(raw rsi_2 => Rsi::new(2));
    conformance!(raw rsi_14 => Rsi::new(14));
    conformance!(raw roc_1 => Roc::new(1));
    conformance!(raw roc_10 => Roc::new(10));
    conformance!(raw mom_1 => Mom::new(1));
    conformance!(raw mom_10 => Mom::new(10));
    fn macd_cols(m: &mut Macd, b: &crate::data::Bars) -> Vec<Vec<f64>> {
        let c = m.columns(b.close());
        vec![c.macd, c.signal, c.hist]
    }
    fn stoch_cols(s: &mut Stoch, b: &crate::data::Bars) -> Vec<Vec<f64>> {
        let c = s.columns(b);
        vec![c.k, c.d]
    }
    conformance!(columns macd_12_26_9 => Macd::new(12, 26, 9), macd_cols);
    conformance!(columns macd_5_35_5 => Macd::new(5, 35, 5), macd_cols);
    conformance!(columns macd_swapped => Macd::new(26, 12, 9), macd_cols);
    conformance!(columns macd_1_1_1 => Macd::new(1, 1, 1), macd_cols);
    conformance!(columns macd_3_3_2 => Macd::new(3, 3, 2), macd_cols);
    conformance!(columns stoch_5_3_3 => Stoch::new(5, 3, 3), stoch_cols);
    conformance!(columns stoch_14_1_1 => Stoch::new(14, 1, 1), stoch_cols);
    conformance!(columns stoch_1_5_2 => Stoch::new(1, 5, 2), stoch_cols);

    #[test]
    fn rsi_seeds_with_average_gain_and_loss() {
        // changes +1, -1, +2 (n = 2): seed gain 1/2, loss 1/2 → 50;
        // then gain (0.5·1 + 2)/2 = 1.25, loss 0.5/2 = 0.25 → 100·1.25/1.5
        let mut r = Rsi::new(2).unwrap();
        let out: Vec<_> = [10.0, 11.0, 10.0, 12.0]
            .iter()
            .map(|&x| r.update_raw(x))
            .collect();
        assert_eq!(out[..3], [None, None, Some(50.0)]);
        assert!((out[3].unwrap() - 100.0 * 1.25 / 1.5).abs() < 1e-12);
    }

    #[test]
    fn roc_and_mom_compare_with_n_bars_ago() {
        let mut roc = Roc::new(2).unwrap();
        let mut mom = Mom::new(2).unwrap();
        let xs = [100.0, 50.0, 110.0, 75.0];
        let r: Vec<_> = xs.iter().map(|&x| roc.update_raw(x)).collect();
        let m: Vec<_> = xs.iter().map(|&x| mom.update_raw(x)).collect();
        assert_eq!(r[..2], [None, None]);
        assert!((r[2].unwrap() - 10.0).abs() < 1e-12);
        assert!((r[3].unwrap() - 50.0).abs() < 1e-12);
        assert_eq!(m, vec![None, None, Some(10.0), Some(25.0)]);
    }

    #[test]
    fn macd_aligns_fast_and_slow_seeds() {
        // fast 2, slow 3, signal 1: both EMAs start at bar 2; fast seed = (2+3)/2, slow = 2
        let mut m = Macd::new(2, 3, 1).unwrap();
        let out: Vec<_> = [1.0, 2.0, 3.0].iter().map(|&x| m.update_raw(x)).collect();
        assert_eq!(out[..2], [None, None]);
        let v = out[2].unwrap();
        assert_eq!((v.macd, v.signal, v.hist), (0.5, 0.5, 0.0));
        assert_eq!(m.lookback(), 2);
    }

    #[test]
    fn stoch_fast_k_is_position_in_range() {
        // fastk 2, no slowing: bar1 range [9, 12], close 11 → 200/3
        let bars = bars_from_closes(&[10.0, 11.0]);
        let mut s = Stoch::new(2, 1, 1).unwrap();
        let out = crate::indicators::batch(&mut s, &bars);
        assert!(out[0].is_none());
        let v = out[1].unwrap();
        // bars_from_closes: high = close + 1, low = close - 1
        let expect = (11.0 - 9.0) / ((12.0 - 9.0) / 100.0);
        assert_eq!(v.k, expect);
        assert_eq!(v.d, expect);
    }

    #[test]
    fn bad_periods_are_rejected() {
        assert!(Rsi::new(0).is_err());
        assert!(Roc::new(0).is_err());
        assert!(Mom::new(0).is_err());
        assert!(Macd::new(0, 26, 9).is_err());
        assert!(Macd::new(12, 26, 0).is_err());
        assert!(Stoch::new(5, 0, 3).is_err());
    }

    #[test]
    fn display_names_the_parameters() {
        assert_eq!(Macd::new(12, 26, 9).unwrap().to_string(), "MACD(12,26,9)");
        assert_eq!(Stoch::new(5, 3, 3).unwrap().to_string(), "STOCH(5,3,3)");
        assert_eq!(Rsi::new(14).unwrap().to_string(), "RSI(14)");
    }
}
