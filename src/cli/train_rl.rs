//! `algolab train-rl` and `algolab train-leverage`: train a DQN agent on the engine's
//! simulator, score it once on a held-out test window next to buy & hold and `technical`,
//! store it; or list stored models. Parsing and printing only; the work is in
//! [`crate::app::train_rl`].

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::Global;
use super::common::{DataArgs, EngineArgs, WindowRow, dsr_line, note, num, test_window_table};
use crate::ai::dqn::{AgentKind, DqnConfig};
use crate::app::Ctx;
use crate::app::evolve::parse_split;
use crate::app::train_rl as app;

/// Train a DQN agent (`train-rl`: 18 features, HOLD/BUY/SELL; `train-leverage`: 35
/// features, 11 actions with leverage).
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct TrainArgs {
    /// Bars to train on (split by time into train / validation / test).
    #[command(flatten)]
    pub data: DataArgs,
    /// Episodes (passes over the training window).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub episodes: u64,
    /// Seed of every random choice (same seed, same weights and JSON, whatever the thread count).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Double DQN (the online network picks the next action, the target network values it).
    #[arg(long)]
    pub double: bool,
    /// Discount factor γ.
    #[arg(long, default_value_t = 0.99)]
    pub gamma: f64,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.001)]
    pub lr: f64,
    /// Minibatch size.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Transitions stored before the first gradient step.
    #[arg(long, default_value_t = 1000)]
    pub learning_starts: u64,
    /// Gradient steps between target-network syncs.
    #[arg(long, default_value_t = 100)]
    pub target_sync: u64,
    /// Hidden layer widths.
    #[arg(long, default_value = "128,64,32", value_name = "A,B,C")]
    pub hidden: String,
    /// Train and validation shares of the bars, by time; the test window is the rest.
    #[arg(long, default_value = "0.6,0.2", value_name = "TRAIN,VALIDATION")]
    pub split: String,
    /// Largest leverage of `train-leverage` (1–125; its actions are 1×, 3×, 5×, 10×, capped here).
    #[arg(long, value_name = "L")]
    pub max_leverage: Option<f64>,
    /// Continue training a stored model (its weights, optimiser state, normalisation and
    /// replay buffer).
    #[arg(long, value_name = "ID")]
    pub resume_from: Option<i64>,
    /// Exchange simulation (the leverage comes from the agent: 1 for train-rl,
    /// --max-leverage for train-leverage).
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Write rl.html and episodes.csv here.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// List stored models of this kind with their test-window scores instead.
    #[arg(long)]
    pub list: bool,
    /// How many models `--list` shows.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

const EXAMPLES: &str = "Examples:
  cargo run --release -- train-rl --symbol BTC/USDT --seed 7
  algolab train-rl --symbol BTC/USDT --seed 7 --episodes 5 --double --report reports/dqn
  algolab train-leverage --symbol BTC/USDT --seed 7 --max-leverage 10 --json
  algolab train-rl --data prices.csv --seed 1 --resume-from 3
  algolab train-rl --list
  algolab backtest --symbol BTC/USDT --strategy dqn --param id=1 --from 2021-04-10T05:00:00Z

The bars are split by time into train / validation / test (default 60/20/20). Each episode
is one pass of the engine over the training window. When the training account is wiped out
(a liquidation or loss leaves equity at 0 or below one minimum order), that step is stored
as a terminal transition with its reward and counted, and training goes on from the next
bar with fresh capital (a new account) until the window ends; validation and test runs are
never re-funded. The greedy policy is scored on validation
after each episode and the best becomes the checkpoint; the test window is scored once,
next to buy & hold and `technical`. The model is stored in DATA_DIR/ai_learning.db (tables
models and rl_experiences). The network trains on one thread; use a release build
(`cargo run --release -- train-rl …`): a debug build is about 20× slower.";

fn hidden(text: &str) -> anyhow::Result<[usize; 3]> {
    let bad = || {
        super::UsageError(format!(
            "--hidden {text:?}: expected three widths like 128,64,32"
        ))
    };
    let v: Vec<usize> = text
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    match v.as_slice() {
        [a, b, c] if *a > 0 && *b > 0 && *c > 0 => Ok([*a, *b, *c]),
        _ => Err(bad().into()),
    }
}

/// Run `train-rl` (`kind` = dqn) or `train-leverage` (`kind` = leverage-dqn).
///
/// # Errors
/// Bad usage or data (exit 2); a non-finite loss or weight, engine, DB or report failures
/// (exit 1).
pub fn run(args: TrainArgs, g: Global, ctx: &Ctx, kind: AgentKind) -> anyhow::Result<()> {
    if args.list {
        return list(&args, g, ctx, kind);
    }
    let max_leverage = match (kind, args.max_leverage) {
        (AgentKind::Dqn, Some(_)) => {
            return Err(super::UsageError(
                "--max-leverage is for train-leverage; train-rl trades at leverage 1".into(),
            )
            .into());
        }
        (AgentKind::Dqn, None) => 1.0,
        (AgentKind::LeverageDqn, m) => m.unwrap_or(10.0),
    };
    if args.engine.leverage != 1.0 {
        return Err(super::UsageError(
            "--leverage is set by the agent: use --max-leverage with train-leverage".into(),
        )
        .into());
    }
    let spec = args.data.spec()?;
    let (train_frac, validation_frac) = parse_split(&args.split)?;
    let engine = args.engine.config(kind.name(), &args.data)?;
    if engine.from_ts_ms.is_some() || engine.to_ts_ms.is_some() {
        return Err(super::UsageError(
            "--from/--to are not used by training (the split decides the windows); cut the data file instead".into(),
        )
        .into());
    }
    let settings = app::TrainSettings {
        kind,
        episodes: args.episodes as usize,
        seed: args.seed,
        dqn: DqnConfig {
            hidden: hidden(&args.hidden)?,
            gamma: args.gamma,
            lr: args.lr,
            batch: args.batch,
            learning_starts: args.learning_starts,
            target_sync: args.target_sync,
            double: args.double,
            eps_decay_steps: 0,
            ..DqnConfig::default()
        },
        train_frac,
        validation_frac,
        engine,
        max_leverage,
    };
    let req = app::TrainRequest {
        data: spec,
        settings,
        resume_from: args.resume_from,
        report: args.report.clone(),
    };
    let bar = (!g.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(args.episodes);
        b.set_style(
            indicatif::ProgressStyle::with_template("training {bar:30} episode {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_message("(first episode running)");
        b
    });
    let quiet = g.quiet;
    let mut progress = |e: &app::EpisodeReport| {
        let msg = format!(
            "ε {:.3}  loss {}  reward/step {}  validation {}{}",
            e.epsilon,
            num(e.loss, 4),
            num(e.mean_reward, 4),
            num(e.validation_score, 3),
            if e.checkpoint { "  (checkpoint)" } else { "" }
        );
        match &bar {
            Some(b) => {
                b.set_message(msg);
                b.set_position(e.episode as u64);
            }
            None if !quiet => eprintln!("episode {:>3}: {msg}", e.episode),
            None => {}
        }
    };
    #[allow(
        clippy::disallowed_methods,
        reason = "steps per second is a wall-clock figure; the library takes the clock from here"
    )]
    let t0 = std::time::Instant::now();
    let clock = move || t0.elapsed().as_secs_f64();
    let reply = app::run(ctx, req, &mut progress, Some(&clock))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let (data, out, rec) = (&reply.data, &reply.outcome, &reply.record);
    note(g.quiet, &data.note);
    if !g.quiet {
        eprint!("{}", summary(&data.label, out, rec));
        eprintln!(
            "stored as model {} (run {}) in {}; backtest it with --strategy {} --param id={} --from {} --to {}",
            rec.model_id,
            rec.run_id,
            ctx.db_path.display(),
            kind.name(),
            rec.model_id,
            out.split.test.start,
            out.split.test.end
        );
        if let Some(path) = &reply.report {
            eprintln!("report: {}", path.display());
        }
    }
    if g.json {
        let mut v = app::metrics_json(out);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("model_id".into(), serde_json::json!(rec.model_id));
            obj.insert("run_id".into(), serde_json::json!(rec.run_id));
            obj.insert("kind".into(), serde_json::json!(kind.name()));
            obj.insert("symbol".into(), serde_json::json!(data.label));
            obj.insert("seed".into(), serde_json::json!(args.seed));
            obj.insert(
                "weights_sha256".into(),
                serde_json::json!(out.weights_sha256),
            );
            obj.insert("parent_id".into(), serde_json::json!(out.parent_id));
            obj.insert("dsr".into(), serde_json::json!(rec.dsr));
            obj.insert("dsr_note".into(), serde_json::json!(rec.dsr_note));
            obj.insert("dsr_trials".into(), serde_json::json!(rec.trials));
            obj.insert(
                "steps_per_sec".into(),
                serde_json::json!(out.steps_per_sec()),
            );
            obj.insert("train_seconds".into(), serde_json::json!(out.train_seconds));
            obj.insert(
                "hyperparameters".into(),
                serde_json::to_value(out.spec.config)?,
            );
            obj.insert("max_leverage".into(), serde_json::json!(out.spec.leverage));
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(())
}

/// The human summary for stderr.
fn summary(symbol: &str, o: &app::TrainOutcome, rec: &app::RecordOutcome) -> String {
    let mut s = format!(
        "Symbol     {symbol}\nAgent      {} ({} features, {} actions)\n",
        o.spec.kind.name(),
        o.spec.features.width(),
        o.spec.kind.actions().len()
    );
    for (name, w) in [
        ("train", &o.split.train),
        ("validation", &o.split.validation),
        ("test", &o.split.test),
    ] {
        s.push_str(&format!(
            "{name:<11}{} → {} ({} bars)\n",
            w.start, w.end, w.bars
        ));
    }
    s.push_str(&format!(
        "Episodes   {} ({} env steps{}); checkpoint from episode {}\n",
        o.episodes.len(),
        o.env_steps,
        o.steps_per_sec()
            .map_or(String::new(), |v| format!(", {v:.0} steps/s with learning")),
        o.best_episode
    ));
    s.push_str(&format!(
        "Liquidations: {} while training (account re-funded {} times), {} on the test window\n",
        o.train_liquidations,
        o.train_refunds,
        o.test_liquidations()
    ));
    let counted = format!("test, {} validation trials", rec.trials);
    if let Some(line) = dsr_line(&counted, rec.dsr.as_ref(), rec.dsr_note.as_deref()) {
        s.push_str(&line);
    }
    let rows: Vec<WindowRow<'_>> = [
        (o.spec.kind.name(), &o.test),
        ("buy & hold", &o.buy_hold),
        ("technical", &o.technical),
    ]
    .into_iter()
    .map(|(name, f)| {
        let trades = f.trades.to_string();
        (name, f.return_pct, f.sharpe, f.max_drawdown_pct, trades)
    })
    .collect();
    s.push_str(&test_window_table(14, &rows));
    let acts: Vec<String> = o
        .action_counts()
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    s.push_str(&format!(
        "Actions on the test window: {}\n",
        acts.join(", ")
    ));
    s
}

fn list(args: &TrainArgs, g: Global, ctx: &Ctx, kind: AgentKind) -> anyhow::Result<()> {
    let rows = app::list(ctx, args.data.symbol.as_deref(), kind, args.limit)?;
    let metric = |m: &serde_json::Value, a: &str, b: &str| {
        m.get(a)
            .and_then(|v| v.get(b))
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    let parsed: Vec<(crate::store::ModelRow, serde_json::Value)> = rows
        .into_iter()
        .map(|r| {
            let m = serde_json::from_str(&r.metrics_json).unwrap_or_default();
            (r, m)
        })
        .collect();
    if g.json {
        let v: Vec<serde_json::Value> = parsed
            .iter()
            .map(|(r, m)| {
                serde_json::json!({
                    "id": r.id,
                    "run_id": r.run_id,
                    "parent_id": r.parent_id,
                    "kind": r.kind,
                    "symbol": r.symbol,
                    "feature_spec": r.feature_spec,
                    "weights_sha256": r.weights_sha256,
                    "seed": r.seed,
                    "env_steps": r.env_steps,
                    "created_at": r.created_at,
                    "split": m.get("split"),
                    "test": m.get("test"),
                    "baselines": m.get("baselines"),
                    "dsr": m.get("dsr"),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if parsed.is_empty() {
        note(false, &format!("no {} models stored yet", kind.name()));
        return Ok(());
    }
    println!(
        "{:>4}  {:<10} {:>6} {:>9} {:>12} {:>11} {:>12} {:>12} {:>7}  test window",
        "id",
        "symbol",
        "seed",
        "steps",
        "test ret [%]",
        "test Sharpe",
        "B&H ret [%]",
        "tech ret [%]",
        "DSR"
    );
    for (r, m) in parsed {
        let split = m.get("split").and_then(|s| s.get("test"));
        let when = |k: &str| {
            split
                .and_then(|t| t.get(k))
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        println!(
            "{:>4}  {:<10} {:>6} {:>9} {:>12} {:>11} {:>12} {:>12} {:>7}  {} → {}",
            r.id,
            r.symbol,
            r.seed.map_or("-".into(), |s| s.to_string()),
            r.env_steps,
            num(metric(&m, "test", "return_pct"), 2),
            num(metric(&m, "test", "sharpe"), 3),
            num(
                m.get("baselines")
                    .and_then(|b| b.get("buy_hold"))
                    .and_then(|b| b.get("return_pct"))
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(f64::NAN),
                2
            ),
            num(
                m.get("baselines")
                    .and_then(|b| b.get("technical"))
                    .and_then(|b| b.get("return_pct"))
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(f64::NAN),
                2
            ),
            num(metric(&m, "dsr", "dsr"), 3),
            when("start"),
            when("end")
        );
    }
    Ok(())
}
