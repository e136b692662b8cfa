//! Rolling extremes: [`Max`] and [`Min`] of the close over a window (TA-Lib `MAX`, `MIN`),
//! and the monotonic deque behind them that `Stoch` reuses for highest high / lowest low.
//!
//! A monotonic deque keeps the candidates for the window's extreme in order, so each bar
//! costs O(1) amortised instead of O(period). The value it returns is one of the inputs, so
//! it equals TA-Lib's rescanning loop exactly.

use std::collections::VecDeque;
use std::fmt;

use super::{Indicator, ParamError, check_period};
use crate::data::Bar;

/// The extreme (max or min) of the last `period` values, O(1) amortised per value.
#[derive(Debug, Clone)]
pub(crate) struct MonoDeque {
    period: usize,
    is_max: bool,
    t: u64,
    q: VecDeque<(u64, f64)>,
}

impl MonoDeque {
    /// A rolling max (`is_max`) or min over `period >= 1` values.
    pub(crate) fn new(period: usize, is_max: bool) -> Self {
        MonoDeque {
            period,
            is_max,
            t: 0,
            q: VecDeque::with_capacity(period.min(1024) + 1),
        }
    }

    /// Push `x` and return the extreme of the window ending at it, and whether the window
    /// is full.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) -> (f64, bool) {
        let t = self.t;
        self.t += 1;
        while let Some(&(_, v)) = self.q.back() {
            let dominated = if self.is_max { v <= x } else { v >= x };
            if !dominated {
                break;
            }
            self.q.pop_back();
        }
        self.q.push_back((t, x));
        let period = self.period as u64;
        while let Some(&(i, _)) = self.q.front() {
            if i + period > t {
                break;
            }
            self.q.pop_front();
        }
        // the deque always holds x itself, so front() exists
        let ext = self.q.front().map_or(x, |&(_, v)| v);
        (ext, self.t >= period)
    }

    /// Forget every value.
    pub(crate) fn reset(&mut self) {
        self.t = 0;
        self.q.clear();
    }
}

macro_rules! extreme_indicator {
    ($(#[$meta:meta])* $name:ident, $is_max:expr, $label:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name {
            period: usize,
            deque: MonoDeque,
        }

        impl $name {
            /// Over the last `period` closes.
            ///
            /// # Errors
            /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
            pub fn new(period: usize) -> Result<Self, ParamError> {
                let period = check_period("period", period, 1)?;
                Ok($name { period, deque: MonoDeque::new(period, $is_max) })
            }

            /// Feed one value (instead of a bar's close).
            #[inline]
            pub fn update_raw(&mut self, x: f64) -> Option<f64> {
                let (v, full) = self.deque.push(x);
                full.then_some(v)
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
                self.deque.reset();
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
    /// `MAX_t = max(x_{t-n+1}, …, x_t)` via a monotonic deque (O(1) amortised). No seed.
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
    /// `MIN_t = min(x_{t-n+1}, …, x_t)` via a monotonic deque (O(1) amortised). No seed.
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

    conformance!(max_1 => Max::new(1));
    conformance!(max_5 => Max::new(5));
    conformance!(max_30 => Max::new(30));
    conformance!(min_1 => Min::new(1));
    conformance!(min_5 => Min::new(5));
    conformance!(min_30 => Min::new(30));

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

    #[test]
    fn zero_period_is_rejected_and_display_names_it() {
        assert!(Max::new(0).is_err());
        assert!(Min::new(0).is_err());
        assert_eq!(Max::new(14).unwrap().to_string(), "MAX(14)");
        assert_eq!(Min::new(14).unwrap().to_string(), "MIN(14)");
    }
}
