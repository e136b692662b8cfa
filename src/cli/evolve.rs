//! `algolab evolve`: evolve indicator rules with a genetic algorithm, compare the best with
//! buy & hold and `technical` on a held-out test window, store it; or list stored ones.
//! Parsing and printing only; the work is in [`crate::app::evolve`].

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::Global;
use super::common::{
    DataArgs, EngineArgs, WindowRow, dsr_line, note, num, result, test_window_table,
};
use crate::ai::evolver::{GaConfig, GenerationStats};
use crate::app::Ctx;
use crate::app::evolve as app;

/// Evolve trading rules (genetic algorithm) on bundled, fetched or local data.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct EvolveArgs {
    /// Bars to evolve on (split by time into train / validation / test).
    #[command(flatten)]
    pub data: DataArgs,
    /// Genomes per generation.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(4..=100_000))]
    pub population: u64,
    /// Generations.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub generations: u64,
    /// Seed of every random choice (same seed, same result, whatever the thread count).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop after N generations without a validation improvement.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub early_stop: Option<u64>,
    /// Train and validation shares of the bars, by time; the test window is the rest.
    #[arg(long, default_value = "0.6,0.2", value_name = "TRAIN,VALIDATION")]
    pub split: String,
    /// Exchange simulation (leverage 1, next-open fills and pass-through risk only).
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Write evolve.html and best_genome.json here.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Do not record the run and the genome in the learning DB.
    #[arg(long)]
    pub no_record: bool,
    /// List stored evolved strategies (with their rules and test-window scores) instead.
    #[arg(long)]
    pub list: bool,
    /// How many strategies `--list` shows.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

const EXAMPLES: &str = "Examples:
  algolab evolve --symbol BTC/USDT --generations 50 --seed 42
  algolab evolve --symbol GOOG --generations 5 --population 12 --seed 42 --json
  algolab evolve --symbol SPY --split 0.5,0.25 --early-stop 10 --report reports/spy-evolve
  algolab evolve --list
  algolab evolve --list --symbol GOOG --json

The bars are split by time into train / validation / test (default 60/20/20). Evolution
uses the training fitness (Sharpe, penalised below 10 trades and beyond a 30 % drawdown);
the reported genome is the one with the best validation fitness; the test window is scored
once at the end, through the backtest engine, next to buy & hold and `technical`. The
deflated Sharpe ratio counts every genome evaluated. The genome is stored in
DATA_DIR/ai_learning.db (table evolved_strategies).";

/// Run the command.
///
/// # Errors
/// Bad usage, data or settings (exit 2); engine, DB or report failures (exit 1).
pub fn run(args: EvolveArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    if args.list {
        return list(&args, g, ctx);
    }
    let spec = args.data.spec()?;
    let (train_frac, validation_frac) = app::parse_split(&args.split)?;
    let engine = args.engine.config("evolved", &args.data)?;
    let settings = app::EvolveSettings {
        ga: GaConfig {
            population: args.population as usize,
            generations: args.generations as usize,
            seed: args.seed,
            early_stop: args.early_stop.map(|n| n as usize),
            ..GaConfig::default()
        },
        train_frac,
        validation_frac,
        engine,
    };
    let req = app::EvolveRequest {
        data: spec,
        settings,
        report: args.report.clone(),
        record: !args.no_record,
    };
    let bar = (!g.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(args.generations);
        b.set_style(
            indicatif::ProgressStyle::with_template("evolving {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let quiet = g.quiet;
    let mut progress = |s: &GenerationStats| {
        let msg = format!(
            "best {:.3}  mean {:.3}  validation {:.3}",
            s.best_fitness, s.mean_fitness, s.best_validation_fitness
        );
        match &bar {
            Some(b) => {
                b.set_message(msg);
                b.set_position(s.generation as u64 + 1);
            }
            None if !quiet => eprintln!("generation {:>3}: {msg}", s.generation),
            None => {}
        }
    };
    let res = app::run(ctx, req, &mut progress);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let reply = match (res, &args.report) {
        (Err(e @ crate::Error::Report(_)), Some(dir)) => {
            return Err(
                anyhow::Error::from(e).context(format!("writing the report to {}", dir.display()))
            );
        }
        (r, _) => r?,
    };
    let (data, out, ids) = (&reply.data, &reply.outcome, reply.ids);
    note(g.quiet, &data.note);

    let mut human = summary(&data.label, out);
    if let Some((run_id, id)) = ids {
        human.push_str(&format!(
            "stored as evolved strategy {id} (run {run_id}) in {}; backtest it with --strategy evolved --param id={id}\n",
            ctx.db_path.display()
        ));
    }
    if let Some(html) = &reply.report {
        human.push_str(&format!("report: {}\n", html.display()));
    }
    result(g, &human);
    if g.json {
        let mut v = serde_json::to_value(out)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("symbol".into(), serde_json::json!(data.label));
            obj.insert("seed".into(), serde_json::json!(args.seed));
            obj.insert("population".into(), serde_json::json!(args.population));
            obj.insert("run_id".into(), serde_json::json!(ids.map(|i| i.0)));
            obj.insert("evolved_id".into(), serde_json::json!(ids.map(|i| i.1)));
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(())
}

/// The human summary.
fn summary(symbol: &str, o: &app::EvolveOutcome) -> String {
    let mut s = String::new();
    s.push_str(&format!("Symbol     {symbol}\nBest rule  {}\n", o.rule));
    for (name, w) in ["train", "validation", "test"].iter().zip(&o.window_times) {
        s.push_str(&format!("{name:<11}{} → {}\n", w[0], w[1]));
    }
    s.push_str(&format!(
        "Found in generation {} of {}{}; {} genomes evaluated\n",
        o.generation,
        o.generations_run,
        if o.stopped_early {
            " (stopped early)"
        } else {
            ""
        },
        o.evaluations
    ));
    s.push_str(&format!(
        "Fitness    train {}  validation {}\n",
        num(o.train.fitness, 3),
        num(o.validation.fitness, 3)
    ));
    let counted = format!("train, {} trials", o.evaluations);
    if let Some(line) = dsr_line(
        &counted,
        o.deflated_sharpe.as_ref(),
        o.deflated_sharpe_note.as_deref(),
    ) {
        s.push_str(&line);
    }
    let rows: Vec<WindowRow<'_>> = [
        ("evolved", &o.test),
        ("buy & hold", &o.buy_hold),
        ("technical", &o.technical),
    ]
    .into_iter()
    .map(|(name, f)| {
        let trades = f.trades.map_or("-".into(), |t| t.to_string());
        (name, f.return_pct, f.sharpe, f.max_drawdown_pct, trades)
    })
    .collect();
    s.push_str(&test_window_table(12, &rows));
    s
}

fn list(args: &EvolveArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let rows = app::list(ctx, args.data.symbol.as_deref(), args.limit)?;
    if g.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let f = |v: f64| v.is_finite().then_some(v);
                serde_json::json!({
                    "id": r.id,
                    "run_id": r.run_id,
                    "symbol": r.symbol,
                    "generation": r.generation,
                    "fitness": f(r.fitness),
                    "validation_fitness": f(r.validation_fitness),
                    "test_sharpe": f(r.test_sharpe),
                    "test_return_pct": f(r.test_return_pct),
                    "rule_text": r.rule_text,
                    "genes": serde_json::from_str::<serde_json::Value>(&r.genes_json).ok(),
                    "is_active": r.is_active,
                    "created_at": r.created_at,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if rows.is_empty() {
        result(g, "no evolved strategies stored yet\n");
        return Ok(());
    }
    println!(
        "{:>4}  {:<10} {:>4} {:>9} {:>9} {:>11} {:>12}  rule",
        "id", "symbol", "gen", "fitness", "val fit", "test Sharpe", "test ret [%]"
    );
    for r in rows {
        println!(
            "{:>4}  {:<10} {:>4} {:>9} {:>9} {:>11} {:>12}  {}",
            r.id,
            r.symbol,
            r.generation,
            num(r.fitness, 3),
            num(r.validation_fitness, 3),
            num(r.test_sharpe, 3),
            num(r.test_return_pct, 2),
            r.rule_text
        );
    }
    Ok(())
}
