//! `algolab strategies`: list the built-in strategies, their parameters, defaults and
//! ranges. Parsing and printing only; the list is [`crate::app::strategies::run`].

use std::fmt::Write as _;

use clap::Args;

use super::Global;
use super::common::{result, stdout};
use crate::app::Ctx;

/// List strategies with their parameters.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  algolab strategies
  algolab strategies --json")]
pub struct StrategiesArgs {}

/// Run the command.
///
/// # Errors
/// Only a registry bug.
pub fn run(_args: StrategiesArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let list = crate::app::strategies::run(ctx)?;
    if g.json {
        stdout(&format!("{}\n", serde_json::to_string_pretty(&list)?));
    }
    let mut h = String::new();
    for s in &list {
        let _ = writeln!(h, "{}", s.name);
        for p in &s.params {
            let range = match (p.min, p.max) {
                // an unbounded integer (i64::MAX) would print as 9223372036854776000
                (Some(a), Some(b)) if b >= 9_007_199_254_740_992.0 => format!("{a} or more"),
                (Some(a), Some(b)) => format!("{a} to {b}"),
                _ => "true|false".to_string(),
            };
            let _ = writeln!(
                h,
                "  {:<22} {:<6} default {:<8} {:<20} {}",
                p.name,
                p.kind,
                p.default.to_string(),
                range,
                p.doc
            );
        }
        if !s.constraints.is_empty() {
            let _ = writeln!(h, "  constraints: {}", s.constraints.join(", "));
        }
    }
    result(g, &h);
    Ok(())
}
