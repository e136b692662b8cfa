//! Use cases: the library functions behind each subcommand (load data, run, record in the
//! learning DB, write reports). Sits right of `report` and `store` and left of `cli`, so the
//! CLI stays parsing and printing only (STYLE rule 2), and embedders get the same behaviour
//! as the binary.

pub mod backtest;
pub mod evolve;
pub mod optimize;
pub mod train_rl;
