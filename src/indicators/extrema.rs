//! Rolling extremes: [`Max`] and [`Min`] of the close over a window (TA-Lib `MAX`, `MIN`),
//! and the rolling extreme behind them that `Stoch` reuses for highest high / lowest low.
//!
//! [`Extreme`] is TA-Lib's own algorithm: keep the extreme and where it was; a new value at
//! least as extreme replaces it, and only when the extreme leaves the window is the window
//! rescanned (oldest first, strictly more extreme wins). On random data the rescan is rare,
//! so a bar costs O(1) amortised with one compare, and ties resolve to the same element as
//! TA-Lib's loop.

use std::fmt;

use super::{BatchRaw, Indicator, ParamError, check_period, kernels, ring_restore, stream_raw};
use crate::data::Bar;

/// The extreme of the last `period` values: the maximum when `IS_MAX`, else the minimum.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Extreme<const IS_MAX: bool> {
    /// The window, a ring: the next value goes to `buf[pos]`.
    buf: Vec<f64>,
    pos: usize,
    /// Values pushed so far.
    t: usize,
    /// The current extreme and the push number it came from.
    ext: f64,
    ext_t: usize,
}

impl<const IS_MAX: bool> Extreme<IS_MAX> {
    /// A rolling extreme over `period >= 1` values.
    pub(crate) fn new(period: usize) -> Self {
        Extreme {
            buf: vec![0.0; period.max(1)],
            pos: 0,
            t: 0,
            ext: 0.0,
            ext_t: 0,
        }
    }

    /// `a` strictly more extreme than `b`.
    #[inline]
    fn beats(a: f64, b: f64) -> bool {
        if IS_MAX { a > b } else { a < b }
    }

    /// Push `x`; once the window is full, its extreme.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let period = self.buf.len();
        let today = self.t;
        self.t += 1;
        if let Some(slot) = self.buf.get_mut(self.pos) {
            *slot = x;
        }
        self.pos += 1;
        if self.pos == period {
            self.pos = 0;
        }
        if self.t < period {
            return None;
        }
        let trailing = self.t - period;
        if today == period - 1 || self.ext_t < trailing {
            self.rescan(trailing);
        } else {
            // selects, not a branch: whether `x` is a new extreme is hard to predict
            let take = !Self::beats(self.ext, x);
            self.ext = if take { x } else { self.ext };
            self.ext_t = if take { today } else { self.ext_t };
        }
        Some(self.ext)
    }

    /// Find the extreme of the full window, whose oldest value (push `trailing`) sits at
    /// `buf[pos]`: the oldest of the most extreme values, as TA-Lib's rescan loop.
    #[cold]
    fn rescan(&mut self, trailing: usize) {
        let (newer, older) = self.buf.split_at(self.pos);
        let mut window = older.iter().chain(newer);
        let Some(&first) = window.next() else {
            return;
        };
        let (mut ext, mut ext_t) = (first, trailing);
        for (i, &v) in window.enumerate() {
            if Self::beats(v, ext) {
                ext = v;
                ext_t = trailing + 1 + i;
            }
        }
        self.ext = ext;
        self.ext_t = ext_t;
    }

    /// The extreme over every full window of `xs` by the batch kernel (from fresh), leaving
    /// the state pushing every value would; `None` when not fresh.
    pub(crate) fn batch(&mut self, xs: &[f64]) -> Option<Vec<f64>> {
        if self.t != 0 {
            return None;
        }
        let mut out = kernels::column(xs.len());
        (self.ext, self.ext_t) = kernels::extreme::<IS_MAX>(xs, self.buf.len(), &mut out);
        self.pos = ring_restore(&mut self.buf, xs);
        self.t = xs.len();
        Some(out)
    }

    /// True before the first push.
    pub(crate) fn is_fresh(&self) -> bool {
        self.t == 0
    }

    /// Take the end state `(ext, ext_t)` of a kernel run over `xs` from fresh (`(0.0, 0)`
    /// when `xs` never filled the window), leaving the state pushing every value would.
    pub(crate) fn restore(&mut self, xs: &[f64], end: (f64, usize)) {
        (self.ext, self.ext_t) = end;
        self.pos = ring_restore(&mut self.buf, xs);
        self.t = xs.len();
    }

    /// Forget every value.
    pub(crate) fn reset(&mut self) {
        self.buf.fill(0.0);
        self.pos = 0;
        self.t = 0;
        self.ext = 0.0;
        self.ext_t = 0;
    }
}

macro_rules! extreme_indicator {
    ($(#[$meta:meta])* $name:ident, $is_max:expr, $label:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            period: usize,
            ext: Extreme<$is_max>,
        }

        impl $name {
            /// Over the last `period` closes.
            ///
            /// # Errors
            /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
            pub fn new(period: usize) -> Result<Self, ParamError> {
                let period = check_period("period", period, 1)?;
                Ok($name { period, ext: Extreme::new(period) })
            }

            /// Feed one value (instead of a bar's close).
            #[inline]
            pub fn update_raw(&mut self, x: f64) -> Option<f64> {
                self.ext.push(x)
            }
        }

        impl Indicator for $name {
            type Output = f64;
            fn update(&mut self, bar: &Bar) -> Option<f64> {
                self.update_raw(bar.close)
            }
            fn lookback(&self) -> usize {
                self.period - 1
            }
            fn reset(&mut self) {
                self.ext.reset();
            }
        }

        impl BatchRaw for $name {
            fn raw_values(&mut self, xs: &[f64]) -> Vec<f64> {
                match self.ext.batch(xs) {
                    Some(out) => out,
                    None => stream_raw(self, xs),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({})"), self.period)
            }
        }
    };
}

extreme_indicator!(
    /// Highest close of the last `n` bars.
    ///
    /// `MAX_t = max(x_{t-n+1}, …, x_t)` by TA-Lib's rescan-on-exit (O(1) amortised). No seed.
    /// Lookback `n - 1`. Matches `talib.MAX(close, n)`.
    #[doc(alias = "MAX")]
    #[doc(alias = "HighestValue")]
    Max,
    true,
    "MAX"
);

extreme_indicator!(
    /// Lowest close of the last `n` bars.
    ///
    /// `MIN_t = min(x_{t-n+1}, …, x_t)` by TA-Lib's rescan-on-exit (O(1) amortised). No seed.
    /// Lookback `n - 1`. Matches `talib.MIN(close, n)`.
    #[doc(alias = "MIN")]
    #[doc(alias = "LowestValue")]
    Min,
    false,
    "MIN"
);

#[cfg(test)]
mod tests {
    use super::*;

    conformance!(raw max_1 => Max::new(1));
    conformance!(raw max_5 => Max::new(5));
    conformance!(raw max_30 => Max::new(30));
    conformance!(raw min_1 => Min::new(1));
    conformance!(raw min_5 => Min::new(5));
    conformance!(raw min_30 => Min::new(30));

    #[test]
    fn max_and_min_track_the_window() {
        let xs = [3.0, 1.0, 4.0, 1.0, 5.0, 0.5, 2.0, 2.0];
        let mut mx = Max::new(3).unwrap();
        let mut mn = Min::new(3).unwrap();
        let a: Vec<_> = xs.iter().map(|&x| mx.update_raw(x)).collect();
        let b: Vec<_> = xs.iter().map(|&x| mn.update_raw(x)).collect();
        let s = Some;
        assert_eq!(
            a,
            vec![None, None, s(4.0), s(4.0), s(5.0), s(5.0), s(5.0), s(2.0)]
        );
        assert_eq!(
            b,
            vec![None, None, s(1.0), s(1.0), s(1.0), s(0.5), s(0.5), s(0.5)]
        );
    }

    /// Batch (from fresh, then streaming on) against the stream, bit for bit, for `Max` and
    /// `Min` of period `p` over `xs`.
    fn batch_equals_stream(xs: &[f64], p: usize) {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let stream = |mut f: Box<dyn FnMut(f64) -> Option<f64>>| {
            xs.iter()
                .map(|&x| f(x).unwrap_or(f64::NAN))
                .collect::<Vec<_>>()
        };
        let split = xs.len() * 2 / 3;
        // the state a batch leaves (which of equal extremes it holds) is the stream's
        let (mut sa, mut sb) = (Max::new(p).unwrap(), Max::new(p).unwrap());
        sa.raw_values(&xs[..split]);
        for &x in &xs[..split] {
            sb.update_raw(x);
        }
        assert_eq!(
            (sa.ext.ext.to_bits(), sa.ext.ext_t, sa.ext.pos),
            (sb.ext.ext.to_bits(), sb.ext.ext_t, sb.ext.pos)
        );
        let (mut sa, mut sb) = (Min::new(p).unwrap(), Min::new(p).unwrap());
        sa.raw_values(&xs[..split]);
        for &x in &xs[..split] {
            sb.update_raw(x);
        }
        assert_eq!(
            (sa.ext.ext.to_bits(), sa.ext.ext_t, sa.ext.pos),
            (sb.ext.ext.to_bits(), sb.ext.ext_t, sb.ext.pos)
        );
        let mut mx = Max::new(p).unwrap();
        let want = stream(Box::new(move |x| mx.update_raw(x)));
        let mut a = Max::new(p).unwrap();
        let mut got = a.raw_values(&xs[..split]);
        got.extend(
            xs[split..]
                .iter()
                .map(|&x| a.update_raw(x).unwrap_or(f64::NAN)),
        );
        assert_eq!(bits(&got), bits(&want), "MAX({p}) over {} values", xs.len());
        let mut mn = Min::new(p).unwrap();
        let want = stream(Box::new(move |x| mn.update_raw(x)));
        let mut b = Min::new(p).unwrap();
        let mut got = b.raw_values(&xs[..split]);
        got.extend(
            xs[split..]
                .iter()
                .map(|&x| b.update_raw(x).unwrap_or(f64::NAN)),
        );
        assert_eq!(bits(&got), bits(&want), "MIN({p}) over {} values", xs.len());
    }

    /// The blocked kernels across block and chunk edges, with ties (prices on a coarse tick, so equal
    /// extremes are common and the end state depends on which one TA-Lib's loop holds), and
    /// TA-Lib's loop where signed zeros or `NaN` make equal-comparing values differ.
    #[test]
    fn blocked_extremes_equal_the_stream_with_ties_zeros_and_nan() {
        let walk = crate::testutil::random_walk(12_000, 7);
        let fine: Vec<f64> = walk.close().to_vec();
        let coarse: Vec<f64> = fine.iter().map(|x| (x * 4.0).round() / 4.0).collect();
        let flat = vec![5.0; 9_000];
        let mut zeros: Vec<f64> = coarse.iter().map(|x| x - coarse[0]).collect();
        zeros[100] = -0.0;
        zeros[101] = 0.0;
        let mut nan = fine.clone();
        nan[5_000] = f64::NAN;
        for xs in [&fine, &coarse, &flat, &zeros, &nan] {
            // both kernels (the doubling up to 256, the blocks beyond), powers of two and
            // their neighbours (where the doubling's two halves meet or coincide)
            for p in [
                1, 2, 3, 7, 16, 17, 30, 31, 64, 255, 256, 257, 1_000, 4_096, 5_000,
            ] {
                batch_equals_stream(xs, p);
            }
        }
    }

    #[test]
    fn zero_period_is_rejected_and_display_names_it() {
        assert!(Max::new(0).is_err());
        assert!(Min::new(0).is_err());
        assert_eq!(Max::new(14).unwrap().to_string(), "MAX(14)");
        assert_eq!(Min::new(14).unwrap().to_string(), "MIN(14)");
    }
}
