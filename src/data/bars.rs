//! [`Bars`]: validated columnar OHLCV with UTC millisecond timestamps.
//!
//! Invariants, checked once in [`Bars::new`]: timestamps strictly increasing; every OHLCV
//! value finite; prices > 0 (open, high, low, close); volume >= 0; high >= max(open, close,
//! low); low <= min(open, close); every extra column as long as the bars. Extra columns
//! (`funding_rate`, `open_interest`, …) may hold NaN for "no value on this bar".

use std::collections::BTreeMap;
use std::ops::Range;

use sha2::{Digest, Sha256};

use super::DataError;

/// One bar, by value. Prices in quote currency, volume as the source gives it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bar {
    /// Open time, UTC milliseconds since the Unix epoch.
    pub ts_ms: i64,
    /// Open price.
    pub open: f64,
    /// High price.
    pub high: f64,
    /// Low price.
    pub low: f64,
    /// Close price.
    pub close: f64,
    /// Volume.
    pub volume: f64,
}

/// Unvalidated columns, the input of [`Bars::new`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    /// Open times, UTC ms.
    pub ts_ms: Vec<i64>,
    /// Open prices.
    pub open: Vec<f64>,
    /// High prices.
    pub high: Vec<f64>,
    /// Low prices.
    pub low: Vec<f64>,
    /// Close prices.
    pub close: Vec<f64>,
    /// Volumes.
    pub volume: Vec<f64>,
    /// Extra named columns, in name order.
    pub extra: BTreeMap<String, Vec<f64>>,
}

impl Columns {
    /// Empty columns with room for `n` bars.
    pub fn with_capacity(n: usize) -> Self {
        Columns {
            ts_ms: Vec::with_capacity(n),
            open: Vec::with_capacity(n),
            high: Vec::with_capacity(n),
            low: Vec::with_capacity(n),
            close: Vec::with_capacity(n),
            volume: Vec::with_capacity(n),
            extra: BTreeMap::new(),
        }
    }

    /// Append one bar.
    pub fn push(&mut self, bar: Bar) {
        self.ts_ms.push(bar.ts_ms);
        self.open.push(bar.open);
        self.high.push(bar.high);
        self.low.push(bar.low);
        self.close.push(bar.close);
        self.volume.push(bar.volume);
    }

    /// Number of rows in the timestamp column.
    pub fn len(&self) -> usize {
        self.ts_ms.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ts_ms.is_empty()
    }
}

/// Validated columnar OHLCV bars. Construct with [`Bars::new`]; fields are private so the
/// invariants in the module doc always hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    ts_ms: Vec<i64>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
    extra: BTreeMap<String, Vec<f64>>,
}

/// Check one bar's values; `prev_ts` is the previous bar's timestamp, if any.
pub(crate) fn check_bar(bar: &Bar, prev_ts: Option<i64>) -> Result<(), String> {
    let named = [
        ("open", bar.open),
        ("high", bar.high),
        ("low", bar.low),
        ("close", bar.close),
        ("volume", bar.volume),
    ];
    for (name, v) in named {
        if !v.is_finite() {
            return Err(format!("{name} is not a finite number ({v})"));
        }
    }
    for (name, v) in &named[..4] {
        if *v <= 0.0 {
            return Err(format!("{name} must be positive, got {v}"));
        }
    }
    if bar.volume < 0.0 {
        return Err(format!("volume must not be negative, got {}", bar.volume));
    }
    if bar.high < bar.low {
        return Err(format!("high {} is below low {}", bar.high, bar.low));
    }
    if bar.high < bar.open.max(bar.close) {
        return Err(format!(
            "high {} is below open {} or close {}",
            bar.high, bar.open, bar.close
        ));
    }
    if bar.low > bar.open.min(bar.close) {
        return Err(format!(
            "low {} is above open {} or close {}",
            bar.low, bar.open, bar.close
        ));
    }
    if let Some(prev) = prev_ts {
        if bar.ts_ms == prev {
            return Err(format!("duplicate timestamp {}", fmt_ts(bar.ts_ms)));
        }
        if bar.ts_ms < prev {
            return Err(format!(
                "timestamp {} is before the previous bar's {} (unsorted)",
                fmt_ts(bar.ts_ms),
                fmt_ts(prev)
            ));
        }
    }
    Ok(())
}

/// Format a UTC millisecond timestamp as ISO-8601 (`2024-01-01T00:00:00Z`).
pub fn fmt_ts(ts_ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ts_ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => format!("{ts_ms}ms"),
    }
}

impl Bars {
    /// Validate columns into bars.
    ///
    /// # Errors
    /// [`DataError::InvalidBar`] naming the first bar (0-based) that breaks an invariant, or
    /// a column whose length differs from the timestamps'.
    pub fn new(cols: Columns) -> Result<Self, DataError> {
        let n = cols.ts_ms.len();
        let lens = [
            ("open", cols.open.len()),
            ("high", cols.high.len()),
            ("low", cols.low.len()),
            ("close", cols.close.len()),
            ("volume", cols.volume.len()),
        ];
        for (name, len) in lens
            .into_iter()
            .chain(cols.extra.iter().map(|(k, v)| (k.as_str(), v.len())))
        {
            if len != n {
                return Err(DataError::InvalidBar {
                    index: len.min(n),
                    cause: format!("column {name} has {len} values, timestamps have {n}"),
                });
            }
        }
        let mut prev = None;
        for i in 0..n {
            let bar = Bar {
                ts_ms: cols.ts_ms[i],
                open: cols.open[i],
                high: cols.high[i],
                low: cols.low[i],
                close: cols.close[i],
                volume: cols.volume[i],
            };
            check_bar(&bar, prev).map_err(|cause| DataError::InvalidBar { index: i, cause })?;
            prev = Some(bar.ts_ms);
        }
        Ok(Bars {
            ts_ms: cols.ts_ms,
            open: cols.open,
            high: cols.high,
            low: cols.low,
            close: cols.close,
            volume: cols.volume,
            extra: cols.extra,
        })
    }

    /// Validate a sequence of bars.
    ///
    /// # Errors
    /// As [`Bars::new`].
    pub fn from_bars(bars: impl IntoIterator<Item = Bar>) -> Result<Self, DataError> {
        let iter = bars.into_iter();
        let mut cols = Columns::with_capacity(iter.size_hint().0);
        for b in iter {
            cols.push(b);
        }
        Bars::new(cols)
    }

    /// Give back the columns (for editing and re-validating).
    pub fn into_columns(self) -> Columns {
        Columns {
            ts_ms: self.ts_ms,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            extra: self.extra,
        }
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.ts_ms.len()
    }

    /// True when there are no bars.
    pub fn is_empty(&self) -> bool {
        self.ts_ms.is_empty()
    }

    /// Bar `i` by value.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    #[inline(always)]
    pub fn bar(&self, i: usize) -> Bar {
        Bar {
            ts_ms: self.ts_ms[i],
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
        }
    }

    /// The bars in order, by value.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Bar> + '_ {
        (0..self.len()).map(move |i| self.bar(i))
    }

    /// Open times, UTC ms.
    pub fn ts_ms(&self) -> &[i64] {
        &self.ts_ms
    }
    /// Open prices.
    pub fn open(&self) -> &[f64] {
        &self.open
    }
    /// High prices.
    pub fn high(&self) -> &[f64] {
        &self.high
    }
    /// Low prices.
    pub fn low(&self) -> &[f64] {
        &self.low
    }
    /// Close prices.
    pub fn close(&self) -> &[f64] {
        &self.close
    }
    /// Volumes.
    pub fn volume(&self) -> &[f64] {
        &self.volume
    }

    /// An extra column by name (`funding_rate`, …); NaN marks "no value on this bar".
    pub fn extra(&self, name: &str) -> Option<&[f64]> {
        self.extra.get(name).map(Vec::as_slice)
    }

    /// All extra columns, in name order.
    pub fn extras(&self) -> &BTreeMap<String, Vec<f64>> {
        &self.extra
    }

    /// Add or replace an extra column.
    ///
    /// # Errors
    /// [`DataError::InvalidBar`] when the column's length differs from the bars'.
    pub fn with_extra(mut self, name: &str, values: Vec<f64>) -> Result<Self, DataError> {
        if values.len() != self.len() {
            return Err(DataError::InvalidBar {
                index: values.len().min(self.len()),
                cause: format!(
                    "column {name} has {} values, bars have {}",
                    values.len(),
                    self.len()
                ),
            });
        }
        self.extra.insert(name.to_string(), values);
        Ok(self)
    }

    /// A copy of the bars in `range` (extra columns included). Slicing keeps every invariant.
    ///
    /// # Panics
    /// If the range is out of bounds.
    pub fn slice(&self, range: Range<usize>) -> Bars {
        Bars {
            ts_ms: self.ts_ms[range.clone()].to_vec(),
            open: self.open[range.clone()].to_vec(),
            high: self.high[range.clone()].to_vec(),
            low: self.low[range.clone()].to_vec(),
            close: self.close[range.clone()].to_vec(),
            volume: self.volume[range.clone()].to_vec(),
            extra: self
                .extra
                .iter()
                .map(|(k, v)| (k.clone(), v[range.clone()].to_vec()))
                .collect(),
        }
    }

    /// The most common spacing between consecutive bars in ms (the bar interval), or `None`
    /// with fewer than two bars. Gaps (weekends, outages) do not change it.
    pub fn interval_ms(&self) -> Option<i64> {
        if self.len() < 2 {
            return None;
        }
        let mut diffs: Vec<i64> = self.ts_ms.windows(2).map(|w| w[1] - w[0]).collect();
        diffs.sort_unstable();
        // mode of the sorted diffs; ties go to the smaller spacing
        let (mut best, mut best_n, mut i) = (diffs[0], 0usize, 0usize);
        while i < diffs.len() {
            let mut j = i;
            while j < diffs.len() && diffs[j] == diffs[i] {
                j += 1;
            }
            if j - i > best_n {
                best = diffs[i];
                best_n = j - i;
            }
            i = j;
        }
        Some(best)
    }

    /// SHA-256 of the bar contents (timestamps, OHLCV and extra columns, little-endian bits),
    /// as lowercase hex: the dataset hash recorded with every run.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        for &t in &self.ts_ms {
            h.update(t.to_le_bytes());
        }
        for col in [&self.open, &self.high, &self.low, &self.close, &self.volume] {
            for &v in col {
                h.update(v.to_bits().to_le_bytes());
            }
        }
        for (k, col) in &self.extra {
            h.update(k.as_bytes());
            for &v in col {
                h.update(v.to_bits().to_le_bytes());
            }
        }
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(ts_ms: i64, o: f64, h: f64, l: f64, c: f64, v: f64) -> Bar {
        Bar {
            ts_ms,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }

    #[test]
    fn valid_bars_build_and_read_back() {
        let b = Bars::from_bars([
            bar(0, 1.0, 2.0, 0.5, 1.5, 10.0),
            bar(60_000, 1.5, 1.6, 1.4, 1.5, 0.0),
        ])
        .unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.bar(1).close, 1.5);
        assert_eq!(b.interval_ms(), Some(60_000));
    }

    #[test]
    fn duplicate_timestamp_is_rejected_with_its_index() {
        let e = Bars::from_bars([
            bar(0, 1.0, 1.0, 1.0, 1.0, 1.0),
            bar(0, 1.0, 1.0, 1.0, 1.0, 1.0),
        ])
        .unwrap_err();
        assert!(matches!(e, DataError::InvalidBar { index: 1, .. }), "{e}");
        assert!(e.to_string().contains("duplicate"), "{e}");
    }

    #[test]
    fn high_below_close_is_rejected() {
        let e = Bars::from_bars([bar(0, 1.0, 1.0, 0.5, 1.2, 1.0)]).unwrap_err();
        assert!(e.to_string().contains("high 1 is below"), "{e}");
    }

    #[test]
    fn nan_and_negative_volume_are_rejected() {
        assert!(Bars::from_bars([bar(0, f64::NAN, 1.0, 1.0, 1.0, 1.0)]).is_err());
        assert!(Bars::from_bars([bar(0, 1.0, 1.0, 1.0, 1.0, -1.0)]).is_err());
    }

    #[test]
    fn content_hash_changes_with_any_value() {
        let a = Bars::from_bars([bar(0, 1.0, 2.0, 0.5, 1.5, 10.0)]).unwrap();
        let b = Bars::from_bars([bar(0, 1.0, 2.0, 0.5, 1.5, 10.5)]).unwrap();
        assert_ne!(a.content_hash(), b.content_hash());
        assert_eq!(a.content_hash(), a.clone().content_hash());
    }
}
