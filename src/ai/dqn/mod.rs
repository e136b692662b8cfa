//! DQN agents (issue 11): the learner ([`agent`]), its replay buffer ([`replay`]), the
//! two reward functions ([`reward`]), and the two action sets with their mapping to the
//! engine's intents.
//!
//! - `dqn`: 18 features, actions HOLD, BUY, SELL. BUY opens a long when flat and closes a
//!   short; SELL opens a short when flat and closes a long; a repeated entry is a hold.
//!   Entries use all equity (`EquityFrac(1)`) at the run's leverage.
//! - `leverage-dqn`: 35 features, 11 actions (HOLD, LONG/SHORT at 1×/3×/5×/10×, CLOSE,
//!   REDUCE_HALF). The engine has one leverage per run (isolated margin at that leverage);
//!   the run uses `--max-leverage` and an `LONG_kX` entry commits `k / max` of equity as
//!   margin, so its notional is `k ×` equity and it is liquidated as a position at the run's
//!   leverage on that margin would be (Binance: leverage setting = max, margin = k/max of
//!   the balance). Levels above the maximum are capped at it. An entry on the side already
//!   held is a hold (no pyramiding); an entry on the other side flips.
//!
//! A [`ModelSpec`] is what a stored model needs besides its weights: kind, feature spec,
//! normaliser, bar interval, leverage, hyper-parameters. A strategy refuses a model of
//! another feature spec.

pub mod agent;
pub mod replay;
pub mod reward;

use serde::{Deserialize, Serialize};

pub use agent::{AgentState, DqnAgent, DqnConfig, Policy, argmax, epsilon_at};
pub use replay::{Batch, Replay, Transition};
pub use reward::{DqnTerms, LeverageTerms, StepOutcome, dqn_reward, leverage_reward};

use crate::core::order::{Entry, Intent, OrderKind, PositionView, Side, Sizing};
use crate::features::{FeatureSpec, Normaliser};

/// The `dqn` agent's actions.
pub const DQN_ACTIONS: [&str; 3] = ["HOLD", "BUY", "SELL"];
/// The `leverage-dqn` agent's actions.
pub const LEVERAGE_ACTIONS: [&str; 11] = [
    "HOLD",
    "LONG_1X",
    "LONG_3X",
    "LONG_5X",
    "LONG_10X",
    "SHORT_1X",
    "SHORT_3X",
    "SHORT_5X",
    "SHORT_10X",
    "CLOSE",
    "REDUCE_HALF",
];
/// Leverage levels of the `LONG_*`/`SHORT_*` actions.
pub const LEVERAGE_LEVELS: [f64; 4] = [1.0, 3.0, 5.0, 10.0];

/// Which agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentKind {
    /// 18 features, 3 actions.
    Dqn,
    /// 35 features, 11 actions.
    LeverageDqn,
}

impl AgentKind {
    /// The strategy name (`dqn`, `leverage-dqn`), also the `kind` stored with a model.
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::Dqn => "dqn",
            AgentKind::LeverageDqn => "leverage-dqn",
        }
    }

    /// The kind of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dqn" => Some(AgentKind::Dqn),
            "leverage-dqn" => Some(AgentKind::LeverageDqn),
            _ => None,
        }
    }

    /// Its feature spec.
    pub fn features(self) -> FeatureSpec {
        match self {
            AgentKind::Dqn => FeatureSpec::Dqn18,
            AgentKind::LeverageDqn => FeatureSpec::Leverage35,
        }
    }

    /// Its action names.
    pub fn actions(self) -> &'static [&'static str] {
        match self {
            AgentKind::Dqn => &DQN_ACTIONS,
            AgentKind::LeverageDqn => &LEVERAGE_ACTIONS,
        }
    }
}

/// Everything a stored model needs besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Which agent.
    pub kind: AgentKind,
    /// The state it reads.
    pub features: FeatureSpec,
    /// Training-window normalisation of the market columns.
    pub normaliser: Normaliser,
    /// Bar interval of the training data (ms).
    pub interval_ms: i64,
    /// The run's leverage (`--max-leverage` for `leverage-dqn`, 1 for `dqn`).
    pub leverage: f64,
    /// Hyper-parameters.
    pub config: DqnConfig,
    /// Layer sizes, input first.
    pub sizes: Vec<usize>,
}

/// What an action asks the engine for, given the position now (module doc).
pub fn intent_for(kind: AgentKind, action: usize, pos: &PositionView, leverage: f64) -> Intent {
    let enter = |side: Side, frac: f64| {
        if pos.side == Some(side) {
            Intent::Hold
        } else {
            Intent::Enter(Entry {
                side,
                sizing: Sizing::EquityFrac(frac.clamp(f64::MIN_POSITIVE, 1.0)),
                kind: OrderKind::Market,
                stop: None,
                take_profit: None,
                atr: None,
            })
        }
    };
    let close_if = |side: Side| {
        if pos.side == Some(side) {
            Some(Intent::Exit { frac: 1.0 })
        } else {
            None
        }
    };
    match kind {
        AgentKind::Dqn => match action {
            1 => close_if(Side::Short).unwrap_or_else(|| enter(Side::Long, 1.0)),
            2 => close_if(Side::Long).unwrap_or_else(|| enter(Side::Short, 1.0)),
            _ => Intent::Hold,
        },
        AgentKind::LeverageDqn => {
            let max = leverage.max(1.0);
            let frac = |i: usize| LEVERAGE_LEVELS[i].min(max) / max;
            match action {
                1..=4 => enter(Side::Long, frac(action - 1)),
                5..=8 => enter(Side::Short, frac(action - 5)),
                9 if pos.side.is_some() => Intent::Exit { frac: 1.0 },
                10 if pos.side.is_some() => Intent::Exit { frac: 0.5 },
                _ => Intent::Hold,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(side: Option<Side>) -> PositionView {
        PositionView {
            side,
            qty: if side.is_some() { 1.0 } else { 0.0 },
            equity: 100.0,
            ..PositionView::default()
        }
    }

    fn frac(i: Intent) -> Option<(Side, f64)> {
        match i {
            Intent::Enter(e) => match e.sizing {
                Sizing::EquityFrac(f) => Some((e.side, f)),
                _ => None,
            },
            _ => None,
        }
    }

    #[test]
    fn dqn_actions_open_close_and_never_pyramid() {
        let k = AgentKind::Dqn;
        assert_eq!(intent_for(k, 0, &at(None), 1.0), Intent::Hold);
        assert_eq!(
            frac(intent_for(k, 1, &at(None), 1.0)),
            Some((Side::Long, 1.0))
        );
        assert_eq!(
            frac(intent_for(k, 2, &at(None), 1.0)),
            Some((Side::Short, 1.0))
        );
        assert_eq!(intent_for(k, 1, &at(Some(Side::Long)), 1.0), Intent::Hold);
        assert_eq!(
            intent_for(k, 2, &at(Some(Side::Long)), 1.0),
            Intent::Exit { frac: 1.0 }
        );
        assert_eq!(
            intent_for(k, 1, &at(Some(Side::Short)), 1.0),
            Intent::Exit { frac: 1.0 }
        );
    }

    #[test]
    fn leverage_actions_commit_k_over_max_of_equity() {
        let k = AgentKind::LeverageDqn;
        assert_eq!(
            frac(intent_for(k, 2, &at(None), 10.0)),
            Some((Side::Long, 0.3))
        );
        assert_eq!(
            frac(intent_for(k, 8, &at(None), 10.0)),
            Some((Side::Short, 1.0))
        );
        // capped at the maximum: 10× at max 5 is 5×, all equity as margin
        assert_eq!(
            frac(intent_for(k, 4, &at(None), 5.0)),
            Some((Side::Long, 1.0))
        );
        assert_eq!(
            frac(intent_for(k, 1, &at(None), 5.0)),
            Some((Side::Long, 0.2))
        );
        // flip, close, reduce; close and reduce when flat are holds
        assert_eq!(
            frac(intent_for(k, 6, &at(Some(Side::Long)), 10.0)),
            Some((Side::Short, 0.3))
        );
        assert_eq!(intent_for(k, 3, &at(Some(Side::Long)), 10.0), Intent::Hold);
        assert_eq!(
            intent_for(k, 9, &at(Some(Side::Short)), 10.0),
            Intent::Exit { frac: 1.0 }
        );
        assert_eq!(
            intent_for(k, 10, &at(Some(Side::Long)), 10.0),
            Intent::Exit { frac: 0.5 }
        );
        assert_eq!(intent_for(k, 9, &at(None), 10.0), Intent::Hold);
        assert_eq!(intent_for(k, 10, &at(None), 10.0), Intent::Hold);
        assert_eq!(AgentKind::parse("leverage-dqn"), Some(k));
        assert_eq!(k.actions().len(), 11);
        assert_eq!(k.features().width(), 35);
    }
}
