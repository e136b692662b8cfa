//! Streaming technical indicators with TA-Lib's definitions, seeds and warm-up lengths.
//!
//! One code path serves batch and live (STYLE rule 5): every indicator implements
//! [`Indicator`], and [`batch`] is `update` in a loop, so a backtest and a live bot see the
//! same values bit for bit. `update` returns `None` for exactly `lookback()` bars, then a
//! finite value for every finite input. Nothing here looks at a bar after the current one.

pub use crate::core::params::ParamError;

/// A streaming indicator: feed bars in order, get a value once warmed up.
pub trait Indicator {
    /// The value: `f64`, or a small `Copy` struct for multi-line indicators (MACD, …).
    type Output: Copy;
    /// Feed the next bar. `None` during the first `lookback()` bars, then `Some`.
    fn update(&mut self, bar: &crate::data::Bar) -> Option<Self::Output>;
    /// Number of leading `None`s, as TA-Lib's `*_Lookback` function gives it.
    fn lookback(&self) -> usize;
    /// Forget every bar seen; the next `update` starts from scratch.
    fn reset(&mut self);
}

/// An indicator of one series (the close, when fed bars) that also takes plain values, so
/// composites (MACD's signal, a strategy's custom series) and [`batch_raw`] can feed it.
///
/// `update_raw(x)` is exactly `update(bar)` for a bar whose close is `x`: `update` calls it.
pub trait RawInput: Indicator {
    /// Feed the next value. `None` during the first `lookback()` values, then `Some`.
    fn update_raw(&mut self, x: f64) -> Option<Self::Output>;
}

/// Run an indicator over all bars: `update` in a loop (no second implementation).
pub fn batch<I: Indicator>(ind: &mut I, bars: &crate::data::Bars) -> Vec<Option<I::Output>> {
    bar_iter(bars).map(|b| ind.update(&b)).collect()
}

/// Run an `f64` indicator over all bars, with `NaN` in the warm-up slots: its
/// [`BatchValues::values`] (a batch kernel, or `update` in a loop).
///
/// The NaN convention of the raw batch forms: `out[i].is_nan()` exactly when `update` gave
/// `None` (the first `lookback()` slots); after warm-up every value is finite for finite
/// input, so no real value is ever confused with warm-up. Half the memory of
/// `Vec<Option<f64>>` and no tag to test, as TA-Lib's output arrays (whose warm-up is cut
/// off instead). Use [`batch`] for the `Option` form.
pub fn batch_values<I: BatchValues>(ind: &mut I, bars: &crate::data::Bars) -> Vec<f64> {
    ind.values(bars)
}

/// Run a single-input `f64` indicator over `xs`, `NaN` for warm-up (the convention of
/// [`batch_values`]): its [`BatchRaw::raw_values`]. `batch_raw(ind, bars.close())` equals
/// `batch_values(ind, bars)` bit for bit.
pub fn batch_raw<I: BatchRaw>(ind: &mut I, xs: &[f64]) -> Vec<f64> {
    ind.raw_values(xs)
}

/// The batch form of an `f64` indicator: every bar's value, `NaN` for `None`.
///
/// The provided method is `update` in a loop. An indicator with a batch kernel overrides
/// it with a loop that reads the columns directly (no ring buffers, no `Option`s) and
/// performs the same floating-point operations in the same order, so the values are the
/// streaming path's bit for bit; afterwards the indicator is in the state `update` would
/// have left, so streaming can continue (the conformance checks prove both). A kernel
/// starts only from a fresh (new or reset) indicator; otherwise it falls back to the loop.
pub trait BatchValues: Indicator<Output = f64> {
    /// `update` on every bar in order, `NaN` where it gives `None`.
    fn values(&mut self, bars: &crate::data::Bars) -> Vec<f64> {
        bar_iter(bars)
            .map(|b| self.update(&b).unwrap_or(f64::NAN))
            .collect()
    }
}

/// The batch form of a single-input `f64` indicator over plain values: [`BatchValues`] for
/// `update_raw`, with the same kernel rules.
pub trait BatchRaw: RawInput<Output = f64> {
    /// `update_raw` on every value in order, `NaN` where it gives `None`.
    fn raw_values(&mut self, xs: &[f64]) -> Vec<f64> {
        stream_raw(self, xs)
    }
}

/// `update_raw` in a loop, `NaN` for `None` (the kernels' fallback from a non-fresh state).
#[inline]
pub(crate) fn stream_raw<I: RawInput<Output = f64> + ?Sized>(ind: &mut I, xs: &[f64]) -> Vec<f64> {
    xs.iter()
        .map(|&x| ind.update_raw(x).unwrap_or(f64::NAN))
        .collect()
}

/// `update` in a loop, `NaN` for `None` (the kernels' fallback from a non-fresh state).
#[inline]
pub(crate) fn stream_values<I: Indicator<Output = f64> + ?Sized>(
    ind: &mut I,
    bars: &crate::data::Bars,
) -> Vec<f64> {
    bar_iter(bars)
        .map(|b| ind.update(&b).unwrap_or(f64::NAN))
        .collect()
}

/// Put the last values of `xs` into a fresh ring `buf` as pushing every value of `xs` in
/// order would (value `i` in slot `i % buf.len()`); returns the next write position.
pub(crate) fn ring_restore(buf: &mut [f64], xs: &[f64]) -> usize {
    let p = buf.len();
    if p == 0 {
        return 0;
    }
    let start = xs.len().saturating_sub(p);
    for (i, &x) in xs.iter().enumerate().skip(start) {
        if let Some(slot) = buf.get_mut(i % p) {
            *slot = x;
        }
    }
    xs.len() % p
}

/// The bars in order, read from the six columns in step (no per-bar bounds checks, and
/// loads of columns the indicator never reads are optimised away).
#[inline]
pub(crate) fn bar_iter(
    bars: &crate::data::Bars,
) -> impl ExactSizeIterator<Item = crate::data::Bar> + '_ {
    bars.ts_ms()
        .iter()
        .zip(bars.open())
        .zip(bars.high())
        .zip(bars.low())
        .zip(bars.close())
        .zip(bars.volume())
        .map(
            |(((((&ts_ms, &open), &high), &low), &close), &volume)| crate::data::Bar {
                ts_ms,
                open,
                high,
                low,
                close,
                volume,
            },
        )
}

/// Implement [`RawInput`] by the inherent `update_raw`, and `Indicator::update` by feeding
/// it the close.
macro_rules! raw_input {
    ($($t:ty),+) => {$(
        impl $crate::indicators::RawInput for $t {
            #[inline]
            fn update_raw(&mut self, x: f64) -> Option<<Self as $crate::indicators::Indicator>::Output> {
                <$t>::update_raw(self, x)
            }
        }
    )+};
}

/// Implement [`BatchValues`] by [`BatchRaw::raw_values`] over the closes.
macro_rules! values_by_raw {
    ($($t:ty),+) => {$(
        impl $crate::indicators::BatchValues for $t {
            fn values(&mut self, bars: &$crate::data::Bars) -> Vec<f64> {
                $crate::indicators::BatchRaw::raw_values(self, bars.close())
            }
        }
    )+};
}

values_by_raw!(Sma, Ema, Wma, Rsi, Roc, Mom, StdDev, Max, Min);

raw_input!(
    Sma,
    Ema,
    Wma,
    Rsi,
    Roc,
    Mom,
    Macd,
    StdDev,
    BollingerBands,
    Max,
    Min
);

// declared first so its `conformance!` macro is visible in the modules below
#[cfg(test)]
#[macro_use]
pub(crate) mod conformance;

mod deviation;
mod extrema;
mod kernels;
mod ma;
mod momentum;
mod table;
mod trend;
mod volatility;
mod volume;
mod window;

pub use extrema::{Max, Min};
pub(crate) use kernels::Isa;
pub use ma::{Ema, Sma, Wma};
pub use momentum::{Macd, MacdColumns, MacdValue, Mom, Roc, Rsi, Stoch, StochColumns, StochValue};
pub use table::standard_table;
pub use trend::{Adx, Dmi, DmiColumns, DmiValue, Dx, MinusDi, PlusDi};
pub use volatility::{Atr, BollingerBands, BollingerColumns, BollingerValue, StdDev, TrueRange};
pub use volume::{Obv, VolumeSma, Vwap};
pub(crate) use window::{RankWindow, Window, from_order_key, order_key};

/// Largest period any indicator accepts (TA-Lib's limit).
pub const MAX_PERIOD: usize = 100_000;

/// Check a period against `min..=MAX_PERIOD`.
pub(crate) fn check_period(name: &str, value: usize, min: usize) -> Result<usize, ParamError> {
    if value < min || value > MAX_PERIOD {
        return Err(ParamError::new(
            name,
            value,
            &format!("from {min} to {MAX_PERIOD}"),
        ));
    }
    Ok(value)
}

/// Check a band multiplier: finite and >= 0.
pub(crate) fn check_mult(name: &str, value: f64) -> Result<f64, ParamError> {
    if !value.is_finite() || value < 0.0 {
        return Err(ParamError::new(name, value, "a finite number >= 0"));
    }
    Ok(value)
}

/// TA-Lib's `TA_IS_ZERO`: |v| < 1e-8.
#[inline]
pub(crate) fn ta_is_zero(v: f64) -> bool {
    -0.000_000_01 < v && v < 0.000_000_01
}

/// A running sum over the last `period` values, updated exactly as TA-Lib's `TA_INT_SMA`
/// does: add the new value, read the sum, subtract the oldest value of the window.
/// (`sum` holds the sum before that subtraction.)
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct RollingSum {
    period: usize,
    buf: Vec<f64>,
    pos: usize,
    count: usize,
    sum: f64,
}

impl RollingSum {
    /// A rolling sum over `period >= 1` values.
    pub(crate) fn new(period: usize) -> Self {
        RollingSum {
            period,
            buf: vec![0.0; period],
            pos: 0,
            count: 0,
            sum: 0.0,
        }
    }

    /// Push `x`; once the window is full, the sum over it.
    ///
    /// TA-Lib subtracts the oldest value right after reading the sum; here that
    /// subtraction waits for the next push (the ring slot `x` overwrites holds exactly that
    /// value), so the same additions and subtractions happen in the same order, and the
    /// steady state is one branch: subtract, add, store, advance.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let slot = self.buf.get_mut(self.pos)?;
        let old = std::mem::replace(slot, x);
        self.pos += 1;
        if self.pos == self.period {
            self.pos = 0;
        }
        if self.count == self.period {
            self.sum = (self.sum - old) + x;
            return Some(self.sum);
        }
        self.sum += x;
        self.count += 1;
        (self.count == self.period).then_some(self.sum)
    }

    /// Forget every value.
    pub(crate) fn reset(&mut self) {
        self.buf.fill(0.0);
        self.pos = 0;
        self.count = 0;
        self.sum = 0.0;
    }

    /// True before the first push (new or reset).
    pub(crate) fn is_fresh(&self) -> bool {
        self.count == 0
    }

    /// From fresh, the state after pushing every value of `xs`, whose running sum a batch
    /// kernel ([`kernels::rolling_mean`]) left at `sum`.
    pub(crate) fn restore(&mut self, xs: &[f64], sum: f64) {
        self.pos = ring_restore(&mut self.buf, xs);
        self.count = xs.len().min(self.period);
        self.sum = sum;
    }
}
