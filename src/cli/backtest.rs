//! `algolab backtest`: run one strategy over bars, print the stats, record the run, write a
//! report. Parsing and printing only; the work is in [`crate::app::backtest`].

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::Global;
use super::common::{DataArgs, EngineArgs, note, num, params_kv, result};
use crate::app::Ctx;
use crate::app::backtest as app;
use crate::metrics::Stats;

/// Backtest a strategy on bundled, fetched or local data.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct BacktestArgs {
    /// Bars to trade.
    #[command(flatten)]
    pub data: DataArgs,
    /// Strategy: sma-cross, technical, evolved (with --param id=N or --strategy-file), ai (the
    /// orchestrator), dqn or leverage-dqn (with --param id=N, a model from train-rl /
    /// train-leverage).
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
    /// The `ai` strategy's options.
    #[command(flatten)]
    pub ai: AiArgs,
    /// `--strategy portfolio`: the strategies sharing one account through the meta-allocator,
    /// e.g. `technical,sma-cross,evolved:3,ai`.
    #[arg(long, value_delimiter = ',', value_name = "A,B,…")]
    pub strategies: Vec<String>,
}

/// Options of `--strategy ai`.
#[derive(Debug, Args)]
pub struct AiArgs {
    /// `--strategy ai`: component weights, `technical=0.3,dqn=0.25,evolved=0.2,online=0.15,llm=0.1`
    /// (renormalised over the components available).
    #[arg(long, value_name = "K=V,…")]
    pub weights: Option<String>,
    /// `--strategy ai`: a weights file, JSON (`{"technical": 0.4}`) or TOML (`technical = 0.4`).
    #[arg(long, value_name = "FILE")]
    pub weights_file: Option<PathBuf>,
    /// `--strategy ai`: where the LLM's answers come from: answers recorded in the learning DB
    /// (replay, the look-ahead guard), Ollama for real (live), or no LLM (off).
    #[arg(long, value_enum, default_value = "replay")]
    pub llm: crate::app::ai::LlmMode,
    /// `--strategy ai`: start from the online learner saved in DATA_DIR/ai_orchestrator_state.json
    /// (off by default so runs stay reproducible; recorded with the run).
    #[arg(long)]
    pub learn: bool,
    /// `--strategy ai`: do not learn (the backtest default; accepted so paper, live and
    /// backtest take the same strategy arguments).
    #[arg(long, conflicts_with = "learn")]
    pub no_learn: bool,
}

const EXAMPLES: &str = "Examples:
  algolab backtest --symbol BTC/USDT --report reports/btc
  algolab backtest --symbol GOOG --strategy sma-cross --param fast=10 --param slow=20 \\
      --commission 0.002 --json
  algolab backtest --symbol BTC/USDT --strategy technical --leverage 3 --from 2021-01-01
  algolab backtest --data prices.parquet --strategy sma-cross --fill close
  algolab backtest --symbol BTC/USDT --strategy evolved --param id=1
  algolab backtest --symbol BTC/USDT --strategy dqn --param id=1 --from 2021-04-10T05:00:00Z
  algolab backtest --symbol BTC/USDT --strategy ai --report reports/ai
  algolab backtest --symbol BTC/USDT --strategy ai --weights technical=0.5,llm=0 --llm off
  algolab backtest --symbol BTC/USDT --strategy portfolio --strategies technical,sma-cross,ai
  algolab backtest --symbol GOOG --strategy-file reports/goog-evolve/best_genome.json

A decision at the close of bar t fills at the open of bar t+1 (--fill close: at t's close).
Stops and take-profits fill at their level, or at the open when a bar gaps through; when a
bar touches both, the stop is assumed first. The run is recorded in DATA_DIR/ai_learning.db
(see `algolab report RUN_ID`).";

/// Run the command.
///
/// # Errors
/// Bad usage, bad data or parameters (exit 2), engine, DB or report failures (exit 1).
pub fn run(args: BacktestArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let req = app::BacktestRequest {
        data: args.data.spec()?,
        params: params_kv(&args.params)?,
        cfg: args.engine.config(
            if args.strategy_file.is_some() {
                "evolved"
            } else {
                &args.strategy
            },
            &args.data,
        )?,
        strategy: args.strategy,
        strategy_file: args.strategy_file,
        regime_params: args.regime_params,
        regime_objective: args.regime_objective,
        report: args.report,
        record: !args.no_record,
        ai: crate::app::ai::AiOptions {
            weights: args.ai.weights,
            weights_file: args.ai.weights_file,
            llm: args.ai.llm,
            llm_config: crate::ai::llm::LlmConfig::from_vars(|k| std::env::var(k).ok())?,
            learn: args.ai.learn,
        },
        strategies: args.strategies,
    };
    if req.strategy == "portfolio" {
        return portfolio(ctx, g, &req);
    }
    let spinner = (!g.quiet && std::io::stderr().is_terminal()).then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.set_message("backtesting");
        s.enable_steady_tick(std::time::Duration::from_millis(100));
        s
    });
    let report_dir = req.report.clone();
    let res = app::run(ctx, req);
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let reply = match (res, report_dir) {
        (Err(e @ crate::Error::Report(_)), Some(dir)) => {
            return Err(
                anyhow::Error::from(e).context(format!("writing the report to {}", dir.display()))
            );
        }
        (r, _) => r?,
    };
    let (data, out) = (&reply.data, &reply.outcome);
    note(g.quiet, &data.note);
    for w in &reply.warnings {
        eprintln!("warning: {w}");
    }
    let skipped = out.stats.signals_skipped_zero_size;
    if skipped > 0 {
        note(
            g.quiet,
            &format!(
                "note: {skipped} entry signal(s) skipped: the position size rounds to zero whole units (try --fractional or more --cash)"
            ),
        );
    }
    let mut human = stats_table(&data.label, &out.strategy, &out.stats);
    if let Some(h) = out.result.halted {
        human.push_str(&format!(
            "trading stopped at {}: equity {:.6e} is below one minimum order ({:.4})\n",
            crate::metrics::iso(h.ts_ms),
            h.equity,
            h.min_order
        ));
    }
    if let Some(ai) = &reply.ai {
        human.push_str(&format!(
            "ai: components {}; llm {} ({} asked, {} answered); {} decisions{}\n",
            ai.components.join(", "),
            ai.llm_mode,
            ai.llm_asked,
            ai.llm_answered,
            ai.decisions,
            if ai.learn {
                "; learning carried over"
            } else {
                ""
            }
        ));
        for (c, src) in &ai.sources {
            human.push_str(&format!("ai: {c} from {src}\n"));
        }
        if let Some(l) = &ai.dqn_learned {
            human.push_str(&format!(
                "ai: dqn learned from {} trades ({} gradient steps): version {} → {}{}\n",
                l["trades"],
                l["grad_steps"],
                ai.dqn_version.unwrap_or(0),
                l["version"],
                l["model_id"]
                    .as_i64()
                    .map(|id| format!(", stored as model {id}"))
                    .unwrap_or_default()
            ));
        }
        for w in &ai.warnings {
            eprintln!("warning: {w}");
        }
    }
    if let Some(id) = reply.run_id {
        human.push_str(&format!("run {id} recorded in {}\n", ctx.db_path.display()));
    }
    if let Some(html) = &reply.report {
        human.push_str(&format!("report: {}\n", html.display()));
    }
    result(g, &human);
    if g.json {
        let mut v = serde_json::to_value(&out.stats)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("run_id".into(), serde_json::json!(reply.run_id));
            obj.insert("symbol".into(), serde_json::json!(data.label));
            obj.insert("strategy".into(), serde_json::json!(out.strategy));
            obj.insert("params".into(), serde_json::to_value(&out.params)?);
            if let Some(ai) = &reply.ai {
                obj.insert("ai".into(), serde_json::to_value(ai)?);
            }
            obj.insert("halted".into(), serde_json::to_value(out.result.halted)?);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(())
}

/// `--strategy portfolio`: the account's stats and each strategy's attribution.
fn portfolio(ctx: &Ctx, g: Global, req: &app::BacktestRequest) -> anyhow::Result<()> {
    let (data, out) = crate::app::portfolio::run_request(ctx, req)?;
    note(g.quiet, &data.note);
    if !g.quiet {
        let name = format!("portfolio ({})", req.strategies.join(", "));
        eprint!("{}", stats_table(&data.label, &name, &out.stats));
        eprintln!("rebalances: {}", out.rebalances);
        eprintln!(
            "strategy              final weight   pnl          contribution   alone    trades"
        );
        for a in &out.attribution {
            eprintln!(
                "{:<21} {:>11.1} %  {:>11.2}  {:>11.2} %  {:>6.2} %  {:>6}",
                a.strategy,
                100.0 * a.final_weight,
                a.pnl,
                a.contribution_pct,
                a.alone_return_pct,
                a.trades
            );
        }
    }
    if g.json {
        let mut v = serde_json::to_value(&out.stats)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("symbol".into(), serde_json::json!(data.label));
            obj.insert("strategy".into(), serde_json::json!("portfolio"));
            obj.insert(
                "attribution".into(),
                serde_json::to_value(&out.attribution)?,
            );
            obj.insert("rebalances".into(), serde_json::json!(out.rebalances));
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(())
}

/// The stats as a two-column table.
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
        ("Exit fills", s.exit_fills.to_string()),
        ("Win rate [%]", num(s.win_rate_pct, 2)),
        ("Best trade [%]", num(s.best_trade_pct, 2)),
        ("Worst trade [%]", num(s.worst_trade_pct, 2)),
        ("Avg trade [%]", num(s.avg_trade_pct, 2)),
        ("Profit factor", num(s.profit_factor, 3)),
        ("Expectancy [%]", num(s.expectancy_pct, 3)),
        ("Expectancy", num(s.expectancy, 2)),
        ("Gross profit", num(s.gross_profit, 2)),
        ("Gross loss", num(s.gross_loss, 2)),
        ("SQN", num(s.sqn, 3)),
        ("Fees paid", num(s.fees_paid, 2)),
        (
            "Signals skipped (size 0)",
            s.signals_skipped_zero_size.to_string(),
        ),
    ];
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<w$}  {v}\n"))
        .collect()
}
