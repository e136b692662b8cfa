//! Volatility: [`TrueRange`], [`Atr`], [`StdDev`] and [`BollingerBands`], following TA-Lib's
//! C source (Wilder smoothing of the true range; population variance from running sums of
//! values and squares, clamped to 0 below 1e-8).

use std::fmt;

use super::deviation::{self, VarSums};
use super::kernels::Isa;
use super::{
    BatchValues, Indicator, ParamError, RollingSum, check_mult, check_period, kernels,
    stream_values,
};
use crate::data::{Bar, Bars};

pub(crate) use super::kernels::true_range;

/// True range of a bar against the previous close.
///
/// `TR_t = max(high_t - low_t, |close_{t-1} - high_t|, |close_{t-1} - low_t|)`. The first bar
/// has no previous close, so lookback is 1. Matches `talib.TRANGE(high, low, close)`.
#[doc(alias = "TRANGE")]
#[doc(alias = "TR")]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TrueRange {
    has_prev: bool,
    prev_close: f64,
}

impl TrueRange {
    /// A true range (no parameters).
    ///
    /// # Errors
    /// Never; returns `Result` like every other constructor.
    pub fn new() -> Result<Self, ParamError> {
        Ok(TrueRange::default())
    }
}

impl Indicator for TrueRange {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        let prev = self.prev_close;
        self.prev_close = bar.close;
        if !self.has_prev {
            self.has_prev = true;
            return None;
        }
        Some(true_range(bar.high, bar.low, prev))
    }
    fn lookback(&self) -> usize {
        1
    }
    fn reset(&mut self) {
        *self = TrueRange::default();
    }
}

impl fmt::Display for TrueRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TRANGE")
    }
}

impl BatchValues for TrueRange {
    fn values(&mut self, bars: &Bars) -> Vec<f64> {
        if self.has_prev {
            return stream_values(self, bars);
        }
        let mut out = kernels::column(bars.len());
        kernels::true_ranges(bars.high(), bars.low(), bars.close(), &mut out);
        if let Some(&c) = bars.close().last() {
            self.has_prev = true;
            self.prev_close = c;
        }
        out
    }
}

/// Average true range, Wilder's smoothing.
///
/// Seed: the SMA of the first `n` true ranges (bars 1..=n); then, with `c = (n-1)/n`,
/// `ATR_t = fma(ATR_{t-1}, c, TR_t·(1-c))`: one fused multiply-add on the bar-to-bar chain,
/// TA-Lib 0.8.1's own form (its FMA build, the one it runs on a CPU with FMA), so the values
/// equal `talib.ATR(high, low, close, n)` bit for bit there. Lookback `n`.
#[doc(alias = "ATR")]
#[doc(alias = "AverageTrueRange")]
///
/// Saved state (serde): the period, the true range's state, the count and the value; the
/// smoothing constants are derived from the period when a state is loaded, so a state saved
/// before session 12 (which also held `keep` and `inv_n`) loads too.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "AtrState")]
pub struct Atr {
    period: usize,
    /// `c = (period - 1) / period` and `1 - c`, for the smoothing step.
    #[serde(skip_serializing)]
    decay: f64,
    #[serde(skip_serializing)]
    gain: f64,
    tr: TrueRange,
    count: usize,
    value: f64,
}

/// What a saved [`Atr`] holds (unknown fields, such as the `keep` and `inv_n` of older
/// states, are ignored).
#[derive(serde::Deserialize)]
struct AtrState {
    period: usize,
    tr: TrueRange,
    count: usize,
    value: f64,
}

impl TryFrom<AtrState> for Atr {
    type Error = ParamError;
    fn try_from(s: AtrState) -> Result<Self, ParamError> {
        let mut atr = Atr::new(s.period)?;
        (atr.tr, atr.count, atr.value) = (s.tr, s.count, s.value);
        Ok(atr)
    }
}

impl Atr {
    /// An ATR over `period` bars.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
    pub fn new(period: usize) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        let decay = (period - 1) as f64 / period as f64;
        Ok(Atr {
            period,
            decay,
            gain: 1.0 - decay,
            tr: TrueRange::default(),
            count: 0,
            value: 0.0,
        })
    }
}

impl Indicator for Atr {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        let tr = self.tr.update(bar)?;
        if self.count < self.period {
            self.value += tr;
            self.count += 1;
            if self.count < self.period {
                return None;
            }
            self.value /= self.period as f64;
            return Some(self.value);
        }
        self.value = self.value.mul_add(self.decay, tr * self.gain);
        Some(self.value)
    }
    fn lookback(&self) -> usize {
        self.period
    }
    fn reset(&mut self) {
        self.tr.reset();
        self.count = 0;
        self.value = 0.0;
    }
}

impl fmt::Display for Atr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ATR({})", self.period)
    }
}

impl BatchValues for Atr {
    fn values(&mut self, bars: &Bars) -> Vec<f64> {
        if self.tr.has_prev || bars.is_empty() {
            return stream_values(self, bars);
        }
        let mut out = kernels::column(bars.len());
        let cols = (bars.high(), bars.low(), bars.close());
        let (p, decay, gain) = (self.period, self.decay, self.gain);
        let run = kernels::AtrRun {
            cols,
            p,
            decay,
            gain,
            out: &mut out,
        };
        (self.count, self.value) = Isa::detect().run(run);
        self.tr.has_prev = true;
        self.tr.prev_close = bars.close().last().copied().unwrap_or(0.0);
        out
    }
}

/// Rolling population variance exactly as TA-Lib 0.8's `TA_VAR` computes it.
///
/// Sums of `y = x - K` and `y²` around a shift `K` (first the first value), so the
/// cancellation in `E[y²] - E[y]²` stays small: `var = (1/n)·Σy² - ((1/n)·Σy)²`. When the
/// variance looks cancelled (`(1/n)·Σy² · 1e-6 > var` after the oldest value leaves, or the
/// leaving `y²` exceeds `1e6·Σy²`), or every `32·n` bars, it re-centres: `K` = the window mean,
/// both sums recomputed over the window, and a variance below `1e-12·(1/n)·Σy²` becomes 0.
/// (Read from the disassembly of the TA-Lib 0.8.1 that python `talib` 0.8.2 ships; the
/// older running sum `Σx²/n - (Σx/n)²` misses it on flat windows.)
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct VarCore {
    period: usize,
    inv_n: f64,
    buf: Vec<f64>,
    pos: usize,
    count: usize,
    shift: f64,
    s1: f64,
    s2: f64,
    countdown: usize,
}

impl VarCore {
    pub(crate) fn new(period: usize) -> Self {
        VarCore {
            period,
            inv_n: 1.0 / period as f64,
            buf: vec![0.0; period],
            pos: 0,
            count: 0,
            shift: 0.0,
            s1: 0.0,
            s2: 0.0,
            countdown: 32 * period,
        }
    }

    pub(crate) fn reset(&mut self) {
        *self = VarCore::new(self.period);
    }

    /// Push `x`; the population variance of the last `period` values once there are enough.
    #[inline(always)]
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let n = self.period;
        self.buf[self.pos] = x;
        self.pos += 1;
        if self.pos == n {
            self.pos = 0;
        }
        if self.count == 0 {
            self.shift = x;
        }
        if self.count + 1 < n {
            self.count += 1;
            let y = x - self.shift;
            self.s1 += y;
            self.s2 += y * y;
            return None;
        }
        self.count = n;
        // the window is buf[pos..] then buf[..pos]; its oldest value is buf[pos]
        let oldest = self.buf[self.pos];
        let mut sums = VarSums {
            p: n,
            inv_n: self.inv_n,
            shift: self.shift,
            s1: self.s1,
            s2: self.s2,
            countdown: self.countdown,
        };
        let (newer, older) = self.buf.split_at(self.pos);
        let var = sums.step_on(x, oldest, || (older, newer));
        (self.shift, self.s1, self.s2) = (sums.shift, sums.s1, sums.s2);
        self.countdown = sums.countdown;
        Some(var)
    }

    /// `sqrt(variance) · nbdev` of every full window of `xs` (`NaN` before) by the
    /// blocked kernel (from fresh), leaving the state pushing every value would; `None`
    /// (and nothing done) when not fresh.
    fn batch_sd(&mut self, xs: &[f64], nbdev: f64) -> Option<Vec<f64>> {
        if self.count != 0 {
            return None;
        }
        let (out, end) = deviation::stddev(xs, self.period, self.inv_n, nbdev, Isa::detect());
        self.restore(xs, end);
        Some(out)
    }

    /// From fresh, the state after pushing every value of `xs`, whose batch kernel ended
    /// in `end`.
    fn restore(&mut self, xs: &[f64], end: deviation::VarEnd) {
        self.pos = super::ring_restore(&mut self.buf, xs);
        self.count = end.count;
        self.shift = end.shift;
        self.s1 = end.s1;
        self.s2 = end.s2;
        self.countdown = end.countdown;
    }
}

/// Rolling mean (TA-Lib's SMA) and population standard deviation (TA-Lib's VAR, square
/// root), for [`StdDev`] and [`BollingerBands`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct MeanVar {
    period: usize,
    sums: RollingSum,
    var: VarCore,
}

impl MeanVar {
    fn new(period: usize) -> Self {
        MeanVar {
            period,
            sums: RollingSum::new(period),
            var: VarCore::new(period),
        }
    }
    /// (mean, standard deviation).
    #[inline(always)]
    fn push(&mut self, x: f64) -> Option<(f64, f64)> {
        let n = self.period as f64;
        let s = self.sums.push(x);
        let var = self.var.push(x)?;
        let s1 = s?;
        Some((s1 / n, var.sqrt()))
    }
    /// Standard deviation only.
    #[inline(always)]
    fn push_sd(&mut self, x: f64) -> Option<f64> {
        self.var.push(x).map(f64::sqrt)
    }
    fn reset(&mut self) {
        self.sums.reset();
        self.var.reset();
    }
}

/// Rolling population standard deviation of the close, times `nbdev`.
///
/// `σ = sqrt(Σ(x - K)²/n - (Σ(x - K)/n)²)` from running sums around a shift `K` that is
/// re-centred on the window mean when cancellation threatens (TA-Lib 0.8's `TA_VAR`, see
/// the source), output `σ · nbdev`. No seed. Lookback `n - 1`.
/// Matches `talib.STDDEV(close, n, nbdev)`.
#[doc(alias = "STDDEV")]
#[doc(alias = "StandardDeviation")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StdDev {
    nbdev: f64,
    mv: MeanVar,
}

impl StdDev {
    /// A standard deviation over `period` bars, scaled by `nbdev`.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or too large, or `nbdev` is negative or not finite.
    pub fn new(period: usize, nbdev: f64) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        let nbdev = check_mult("nbdev", nbdev)?;
        Ok(StdDev {
            nbdev,
            mv: MeanVar::new(period),
        })
    }

    /// Feed one value (instead of a bar's close).
    #[inline]
    pub fn update_raw(&mut self, x: f64) -> Option<f64> {
        self.mv.push_sd(x).map(|sd| sd * self.nbdev)
    }
}

impl Indicator for StdDev {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.update_raw(bar.close)
    }
    fn lookback(&self) -> usize {
        self.mv.period - 1
    }
    fn reset(&mut self) {
        self.mv.reset();
    }
}

impl super::BatchRaw for StdDev {
    fn raw_values(&mut self, xs: &[f64]) -> Vec<f64> {
        match self.mv.var.batch_sd(xs, self.nbdev) {
            Some(out) => out,
            None => super::stream_raw(self, xs),
        }
    }
}

impl fmt::Display for StdDev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "STDDEV({},{})", self.mv.period, self.nbdev)
    }
}

/// One Bollinger reading.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BollingerValue {
    /// `middle + nbdev_up · σ`.
    pub upper: f64,
    /// SMA of the close.
    pub middle: f64,
    /// `middle - nbdev_dn · σ`.
    pub lower: f64,
}

/// Bollinger bands on the SMA of the close with the population standard deviation.
///
/// `middle = SMA_n`, `σ` as [`StdDev`], `upper = middle + nbdev_up·σ` (one fused
/// multiply-add when `nbdev_up != nbdev_dn`, as TA-Lib 0.8.1's FMA build computes it),
/// `lower = middle - nbdev_dn·σ`. No seed. Lookback `n - 1`. Matches
/// `talib.BBANDS(close, n, nbdev_up, nbdev_dn, matype=0)` bit for bit.
#[doc(alias = "BBANDS")]
#[doc(alias = "Bollinger")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BollingerBands {
    nbdev_up: f64,
    nbdev_dn: f64,
    mv: MeanVar,
}

impl BollingerBands {
    /// Bands over `period` bars, `nbdev_up` and `nbdev_dn` deviations away.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or too large, or a multiplier is negative or not
    /// finite.
    pub fn new(period: usize, nbdev_up: f64, nbdev_dn: f64) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        Ok(BollingerBands {
            nbdev_up: check_mult("nbdev_up", nbdev_up)?,
            nbdev_dn: check_mult("nbdev_dn", nbdev_dn)?,
            mv: MeanVar::new(period),
        })
    }

    /// Feed one value (instead of a bar's close).
    #[inline(always)]
    pub fn update_raw(&mut self, x: f64) -> Option<BollingerValue> {
        let (middle, sd) = self.mv.push(x)?;
        let fused = self.nbdev_up != self.nbdev_dn;
        Some(BollingerValue {
            upper: deviation::upper_band(middle, sd, self.nbdev_up, fused),
            middle,
            lower: middle - sd * self.nbdev_dn,
        })
    }
}

/// Bollinger bands as three columns (`NaN` for warm-up), TA-Lib's output shape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BollingerColumns {
    /// Upper band.
    pub upper: Vec<f64>,
    /// Middle band (the SMA).
    pub middle: Vec<f64>,
    /// Lower band.
    pub lower: Vec<f64>,
}

impl BollingerBands {
    /// The bands over `xs` as columns: `update_raw` on every value, bit for bit, by the
    /// blocked kernel `deviation::bbands` from a fresh indicator (else the loop); the
    /// indicator is left as streaming would leave it.
    pub fn columns(&mut self, xs: &[f64]) -> BollingerColumns {
        self.columns_in(xs, Isa::detect())
    }

    /// [`BollingerBands::columns`] with the kernel in instruction set `isa`.
    fn columns_in(&mut self, xs: &[f64], isa: Isa) -> BollingerColumns {
        if self.mv.sums.is_fresh() && self.mv.var.count == 0 {
            let nbdev = (self.nbdev_up, self.nbdev_dn);
            let ((upper, middle, lower), s, end) =
                deviation::bbands(xs, self.mv.period, nbdev, isa);
            self.mv.sums.restore(xs, s);
            self.mv.var.restore(xs, end);
            return BollingerColumns {
                upper,
                middle,
                lower,
            };
        }
        let mut c = BollingerColumns::default();
        for &x in xs {
            let v = self.update_raw(x);
            c.upper.push(v.map_or(f64::NAN, |v| v.upper));
            c.middle.push(v.map_or(f64::NAN, |v| v.middle));
            c.lower.push(v.map_or(f64::NAN, |v| v.lower));
        }
        c
    }
}

impl Indicator for BollingerBands {
    type Output = BollingerValue;
    #[inline(always)]
    fn update(&mut self, bar: &Bar) -> Option<BollingerValue> {
        self.update_raw(bar.close)
    }
    fn lookback(&self) -> usize {
        self.mv.period - 1
    }
    fn reset(&mut self) {
        self.mv.reset();
    }
}

impl fmt::Display for BollingerBands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BBANDS({},{},{})",
            self.mv.period, self.nbdev_up, self.nbdev_dn
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bars;
    use crate::indicators::batch;

    conformance!(values trange => TrueRange::new());

    /// A saved ATR loads from the period, with or without the constants older states held
    /// (`keep`, `inv_n`), and continues exactly as the one that was saved.
    #[test]
    fn atr_state_loads_from_the_period_old_fields_ignored() {
        let bs = bars(&[
            (10.0, 9.0, 9.5),
            (11.0, 9.5, 10.5),
            (10.8, 10.0, 10.2),
            (10.9, 9.8, 10.0),
            (11.2, 10.1, 11.0),
            (11.5, 10.7, 11.1),
        ]);
        let mut a = Atr::new(3).unwrap();
        for i in 0..4 {
            a.update(&bs.bar(i));
        }
        let mut v = serde_json::to_value(&a).unwrap();
        assert!(v.get("decay").is_none() && v.get("gain").is_none());
        let mut b: Atr = serde_json::from_value(v.clone()).unwrap();
        v["keep"] = serde_json::json!(2.0);
        v["inv_n"] = serde_json::json!(1.0 / 3.0);
        let mut c: Atr = serde_json::from_value(v.clone()).unwrap();
        for i in 4..6 {
            let want = a.update(&bs.bar(i)).unwrap().to_bits();
            assert_eq!(b.update(&bs.bar(i)).unwrap().to_bits(), want);
            assert_eq!(c.update(&bs.bar(i)).unwrap().to_bits(), want);
        }
        v["period"] = serde_json::json!(0);
        assert!(serde_json::from_value::<Atr>(v).is_err());
    }

    conformance!(values atr_1 => Atr::new(1));
    conformance!(values atr_14 => Atr::new(14));
    conformance!(values atr_30 => Atr::new(30));
    conformance!(raw stddev_1 => StdDev::new(1, 1.0));
    conformance!(raw stddev_5 => StdDev::new(5, 1.0));
    conformance!(raw stddev_20_2 => StdDev::new(20, 2.0));
    fn bb_cols(bb: &mut BollingerBands, b: &Bars) -> Vec<Vec<f64>> {
        let c = bb.columns(b.close());
        vec![c.upper, c.middle, c.lower]
    }
    conformance!(columns bbands_20 => BollingerBands::new(20, 2.0, 2.0), bb_cols);
    conformance!(columns bbands_5 => BollingerBands::new(5, 1.5, 2.5), bb_cols);
    conformance!(columns bbands_1 => BollingerBands::new(1, 2.0, 2.0), bb_cols);

    fn bar(h: f64, l: f64, c: f64) -> Bar {
        Bar {
            ts_ms: 0,
            open: c,
            high: h,
            low: l,
            close: c,
            volume: 1.0,
        }
    }

    fn bars(v: &[(f64, f64, f64)]) -> Bars {
        Bars::from_bars(v.iter().enumerate().map(|(i, &(h, l, c))| Bar {
            ts_ms: i as i64,
            ..bar(h, l, c)
        }))
        .unwrap()
    }

    #[test]
    fn bands_continue_streaming_after_a_batch_in_either_instruction_set() {
        // a walk long enough for several blocks and the countdown's re-centring
        let xs: Vec<f64> = crate::testutil::random_walk(3000, 9).close().to_vec();
        let mut whole = BollingerBands::new(20, 2.0, 1.0).unwrap();
        let want: Vec<_> = xs.iter().map(|&x| whole.update_raw(x)).collect();
        for isa in [Isa::Portable, Isa::detect()] {
            for k in [0, 19, 20, 700, 2999] {
                let mut bb = BollingerBands::new(20, 2.0, 1.0).unwrap();
                let c = bb.columns_in(&xs[..k], isa);
                let got: Vec<_> = (0..k)
                    .map(|i| (c.upper[i], c.middle[i], c.lower[i]))
                    .chain(xs[k..].iter().map(|&x| {
                        let v = bb.update_raw(x);
                        v.map_or((f64::NAN, f64::NAN, f64::NAN), |v| {
                            (v.upper, v.middle, v.lower)
                        })
                    }))
                    .collect();
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    let w = w.map_or((f64::NAN, f64::NAN, f64::NAN), |v| {
                        (v.upper, v.middle, v.lower)
                    });
                    let bits = |t: (f64, f64, f64)| (t.0.to_bits(), t.1.to_bits(), t.2.to_bits());
                    assert_eq!(bits(*g), bits(w), "{isa:?}, batch of {k}, bar {i}");
                }
            }
        }
    }

    #[test]
    fn atr_kernel_equals_the_stream_in_either_instruction_set() {
        // the portable kernel's `mul_add` is the C library's `fma`, AVX2's one instruction;
        // both round once, so both give the stream's bits
        let walk = crate::testutil::random_walk(3000, 5);
        let cols = (walk.high(), walk.low(), walk.close());
        for p in [1, 2, 14, 30] {
            let mut a = Atr::new(p).unwrap();
            let want: Vec<u64> = walk
                .iter()
                .map(|b| a.update(&b).map_or(f64::NAN, |v| v).to_bits())
                .collect();
            let (decay, gain) = (a.decay, a.gain);
            for isa in [Isa::Portable, Isa::detect()] {
                let mut out = kernels::column(walk.len());
                let end = isa.run(|| kernels::atr(cols, p, decay, gain, &mut out));
                let got: Vec<u64> = out.iter().map(|v| v.to_bits()).collect();
                assert_eq!(got, want, "{isa:?}, period {p}");
                assert_eq!((end.0, end.1.to_bits()), (a.count, a.value.to_bits()));
            }
        }
    }

    #[test]
    fn true_range_takes_the_gap_into_account() {
        assert_eq!(true_range(12.0, 11.0, 8.0), 4.0);
        assert_eq!(true_range(12.0, 9.0, 10.0), 3.0);
        assert_eq!(true_range(10.0, 9.0, 13.0), 4.0);
    }

    #[test]
    fn atr_seeds_with_mean_tr_then_wilder() {
        // TRs: bar1 = 2, bar2 = 4, bar3 = 1 (n = 2): seed 3, then fma(3, 1/2, 1·(1 − 1/2)) = 2
        let b = bars(&[
            (11.0, 9.0, 10.0),
            (11.0, 9.0, 10.0),
            (14.0, 11.0, 12.0),
            (12.5, 11.5, 12.0),
        ]);
        let out = batch(&mut Atr::new(2).unwrap(), &b);
        assert_eq!(out, vec![None, None, Some(3.0), Some(2.0)]);
    }

    #[test]
    fn stddev_is_population_and_bands_use_it() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population σ 2
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut s = StdDev::new(8, 1.0).unwrap();
        let mut bb = BollingerBands::new(8, 2.0, 1.0).unwrap();
        let sd = xs.iter().map(|&x| s.update_raw(x)).last().flatten();
        let b = xs
            .iter()
            .map(|&x| bb.update_raw(x))
            .last()
            .flatten()
            .unwrap();
        assert_eq!(sd, Some(2.0));
        assert_eq!((b.upper, b.middle, b.lower), (9.0, 5.0, 3.0));
    }

    #[test]
    fn flat_window_has_exactly_zero_deviation() {
        // 0.1 is not exact in binary; the running sums leave a residue that re-centring
        // removes, as TA-Lib 0.8 does
        let mut s = StdDev::new(3, 1.0).unwrap();
        let out: Vec<_> = [5.0, 0.3, 0.1, 0.1, 0.1, 0.1]
            .iter()
            .map(|&x| s.update_raw(x))
            .collect();
        assert_eq!(out[5], Some(0.0));
    }

    #[test]
    fn small_variance_is_not_clamped() {
        let mut s = StdDev::new(2, 1.0).unwrap();
        s.update_raw(1.0);
        let sd = s.update_raw(1.0001).unwrap();
        assert!((sd - 0.00005).abs() < 1e-12, "{sd}");
    }

    #[test]
    fn bad_parameters_are_rejected() {
        assert!(Atr::new(0).is_err());
        assert!(StdDev::new(0, 1.0).is_err());
        assert!(StdDev::new(5, f64::NAN).is_err());
        assert!(BollingerBands::new(20, -1.0, 2.0).is_err());
        assert_eq!(
            BollingerBands::new(20, 2.0, 2.0).unwrap().to_string(),
            "BBANDS(20,2,2)"
        );
        assert_eq!(Atr::new(14).unwrap().to_string(), "ATR(14)");
    }
}
