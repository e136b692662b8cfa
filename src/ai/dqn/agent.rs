//! The DQN learner (Mnih et al. 2015): an online and a target [`Mlp`], experience
//! [`Replay`], ε-greedy exploration on a linear schedule, Adam on the Huber loss of the
//! temporal-difference error, a hard target sync every `target_sync` gradient steps, and
//! double DQN (van Hasselt et al. 2016) as an option.
//!
//! One gradient step per call of [`DqnAgent::train_step`] (the training loop calls it once
//! per environment step, SB3's `train_freq = 1`), once the buffer holds `learning_starts`
//! transitions. Every random choice (exploration, minibatches, initial weights) comes from
//! the agent's seed, so a run is reproducible bit for bit.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::replay::{Batch, Replay, Transition};
use crate::ai::nn::{Adam, Mlp, NnError, Workspace};

/// Hyper-parameters (stored with every model).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DqnConfig {
    /// Hidden layer widths (the seed's 128, 64, 32).
    pub hidden: [usize; 3],
    /// Discount factor γ.
    pub gamma: f64,
    /// Adam's learning rate.
    pub lr: f64,
    /// Minibatch size.
    pub batch: usize,
    /// Replay capacity (transitions).
    pub replay_capacity: usize,
    /// Gradient steps between hard target-network syncs.
    pub target_sync: u64,
    /// Transitions stored before the first gradient step.
    pub learning_starts: u64,
    /// ε at the first step.
    pub eps_start: f64,
    /// ε after the decay.
    pub eps_end: f64,
    /// Environment steps over which ε falls linearly from `eps_start` to `eps_end`.
    pub eps_decay_steps: u64,
    /// Double DQN: the online network picks the next action, the target network values it.
    pub double: bool,
    /// Huber loss threshold (1 = PyTorch's `smooth_l1_loss`).
    pub huber_delta: f64,
    /// Clip the gradient's global norm (SB3's DQN: 10).
    pub max_grad_norm: Option<f64>,
}

impl Default for DqnConfig {
    fn default() -> Self {
        DqnConfig {
            hidden: [128, 64, 32],
            gamma: 0.99,
            lr: 1e-3,
            batch: 64,
            replay_capacity: 100_000,
            target_sync: 100,
            learning_starts: 1_000,
            eps_start: 1.0,
            eps_end: 0.01,
            eps_decay_steps: 10_000,
            double: false,
            huber_delta: 1.0,
            max_grad_norm: Some(10.0),
        }
    }
}

impl DqnConfig {
    /// Check every value is in range.
    ///
    /// # Errors
    /// [`crate::indicators::ParamError`] naming the first bad value.
    pub fn validate(&self) -> Result<(), crate::indicators::ParamError> {
        use crate::indicators::ParamError;
        if !(self.gamma >= 0.0 && self.gamma < 1.0) {
            return Err(ParamError::new("gamma", self.gamma, "0 <= gamma < 1"));
        }
        if !(self.lr > 0.0 && self.lr < 1.0) {
            return Err(ParamError::new("lr", self.lr, "0 < lr < 1"));
        }
        if self.batch == 0 || self.batch > 4096 {
            return Err(ParamError::new("batch", self.batch, "1..=4096"));
        }
        if self.replay_capacity == 0 {
            return Err(ParamError::new(
                "replay_capacity",
                self.replay_capacity,
                ">= 1",
            ));
        }
        if self.target_sync == 0 {
            return Err(ParamError::new("target_sync", self.target_sync, ">= 1"));
        }
        if !(0.0..=1.0).contains(&self.eps_start) || !(0.0..=1.0).contains(&self.eps_end) {
            return Err(ParamError::new("epsilon", self.eps_start, "0..=1"));
        }
        if self.hidden.contains(&0) {
            return Err(ParamError::new(
                "hidden",
                format!("{:?}", self.hidden),
                "> 0",
            ));
        }
        Ok(())
    }
}

/// ε after `step` environment steps: linear from `start` to `end` over `decay_steps`, then
/// `end` (SB3's `get_linear_fn`).
pub fn epsilon_at(step: u64, start: f64, end: f64, decay_steps: u64) -> f64 {
    if decay_steps == 0 || step >= decay_steps {
        return end;
    }
    start + (end - start) * step as f64 / decay_steps as f64
}

/// Index of the largest value (the first on ties).
pub fn argmax(q: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in q.iter().enumerate() {
        if v > q[best] {
            best = i;
        }
    }
    best
}

/// A greedy policy: a network and its scratch space (what a strategy runs).
#[derive(Debug, Clone)]
pub struct Policy {
    net: Mlp,
    ws: Workspace,
}

impl Policy {
    /// The greedy policy of `net`.
    pub fn new(net: Mlp) -> Self {
        Policy {
            net,
            ws: Workspace::new(),
        }
    }

    /// The network.
    pub fn net(&self) -> &Mlp {
        &self.net
    }

    /// The action with the largest Q-value in `state`.
    pub fn act(&mut self, state: &[f32]) -> usize {
        argmax(self.net.forward_one(state, &mut self.ws))
    }
}

/// The learning agent.
#[derive(Debug, Clone)]
pub struct DqnAgent {
    cfg: DqnConfig,
    n_actions: usize,
    online: Mlp,
    target: Mlp,
    adam: Adam,
    replay: Replay,
    rng: ChaCha8Rng,
    ws_one: Workspace,
    ws: Workspace,
    ws_next: Workspace,
    grad: Vec<f32>,
    batch: Batch,
    d_out: Vec<f32>,
    targets: Vec<f32>,
    next_actions: Vec<usize>,
    targets_q: TargetCache,
    env_steps: u64,
    grad_steps: u64,
    last_loss: f32,
}

impl DqnAgent {
    /// A fresh agent for states of width `n_in` and `n_actions` actions; weights and every
    /// later random choice come from `seed`.
    ///
    /// # Errors
    /// [`NnError::Sizes`] for a zero width.
    pub fn new(cfg: DqnConfig, n_in: usize, n_actions: usize, seed: u64) -> Result<Self, NnError> {
        let sizes = [n_in, cfg.hidden[0], cfg.hidden[1], cfg.hidden[2], n_actions];
        let online = Mlp::new(&sizes, seed)?;
        DqnAgent::from_parts(cfg, online, None, seed)
    }

    /// An agent continuing from `online` (and its optimiser state, if given), e.g. a
    /// stored model resumed; the target starts as a copy of `online`.
    ///
    /// # Errors
    /// [`NnError::Sizes`] when the network has no layers.
    pub fn from_parts(
        cfg: DqnConfig,
        online: Mlp,
        adam_state: Option<&[u8]>,
        seed: u64,
    ) -> Result<Self, NnError> {
        let n = online.params().len();
        let mut adam = Adam::new(n, cfg.lr as f32);
        adam.max_grad_norm = cfg.max_grad_norm.map(|v| v as f32);
        if let Some(bytes) = adam_state {
            adam.restore(bytes);
        }
        Ok(DqnAgent {
            n_actions: online.n_out(),
            target: online.clone(),
            replay: Replay::new(online.n_in(), cfg.replay_capacity),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x005e_edd0_u64),
            ws_one: Workspace::new(),
            ws: Workspace::new(),
            ws_next: Workspace::new(),
            grad: vec![0.0; n],
            batch: Batch::default(),
            d_out: vec![0.0; cfg.batch * online.n_out()],
            targets: Vec::with_capacity(cfg.batch),
            next_actions: Vec::with_capacity(cfg.batch),
            targets_q: TargetCache::default(),
            env_steps: 0,
            grad_steps: 0,
            last_loss: f32::NAN,
            online,
            adam,
            cfg,
        })
    }

    /// The settings.
    pub fn config(&self) -> &DqnConfig {
        &self.cfg
    }

    /// The online network.
    pub fn online(&self) -> &Mlp {
        &self.online
    }

    /// The target network.
    pub fn target(&self) -> &Mlp {
        &self.target
    }

    /// The optimiser (its state is stored with a model).
    pub fn adam(&self) -> &Adam {
        &self.adam
    }

    /// The replay buffer.
    pub fn replay(&self) -> &Replay {
        &self.replay
    }

    /// Environment steps taken (ε's clock).
    pub fn env_steps(&self) -> u64 {
        self.env_steps
    }

    /// Continue ε's schedule from `steps` (a resumed model).
    pub fn set_env_steps(&mut self, steps: u64) {
        self.env_steps = steps;
    }

    /// Gradient steps taken.
    pub fn grad_steps(&self) -> u64 {
        self.grad_steps
    }

    /// The last minibatch loss (NaN before the first step).
    pub fn last_loss(&self) -> f32 {
        self.last_loss
    }

    /// ε now.
    pub fn epsilon(&self) -> f64 {
        epsilon_at(
            self.env_steps,
            self.cfg.eps_start,
            self.cfg.eps_end,
            self.cfg.eps_decay_steps,
        )
    }

    /// Choose an action ε-greedily and advance ε's clock by one environment step.
    pub fn act(&mut self, state: &[f32]) -> usize {
        let eps = self.epsilon();
        self.env_steps += 1;
        if self.rng.random::<f64>() < eps {
            self.rng.random_range(0..self.n_actions)
        } else {
            self.greedy(state)
        }
    }

    /// The greedy action (no exploration, no clock).
    pub fn greedy(&mut self, state: &[f32]) -> usize {
        argmax(self.online.forward_one(state, &mut self.ws_one))
    }

    /// Store a transition.
    pub fn observe(&mut self, t: &Transition<'_>) {
        if let Some(slot) = self.replay.push(t) {
            self.targets_q.forget(slot);
        }
    }

    /// One gradient step on a sampled minibatch, once the buffer holds `learning_starts`
    /// transitions (and at least a batch); returns the loss, or `None` before that.
    ///
    /// # Errors
    /// [`NnError::NotFinite`] naming the step when the loss or a weight is not finite;
    /// the agent must then be discarded.
    pub fn train_step(&mut self) -> Result<Option<f32>, NnError> {
        let b = self.cfg.batch;
        let need = (self.cfg.learning_starts as usize).max(b);
        if self.replay.len() < need {
            return Ok(None);
        }
        let mut batch = std::mem::take(&mut self.batch);
        // the next states are read only where the target cache misses, unless double DQN
        // runs the online network over all of them
        if self.cfg.double {
            self.replay.sample(&mut self.rng, b, &mut batch);
        } else {
            self.replay
                .sample_without_next(&mut self.rng, b, &mut batch);
        }
        let a_n = self.n_actions;
        let gamma = self.cfg.gamma as f32;
        // targets y = r + γ (1 − done) Q_target(s', a*)
        self.targets.clear();
        self.targets.resize(b, 0.0);
        if self.cfg.double {
            let q_online = self.online.forward(&batch.next_states, b, &mut self.ws);
            self.next_actions.clear();
            self.next_actions
                .extend((0..b).map(|k| argmax(&q_online[k * a_n..(k + 1) * a_n])));
        }
        self.targets_q.fill(
            &self.target,
            &self.replay,
            &batch.slots,
            a_n,
            &mut self.ws_next,
        );
        for k in 0..b {
            let row = self.targets_q.row(batch.slots[k], a_n);
            let a = if self.cfg.double {
                self.next_actions[k]
            } else {
                argmax(row)
            };
            self.targets[k] = batch.rewards[k] + gamma * (1.0 - batch.done[k]) * row[a];
        }
        // Huber loss on Q(s, a) − y; its gradient only reaches the chosen action
        let q = self.online.forward(&batch.states, b, &mut self.ws);
        let delta = self.cfg.huber_delta as f32;
        self.d_out.clear();
        self.d_out.resize(b * a_n, 0.0);
        let mut loss = 0.0f32;
        for k in 0..b {
            let a = batch.actions[k];
            let diff = q[k * a_n + a] - self.targets[k];
            let ad = diff.abs();
            loss += if ad <= delta {
                0.5 * diff * diff
            } else {
                delta * (ad - 0.5 * delta)
            };
            self.d_out[k * a_n + a] = diff.clamp(-delta, delta) / b as f32;
        }
        loss /= b as f32;
        self.batch = batch;
        let step = self.grad_steps + 1;
        if !loss.is_finite() {
            return Err(NnError::NotFinite { what: "loss", step });
        }
        self.online
            .backward(&self.d_out, b, &mut self.ws, &mut self.grad);
        self.adam
            .step(&mut self.online, &self.grad)
            .map_err(|_| NnError::NotFinite {
                what: "weight",
                step,
            })?;
        self.grad_steps = step;
        self.last_loss = loss;
        if self.grad_steps.is_multiple_of(self.cfg.target_sync) {
            self.sync_target();
        }
        Ok(Some(loss))
    }

    /// Copy the online weights into the target network.
    pub fn sync_target(&mut self) {
        // same shapes by construction: the target is a clone of the online network
        let _same_shape = self.target.copy_from(&self.online);
        self.targets_q.invalidate();
    }

    /// Everything the agent has learned and will draw, as data: weights, optimiser moments,
    /// replay, the RNG's position and the counters ([`DqnAgent::from_state`] continues
    /// bit for bit). Scratch buffers are not state: every step overwrites them.
    pub fn to_state(&self) -> AgentState {
        AgentState {
            cfg: self.cfg,
            sizes: self.online.sizes().to_vec(),
            online: crate::persist::to_hex(&self.online.to_bytes()),
            target: crate::persist::to_hex(&self.target.to_bytes()),
            adam: crate::persist::to_hex(&self.adam.to_bytes()),
            replay: self.replay.clone(),
            rng_seed: crate::persist::to_hex(&self.rng.get_seed()),
            rng_stream: self.rng.get_stream(),
            rng_word_pos: self.rng.get_word_pos().to_string(),
            env_steps: self.env_steps,
            grad_steps: self.grad_steps,
            last_loss_bits: self.last_loss.to_bits(),
        }
    }

    /// The agent of a [`DqnAgent::to_state`].
    ///
    /// # Errors
    /// [`crate::persist::StateError::Json`] when a part does not decode or does not fit the
    /// layer sizes.
    pub fn from_state(st: &AgentState) -> Result<Self, crate::persist::StateError> {
        use crate::persist::{StateError, from_hex};
        let bad = |what: &str, e: String| StateError::Json(format!("dqn agent {what}: {e}"));
        let online = Mlp::from_bytes(&st.sizes, &from_hex(&st.online)?)
            .map_err(|e| bad("online network", e.to_string()))?;
        let target = Mlp::from_bytes(&st.sizes, &from_hex(&st.target)?)
            .map_err(|e| bad("target network", e.to_string()))?;
        let mut agent = DqnAgent::from_parts(st.cfg, online, None, 0)
            .map_err(|e| bad("network", e.to_string()))?;
        agent
            .adam
            .restore(&from_hex(&st.adam)?)
            .ok_or_else(|| bad("optimiser", "size differs from the network".into()))?;
        if st.replay.dim() != agent.online.n_in() {
            return Err(bad(
                "replay",
                format!(
                    "width {} for {} inputs",
                    st.replay.dim(),
                    agent.online.n_in()
                ),
            ));
        }
        let seed: [u8; 32] = from_hex(&st.rng_seed)?
            .try_into()
            .map_err(|_| bad("rng seed", "not 32 bytes".into()))?;
        let pos: u128 = st
            .rng_word_pos
            .parse()
            .map_err(|e| bad("rng position", format!("{e}")))?;
        agent.rng = ChaCha8Rng::from_seed(seed);
        agent.rng.set_stream(st.rng_stream);
        agent.rng.set_word_pos(pos);
        agent.target = target;
        agent.replay = st.replay.clone();
        agent.env_steps = st.env_steps;
        agent.grad_steps = st.grad_steps;
        agent.last_loss = f32::from_bits(st.last_loss_bits);
        Ok(agent)
    }
}

/// The target network's outputs for the next states of replay slots, computed once per
/// target network: between two syncs (100 gradient steps by default) the target network
/// does not change, so a transition drawn again needs no second forward pass. Only the
/// slots missing for the current target go through the network, as one smaller batch:
/// each row's outputs are the same sums in the same order whatever rows run beside it
/// (`ai::nn` module doc), so every value is the one a full-batch forward gives, bit for
/// bit. A slot is forgotten when [`Replay::push`] overwrites it, everything when the
/// target syncs. Scratch, not state: a restored agent starts with an empty cache.
#[derive(Debug, Clone)]
struct TargetCache {
    /// `[slot × actions]` outputs.
    q: Vec<f32>,
    /// The target generation each slot's row belongs to (0: none).
    stamp: Vec<u64>,
    /// The current target generation (from 1).
    generation: u64,
    /// Off in tests that compare with the uncached forward.
    enabled: bool,
    /// This step's missing slots and their next states.
    miss: Vec<usize>,
    miss_states: Vec<f32>,
}

impl Default for TargetCache {
    fn default() -> Self {
        TargetCache {
            q: Vec::new(),
            stamp: Vec::new(),
            generation: 1,
            enabled: true,
            miss: Vec::new(),
            miss_states: Vec::new(),
        }
    }
}

impl TargetCache {
    /// Slot `slot` holds a new transition.
    fn forget(&mut self, slot: usize) {
        if let Some(s) = self.stamp.get_mut(slot) {
            *s = 0;
        }
    }

    /// The target network changed.
    fn invalidate(&mut self) {
        self.generation += 1;
    }

    /// Make [`TargetCache::row`] hold the target outputs of every slot of `slots`.
    fn fill(
        &mut self,
        target: &Mlp,
        replay: &Replay,
        slots: &[usize],
        a_n: usize,
        ws: &mut Workspace,
    ) {
        let top = slots.iter().max().map_or(0, |m| m + 1);
        if self.stamp.len() < top {
            self.stamp.resize(top, 0);
            self.q.resize(top * a_n, 0.0);
        }
        if !self.enabled {
            // every slot afresh (a slot drawn twice gets the same row twice)
            self.generation += 1;
        }
        self.miss.clear();
        self.miss_states.clear();
        for &slot in slots {
            if self.stamp[slot] != self.generation
                && let Some(next) = replay.next_state_at(slot)
            {
                self.stamp[slot] = self.generation;
                self.miss.push(slot);
                self.miss_states.extend_from_slice(next);
            }
        }
        let m = self.miss.len();
        if m == 0 {
            return;
        }
        let out = target.forward(&self.miss_states, m, ws);
        for (&slot, row) in self.miss.iter().zip(out.chunks_exact(a_n)) {
            self.q[slot * a_n..(slot + 1) * a_n].copy_from_slice(row);
        }
    }

    /// The target outputs of `slot` (after [`TargetCache::fill`] of a batch holding it).
    fn row(&self, slot: usize, a_n: usize) -> &[f32] {
        &self.q[slot * a_n..(slot + 1) * a_n]
    }
}

/// A [`DqnAgent`] as data ([`DqnAgent::to_state`]): networks, optimiser and RNG seed as hex
/// of their little-endian bytes, the RNG's word position as decimal text (a `u128`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    /// Hyper-parameters.
    pub cfg: DqnConfig,
    /// Layer sizes, input first.
    pub sizes: Vec<usize>,
    /// Online network weights.
    pub online: String,
    /// Target network weights.
    pub target: String,
    /// Adam's step count and moments.
    pub adam: String,
    /// The replay buffer.
    pub replay: Replay,
    /// The RNG's seed.
    pub rng_seed: String,
    /// The RNG's stream.
    pub rng_stream: u64,
    /// The RNG's position in its stream (words).
    pub rng_word_pos: String,
    /// Environment steps (ε's clock).
    pub env_steps: u64,
    /// Gradient steps.
    pub grad_steps: u64,
    /// The last loss's bits (NaN before the first step).
    pub last_loss_bits: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> DqnConfig {
        DqnConfig {
            hidden: [16, 8, 8],
            batch: 8,
            learning_starts: 8,
            target_sync: 5,
            eps_decay_steps: 100,
            ..DqnConfig::default()
        }
    }

    #[test]
    fn an_agent_saved_to_json_and_restored_continues_bit_for_bit() {
        let mut a = DqnAgent::new(cfg(), 2, 3, 4).unwrap();
        let feed = |a: &mut DqnAgent, i: usize| {
            let s = [i as f32 / 7.0, 0.3];
            a.observe(&Transition {
                state: &s,
                action: i % 3,
                reward: (i % 4) as f32 * 0.1,
                next_state: &s,
                done: i.is_multiple_of(5),
            });
            a.act(&s);
            a.train_step().unwrap();
        };
        for i in 0..15 {
            feed(&mut a, i);
        }
        let text = serde_json::to_string(&a.to_state()).unwrap();
        let mut b = DqnAgent::from_state(&serde_json::from_str(&text).unwrap()).unwrap();
        for i in 15..40 {
            feed(&mut a, i);
            feed(&mut b, i);
        }
        assert_eq!(a.online(), b.online());
        assert_eq!(a.target(), b.target());
        assert_eq!(a.adam(), b.adam());
        assert_eq!(a.replay(), b.replay());
        assert_eq!(a.to_state(), b.to_state());
        assert!(a.grad_steps() > 20);
    }

    #[test]
    fn epsilon_falls_linearly_then_stays() {
        assert_eq!(epsilon_at(0, 1.0, 0.01, 100), 1.0);
        assert!((epsilon_at(50, 1.0, 0.01, 100) - 0.505).abs() < 1e-12);
        assert_eq!(epsilon_at(100, 1.0, 0.01, 100), 0.01);
        assert_eq!(epsilon_at(10_000, 1.0, 0.01, 100), 0.01);
        let mut a = DqnAgent::new(cfg(), 2, 3, 1).unwrap();
        for _ in 0..50 {
            a.act(&[0.0, 0.0]);
        }
        assert!((a.epsilon() - 0.505).abs() < 1e-12);
    }

    #[test]
    fn target_syncs_every_n_gradient_steps_only() {
        let mut a = DqnAgent::new(cfg(), 2, 3, 2).unwrap();
        for i in 0..20 {
            let s = [i as f32 / 10.0, 1.0];
            a.observe(&Transition {
                state: &s,
                action: i % 3,
                reward: (i % 3) as f32,
                next_state: &s,
                done: i % 7 == 0,
            });
        }
        let start = a.target().clone();
        for step in 1..=12u64 {
            assert!(a.train_step().unwrap().is_some());
            assert_ne!(
                a.online().params(),
                start.params(),
                "online learns at step {step}"
            );
            if step % 5 == 0 {
                assert_eq!(a.target().params(), a.online().params(), "synced at {step}");
            } else if step < 5 {
                assert_eq!(a.target(), &start, "no sync before step 5");
            } else {
                assert_ne!(a.target().params(), a.online().params(), "step {step}");
            }
        }
    }

    #[test]
    fn learns_a_one_step_bandit_and_double_dqn_too() {
        for double in [false, true] {
            let mut a = DqnAgent::new(
                DqnConfig {
                    double,
                    lr: 5e-3,
                    ..cfg()
                },
                2,
                3,
                3,
            )
            .unwrap();
            // in state (1, 0) action 2 pays 1, in (0, 1) action 0 pays 1; episodes of one step
            for i in 0..400 {
                let s: [f32; 2] = if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] };
                let act = i % 3;
                let good = if i % 2 == 0 { 2 } else { 0 };
                a.observe(&Transition {
                    state: &s,
                    action: act,
                    reward: if act == good { 1.0 } else { 0.0 },
                    next_state: &s,
                    done: true,
                });
                a.train_step().unwrap();
            }
            assert_eq!(a.greedy(&[1.0, 0.0]), 2, "double {double}");
            assert_eq!(a.greedy(&[0.0, 1.0]), 0, "double {double}");
        }
    }

    #[test]
    fn nothing_trains_before_learning_starts_and_nan_rewards_stop_with_the_step() {
        let mut a = DqnAgent::new(cfg(), 2, 3, 4).unwrap();
        let s = [0.5f32, 0.5];
        for i in 0..7 {
            a.observe(&Transition {
                state: &s,
                action: 0,
                reward: 1.0,
                next_state: &s,
                done: false,
            });
            assert_eq!(a.train_step().unwrap(), None, "{i}");
        }
        a.observe(&Transition {
            state: &s,
            action: 0,
            reward: f32::NAN,
            next_state: &s,
            done: false,
        });
        let mut err = None;
        for _ in 0..50 {
            if let Err(e) = a.train_step() {
                err = Some(e);
                break;
            }
        }
        assert!(
            matches!(err, Some(NnError::NotFinite { what: "loss", .. })),
            "{err:?}"
        );
    }

    #[test]
    fn cached_target_values_train_the_same_weights_as_a_fresh_forward() {
        // a buffer that wraps (slots overwritten), syncs every 20 steps, rows drawn twice
        for double in [false, true] {
            let run = |cache: bool| {
                let c = DqnConfig {
                    double,
                    replay_capacity: 29,
                    target_sync: 20,
                    ..cfg()
                };
                let mut a = DqnAgent::new(c, 3, 4, 9).unwrap();
                a.targets_q.enabled = cache;
                let mut computed = 0;
                for i in 0..200 {
                    let s = [(i % 7) as f32 / 3.0, (i % 11) as f32 / 5.0 - 1.0, 0.5];
                    let n = [(i % 5) as f32 / 2.0, (i % 3) as f32, -0.25];
                    let act = a.act(&s);
                    a.observe(&Transition {
                        state: &s,
                        action: act,
                        reward: (i % 9) as f32 / 4.0 - 1.0,
                        next_state: &n,
                        done: i % 13 == 0,
                    });
                    a.train_step().unwrap();
                    computed += a.targets_q.miss.len();
                }
                (a.online().to_bytes(), a.target().to_bytes(), computed)
            };
            let (on, tg, fresh) = run(false);
            let (on_c, tg_c, cached) = run(true);
            assert_eq!(on, on_c, "double {double}");
            assert_eq!(tg, tg_c, "double {double}");
            assert!(cached < fresh / 2, "{cached} rows computed vs {fresh}");
        }
    }

    #[test]
    fn same_seed_same_weights() {
        let run = |seed| {
            let mut a = DqnAgent::new(cfg(), 2, 3, seed).unwrap();
            for i in 0..60 {
                let s = [(i % 5) as f32, 1.0];
                let act = a.act(&s);
                a.observe(&Transition {
                    state: &s,
                    action: act,
                    reward: act as f32 - 1.0,
                    next_state: &s,
                    done: false,
                });
                a.train_step().unwrap();
            }
            a.online().to_bytes()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
