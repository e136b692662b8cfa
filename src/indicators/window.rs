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

/// The largest of `keys` (`None` when empty), by four running maxima: four independent
/// chains of compare-and-move instead of one as long as `keys`.
#[inline]
fn max_key(keys: &[i64]) -> Option<i64> {
    let first = *keys.first()?;
    let mut m = [first; 4];
    let mut quads = keys.chunks_exact(4);
    for q in &mut quads {
        for (m, &k) in m.iter_mut().zip(q) {
            *m = (*m).max(k);
        }
    }
    let tail = quads.remainder().iter().copied();
    m.into_iter().chain(tail).max()
}

/// Marks a [`RankWindow`] location in `top` (else in `rest`).
const IN_TOP: u32 = 1 << 31;

/// The largest keys of a sliding window of `n` integer keys (order keys, [`order_key`]),
/// sorted, so the `lo`-th smallest and those above it cost no sort and no search per
/// value: a percentile of the window reads two of them.
///
/// The window is split in `top`, its `n − lo` largest keys in ascending order, and `rest`,
/// the others in no order, every key of `rest` no larger than `top[0]`; each of the `n`
/// ring slots (the value `replace_oldest` replaces next is in slot `next`) knows where its
/// key is. A replaced key in `rest` is overwritten in place unless the new one belongs in
/// `top`; a key leaving `top` is replaced within `top` (a shift of at most `n − lo` keys)
/// or, when `rest` holds a larger key than the new one, by `rest`'s largest (a scan of
/// `rest`). Ties may sit in either part: the sorted multiset of the window, which is all a
/// percentile reads, is the same (`rank_window_equals_sorting_every_value`).
///
/// It holds nothing before [`RankWindow::build`], which takes the whole window at once.
#[derive(Debug, Clone, Default)]
pub(crate) struct RankWindow {
    /// The window's length `n`.
    n: usize,
    /// How many of the smallest keys stay unsorted in `rest` (`lo < n`).
    lo: usize,
    /// The `n − lo` largest keys, ascending, with their ring slots.
    top: Vec<(i64, u32)>,
    /// The other keys, in no order (a column of its own, scanned for its largest by
    /// [`max_key`]).
    rest: Vec<i64>,
    /// The ring slot of each key of `rest`.
    rest_slots: Vec<u32>,
    /// For each ring slot: its key's index in `rest`, or in `top` with [`IN_TOP`] set.
    loc: Vec<u32>,
    /// The slot of the oldest key, which `replace_oldest` replaces.
    next: usize,
}

impl RankWindow {
    /// The window of `keys` (its `n` keys, oldest first; `n` at least 1 and at most
    /// 2³¹), keeping the keys from the `lo`-th smallest (`lo < n`) on sorted.
    pub(crate) fn build(lo: usize, keys: impl ExactSizeIterator<Item = i64>) -> RankWindow {
        let n = keys.len();
        let mut all: Vec<(i64, u32)> = keys.zip(0u32..).collect();
        all.sort_unstable();
        let lo = lo.min(n.saturating_sub(1));
        let top = all.split_off(lo);
        let mut w = RankWindow {
            n,
            lo,
            top,
            rest: all.iter().map(|e| e.0).collect(),
            rest_slots: all.iter().map(|e| e.1).collect(),
            loc: vec![0; n],
            next: 0,
        };
        let places = w
            .top
            .iter()
            .enumerate()
            .map(|(i, e)| (e.1, i as u32 | IN_TOP));
        let places = places.chain((0u32..).zip(&w.rest_slots).map(|(r, &slot)| (slot, r)));
        for (slot, place) in places {
            if let Some(l) = w.loc.get_mut(slot as usize) {
                *l = place;
            }
        }
        w
    }

    /// True once built (and not cleared).
    #[inline]
    pub(crate) fn is_built(&self) -> bool {
        self.n > 0
    }

    /// The `i`-th smallest key of the window, for `i` from `lo` on.
    #[inline]
    pub(crate) fn at(&self, i: usize) -> Option<i64> {
        self.top.get(i.checked_sub(self.lo)?).map(|e| e.0)
    }

    /// Replace the oldest key by `key` (nothing before [`RankWindow::build`]).
    #[inline]
    pub(crate) fn replace_oldest(&mut self, key: i64) {
        let s = self.next;
        let Some(&at) = self.loc.get(s) else {
            return;
        };
        self.next = if s + 1 == self.n { 0 } else { s + 1 };
        let slot = s as u32;
        if at & IN_TOP == 0 {
            let r = at as usize;
            match self.top.first() {
                Some(&(k0, s0)) if key > k0 => {
                    // the new key belongs in `top`; `top`'s smallest moves to its place
                    self.replace_in_top(0, (key, slot));
                    self.set_rest(r, (k0, s0));
                }
                _ => self.set_rest(r, (key, slot)),
            }
        } else {
            let t = (at & !IN_TOP) as usize;
            // the largest key of `rest`, then its first place
            let largest = max_key(&self.rest).and_then(|m| {
                let i = self.rest.iter().position(|&k| k == m)?;
                Some((i, (m, *self.rest_slots.get(i)?)))
            });
            match largest {
                Some((i, m)) if key < m.0 => {
                    // `rest`'s largest (no larger than any of `top`) joins `top` at the
                    // front; the new key takes its place in `rest`
                    self.replace_in_top(t, m);
                    self.set_rest(i, (key, slot));
                }
                _ => self.replace_in_top(t, (key, slot)),
            }
        }
    }

    /// Forget every key (build again before use).
    pub(crate) fn clear(&mut self) {
        *self = RankWindow::default();
    }

    /// Put `e` at index `r` of `rest`.
    #[inline]
    fn set_rest(&mut self, r: usize, e: (i64, u32)) {
        if let (Some(k), Some(slot)) = (self.rest.get_mut(r), self.rest_slots.get_mut(r)) {
            (*k, *slot) = e;
        }
        if let Some(l) = self.loc.get_mut(e.1 as usize) {
            *l = r as u32;
        }
    }

    /// Remove `top[t]` and insert `e` at its sorted place: the keys between the two places
    /// move one place each, as in an insertion sort (`top` is short: a percentile's
    /// share of the window).
    #[inline]
    fn replace_in_top(&mut self, t: usize, e: (i64, u32)) {
        let (top, loc) = (&mut self.top, &mut self.loc);
        let mut i = t;
        let mut put = |top: &mut [(i64, u32)], i: usize, x: (i64, u32)| {
            if let Some(y) = top.get_mut(i) {
                *y = x;
            }
            if let Some(l) = loc.get_mut(x.1 as usize) {
                *l = i as u32 | IN_TOP;
            }
        };
        // smaller keys after t move down; else larger keys before t move up
        while let Some(&next) = top.get(i + 1)
            && next.0 < e.0
        {
            put(top, i, next);
            i += 1;
        }
        if i == t {
            while i > 0
                && let Some(&prev) = top.get(i - 1)
                && prev.0 > e.0
            {
                put(top, i, prev);
                i -= 1;
            }
        }
        put(top, i, e);
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

    /// After every replacement the kept keys are the window's sorted keys from the `lo`-th
    /// on, for every split of small windows and a percentile's of a long one, with many
    /// ties (keys from a handful of values), wide keys, and both runs of rising and falling
    /// keys (the shifts in both directions and the refills from `rest`).
    #[test]
    fn rank_window_equals_sorting_every_value() {
        let mut x: u64 = 17;
        let mut rand = move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x >> 33
        };
        for n in [1usize, 2, 3, 5, 12, 100] {
            for lo in [0, 1, n / 2, n.saturating_sub(2), n - 1, 89] {
                if lo >= n {
                    continue;
                }
                for kind in 0..4 {
                    let mut key = |i: i64| -> i64 {
                        let r = rand() as i64;
                        match kind {
                            0 => r % 5 - 2,
                            1 => r - (1 << 30),
                            2 => i / 7 + r % 3,
                            _ => -i / 5 + r % 4,
                        }
                    };
                    let mut model: VecDeque<i64> = (0..n as i64).map(&mut key).collect();
                    let mut w = RankWindow::build(lo, model.iter().copied());
                    for i in 0..3_000 {
                        let k = key(i);
                        model.pop_front();
                        model.push_back(k);
                        w.replace_oldest(k);
                        let mut sorted: Vec<i64> = model.iter().copied().collect();
                        sorted.sort_unstable();
                        let kept: Vec<i64> = (lo..n).map(|j| w.at(j).unwrap()).collect();
                        assert_eq!(kept, sorted[lo..], "n {n} lo {lo} kind {kind} step {i}");
                        assert_eq!(w.at(lo.wrapping_sub(1)), None);
                    }
                }
            }
        }
        let mut w = RankWindow::build(0, [3, 1, 2].into_iter());
        assert!(w.is_built());
        w.clear();
        assert!(!w.is_built());
        w.replace_oldest(5);
        assert_eq!(w.at(0), None);
    }

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
