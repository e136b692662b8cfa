//! The on-disk bar cache that `algolab fetch` fills: `DATA_DIR/bars/<source>/<SYMBOL>_<interval>.parquet`
//! (layout and columns: docs/cache.md).
//!
//! Invariants: a cache file always holds validated [`Bars`] (strictly increasing UTC ms,
//! finite OHLCV); it is only ever replaced whole, by writing a temp file in the same folder
//! and renaming it over the old one, so a crash, a Ctrl-C or a failed download leaves either
//! the old file or the new one, never a mix. Bars still open at fetch time are never stored.
//!
//! Files are named by [`cache_path`] (shared with [`crate::data::resolve_symbol`]) and read
//! and written with [`crate::data::read_parquet`] and [`crate::data::write_parquet`] (atomic).
//! This module holds the pure parts (merge by timestamp, gaps, what a fetch hands over); the
//! downloads and `fetch_to_cache` live in `crate::venues::sync`, since `data` does no HTTP.

use std::collections::BTreeMap;

pub use super::symbols::{Source, cache_path, symbol_file_name};

use super::{Bars, Columns, DataError};

/// Merge freshly fetched bars into cached ones by timestamp. With `replace` false a
/// timestamp already cached keeps its cached values (only new bars are appended); with
/// `replace` true fetched bars win (used for dividend-adjusted series, which change
/// retroactively). Extra columns are the union of both sides, NaN where a side lacks one.
/// Returns the merged bars and how many timestamps were new.
///
/// # Errors
/// [`DataError::InvalidBar`] when a fetched bar breaks a [`Bars`] invariant.
pub fn merge(
    cached: Option<&Bars>,
    fetched: &Columns,
    replace: bool,
) -> Result<(Bars, usize), DataError> {
    // row = (ohlcv, extras by name)
    type Row = ([f64; 5], BTreeMap<String, f64>);
    let mut rows: BTreeMap<i64, Row> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    if let Some(c) = cached {
        names.extend(c.extras().keys().cloned());
        for (i, b) in c.iter().enumerate() {
            let ex = c.extras().iter().map(|(k, v)| (k.clone(), v[i])).collect();
            rows.insert(b.ts_ms, ([b.open, b.high, b.low, b.close, b.volume], ex));
        }
    }
    for k in fetched.extra.keys() {
        if !names.contains(k) {
            names.push(k.clone());
        }
    }
    let mut added = 0;
    for i in 0..fetched.len() {
        let ts = fetched.ts_ms[i];
        let ohlcv = [
            fetched.open[i],
            fetched.high[i],
            fetched.low[i],
            fetched.close[i],
            fetched.volume[i],
        ];
        let ex = fetched
            .extra
            .iter()
            .map(|(k, v)| (k.clone(), v.get(i).copied().unwrap_or(f64::NAN)))
            .collect();
        let exists = rows.contains_key(&ts);
        if !exists {
            added += 1;
        }
        if !exists || replace {
            rows.insert(ts, (ohlcv, ex));
        }
    }
    let mut cols = Columns::with_capacity(rows.len());
    for n in &names {
        cols.extra.insert(n.clone(), Vec::with_capacity(rows.len()));
    }
    for (ts, (v, ex)) in rows {
        cols.ts_ms.push(ts);
        cols.open.push(v[0]);
        cols.high.push(v[1]);
        cols.low.push(v[2]);
        cols.close.push(v[3]);
        cols.volume.push(v[4]);
        for (n, col) in cols.extra.iter_mut() {
            col.push(ex.get(n).copied().unwrap_or(f64::NAN));
        }
    }
    Ok((Bars::new(cols)?, added))
}

/// Bars fetched from a source, before they are merged into the cache: sorted, unique
/// timestamps, finished bars only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    /// The bars (and extra columns).
    pub cols: Columns,
    /// Rows the source sent that were skipped: null fields, or values that break a
    /// [`Bars`] invariant.
    pub skipped: usize,
    /// The time the fetch treated as "now" (server time where the source has it), UTC ms.
    pub now_ms: i64,
}

/// Progress of one series' download, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Start of the range being fetched, UTC ms.
    pub start_ms: i64,
    /// End of the range (exclusive), UTC ms.
    pub end_ms: i64,
    /// The range is complete up to here, UTC ms.
    pub reached_ms: i64,
}

/// Gaps: consecutive bars further apart than `allowed_ms`, as `(last bar before, first bar
/// after)` open times.
pub fn find_gaps(ts_ms: &[i64], allowed_ms: i64) -> Vec<(i64, i64)> {
    ts_ms
        .windows(2)
        .filter(|w| w[1] - w[0] > allowed_ms)
        .map(|w| (w[0], w[1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bar;

    fn bar(ts_ms: i64, c: f64) -> Bar {
        Bar {
            ts_ms,
            open: c,
            high: c + 1.0,
            low: c - 1.0,
            close: c,
            volume: 10.0,
        }
    }

    #[test]
    fn merge_appends_only_new_timestamps_and_keeps_cached_values() {
        let cached = Bars::from_bars([bar(0, 10.0), bar(60, 11.0)]).unwrap();
        let mut fetched = Columns::default();
        fetched.push(bar(60, 99.0));
        fetched.push(bar(120, 12.0));
        let (m, added) = merge(Some(&cached), &fetched, false).unwrap();
        assert_eq!(added, 1);
        assert_eq!(m.ts_ms(), &[0, 60, 120]);
        assert_eq!(m.close(), &[10.0, 11.0, 12.0]);
        let (r, added) = merge(Some(&cached), &fetched, true).unwrap();
        assert_eq!(added, 1);
        assert_eq!(r.close(), &[10.0, 99.0, 12.0]);
    }

    #[test]
    fn merge_fills_missing_extra_columns_with_nan() {
        let cached = Bars::from_bars([bar(0, 10.0)]).unwrap();
        let mut fetched = Columns::default();
        fetched.push(bar(60, 11.0));
        fetched.extra.insert("open_interest".into(), vec![5.0]);
        let (m, _) = merge(Some(&cached), &fetched, false).unwrap();
        let oi = m.extra("open_interest").unwrap();
        assert!(oi[0].is_nan());
        assert_eq!(oi[1], 5.0);
    }

    #[test]
    fn gaps_are_spacings_above_the_allowed() {
        assert_eq!(find_gaps(&[0, 60, 120, 300, 360], 60), vec![(120, 300)]);
        assert!(find_gaps(&[0], 60).is_empty());
    }
}
