//! Writing bars as our CSV: exact round trips, atomic replacement.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::{Bars, DataError};
use crate::core::time::{TsStyle, write_ts};

/// Write bars as our CSV (`timestamp,open,high,low,close,volume[,extras]`), atomically
/// (a temp file in the same folder, then a rename). Timestamps print as `YYYY-MM-DD` when
/// all are midnights, else ISO-8601 UTC with `Z` (milliseconds only when needed); floats
/// print in Rust's shortest round-trip form, so reading the file back gives the same bits.
/// NaN in an extra column prints as an empty cell.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be written.
pub fn write_csv(bars: &Bars, path: &Path) -> Result<(), DataError> {
    super::file::atomic_write(path, |f| write_csv_to(bars, f))
}

fn write_csv_to(bars: &Bars, f: &mut File) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let style = TsStyle::for_all(bars.ts_ms());
    let mut line = Vec::with_capacity(256);
    line.extend_from_slice(b"timestamp,open,high,low,close,volume");
    for name in bars.extras().keys() {
        line.push(b',');
        line.extend_from_slice(name.as_bytes());
    }
    line.push(b'\n');
    w.write_all(&line)?;
    let extras: Vec<&[f64]> = bars.extras().values().map(Vec::as_slice).collect();
    for (i, b) in bars.iter().enumerate() {
        line.clear();
        write_ts(&mut line, b.ts_ms, style);
        for v in [b.open, b.high, b.low, b.close, b.volume] {
            write!(line, ",{v}")?;
        }
        for col in &extras {
            let v = col[i];
            if v.is_nan() {
                line.push(b',');
            } else {
                write!(line, ",{v}")?;
            }
        }
        line.push(b'\n');
        w.write_all(&line)?;
    }
    w.flush()
}
