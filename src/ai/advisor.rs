//! The one interface every AI component speaks (DESIGN §5): an [`Advisor`] looks at the bar
//! that just closed and gives an [`Opinion`] — an [`Action`], a confidence in [0, 1] and typed
//! [`OpinionReason`]s — or none when it has nothing to say (no trained model, Ollama down,
//! blocked by the online learner). The orchestrator combines the opinions into a decision.

use std::fmt;

use crate::core::order::Side;
use crate::data::Bar;
use crate::regime::{Regime, RegimeState};

/// What a component advises for the next bar.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    /// Be long (open or keep a long position).
    Buy,
    /// Be short, or leave a long position.
    Sell,
    /// No change.
    #[default]
    Hold,
}

impl Action {
    /// +1 for buy, −1 for sell, 0 for hold: the direction a vote counts in.
    pub fn direction(self) -> f64 {
        match self {
            Action::Buy => 1.0,
            Action::Sell => -1.0,
            Action::Hold => 0.0,
        }
    }

    /// `BUY`, `SELL` or `HOLD`, as the LLM schema and the store spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Buy => "BUY",
            Action::Sell => "SELL",
            Action::Hold => "HOLD",
        }
    }

    /// Parse `BUY`/`SELL`/`HOLD` (case-insensitive).
    pub fn parse(s: &str) -> Option<Action> {
        match s.to_ascii_uppercase().as_str() {
            "BUY" => Some(Action::Buy),
            "SELL" => Some(Action::Sell),
            "HOLD" => Some(Action::Hold),
            _ => None,
        }
    }

    /// The entry side this action asks for (`None` for hold).
    pub fn side(self) -> Option<Side> {
        match self {
            Action::Buy => Some(Side::Long),
            Action::Sell => Some(Side::Short),
            Action::Hold => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The five components the orchestrator weighs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// The seed's technical rule (`signal`).
    Technical,
    /// The DQN agent.
    Dqn,
    /// The best stored evolved strategy whose conditions match now.
    Evolved,
    /// The online learner (health of the other components per regime).
    Online,
    /// The LLM advisor (Ollama).
    Llm,
}

impl Component {
    /// All components, in the order of their default weights.
    pub const ALL: [Component; 5] = [
        Component::Technical,
        Component::Dqn,
        Component::Evolved,
        Component::Online,
        Component::Llm,
    ];

    /// The lowercase name (`technical`, `dqn`, …) used by `--weights` and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Technical => "technical",
            Component::Dqn => "dqn",
            Component::Evolved => "evolved",
            Component::Online => "online",
            Component::Llm => "llm",
        }
    }

    /// Parse a lowercase name.
    pub fn parse(s: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a component holds its opinion: typed, so the store and `explain` can show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpinionReason {
    /// A reason of the technical rule (trigger or confirmation).
    Technical {
        /// The rule's own reason.
        reason: crate::signal::Reason,
    },
    /// The market regime the opinion was formed in.
    Regime {
        /// The regime.
        regime: Regime,
        /// The detector's confidence.
        confidence: f64,
    },
    /// The technical rule asks to leave a position (opposite EMA cross).
    ExitSignal,
    /// A stored evolved strategy's rule fired.
    EvolvedRule {
        /// Its id in the learning DB (`evolved_strategies.id`), when stored.
        id: Option<i64>,
        /// The rule as text.
        rule: String,
    },
    /// The DQN's action values.
    QValues {
        /// Model version.
        version: i64,
        /// Q of buy, sell and hold.
        q: [f64; 3],
    },
    /// The online learner's view of a component in this regime.
    Health {
        /// The component judged.
        component: Component,
        /// Closed trades seen.
        trades: u32,
        /// Win rate in [0, 1].
        win_rate: f64,
        /// Expectancy per trade (fraction of entry notional).
        expectancy: f64,
    },
    /// A component is blocked by the online learner.
    Blocked {
        /// The component.
        component: Component,
        /// Why (e.g. `drift: page-hinkley`, `3 consecutive losses`).
        why: String,
    },
    /// The LLM's answer.
    Llm {
        /// Its explanation.
        explanation: String,
        /// Its risk warning.
        risk_warning: String,
        /// Whether it vetoed.
        veto: bool,
    },
}

/// One component's advice on one bar.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Opinion {
    /// The action advised.
    pub action: Action,
    /// How sure, in [0, 1].
    pub confidence: f64,
    /// Why.
    pub reasons: Vec<OpinionReason>,
}

impl Opinion {
    /// An opinion with `confidence` clamped to [0, 1] (NaN becomes 0).
    pub fn new(action: Action, confidence: f64, reasons: Vec<OpinionReason>) -> Self {
        let confidence = if confidence.is_nan() {
            0.0
        } else {
            confidence.clamp(0.0, 1.0)
        };
        Opinion {
            action,
            confidence,
            reasons,
        }
    }

    /// A hold with zero confidence.
    pub fn hold() -> Self {
        Opinion::new(Action::Hold, 0.0, Vec::new())
    }
}

/// What an advisor may look at when the bar closes: the bar itself, the closes up to it, the
/// regime and the position. It holds nothing from later bars.
#[derive(Debug, Clone, Copy)]
pub struct MarketView<'a> {
    /// The symbol (`BTC/USDT`).
    pub symbol: &'a str,
    /// The bar that just closed.
    pub bar: Bar,
    /// Closes up to and including this bar.
    pub closes: &'a [f64],
    /// The regime on this bar, once known.
    pub regime: Option<RegimeState>,
    /// The open position's side (`None` when flat).
    pub position: Option<Side>,
}

/// An AI component: fed every bar in order, it may give an opinion on it.
pub trait Advisor {
    /// Which component this is.
    fn component(&self) -> Component;
    /// Update with the bar in `view` and advise; `None` when it cannot (not an error).
    fn advise(&mut self, view: &MarketView<'_>) -> Option<Opinion>;
    /// Forget all state.
    fn reset(&mut self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_confidence_is_clamped() {
        for c in Component::ALL {
            assert_eq!(Component::parse(c.as_str()), Some(c));
        }
        assert_eq!(Component::parse("nope"), None);
        for a in [Action::Buy, Action::Sell, Action::Hold] {
            assert_eq!(Action::parse(&a.as_str().to_lowercase()), Some(a));
        }
        assert_eq!(Opinion::new(Action::Buy, 1.7, vec![]).confidence, 1.0);
        assert_eq!(Opinion::new(Action::Buy, f64::NAN, vec![]).confidence, 0.0);
        assert_eq!(
            serde_json::to_string(&Action::Sell).unwrap_or_default(),
            "\"SELL\""
        );
    }
}
