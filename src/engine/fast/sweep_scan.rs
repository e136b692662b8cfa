//! The two scans of a quiet stretch ([`super::SmaSim::run_with`]): the next bar where the two
//! SMA columns cross, and the lowest and highest close of the stretch. Each has a portable
//! version (eight bars per step without branches; the closes' block extremes [`Extremes`])
//! and, when the CPU has AVX2 ([`Wide`]), one on four-lane vectors with a movemask per four
//! bars, entered through `pulp`'s safe dispatch (the crate forbids `unsafe`). Both give the
//! same bar and the same extremes (a minimum or maximum of finite values is exact in any
//! order); the sweep tests run the kernel both ways.

use super::super::Wide;

impl Wide {
    /// The first bar `t` in `from..stop` where the SMAs cross (`decide`'s test on bars
    /// `t − 1` and `t`), or `stop`; `from ≥ 1`.
    #[inline(always)]
    pub(super) fn next_cross(self, fast: &[f64], slow: &[f64], from: usize, stop: usize) -> usize {
        match self {
            Wide::Baseline => next_cross(fast, slow, from, stop),
            #[cfg(target_arch = "x86_64")]
            Wide::Avx2(v3) => avx::next_cross(v3, fast, slow, from, stop),
        }
    }

    /// The lowest and highest of `close[a..b]` (`a < b`; the closes are finite: `ext` exists).
    #[inline(always)]
    pub(super) fn range(self, ext: &Extremes, close: &[f64], a: usize, b: usize) -> (f64, f64) {
        match self {
            Wide::Baseline => ext.range(close, a, b),
            #[cfg(target_arch = "x86_64")]
            Wide::Avx2(v3) => avx::min_max(v3, &close[a..b]),
        }
    }
}

/// `decide`'s crossing test on bars `t − 1` (`pf`, `ps`) and `t` (`f`, `s`).
#[inline(always)]
fn cross(pf: f64, ps: f64, f: f64, s: f64) -> bool {
    (pf < ps && f > s) || (ps < pf && s > f)
}

/// [`Wide::next_cross`], portable: eight bars at a time without branches (also the single
/// run's scan, `engine::fast::single`).
#[inline(always)]
pub(crate) fn next_cross(fast: &[f64], slow: &[f64], from: usize, stop: usize) -> usize {
    let mut t = from;
    while t + 8 <= stop {
        let (f, s) = (&fast[t - 1..t + 8], &slow[t - 1..t + 8]);
        let mut any = false;
        for i in 1..9 {
            let (pf, ps, fi, si) = (f[i - 1], s[i - 1], f[i], s[i]);
            any |= ((pf < ps) & (fi > si)) | ((ps < pf) & (si > fi));
        }
        if any {
            break;
        }
        t += 8;
    }
    while t < stop && !cross(fast[t - 1], slow[t - 1], fast[t], slow[t]) {
        t += 1;
    }
    t
}

/// Bars per block of [`Extremes`].
const EXT_BLOCK: usize = 16;

/// The lowest and highest close of every block of [`EXT_BLOCK`] bars, for the lowest and
/// highest close of any range in O(1) plus its two partial blocks.
#[derive(Debug, Clone)]
pub struct Extremes {
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// The lowest open of every block ([`Extremes::with_opens`]; empty without).
    open_lo: Vec<f64>,
}

impl Extremes {
    /// The blocks of `close`, or `None` when a close is not finite (the quiet stretches then
    /// run bar by bar, which finds the liquidation a `NaN` equity causes).
    pub fn of(close: &[f64]) -> Option<Extremes> {
        if !close.iter().all(|x| x.is_finite()) {
            return None;
        }
        let lo = close
            .chunks(EXT_BLOCK)
            .map(|b| b.iter().fold(f64::INFINITY, |m, &x| m.min(x)))
            .collect();
        let hi = close
            .chunks(EXT_BLOCK)
            .map(|b| b.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x)))
            .collect();
        Some(Extremes {
            lo,
            hi,
            open_lo: Vec::new(),
        })
    }

    /// The same, with the lowest open of every block for [`Extremes::first_open_below`]
    /// (the idle stretches of a run priced out of its entries); `open` is the bars' opens
    /// (a `NaN` open is skipped by the minimum: an entry at it is refused anyway).
    pub fn with_opens(mut self, open: &[f64]) -> Extremes {
        self.open_lo = open
            .chunks(EXT_BLOCK)
            .map(|b| b.iter().fold(f64::INFINITY, |m, &x| m.min(x)))
            .collect();
        self
    }

    /// The first bar in `a..b` whose open is below `bound`, or `b`; `a` (nothing known) when
    /// the block minima were not made ([`Extremes::with_opens`]).
    #[inline]
    pub(super) fn first_open_below(&self, open: &[f64], bound: f64, a: usize, b: usize) -> usize {
        if self.open_lo.is_empty() {
            return a.min(b);
        }
        let head = a.next_multiple_of(EXT_BLOCK).min(b);
        let mut t = a;
        while t < head {
            if open[t] < bound {
                return t;
            }
            t += 1;
        }
        while t + EXT_BLOCK <= b && self.open_lo[t / EXT_BLOCK] >= bound {
            t += EXT_BLOCK;
        }
        while t < b {
            if open[t] < bound {
                return t;
            }
            t += 1;
        }
        b
    }

    /// The lowest and highest of `close[a..b]` (`close` is the slice the blocks were made of).
    #[inline(always)]
    fn range(&self, close: &[f64], a: usize, b: usize) -> (f64, f64) {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let head = a.next_multiple_of(EXT_BLOCK).min(b);
        for &x in &close[a..head] {
            lo = lo.min(x);
            hi = hi.max(x);
        }
        let mut t = head;
        while t + EXT_BLOCK <= b {
            let k = t / EXT_BLOCK;
            lo = lo.min(self.lo[k]);
            hi = hi.max(self.hi[k]);
            t += EXT_BLOCK;
        }
        for &x in &close[t..b] {
            lo = lo.min(x);
            hi = hi.max(x);
        }
        (lo, hi)
    }
}

/// The AVX2 scans: four bars per vector, compared with ordered quiet predicates (false on
/// NaN, as Rust's `<` and `>`), one movemask per compare.
#[cfg(target_arch = "x86_64")]
mod avx {
    use core::arch::x86_64::__m256d;
    use pulp::x86::V3;

    /// `_CMP_LT_OQ` and `_CMP_GT_OQ`.
    const LT: i32 = 0x11;
    const GT: i32 = 0x1e;

    /// Four lanes from `v[at..at + 4]`.
    #[inline(always)]
    fn v4(v: &[f64], at: usize) -> __m256d {
        let v = &v[at..at + 4];
        pulp::cast([v[0], v[1], v[2], v[3]])
    }

    /// Bit `i` of the first mask set when `fast < slow` at bar `t + i`, of the second when
    /// `fast > slow` (`i < 4`).
    #[inline(always)]
    fn signs(s: V3, fast: &[f64], slow: &[f64], t: usize) -> (u32, u32) {
        let a = &s.avx;
        let (f, sl) = (v4(fast, t), v4(slow, t));
        let lt = a._mm256_movemask_pd(a._mm256_cmp_pd::<LT>(f, sl)) as u32;
        let gt = a._mm256_movemask_pd(a._mm256_cmp_pd::<GT>(f, sl)) as u32;
        (lt, gt)
    }

    /// [`super::Wide::next_cross`] on vectors: the signs of eight bars per step (two loads,
    /// two compares and two movemasks per four bars), each bar's crossing test on its own and
    /// the previous bar's sign bits (the previous step's last bar carried over), one branch.
    #[inline(always)]
    pub(super) fn next_cross(s: V3, fast: &[f64], slow: &[f64], from: usize, stop: usize) -> usize {
        let mut t = from;
        if t + 8 <= stop {
            // bit 0: the signs of bar `t − 1`
            let (pf, ps) = (fast[t - 1], slow[t - 1]);
            let (mut lt_prev, mut gt_prev) = (u32::from(pf < ps), u32::from(pf > ps));
            while t + 8 <= stop {
                let (lt0, gt0) = signs(s, fast, slow, t);
                let (lt1, gt1) = signs(s, fast, slow, t + 4);
                let (lt, gt) = (lt0 | lt1 << 4, gt0 | gt1 << 4);
                let m = ((lt << 1 | lt_prev) & gt) | ((gt << 1 | gt_prev) & lt);
                if m != 0 {
                    return t + m.trailing_zeros() as usize;
                }
                (lt_prev, gt_prev) = (lt >> 7, gt >> 7);
                t += 8;
            }
        }
        while t < stop && !super::cross(fast[t - 1], slow[t - 1], fast[t], slow[t]) {
            t += 1;
        }
        t
    }

    /// The lowest and highest of the finite values `x` (not empty).
    #[inline(always)]
    pub(super) fn min_max(s: V3, x: &[f64]) -> (f64, f64) {
        let a = &s.avx;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        // short stretches are cheaper without the vector set-up and reduction
        let split = if x.len() >= 8 { x.len() / 4 * 4 } else { 0 };
        let (body, tail) = x.split_at(split);
        if !body.is_empty() {
            let (mut vlo, mut vhi) = (a._mm256_set1_pd(lo), a._mm256_set1_pd(hi));
            for q in body.chunks_exact(4) {
                let v: __m256d = pulp::cast([q[0], q[1], q[2], q[3]]);
                vlo = a._mm256_min_pd(vlo, v);
                vhi = a._mm256_max_pd(vhi, v);
            }
            let (l, h): ([f64; 4], [f64; 4]) = (pulp::cast(vlo), pulp::cast(vhi));
            lo = l[0].min(l[1]).min(l[2].min(l[3]));
            hi = h[0].max(h[1]).max(h[2].max(h[3]));
        }
        for &v in tail {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        (lo, hi)
    }
}
