//! `algolab report RUN_ID`: rebuild a run's report from the learning DB, or list runs.

use std::path::PathBuf;

use clap::Args;

use super::Global;
use super::common::result;
use crate::app::Ctx;
use crate::app::report as app;

/// Rebuild a recorded run's report (HTML, PNG, CSV) from the learning DB.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  algolab report 3                      # writes reports/run-3/
  algolab report 3 --out /tmp/run3
  algolab report --list                 # recent runs with their headline stats")]
pub struct ReportArgs {
    /// The run id (`algolab backtest` prints it; `--list` shows them).
    #[arg(required_unless_present = "list")]
    pub run_id: Option<i64>,
    /// Output directory (default `reports/run-<ID>`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// List recent runs instead.
    #[arg(long)]
    pub list: bool,
    /// How many runs `--list` shows.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// Run the command.
///
/// # Errors
/// Unknown run (exit 2), DB or report failure (exit 1).
pub fn run(args: ReportArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    if args.list {
        let runs = app::list(ctx, args.limit)?;
        if g.json {
            let rows: Vec<serde_json::Value> = runs
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "command": r.record.command,
                        "symbol": r.record.symbol,
                        "strategy": r.record.strategy,
                        "started_at": r.record.started_at,
                        "stats": r.stats_json.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        } else {
            let mut h = String::new();
            for r in &runs {
                h.push_str(&format!(
                    "{:>5}  {:<9} {:<10} {:<10} {}\n",
                    r.id,
                    r.record.command,
                    r.record.symbol.as_deref().unwrap_or("-"),
                    r.record.strategy.as_deref().unwrap_or("-"),
                    r.record.started_at
                ));
            }
            result(g, &h);
        }
        return Ok(());
    }
    let Some(run_id) = args.run_id else {
        return Err(super::UsageError("give a RUN_ID or --list".into()).into());
    };
    let reply = app::run(
        ctx,
        app::ReportRequest {
            run_id,
            out: args.out,
        },
    )?;
    result(g, &format!("report: {}\n", reply.html.display()));
    if g.json {
        println!(
            "{}",
            serde_json::json!({ "run_id": reply.run_id, "report": reply.html })
        );
    }
    Ok(())
}
