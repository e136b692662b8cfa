//! Saving and restoring the `ai` strategy ([`Strategy::save_state`] /
//! [`Strategy::load_state`]): everything that decides a later bar, so a run stopped after
//! any bar continues bit for bit (paper and live bots, `engine::Engine::save`).
//!
//! Saved: the parameters and orchestrator settings (weights, threshold, sizing), the
//! technical rule's and the regime detector's indicator state, the online learner (health
//! and both drift detectors per strategy and regime), the pending entry, the open trade and
//! a trade waiting for the DQN to learn from it, the blocked components' shadow opinions,
//! the volatility and trade-return windows, the evolved component (genome and features),
//! the DQN component (spec, the weights it acts with, feature state), the DQN's online
//! agent when it learns (online and target weights, Adam, replay, RNG position, counters),
//! the per-trade leverage setting with the leverage DQN's state, and the state of each
//! other strategy component.
//!
//! Not saved, by design: the decision records and warnings (outputs the driver takes: a
//! backtest at the end, a paper tick after each tick; a restored run must not store them
//! twice) and the LLM advisor (its answers come from its source each time it is asked; it
//! keeps nothing between bars that decides anything). The evolved and DQN components are
//! rebuilt from the saved state, whatever the loader was built with (the trait's rule: the
//! saved parameters win); the leverage DQN and other strategy components are trait objects,
//! so the loader must have been built with the same ones (else [`StateError::Mismatch`]).
//! Extra advisors ([`AiStrategy::with_advisor`]) have no saved state: such a strategy
//! answers [`StateError::Unsupported`].

use serde::{Deserialize, Serialize};

use super::{AiStrategy, DqnOnline, OpenTrade, PendingEntry, PerTradeLeverage};
use crate::ai::advisor::Component;
use crate::ai::dqn::{AgentState, DqnAgent, ModelSpec};
use crate::ai::leverage::{LeverageConfig, LeverageManager};
use crate::ai::nn::Mlp;
use crate::ai::online::OnlineLearner;
use crate::ai::orchestrator::{Orchestrator, OrchestratorConfig};
use crate::core::order::Side;
use crate::persist::{StateError, from_hex, from_value, to_hex, to_value};
use crate::regime::{Regime, RegimeDetector};
use crate::signal::TechnicalSignal;
use crate::strategy::dqn::DqnStrategy;
use crate::strategy::evolved::Evolved;
use crate::strategy::{Params, Strategy};

/// The saved DQN component: its model and its feature state.
#[derive(Serialize, Deserialize)]
struct SavedDqn {
    spec: ModelSpec,
    /// The weights it acts with (hex of [`Mlp::to_bytes`]): the model's, or what it learned.
    net: String,
    id: Option<i64>,
    state: serde_json::Value,
}

/// The saved online agent of the DQN component.
#[derive(Serialize, Deserialize)]
struct SavedOnline {
    agent: AgentState,
    steps_per_trade: usize,
    version: i64,
    trades: u64,
    grad_steps: u64,
}

/// The saved per-trade leverage.
#[derive(Serialize, Deserialize)]
struct SavedLeverage {
    config: LeverageConfig,
    engine_leverage: f64,
    /// The leverage DQN's state and the leverage it was trained at.
    dqn: Option<(serde_json::Value, f64)>,
}

/// What [`AiStrategy`] saves (module doc).
#[derive(Serialize, Deserialize)]
struct SavedAi {
    params: Params,
    orchestrator: OrchestratorConfig,
    signal: TechnicalSignal,
    regime: RegimeDetector,
    evolved: Option<serde_json::Value>,
    strategies: Vec<(Component, serde_json::Value)>,
    online: OnlineLearner,
    take_profit_r: f64,
    allow_short: bool,
    pending: Option<PendingEntry>,
    open: Option<OpenTrade>,
    shadow: Vec<(usize, Component, Regime, Side, f64)>,
    leverage: Option<SavedLeverage>,
    vol_hist: std::collections::VecDeque<f64>,
    trade_returns: std::collections::VecDeque<f64>,
    dqn: Option<SavedDqn>,
    dqn_online: Option<SavedOnline>,
    dqn_due: Option<(OpenTrade, f64)>,
}

fn mismatch(expected: String, found: String) -> StateError {
    StateError::Mismatch { expected, found }
}

/// The `ai` strategy's state as JSON (module doc).
pub(super) fn save(s: &AiStrategy) -> Result<serde_json::Value, StateError> {
    if !s.advisors.is_empty() {
        return Err(StateError::Unsupported("ai with extra advisors".into()));
    }
    let evolved = s.evolved.as_ref().map(Strategy::save_state).transpose()?;
    let strategies = s
        .strategies
        .iter()
        .map(|(c, st)| Ok((*c, st.save_state()?)))
        .collect::<Result<Vec<_>, StateError>>()?;
    let leverage = match &s.leverage {
        Some(pl) => Some(SavedLeverage {
            config: *pl.manager.config(),
            engine_leverage: pl.engine_leverage,
            dqn: match &pl.dqn {
                Some((d, max)) => Some((d.save_state()?, *max)),
                None => None,
            },
        }),
        None => None,
    };
    let dqn = match &s.dqn {
        Some(d) => Some(SavedDqn {
            spec: d.spec().clone(),
            net: to_hex(&d.net().to_bytes()),
            id: d.id(),
            state: d.save_state()?,
        }),
        None => None,
    };
    to_value(&SavedAi {
        params: s.params.clone(),
        orchestrator: s.orchestrator.config().clone(),
        signal: s.signal.clone(),
        regime: s.regime.clone(),
        evolved,
        strategies,
        online: s.online.clone(),
        take_profit_r: s.take_profit_r,
        allow_short: s.allow_short,
        pending: s.pending.clone(),
        open: s.open.clone(),
        shadow: s.shadow.clone(),
        leverage,
        vol_hist: s.vol_hist.clone(),
        trade_returns: s.trade_returns.clone(),
        dqn,
        dqn_online: s.dqn_online.as_ref().map(|o| SavedOnline {
            agent: o.agent.to_state(),
            steps_per_trade: o.steps_per_trade,
            version: o.version,
            trades: o.trades,
            grad_steps: o.grad_steps,
        }),
        dqn_due: s.dqn_due.clone(),
    })
}

/// Replace `s`'s state with a saved one (module doc). After an error `s` may be half
/// loaded: build a fresh one.
pub(super) fn load(s: &mut AiStrategy, state: &serde_json::Value) -> Result<(), StateError> {
    if !s.advisors.is_empty() {
        return Err(StateError::Unsupported("ai with extra advisors".into()));
    }
    let saved: SavedAi = from_value(state)?;
    // trait-object components: the loader must hold the same ones
    let names = |v: &mut dyn Iterator<Item = Component>| {
        v.map(|c| c.to_string()).collect::<Vec<_>>().join(",")
    };
    let have = names(&mut s.strategies.iter().map(|(c, _)| *c));
    let want = names(&mut saved.strategies.iter().map(|(c, _)| *c));
    if have != want {
        return Err(mismatch(
            format!("strategy components [{have}]"),
            format!("[{want}]"),
        ));
    }
    let lev_dqn_here = s.leverage.as_ref().is_some_and(|pl| pl.dqn.is_some());
    let lev_dqn_saved = saved.leverage.as_ref().is_some_and(|l| l.dqn.is_some());
    if lev_dqn_here != lev_dqn_saved {
        return Err(mismatch(
            format!(
                "leverage DQN {}",
                if lev_dqn_here { "present" } else { "absent" }
            ),
            if lev_dqn_saved { "present" } else { "absent" }.into(),
        ));
    }
    // rebuild what is data first, so a failure leaves `s` as it was
    let evolved = saved
        .evolved
        .as_ref()
        .map(Evolved::from_state)
        .transpose()?;
    let dqn = match &saved.dqn {
        Some(d) => {
            let net = Mlp::from_bytes(&d.spec.sizes, &from_hex(&d.net)?)
                .map_err(|e| StateError::Json(format!("dqn weights: {e}")))?;
            let mut st = DqnStrategy::new(d.spec.clone(), net)
                .map_err(|e| StateError::Json(format!("dqn model: {e}")))?;
            if let Some(id) = d.id {
                st = st.with_id(id);
            }
            st.load_state(&d.state)?;
            Some(st)
        }
        None => None,
    };
    let dqn_online = match &saved.dqn_online {
        Some(o) => Some(DqnOnline {
            agent: DqnAgent::from_state(&o.agent)?,
            steps_per_trade: o.steps_per_trade,
            version: o.version,
            trades: o.trades,
            grad_steps: o.grad_steps,
        }),
        None => None,
    };
    for ((_, st), (_, v)) in s.strategies.iter_mut().zip(&saved.strategies) {
        st.load_state(v)?;
    }
    s.leverage = match (saved.leverage, s.leverage.take()) {
        (None, _) => None,
        (Some(l), here) => {
            let mut dqn = here.and_then(|pl| pl.dqn);
            if let (Some((d, max)), Some((v, saved_max))) = (dqn.as_mut(), &l.dqn) {
                d.load_state(v)?;
                *max = *saved_max;
            }
            Some(PerTradeLeverage {
                manager: LeverageManager::new(l.config),
                engine_leverage: l.engine_leverage,
                dqn,
            })
        }
    };
    s.params = saved.params;
    s.orchestrator = Orchestrator::new(saved.orchestrator);
    s.signal = saved.signal;
    s.regime = saved.regime;
    s.evolved = evolved;
    s.online = saved.online;
    s.take_profit_r = saved.take_profit_r;
    s.allow_short = saved.allow_short;
    s.pending = saved.pending;
    s.open = saved.open;
    s.shadow = saved.shadow;
    s.vol_hist = saved.vol_hist;
    s.trade_returns = saved.trade_returns;
    s.dqn = dqn;
    s.dqn_online = dqn_online;
    s.dqn_due = saved.dqn_due;
    Ok(())
}
