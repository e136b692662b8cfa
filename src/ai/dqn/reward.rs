//! The two reward functions, term by term (issue 11; docs/rl.md has the same table).
//!
//! A step is one bar: the agent acts at the close of bar t, the engine fills at the open of
//! t + 1, and the reward is computed at the close of t + 1 from what changed. `r` is the
//! step's equity return (mark to market, fees and funding included) and `σ` the ATR(14) /
//! close ratio at the decision bar (the expected one-bar move).
//!
//! **`dqn`** ([`dqn_reward`]):
//!
//! | term | value |
//! |---|---|
//! | pnl | `10 × r` |
//! | risk-adjusted return | `5 × clamp(r / σ, −1, 1)` |
//! | trade | `−0.1` per position opened and per position closed |
//! | holding a winner | `+0.5` when the agent held a position whose unrealized return is ≥ [`WINNER_FRAC`] |
//! | holding a loser too long | `−0.5` when the agent held a position whose unrealized return is ≤ −[`LOSER_FRAC`] after more than [`LOSER_BARS`] bars |
//!
//! **`leverage-dqn`** ([`leverage_reward`]), with `L` the position's exposure as a multiple
//! of equity after the step (1 when flat):
//!
//! | term | value |
//! |---|---|
//! | pnl with the 1/√leverage risk factor | `10 × r / √L` |
//! | volatility-scaled bonus | `+2 × min(r / σ, 1)` when `r > 0` |
//! | leverage fit | `+0.2` for `L ≤ 3` in high volatility; `+0.2` for `L ≥ 5` when ADX > [`STRONG_TREND_ADX`] and the position follows the trend; `−0.2` for `L ≥ 5` in high volatility |
//! | short bonus | `+0.3` when a short gains in a downtrend (EMA20 < EMA50) |
//! | blown short | `−1` when a short has lost half its margin or more |
//! | margin ratio > 70 % | `−1` |
//! | near liquidation (margin ratio > 90 %) | `−2` |
//! | liquidation | `−5` (the transition is stored and counted) |
//! | leverage cost | `−0.1 × L` when a position is opened |

use serde::Serialize;

/// Unrealized return at or above which a held position is a winner.
pub const WINNER_FRAC: f64 = 0.01;
/// Unrealized loss at or beyond which a held position is a loser.
pub const LOSER_FRAC: f64 = 0.01;
/// Bars after which holding a loser is penalised.
pub const LOSER_BARS: usize = 24;
/// ADX above which a trend counts as strong.
pub const STRONG_TREND_ADX: f64 = 25.0;

/// What happened over one step (built by the learning strategy).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepOutcome {
    /// Equity at the decision bar's close.
    pub equity_before: f64,
    /// Equity at the next bar's close.
    pub equity_after: f64,
    /// ATR(14) / close at the decision bar.
    pub sigma: f64,
    /// The agent chose to hold (no order).
    pub held: bool,
    /// A position was opened (entry or flip).
    pub opened: bool,
    /// A position was closed (exit, flip or liquidation).
    pub closed: bool,
    /// The position was liquidated.
    pub liquidated: bool,
    /// −1, 0 or +1 after the step.
    pub side: f64,
    /// Unrealized return of the position after the step (fraction of entry price).
    pub unrealized_frac: f64,
    /// Unrealized PnL over the isolated margin after the step.
    pub unrealized_on_margin: f64,
    /// Bars the position has been held after the step.
    pub bars_held: usize,
    /// Exposure as a multiple of equity after the step.
    pub leverage: f64,
    /// Maintenance margin over margin balance after the step.
    pub margin_ratio: f64,
    /// The high-volatility flag at the decision bar.
    pub high_volatility: bool,
    /// ADX(14) at the decision bar.
    pub adx: f64,
    /// Trend direction at the decision bar (−1, 0, +1: sign of EMA20 − EMA50).
    pub trend: f64,
}

impl StepOutcome {
    /// The step's equity return.
    pub fn step_return(&self) -> f64 {
        if self.equity_before > 0.0 {
            self.equity_after / self.equity_before - 1.0
        } else {
            0.0
        }
    }

    fn r_over_sigma(&self) -> f64 {
        if self.sigma > 0.0 {
            self.step_return() / self.sigma
        } else {
            0.0
        }
    }
}

/// The `dqn` reward's terms.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct DqnTerms {
    /// `10 × r`.
    pub pnl: f64,
    /// `5 × clamp(r/σ, −1, 1)`.
    pub risk_adjusted: f64,
    /// `−0.1` per open and per close.
    pub trade: f64,
    /// `+0.5` for holding a winner.
    pub hold_winner: f64,
    /// `−0.5` for holding a loser too long.
    pub hold_loser: f64,
}

impl DqnTerms {
    /// The reward.
    pub fn total(&self) -> f64 {
        self.pnl + self.risk_adjusted + self.trade + self.hold_winner + self.hold_loser
    }
}

/// The `dqn` reward of a step (module doc).
pub fn dqn_reward(o: &StepOutcome) -> DqnTerms {
    let in_pos = o.side != 0.0;
    DqnTerms {
        pnl: 10.0 * o.step_return(),
        risk_adjusted: 5.0 * o.r_over_sigma().clamp(-1.0, 1.0),
        trade: -0.1 * (f64::from(u8::from(o.opened)) + f64::from(u8::from(o.closed))),
        hold_winner: if o.held && in_pos && o.unrealized_frac >= WINNER_FRAC {
            0.5
        } else {
            0.0
        },
        hold_loser: if o.held
            && in_pos
            && o.unrealized_frac <= -LOSER_FRAC
            && o.bars_held > LOSER_BARS
        {
            -0.5
        } else {
            0.0
        },
    }
}

/// The `leverage-dqn` reward's terms.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LeverageTerms {
    /// `10 × r / √L`.
    pub pnl: f64,
    /// `+2 × min(r/σ, 1)` on gains.
    pub volatility_bonus: f64,
    /// Leverage fitting the market (±0.2 each).
    pub leverage_fit: f64,
    /// `+0.3` for a gaining short in a downtrend.
    pub short_bonus: f64,
    /// `−1` for a short that lost half its margin.
    pub blown_short: f64,
    /// `−1` above a 70 % margin ratio.
    pub margin_ratio: f64,
    /// `−2` above a 90 % margin ratio.
    pub near_liquidation: f64,
    /// `−5` when liquidated.
    pub liquidation: f64,
    /// `−0.1 × L` when a position is opened.
    pub leverage_cost: f64,
}

impl LeverageTerms {
    /// The reward.
    pub fn total(&self) -> f64 {
        self.pnl
            + self.volatility_bonus
            + self.leverage_fit
            + self.short_bonus
            + self.blown_short
            + self.margin_ratio
            + self.near_liquidation
            + self.liquidation
            + self.leverage_cost
    }
}

/// The `leverage-dqn` reward of a step (module doc).
pub fn leverage_reward(o: &StepOutcome) -> LeverageTerms {
    let r = o.step_return();
    let in_pos = o.side != 0.0;
    let lev = if in_pos { o.leverage.max(1.0) } else { 1.0 };
    let mut fit = 0.0;
    if in_pos {
        if o.high_volatility && lev <= 3.0 {
            fit += 0.2;
        }
        if o.high_volatility && lev >= 5.0 {
            fit -= 0.2;
        }
        if lev >= 5.0 && o.adx > STRONG_TREND_ADX && o.trend != 0.0 && o.trend == o.side {
            fit += 0.2;
        }
    }
    let short = o.side < 0.0;
    LeverageTerms {
        pnl: 10.0 * r / lev.sqrt(),
        volatility_bonus: if r > 0.0 {
            2.0 * o.r_over_sigma().min(1.0)
        } else {
            0.0
        },
        leverage_fit: fit,
        short_bonus: if short && r > 0.0 && o.trend < 0.0 {
            0.3
        } else {
            0.0
        },
        blown_short: if short && o.unrealized_on_margin <= -0.5 {
            -1.0
        } else {
            0.0
        },
        margin_ratio: if in_pos && o.margin_ratio > 0.7 {
            -1.0
        } else {
            0.0
        },
        near_liquidation: if in_pos && o.margin_ratio > 0.9 {
            -2.0
        } else {
            0.0
        },
        liquidation: if o.liquidated { -5.0 } else { 0.0 },
        leverage_cost: if o.opened && in_pos { -0.1 * lev } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> StepOutcome {
        StepOutcome {
            equity_before: 10_000.0,
            equity_after: 10_000.0,
            sigma: 0.01,
            ..StepOutcome::default()
        }
    }

    #[test]
    fn dqn_terms_on_hand_built_steps() {
        // a long opened, +0.5 % over the bar: pnl 0.05, r/σ = 0.5 → 2.5, one trade −0.1
        let o = StepOutcome {
            equity_after: 10_050.0,
            opened: true,
            side: 1.0,
            unrealized_frac: 0.005,
            bars_held: 0,
            ..base()
        };
        let t = dqn_reward(&o);
        assert!((t.pnl - 0.05).abs() < 1e-12);
        assert!((t.risk_adjusted - 2.5).abs() < 1e-9);
        assert_eq!(t.trade, -0.1);
        assert_eq!((t.hold_winner, t.hold_loser), (0.0, 0.0));
        assert!((t.total() - 2.45).abs() < 1e-9);
        // a big move is clamped at ±5
        let big = StepOutcome {
            equity_after: 9_500.0,
            side: 1.0,
            ..base()
        };
        assert_eq!(dqn_reward(&big).risk_adjusted, -5.0);
        // holding a winner: +0.5; the same without the hold decision: nothing
        let win = StepOutcome {
            held: true,
            side: 1.0,
            unrealized_frac: 0.012,
            bars_held: 3,
            ..base()
        };
        assert_eq!(dqn_reward(&win).hold_winner, 0.5);
        assert_eq!(
            dqn_reward(&StepOutcome { held: false, ..win }).hold_winner,
            0.0
        );
        // a loser held 25 bars: −0.5; at 24 bars not yet
        let lose = StepOutcome {
            held: true,
            side: -1.0,
            unrealized_frac: -0.02,
            bars_held: 25,
            ..base()
        };
        assert_eq!(dqn_reward(&lose).hold_loser, -0.5);
        assert_eq!(
            dqn_reward(&StepOutcome {
                bars_held: 24,
                ..lose
            })
            .hold_loser,
            0.0
        );
        // a close and an open in one step (a flip) cost two trades
        let flip = StepOutcome {
            opened: true,
            closed: true,
            side: -1.0,
            ..base()
        };
        assert!((dqn_reward(&flip).trade + 0.2).abs() < 1e-12);
    }

    #[test]
    fn leverage_terms_on_hand_built_steps() {
        // a 4× long gaining 1 %: pnl 10·0.01/2 = 0.05, bonus 2·min(1, 1) = 2
        let o = StepOutcome {
            equity_after: 10_100.0,
            side: 1.0,
            leverage: 4.0,
            ..base()
        };
        let t = leverage_reward(&o);
        assert!((t.pnl - 0.05).abs() < 1e-12);
        assert!((t.volatility_bonus - 2.0).abs() < 1e-9);
        assert_eq!(t.leverage_fit, 0.0);
        // opened at 9× in high volatility: cost −0.9, fit −0.2; a strong up-trend adds +0.2
        let hv = StepOutcome {
            opened: true,
            side: 1.0,
            leverage: 9.0,
            high_volatility: true,
            adx: 30.0,
            trend: 1.0,
            ..base()
        };
        let t = leverage_reward(&hv);
        assert!((t.leverage_cost + 0.9).abs() < 1e-12);
        assert!(t.leverage_fit.abs() < 1e-12);
        assert_eq!(
            leverage_reward(&StepOutcome { adx: 20.0, ..hv }).leverage_fit,
            -0.2
        );
        assert_eq!(
            leverage_reward(&StepOutcome {
                leverage: 2.0,
                ..hv
            })
            .leverage_fit,
            0.2
        );
        // a gaining short in a downtrend: +0.3; a short down half its margin: −1
        let short = StepOutcome {
            equity_after: 10_010.0,
            side: -1.0,
            leverage: 1.0,
            trend: -1.0,
            ..base()
        };
        assert_eq!(leverage_reward(&short).short_bonus, 0.3);
        let blown = StepOutcome {
            equity_after: 9_000.0,
            side: -1.0,
            leverage: 5.0,
            unrealized_on_margin: -0.6,
            margin_ratio: 0.75,
            ..base()
        };
        let t = leverage_reward(&blown);
        assert_eq!(
            (t.blown_short, t.margin_ratio, t.near_liquidation),
            (-1.0, -1.0, 0.0)
        );
        let near = leverage_reward(&StepOutcome {
            margin_ratio: 0.95,
            ..blown
        });
        assert_eq!((near.margin_ratio, near.near_liquidation), (-1.0, -2.0));
        // a liquidation: flat afterwards, −5, and the loss through the pnl term at L = 1
        let liq = StepOutcome {
            equity_after: 9_000.0,
            closed: true,
            liquidated: true,
            ..base()
        };
        let t = leverage_reward(&liq);
        assert_eq!(t.liquidation, -5.0);
        assert!((t.pnl + 1.0).abs() < 1e-12);
        assert!((t.total() - (-6.0)).abs() < 1e-9);
    }
}
