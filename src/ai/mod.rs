//! AI components that sit left of `strategy` (DESIGN §1): trained or evolved decision
//! makers and the machinery that produces them without the engine.
//!
//! - [`evolver`]: genetic evolution of indicator rules (genome, shared feature table, lean
//!   evaluator, GA).
//! - [`nn`]: the hand-written MLP with Adam the DQN agents train.
//! - [`dqn`]: DQN agents (replay, target network, ε schedule, rewards).

pub mod dqn;
pub mod evolver;
pub mod nn;
