//! The [`Strategy`] trait the engine drives, the [`History`] view it decides on, and the
//! built-in strategies.
//!
//! A strategy sees bars `..=t` only: [`History`] holds no reference to later bars, so a
//! look-ahead cannot be written (STYLE rule 6).

pub mod ai;
pub mod dqn;
pub mod evolved;

mod registry;
pub mod sma_cross;
pub mod technical;
pub use crate::core::params::{ParamKind, ParamSpec, ParamValue, Params, parse_kv};
pub use registry::{STRATEGY_NAMES, build, param_specs};

use crate::core::order::{Intent, PositionView};
use crate::data::{Bar, Bars};
use crate::persist::StateError;

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
    #[inline]
    pub fn new(bars: &'a Bars, t: usize) -> Self {
        assert!(
            t < bars.len(),
            "history index {t} out of {} bars",
            bars.len()
        );
        History { bars, t }
    }

    /// Index of the current bar (= number of earlier bars).
    #[inline]
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
    #[inline]
    pub fn bar(&self, i: usize) -> Option<Bar> {
        (i <= self.t).then(|| self.bars.bar(i))
    }

    /// Visible closes.
    #[inline]
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

/// The engine's side of a quiet stretch ([`Strategy::quiet_bars`]).
pub trait QuietGate {
    /// Grant up to `max` bars from `from` (the bar after the last one granted) as held
    /// bars: returns how many, fewer (0 included) when a bar needs the engine's full step
    /// (the stretch must end before it). A strategy asks for a chunk of bars at a time and
    /// may consume fewer than granted; the engine books only the bars it consumed.
    fn hold(&mut self, from: usize, max: usize) -> usize;

    /// The strategy's regime changed on held bar `t`, from `from` to `to` (see
    /// [`Strategy::regime`]): true when the gate takes note of it for the engine, which
    /// reports it as at bar `t`, as a step would, so the stretch may go on past `t`; false
    /// (the default) when the stretch must end before `t`.
    fn regime_changed(
        &mut self,
        _t: usize,
        _from: crate::regime::RegimeState,
        _to: crate::regime::RegimeState,
    ) -> bool {
        false
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
    /// The market regime the strategy currently sees, if it tracks one. The engine reports
    /// each change as an `engine::EventKind::Regime` event.
    fn regime(&self) -> Option<crate::regime::RegimeState> {
        None
    }
    /// Confidence and reasons of the latest [`Strategy::on_bar`] decision, read by the
    /// engine right after it for its `Decision` event. None by default.
    fn rationale(&self) -> crate::core::order::Rationale {
        crate::core::order::Rationale::default()
    }
    /// Everything the strategy has learned from the bars so far (indicator windows,
    /// previous values, model weights), as JSON. With [`Strategy::load_state`] it lets a
    /// run stop after any bar and continue later bit for bit (paper and live bots persist
    /// it between ticks; `engine::Engine::save`). The value may also hold the strategy's
    /// parameters: a loader built with other parameters takes the saved ones.
    ///
    /// Implement both with serde: derive `Serialize`/`Deserialize` on the strategy (or on a
    /// state struct) and call [`crate::persist::to_value`] / [`crate::persist::from_value`];
    /// mark floats that can be NaN `#[serde(with = "crate::persist::float")]`.
    ///
    /// # Errors
    /// [`StateError::Unsupported`] by default.
    fn save_state(&self) -> Result<serde_json::Value, StateError> {
        Err(StateError::Unsupported(self.name().to_string()))
    }
    /// Run ahead over a quiet stretch (docs/DESIGN.md §3, "Quiet stretches"): bars `from`
    /// to `hist.index()`, on which the engine's books can only change by the mark at the
    /// close (no orders resting, no managed stop, no funding). For each bar `u` in order:
    /// stop if the gate has not granted `u` (ask `gate.hold(u, m)` for the next `m` bars
    /// when the last grant is used up; stop when it grants none); stop if
    /// [`Strategy::on_bar`] would answer anything but [`Intent::Hold`] at `u`; otherwise
    /// update the state exactly as `on_bar` would (same operations, so a later `on_bar` or
    /// [`Strategy::save_state`] gives the same bits). Returns the number of bars consumed;
    /// the engine steps the first bar not consumed as usual. Bar `u` may be read only for
    /// `u`'s own decision: the strategy must not look beyond the bar it is deciding on.
    ///
    /// `pos` is the position during the whole stretch (its side, quantity and entry do
    /// not change; `bars_held` and `equity` are those of the bar before `from`). A strategy
    /// that tracks a [`Strategy::regime`] must stop before a bar that changes it.
    ///
    /// A strategy whose indicators cannot be peeked may feed the bar it stops at (not
    /// counted as consumed) if its [`Strategy::on_bar`] for that bar then answers from
    /// what it kept instead of feeding the bar again, [`Strategy::regime`] reports the
    /// regime before that bar until then, and [`Strategy::save_state`] refuses in between
    /// (`technical` does this; the engine steps that bar right after the stretch).
    ///
    /// The default consumes nothing (the engine then steps every bar).
    fn quiet_bars(
        &mut self,
        hist: &History<'_>,
        from: usize,
        pos: &PositionView,
        gate: &mut dyn QuietGate,
    ) -> usize {
        let _ = (hist, from, pos, gate);
        0
    }
    /// Replace the state with one [`Strategy::save_state`] wrote.
    ///
    /// # Errors
    /// [`StateError::Unsupported`] by default; [`StateError::Json`] when `state` does not
    /// decode.
    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), StateError> {
        let _ = state;
        Err(StateError::Unsupported(self.name().to_string()))
    }
}
