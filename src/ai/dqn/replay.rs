//! Experience replay: a ring buffer of transitions `(state, action, reward, next state,
//! done)` in flat `f32` arrays, sampled uniformly with replacement (as SB3's `ReplayBuffer`)
//! from a seeded RNG. When full, the oldest transition is overwritten.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// One transition, borrowed from the buffer or given to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition<'a> {
    /// State the action was taken in.
    pub state: &'a [f32],
    /// Action index.
    pub action: usize,
    /// Reward received.
    pub reward: f32,
    /// State after the action.
    pub next_state: &'a [f32],
    /// True when the episode ended with this transition (no bootstrapping).
    pub done: bool,
}

/// A sampled minibatch, in flat arrays (reused between samples).
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// States, `[b × dim]`.
    pub states: Vec<f32>,
    /// Next states, `[b × dim]`.
    pub next_states: Vec<f32>,
    /// Actions.
    pub actions: Vec<usize>,
    /// Rewards.
    pub rewards: Vec<f32>,
    /// 1.0 where done.
    pub done: Vec<f32>,
    /// The buffer slot each transition was drawn from (a slot keeps its transition until
    /// [`Replay::push`] overwrites it and returns that slot).
    pub slots: Vec<usize>,
}

/// The replay buffer. It serialises with its floats bit for bit (a saved `ai` strategy
/// that learns carries its buffer; `strategy::ai`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Replay {
    dim: usize,
    cap: usize,
    len: usize,
    head: usize,
    #[serde(with = "crate::persist::f32_hex")]
    states: Vec<f32>,
    #[serde(with = "crate::persist::f32_hex")]
    next_states: Vec<f32>,
    actions: Vec<u8>,
    #[serde(with = "crate::persist::f32_hex")]
    rewards: Vec<f32>,
    done: Vec<bool>,
}

impl Replay {
    /// An empty buffer of `capacity` transitions of states of width `dim` (memory is
    /// allocated as it fills).
    pub fn new(dim: usize, capacity: usize) -> Self {
        Replay {
            dim,
            cap: capacity.max(1),
            len: 0,
            head: 0,
            states: Vec::new(),
            next_states: Vec::new(),
            actions: Vec::new(),
            rewards: Vec::new(),
            done: Vec::new(),
        }
    }

    /// Transitions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Capacity.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// State width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Store a transition (overwriting the oldest when full) and return the slot it went
    /// to. Actions above 255 and states of another width are programming errors and are
    /// ignored (`None`).
    pub fn push(&mut self, t: &Transition<'_>) -> Option<usize> {
        if t.state.len() != self.dim || t.next_state.len() != self.dim || t.action > 255 {
            return None;
        }
        let slot = self.head;
        let d = self.dim;
        if self.len < self.cap && self.head == self.len {
            self.states.extend_from_slice(t.state);
            self.next_states.extend_from_slice(t.next_state);
            self.actions.push(t.action as u8);
            self.rewards.push(t.reward);
            self.done.push(t.done);
            self.len += 1;
        } else {
            let i = self.head;
            self.states[i * d..(i + 1) * d].copy_from_slice(t.state);
            self.next_states[i * d..(i + 1) * d].copy_from_slice(t.next_state);
            self.actions[i] = t.action as u8;
            self.rewards[i] = t.reward;
            self.done[i] = t.done;
        }
        self.head = (self.head + 1) % self.cap;
        Some(slot)
    }

    /// Transition `i` counted from the oldest.
    pub fn get(&self, i: usize) -> Option<Transition<'_>> {
        if i >= self.len {
            return None;
        }
        let start = if self.len == self.cap { self.head } else { 0 };
        let j = (start + i) % self.cap;
        let d = self.dim;
        Some(Transition {
            state: &self.states[j * d..(j + 1) * d],
            action: usize::from(self.actions[j]),
            reward: self.rewards[j],
            next_state: &self.next_states[j * d..(j + 1) * d],
            done: self.done[j],
        })
    }

    /// Sample `b` transitions uniformly with replacement into `out`; `false` when empty.
    pub fn sample(&self, rng: &mut ChaCha8Rng, b: usize, out: &mut Batch) -> bool {
        self.sample_into(rng, b, out, true)
    }

    /// [`Replay::sample`] (the same draws) without copying the next states: `out.next_states`
    /// is left empty, [`Replay::next_state_at`] reads the ones needed.
    pub fn sample_without_next(&self, rng: &mut ChaCha8Rng, b: usize, out: &mut Batch) -> bool {
        self.sample_into(rng, b, out, false)
    }

    /// The next state held in buffer slot `slot` (a [`Batch::slots`] entry).
    pub fn next_state_at(&self, slot: usize) -> Option<&[f32]> {
        let d = self.dim;
        self.next_states.get(slot * d..(slot + 1) * d)
    }

    fn sample_into(&self, rng: &mut ChaCha8Rng, b: usize, out: &mut Batch, next: bool) -> bool {
        if self.len == 0 {
            return false;
        }
        let d = self.dim;
        out.states.resize(b * d, 0.0);
        out.next_states.resize(if next { b * d } else { 0 }, 0.0);
        out.actions.resize(b, 0);
        out.rewards.resize(b, 0.0);
        out.done.resize(b, 0.0);
        out.slots.resize(b, 0);
        for k in 0..b {
            let i = rng.random_range(0..self.len);
            out.states[k * d..(k + 1) * d].copy_from_slice(&self.states[i * d..(i + 1) * d]);
            if next {
                out.next_states[k * d..(k + 1) * d]
                    .copy_from_slice(&self.next_states[i * d..(i + 1) * d]);
            }
            out.actions[k] = usize::from(self.actions[i]);
            out.rewards[k] = self.rewards[i];
            out.done[k] = if self.done[i] { 1.0 } else { 0.0 };
            out.slots[k] = i;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn push(r: &mut Replay, v: f32) {
        r.push(&Transition {
            state: &[v, v],
            action: v as usize % 3,
            reward: v,
            next_state: &[v + 1.0, v + 1.0],
            done: (v as usize).is_multiple_of(5),
        });
    }

    #[test]
    fn keeps_the_newest_capacity_transitions_oldest_first() {
        let mut r = Replay::new(2, 4);
        for v in 0..6 {
            push(&mut r, v as f32);
        }
        assert_eq!(r.len(), 4);
        let rewards: Vec<f32> = (0..4).map(|i| r.get(i).unwrap().reward).collect();
        assert_eq!(rewards, vec![2.0, 3.0, 4.0, 5.0]);
        let t = r.get(3).unwrap();
        assert_eq!(
            (t.state, t.next_state, t.action, t.done),
            (&[5.0f32, 5.0][..], &[6.0f32, 6.0][..], 2, true)
        );
        assert!(r.get(4).is_none());
        // a wrong width is ignored
        r.push(&Transition {
            state: &[1.0],
            action: 0,
            reward: 9.0,
            next_state: &[1.0],
            done: false,
        });
        assert_eq!(r.get(3).unwrap().reward, 5.0);
    }

    #[test]
    fn samples_are_seeded_and_come_from_the_buffer() {
        let mut r = Replay::new(2, 100);
        for v in 0..50 {
            push(&mut r, v as f32);
        }
        let mut a = Batch::default();
        let mut b = Batch::default();
        assert!(r.sample(&mut ChaCha8Rng::seed_from_u64(1), 64, &mut a));
        assert!(r.sample(&mut ChaCha8Rng::seed_from_u64(1), 64, &mut b));
        assert_eq!(a.rewards, b.rewards);
        for k in 0..64 {
            let v = a.rewards[k];
            assert_eq!(a.states[2 * k], v);
            assert_eq!(a.next_states[2 * k], v + 1.0);
            assert_eq!(a.actions[k], v as usize % 3);
            assert_eq!(
                a.done[k],
                if (v as usize).is_multiple_of(5) {
                    1.0
                } else {
                    0.0
                }
            );
        }
        let distinct: std::collections::BTreeSet<u32> =
            a.rewards.iter().map(|v| v.to_bits()).collect();
        assert!(distinct.len() > 20);
        assert!(!Replay::new(2, 3).sample(&mut ChaCha8Rng::seed_from_u64(1), 4, &mut a));
    }
}
