//! AI components that sit left of `strategy` (DESIGN §1): trained or evolved decision
//! makers and the machinery that produces them without the engine.
//!
//! - [`advisor`]: the one [`advisor::Advisor`] interface, [`advisor::Opinion`] and its
//!   typed reasons;
//! - [`orchestrator`]: the weighted vote into one [`orchestrator::Decision`];
//! - [`online`]: health per strategy and regime, drift detectors, blocking and recovery;
//! - [`allocator`]: the meta-allocator (sub-book weights, daily risk budget, rebalancing);
//! - [`leverage`]: Kelly, volatility / trend / confidence leverage, liquidation guard;
//! - [`llm`]: the Ollama advisor (live calls or recorded answers);
//! - [`evolver`]: genetic evolution of indicator rules (genome, shared feature table, lean
//!   evaluator, GA).
//! - [`nn`]: the hand-written MLP with Adam the DQN agents train.
//! - [`dqn`]: DQN agents (replay, target network, ε schedule, rewards).

pub mod advisor;
pub mod allocator;
pub mod dqn;
pub mod evolver;
pub mod leverage;
pub mod llm;
pub mod nn;
pub mod online;
pub mod orchestrator;
