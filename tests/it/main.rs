//! All integration tests in one binary (STYLE rule 1): CLI end to end, golden files,
//! loopback servers. Each area is a module.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests may panic on setup failures"
)]

mod ai_cli;
mod ai_drift_golden;
mod ai_llm;
mod backtest_cli;
mod data_cli;
mod default_models;
mod engine_golden;
mod engine_min_order;
mod engine_props;
mod engine_quiet;
mod engine_scenario;
mod engine_split;
mod engine_stats;
mod evolve_cli;
mod fake_binance;
mod fetch_binance;
mod fetch_cache_resolve;
mod fetch_resilience;
mod fetch_support;
mod fetch_yahoo;
mod fleet_cli;
mod golden_indicators;
mod issue_10_numbers;
mod live_cli;
mod metrics_golden;
mod notify_telegram;
mod optimize_cli;
mod optimize_golden;
mod optimize_grid;
mod optimize_overfit;
mod optimize_tpe;
mod paper_cli;
mod reconcile_cli;
mod report_chromium;
mod report_files;
mod serve_api;
mod serve_dashboard;
mod store_corrupt;
mod store_db;
mod store_writers;
mod technical_pin;
mod train_rl_cli;
mod util;
mod venue_binance;
mod venue_broker;
mod weight_budget;
