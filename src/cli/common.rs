//! Argument groups shared by several subcommands (`--data`/`--symbol`, engine settings) and
//! small printing helpers. Parsing only.

use std::path::PathBuf;

use clap::Args;

use super::UsageError;
use crate::app::backtest::{BacktestRequest, DataSpec, RiskChoice};
use crate::engine::BacktestConfig;
use crate::engine::Fill;

/// Where the bars come from: `--data FILE` or `--symbol SYM`, and an optional date range.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// A bar file: our CSV, a yfinance export, a Binance kline CSV, or Parquet.
    #[arg(long, value_name = "FILE", conflicts_with = "symbol")]
    pub data: Option<PathBuf>,
    /// A symbol: the fetch cache first, then the bundled datasets (BTC/USDT, BTC-USD,
    /// GC=F, SPY, TLT, GOOG, EURUSD, …).
    #[arg(long, value_name = "SYM")]
    pub symbol: Option<String>,
    /// Bar interval of the symbol's cached file (`1m` … `1d`); default 1h for crypto
    /// pairs, 1d otherwise.
    #[arg(long, value_name = "INTERVAL", requires = "symbol")]
    pub interval: Option<String>,
    /// Trade from this date or time on (UTC); earlier bars only warm the strategy up.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Trade up to this date or time (UTC, inclusive).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
}

impl DataArgs {
    /// The data source.
    ///
    /// # Errors
    /// [`UsageError`] when neither `--data` nor `--symbol` is given.
    pub fn spec(&self) -> Result<DataSpec, UsageError> {
        match (&self.data, &self.symbol) {
            (Some(p), _) => Ok(DataSpec::File(p.clone())),
            (None, Some(s)) => Ok(match &self.interval {
                Some(iv) => DataSpec::SymbolAt(s.clone(), iv.clone()),
                None => DataSpec::Symbol(s.clone()),
            }),
            (None, None) => Err(UsageError("give --data FILE or --symbol SYM".into())),
        }
    }

    /// `--from` / `--to` as UTC ms.
    ///
    /// # Errors
    /// [`UsageError`] naming an unparseable date.
    pub fn range(&self) -> Result<(Option<i64>, Option<i64>), UsageError> {
        let parse = |flag: &str, v: &Option<String>| -> Result<Option<i64>, UsageError> {
            v.as_deref()
                .map(|s| {
                    crate::core::time::parse_time(s).ok_or_else(|| {
                        UsageError(format!("{flag} {s:?} is not a date or ISO-8601 time"))
                    })
                })
                .transpose()
        };
        let (from, to) = (parse("--from", &self.from)?, parse("--to", &self.to)?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(UsageError(format!(
                "--from {} is after --to {}",
                self.from.as_deref().unwrap_or_default(),
                self.to.as_deref().unwrap_or_default()
            )));
        }
        Ok((from, to))
    }
}

/// When market orders fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FillArg {
    /// At the open of the next bar (no look-ahead; default).
    NextOpen,
    /// At the close of the decision bar.
    Close,
}

/// What `paper` and `live` share (flattened into both): the bars, the strategy and its
/// sizing as for `backtest`, the bot's name, and the `--loop` schedule.
#[derive(Debug, Args)]
pub struct BotArgs {
    /// Bars to trade (`--from`: the first tick acts from this time instead of only from the
    /// latest closed bar).
    #[command(flatten)]
    pub data: DataArgs,
    /// Strategy: sma-cross, technical, evolved (with --param id=N or --strategy-file), ai.
    #[arg(long, default_value = "sma-cross")]
    pub strategy: String,
    /// A strategy parameter, `key=value` (repeatable).
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// A genome file to run as the `evolved` strategy.
    #[arg(long, value_name = "FILE.json")]
    pub strategy_file: Option<PathBuf>,
    /// Sizing and risk.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// The `ai` strategy's options.
    #[command(flatten)]
    pub ai: BotAiArgs,
    /// The bot's name (its folder is DATA_DIR/bots/NAME); default from symbol and strategy.
    #[arg(long, value_name = "NAME")]
    pub bot: Option<String>,
    /// Keep ticking: wake a few seconds after every bar close (answers Telegram's /status,
    /// /balance, /profit and /stop between ticks).
    #[arg(long = "loop")]
    pub run_loop: bool,
    /// With --loop: seconds to wait after a bar close before ticking.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub settle: u64,
    /// With --loop: stop after N ticks (for tests and trials).
    #[arg(long, value_name = "N", hide = true)]
    pub max_ticks: Option<u64>,
}

impl BotArgs {
    /// The backtest a bot runs on its bars (the data, strategy and engine arguments of
    /// `backtest`); not recorded as a backtest run, no report.
    ///
    /// # Errors
    /// Usage errors in the data, parameter, engine or `ai` arguments.
    pub fn backtest(&self) -> anyhow::Result<BacktestRequest> {
        let name = if self.strategy_file.is_some() {
            "evolved"
        } else {
            &self.strategy
        };
        Ok(BacktestRequest {
            data: self.data.spec()?,
            strategy: self.strategy.clone(),
            params: params_kv(&self.params)?,
            strategy_file: self.strategy_file.clone(),
            regime_params: None,
            regime_objective: "sharpe".into(),
            cfg: self.engine.config(name, &self.data)?,
            report: None,
            record: false,
            ai: self.ai.options()?,
            strategies: Vec::new(),
        })
    }
}

/// Options of `--strategy ai` in paper and live bots: they learn after every trade by
/// default and ask the LLM for real.
#[derive(Debug, Args)]
pub struct BotAiArgs {
    /// `--strategy ai`: component weights, `technical=0.3,dqn=0.25,evolved=0.2,online=0.15,llm=0.1`.
    #[arg(long, value_name = "K=V,…")]
    pub weights: Option<String>,
    /// `--strategy ai`: the LLM asked for real (live, the default for bots), answers recorded
    /// in the learning DB (replay) or no LLM (off).
    #[arg(long, value_enum, default_value = "live")]
    pub llm: crate::app::ai::LlmMode,
    /// `--strategy ai`: do not learn after each closed trade (bots learn by default: the DQN
    /// trains and its new version is stored, the online learner keeps its health and drift
    /// state in the bot's ai_orchestrator_state.json). Recorded with the bot; a bot keeps the
    /// setting of its first tick.
    #[arg(long)]
    pub no_learn: bool,
}

impl BotAiArgs {
    /// The options a bot's `ai` strategy is built with.
    ///
    /// # Errors
    /// A bad LLM setting in the environment (exit 2).
    pub fn options(&self) -> anyhow::Result<crate::app::ai::AiOptions> {
        Ok(crate::app::ai::AiOptions {
            weights: self.weights.clone(),
            weights_file: None,
            llm: self.llm,
            llm_config: crate::ai::llm::LlmConfig::from_vars(|k| std::env::var(k).ok())?,
            learn: !self.no_learn,
        })
    }
}

/// Simulated-exchange settings.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Starting cash.
    #[arg(long, default_value_t = 10_000.0, allow_negative_numbers = true)]
    pub cash: f64,
    /// Commission, a fraction of traded notional, charged on entry and on exit.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub commission: f64,
    /// Slippage, a fraction of price, against the trader.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub slippage: f64,
    /// When market orders fill.
    #[arg(long, value_enum, default_value_t = FillArg::NextOpen)]
    pub fill: FillArg,
    /// Allow fractional quantities (crypto); whole units otherwise. On by default for
    /// BASE/QUOTE pairs.
    #[arg(long)]
    pub fractional: bool,
    /// Leverage 1–125 (isolated margin, liquidation as Binance USD-M).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub leverage: f64,
    /// Close a position still open at the end at the last close (it is left open and
    /// valued at the last close otherwise, as backtesting.py does).
    #[arg(long)]
    pub close_at_end: bool,
    /// Risk rules: auto (standard for `technical`, passthrough otherwise), passthrough, standard.
    #[arg(long, value_enum, default_value_t = RiskChoice::Auto)]
    pub risk: RiskChoice,
}

/// Minimum order notional for crypto pairs, quote currency (Binance spot USDT pairs).
pub const CRYPTO_MIN_NOTIONAL: f64 = 5.0;

impl EngineArgs {
    /// The engine configuration for `strategy` on `data`.
    ///
    /// # Errors
    /// [`UsageError`] for a bad date range.
    pub fn config(&self, strategy: &str, data: &DataArgs) -> Result<BacktestConfig, UsageError> {
        let (from_ts_ms, to_ts_ms) = data.range()?;
        let pair = data
            .symbol
            .as_deref()
            .is_some_and(|s| s.contains('/') || crate::data::is_binance_symbol(s));
        Ok(BacktestConfig {
            cash: self.cash,
            commission: self.commission,
            slippage: self.slippage,
            fill: match self.fill {
                FillArg::NextOpen => Fill::NextOpen,
                FillArg::Close => Fill::Close,
            },
            fractional: self.fractional || pair,
            leverage: self.leverage,
            close_at_end: self.close_at_end,
            risk: self.risk.config(strategy).with_commission(self.commission),
            from_ts_ms,
            to_ts_ms,
            // crypto pairs: Binance spot's minimum order notional for USDT pairs (its
            // NOTIONAL filter, 5 quote units), so a liquidated run stops instead of
            // trading dust (issue 10 item 3)
            min_notional: if pair { CRYPTO_MIN_NOTIONAL } else { 0.0 },
            ..BacktestConfig::default()
        })
    }
}

/// Parse `--param k=v` texts.
///
/// # Errors
/// A [`crate::indicators::ParamError`] for text without `=`.
pub fn params_kv(
    params: &[String],
) -> Result<Vec<(String, String)>, crate::indicators::ParamError> {
    params
        .iter()
        .map(|p| crate::strategy::parse_kv(p))
        .collect()
}

/// Now, ISO-8601 UTC, for run records.
#[allow(
    clippy::disallowed_methods,
    reason = "run records carry the wall-clock start and end; engine time stays bar time"
)]
pub fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Print a human-readable result (DESIGN §2): on stdout, even with `--quiet`; with
/// `--json` the JSON on stdout is the result, so the human text goes to stderr unless
/// `--quiet`. `text` carries its own line ends.
pub fn result(g: super::Global, text: &str) {
    if g.json {
        if !g.quiet {
            eprint!("{text}");
        }
    } else {
        stdout(text);
    }
}

/// Write `text` to stdout; a closed pipe (`| head`) is not an error.
pub fn stdout(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Print a line on stderr unless `--quiet`.
/// The wall clock in epoch milliseconds: the CLI's notion of "now" for a tick's closed bars,
/// the loops' schedules and readiness checks (library code takes time from bars or the venue).
#[allow(
    clippy::disallowed_methods,
    reason = "the CLI edge is where wall-clock time enters"
)]
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn note(quiet: bool, line: &str) {
    if !quiet {
        eprintln!("{line}");
    }
}

/// Format a number for tables: `-` for non-finite, else `digits` decimals.
pub fn num(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "-".to_string()
    }
}

/// The deflated-Sharpe line of a training summary: DSR and PSR with what they count, or why
/// there is none (`None` when neither is known).
pub fn dsr_line(
    counted: &str,
    dsr: Option<&crate::optimize::DsrResult>,
    why_not: Option<&str>,
) -> Option<String> {
    match (dsr, why_not) {
        (Some(d), _) => Some(format!(
            "Deflated Sharpe ({counted}): DSR {} PSR {}\n",
            num(d.dsr, 3),
            num(d.psr, 3)
        )),
        (None, Some(why)) => Some(format!("Deflated Sharpe: n/a ({why})\n")),
        (None, None) => None,
    }
}

/// One row of a test-window comparison: name, return %, Sharpe, max drawdown %, trades.
pub type WindowRow<'a> = (&'a str, f64, f64, f64, String);

/// The "Test window (scored once)" table of a training summary, the name column `width` wide.
pub fn test_window_table(width: usize, rows: &[WindowRow<'_>]) -> String {
    let mut s = String::from("\nTest window (scored once):\n");
    s.push_str(&format!(
        "{:<width$}{:>12}{:>10}{:>16}{:>8}\n",
        "strategy", "return [%]", "Sharpe", "max DD [%]", "trades"
    ));
    for (name, ret, sharpe, dd, trades) in rows {
        s.push_str(&format!(
            "{name:<width$}{:>12}{:>10}{:>16}{trades:>8}\n",
            num(*ret, 2),
            num(*sharpe, 3),
            num(*dd, 2),
        ));
    }
    s
}
