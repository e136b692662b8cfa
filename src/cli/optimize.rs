//! `algolab optimize`: search a strategy's parameters (grid, TPE, random), judge the winner
//! (DSR, PBO, walk-forward), record every trial in the learning DB, resume an interrupted
//! run, show the best stored parameters per regime. Parsing and printing only; the work is
//! in [`crate::app::optimize`].

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::Global;
use super::common::{DataArgs, EngineArgs, note, num, params_kv, result};
use crate::app::Ctx;
use crate::app::optimize::record::{TRIAL_KEYS, outcome_json};
use crate::app::optimize::shard::Shard;
use crate::app::optimize::{
    Method, Objective, OptimizeOutcome, OptimizeRequest, OptimizeSpec, WalkForward,
};
use crate::optimize::{Constraint, Trial, WalkForwardMode, parse_grid};

/// Walk-forward training windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WfMode {
    /// Fixed-length window sliding with the test window.
    Rolling,
    /// Training from the first bar, growing.
    Anchored,
}

/// Optimise a strategy's parameters.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct OptimizeArgs {
    /// Bars to optimise on.
    #[command(flatten)]
    pub data: DataArgs,
    /// Strategy: sma-cross, technical.
    #[arg(long, default_value = "sma-cross")]
    pub strategy: String,
    /// A searched parameter: `name=lo..hi[:step]` (inclusive; floats with a decimal point;
    /// `:log` for log-uniform samplers), or `name=a,b,c` (repeatable).
    #[arg(long = "grid", value_name = "K=RANGE")]
    pub grid: Vec<String>,
    /// A fixed parameter `key=value`, merged into every candidate (repeatable).
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// A constraint between searched parameters, e.g. "fast<slow" (repeatable). sma-cross
    /// adds fast<slow and technical ema_fast<ema_slow when both are searched.
    #[arg(long = "constraint", value_name = "A<B")]
    pub constraints: Vec<String>,
    /// grid (every point), bayes (TPE), random.
    #[arg(long, value_enum, default_value_t = Method::Grid)]
    pub method: Method,
    /// Trials for bayes and random.
    #[arg(long, default_value_t = 100)]
    pub trials: usize,
    /// Seed for bayes, random and PBO's sample.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Sampler batch: points asked in order, evaluated in parallel, told in order (a fixed
    /// number, so results do not depend on the machine).
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// The statistic to maximise (any stats key; the metric is always maximised).
    #[arg(long, value_name = "METRIC", default_value = "sharpe")]
    pub maximize: String,
    /// Minimise this statistic instead (max_drawdown_pct, volatility_ann_pct, …).
    #[arg(long, value_name = "METRIC", conflicts_with = "maximize")]
    pub minimize: Option<String>,
    /// Trials with fewer closed trades never win.
    #[arg(long, default_value_t = 0)]
    pub min_trades: usize,
    /// Rows of the top table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Walk-forward validation with K out-of-sample folds.
    #[arg(long, value_name = "K")]
    pub walk_forward: Option<usize>,
    /// Walk-forward training windows.
    #[arg(long, value_enum, default_value_t = WfMode::Rolling)]
    pub wf_mode: WfMode,
    /// Walk-forward training share of each fold.
    #[arg(long, default_value_t = 0.7, allow_negative_numbers = true)]
    pub train_frac: f64,
    /// Optimise each market regime too (entries allowed only on that regime's bars).
    #[arg(long)]
    pub per_regime: bool,
    /// Exchange simulation.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Write optimize.html (heatmap, value histogram, out-of-sample equity) here.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Continue an interrupted run (same arguments): recorded trials are not re-run.
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<i64>,
    /// Print the best stored parameters per strategy and regime for SYMBOL, and exit.
    #[arg(long, value_name = "SYMBOL")]
    pub show: Option<String>,
    /// Do not record the run in the learning DB.
    #[arg(long, conflicts_with = "resume")]
    pub no_record: bool,
    /// Evaluate only shard K of N of the search (the trials whose index is K modulo N,
    /// 0 <= K < N) and record them in a learning DB of its own in --out DIR; combine the
    /// shards with --merge (deploy/slurm, deploy/k8s). Grid and random searches.
    #[arg(long, value_name = "K/N", requires = "out", conflicts_with_all = ["merge", "resume"])]
    pub shard: Option<Shard>,
    /// Where --shard writes its DB (`shard-K-of-N.db`).
    #[arg(long, value_name = "DIR", requires = "shard")]
    pub out: Option<PathBuf>,
    /// Combine the shards in these directories (written by --shard with the same
    /// arguments) into the result of the unsharded run.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    pub merge: Vec<PathBuf>,
    /// Stop after N trials, as if interrupted (tests).
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
}

const EXAMPLES: &str = "Examples:
  algolab optimize --symbol GOOG --grid fast=5..29 --grid slow=10..68:2 \\
      --maximize equity_final --cash 10000 --commission 0.002
  algolab optimize --symbol BTC/USDT --strategy technical --method bayes --trials 200 \\
      --grid ema_fast=5..30 --grid ema_slow=20..100 --grid adx_threshold=15.0..35.0 --seed 7
  algolab optimize --symbol SPY --grid fast=5..50 --grid slow=20..200:5 --walk-forward 5 \\
      --wf-mode anchored --min-trades 10 --report reports/spy_opt
  algolab optimize --symbol GOOG --grid fast=5..30 --grid slow=20..80 --minimize max_drawdown_pct
  algolab optimize --symbol BTC/USDT --grid fast=5..30 --grid slow=20..80 --per-regime
  algolab optimize --show BTC/USDT
  algolab optimize --symbol GOOG --grid fast=2..101 --grid slow=2..101 --shard 3/8 --out shards/
  algolab optimize --symbol GOOG --grid fast=2..101 --grid slow=2..101 --merge shards/ --json

Every trial is recorded in DATA_DIR/ai_learning.db (table optimization_results) as its batch
finishes; --resume RUN_ID with the same arguments finishes an interrupted run. The JSON
(--json) has the best parameters, every trial, the deflated Sharpe ratio (counting every
distinct trial ever recorded for the symbol and strategy: a rerun adds nothing), PBO by CSCV
and the walk-forward folds. --trials N evaluates N distinct points (fewer when the space has
fewer).";

/// Run the command.
///
/// # Errors
/// Bad usage, grids, metrics or data (exit 2); engine, DB or report failures (exit 1).
pub fn run(args: OptimizeArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    if let Some(sym) = &args.show {
        return show(sym, g, ctx);
    }
    let dims = args
        .grid
        .iter()
        .map(|t| parse_grid(t))
        .collect::<Result<Vec<_>, _>>()?;
    let constraints = args
        .constraints
        .iter()
        .map(|t| Constraint::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    let objective = match &args.minimize {
        Some(m) => Objective {
            metric: m.clone(),
            minimize: true,
        },
        None => Objective {
            metric: args.maximize.clone(),
            minimize: false,
        },
    };
    let cfg = args.engine.config(&args.strategy, &args.data)?;
    cfg.validate().map_err(crate::Error::from)?;
    let spec = OptimizeSpec {
        params: params_kv(&args.params)?,
        constraints,
        method: args.method,
        trials: args.trials,
        seed: args.seed,
        batch: args.batch,
        objective,
        min_trades: args.min_trades,
        top: args.top,
        cfg,
        walk_forward: args.walk_forward.map(|k| WalkForward {
            k,
            mode: match args.wf_mode {
                WfMode::Rolling => WalkForwardMode::Rolling,
                WfMode::Anchored => WalkForwardMode::Anchored,
            },
            train_frac: args.train_frac,
        }),
        per_regime: args.per_regime,
        stop_after: args.stop_after,
        ..OptimizeSpec::new(&args.strategy, dims, "sharpe")
    };
    crate::app::optimize::check_spec(&spec)?;
    let lower_better = [
        "max_drawdown_pct",
        "avg_drawdown_pct",
        "volatility_ann_pct",
        "fees_paid",
    ];
    if !spec.objective.minimize && lower_better.contains(&spec.objective.metric.as_str()) {
        note(
            g.quiet,
            &format!(
                "note: --maximize {} maximises it; use --minimize {0} for the smallest",
                spec.objective.metric
            ),
        );
    }
    let bar = (!g.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} trials ({eta})")
        {
            b.set_style(style);
        }
        b
    });
    let progress = |scope: &str, done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_message(scope.to_string());
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let data_spec = args.data.spec()?;
    if let (Some(shard), Some(out)) = (args.shard, &args.out) {
        let data = crate::app::load::load_data(&data_spec, &ctx.data_dir)?;
        note(g.quiet, &data.note);
        return super::optimize_shard::shard(ctx, &spec, &data, shard, out, g);
    }
    let merged = if args.merge.is_empty() {
        None
    } else {
        let data = crate::app::load::load_data(&data_spec, &ctx.data_dir)?;
        super::optimize_shard::merged(&args.merge, &spec, &data)?
    };
    let req = OptimizeRequest {
        data: data_spec,
        spec,
        resume: args.resume,
        record: !args.no_record,
        report: args.report.clone(),
        merged,
    };
    let strategy = req.spec.strategy.clone();
    let res = crate::app::optimize::run(ctx, req, Box::new(progress));
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let reply = res?;
    note(g.quiet, &reply.data.note);
    if let Some(dir) = &reply.report {
        note(g.quiet, &format!("report written to {}", dir.display()));
    }
    print(
        &reply.outcome,
        reply.run_id,
        &reply.data.label,
        &strategy,
        g,
    );
    Ok(())
}

fn trial_row(t: &Trial, metric: &str) -> String {
    let params: Vec<String> = t.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut cols = vec![
        format!("{:>5}", t.index),
        format!("{:<28}", params.join(" ")),
    ];
    for k in TRIAL_KEYS
        .iter()
        .copied()
        .chain([metric].into_iter().filter(|m| !TRIAL_KEYS.contains(m)))
    {
        cols.push(format!(
            "{:>12}",
            num(t.metrics.get(k).copied().unwrap_or(f64::NAN), 3)
        ));
    }
    cols.join(" ")
}

fn print(out: &OptimizeOutcome, run_id: Option<i64>, symbol: &str, strategy: &str, g: Global) {
    let metric = out.objective.metric.as_str();
    let mut h = String::new();
    {
        if out.stopped {
            let _ = writeln!(
                h,
                "stopped after {} trials; finish with --resume {}",
                out.trials.len(),
                run_id.map_or_else(|| "-".into(), |i| i.to_string())
            );
        } else {
            let mut head = vec![format!("{:>5}", "trial"), format!("{:<28}", "params")];
            for k in TRIAL_KEYS
                .iter()
                .copied()
                .chain([metric].into_iter().filter(|m| !TRIAL_KEYS.contains(m)))
            {
                head.push(format!("{k:>12}"));
            }
            let _ = writeln!(h, "{}", head.join(" "));
            for t in &out.top {
                let _ = writeln!(h, "{}", trial_row(t, metric));
            }
            match &out.best {
                Some(b) => {
                    let p: Vec<String> = b
                        .trial
                        .params
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    let _ = writeln!(
                        h,
                        "best: {} ({metric} {})",
                        p.join(" "),
                        num(b.trial.metrics.get(metric).copied().unwrap_or(f64::NAN), 4)
                    );
                }
                None => {
                    let _ = writeln!(h, "no trial qualified (check --min-trades)");
                }
            }
            if let Some(d) = out.dsr {
                let _ = writeln!(
                    h,
                    "deflated Sharpe ratio {} over {} trials",
                    num(d.dsr, 3),
                    out.dsr_trials
                );
            }
            if let Some(p) = &out.pbo {
                let _ = writeln!(
                    h,
                    "PBO {} ({} trials, {} splits)",
                    num(p.result.pbo, 3),
                    p.n_trials,
                    p.splits
                );
            }
            for (i, f) in out.folds.iter().enumerate() {
                let _ = writeln!(
                    h,
                    "fold {}: in-sample {metric} {}, out-of-sample {metric} {}",
                    i + 1,
                    num(f.in_sample.get(metric).copied().unwrap_or(f64::NAN), 3),
                    f.out_of_sample.as_ref().map_or_else(
                        || "-".into(),
                        |s| {
                            num(
                                crate::app::optimize::stats_metrics(s)
                                    .get(metric)
                                    .copied()
                                    .unwrap_or(f64::NAN),
                                3,
                            )
                        }
                    )
                );
            }
            for r in &out.regimes {
                if let Some(b) = &r.best {
                    let _ = writeln!(h, "regime {}: {}", r.regime, trial_row(b, metric));
                }
            }
            if let Some(id) = run_id {
                let _ = writeln!(h, "recorded as run {id}");
            }
        }
    }
    result(g, &h);
    if g.json {
        println!("{}", outcome_json(out, run_id, symbol, strategy));
    }
}

fn show(symbol: &str, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let rows = crate::app::optimize::show(ctx, symbol)
        .with_context(|| format!("opening {}", ctx.db_path.display()))?;
    if g.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "strategy": r.strategy, "regime": r.regime.as_deref().unwrap_or("all"),
                    "objective": r.objective, "value": r.value, "run_id": r.run_id,
                    "params": serde_json::from_str::<serde_json::Value>(&r.params_json).unwrap_or_default(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
    } else if rows.is_empty() {
        result(g, &format!("no optimisation results stored for {symbol}\n"));
    } else {
        let mut h = String::new();
        let _ = writeln!(
            h,
            "{:<12} {:<10} {:<20} {:>12} {:>6}  params",
            "strategy", "regime", "objective", "value", "run"
        );
        for r in &rows {
            let _ = writeln!(
                h,
                "{:<12} {:<10} {:<20} {:>12} {:>6}  {}",
                r.strategy,
                r.regime.as_deref().unwrap_or("all"),
                r.objective,
                num(r.value.unwrap_or(f64::NAN), 4),
                r.run_id,
                r.params_json
            );
        }
        result(g, &h);
    }
    Ok(())
}
