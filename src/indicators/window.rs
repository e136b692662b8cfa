//! [`Window`]: the last `cap` values of a stream in a ring, for streaming code that keeps a
//! short history (the regime detector's closes and volatilities, the technical signal's
//! divergence lookback) without a `VecDeque`'s per-push capacity and wrap checks.
//!
//! It serializes as the sequence of its values, oldest first — the form a `VecDeque` or a
//! `Vec` of the same values takes — so saved strategy states read back either way.

/// The integer that orders as [`f64::total_cmp`] orders `x` (the same bit trick), so a
/// sorted window or a scan for an extreme compares plain integers; [`from_order_key`] undoes it.
#[inline]
pub(crate) fn order_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// The float of an [`order_key`] (the transform is its own inverse).
#[inline]
pub(crate) fn from_order_key(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// The last values pushed, at most `cap` (given to every push), oldest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "Vec<T>", into = "Vec<T>")]
#[serde(bound(serialize = "T: Copy + serde::Serialize"))]
#[serde(bound(deserialize = "T: Copy + serde::de::DeserializeOwned"))]
pub(crate) struct Window<T: Copy> {
    /// The values; once `cap` are held, `buf[head]` is the oldest.
    buf: Vec<T>,
    /// Index of the oldest value (0 until the window is full).
    head: usize,
}

impl<T: Copy> Window<T> {
    /// An empty window with room for `cap` values.
    pub(crate) fn with_capacity(cap: usize) -> Self {
        Window {
            buf: Vec::with_capacity(cap),
            head: 0,
        }
    }

    /// Number of values held.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when no value is held.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Forget every value.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.head = 0;
    }

    /// Append `x`; when `cap` values are already held, the oldest leaves and is returned.
    /// `cap` must be the same on every push (and at least 1).
    #[inline]
    pub(crate) fn push(&mut self, x: T, cap: usize) -> Option<T> {
        if self.buf.len() < cap {
            self.buf.push(x);
            return None;
        }
        let slot = self.buf.get_mut(self.head)?;
        let old = std::mem::replace(slot, x);
        self.head += 1;
        if self.head == self.buf.len() {
            self.head = 0;
        }
        Some(old)
    }

    /// The oldest value held.
    #[inline]
    pub(crate) fn oldest(&self) -> Option<T> {
        self.buf.get(self.head).copied()
    }

    /// The values in two runs, oldest first: every value of the first run is older than
    /// every value of the second.
    #[inline]
    pub(crate) fn as_slices(&self) -> (&[T], &[T]) {
        let (newer, older) = self.buf.split_at(self.head);
        (older, newer)
    }

    /// The values, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let (a, b) = self.as_slices();
        a.iter().chain(b).copied()
    }
}

impl<T: Copy> From<Vec<T>> for Window<T> {
    fn from(buf: Vec<T>) -> Self {
        Window { buf, head: 0 }
    }
}

impl<T: Copy> From<Window<T>> for Vec<T> {
    fn from(w: Window<T>) -> Self {
        let (a, b) = w.as_slices();
        let mut v = Vec::with_capacity(w.buf.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn behaves_like_a_capped_vecdeque() {
        for cap in 1..6 {
            let mut w = Window::with_capacity(cap);
            let mut d = VecDeque::new();
            for i in 0..20 {
                let x = i as f64 * 1.5;
                let left = if d.len() == cap { d.pop_front() } else { None };
                d.push_back(x);
                assert_eq!(w.push(x, cap), left, "cap {cap} push {i}");
                assert_eq!(w.len(), d.len());
                assert_eq!(w.oldest(), d.front().copied());
                assert_eq!(w.iter().collect::<Vec<_>>(), Vec::from(d.clone()));
            }
            w.clear();
            assert!(w.is_empty() && w.oldest().is_none());
        }
    }

    #[test]
    fn serializes_as_the_values_oldest_first_like_a_vecdeque() {
        let mut w = Window::with_capacity(3);
        let mut d = VecDeque::new();
        for x in [1.0, 2.0, 3.0, 4.0, 5.0] {
            w.push(x, 3);
            if d.len() == 3 {
                d.pop_front();
            }
            d.push_back(x);
        }
        let j = serde_json::to_string(&w).unwrap();
        assert_eq!(j, serde_json::to_string(&d).unwrap());
        assert_eq!(j, "[3.0,4.0,5.0]");
        // read back (from a saved VecDeque too), it continues the same way
        let mut back: Window<f64> = serde_json::from_str(&j).unwrap();
        assert_eq!(back.push(6.0, 3), Some(3.0));
        assert_eq!(back.iter().collect::<Vec<_>>(), vec![4.0, 5.0, 6.0]);
    }
}
