//! `algolab indicators`: the standard indicator columns (DESIGN §2) for every bar, as CSV.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::Global;
use super::common::{DataArgs, note, result};
use crate::app::Ctx;
use crate::app::indicators as app;

/// Write TA-Lib-exact indicator columns for every bar as CSV.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  algolab indicators --symbol BTC/USDT --out btc_indicators.csv
  algolab indicators --data datasets/GOOG.csv | head

Columns: timestamp,ema_12,ema_26,sma_20,rsi_14,atr_14,adx_14,plus_di_14,minus_di_14,
macd,macd_signal,macd_hist,bb_upper,bb_middle,bb_lower — TA-Lib's definitions, seeds and
warm-up lengths (MACD 12/26/9, Bollinger 20 bars ±2σ); cells are empty during warm-up.")]
pub struct IndicatorsArgs {
    /// Bars to read (`--from`/`--to` are ignored here).
    #[command(flatten)]
    pub data: DataArgs,
    /// Write the CSV here (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Run the command.
///
/// # Errors
/// Bad data or symbol (exit 2), a file that cannot be written (exit 1).
pub fn run(args: IndicatorsArgs, g: Global, ctx: &Ctx) -> anyhow::Result<()> {
    let reply = app::run(
        ctx,
        app::IndicatorsRequest {
            data: args.data.spec()?,
        },
    )?;
    let data = &reply.data;
    note(g.quiet, &data.note);
    match &args.out {
        Some(path) => {
            if path.is_dir() {
                return Err(super::UsageError(format!(
                    "--out {} is a directory; give a file name",
                    path.display()
                ))
                .into());
            }
            // the error names the path already
            crate::store::atomic_write(path, reply.csv.as_bytes()).context("writing --out")?;
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "rows": data.bars.len(),
                        "columns": reply.columns,
                        "output": path.display().to_string(),
                    })
                );
            }
            result(
                g,
                &format!("wrote {} rows to {}\n", data.bars.len(), path.display()),
            );
        }
        None if g.json => {
            println!("{}", serde_json::to_string(&json_rows(&reply.csv))?);
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // a closed pipe (`| head`) is not an error
            let _ = out.write_all(reply.csv.as_bytes());
        }
    }
    Ok(())
}

/// The CSV as a JSON array of objects (`timestamp` a string, indicators numbers or `null`
/// during warm-up).
fn json_rows(csv: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let mut lines = csv.lines();
    let head: Vec<&str> = lines
        .next()
        .map(|h| h.split(',').collect())
        .unwrap_or_default();
    lines
        .map(|l| {
            head.iter()
                .zip(l.split(','))
                .map(|(k, v)| {
                    let val = if *k == "timestamp" {
                        serde_json::Value::String(v.to_string())
                    } else {
                        v.parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .map_or(serde_json::Value::Null, serde_json::Value::Number)
                    };
                    ((*k).to_string(), val)
                })
                .collect()
        })
        .collect()
}
