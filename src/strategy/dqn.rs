//! The `dqn` and `leverage-dqn` strategies: a trained network acting greedily
//! ([`DqnStrategy`], what `backtest --strategy dqn --param id=N` runs), and the learning
//! strategy the trainer drives through the engine ([`Learner`]).
//!
//! Both feed each bar to the same [`StateBuilder`] (so training, backtest and live see the
//! same state bit for bit) and map actions to intents with [`intent_for`]. The learner, at
//! bar t + 1, computes the reward of its action at t from what the engine did (equity,
//! position), stores the transition, takes one gradient step and acts ε-greedily. It only
//! learns inside its window (`start..end`); earlier bars warm the features up. A position
//! that disappears while the agent held is a liquidation: its transition is stored with the
//! liquidation penalty and counted.

use crate::ai::dqn::{
    AgentKind, DqnAgent, ModelSpec, Policy, StepOutcome, Transition, dqn_reward, intent_for,
    leverage_reward,
};
use crate::ai::nn::{Mlp, NnError};
use crate::core::order::{Intent, PositionView, Side};
use crate::features::{Observation, StateBuilder, Structure};
use crate::indicators::ParamError;
use crate::persist::StateError;
use crate::strategy::{History, ParamKind, ParamSpec, ParamValue, Params, Strategy};

/// The parameter space of `dqn` and `leverage-dqn`: the id of a stored model.
pub const DQN_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "id",
    kind: ParamKind::Int {
        min: 0,
        max: i64::MAX,
    },
    default: ParamValue::Int(0),
    doc: "id of a model stored by `algolab train-rl` / `train-leverage` (see `--list`)",
}];

fn structure(hist: &History<'_>) -> Structure {
    let at = |name: &str| hist.extra(name).and_then(|c| c.last().copied());
    Structure {
        funding_rate: at("funding_rate"),
        open_interest: at("open_interest"),
        long_short_ratio: at("long_short_ratio"),
    }
}

fn builder(spec: &ModelSpec) -> Result<StateBuilder, ParamError> {
    if spec.features != spec.kind.features() {
        return Err(ParamError::new(
            "model features",
            spec.features.id(),
            &format!("{} for {}", spec.kind.features().id(), spec.kind.name()),
        ));
    }
    StateBuilder::new(
        spec.features,
        spec.interval_ms,
        spec.normaliser.clone(),
        spec.leverage,
    )
}

/// What [`DqnStrategy::save_state`] writes.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedDqn {
    kind: String,
    builder: StateBuilder,
    state: Vec<f32>,
    /// Empty unless the strategy keeps a decision log (older states may carry one).
    #[serde(default)]
    log: Vec<(usize, u8)>,
}

/// A trained model acting greedily.
#[derive(Debug, Clone)]
pub struct DqnStrategy {
    spec: ModelSpec,
    builder: StateBuilder,
    policy: Policy,
    state: Vec<f32>,
    log: Vec<(usize, u8)>,
    keep_log: bool,
    id: Option<i64>,
}

impl DqnStrategy {
    /// The strategy of a model.
    ///
    /// # Errors
    /// [`ParamError`] when the network's shape or the features do not match the spec.
    pub fn new(spec: ModelSpec, net: Mlp) -> Result<Self, ParamError> {
        let width = spec.features.width();
        if net.n_in() != width || net.n_out() != spec.kind.actions().len() {
            return Err(ParamError::new(
                "model shape",
                format!("{:?}", net.sizes()),
                &format!(
                    "{width} inputs and {} outputs for {}",
                    spec.kind.actions().len(),
                    spec.kind.name()
                ),
            ));
        }
        Ok(DqnStrategy {
            builder: builder(&spec)?,
            policy: Policy::new(net),
            state: vec![0.0; width],
            log: Vec::new(),
            keep_log: false,
            id: None,
            spec,
        })
    }

    /// Record the stored model's id (reported in [`Strategy::params`]).
    pub fn with_id(mut self, id: i64) -> Self {
        self.id = Some(id);
        self
    }

    /// Keep a log of every decision ([`Self::decisions`]): the training command counts the
    /// actions of its test window with it. Off by default, so a bot that runs for months does
    /// not carry a per-bar log in its state file.
    pub fn with_decision_log(mut self) -> Self {
        self.keep_log = true;
        self
    }

    /// The model's spec.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The network it acts with.
    pub fn net(&self) -> &Mlp {
        self.policy.net()
    }

    /// The stored model's id, if it has one.
    pub fn id(&self) -> Option<i64> {
        self.id
    }

    /// The state vector of the last bar seen (zeros before the features warmed up).
    pub fn state(&self) -> &[f32] {
        &self.state
    }

    /// Act with these weights from now on (the `ai` strategy's learning after each trade).
    ///
    /// # Errors
    /// [`ParamError`] when the network's shape differs from the model's.
    pub fn set_net(&mut self, net: Mlp) -> Result<(), ParamError> {
        if net.sizes() != self.policy.net().sizes() {
            return Err(ParamError::new(
                "model shape",
                format!("{:?}", net.sizes()),
                &format!("{:?}", self.policy.net().sizes()),
            ));
        }
        self.policy = Policy::new(net);
        Ok(())
    }

    /// `(bar index, action)` of every decision since the last reset (warm-up bars included;
    /// callers cut to their window); empty unless built [`Self::with_decision_log`].
    pub fn decisions(&self) -> &[(usize, u8)] {
        &self.log
    }
}

impl Strategy for DqnStrategy {
    fn name(&self) -> &str {
        self.spec.kind.name()
    }

    fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
        let bar = hist.last();
        if self
            .builder
            .update(&bar, &structure(hist), pos, &mut self.state)
            .is_none()
        {
            return Intent::Hold;
        }
        let a = self.policy.act(&self.state);
        if self.keep_log {
            self.log.push((hist.index(), a as u8));
        }
        intent_for(self.spec.kind, a, pos, self.spec.leverage)
    }

    fn reset(&mut self) {
        self.builder.reset();
        self.log.clear();
    }

    /// The feature builder (indicator and position state), the last state vector and the
    /// decision log; the network is the stored model's and is not part of the state.
    fn save_state(&self) -> Result<serde_json::Value, StateError> {
        crate::persist::to_value(&SavedDqn {
            kind: self.spec.kind.name().to_string(),
            builder: self.builder.clone(),
            state: self.state.clone(),
            log: self.log.clone(),
        })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), StateError> {
        let saved: SavedDqn = crate::persist::from_value(state)?;
        if saved.kind != self.spec.kind.name() {
            return Err(StateError::Mismatch {
                expected: self.spec.kind.name().to_string(),
                found: saved.kind,
            });
        }
        if saved.state.len() != self.state.len() {
            return Err(StateError::Json(format!(
                "state vector of {} values, the model reads {}",
                saved.state.len(),
                self.state.len()
            )));
        }
        self.builder = saved.builder;
        self.state = saved.state;
        self.log = saved.log;
        Ok(())
    }

    fn params(&self) -> Params {
        let mut p = Params::default();
        if let Some(id) = self.id {
            p.0.insert("id".into(), ParamValue::Int(id));
        }
        p
    }

    fn warmup_bars(&self) -> usize {
        self.builder.warmup_bars()
    }
}

/// Per-episode figures of a [`Learner`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EpisodeStats {
    /// Transitions stored.
    pub steps: u64,
    /// Sum of rewards.
    pub reward_sum: f64,
    /// Gradient steps taken.
    pub grad_steps: u64,
    /// Sum of their losses.
    pub loss_sum: f64,
    /// Liquidations.
    pub liquidations: u64,
    /// Times the account was wiped out and training went on with fresh capital
    /// ([`Learner::refund`]).
    pub refunds: u64,
    /// Count of each action chosen.
    pub actions: Vec<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    action: usize,
    held: bool,
    equity: f64,
    side: Option<Side>,
    entry_ts_ms: i64,
    obs: Observation,
}

/// The learning strategy (module doc).
#[derive(Debug)]
pub struct Learner {
    spec: ModelSpec,
    builder: StateBuilder,
    agent: DqnAgent,
    start: usize,
    end: usize,
    state: Vec<f32>,
    prev_state: Vec<f32>,
    pending: Option<Pending>,
    stats: EpisodeStats,
    error: Option<NnError>,
}

impl Learner {
    /// A learner for bars `start..end` (earlier bars only warm the features).
    ///
    /// # Errors
    /// [`ParamError`] when the spec's features or normaliser do not fit its kind.
    pub fn new(
        spec: ModelSpec,
        agent: DqnAgent,
        start: usize,
        end: usize,
    ) -> Result<Self, ParamError> {
        let width = spec.features.width();
        Ok(Learner {
            builder: builder(&spec)?,
            stats: EpisodeStats {
                actions: vec![0; spec.kind.actions().len()],
                ..EpisodeStats::default()
            },
            spec,
            agent,
            start,
            end,
            state: vec![0.0; width],
            prev_state: vec![0.0; width],
            pending: None,
            error: None,
        })
    }

    /// The episode's figures.
    pub fn stats(&self) -> &EpisodeStats {
        &self.stats
    }

    /// The agent.
    pub fn agent(&self) -> &DqnAgent {
        &self.agent
    }

    /// End the episode: a transition still pending (the run stopped early, e.g. on
    /// bankruptcy) is stored as terminal with the final equity; returns the agent, or the
    /// error that stopped learning.
    ///
    /// # Errors
    /// [`NnError::NotFinite`] when a loss or weight went non-finite during the episode.
    pub fn finish(self, final_equity: f64) -> Result<(DqnAgent, EpisodeStats), NnError> {
        self.finish_with(final_equity, false)
    }

    /// [`Learner::finish`] after a run whose account was wiped out on its last bars, with
    /// `liquidated` as in [`Learner::refund`].
    ///
    /// # Errors
    /// As [`Learner::finish`].
    pub fn finish_with(
        mut self,
        final_equity: f64,
        liquidated: bool,
    ) -> Result<(DqnAgent, EpisodeStats), NnError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.end_account(final_equity, liquidated);
        Ok((self.agent, self.stats))
    }

    /// True once a loss or weight went non-finite (learning stopped; [`Learner::finish`]
    /// returns the error).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The run stopped at the close of bar `t`, before the window's end, because the
    /// account was wiped out (bankruptcy, or equity below one minimum order): the pending
    /// transition becomes terminal with the final equity — a liquidation when
    /// `liquidated` (a position was liquidated at `t`), counted and penalised like any
    /// other — and learning continues from bar `t + 1` in the next run, which the trainer
    /// starts with fresh capital (a new account episode; docs/DESIGN.md "RL training after a
    /// liquidation").
    pub fn refund(&mut self, t: usize, final_equity: f64, liquidated: bool) {
        self.end_account(final_equity, liquidated);
        self.start = self.start.max(t + 1);
        self.stats.refunds += 1;
    }

    /// Store the pending transition as terminal (the account ended with `final_equity`).
    fn end_account(&mut self, final_equity: f64, liquidated: bool) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let o = StepOutcome {
            equity_after: final_equity,
            closed: p.side.is_some() || liquidated,
            liquidated,
            ..self.outcome(&p, None)
        };
        if liquidated {
            self.stats.liquidations += 1;
        }
        let r = self.reward(&o);
        let next = std::mem::take(&mut self.state);
        self.store(&p, r, &next, true);
        self.state = next;
    }

    fn outcome(&self, p: &Pending, now: Option<(&PositionView, &Observation)>) -> StepOutcome {
        let m = &p.obs.market;
        let mut o = StepOutcome {
            equity_before: p.equity,
            equity_after: p.equity,
            sigma: m[12],
            held: p.held,
            high_volatility: m[16] > 0.5,
            adx: m[17],
            trend: m[18],
            ..StepOutcome::default()
        };
        if let Some((pos, obs)) = now {
            let then = p.side.map(|s| (s, p.entry_ts_ms));
            let now_key = pos.side.map(|s| (s, pos.entry_ts_ms));
            o.equity_after = pos.equity;
            o.opened = now_key.is_some() && now_key != then;
            o.closed = then.is_some() && now_key != then;
            o.liquidated = o.closed && p.held;
            let ps = &obs.position;
            o.side = ps.side;
            o.unrealized_frac = ps.pnl_frac;
            o.unrealized_on_margin = ps.unrealized_on_margin;
            o.bars_held = ps.bars_held;
            o.leverage = ps.leverage;
            o.margin_ratio = ps.margin_ratio;
        }
        o
    }

    fn reward(&self, o: &StepOutcome) -> f64 {
        match self.spec.kind {
            AgentKind::Dqn => dqn_reward(o).total(),
            AgentKind::LeverageDqn => leverage_reward(o).total(),
        }
    }

    fn store(&mut self, p: &Pending, reward: f64, next: &[f32], done: bool) {
        self.agent.observe(&Transition {
            state: &self.prev_state,
            action: p.action,
            reward: reward as f32,
            next_state: next,
            done,
        });
        self.stats.steps += 1;
        self.stats.reward_sum += reward;
    }
}

impl Strategy for Learner {
    fn name(&self) -> &str {
        self.spec.kind.name()
    }

    fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
        let t = hist.index();
        let bar = hist.last();
        let obs = self
            .builder
            .update(&bar, &structure(hist), pos, &mut self.state);
        let Some(obs) = obs else {
            return Intent::Hold;
        };
        if t < self.start || t >= self.end || self.error.is_some() {
            return Intent::Hold;
        }
        let last = t + 1 == self.end;
        if let Some(p) = self.pending.take() {
            let o = self.outcome(&p, Some((pos, &obs)));
            if o.liquidated {
                self.stats.liquidations += 1;
            }
            let r = self.reward(&o);
            let next = std::mem::take(&mut self.state);
            self.store(&p, r, &next, last);
            self.state = next;
            match self.agent.train_step() {
                Ok(Some(loss)) => {
                    self.stats.grad_steps += 1;
                    self.stats.loss_sum += f64::from(loss);
                }
                Ok(None) => {}
                Err(e) => {
                    self.error = Some(e);
                    return Intent::Hold;
                }
            }
        }
        if last {
            return Intent::Hold;
        }
        let a = self.agent.act(&self.state);
        self.stats.actions[a] += 1;
        let intent = intent_for(self.spec.kind, a, pos, self.spec.leverage);
        self.prev_state.copy_from_slice(&self.state);
        self.pending = Some(Pending {
            action: a,
            held: intent == Intent::Hold,
            equity: pos.equity,
            side: pos.side,
            entry_ts_ms: pos.entry_ts_ms,
            obs,
        });
        intent
    }

    fn reset(&mut self) {
        self.builder.reset();
        self.pending = None;
    }

    fn warmup_bars(&self) -> usize {
        self.builder.warmup_bars()
    }
}
