//! Writing bars as our CSV: exact round trips, atomic replacement, and crash-safe appends
//! of a growing series ([`append_csv`]).

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
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

/// The header line of `bars` (with its newline).
fn header(bars: &Bars) -> Vec<u8> {
    let mut line = Vec::with_capacity(128);
    line.extend_from_slice(b"timestamp,open,high,low,close,volume");
    for name in bars.extras().keys() {
        line.push(b',');
        line.extend_from_slice(name.as_bytes());
    }
    line.push(b'\n');
    line
}

fn write_csv_to(bars: &Bars, f: &mut File) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, f);
    w.write_all(&header(bars))?;
    write_rows(bars, 0, &mut w)?;
    w.flush()
}

/// Write the rows of `bars` from index `from` on (timestamps in the style of the whole
/// series, so appending the tail of a series prints it as writing the series does).
fn write_rows(bars: &Bars, from: usize, w: &mut impl Write) -> std::io::Result<()> {
    let style = TsStyle::for_all(bars.ts_ms());
    let mut line = Vec::with_capacity(256);
    let extras: Vec<&[f64]> = bars.extras().values().map(Vec::as_slice).collect();
    for (i, b) in bars.iter().enumerate().skip(from) {
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
    Ok(())
}

/// What [`append_csv`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvAppend {
    /// Rows appended.
    pub appended: usize,
    /// Bytes of a torn last line (a writer killed mid-row) cut off before appending.
    pub repaired_bytes: u64,
    /// The file was missing, or its header or last row was not this series': written anew,
    /// atomically.
    pub rewritten: bool,
}

/// Bring the CSV file at `path` (as [`write_csv`] writes it) up to `bars` by appending only
/// the rows after its last complete row, so a file that grows with every tick is never
/// rewritten. Crash-safe: a last line without its newline (the writer was killed mid-row)
/// is cut off and written again, and rows at or before the last complete row are never
/// appended twice (a tick redone after a kill finds its rows already there). A missing
/// file, a header of other columns or an unreadable last row gets the whole series,
/// written atomically.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read or written.
pub fn append_csv(bars: &Bars, path: &Path) -> Result<CsvAppend, DataError> {
    let io = |source| DataError::Io {
        path: path.display().to_string(),
        source,
    };
    let rewrite = || -> Result<CsvAppend, DataError> {
        write_csv(bars, path)?;
        Ok(CsvAppend {
            appended: bars.len(),
            repaired_bytes: 0,
            rewritten: true,
        })
    };
    let mut f = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return rewrite(),
        Err(e) => return Err(io(e)),
    };
    let len = f.metadata().map_err(io)?.len();
    let head = header(bars);
    let mut first = vec![0u8; head.len()];
    if len < head.len() as u64 || f.read_exact(&mut first).is_err() || first != head {
        return rewrite();
    }
    // the tail: enough to hold the last complete row and any torn one after it
    let tail_from = len.saturating_sub(64 * 1024).max(head.len() as u64 - 1);
    f.seek(SeekFrom::Start(tail_from)).map_err(io)?;
    let mut tail = Vec::with_capacity((len - tail_from) as usize);
    f.read_to_end(&mut tail).map_err(io)?;
    // tail[0] is the header's newline or lies inside the rows; cut after the last newline
    let Some(last_nl) = tail.iter().rposition(|&b| b == b'\n') else {
        return rewrite();
    };
    let keep = tail_from + last_nl as u64 + 1;
    let repaired_bytes = len - keep;
    if repaired_bytes > 0 {
        f.set_len(keep).map_err(io)?;
    }
    let last_row = tail[..last_nl]
        .rsplit(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    let from = if keep == head.len() as u64 {
        0 // header only
    } else {
        let cell = last_row.split(|&b| b == b',').next().unwrap_or_default();
        let Some(last_ts) = crate::core::time::parse_ts(cell) else {
            return rewrite();
        };
        bars.ts_ms().partition_point(|&t| t <= last_ts)
    };
    f.seek(SeekFrom::Start(keep)).map_err(io)?;
    let mut w = BufWriter::new(&mut f);
    write_rows(bars, from, &mut w).map_err(io)?;
    w.flush().map_err(io)?;
    drop(w);
    f.sync_data().map_err(io)?;
    Ok(CsvAppend {
        appended: bars.len() - from,
        repaired_bytes,
        rewritten: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Bar, read_csv};

    fn series(n: usize, step: i64) -> Bars {
        let bars = Bars::from_bars((0..n).map(|k| {
            let c = 100.0 + k as f64 * 0.25;
            Bar {
                ts_ms: 1_700_000_000_000 + k as i64 * step,
                open: c,
                high: c + 1.0,
                low: c - 1.0,
                close: c + 0.5,
                volume: 10.0 + k as f64,
            }
        }))
        .unwrap();
        let funding = (0..n)
            .map(|k| if k % 8 == 0 { 0.0001 } else { f64::NAN })
            .collect();
        bars.with_extra("funding_rate", funding).unwrap()
    }

    #[test]
    fn appending_tick_by_tick_gives_the_file_written_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (grown, whole) = (dir.path().join("grown.csv"), dir.path().join("whole.csv"));
        let all = series(30, 3_600_000);
        let first = append_csv(&all.slice(0..5), &grown).unwrap();
        assert!(first.rewritten);
        for end in [5, 9, 9, 17, 30] {
            let r = append_csv(&all.slice(0..end), &grown).unwrap();
            assert!(!r.rewritten && r.repaired_bytes == 0);
        }
        write_csv(&all, &whole).unwrap();
        assert_eq!(
            std::fs::read(&grown).unwrap(),
            std::fs::read(&whole).unwrap()
        );
        let back = read_csv(&grown).unwrap();
        assert_eq!(back.ts_ms(), all.ts_ms());
    }

    #[test]
    fn a_torn_last_line_is_cut_and_written_again_never_doubled() {
        let dir = tempfile::tempdir().unwrap();
        let (path, whole) = (dir.path().join("b.csv"), dir.path().join("whole.csv"));
        let all = series(20, 86_400_000);
        write_csv(&all, &whole).unwrap();
        let want = std::fs::read(&whole).unwrap();
        // a writer killed at every byte of the last rows, then the next tick
        let prefix = std::fs::read(&whole).unwrap();
        let header_len = header(&all).len();
        for cut in (header_len..prefix.len()).rev().step_by(7) {
            std::fs::write(&path, &prefix[..cut]).unwrap();
            let r = append_csv(&all, &path).unwrap();
            assert!(!r.rewritten, "cut at {cut}");
            let torn = !prefix[..cut].ends_with(b"\n");
            assert_eq!(r.repaired_bytes > 0, torn, "cut at {cut}");
            assert_eq!(std::fs::read(&path).unwrap(), want, "cut at {cut}");
        }
        // the next tick redone after a kill finds its rows there already
        let r = append_csv(&all, &path).unwrap();
        assert_eq!(r.appended, 0);
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }

    #[test]
    fn another_header_or_a_missing_file_gets_the_whole_series() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.csv");
        let all = series(10, 60_000);
        let old = Bars::from_bars(all.iter()).unwrap();
        write_csv(&old.slice(0..4), &path).unwrap();
        let r = append_csv(&all, &path).unwrap();
        assert!(r.rewritten, "the funding column was added");
        assert_eq!(read_csv(&path).unwrap().extras().len(), 1);
        std::fs::write(&path, b"times").unwrap();
        assert!(append_csv(&all, &path).unwrap().rewritten);
        assert_eq!(read_csv(&path).unwrap().ts_ms(), all.ts_ms());
    }
}
