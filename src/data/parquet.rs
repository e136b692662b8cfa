//! Parquet bars through arrow-rs, Snappy-compressed, readable by pandas and polars.
//!
//! Written schema: `timestamp` as `Timestamp(Millisecond, "UTC")`, then `open`, `high`,
//! `low`, `close`, `volume` and each extra column (name order) as non-null `Float64`
//! (an extra's "no value" is NaN, kept bit for bit).
//!
//! Reading is more forgiving about types: the timestamp may be a timestamp of any unit
//! (sub-millisecond parts are floored), `Int64` epoch ms, `Date32` or `Date64`; values may be
//! any float or integer type; column names match case-insensitively (`Date`, `Open`, …).
//! Null values read as NaN and so fail validation on OHLCV columns. Non-numeric columns and
//! pandas' `__index_level_0__` are skipped. In errors, the "line" of a Parquet file is the
//! 1-based row.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use ::parquet::arrow::ArrowWriter;
use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use ::parquet::basic::Compression;
use ::parquet::file::properties::WriterProperties;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::csv::column_name;
use super::{Bars, Columns, DataError};

const ROWS_PER_BATCH: usize = 1 << 20;

fn file_err(path: &Path, cause: impl Into<String>) -> DataError {
    DataError::File {
        path: path.display().to_string(),
        cause: cause.into(),
    }
}

/// Read a Parquet file of bars (see the module doc for the accepted schema).
///
/// # Errors
/// [`DataError::File`] if it is not Parquet, lacks a column or has no rows;
/// [`DataError::Line`] naming the 1-based row of the first bar that breaks an invariant.
pub fn read_parquet(path: &Path) -> Result<Bars, DataError> {
    let cols = read_parquet_columns(path)?;
    if cols.is_empty() {
        return Err(file_err(path, "no bars in the file"));
    }
    Bars::new(cols).map_err(|e| e.at_line(&path.display().to_string(), |i| i as u64 + 1))
}

/// Read the columns of a Parquet file without validating the bars.
///
/// # Errors
/// As [`read_parquet`], less the bar checks.
pub(crate) fn read_parquet_columns(path: &Path) -> Result<Columns, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let not_pq = |e: ::parquet::errors::ParquetError| {
        file_err(path, format!("not a readable parquet file: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(not_pq)?;
    let rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let schema = builder.schema().clone();
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| column_name(f.name().as_bytes()))
        .collect();
    let find = |want: &[&str]| names.iter().position(|n| want.contains(&n.as_str()));
    let ts_idx = find(&["timestamp", "date", "datetime", "time", "open_time"])
        .ok_or_else(|| file_err(path, "missing column timestamp"))?;
    let mut ohlcv = [0usize; 5];
    for (slot, want) in ohlcv
        .iter_mut()
        .zip(["open", "high", "low", "close", "volume"])
    {
        *slot = find(&[want]).ok_or_else(|| file_err(path, format!("missing column {want}")))?;
        if !is_numeric(schema.field(*slot).data_type()) {
            return Err(file_err(
                path,
                format!(
                    "column {want} has type {}, not a number",
                    schema.field(*slot).data_type()
                ),
            ));
        }
    }
    let extras: Vec<(usize, String)> = names
        .iter()
        .enumerate()
        .filter(|(i, n)| {
            *i != ts_idx
                && !ohlcv.contains(i)
                && !n.starts_with("__")
                && is_numeric(schema.field(*i).data_type())
        })
        .map(|(i, n)| (i, n.clone()))
        .collect();

    let mut cols = Columns::with_capacity(rows);
    let mut extra_vals: Vec<Vec<f64>> = extras.iter().map(|_| Vec::with_capacity(rows)).collect();
    let reader = builder.with_batch_size(65_536).build().map_err(not_pq)?;
    for batch in reader {
        let batch = batch.map_err(|e| file_err(path, format!("reading parquet: {e}")))?;
        let first_row = cols.len();
        push_ts(batch.column(ts_idx), &mut cols.ts_ms).map_err(|cause| DataError::Line {
            path: path.display().to_string(),
            line: (first_row + cause.0) as u64 + 1,
            cause: cause.1,
        })?;
        let targets = [
            &mut cols.open,
            &mut cols.high,
            &mut cols.low,
            &mut cols.close,
            &mut cols.volume,
        ];
        for (idx, target) in ohlcv.iter().zip(targets) {
            push_f64(batch.column(*idx), target);
        }
        for ((idx, _), target) in extras.iter().zip(extra_vals.iter_mut()) {
            push_f64(batch.column(*idx), target);
        }
    }
    for ((_, name), values) in extras.into_iter().zip(extra_vals) {
        cols.extra.insert(name, values);
    }
    Ok(cols)
}

fn is_numeric(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Float64
            | DataType::Float32
            | DataType::Int64
            | DataType::Int32
            | DataType::UInt64
            | DataType::UInt32
    )
}

/// Append a numeric column as f64, nulls as NaN.
fn push_f64(a: &ArrayRef, out: &mut Vec<f64>) {
    fn ext<T: arrow_array::ArrowPrimitiveType>(
        a: &ArrayRef,
        out: &mut Vec<f64>,
        f: impl Fn(T::Native) -> f64,
    ) {
        let p = a.as_primitive::<T>();
        if p.null_count() == 0 {
            out.extend(p.values().iter().map(|&v| f(v)));
        } else {
            out.extend(p.iter().map(|v| v.map_or(f64::NAN, &f)));
        }
    }
    #[allow(
        clippy::cast_precision_loss,
        reason = "integer volumes above 2^53 are not real"
    )]
    match a.data_type() {
        DataType::Float64 => ext::<Float64Type>(a, out, |v| v),
        DataType::Float32 => ext::<Float32Type>(a, out, f64::from),
        DataType::Int64 => ext::<Int64Type>(a, out, |v| v as f64),
        DataType::Int32 => ext::<Int32Type>(a, out, f64::from),
        DataType::UInt64 => ext::<UInt64Type>(a, out, |v| v as f64),
        DataType::UInt32 => ext::<UInt32Type>(a, out, f64::from),
        _ => out.extend(std::iter::repeat_n(f64::NAN, a.len())),
    }
}

/// Append a timestamp column as UTC ms; `Err((row_in_batch, cause))` on a null or a bad type.
fn push_ts(a: &ArrayRef, out: &mut Vec<i64>) -> Result<(), (usize, String)> {
    if a.null_count() > 0 {
        let row = (0..a.len()).find(|&i| a.is_null(i)).unwrap_or(0);
        return Err((row, "timestamp: null".into()));
    }
    fn ext<T: arrow_array::ArrowPrimitiveType>(
        a: &ArrayRef,
        out: &mut Vec<i64>,
        f: impl Fn(T::Native) -> i64,
    ) {
        out.extend(a.as_primitive::<T>().values().iter().map(|&v| f(v)));
    }
    match a.data_type() {
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            ext::<TimestampMillisecondType>(a, out, |v| v);
        }
        DataType::Int64 => ext::<Int64Type>(a, out, |v| v),
        DataType::Timestamp(TimeUnit::Second, _) => {
            ext::<TimestampSecondType>(a, out, |v| v.saturating_mul(1000));
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            ext::<TimestampMicrosecondType>(a, out, |v| v.div_euclid(1000));
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            ext::<TimestampNanosecondType>(a, out, |v| v.div_euclid(1_000_000));
        }
        DataType::Date32 => ext::<Date32Type>(a, out, |d| i64::from(d) * 86_400_000),
        DataType::Date64 => ext::<Date64Type>(a, out, |v| v),
        other => return Err((0, format!("timestamp column has type {other}, not a time"))),
    }
    Ok(())
}

/// Write bars as Parquet (schema in the module doc), Snappy-compressed, atomically.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be written.
pub fn write_parquet(bars: &Bars, path: &Path) -> Result<(), DataError> {
    super::file::atomic_write(path, |f| {
        write_parquet_to(bars, f).map_err(std::io::Error::other)
    })
}

fn write_parquet_to(bars: &Bars, f: &mut File) -> Result<(), ::parquet::errors::ParquetError> {
    let mut fields = vec![Field::new(
        "timestamp",
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        false,
    )];
    for name in ["open", "high", "low", "close", "volume"]
        .into_iter()
        .chain(bars.extras().keys().map(String::as_str))
    {
        fields.push(Field::new(name, DataType::Float64, false));
    }
    let schema = Arc::new(Schema::new(fields));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut w = ArrowWriter::try_new(f, schema.clone(), Some(props))?;
    let n = bars.len();
    let mut start = 0;
    while start < n {
        let end = (start + ROWS_PER_BATCH).min(n);
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(
            TimestampMillisecondArray::from(bars.ts_ms()[start..end].to_vec()).with_timezone("UTC"),
        )];
        for col in [
            bars.open(),
            bars.high(),
            bars.low(),
            bars.close(),
            bars.volume(),
        ]
        .into_iter()
        .chain(bars.extras().values().map(Vec::as_slice))
        {
            arrays.push(Arc::new(Float64Array::from(col[start..end].to_vec())));
        }
        let batch = RecordBatch::try_new(schema.clone(), arrays)?;
        w.write(&batch)?;
        start = end;
    }
    w.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bar;

    #[test]
    fn parquet_round_trips_bars_and_extras() {
        let d = tempfile::tempdir().unwrap();
        let b = Bars::from_bars([
            Bar {
                ts_ms: -5,
                open: 1.0,
                high: 2.0,
                low: 0.5,
                close: 1.5,
                volume: 0.0,
            },
            Bar {
                ts_ms: 7,
                open: 1.5,
                high: 1.5,
                low: 1.5,
                close: 1.5,
                volume: 1e300,
            },
        ])
        .unwrap()
        .with_extra("funding_rate", vec![f64::NAN, -0.0001])
        .unwrap();
        let p = d.path().join("b.parquet");
        write_parquet(&b, &p).unwrap();
        let back = read_parquet(&p).unwrap();
        assert_eq!(back.content_hash(), b.content_hash());
    }

    /// The loader fills one preallocated vector per column from 64 k-row batches: each
    /// column is allocated once at its final size (no doubling, no second copy).
    #[test]
    fn columns_are_allocated_once_at_their_final_size() {
        let d = tempfile::tempdir().unwrap();
        let n = 200_000; // four reader batches
        let b = crate::data::synth(&crate::data::SynthSpec {
            bars: n,
            seed: 3,
            ..crate::data::SynthSpec::default()
        })
        .unwrap()
        .with_extra("funding_rate", vec![0.0001; n])
        .unwrap();
        let p = d.path().join("b.parquet");
        write_parquet(&b, &p).unwrap();
        let back = read_parquet(&p).unwrap();
        assert_eq!(back.content_hash(), b.content_hash());
        let cols = back.into_columns();
        assert_eq!(cols.ts_ms.capacity(), n);
        for c in [&cols.open, &cols.high, &cols.low, &cols.close, &cols.volume] {
            assert_eq!(c.capacity(), n);
        }
        assert_eq!(cols.extra["funding_rate"].capacity(), n);
    }

    #[test]
    fn garbage_is_not_parquet() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("b.parquet");
        std::fs::write(&p, b"PAR1 not really").unwrap();
        let e = read_parquet(&p).unwrap_err().to_string();
        assert!(e.contains("not a readable parquet file"), "{e}");
    }
}
