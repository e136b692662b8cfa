//! CSV bars: our format, yfinance exports and Binance klines, read with one fast loop.
//!
//! Formats, told apart by the header (see [`read_csv`]):
//! - **ours**: `timestamp,open,high,low,close,volume` in any column order (names
//!   case-insensitive; `date`, `datetime`, `time`, `open_time` also name the timestamp), plus
//!   any extra numeric columns, kept as [`Bars`] extras under their name lowercased with
//!   non-alphanumerics turned into `_` (`Adj Close` → `adj_close`).
//! - **yfinance**: the three header lines `Price,Close,High,Low,Open,Volume` /
//!   `Ticker,…` / `Date,,,,,`, columns in the order line 1 names them.
//! - **Binance klines**: 12 columns, open time in ms (or µs, 16 digits) first, then OHLCV;
//!   with or without the header `open_time,…,close_time,…`. The other six columns are ignored.
//!
//! Extra columns may be empty or `NaN` ("no value on this bar"); OHLCV cells may not.
//! Loading is strict: the first bad line stops it with a [`DataError::Line`]. The lenient
//! pass of [`crate::data::check`] runs the same loop and collects every problem instead.
//! Speed: `csv::ByteRecord` (no per-row allocation), columns allocated once from a newline
//! count, hand-rolled timestamp parsing.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::bars::check_bar;
use super::{Bar, Bars, Columns, DataError};
use crate::core::time::{parse_ts, trim};

/// Where problems found while reading go: strict loading stops at the first, the lenient
/// check collects them all.
pub(crate) trait Problems {
    /// Record a problem; `Err` stops the read.
    ///
    /// # Errors
    /// In strict mode, always: the problem itself.
    fn report(&mut self, e: DataError) -> Result<(), DataError>;
}

/// Stop at the first problem.
pub(crate) struct Strict;

impl Problems for Strict {
    fn report(&mut self, e: DataError) -> Result<(), DataError> {
        Err(e)
    }
}

/// Most problems the lenient pass keeps as text; past this it only counts them.
pub const MAX_PROBLEMS: usize = 1000;

/// Collect every problem (their text, up to [`MAX_PROBLEMS`], and their count).
#[derive(Debug, Default)]
pub(crate) struct Lenient {
    /// The problems, one line each.
    pub list: Vec<String>,
    /// How many there were, listed or not.
    pub total: usize,
}

impl Problems for Lenient {
    fn report(&mut self, e: DataError) -> Result<(), DataError> {
        self.total += 1;
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(e.to_string());
        }
        Ok(())
    }
}

/// The CSV dialect found in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `timestamp,open,high,low,close,volume[,extras]`.
    Ours,
    /// yfinance's three-line header.
    Yfinance,
    /// Binance klines, with a header line.
    BinanceHeader,
    /// Binance klines, no header.
    Binance,
}

impl Format {
    /// Lowercase name for reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Ours => "csv",
            Format::Yfinance => "yfinance csv",
            Format::BinanceHeader | Format::Binance => "binance csv",
        }
    }
}

/// Which field holds what.
struct Layout {
    ts: usize,
    ohlcv: [usize; 5],
    extras: Vec<(usize, String)>,
    n_fields: usize,
}

/// What a read produced: columns of the rows that parsed (all rows, when strict).
pub(crate) struct Parsed {
    pub cols: Columns,
    pub format: Format,
}

const TS_NAMES: [&str; 5] = ["timestamp", "date", "datetime", "time", "open_time"];
const OHLCV: [&str; 5] = ["open", "high", "low", "close", "volume"];

fn disp(path: &Path) -> String {
    path.display().to_string()
}

fn io_err(path: &Path, source: std::io::Error) -> DataError {
    DataError::Io {
        path: disp(path),
        source,
    }
}

fn text(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(trim(b));
    if s.len() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.into_owned()
    }
}

/// A header cell as a column name: trimmed, lowercased, non-alphanumerics as `_`.
pub(crate) fn column_name(b: &[u8]) -> String {
    String::from_utf8_lossy(trim(b))
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// File length and an estimate of its rows, from the first 64 KiB (rows are not counted:
/// a second pass over 10 M lines costs a quarter second). Also refuses an empty or binary
/// file.
struct Sniff {
    len: u64,
    avg_line: f64,
}

impl Sniff {
    /// Rows expected in `bytes` more bytes, with a 5 % margin.
    fn rows_in(&self, bytes: u64) -> usize {
        (bytes as f64 / self.avg_line * 1.05) as usize + 64
    }
}

fn sniff_file(path: &Path) -> Result<Sniff, DataError> {
    let mut f = File::open(path).map_err(|e| io_err(path, e))?;
    let len = f.metadata().map_err(|e| io_err(path, e))?.len();
    let mut head = Vec::with_capacity(1 << 16);
    (&mut f)
        .take(1 << 16)
        .read_to_end(&mut head)
        .map_err(|e| io_err(path, e))?;
    if head.is_empty() {
        return Err(DataError::File {
            path: disp(path),
            cause: "empty file".into(),
        });
    }
    let start = &head[..head.len().min(8192)];
    let bad_utf8 = match std::str::from_utf8(start) {
        Ok(_) => false,
        Err(e) => e.error_len().is_some(),
    };
    if start.contains(&0) || bad_utf8 {
        return Err(DataError::File {
            path: disp(path),
            cause: "binary file: not CSV text (and not Parquet)".into(),
        });
    }
    let lines = head.iter().filter(|&&b| b == b'\n').count().max(1);
    Ok(Sniff {
        len,
        avg_line: head.len() as f64 / lines as f64,
    })
}

/// Make room for more rows when the estimate was short: reserve exactly what the rest of
/// the file should hold, so a 10 M-row load never doubles its columns.
#[cold]
fn grow(cols: &mut Columns, extras: &mut [Vec<f64>], rows: usize) {
    cols.ts_ms.reserve_exact(rows);
    for c in [
        &mut cols.open,
        &mut cols.high,
        &mut cols.low,
        &mut cols.close,
        &mut cols.volume,
    ] {
        c.reserve_exact(rows);
    }
    for c in extras {
        c.reserve_exact(rows);
    }
}

fn line_err(path: &Path, line: u64, cause: impl Into<String>) -> DataError {
    DataError::Line {
        path: disp(path),
        line,
        cause: cause.into(),
    }
}

fn read_record(
    rdr: &mut ::csv::Reader<File>,
    rec: &mut ::csv::ByteRecord,
    path: &Path,
) -> Result<bool, DataError> {
    rdr.read_byte_record(rec).map_err(|e| {
        let line = e.position().map_or(0, ::csv::Position::line);
        match e.into_kind() {
            ::csv::ErrorKind::Io(io) => io_err(path, io),
            other => line_err(path, line, format!("{other:?}")),
        }
    })
}

fn rec_line(rec: &::csv::ByteRecord) -> u64 {
    rec.position().map_or(0, ::csv::Position::line)
}

/// Find our columns by name in a header record.
fn layout_by_name(
    names: &[String],
    path: &Path,
    line: u64,
    ts_names: &[&str],
) -> Result<Layout, DataError> {
    let header = names.join(",");
    let find = |want: &[&str]| names.iter().position(|n| want.contains(&n.as_str()));
    let ts = find(ts_names).ok_or_else(|| {
        line_err(
            path,
            line,
            format!("missing column timestamp (header: {header})"),
        )
    })?;
    let mut ohlcv = [0usize; 5];
    for (slot, want) in ohlcv.iter_mut().zip(OHLCV) {
        *slot = find(&[want]).ok_or_else(|| {
            line_err(
                path,
                line,
                format!("missing column {want} (header: {header})"),
            )
        })?;
    }
    let mut extras = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(line_err(path, line, format!("duplicate column {n}")));
        }
        if i != ts && !ohlcv.contains(&i) {
            if n.is_empty() {
                return Err(line_err(
                    path,
                    line,
                    format!("column {} has no name", i + 1),
                ));
            }
            extras.push((i, n.clone()));
        }
    }
    Ok(Layout {
        ts,
        ohlcv,
        extras,
        n_fields: names.len(),
    })
}

fn binance_layout(n_fields: usize) -> Layout {
    Layout {
        ts: 0,
        ohlcv: [1, 2, 3, 4, 5],
        extras: Vec::new(),
        n_fields,
    }
}

/// Read a CSV file of bars in any supported dialect (see the module doc), strictly.
///
/// # Errors
/// [`DataError::File`] for an empty or binary file or an unknown header;
/// [`DataError::Line`] naming the 1-based line and the cause for a missing column, a short
/// row, an empty or non-numeric cell, a bad timestamp, unsorted or duplicate timestamps,
/// inconsistent OHLC, negative prices or volume; [`DataError::Io`] if it cannot be read.
pub fn read_csv(path: &Path) -> Result<Bars, DataError> {
    let parsed = parse_csv(path, &mut Strict)?;
    let Parsed { cols, format } = parsed;
    if cols.is_empty() {
        return Err(DataError::File {
            path: disp(path),
            cause: "no bars after the header".into(),
        });
    }
    let header_lines: u64 = match format {
        Format::Ours | Format::BinanceHeader => 1,
        Format::Yfinance => 3,
        Format::Binance => 0,
    };
    // Rows were already checked one by one with their real line numbers; this mapping only
    // matters if Bars::new ever checks more than check_bar does.
    Bars::new(cols).map_err(|e| e.at_line(&disp(path), |i| i as u64 + header_lines + 1))
}

/// The shared read loop. With [`Strict`] it stops at the first problem; with [`Lenient`]
/// rows that do not parse are skipped and reported, rows that parse but break a bar
/// invariant are reported and kept.
pub(crate) fn parse_csv<P: Problems>(path: &Path, problems: &mut P) -> Result<Parsed, DataError> {
    let sniff = sniff_file(path)?;
    let cap = sniff.rows_in(sniff.len);
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(file);
    let mut rec = ::csv::ByteRecord::new();
    if !read_record(&mut rdr, &mut rec, path)? {
        return Err(DataError::File {
            path: disp(path),
            cause: "empty file".into(),
        });
    }
    let line1 = rec_line(&rec);
    let names: Vec<String> = rec.iter().map(column_name).collect();
    let first = names.first().map_or("", String::as_str);
    let all_digits = trim(rec.get(0).unwrap_or(b""))
        .iter()
        .all(u8::is_ascii_digit)
        && !trim(rec.get(0).unwrap_or(b"")).is_empty();
    let (format, layout, pending) = if first == "price" {
        let layout = layout_by_name(&names, path, line1, &["price"])?;
        for (want, n) in [("ticker", 2u64), ("date", 3)] {
            let ok = read_record(&mut rdr, &mut rec, path)?;
            let got = rec.get(0).map(column_name).unwrap_or_default();
            if !ok || !(got == want || (want == "date" && got == "datetime")) {
                return Err(line_err(
                    path,
                    line1 + n - 1,
                    format!("yfinance export: expected a line starting with {want:?}"),
                ));
            }
        }
        (Format::Yfinance, layout, false)
    } else if names.iter().any(|n| n == "close_time") && names.len() >= 6 {
        (Format::BinanceHeader, binance_layout(names.len()), false)
    } else if all_digits && rec.len() >= 6 && !names.iter().any(|n| n == "open") {
        (Format::Binance, binance_layout(rec.len()), true)
    } else if TS_NAMES.contains(&first) || OHLCV.iter().any(|c| names.iter().any(|n| n == c)) {
        (
            Format::Ours,
            layout_by_name(&names, path, line1, &TS_NAMES)?,
            false,
        )
    } else {
        return Err(line_err(
            path,
            line1,
            format!(
                "unrecognised header {:?}: expected timestamp,open,high,low,close,volume, a \
                 yfinance export or Binance klines",
                text(rec.as_slice())
            ),
        ));
    };

    let mut cols = Columns::with_capacity(cap);
    let mut extras: Vec<Vec<f64>> = layout
        .extras
        .iter()
        .map(|_| Vec::with_capacity(cap))
        .collect();
    let mut scratch = Vec::with_capacity(layout.extras.len());
    let mut prev: Option<i64> = None;
    let mut have = pending;
    loop {
        if !have && !read_record(&mut rdr, &mut rec, path)? {
            break;
        }
        have = false;
        if cols.ts_ms.len() == cols.ts_ms.capacity() {
            let done = rec.position().map_or(0, ::csv::Position::byte);
            grow(
                &mut cols,
                &mut extras,
                sniff.rows_in(sniff.len.saturating_sub(done)),
            );
        }
        let line = rec_line(&rec);
        match parse_row(&rec, &layout, &mut extras, &mut scratch) {
            Ok(bar) => {
                if let Err(cause) = check_bar(&bar, prev) {
                    problems.report(line_err(path, line, cause))?;
                }
                prev = Some(bar.ts_ms);
                cols.push(bar);
            }
            Err(cause) => problems.report(line_err(path, line, cause))?,
        }
    }
    for ((_, name), values) in layout.extras.into_iter().zip(extras) {
        cols.extra.insert(name, values);
    }
    Ok(Parsed { cols, format })
}

/// Parse one data row. On success the extras have been pushed; on failure nothing has.
#[inline]
fn parse_row(
    rec: &::csv::ByteRecord,
    layout: &Layout,
    extras: &mut [Vec<f64>],
    scratch: &mut Vec<f64>,
) -> Result<Bar, String> {
    if rec.len() != layout.n_fields {
        let what = if rec.len() < layout.n_fields {
            "short row"
        } else {
            "too many fields"
        };
        return Err(format!(
            "{what}: expected {} fields, found {}",
            layout.n_fields,
            rec.len()
        ));
    }
    let field = |i: usize| rec.get(i).unwrap_or(b"");
    let ts_raw = field(layout.ts);
    let ts_ms = parse_ts(ts_raw).ok_or_else(|| {
        if trim(ts_raw).is_empty() {
            "timestamp: empty cell".to_string()
        } else {
            format!("bad timestamp {:?}", text(ts_raw))
        }
    })?;
    let mut v = [0f64; 5];
    for (k, slot) in v.iter_mut().enumerate() {
        let raw = trim(field(layout.ohlcv[k]));
        if raw.is_empty() {
            return Err(format!("{}: empty cell", OHLCV[k]));
        }
        *slot = parse_f64(raw)
            .ok_or_else(|| format!("{}: {:?} is not a number", OHLCV[k], text(raw)))?;
    }
    // Parse every extra before pushing any, so a failed row leaves the columns aligned.
    scratch.clear();
    for (i, name) in &layout.extras {
        let raw = trim(field(*i));
        scratch.push(if raw.is_empty() {
            f64::NAN
        } else {
            match parse_f64(raw) {
                Some(x) if !x.is_infinite() => x,
                _ => return Err(format!("{name}: {:?} is not a number", text(raw))),
            }
        });
    }
    for (col, &x) in extras.iter_mut().zip(scratch.iter()) {
        col.push(x);
    }
    Ok(Bar {
        ts_ms,
        open: v[0],
        high: v[1],
        low: v[2],
        close: v[3],
        volume: v[4],
    })
}

/// Parse a number. Plain decimals (`123.45`, `-0.5`, at most 19 digits) take an exact fast
/// path: the digits as an integer below 2^53 divided by a power of ten that is itself exact
/// (≤ 10^22) is one correctly rounded IEEE division, so the result equals `str::parse`'s
/// (Clinger's fast path). Anything else goes to `str::parse::<f64>`.
#[inline]
pub(crate) fn parse_f64(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let (neg, body) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let mut mant: u64 = 0;
    let mut n_digits = 0usize;
    let mut frac_digits = 0usize;
    let mut seen_dot = false;
    for &c in body {
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if c.is_ascii_digit() {
            n_digits += 1;
            if n_digits > 19 {
                return parse_f64_slow(b);
            }
            mant = mant * 10 + u64::from(c - b'0');
            frac_digits += usize::from(seen_dot);
        } else {
            return parse_f64_slow(b);
        }
    }
    if n_digits == 0 || mant >= 1 << 53 {
        return parse_f64_slow(b);
    }
    #[allow(clippy::cast_precision_loss, reason = "mant < 2^53 is exact")]
    let v = mant as f64 / POW10[frac_digits];
    Some(if neg { -v } else { v })
}

#[cold]
fn parse_f64_slow(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::write_csv;

    fn write(dir: &tempfile::TempDir, name: &str, s: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, s).unwrap();
        p
    }

    #[test]
    fn fast_float_path_equals_std_parse() {
        for t in [
            "0",
            "-0",
            "1",
            "1.",
            ".5",
            "100.04",
            "0.1",
            "0.30000000000000004",
            "9007199254740993",
            "123456789.0123456789",
            "1e5",
            "inf",
            "NaN",
            "-93610.93",
            "00012.5000",
            "9999999999999999999",
            "18446744073709551616",
        ] {
            let want = t.parse::<f64>().ok();
            let got = parse_f64(t.as_bytes());
            assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{t}");
        }
        for t in ["", "-", ".", "1.2.3", "1-2", "abc"] {
            assert_eq!(parse_f64(t.as_bytes()), None, "{t}");
        }
    }

    #[test]
    fn reads_ours_with_extras_in_any_order() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            &d,
            "a.csv",
            "timestamp,close,open,high,low,volume,Funding Rate\n\
             2024-01-01,2,1,3,0.5,10,0.0001\n\
             2024-01-02T00:00:00Z,2.5,2,3,1.5,0,\n",
        );
        let b = read_csv(&p).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.bar(0).open, 1.0);
        assert_eq!(b.bar(0).close, 2.0);
        assert_eq!(b.bar(1).ts_ms - b.bar(0).ts_ms, 86_400_000);
        let fr = b.extra("funding_rate").unwrap();
        assert_eq!(fr[0], 0.0001);
        assert!(fr[1].is_nan());
    }

    #[test]
    fn errors_name_file_line_and_cause() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            (
                "2024-01-01,1,2,0.5,1,1\n2024-01-01,1,2,0.5,1,1\n",
                3,
                "duplicate",
            ),
            (
                "2024-01-01,1,2,0.5,1,1\n2024-01-02,1,2,0.5,abc,1\n",
                3,
                "close: \"abc\"",
            ),
            ("2024-01-01,1,2,0.5,1\n", 2, "short row"),
            ("2024-01-41,1,2,0.5,1,1\n", 2, "bad timestamp"),
            (
                "2024-01-01,1,2,0.5,1,-1\n",
                2,
                "volume must not be negative",
            ),
            ("2024-01-01,1,2,0.5,,1\n", 2, "close: empty cell"),
        ];
        for (body, line, cause) in cases {
            let p = write(
                &d,
                "x.csv",
                &format!("timestamp,open,high,low,close,volume\n{body}"),
            );
            let e = read_csv(&p).unwrap_err().to_string();
            assert!(e.contains(&format!("x.csv:{line}: ")), "{e}");
            assert!(e.contains(cause), "{e}");
        }
    }

    #[test]
    fn lenient_pass_collects_every_problem() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            &d,
            "x.csv",
            "timestamp,open,high,low,close,volume\n2024-01-01,1,2,0.5,1,-1\nbad,1,1,1,1,1\n\
             2024-01-03,1,2,0.5,1,1\n2024-01-02,1,2,0.5,1,1\n",
        );
        let mut l = Lenient::default();
        let parsed = parse_csv(&p, &mut l).unwrap();
        assert_eq!(parsed.cols.len(), 3);
        assert_eq!(l.total, 3, "{:?}", l.list);
        assert!(l.list[0].contains(":2:"));
        assert!(l.list[1].contains(":3:"));
        assert!(l.list[2].contains(":5:") && l.list[2].contains("unsorted"));
    }

    #[test]
    fn binance_with_and_without_header() {
        let d = tempfile::tempdir().unwrap();
        let row = "1735689600000000,93576.00,93610.93,93537.50,93610.93,8.21827,\
                   1735689659999999,768978.3,1755,4.6,433188.1,0\n";
        let p = write(&d, "b.csv", row);
        let b = read_csv(&p).unwrap();
        assert_eq!(b.bar(0).ts_ms, 1_735_689_600_000);
        assert_eq!(b.bar(0).volume, 8.21827);
        let p = write(
            &d,
            "bh.csv",
            &format!(
                "open_time,open,high,low,close,volume,close_time,quote_volume,count,\
                 taker_buy_volume,taker_buy_quote_volume,ignore\n{row}"
            ),
        );
        assert_eq!(read_csv(&p).unwrap().bar(0).close, 93610.93);
    }

    /// Columns are sized once from the file length and the first 64 KiB's line length: a
    /// large file is never read into doubled vectors or a second copy.
    #[test]
    fn columns_are_sized_once_from_the_file_length() {
        let d = tempfile::tempdir().unwrap();
        let n = 100_000;
        let b = crate::data::synth(&crate::data::SynthSpec {
            bars: n,
            seed: 5,
            ..crate::data::SynthSpec::default()
        })
        .unwrap();
        let p = d.path().join("b.csv");
        write_csv(&b, &p).unwrap();
        let cols = read_csv(&p).unwrap().into_columns();
        assert_eq!(cols.len(), n);
        for cap in [
            cols.ts_ms.capacity(),
            cols.open.capacity(),
            cols.close.capacity(),
            cols.volume.capacity(),
        ] {
            // the estimate from the first 64 KiB may be a little high, never a doubling
            assert!(cap >= n && cap < n + n / 2, "capacity {cap} for {n} rows");
        }
    }

    #[test]
    fn written_csv_reads_back_exactly() {
        let d = tempfile::tempdir().unwrap();
        let b = Bars::from_bars([Bar {
            ts_ms: 1_500,
            open: 0.1 + 0.2,
            high: 1e-7 + 1.0,
            low: 0.1,
            close: 0.3,
            volume: 123_456_789.012_345_67,
        }])
        .unwrap()
        .with_extra("oi", vec![f64::NAN])
        .unwrap();
        let p = d.path().join("o.csv");
        write_csv(&b, &p).unwrap();
        let back = read_csv(&p).unwrap();
        assert_eq!(back.bar(0), b.bar(0));
        assert!(back.extra("oi").unwrap()[0].is_nan());
    }
}
