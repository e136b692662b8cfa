//! The orchestrator: a weighted vote of the components' [`Opinion`]s into one [`Decision`]
//! (DESIGN §5).
//!
//! **Vote.** Each available component `i` (an opinion present, weight > 0, not blocked) votes
//! `s_i = d_i · c_i`, its action's direction (+1 buy, −1 sell, 0 hold) times its confidence.
//! Weights are renormalised over the available components, `ŵ_i = w_i / Σ w_available`, so a
//! missing DQN or Ollama only shifts weight to the others. The score `S = Σ ŵ_i s_i` lies in
//! [−1, 1]; the action is BUY when `S ≥ threshold`, SELL when `S ≤ −threshold`, else HOLD, and
//! the confidence is `|S|` (0 for HOLD).
//!
//! **Size.** `base × confidence^1.5 × regime factor` (bull 1.2, bear 0.8, crash 0.3, sideways
//! 0.7, high-vol 0.5, 1.0 while the regime is unknown). When the confidence is at least
//! `kelly_min_confidence` and a Kelly fraction is known, the size is capped at half-Kelly (a
//! non-positive Kelly fraction gives 0); it is never above `max_size_frac` (25 %).
//!
//! **Veto.** An LLM opinion carrying `veto: true` turns the decision into HOLD with size 0 and
//! keeps its explanation.
//!
//! [`Orchestrator::without`] recomputes the decision with one component removed (what `explain`
//! prints).

mod weights;

pub use weights::{Weights, WeightsError};

use crate::ai::advisor::{Action, Component, Opinion, OpinionReason};
use crate::regime::Regime;

/// Orchestrator settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrchestratorConfig {
    /// Component weights.
    pub weights: Weights,
    /// |score| needed to act (0.2).
    pub threshold: f64,
    /// Base position size, fraction of equity (0.10).
    pub base_size_frac: f64,
    /// Hard cap on the position size, fraction of equity (0.25).
    pub max_size_frac: f64,
    /// Confidence from which the half-Kelly cap applies (0.7).
    pub kelly_min_confidence: f64,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        OrchestratorConfig {
            weights: Weights::default(),
            threshold: 0.2,
            base_size_frac: 0.10,
            max_size_frac: 0.25,
            kelly_min_confidence: 0.7,
        }
    }
}

/// One component's part in a decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Vote {
    /// The component.
    pub component: Component,
    /// Its configured weight.
    pub weight: f64,
    /// Its weight after renormalisation over the available components (0 when absent).
    pub effective_weight: f64,
    /// Its opinion, when it gave one.
    pub opinion: Option<Opinion>,
    /// True when the online learner blocked it (its opinion is kept for the record but not
    /// counted).
    pub blocked: bool,
}

/// The orchestrator's output for one bar.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Decision {
    /// The final action.
    pub action: Action,
    /// Its confidence in [0, 1].
    pub confidence: f64,
    /// The weighted score in [−1, 1].
    pub score: f64,
    /// Position size as a fraction of equity (0 for HOLD).
    pub size_frac: f64,
    /// Leverage (1 unless the leverage manager says otherwise).
    pub leverage: f64,
    /// The regime the size was scaled for.
    pub regime: Option<Regime>,
    /// Every component's vote, in [`Component::ALL`] order.
    pub votes: Vec<Vote>,
    /// The LLM's explanation when it vetoed the decision.
    pub veto: Option<String>,
}

impl Decision {
    /// The components that voted (available, weight > 0).
    pub fn voters(&self) -> impl Iterator<Item = &Vote> {
        self.votes.iter().filter(|v| v.effective_weight > 0.0)
    }
}

/// What the orchestrator is given for one bar.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Opinions by component (absent ones are simply missing).
    pub opinions: Vec<(Component, Opinion)>,
    /// Components the online learner blocks.
    pub blocked: Vec<Component>,
    /// The regime now.
    pub regime: Option<Regime>,
    /// Kelly fraction from recent trades, if known.
    pub kelly: Option<f64>,
    /// Leverage chosen by the leverage manager (1 for spot).
    pub leverage: f64,
}

/// The weighted vote.
#[derive(Debug, Clone, Default)]
pub struct Orchestrator {
    cfg: OrchestratorConfig,
}

impl Orchestrator {
    /// An orchestrator with these settings.
    pub fn new(cfg: OrchestratorConfig) -> Self {
        Orchestrator { cfg }
    }

    /// Its settings.
    pub fn config(&self) -> &OrchestratorConfig {
        &self.cfg
    }

    /// Combine the opinions into a decision.
    pub fn decide(&self, inputs: &Inputs) -> Decision {
        self.decide_excluding(inputs, None)
    }

    /// The decision had `component` been absent.
    pub fn without(&self, inputs: &Inputs, component: Component) -> Decision {
        self.decide_excluding(inputs, Some(component))
    }

    fn decide_excluding(&self, inputs: &Inputs, excluded: Option<Component>) -> Decision {
        let opinion_of = |c: Component| {
            inputs
                .opinions
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, o)| o)
        };
        let available = |c: Component| {
            Some(c) != excluded
                && !inputs.blocked.contains(&c)
                && self.cfg.weights.of(c) > 0.0
                && opinion_of(c).is_some()
        };
        let total: f64 = Component::ALL
            .into_iter()
            .filter(|&c| available(c))
            .map(|c| self.cfg.weights.of(c))
            .sum();
        let mut score = 0.0;
        let mut votes = Vec::with_capacity(Component::ALL.len());
        for c in Component::ALL {
            let w = self.cfg.weights.of(c);
            let eff = if available(c) && total > 0.0 {
                w / total
            } else {
                0.0
            };
            let opinion = if Some(c) == excluded {
                None
            } else {
                opinion_of(c).cloned()
            };
            if let Some(o) = &opinion
                && eff > 0.0
            {
                score += eff * o.action.direction() * o.confidence;
            }
            votes.push(Vote {
                component: c,
                weight: w,
                effective_weight: eff,
                opinion,
                blocked: inputs.blocked.contains(&c),
            });
        }
        let score = score.clamp(-1.0, 1.0);
        let action = if score >= self.cfg.threshold && score > 0.0 {
            Action::Buy
        } else if score <= -self.cfg.threshold && score < 0.0 {
            Action::Sell
        } else {
            Action::Hold
        };
        let veto = votes
            .iter()
            .filter(|v| v.component == Component::Llm && v.effective_weight > 0.0)
            .filter_map(|v| v.opinion.as_ref())
            .flat_map(|o| o.reasons.iter())
            .find_map(|r| match r {
                OpinionReason::Llm {
                    veto: true,
                    explanation,
                    ..
                } => Some(explanation.clone()),
                _ => None,
            });
        let (action, confidence) = match (&veto, action) {
            (Some(_), _) | (None, Action::Hold) => (Action::Hold, 0.0),
            (None, a) => (a, score.abs()),
        };
        let size_frac = if action == Action::Hold {
            0.0
        } else {
            self.size(confidence, inputs.regime, inputs.kelly)
        };
        Decision {
            action,
            confidence,
            score,
            size_frac,
            leverage: if inputs.leverage > 0.0 {
                inputs.leverage
            } else {
                1.0
            },
            regime: inputs.regime,
            votes,
            veto,
        }
    }

    /// `base × confidence^1.5 × regime factor`, half-Kelly-capped from
    /// `kelly_min_confidence`, at most `max_size_frac`.
    pub fn size(&self, confidence: f64, regime: Option<Regime>, kelly: Option<f64>) -> f64 {
        let c = if confidence.is_finite() {
            confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let factor = regime.map_or(1.0, Regime::size_mult);
        let mut f = self.cfg.base_size_frac * c.powf(1.5) * factor;
        if c >= self.cfg.kelly_min_confidence
            && let Some(k) = kelly.filter(|k| k.is_finite())
        {
            f = f.min((k / 2.0).max(0.0));
        }
        if f.is_finite() {
            f.clamp(0.0, self.cfg.max_size_frac)
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(a: Action, c: f64) -> Opinion {
        Opinion::new(a, c, vec![])
    }

    fn inputs(ops: &[(Component, Action, f64)]) -> Inputs {
        Inputs {
            opinions: ops.iter().map(|&(k, a, c)| (k, op(a, c))).collect(),
            leverage: 1.0,
            ..Inputs::default()
        }
    }

    #[test]
    fn all_five_agreeing_give_the_weighted_confidence() {
        let o = Orchestrator::default();
        let i = inputs(&[
            (Component::Technical, Action::Buy, 0.8),
            (Component::Dqn, Action::Buy, 0.6),
            (Component::Evolved, Action::Buy, 1.0),
            (Component::Online, Action::Buy, 0.5),
            (Component::Llm, Action::Buy, 0.9),
        ]);
        let d = o.decide(&i);
        // 0.3·0.8 + 0.25·0.6 + 0.2·1 + 0.15·0.5 + 0.1·0.9 = 0.755
        assert!((d.score - 0.755).abs() < 1e-12, "{}", d.score);
        assert_eq!(d.action, Action::Buy);
        assert!((d.confidence - 0.755).abs() < 1e-12);
        assert_eq!(d.voters().count(), 5);
    }

    #[test]
    fn weights_renormalise_over_the_available_components() {
        let o = Orchestrator::default();
        // only technical (0.3) and evolved (0.2): weights 0.6 and 0.4
        let i = inputs(&[
            (Component::Technical, Action::Buy, 1.0),
            (Component::Evolved, Action::Sell, 0.5),
        ]);
        let d = o.decide(&i);
        assert!((d.score - (0.6 - 0.4 * 0.5)).abs() < 1e-12);
        let eff: f64 = d.votes.iter().map(|v| v.effective_weight).sum();
        assert!((eff - 1.0).abs() < 1e-12);
        assert_eq!(d.votes[1].effective_weight, 0.0); // dqn absent
        // a single component decides alone
        let d = o.decide(&inputs(&[(Component::Dqn, Action::Sell, 0.7)]));
        assert_eq!(d.action, Action::Sell);
        assert!((d.confidence - 0.7).abs() < 1e-12);
        // nothing available: hold, not an error
        let d = o.decide(&Inputs::default());
        assert_eq!(
            (d.action, d.size_frac, d.leverage),
            (Action::Hold, 0.0, 1.0)
        );
    }

    #[test]
    fn blocked_and_zero_weight_components_do_not_vote() {
        let cfg = OrchestratorConfig {
            weights: Weights::default().parse_overrides("dqn=0").unwrap(),
            ..OrchestratorConfig::default()
        };
        let o = Orchestrator::new(cfg);
        let mut i = inputs(&[
            (Component::Technical, Action::Buy, 1.0),
            (Component::Dqn, Action::Sell, 1.0),
            (Component::Evolved, Action::Sell, 1.0),
        ]);
        i.blocked = vec![Component::Evolved];
        let d = o.decide(&i);
        assert_eq!(d.action, Action::Buy);
        assert_eq!(d.confidence, 1.0);
        assert!(d.votes[2].blocked && d.votes[2].opinion.is_some());
    }

    #[test]
    fn below_threshold_is_hold_and_the_llm_veto_forces_hold() {
        let o = Orchestrator::default();
        let d = o.decide(&inputs(&[
            (Component::Technical, Action::Buy, 0.5),
            (Component::Dqn, Action::Sell, 0.5),
        ]));
        assert_eq!(d.action, Action::Hold);
        let mut i = inputs(&[(Component::Technical, Action::Buy, 1.0)]);
        i.opinions.push((
            Component::Llm,
            Opinion::new(
                Action::Hold,
                0.9,
                vec![OpinionReason::Llm {
                    explanation: "funding spike".into(),
                    risk_warning: "high".into(),
                    veto: true,
                }],
            ),
        ));
        let d = o.decide(&i);
        assert_eq!((d.action, d.size_frac), (Action::Hold, 0.0));
        assert_eq!(d.veto.as_deref(), Some("funding spike"));
        // without the LLM the buy goes through: explain's counterfactual
        let w = o.without(&i, Component::Llm);
        assert_eq!(w.action, Action::Buy);
        assert!(w.veto.is_none() && w.votes[4].opinion.is_none());
    }

    #[test]
    fn size_scales_by_confidence_and_regime_and_is_capped() {
        let o = Orchestrator::default();
        // 0.1 · 0.64^1.5 · 1.2 = 0.06144
        assert!((o.size(0.64, Some(Regime::Bull), None) - 0.06144).abs() < 1e-12);
        assert!((o.size(0.64, Some(Regime::Crash), None) - 0.01536).abs() < 1e-12);
        // half-Kelly caps from confidence 0.7: kelly 0.1 → 0.05
        assert!((o.size(1.0, None, Some(0.1)) - 0.05).abs() < 1e-12);
        assert_eq!(o.size(1.0, None, Some(-0.2)), 0.0);
        // below 0.7 the Kelly cap does not apply
        assert!((o.size(0.64, None, Some(0.01)) - 0.0512).abs() < 1e-12);
        // the 25 % cap
        let big = Orchestrator::new(OrchestratorConfig {
            base_size_frac: 1.0,
            ..OrchestratorConfig::default()
        });
        assert_eq!(big.size(1.0, Some(Regime::Bull), None), 0.25);
    }
}
