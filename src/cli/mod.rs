//! The command line: one file per subcommand, parsing and printing only (STYLE rule 2).
//!
//! Conventions (docs/DESIGN.md §2): results go to stdout (human text, or JSON with
//! `--json`, the human text then on stderr); notes and progress bars go to stderr;
//! `--quiet` silences notes and progress, not the result; exit code 0 on success, 2 on bad
//! usage or bad input, 1 otherwise. Each subcommand but `fetch` builds its request, calls
//! `app::<command>::run(&Ctx, …)` and prints the reply.

use clap::{Parser, Subcommand};

pub mod ai;
pub mod backtest;
pub mod common;
pub mod data;
pub mod evolve;
pub mod fetch;
pub mod fleet;
pub mod indicators;
pub mod optimize;
pub mod optimize_shard;
pub mod paper;
pub mod report;
pub mod serve;
pub mod strategies;
pub mod train_rl;

/// Global options shared by every subcommand.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Global {
    /// No notes or progress bars on stderr (the result and errors still print).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Print the result as machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

/// algolab: algorithmic-trading research: data, indicators, backtests, optimisation and
/// evolved rules, with reports and a learning DB.
#[derive(Debug, Parser)]
#[command(name = "algolab", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Options for every subcommand.
    #[command(flatten)]
    pub global: Global,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  algolab backtest --symbol BTC/USDT --report reports/btc
  algolab backtest --symbol GOOG --strategy sma-cross --param fast=10 --param slow=20 --json
  algolab report --list
  algolab evolve --symbol BTC/USDT --generations 50 --seed 42
  algolab train-rl --symbol BTC/USDT --seed 7
  algolab train-leverage --symbol BTC/USDT --seed 7
  algolab fetch --symbol BTC/USDT --interval 1h --start 2024-01-01
  algolab indicators --symbol BTC/USDT --out btc_indicators.csv
  algolab data check datasets/GOOG.csv
  algolab data convert datasets/BTCUSDT_1h.csv btc_4h.parquet --resample 4h
  algolab paper --symbol BTC/USDT --bot b1
  algolab strategies
  algolab serve --port 8080";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Backtest a strategy: stats table, run recorded in the learning DB, HTML/PNG report.
    Backtest(backtest::BacktestArgs),
    /// Evolve trading rules with a genetic algorithm; compare on a held-out test window.
    Evolve(evolve::EvolveArgs),
    /// Write TA-Lib-exact indicator columns for every bar as CSV.
    Indicators(indicators::IndicatorsArgs),
    /// Optimise a strategy's parameters: grid, TPE or random search, DSR, PBO, walk-forward.
    Optimize(Box<optimize::OptimizeArgs>),
    /// Rebuild a recorded run's report from the learning DB, or list runs.
    Report(report::ReportArgs),
    /// Bar files: check, convert (CSV ⇄ Parquet, resample), synthesise.
    Data(data::DataArgs),
    /// Download bars from Binance or Yahoo into the cache, appending only new bars.
    Fetch(fetch::FetchArgs),
    /// List the strategies with their parameters, defaults and ranges.
    Strategies(strategies::StrategiesArgs),
    /// Why an `ai` run's trades happened, and what each would have been without each component.
    Explain(ai::ExplainArgs),
    /// The AI orchestrator: `algolab ai status`.
    Ai(ai::AiArgs),
    /// Paper-trade a strategy on new closed bars: one cron-safe tick per call, or --loop.
    Paper(Box<paper::PaperArgs>),
    /// Train the DQN agent (18 features; HOLD, BUY, SELL) on the engine; judge it on a
    /// held-out test window against buy & hold and `technical`.
    TrainRl(train_rl::TrainArgs),
    /// Train the leverage DQN agent (35 features; 11 actions, 1×–10× long/short) on the
    /// futures simulator; judge it on a held-out test window.
    TrainLeverage(train_rl::TrainArgs),
    /// Run many paper bots from bots.toml: one process each, restarted when they crash.
    Run(fleet::RunArgs),
    /// Every bot's value, P&L, position and health (DATA_DIR/bots, portfolio.json).
    Status(fleet::StatusArgs),
    /// The REST API and web dashboard for the bots and the AI engine (127.0.0.1:8080).
    Serve(serve::ServeArgs),
    /// Is the deployment ready to trade? DB, data freshness, exchange, Ollama, Telegram, bots.
    Ready(serve::ReadyCmdArgs),
}

/// Run a parsed command line.
///
/// # Errors
/// Whatever the subcommand fails with; [`exit_code`] maps it to the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let g = cli.global;
    let mut ctx = crate::app::Ctx::from_env(common::now_iso)?;
    ctx.argv = std::env::args().skip(1).collect();
    match cli.command {
        Command::Backtest(args) => backtest::run(args, g, &ctx),
        Command::Data(args) => data::run(args, g, &ctx),
        Command::Evolve(args) => evolve::run(args, g, &ctx),
        Command::Indicators(args) => indicators::run(args, g, &ctx),
        Command::Optimize(args) => optimize::run(*args, g, &ctx),
        Command::Report(args) => report::run(args, g, &ctx),
        Command::Strategies(args) => strategies::run(args, g, &ctx),
        Command::Explain(args) => ai::explain(args, g, &ctx),
        Command::Ai(args) => ai::run(args, g, &ctx),
        Command::Fetch(args) => fetch::run(args, &ctx, g),
        Command::Paper(args) => paper::run(*args, g, &ctx),
        Command::TrainRl(args) => train_rl::run(args, g, &ctx, crate::ai::dqn::AgentKind::Dqn),
        Command::TrainLeverage(args) => {
            train_rl::run(args, g, &ctx, crate::ai::dqn::AgentKind::LeverageDqn)
        }
        Command::Run(args) => fleet::run(args, g, &ctx),
        Command::Status(args) => fleet::status(args, g, &ctx),
        Command::Serve(args) => serve::run(args, g, &ctx),
        Command::Ready(args) => serve::ready(args, g, &ctx),
    }
}

/// The exit code for an error: 2 when any cause in the chain is bad usage or bad input.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<crate::Error>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<crate::venues::VenueError>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<crate::data::DataError>() {
            return e.exit_code();
        }
        if cause
            .downcast_ref::<crate::indicators::ParamError>()
            .is_some()
        {
            return 2;
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return 2;
        }
    }
    1
}

/// The error chain on one line (`context: cause: root cause`).
pub fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}

/// Bad usage detected after parsing (conflicting or missing options): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
