//! The leverage manager: the seed's flow — base leverage (from the leverage DQN, or 1) →
//! volatility, trend and confidence adjustments → Kelly and risk-budget size → final decision —
//! and the liquidation guard.
//!
//! **Kelly**: `f* = (p·b − q)/b` from recent trades (`p` win rate, `b` average win / average
//! loss, `q = 1 − p`); the size is capped at half of it (`kelly_fraction_cap` 0.5).
//!
//! **Adjustments**, in order, each multiplying the leverage:
//! - volatility: `min(1, vol_ref / vol)`, floored at 0.25 — never more leverage in calm
//!   markets than the base, proportionally less when volatility (e.g. ATR / close) is above its
//!   reference (e.g. its median);
//! - trend: 1.2 when a strong trend (ADX ≥ 25) points the trade's way, 0.5 when it points
//!   against it, 1 otherwise;
//! - confidence: `0.5 + 0.5·confidence`.
//!
//! The result is floored to a whole number (exchanges take integer leverage) within
//! [1, `max_leverage`].
//!
//! **Size**: the smaller of half-Kelly, the risk budget `risk_per_trade / (leverage ×
//! stop distance)` (so a stop-out loses at most `risk_per_trade` of equity) and `max_size_frac`
//! (25 %).
//!
//! **Liquidation protection**: reduce the position by `reduce_frac` (50 %) when the margin ratio
//! (maintenance margin / margin balance, Binance's definition) exceeds 70 %, or when the mark
//! is within `liq_buffer_frac` (5 %) of the liquidation price, measured as
//! `|mark − liq| / mark`; close it all when within a fifth of that distance.

use crate::core::order::Side;

/// The leverage manager's settings (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LeverageConfig {
    /// Highest leverage (10).
    pub max_leverage: f64,
    /// Share of the Kelly fraction used as the size cap (0.5 = half-Kelly).
    pub kelly_fraction_cap: f64,
    /// Largest loss of equity a stop-out may cause (0.01).
    pub risk_per_trade: f64,
    /// Largest position as a fraction of equity, before leverage (0.25).
    pub max_size_frac: f64,
    /// Lowest volatility multiplier (0.25).
    pub min_vol_mult: f64,
    /// ADX from which a trend is strong (25).
    pub strong_adx: f64,
    /// Margin ratio above which the position is reduced (0.70).
    pub max_margin_ratio: f64,
    /// Distance of the mark to the liquidation price, as a fraction of the mark, below
    /// which the position is reduced (0.05).
    pub liq_buffer_frac: f64,
    /// Fraction of the position a reduction closes (0.5).
    pub reduce_frac: f64,
}

impl Default for LeverageConfig {
    fn default() -> Self {
        LeverageConfig {
            max_leverage: 10.0,
            kelly_fraction_cap: 0.5,
            risk_per_trade: 0.01,
            max_size_frac: 0.25,
            min_vol_mult: 0.25,
            strong_adx: 25.0,
            max_margin_ratio: 0.70,
            liq_buffer_frac: 0.05,
            reduce_frac: 0.5,
        }
    }
}

/// `f* = (p·b − q)/b`; `None` unless `0 ≤ p ≤ 1` and `b > 0`.
pub fn kelly(p: f64, b: f64) -> Option<f64> {
    ((0.0..=1.0).contains(&p) && b > 0.0 && b.is_finite()).then(|| (p * b - (1.0 - p)) / b)
}

/// Kelly from trade returns: `None` without at least one win and one loss.
pub fn kelly_from_returns(returns: &[f64]) -> Option<f64> {
    let wins: Vec<f64> = returns.iter().copied().filter(|r| *r > 0.0).collect();
    let losses: Vec<f64> = returns.iter().copied().filter(|r| *r <= 0.0).collect();
    if wins.is_empty() || losses.is_empty() {
        return None;
    }
    let avg_win = wins.iter().sum::<f64>() / wins.len() as f64;
    let avg_loss = -losses.iter().sum::<f64>() / losses.len() as f64;
    if avg_loss <= 0.0 {
        return None;
    }
    kelly(wins.len() as f64 / returns.len() as f64, avg_win / avg_loss)
}

/// What the leverage manager decides from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeverageInputs {
    /// Base leverage (the leverage DQN's choice, or 1).
    pub base: f64,
    /// Side of the intended position.
    pub side: Side,
    /// Current volatility (e.g. ATR / close).
    pub vol: f64,
    /// Its reference level (e.g. the median over a long window).
    pub vol_ref: f64,
    /// ADX now.
    pub adx: f64,
    /// Trend direction (`Some(Long)` when the close is above its moving average).
    pub trend: Option<Side>,
    /// The decision's confidence in [0, 1].
    pub confidence: f64,
    /// Kelly fraction from recent trades, if known.
    pub kelly: Option<f64>,
    /// Stop distance as a fraction of the entry price.
    pub stop_frac: f64,
}

/// One step of the flow, for the record.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    /// `base`, `volatility`, `trend`, `confidence`.
    pub stage: &'static str,
    /// Multiplier applied.
    pub mult: f64,
    /// Leverage after it.
    pub leverage: f64,
}

/// The leverage manager's decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LeverageDecision {
    /// Final whole-number leverage.
    pub leverage: f64,
    /// Position size as a fraction of equity (margin = size × equity).
    pub size_frac: f64,
    /// The adjustments in order.
    pub steps: Vec<Step>,
}

/// What the liquidation guard advises.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Protection {
    /// Nothing to do.
    Keep,
    /// Close this fraction of the position.
    Reduce {
        /// Fraction to close.
        frac: f64,
    },
}

/// The leverage manager.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeverageManager {
    cfg: LeverageConfig,
}

impl LeverageManager {
    /// A manager with these settings.
    pub fn new(cfg: LeverageConfig) -> Self {
        LeverageManager { cfg }
    }

    /// Its settings.
    pub fn config(&self) -> &LeverageConfig {
        &self.cfg
    }

    /// The seed's flow (module doc).
    pub fn decide(&self, i: &LeverageInputs) -> LeverageDecision {
        let c = &self.cfg;
        let mut lev = if i.base.is_finite() && i.base >= 1.0 {
            i.base
        } else {
            1.0
        };
        let mut steps = vec![Step {
            stage: "base",
            mult: 1.0,
            leverage: lev,
        }];
        let vol_mult = if i.vol > 0.0 && i.vol_ref > 0.0 {
            (i.vol_ref / i.vol).min(1.0).max(c.min_vol_mult)
        } else {
            1.0
        };
        let trend_mult = match i.trend {
            Some(t) if i.adx >= c.strong_adx && t == i.side => 1.2,
            Some(_) if i.adx >= c.strong_adx => 0.5,
            _ => 1.0,
        };
        let conf = if i.confidence.is_finite() {
            i.confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        for (stage, mult) in [
            ("volatility", vol_mult),
            ("trend", trend_mult),
            ("confidence", 0.5 + 0.5 * conf),
        ] {
            lev *= mult;
            steps.push(Step {
                stage,
                mult,
                leverage: lev,
            });
        }
        let leverage = lev.floor().clamp(1.0, c.max_leverage.max(1.0));
        let mut size = c.max_size_frac;
        if let Some(k) = i.kelly.filter(|k| k.is_finite()) {
            size = size.min((k * c.kelly_fraction_cap).max(0.0));
        }
        if i.stop_frac > 0.0 {
            size = size.min(c.risk_per_trade / (leverage * i.stop_frac));
        }
        LeverageDecision {
            leverage,
            size_frac: size.max(0.0),
            steps,
        }
    }

    /// The liquidation guard for an open position (module doc). `margin_ratio` is
    /// maintenance margin / margin balance; `liq_price` the position's liquidation price.
    pub fn protect(&self, margin_ratio: f64, mark: f64, liq_price: Option<f64>) -> Protection {
        let c = &self.cfg;
        let distance = liq_price
            .filter(|l| *l > 0.0 && mark > 0.0)
            .map(|l| (mark - l).abs() / mark);
        if distance.is_some_and(|d| d < c.liq_buffer_frac / 5.0) {
            return Protection::Reduce { frac: 1.0 };
        }
        if margin_ratio > c.max_margin_ratio || distance.is_some_and(|d| d < c.liq_buffer_frac) {
            return Protection::Reduce {
                frac: c.reduce_frac,
            };
        }
        Protection::Keep
    }
}

/// Results of the trades made at one leverage level (for the learning DB).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct LevelStats {
    /// Trades.
    pub trades: u64,
    /// Winning trades.
    pub wins: u64,
    /// Sum of returns on margin.
    pub return_sum: f64,
    /// Liquidations.
    pub liquidations: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> LeverageInputs {
        LeverageInputs {
            base: 5.0,
            side: Side::Long,
            vol: 0.01,
            vol_ref: 0.01,
            adx: 10.0,
            trend: None,
            confidence: 1.0,
            kelly: None,
            stop_frac: 0.0,
        }
    }

    #[test]
    fn kelly_matches_the_formula() {
        // p = 0.6, b = 2: (1.2 − 0.4)/2 = 0.4
        assert!((kelly(0.6, 2.0).unwrap() - 0.4).abs() < 1e-15);
        assert!(kelly(0.3, 1.0).unwrap() < 0.0);
        assert_eq!(kelly(0.5, 0.0), None);
        assert_eq!(kelly(1.5, 1.0), None);
        // wins 0.02, 0.04 (avg 0.03), losses −0.01, −0.01 (avg 0.01): p 0.5, b 3 → 1/3
        let k = kelly_from_returns(&[0.02, -0.01, 0.04, -0.01]).unwrap();
        assert!((k - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(kelly_from_returns(&[0.01, 0.02]), None);
    }

    #[test]
    fn volatility_lowers_leverage_and_calm_never_raises_it() {
        let m = LeverageManager::default();
        assert_eq!(m.decide(&inputs()).leverage, 5.0);
        let hot = m.decide(&LeverageInputs {
            vol: 0.02,
            ..inputs()
        });
        assert_eq!(hot.leverage, 2.0); // 5 × 0.5 = 2.5 → 2
        assert_eq!(hot.steps[1].mult, 0.5);
        let calm = m.decide(&LeverageInputs {
            vol: 0.001,
            ..inputs()
        });
        assert_eq!(calm.leverage, 5.0);
        let extreme = m.decide(&LeverageInputs {
            vol: 1.0,
            ..inputs()
        });
        assert_eq!(extreme.steps[1].mult, 0.25);
        assert_eq!(extreme.leverage, 1.0);
    }

    #[test]
    fn trend_and_confidence_adjust_and_the_cap_holds() {
        let m = LeverageManager::default();
        let with = m.decide(&LeverageInputs {
            adx: 30.0,
            trend: Some(Side::Long),
            ..inputs()
        });
        assert_eq!(with.leverage, 6.0);
        let against = m.decide(&LeverageInputs {
            adx: 30.0,
            trend: Some(Side::Short),
            ..inputs()
        });
        assert_eq!(against.leverage, 2.0); // 2.5 → 2
        let unsure = m.decide(&LeverageInputs {
            confidence: 0.2,
            ..inputs()
        });
        assert_eq!(unsure.leverage, 3.0); // 5 × 0.6
        let huge = m.decide(&LeverageInputs {
            base: 50.0,
            ..inputs()
        });
        assert_eq!(huge.leverage, 10.0);
    }

    #[test]
    fn size_is_the_least_of_half_kelly_risk_budget_and_cap() {
        let m = LeverageManager::default();
        let d = m.decide(&LeverageInputs {
            kelly: Some(0.3),
            ..inputs()
        });
        assert!((d.size_frac - 0.15).abs() < 1e-15);
        // 1 % risk / (5 × 2 % stop) = 0.1
        let d = m.decide(&LeverageInputs {
            kelly: Some(0.3),
            stop_frac: 0.02,
            ..inputs()
        });
        assert!((d.size_frac - 0.1).abs() < 1e-15);
        assert_eq!(m.decide(&inputs()).size_frac, 0.25);
        let d = m.decide(&LeverageInputs {
            kelly: Some(-0.1),
            ..inputs()
        });
        assert_eq!(d.size_frac, 0.0);
    }

    #[test]
    fn liquidation_guard_reduces_on_margin_ratio_or_distance() {
        let m = LeverageManager::default();
        assert_eq!(m.protect(0.5, 100.0, Some(80.0)), Protection::Keep);
        assert_eq!(
            m.protect(0.71, 100.0, Some(80.0)),
            Protection::Reduce { frac: 0.5 }
        );
        assert_eq!(
            m.protect(0.1, 100.0, Some(96.0)),
            Protection::Reduce { frac: 0.5 }
        );
        assert_eq!(
            m.protect(0.1, 100.0, Some(99.5)),
            Protection::Reduce { frac: 1.0 }
        );
        // a short: liquidation above the mark
        assert_eq!(
            m.protect(0.1, 100.0, Some(104.0)),
            Protection::Reduce { frac: 0.5 }
        );
        assert_eq!(m.protect(0.1, 100.0, None), Protection::Keep);
    }
}
