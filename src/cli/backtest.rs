//! `algolab backtest`: run one strategy over bars, print the stats, record the run, write a
//! report. Parsing and printing only; the work is in [`crate::app::backtest`].

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::Global;
use super::common::{DataArgs, EngineArgs, db_path, note, now_iso, num, params_kv, run_record};
use crate::app::backtest as app;
use crate::metrics::Stats;
use crate::store::Store;

/// Backtest a strategy on bundled, fetched or local data.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct BacktestArgs {
    /// Bars to trade.
    #[command(flatten)]
    pub data: DataArgs,
    /// Strategy: sma-cross, technical, evolved (with --param id=N or --strategy-file), dqn or
    /// leverage-dqn (with --param id=N, a model from train-rl / train-leverage).
    #[arg(long, default_value = "sma-cross")]
    pub strategy: String,
    /// A strategy parameter, `key=value` (repeatable); unknown keys and out-of-range
    /// values are refused with the allowed ones.
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// A genome file (`best_genome.json` from `algolab evolve --report`) to run as the
    /// `evolved` strategy (`--strategy evolved --param id=N` runs a stored one).
    #[arg(long, value_name = "FILE.json")]
    pub strategy_file: Option<PathBuf>,
    /// Exchange simulation.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// With `--strategy technical`: switch to the best parameters stored per market regime
    /// for this symbol by `algolab optimize --per-regime` (objective `--regime-objective`).
    #[arg(long, value_name = "SYMBOL")]
    pub regime_params: Option<String>,
    /// The objective the per-regime parameters were optimised for.
    #[arg(long, default_value = "sharpe", requires = "regime_params")]
    pub regime_objective: String,
    /// Write report.html, equity.png, drawdown.png, trades.csv and equity.csv here.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Do not record the run in the learning DB.
    #[arg(long)]
    pub no_record: bool,
}

const EXAMPLES: &str = "Examples:
  algolab backtest --symbol BTC/USDT --report reports/btc
  algolab backtest --symbol GOOG --strategy sma-cross --param fast=10 --param slow=20 \\
      --commission 0.002 --json
  algolab backtest --symbol BTC/USDT --strategy technical --leverage 3 --from 2021-01-01
  algolab backtest --data prices.parquet --strategy sma-cross --fill close
  algolab backtest --symbol BTC/USDT --strategy evolved --param id=1
  algolab backtest --symbol BTC/USDT --strategy dqn --param id=1 --from 2021-04-10T05:00:00Z
  algolab backtest --symbol GOOG --strategy-file reports/goog-evolve/best_genome.json

A decision at the close of bar t fills at the open of bar t+1 (--fill close: at t's close).
Stops and take-profits fill at their level, or at the open when a bar gaps through; when a
bar touches both, the stop is assumed first. The run is recorded in DATA_DIR/ai_learning.db
(see `algolab report RUN_ID`).";

/// Run the command.
///
/// # Errors
/// Bad usage, bad data or parameters (exit 2), engine, DB or report failures (exit 1).
pub fn run(args: BacktestArgs, g: Global) -> anyhow::Result<()> {
    let spec = args.data.spec()?;
    let kv = params_kv(&args.params)?;
    let evolved = args.strategy == "evolved" || args.strategy_file.is_some();
    let name = if evolved {
        "evolved"
    } else {
        args.strategy.as_str()
    };
    let dqn = matches!(name, "dqn" | "leverage-dqn");
    let mut model_leverage = None;
    let (params, mut strat) = if evolved {
        evolved_strategy(&args, &kv)?
    } else if dqn {
        let (params, s) = dqn_strategy(name, &kv)?;
        model_leverage = Some(s.spec().leverage);
        (
            params,
            Box::new(s) as Box<dyn crate::strategy::Strategy + Send>,
        )
    } else {
        let params = app::resolve_params(name, &kv)?;
        let strat = match &args.regime_params {
            Some(symbol) => regime_switching(name, &params, symbol, &args.regime_objective)?,
            None => crate::strategy::build(name, &params)?,
        };
        (params, strat)
    };
    let mut cfg = args.engine.config(name, &args.data)?;
    if let Some(lev) = model_leverage {
        // the model was trained at this leverage: its margin features and sizing assume it
        if cfg.leverage == 1.0 {
            cfg.leverage = lev;
        } else if cfg.leverage != lev {
            return Err(super::UsageError(format!(
                "this model trades at leverage {lev}; drop --leverage or pass --leverage {lev}"
            ))
            .into());
        }
    }
    cfg.validate().map_err(crate::Error::from)?;
    let data = app::load_data(&spec, &crate::data::data_dir())?;
    note(g.quiet, &data.note);

    let spinner = (!g.quiet && std::io::stderr().is_terminal() && data.bars.len() >= 1_000_000)
        .then(|| {
            let s = indicatif::ProgressBar::new_spinner();
            s.set_message(format!("backtesting {} bars", data.bars.len()));
            s.enable_steady_tick(std::time::Duration::from_millis(100));
            s
        });
    let record = run_record("backtest", None);
    let out = app::run_strategy(&data.bars, &mut *strat, name, &params, &cfg)?;
    if let Some(s) = spinner {
        s.finish_and_clear();
    }

    let run_id = if args.no_record {
        None
    } else {
        let path = db_path();
        let mut store = Store::open(&path)?;
        Some(app::record(&mut store, record, &data, &out, &now_iso())?)
    };
    if let Some(dir) = &args.report {
        app::write(dir, &data, &out)
            .with_context(|| format!("writing the report to {}", dir.display()))?;
    }

    if !g.quiet {
        eprint!("{}", stats_table(&data.label, &out.strategy, &out.stats));
        if let Some(id) = run_id {
            eprintln!("run {id} recorded in {}", db_path().display());
        }
        if let Some(dir) = &args.report {
            eprintln!("report: {}", dir.join("report.html").display());
        }
    }
    if g.json {
        let mut v = serde_json::to_value(&out.stats)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("run_id".into(), serde_json::json!(run_id));
            obj.insert("symbol".into(), serde_json::json!(data.label));
            obj.insert("strategy".into(), serde_json::json!(out.strategy));
            obj.insert("params".into(), serde_json::to_value(&out.params)?);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(())
}

/// The `evolved` strategy of `--strategy-file FILE` or `--param id=N` (a stored genome).
fn evolved_strategy(
    args: &BacktestArgs,
    kv: &[(String, String)],
) -> anyhow::Result<(
    crate::strategy::Params,
    Box<dyn crate::strategy::Strategy + Send>,
)> {
    use crate::app::evolve as ev;
    let params = crate::strategy::Params::resolve(crate::strategy::param_specs("evolved")?, kv)?;
    let id = params.0.get("id").map_or(0, |v| v.as_i64());
    let strat = match (&args.strategy_file, kv.iter().any(|(k, _)| k == "id")) {
        (Some(file), _) => ev::evolved_strategy(ev::genome_file(file)?, None)?,
        (None, true) => {
            let store = Store::open(&db_path())?;
            ev::evolved_strategy(ev::stored_genome(&store, id)?, Some(id))?
        }
        (None, false) => {
            return Err(super::UsageError(
                "--strategy evolved needs --param id=N (see `algolab evolve --list`) or --strategy-file FILE.json"
                    .into(),
            )
            .into());
        }
    };
    Ok((params, strat))
}

/// A stored DQN model (`--strategy dqn|leverage-dqn --param id=N`).
fn dqn_strategy(
    name: &str,
    kv: &[(String, String)],
) -> anyhow::Result<(crate::strategy::Params, crate::strategy::dqn::DqnStrategy)> {
    let params = crate::strategy::Params::resolve(crate::strategy::param_specs(name)?, kv)?;
    if !kv.iter().any(|(k, _)| k == "id") {
        return Err(super::UsageError(format!(
            "--strategy {name} needs --param id=N (see `algolab train-rl --list` / `train-leverage --list`)"
        ))
        .into());
    }
    let id = params.0.get("id").map_or(0, |v| v.as_i64());
    let path = db_path();
    if !path.is_file() {
        return Err(super::UsageError(format!(
            "no model with id {id}: no learning DB at {}",
            path.display()
        ))
        .into());
    }
    let store = Store::open(&path)?;
    let s = crate::app::train_rl::model_strategy(&store, name, id)?;
    Ok((params, s))
}

/// `technical` switching to the per-regime parameters stored for `symbol`.
fn regime_switching(
    name: &str,
    params: &crate::strategy::Params,
    symbol: &str,
    objective: &str,
) -> anyhow::Result<Box<dyn crate::strategy::Strategy + Send>> {
    if name != "technical" {
        return Err(super::UsageError(format!(
            "--regime-params needs --strategy technical, not {name}"
        ))
        .into());
    }
    let path = db_path();
    let store = Store::open(&path)?;
    let per_regime = crate::app::optimize::record::regime_params(&store, symbol, name, objective)?;
    if per_regime.is_empty() {
        return Err(super::UsageError(format!(
            "no per-regime {objective} parameters stored for {symbol} (run `algolab optimize --symbol {symbol} --strategy technical --per-regime …` first)"
        ))
        .into());
    }
    let strat =
        crate::strategy::technical::Technical::new(params)?.with_regime_params(per_regime)?;
    Ok(Box::new(strat))
}

/// The stats as a two-column table for stderr.
pub fn stats_table(symbol: &str, strategy: &str, s: &Stats) -> String {
    let rows: Vec<(&str, String)> = vec![
        ("Symbol", symbol.to_string()),
        ("Strategy", strategy.to_string()),
        ("Start", s.start.clone()),
        ("End", s.end.clone()),
        ("Bars", s.bars.to_string()),
        ("Exposure [%]", num(s.exposure_pct, 2)),
        ("Equity final", num(s.equity_final, 2)),
        ("Equity peak", num(s.equity_peak, 2)),
        ("Return [%]", num(s.return_pct, 2)),
        ("Buy & hold return [%]", num(s.buy_hold_return_pct, 2)),
        ("Return (ann.) [%]", num(s.return_ann_pct, 2)),
        ("Volatility (ann.) [%]", num(s.volatility_ann_pct, 2)),
        ("Sharpe", num(s.sharpe, 3)),
        ("Sortino", num(s.sortino, 3)),
        ("Calmar", num(s.calmar, 3)),
        ("Max drawdown [%]", num(s.max_drawdown_pct, 2)),
        ("Avg drawdown [%]", num(s.avg_drawdown_pct, 2)),
        (
            "Max drawdown duration [bars]",
            s.max_drawdown_duration_bars
                .map_or("-".into(), |d| d.to_string()),
        ),
        ("Trades", s.trades.to_string()),
        ("Win rate [%]", num(s.win_rate_pct, 2)),
        ("Best trade [%]", num(s.best_trade_pct, 2)),
        ("Worst trade [%]", num(s.worst_trade_pct, 2)),
        ("Avg trade [%]", num(s.avg_trade_pct, 2)),
        ("Profit factor", num(s.profit_factor, 3)),
        ("Expectancy [%]", num(s.expectancy_pct, 3)),
        ("SQN", num(s.sqn, 3)),
        ("Fees paid", num(s.fees_paid, 2)),
    ];
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<w$}  {v}\n"))
        .collect()
}
