//! The per-bar books of a backtest: [`BookRows`], the buffer a run appends one row per bar
//! to (equity, cash, position value, exposure), and [`Series`], one finished book.
//!
//! The three `f64` books share ONE allocation, sized from the bar count once: a 1 M-bar
//! run makes one 24 MB block instead of three 8 MB ones. Besides saving two allocations,
//! that keeps a process that runs backtest after backtest on warm memory: glibc sets its
//! trim threshold to twice the largest block it has handed back to the system, and with
//! three 8 MB books (trim threshold 16 MB) every run's ≈ 33 MB of results was trimmed
//! from the heap when dropped and faulted in again, page by page, by the next run.
//!
//! When the last [`Series`] of a run's books is dropped, the buffer (up to 32 MiB, see
//! `SPARE_MAX_VALUES`) is kept as the thread's spare (one at most) and the next [`BookRows::with_capacity`] on that thread
//! takes it over when it fits (at least the rows asked for, at most twice as many),
//! without zeroing it: a fresh `vec![0.0; 3n]` is `calloc`, whose pages come zeroed from
//! the kernel the first time but which must `memset` a block reused from the heap (24 MB
//! per 1 M-bar run, ≈ 5 % of a run repeated in one process). Every appended row is
//! written in full ([`BookRows::append_with`]), so no value of an earlier run survives
//! into a result.

use std::cell::Cell;
use std::sync::Arc;

thread_local! {
    /// The buffer of this thread's last dropped books, kept for the next [`BookRows`] (see
    /// the module doc); empty when none.
    static SPARE: Cell<Vec<f64>> = const { Cell::new(Vec::new()) };
}

/// The buffer behind a run's [`Series`]: handed to the thread's spare when dropped
/// (`recycle`: books made by [`BookRows`]; a `Series` built from a `Vec` is not).
#[derive(Default)]
struct Books {
    values: Vec<f64>,
    recycle: bool,
}

/// The largest buffer kept as a spare (32 MiB, 1.4 M rows), so that a thread holds at most
/// that much after its runs. It is glibc's largest mmap threshold: under glibc a larger
/// zeroed block is always a fresh mapping, whose pages need no `memset`. The `algolab` and
/// bench binaries allocate with mimalloc (session 12), which keeps freed large blocks
/// mapped and reuses them itself (a 10 M-bar run 17.7 → 33.8 M bars/s; docs/DESIGN.md).
const SPARE_MAX_VALUES: usize = (32 << 20) / std::mem::size_of::<f64>();

impl Drop for Books {
    fn drop(&mut self) {
        if self.recycle && self.values.len() <= SPARE_MAX_VALUES {
            let values = std::mem::take(&mut self.values);
            // during the thread's teardown the spare is gone and the buffer is freed
            let _ = SPARE.try_with(|spare| spare.set(values));
        }
    }
}

/// One per-bar book of a backtest result (equity, cash or position value): a slice of the
/// buffer the run's three books share. Dereferences to `[f64]`; a clone shares the buffer.
#[derive(Clone, Default)]
pub struct Series {
    buf: Arc<Books>,
    start: usize,
    len: usize,
}

impl Series {
    /// The values.
    #[inline]
    pub fn as_slice(&self) -> &[f64] {
        self.buf
            .values
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
            buf: Arc::new(Books {
                values: v,
                recycle: false,
            }),
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
/// position value in three regions of one buffer of `3 × capacity` values (the thread's
/// spare when it fits, else a zeroed one: a fresh block's pages come zeroed from the
/// system; either way nothing is written twice), exposure beside. Appending beyond the
/// capacity moves the rows to a buffer twice as large.
#[derive(Debug)]
pub struct BookRows {
    buf: Vec<f64>,
    cap: usize,
    len: usize,
    exposure: Vec<bool>,
}

impl BookRows {
    /// Room for `n` rows: the thread's spare buffer when it has room for `n` to `2n` rows
    /// (its values are stale until written), else a zeroed one.
    pub fn with_capacity(n: usize) -> Self {
        let spare = SPARE.try_with(Cell::take).unwrap_or_default();
        let rows = spare.len() / 3;
        let (buf, cap) = if rows >= n && rows <= n.saturating_mul(2) && n > 0 {
            let mut buf = spare;
            buf.truncate(3 * rows);
            (buf, rows)
        } else {
            // free the spare before asking for a block of about its size
            drop(spare);
            (vec![0.0; 3 * n], n)
        };
        BookRows {
            buf,
            cap,
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
    /// and position value and must fill every value (they hold zeros in a fresh buffer,
    /// and stale values in a reused one or in rows dropped by [`BookRows::truncate`]).
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
        let buf = Arc::new(Books {
            values: buf,
            recycle: true,
        });
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

    #[test]
    fn a_dropped_runs_buffer_is_reused_and_every_row_rewritten() {
        let mut first = BookRows::with_capacity(4);
        first.repeat(4, 1.0, 2.0, 3.0, true);
        let (e, c, p, _) = first.finish();
        let block = e.as_ptr();
        // the buffer goes to the spare only with its last view
        drop((e, c));
        assert!(SPARE.with(|s| s.take().is_empty()));
        drop(p);
        // 3 rows fit the 4-row spare (at most twice as many): it is taken, stale values
        // and all, and every appended value is written
        let mut next = BookRows::with_capacity(3);
        next.push(7.0, 8.0, 9.0, true);
        next.append_with(2, false, |e, c, p| {
            e.copy_from_slice(&[10.0, 11.0]);
            c.copy_from_slice(&[20.0, 21.0]);
            p.copy_from_slice(&[30.0, 31.0]);
        });
        let (e, c, p, x) = next.finish();
        assert_eq!(e.as_ptr(), block);
        assert_eq!(e, vec![7.0, 10.0, 11.0]);
        assert_eq!(c, vec![8.0, 20.0, 21.0]);
        assert_eq!(p, vec![9.0, 30.0, 31.0]);
        assert_eq!(x, vec![true, false, false]);
        drop((e, c, p));
        // too large a spare (more than twice the rows) is freed, not taken
        let small = BookRows::with_capacity(1);
        assert_eq!((small.cap, small.buf.len()), (1, 3));
        assert!(SPARE.with(|s| s.take().is_empty()));
        // a `Series` made from a `Vec` is not kept
        drop(Series::from(vec![1.0; 30]));
        assert!(SPARE.with(|s| s.take().is_empty()));
        // nor books above 32 MiB (a fresh mapping needs no clearing)
        let mut big = BookRows::with_capacity(SPARE_MAX_VALUES / 3 + 1);
        big.push(1.0, 2.0, 3.0, false);
        drop(big.finish());
        assert!(SPARE.with(|s| s.take().is_empty()));
    }
}
