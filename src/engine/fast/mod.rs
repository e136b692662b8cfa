//! The engine's fast paths: the same bar loop as [`super::Engine`], specialised to one
//! strategy and the settings searches use, for sweeps and genetic search. Both book their
//! fills through the one kernel, `broker::book`, and stay equal to `run_backtest` bit for
//! bit (their tests compare equity and trades bar by bar).
//! - [`sweep`]: `sma-cross` parameter sweeps (`optimize`), shared SMA columns, no
//!   per-bar allocation.
//! - [`single`]: one `sma-cross` run with full detail, SMA columns in one pass and the
//!   stretches between events booked in tight loops.
//! - [`genome`]: an evolved genome over a feature table (`evolve`).

pub mod genome;
pub mod single;
pub mod sweep;
