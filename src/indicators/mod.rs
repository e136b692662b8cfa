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
