//! The [`Strategy`] trait the engine drives, the [`History`] view it decides on, and the
//! built-in strategies.
//!
//! A strategy sees bars `..=t` only: [`History`] holds no reference to later bars, so a
//! look-ahead cannot be written (STYLE rule 6).

pub mod dqn;
pub mod evolved;
mod params;
mod registry;
pub mod sma_cross;
pub mod technical;
pub use params::{ParamKind, ParamSpec, ParamValue, Params, parse_kv};
pub use registry::{STRATEGY_NAMES, build, param_specs};

use crate::data::{Bar, Bars};
use crate::order::{Intent, PositionView};

/// The bars up to and including the current one.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    bars: &'a Bars,
    t: usize,
}

impl<'a> History<'a> {
    /// The view of `bars[..=t]`.
    ///
    /// # Panics
    /// If `t >= bars.len()`.
    pub fn new(bars: &'a Bars, t: usize) -> Self {
        assert!(
            t < bars.len(),
            "history index {t} out of {} bars",
            bars.len()
        );
        History { bars, t }
    }

    /// Index of the current bar (= number of earlier bars).
    pub fn index(&self) -> usize {
        self.t
    }

    /// Number of visible bars (`t + 1`).
    pub fn len(&self) -> usize {
        self.t + 1
    }

    /// Always false: a history holds at least the current bar.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The current bar.
    #[inline]
    pub fn last(&self) -> Bar {
        self.bars.bar(self.t)
    }

    /// Visible bar `i` (`i <= t`), or `None` beyond the current bar.
    pub fn bar(&self, i: usize) -> Option<Bar> {
        (i <= self.t).then(|| self.bars.bar(i))
    }

    /// Visible closes.
    pub fn close(&self) -> &'a [f64] {
        &self.bars.close()[..=self.t]
    }
    /// Visible opens.
    pub fn open(&self) -> &'a [f64] {
        &self.bars.open()[..=self.t]
    }
    /// Visible highs.
    pub fn high(&self) -> &'a [f64] {
        &self.bars.high()[..=self.t]
    }
    /// Visible lows.
    pub fn low(&self) -> &'a [f64] {
        &self.bars.low()[..=self.t]
    }
    /// Visible volumes.
    pub fn volume(&self) -> &'a [f64] {
        &self.bars.volume()[..=self.t]
    }
    /// Visible timestamps.
    pub fn ts_ms(&self) -> &'a [i64] {
        &self.bars.ts_ms()[..=self.t]
    }
    /// A visible extra column.
    pub fn extra(&self, name: &str) -> Option<&'a [f64]> {
        self.bars.extra(name).map(|c| &c[..=self.t])
    }
}

/// A trading strategy: decides at the close of each bar.
pub trait Strategy {
    /// Name, as `--strategy` spells it.
    fn name(&self) -> &str;
    /// Decide at the close of the current bar of `hist`. Called once per bar, in order.
    fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent;
    /// Forget all state (before a new run).
    fn reset(&mut self);
    /// The parameters this strategy was built with (for run records and reports).
    fn params(&self) -> Params {
        Params::default()
    }
    /// Bars before the strategy can act (its indicators' warm-up). Statistics measure buy &
    /// hold from the close of this bar, as backtesting.py does.
    fn warmup_bars(&self) -> usize {
        0
    }
    /// Regime transitions seen since the last call (for the learning DB); none by default.
    fn take_regime_transitions(&mut self) -> Vec<crate::regime::RegimeTransition> {
        Vec::new()
    }
}
