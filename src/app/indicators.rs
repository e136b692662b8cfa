//! `algolab indicators`: the standard indicator columns (DESIGN §2) for every bar, as CSV
//! text. The CLI prints or writes it; a server would send it.

use std::fmt::Write as _;

use super::Ctx;
use super::backtest::{DataSpec, LoadedData, load_data};
use crate::Error;
use crate::indicators::standard_table;

/// What `algolab indicators` asks for.
#[derive(Debug, Clone)]
pub struct IndicatorsRequest {
    /// The bars.
    pub data: DataSpec,
}

/// The indicator table.
#[derive(Debug, Clone)]
pub struct IndicatorsReply {
    /// The bars and where they came from.
    pub data: LoadedData,
    /// Column names, `timestamp` first.
    pub columns: Vec<String>,
    /// The table as CSV (header line, one row per bar, empty cells during warm-up).
    pub csv: String,
}

/// `algolab indicators`.
///
/// # Errors
/// [`Error::Data`] for an unknown symbol or a bad file.
pub fn run(ctx: &Ctx, req: IndicatorsRequest) -> Result<IndicatorsReply, Error> {
    let data = load_data(&req.data, &ctx.data_dir)?;
    let table = standard_table(&data.bars);
    let mut columns = vec!["timestamp".to_string()];
    columns.extend(table.iter().map(|(name, _)| name.to_string()));
    let mut csv = String::with_capacity(data.bars.len() * 200);
    csv.push_str(&columns.join(","));
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
    Ok(IndicatorsReply { data, columns, csv })
}
