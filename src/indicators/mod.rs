//! Streaming technical indicators with TA-Lib's definitions, seeds and warm-up lengths.
//!
//! One code path serves batch and live (STYLE rule 5): every indicator implements
//! [`Indicator`], and [`batch`] is `update` in a loop, so a backtest and a live bot see the
//! same values bit for bit. `update` returns `None` for exactly `lookback()` bars, then a
//! finite value for every finite input. Nothing here looks at a bar after the current one.

/// A parameter out of its allowed range (a period of 0, a negative multiplier, …).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{name} = {value} is out of range: {allowed}")]
pub struct ParamError {
    /// The parameter's name (`period`, `fast`, …).
    pub name: String,
    /// The bad value as text.
    pub value: String,
    /// The allowed range in words (`1..=100000`).
    pub allowed: String,
}

impl ParamError {
    /// A new error for parameter `name` with the bad `value` and the `allowed` range.
    pub fn new(name: &str, value: impl std::fmt::Display, allowed: &str) -> Self {
        ParamError {
            name: name.to_string(),
            value: value.to_string(),
            allowed: allowed.to_string(),
        }
    }
}

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

/// Run an indicator over all bars: `update` in a loop (no second implementation).
pub fn batch<I: Indicator>(ind: &mut I, bars: &crate::data::Bars) -> Vec<Option<I::Output>> {
    bars.iter().map(|b| ind.update(&b)).collect()
}

// declared first so its `conformance!` macro is visible in the modules below
#[cfg(test)]
#[macro_use]
pub(crate) mod conformance;

mod extrema;
mod ma;
mod momentum;
mod table;
mod trend;
mod volatility;
mod volume;

pub use extrema::{Max, Min};
pub use ma::{Ema, Sma, Wma};
pub use momentum::{Macd, MacdValue, Mom, Roc, Rsi, Stoch, StochValue};
pub use table::standard_table;
pub use trend::{Adx, Dmi, DmiValue, Dx, MinusDi, PlusDi};
pub use volatility::{Atr, BollingerBands, BollingerValue, StdDev, TrueRange};
pub use volume::{Obv, VolumeSma, Vwap};

/// Largest period any indicator accepts (TA-Lib's limit).
pub const MAX_PERIOD: usize = 100_000;

/// Check a period against `min..=MAX_PERIOD`.
pub(crate) fn check_period(name: &str, value: usize, min: usize) -> Result<usize, ParamError> {
    if value < min || value > MAX_PERIOD {
        return Err(ParamError::new(
            name,
            value,
            &format!("{min}..={MAX_PERIOD}"),
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
#[derive(Debug, Clone)]
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

    /// Push `x`; once the window is full, the sum over it as it stood before the oldest
    /// value left.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        self.sum += x;
        self.buf[self.pos] = x;
        self.pos += 1;
        if self.pos == self.period {
            self.pos = 0;
        }
        if self.count + 1 < self.period {
            self.count += 1;
            return None;
        }
        let out = self.sum;
        self.sum -= self.buf[self.pos];
        Some(out)
    }

    /// Forget every value.
    pub(crate) fn reset(&mut self) {
        self.buf.fill(0.0);
        self.pos = 0;
        self.count = 0;
        self.sum = 0.0;
    }
}
