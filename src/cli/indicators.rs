//! `algolab indicators`: the standard indicator columns (DESIGN §2) for every bar, as CSV.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::Global;
use super::common::{DataArgs, note};
use crate::app::backtest::load_data;
use crate::indicators::standard_table;

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
pub fn run(args: IndicatorsArgs, g: Global) -> anyhow::Result<()> {
    let data = load_data(&args.data.spec()?, &crate::data::data_dir())?;
    note(g.quiet, &data.note);
    let table = standard_table(&data.bars);
    let mut csv = String::with_capacity(data.bars.len() * 200);
    csv.push_str("timestamp");
    for (name, _) in &table {
        csv.push(',');
        csv.push_str(name);
    }
    csv.push('\n');
    for (i, &ts) in data.bars.ts_ms().iter().enumerate() {
        csv.push_str(&crate::data::fmt_ts(ts));
        for (_, col) in &table {
            csv.push(',');
            if let Some(v) = col[i] {
                let _ = write!(csv, "{v}");
            }
        }
        csv.push('\n');
    }
    match &args.out {
        Some(path) => {
            crate::store::atomic_write(path, csv.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            note(
                g.quiet,
                &format!("wrote {} rows to {}", data.bars.len(), path.display()),
            );
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // a closed pipe (`| head`) is not an error
            let _ = out.write_all(csv.as_bytes());
        }
    }
    Ok(())
}
