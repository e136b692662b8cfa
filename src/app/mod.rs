//! Use cases: the library functions behind each subcommand (load data, run, record in the
//! learning DB, write reports). Sits right of `report` and `store` and left of `cli`, so the
//! CLI stays parsing and printing only (STYLE rule 2), and embedders get the same behaviour
//! as the binary.
//!
//! Each command is `app::<command>::run(&Ctx, Request) -> Result<Reply, Error>` (with a
//! progress callback where the work is long); [`Ctx`] holds what is read once per process
//! (data dir, DB path, HTTP settings, the wall clock).

pub mod ai;
pub mod ai_bot;
pub mod ai_views;
pub mod backtest;
pub mod bots;
pub mod ctx;
pub mod data;
pub mod defaults;
pub mod evolve;
pub mod fetch;
pub mod indicators;
pub mod live;
pub mod load;
pub mod optimize;
pub mod paper;
pub mod portfolio;
pub mod ready;
pub mod reconcile;
pub mod report;
pub mod status;
pub mod strategies;
pub mod train_rl;

pub use ctx::Ctx;
