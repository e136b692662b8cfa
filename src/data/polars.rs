//! [`Bars`] ⇄ polars `DataFrame`, behind the opt-in `polars` cargo feature (for users who
//! embed the library; nothing in algolab itself uses polars).
//!
//! The frame has a `timestamp` column of `Int64` epoch milliseconds (UTC) — algolab keeps
//! polars' `dtype-datetime` feature off because it pulls in polars-ops and polars-io;
//! convert with `col("timestamp").cast(Datetime(Milliseconds, "UTC"))` if needed — then
//! `open`, `high`, `low`, `close`, `volume` and each extra column as `Float64`.
//! [`Bars::from_polars`] also accepts a `Datetime` timestamp column (of any unit, when the
//! embedding crate enables that feature) and any numeric value columns; nulls read as NaN.

use ::polars::prelude::{Column, DataFrame, DataType, PolarsResult};

use super::{Bars, Columns, DataError};

fn df_err(cause: impl std::fmt::Display) -> DataError {
    DataError::File {
        path: "<dataframe>".into(),
        cause: cause.to_string(),
    }
}

impl Bars {
    /// The bars as a polars `DataFrame` (schema in the module doc).
    ///
    /// # Errors
    /// [`DataError::File`] if polars refuses the columns (it should not).
    pub fn to_polars(&self) -> Result<DataFrame, DataError> {
        let mut cols = vec![Column::new("timestamp".into(), self.ts_ms())];
        for (name, values) in [
            ("open", self.open()),
            ("high", self.high()),
            ("low", self.low()),
            ("close", self.close()),
            ("volume", self.volume()),
        ] {
            cols.push(Column::new(name.into(), values));
        }
        for (name, values) in self.extras() {
            cols.push(Column::new(name.as_str().into(), values.as_slice()));
        }
        DataFrame::new(self.len(), cols).map_err(df_err)
    }

    /// Bars from a polars `DataFrame` with the columns of the module doc (extra numeric
    /// columns become extras), validated like any other input.
    ///
    /// # Errors
    /// [`DataError::File`] for a missing or non-numeric column; [`DataError::InvalidBar`]
    /// naming the first row that breaks a bar invariant.
    pub fn from_polars(df: &DataFrame) -> Result<Bars, DataError> {
        let mut cols = Columns::with_capacity(df.height());
        let ts = df.column("timestamp").map_err(df_err)?;
        let scale = match ts.dtype().to_string() {
            s if s.starts_with("datetime[ns") => 1_000_000,
            s if s.starts_with("datetime[μs") => 1_000,
            _ => 1,
        };
        let ts_i64 = ts.cast(&DataType::Int64).map_err(df_err)?;
        for (i, v) in ts_i64.i64().map_err(df_err)?.iter().enumerate() {
            let v = v.ok_or_else(|| DataError::InvalidBar {
                index: i,
                cause: "timestamp: null".into(),
            })?;
            cols.ts_ms.push(v.div_euclid(scale));
        }
        let floats = |c: &Column| -> PolarsResult<Vec<f64>> {
            let c = c.cast(&DataType::Float64)?;
            Ok(c.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
        };
        let named = ["open", "high", "low", "close", "volume"];
        for name in named {
            let c = df.column(name).map_err(df_err)?;
            let v = floats(c).map_err(|e| df_err(format!("column {name}: {e}")))?;
            match name {
                "open" => cols.open = v,
                "high" => cols.high = v,
                "low" => cols.low = v,
                "close" => cols.close = v,
                _ => cols.volume = v,
            }
        }
        for c in df.columns() {
            let name = c.name().as_str();
            if name == "timestamp" || named.contains(&name) || !c.dtype().is_primitive_numeric() {
                continue;
            }
            cols.extra
                .insert(name.to_string(), floats(c).map_err(df_err)?);
        }
        Bars::new(cols)
    }
}

#[cfg(test)]
mod tests {
    use crate::data::{Bar, Bars};

    #[test]
    fn dataframe_round_trip_keeps_every_bit() {
        let b = Bars::from_bars([
            Bar {
                ts_ms: 0,
                open: 1.0,
                high: 2.0,
                low: 0.5,
                close: 1.5,
                volume: 3.0,
            },
            Bar {
                ts_ms: 60_000,
                open: 1.5,
                high: 1.5,
                low: 1.5,
                close: 1.5,
                volume: 0.0,
            },
        ])
        .unwrap()
        .with_extra("funding_rate", vec![f64::NAN, 0.0001])
        .unwrap();
        let df = b.to_polars().unwrap();
        assert_eq!(df.height(), 2);
        assert_eq!(df.width(), 7);
        let back = Bars::from_polars(&df).unwrap();
        assert_eq!(back.content_hash(), b.content_hash());
    }
}
