//! The per-bar books of a backtest: [`BookRows`], the buffer a run appends one row per bar
//! to (equity, cash, position value, exposure), and [`Series`], one finished book.
//!
//! The three `f64` books share ONE allocation, sized from the bar count once: a 1 M-bar
//! run makes one 24 MB block instead of three 8 MB ones. Besides saving two allocations,
//! that keeps a process that runs backtest after backtest on warm memory: glibc sets its
//! trim threshold to twice the largest block it has handed back to the system, and with
//! three 8 MB books (trim threshold 16 MB) every run's ≈ 33 MB of results was trimmed
//! from the heap when dropped and faulted in again, page by page, by the next run.

use std::sync::Arc;

/// One per-bar book of a backtest result (equity, cash or position value): a slice of the
/// buffer the run's three books share. Dereferences to `[f64]`; a clone shares the buffer.
#[derive(Clone, Default)]
pub struct Series {
    buf: Arc<Vec<f64>>,
    start: usize,
    len: usize,
}

impl Series {
    /// The values.
    #[inline]
    pub fn as_slice(&self) -> &[f64] {
        self.buf
            .get(self.start..self.start + self.len)
            .unwrap_or_default()
    }
}

impl std::ops::Deref for Series {
    type Target = [f64];
    #[inline]
    fn deref(&self) -> &[f64] {
        self.as_slice()
    }
}

impl AsRef<[f64]> for Series {
    fn as_ref(&self) -> &[f64] {
        self.as_slice()
    }
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl PartialEq for Series {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<[f64]> for Series {
    fn eq(&self, other: &[f64]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<Vec<f64>> for Series {
    fn eq(&self, other: &Vec<f64>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl From<Vec<f64>> for Series {
    fn from(v: Vec<f64>) -> Self {
        Series {
            len: v.len(),
            buf: Arc::new(v),
            start: 0,
        }
    }
}

impl FromIterator<f64> for Series {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Self {
        Series::from(iter.into_iter().collect::<Vec<f64>>())
    }
}

impl<'a> IntoIterator for &'a Series {
    type Item = &'a f64;
    type IntoIter = std::slice::Iter<'a, f64>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl serde::Serialize for Series {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

/// The books of a run being written, one row per bar in bar order: equity, cash and
/// position value in three regions of one zeroed buffer of `3 × capacity` values (a fresh
/// block's pages come zeroed from the system, so nothing is written twice), exposure
/// beside. Appending beyond the capacity moves the rows to a buffer twice as large.
#[derive(Debug)]
pub struct BookRows {
    buf: Vec<f64>,
    cap: usize,
    len: usize,
    exposure: Vec<bool>,
}

impl BookRows {
    /// Room for `n` rows.
    pub fn with_capacity(n: usize) -> Self {
        BookRows {
            buf: vec![0.0; 3 * n],
            cap: n,
            len: 0,
            exposure: Vec::with_capacity(n),
        }
    }

    /// Rows written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first row.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keep the first `len` rows.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
        self.exposure.truncate(self.len);
    }

    /// Append one row.
    #[inline]
    pub fn push(&mut self, equity: f64, cash: f64, position_value: f64, exposure: bool) {
        self.repeat(1, equity, cash, position_value, exposure);
    }

    /// Append `k` equal rows.
    #[inline]
    pub fn repeat(
        &mut self,
        k: usize,
        equity: f64,
        cash: f64,
        position_value: f64,
        exposure: bool,
    ) {
        self.append_with(k, exposure, |e, c, p| {
            e.fill(equity);
            c.fill(cash);
            p.fill(position_value);
        });
    }

    /// Append `k` rows with exposure `exposed`: `write` gets the new rows of equity, cash
    /// and position value to fill, every value (zeroed in a fresh buffer, but rows dropped
    /// by [`BookRows::truncate`] keep their old values).
    #[inline]
    pub fn append_with(
        &mut self,
        k: usize,
        exposed: bool,
        write: impl FnOnce(&mut [f64], &mut [f64], &mut [f64]),
    ) {
        if self.len + k > self.cap {
            self.grow(self.len + k);
        }
        let (len, cap) = (self.len, self.cap.min(self.buf.len()));
        let (equity, rest) = self.buf.split_at_mut(cap);
        let (cash, position_value) = rest.split_at_mut(cap.min(rest.len()));
        let rows = len..len + k;
        write(
            equity.get_mut(rows.clone()).unwrap_or_default(),
            cash.get_mut(rows.clone()).unwrap_or_default(),
            position_value.get_mut(rows).unwrap_or_default(),
        );
        self.len += k;
        self.exposure.resize(self.len, exposed);
    }

    /// Move the rows to a buffer with room for at least `need` rows (twice the capacity).
    #[cold]
    fn grow(&mut self, need: usize) {
        let cap = need.max(2 * self.cap).max(16);
        let mut buf = vec![0.0; 3 * cap];
        for book in 0..3 {
            let from = book * self.cap;
            if let (Some(dst), Some(src)) = (
                buf.get_mut(book * cap..book * cap + self.len),
                self.buf.get(from..from + self.len),
            ) {
                dst.copy_from_slice(src);
            }
        }
        self.buf = buf;
        self.cap = cap;
    }

    /// The finished books: equity, cash, position value (sharing the buffer), exposure.
    pub fn finish(self) -> (Series, Series, Series, Vec<bool>) {
        let BookRows {
            buf,
            cap,
            len,
            exposure,
        } = self;
        let buf = Arc::new(buf);
        let series = |book: usize| Series {
            buf: Arc::clone(&buf),
            start: book * cap,
            len,
        };
        (series(0), series(1), series(2), exposure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_append_in_order_grow_and_truncate() {
        let mut r = BookRows::with_capacity(2);
        r.push(1.0, 2.0, 3.0, true);
        r.append_with(3, false, |e, c, p| {
            assert_eq!((e.len(), c.len(), p.len()), (3, 3, 3));
            for (i, ((e, c), p)) in e.iter_mut().zip(c).zip(p).enumerate() {
                (*e, *c, *p) = (10.0 + i as f64, 20.0 + i as f64, 30.0 + i as f64);
            }
        });
        r.push(4.0, 5.0, 6.0, true);
        assert_eq!(r.len(), 5);
        r.truncate(4);
        r.push(7.0, 8.0, 9.0, false);
        let (e, c, p, x) = r.finish();
        assert_eq!(e, vec![1.0, 10.0, 11.0, 12.0, 7.0]);
        assert_eq!(c, vec![2.0, 20.0, 21.0, 22.0, 8.0]);
        assert_eq!(p, vec![3.0, 30.0, 31.0, 32.0, 9.0]);
        assert_eq!(x, vec![true, false, false, false, false]);
        assert_eq!(e.clone(), e);
        assert_eq!(e.iter().sum::<f64>(), 41.0);
        assert_eq!(format!("{:?}", Series::from(vec![1.5])), "[1.5]");
        assert_eq!(Series::default().len(), 0);
    }
}
