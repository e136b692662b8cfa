//! `algolab explain RUN_ID [--trade N]` and `algolab ai status`: parsing and printing only;
//! the work is in [`crate::app::ai`].

use clap::{Args, Subcommand};

use super::Global;
use crate::app::Ctx;
use crate::app::ai as app;

/// Explain an `ai` run's trades.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  algolab backtest --symbol BTC/USDT --strategy ai     # prints the run id
  algolab explain 1 --trade 0
  algolab explain 1 --json")]
pub struct ExplainArgs {
    /// The run id (`algolab report --list`).
    pub run_id: i64,
    /// Only this trade (0-based, the DB's `trades.seq`; trades.csv numbers them from 1).
    #[arg(long, value_name = "N")]
    pub trade: Option<i64>,
}

/// `algolab ai …`.
#[derive(Debug, Args)]
pub struct AiArgs {
    /// What to show.
    #[command(subcommand)]
    pub command: AiCommand,
}

/// The `ai` subcommands.
#[derive(Debug, Subcommand)]
pub enum AiCommand {
    /// Weights, components available, LLM settings, online health, leverage results.
    Status,
    /// Write the default model files (models/default/*.json) from the learning DB: the
    /// newest dqn and leverage-dqn models and evolved genome of the symbol
    /// (scripts/default_models.sh trains them and calls this).
    ExportDefaults {
        /// The symbol whose models to export.
        #[arg(long, default_value = "BTC/USDT")]
        symbol: String,
        /// Folder to write into.
        #[arg(long, default_value = crate::app::defaults::DIR)]
        out: std::path::PathBuf,
    },
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// Run `explain`.
///
/// # Errors
/// Bad usage (unknown run or trade, not an `ai` run: exit 2) or DB failures.
pub fn explain(args: ExplainArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let reply = app::explain(
        ctx,
        app::ExplainRequest {
            run_id: args.run_id,
            trade: args.trade,
        },
    )?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&reply)?);
        return Ok(());
    }
    let mut out = format!("run {} ({})\n", reply.run_id, reply.strategy);
    for t in &reply.trades {
        out += &format!(
            "\ntrade {}: {} {} → {}, return {:.2} %, exit {}\n",
            t.trade,
            t.side,
            crate::data::fmt_ts(t.entry_ts_ms),
            crate::data::fmt_ts(t.exit_ts_ms),
            t.return_pct,
            t.exit_reason
        );
        if t.decisions.is_empty() {
            out += "  no stored decision (opened before the window or by a protective order)\n";
        }
        for d in &t.decisions {
            out += &format!(
                "  {} at {}: {} confidence {:.3}, size {}, leverage {}, regime {}\n",
                d["intent"].as_str().unwrap_or(""),
                crate::data::fmt_ts(d["ts_ms"].as_i64().unwrap_or(0)),
                d["action"].as_str().unwrap_or(""),
                d["confidence"].as_f64().unwrap_or(0.0),
                pct(d["size_frac"].as_f64().unwrap_or(0.0)),
                d["leverage"],
                d["regime"].as_str().unwrap_or("unknown"),
            );
            if let Some(v) = d["veto"].as_str() {
                out += &format!("    LLM veto: {v}\n");
            }
            for v in d["decision"]["votes"].as_array().into_iter().flatten() {
                let Some(o) = v["opinion"].as_object() else {
                    continue;
                };
                let reasons: Vec<String> = o
                    .get("reasons")
                    .and_then(|r| r.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|r| {
                        let kind = r["kind"].as_str()?;
                        Some(match kind {
                            "technical" => r["reason"]["kind"].as_str().unwrap_or(kind).to_string(),
                            "llm" => format!("llm: {}", r["explanation"].as_str().unwrap_or("")),
                            "blocked" => format!("blocked: {}", r["why"].as_str().unwrap_or("")),
                            _ => kind.to_string(),
                        })
                    })
                    .collect();
                out += &format!(
                    "    {:<9} weight {} → {:.3}: {} {:.2}{}  [{}]\n",
                    v["component"].as_str().unwrap_or(""),
                    v["weight"],
                    v["effective_weight"].as_f64().unwrap_or(0.0),
                    o.get("action").and_then(|a| a.as_str()).unwrap_or(""),
                    o.get("confidence").and_then(|c| c.as_f64()).unwrap_or(0.0),
                    if v["blocked"].as_bool() == Some(true) {
                        " (blocked)"
                    } else {
                        ""
                    },
                    reasons.join(", ")
                );
            }
            for w in d["without"].as_array().into_iter().flatten() {
                out += &format!(
                    "    without {}: {} {:.3}\n",
                    w[0].as_str().unwrap_or(""),
                    w[1].as_str().unwrap_or(""),
                    w[2].as_f64().unwrap_or(0.0)
                );
            }
        }
    }
    print!("{out}");
    Ok(())
}

/// Run `ai status`.
///
/// # Errors
/// A bad `AI_TIMEOUT` (exit 2) or DB failures.
pub fn run(args: AiArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    if let AiCommand::ExportDefaults { symbol, out } = &args.command {
        if !ctx.db_path.is_file() {
            return Err(super::UsageError(format!(
                "no learning DB at {} (train the models first: scripts/default_models.sh)",
                ctx.db_path.display()
            ))
            .into());
        }
        let files = crate::app::defaults::export(&ctx.store()?, symbol, out)?;
        for f in files {
            println!("{}", f.display());
        }
        return Ok(());
    }
    let llm = crate::ai::llm::LlmConfig::from_vars(|k| std::env::var(k).ok())?;
    let s = app::status(ctx, llm)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    let mut out = format!("weights: {}\ncomponents:\n", s.weights.to_spec());
    for (c, ok, why) in &s.components {
        out += &format!(
            "  {c:<9} {}  {why}\n",
            if *ok { "available" } else { "absent   " }
        );
    }
    out += &format!(
        "llm: {} at {}, timeout {:?}, {}; calls recorded {} ({} answered)\n",
        s.llm.model,
        s.llm.host,
        s.llm.timeout,
        if s.llm.enabled { "enabled" } else { "disabled" },
        s.llm_calls.0,
        s.llm_calls.1
    );
    for (c, src) in &s.sources {
        out += &format!("last ai run: {c} from {src}\n");
    }
    match &s.state_file {
        Some(p) => {
            out += &format!(
                "state: {} (updated {})\n",
                p.display(),
                s.updated_at.as_deref().unwrap_or("?")
            )
        }
        None => out += "state: none yet (run `algolab backtest --strategy ai`)\n",
    }
    if !s.health.is_empty() {
        out += "online health (strategy|regime, status, trades, win rate, expectancy):\n";
        for (k, st, n, wr, ex) in &s.health {
            out += &format!(
                "  {k:<22} {st:<12} {n:>3}  {}  {:.3} %\n",
                pct(*wr),
                100.0 * ex
            );
        }
    }
    if !s.leverage.is_empty() {
        out += "results per leverage level (leverage, trades, wins, return sum):\n";
        for (l, n, w, r) in &s.leverage {
            out += &format!("  {l:>4}x  {n:>5}  {w:>5}  {r:.2} %\n");
        }
    }
    print!("{out}");
    Ok(())
}
