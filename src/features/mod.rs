//! The DQN agents' state vectors (DESIGN §1, issue 11): the **18-feature** state of the
//! `dqn` agent and the **35-feature** state of the `leverage-dqn` agent, built bar by bar
//! from streaming indicators ([`market`]) and the position the strategy sees
//! ([`position`]).
//!
//! | spec | market columns (z-scored) | position columns (fixed scale) |
//! |---|---|---|
//! | [`FeatureSpec::Dqn18`] | 15: 1 h/4 h/24 h change, close vs EMA20/50, RSI(14), RSI change, MACD histogram, 5-bar momentum, ATR ratio, Bollinger position, volatility ratio, ADX(14), trend direction, volume ratio | 3: position (−1/0/1), its unrealized return ×10, bars held / 100 |
//! | [`FeatureSpec::Leverage35`] | 26: all of [`market::MARKET_NAMES`] (price, momentum, volatility, trend, volume, market structure + absent flag) | 9: position, leverage / 10, account return ×10, bars held / 100, unrealized PnL on margin, margin ratio, drawdown, losses in a row / 5, recent win rate |
//!
//! Market columns are z-scored with a [`Normaliser`] fitted on the **training window only**
//! and stored with the model; z-scores and scaled position columns are clipped to ±5, so a
//! state is always finite. One code path serves training, backtest and live:
//! [`StateBuilder::update`] is called once per bar, in order, and its output at bar `t`
//! depends on bars `..=t` only (tests below change later bars and compare).

pub mod market;
pub mod position;

use serde::{Deserialize, Serialize};

pub use market::{MARKET_NAMES, MARKET_WIDTH, MarketFeatures, Structure, bars_for_hours};
pub use position::{PositionState, PositionTracker};

use crate::core::order::PositionView;
use crate::data::{Bar, Bars};
use crate::indicators::ParamError;

/// Bound of every state value after scaling.
pub const CLIP: f64 = 5.0;

/// Market columns of the 18-feature state (indexes into [`MARKET_NAMES`]).
pub const DQN18_MARKET: [usize; 15] = [0, 1, 2, 3, 4, 6, 7, 8, 9, 12, 13, 14, 17, 18, 21];
/// Market columns of the 35-feature state: all of them.
pub const LEVERAGE35_MARKET: [usize; MARKET_WIDTH] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
];

/// Which state a model was trained on. Stored with the model; a strategy refuses a model
/// of another spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSpec {
    /// The `dqn` agent's 18 features.
    Dqn18,
    /// The `leverage-dqn` agent's 35 features.
    Leverage35,
}

impl FeatureSpec {
    /// Stored spelling, with a version (bumped whenever a definition changes).
    pub fn id(self) -> &'static str {
        match self {
            FeatureSpec::Dqn18 => "dqn18-v1",
            FeatureSpec::Leverage35 => "leverage35-v1",
        }
    }

    /// State width.
    pub fn width(self) -> usize {
        self.market().len() + self.position_width()
    }

    /// Market columns used.
    pub fn market(self) -> &'static [usize] {
        match self {
            FeatureSpec::Dqn18 => &DQN18_MARKET,
            FeatureSpec::Leverage35 => &LEVERAGE35_MARKET,
        }
    }

    fn position_width(self) -> usize {
        match self {
            FeatureSpec::Dqn18 => 3,
            FeatureSpec::Leverage35 => 9,
        }
    }

    /// Column names, in state order.
    pub fn names(self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.market().iter().map(|&i| MARKET_NAMES[i]).collect();
        match self {
            FeatureSpec::Dqn18 => v.extend(["position", "position_pnl", "position_duration"]),
            FeatureSpec::Leverage35 => v.extend([
                "position",
                "leverage",
                "pnl",
                "position_duration",
                "unrealized_pnl",
                "margin_ratio",
                "drawdown",
                "consecutive_losses",
                "recent_win_rate",
            ]),
        }
        v
    }
}

/// Per-column mean and standard deviation of the market columns over the training window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normaliser {
    /// Means, one per market column of the spec.
    pub mean: Vec<f64>,
    /// Standard deviations (1 where a column is constant).
    pub std: Vec<f64>,
}

impl Normaliser {
    /// Fit on the warm rows among `rows` (the training window's).
    pub fn fit(spec: FeatureSpec, rows: &[Option<[f64; MARKET_WIDTH]>]) -> Self {
        let cols = spec.market();
        let warm: Vec<&[f64; MARKET_WIDTH]> = rows.iter().flatten().collect();
        let n = warm.len() as f64;
        let mut mean = vec![0.0; cols.len()];
        let mut std = vec![1.0; cols.len()];
        if warm.is_empty() {
            return Normaliser { mean, std };
        }
        for (j, &c) in cols.iter().enumerate() {
            let m = warm.iter().map(|r| r[c]).sum::<f64>() / n;
            let var = warm.iter().map(|r| (r[c] - m) * (r[c] - m)).sum::<f64>() / n;
            mean[j] = m;
            std[j] = if var > 1e-24 { var.sqrt() } else { 1.0 };
        }
        Normaliser { mean, std }
    }

    /// True when it has one mean and one positive, finite std per market column of `spec`.
    pub fn fits(&self, spec: FeatureSpec) -> bool {
        let n = spec.market().len();
        self.mean.len() == n
            && self.std.len() == n
            && self.mean.iter().all(|m| m.is_finite())
            && self.std.iter().all(|s| s.is_finite() && *s > 0.0)
    }
}

/// The extra columns of `bars` at bar `t` (see [`Structure`]).
pub fn structure_at(bars: &Bars, t: usize) -> Structure {
    let at = |name: &str| {
        bars.extra(name)
            .map(|c| c.get(t).copied().unwrap_or(f64::NAN))
    };
    Structure {
        funding_rate: at("funding_rate"),
        open_interest: at("open_interest"),
        long_short_ratio: at("long_short_ratio"),
    }
}

/// The raw market rows of every bar (the streaming calculator in a loop: the batch form).
///
/// # Errors
/// [`ParamError`] from [`MarketFeatures::new`].
pub fn market_rows(
    bars: &Bars,
    interval_ms: i64,
) -> Result<Vec<Option<[f64; MARKET_WIDTH]>>, ParamError> {
    let mut m = MarketFeatures::new(interval_ms)?;
    Ok((0..bars.len())
        .map(|t| m.update(&bars.bar(t), &structure_at(bars, t)))
        .collect())
}

/// One bar's state and the raw figures the reward functions read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// The raw market row.
    pub market: [f64; MARKET_WIDTH],
    /// Position and risk figures.
    pub position: PositionState,
}

/// Builds the state of a spec bar by bar (module doc).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateBuilder {
    spec: FeatureSpec,
    market: MarketFeatures,
    tracker: PositionTracker,
    norm: Normaliser,
    run_leverage: f64,
}

impl StateBuilder {
    /// A builder for `spec` on bars of `interval_ms`, with the training window's
    /// normaliser and the engine's leverage.
    ///
    /// # Errors
    /// [`ParamError`] for a normaliser that does not fit the spec or a bad interval.
    pub fn new(
        spec: FeatureSpec,
        interval_ms: i64,
        norm: Normaliser,
        run_leverage: f64,
    ) -> Result<Self, ParamError> {
        if !norm.fits(spec) {
            return Err(ParamError::new(
                "normaliser",
                format!("{} columns", norm.mean.len()),
                &format!("{} finite columns for {}", spec.market().len(), spec.id()),
            ));
        }
        Ok(StateBuilder {
            spec,
            market: MarketFeatures::new(interval_ms)?,
            tracker: PositionTracker::new(),
            norm,
            run_leverage,
        })
    }

    /// The spec.
    pub fn spec(&self) -> FeatureSpec {
        self.spec
    }

    /// Bars before the first state.
    pub fn warmup_bars(&self) -> usize {
        self.market.warmup_bars()
    }

    /// Forget every bar seen.
    pub fn reset(&mut self) {
        self.market.reset();
        self.tracker.reset();
    }

    /// Feed bar `t`'s close, its extra columns and the position view; writes the state
    /// into `out` (length [`FeatureSpec::width`]) once warm and returns what the rewards
    /// read, `None` during the warm-up.
    pub fn update(
        &mut self,
        bar: &Bar,
        s: &Structure,
        pos: &PositionView,
        out: &mut [f32],
    ) -> Option<Observation> {
        let position = self.tracker.update(pos, bar.close, self.run_leverage);
        let row = self.market.update(bar, s)?;
        let cols = self.spec.market();
        let clip = |v: f64| v.clamp(-CLIP, CLIP) as f32;
        for (j, &c) in cols.iter().enumerate() {
            out[j] = clip((row[c] - self.norm.mean[j]) / self.norm.std[j]);
        }
        let p = &position;
        let k = cols.len();
        let held = p.bars_held.min(500) as f64 / 100.0;
        match self.spec {
            FeatureSpec::Dqn18 => {
                out[k] = p.side as f32;
                out[k + 1] = clip(p.pnl_frac * 10.0);
                out[k + 2] = held as f32;
            }
            FeatureSpec::Leverage35 => {
                let vals = [
                    p.side,
                    p.leverage / 10.0,
                    p.account_pnl_frac * 10.0,
                    held,
                    p.unrealized_on_margin,
                    p.margin_ratio.min(2.0),
                    p.drawdown_frac,
                    p.consecutive_losses.min(10) as f64 / 5.0,
                    p.recent_win_rate,
                ];
                for (o, v) in out[k..k + 9].iter_mut().zip(vals) {
                    *o = clip(v);
                }
            }
        }
        Some(Observation {
            market: row,
            position,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::order::Side;
    use crate::data::Bars;

    fn states(spec: FeatureSpec, bars: &Bars, norm: &Normaliser) -> Vec<Option<Vec<u32>>> {
        let mut b = StateBuilder::new(spec, 3_600_000, norm.clone(), 10.0).unwrap();
        let mut out = vec![0.0f32; spec.width()];
        (0..bars.len())
            .map(|t| {
                // a position that depends only on the past: long from bar 100 on
                let pos = if t >= 100 {
                    PositionView {
                        side: Some(Side::Long),
                        qty: 1.0,
                        entry_price: bars.close()[99],
                        entry_ts_ms: bars.ts_ms()[100],
                        bars_held: t - 100,
                        equity: 10_000.0 + bars.close()[t] - bars.close()[99],
                    }
                } else {
                    PositionView {
                        equity: 10_000.0,
                        ..PositionView::default()
                    }
                };
                b.update(&bars.bar(t), &structure_at(bars, t), &pos, &mut out)
                    .map(|_| out.iter().map(|v| v.to_bits()).collect())
            })
            .collect()
    }

    #[test]
    fn widths_are_18_and_35_and_names_match() {
        assert_eq!(FeatureSpec::Dqn18.width(), 18);
        assert_eq!(FeatureSpec::Leverage35.width(), 35);
        assert_eq!(FeatureSpec::Dqn18.names().len(), 18);
        assert_eq!(FeatureSpec::Leverage35.names().len(), 35);
    }

    #[test]
    fn the_state_at_t_does_not_change_when_later_bars_change() {
        let bars = crate::testutil::random_walk(400, 8);
        let funding: Vec<f64> = (0..400)
            .map(|i| {
                if i % 8 == 0 {
                    1e-4 * (i % 5) as f64
                } else {
                    f64::NAN
                }
            })
            .collect();
        let bars = bars.with_extra("funding_rate", funding).unwrap();
        let other = crate::testutil::random_walk(400, 9);
        // the same first 250 bars, different ones after
        let mut mixed: Vec<crate::data::Bar> = bars.iter().take(250).collect();
        let shift = bars.close()[249] / other.close()[249];
        mixed.extend(other.iter().skip(250).map(|b| crate::data::Bar {
            open: b.open * shift,
            high: b.high * shift,
            low: b.low * shift,
            close: b.close * shift,
            ..b
        }));
        let f2: Vec<f64> = (0..400)
            .map(|i| match (i < 250, i % 8 == 0) {
                (true, true) => 1e-4 * (i % 5) as f64,
                (true, false) => f64::NAN,
                (false, _) => 0.01,
            })
            .collect();
        let mixed = Bars::from_bars(mixed)
            .unwrap()
            .with_extra("funding_rate", f2)
            .unwrap();
        for spec in [FeatureSpec::Dqn18, FeatureSpec::Leverage35] {
            let rows = market_rows(&bars, 3_600_000).unwrap();
            let norm = Normaliser::fit(spec, &rows[..200]);
            let a = states(spec, &bars, &norm);
            let b = states(spec, &mixed, &norm);
            assert!(a[60].is_some());
            assert_eq!(a[..250], b[..250], "{spec:?}");
            assert_ne!(a[300], b[300], "{spec:?}: the later bars did differ");
        }
    }

    #[test]
    fn stream_equals_batch_and_reset_replays_identically() {
        let bars = crate::testutil::random_walk(300, 5);
        let rows = market_rows(&bars, 3_600_000).unwrap();
        let spec = FeatureSpec::Leverage35;
        let norm = Normaliser::fit(spec, &rows);
        let mut b = StateBuilder::new(spec, 3_600_000, norm.clone(), 1.0).unwrap();
        let mut out = vec![0.0f32; 35];
        let pos = PositionView {
            equity: 1.0,
            ..PositionView::default()
        };
        let mut first = Vec::new();
        for (t, row) in rows.iter().enumerate() {
            let o = b.update(&bars.bar(t), &structure_at(&bars, t), &pos, &mut out);
            assert_eq!(
                o.map(|o| o.market.map(f64::to_bits)),
                row.map(|r| r.map(f64::to_bits))
            );
            first.push(o.map(|_| out.clone()));
        }
        b.reset();
        for (t, want) in first.iter().enumerate() {
            let o = b.update(&bars.bar(t), &structure_at(&bars, t), &pos, &mut out);
            assert_eq!(&o.map(|_| out.clone()), want, "bar {t}");
        }
        assert!(
            first
                .iter()
                .flatten()
                .flatten()
                .all(|v| v.is_finite() && v.abs() <= 5.0)
        );
    }

    #[test]
    fn the_normaliser_uses_only_the_rows_it_is_given() {
        let bars = crate::testutil::random_walk(300, 6);
        let rows = market_rows(&bars, 3_600_000).unwrap();
        let a = Normaliser::fit(FeatureSpec::Dqn18, &rows[..150]);
        let b = Normaliser::fit(FeatureSpec::Dqn18, &rows[..200]);
        assert_ne!(a, b);
        assert!(a.fits(FeatureSpec::Dqn18));
        assert!(!a.fits(FeatureSpec::Leverage35));
        assert!(StateBuilder::new(FeatureSpec::Leverage35, 3_600_000, a, 1.0).is_err());
        // RSI's column mean by hand over the warm rows
        let warm: Vec<f64> = rows[..150].iter().flatten().map(|r| r[6]).collect();
        let m = warm.iter().sum::<f64>() / warm.len() as f64;
        let n = Normaliser::fit(FeatureSpec::Dqn18, &rows[..150]);
        assert!((n.mean[5] - m).abs() < 1e-9);
    }
}
