//! Blocked batch kernels of the rolling deviation (TA-Lib 0.8's `TA_VAR`, as
//! `volatility::VarCore` streams it), for [`StdDev`](super::StdDev) and
//! [`BollingerBands`](super::BollingerBands).
//!
//! Only the running sums are a chain from bar to bar; the division, the square root and the
//! bands of a bar depend on that bar's sums alone. So the kernels run in blocks of [`BLOCK`]
//! bars: first the sums of a run of bars, in exactly the streaming order (so the same bits)
//! and assuming no re-centring, into small stack buffers ([`chain`]); then the variances and
//! both re-centring tests of the run in vector lanes, re-centring at the first bar that
//! needs it and restarting the run after it ([`var_block`]); then the per-bar rest, which
//! under AVX2 runs beside the next block's chain, four bars per four chain steps (the chain
//! is latency-bound and leaves the divider idle), and otherwise in a loop the compiler
//! vectorises (two lanes on baseline x86-64). AVX2 is entered through `pulp`'s safe
//! dispatch (see [`Isa`]). IEEE division and square root are correctly rounded in every
//! lane, and Rust never fuses `a * b + c` into one rounding, so every lane gives the scalar
//! bits. Each output column is allocated once at its final length and appended to block by
//! block: no zeroing pass, no column-sized temporaries.

use super::kernels::Isa;

/// Bars per block: the two blocks' stack buffers (5 values a bar each) and the outputs stay
/// in L1, and a block's stores to the columns drain while the next block's chain runs.
pub(crate) const BLOCK: usize = 64;

/// The end state of a rolling-variance run (the fields of `VarCore` besides its ring).
#[derive(Debug, Clone, Copy)]
pub(crate) struct VarEnd {
    pub(crate) count: usize,
    pub(crate) shift: f64,
    pub(crate) s1: f64,
    pub(crate) s2: f64,
    pub(crate) countdown: usize,
}

/// The running sums of `VarCore` (kept in registers while a kernel runs: plain values,
/// never borrowed across a call). `VarCore::push` steps them too, through the same
/// [`VarSums::step_on`], so the streaming path and the kernels share one arithmetic.
#[derive(Clone, Copy)]
pub(crate) struct VarSums {
    pub(crate) p: usize,
    pub(crate) inv_n: f64,
    pub(crate) shift: f64,
    pub(crate) s1: f64,
    pub(crate) s2: f64,
    pub(crate) countdown: usize,
}

impl VarSums {
    /// From fresh, after the warm-up values `xs[..p - 1]` (fewer when `xs` is shorter).
    #[inline(always)]
    fn warm(xs: &[f64], p: usize, inv_n: f64) -> VarSums {
        let shift = xs.first().copied().unwrap_or(0.0);
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in &xs[..xs.len().min(p.saturating_sub(1))] {
            let y = x - shift;
            s1 += y;
            s2 += y * y;
        }
        VarSums {
            p,
            inv_n,
            shift,
            s1,
            s2,
            countdown: 32 * p,
        }
    }

    /// Bar `i` (`i >= p - 1`, `x = xs[i]`, `oldest = xs[i + 1 - p]`) of a column: the
    /// variance of the window ending at `i`, then `oldest` leaves the sums.
    #[inline(always)]
    fn step(&mut self, xs: &[f64], i: usize, x: f64, oldest: f64) -> f64 {
        let p = self.p;
        self.step_on(x, oldest, || {
            (xs.get(i + 1 - p..=i).unwrap_or_default(), &[])
        })
    }

    /// `x` joins a full window whose oldest value is `oldest`: the window's variance, then
    /// `oldest` leaves the sums; `window` gives the window (oldest first, in two parts, as
    /// a ring holds it) for the rare re-centring.
    #[inline(always)]
    pub(crate) fn step_on<'a>(
        &mut self,
        x: f64,
        oldest: f64,
        window: impl FnOnce() -> (&'a [f64], &'a [f64]),
    ) -> f64 {
        let inv_n = self.inv_n;
        let y = x - self.shift;
        self.s1 += y;
        let m = inv_n * self.s1;
        self.s2 += y * y;
        let var = inv_n * self.s2 - m * m;
        let t = oldest - self.shift;
        let tt = t * t;
        self.s2 -= tt;
        let recentre = if inv_n * self.s2 * 1e-6 > var || tt > self.s2 * 1e6 {
            true
        } else {
            self.countdown -= 1;
            self.countdown == 0
        };
        if !recentre {
            self.s1 -= t;
            return var;
        }
        let (older, newer) = window();
        self.recentre(older, newer, oldest)
    }

    /// Re-centre on the window `older` then `newer` (oldest first; `oldest` leaves it): new
    /// shift and sums ([`recentre_on`]) and a fresh countdown; returns the window's variance.
    #[inline(always)]
    fn recentre(&mut self, older: &[f64], newer: &[f64], oldest: f64) -> f64 {
        let (shift, s1, s2, var) = recentre_on(older, newer, oldest, self.inv_n);
        (self.shift, self.s1, self.s2) = (shift, s1, s2);
        self.countdown = 32 * self.p;
        var
    }

    /// The end state after `count` values.
    fn end(self, count: usize) -> VarEnd {
        VarEnd {
            count,
            shift: self.shift,
            s1: self.s1,
            s2: self.s2,
            countdown: self.countdown,
        }
    }
}

/// Re-centre on the window `older` then `newer` (oldest first): the new shift (the window
/// mean), both sums with `oldest` already taken out, and the window's variance.
#[inline(never)]
fn recentre_on(older: &[f64], newer: &[f64], oldest: f64, inv_n: f64) -> (f64, f64, f64, f64) {
    let mut sum = 0.0;
    for &w in older.iter().chain(newer) {
        sum += w;
    }
    let shift = sum * inv_n;
    let (mut s1, mut s2) = (0.0, 0.0);
    for &w in older.iter().chain(newer) {
        let y = w - shift;
        s1 += y;
        s2 += y * y;
    }
    let m = inv_n * s1;
    let v = inv_n * s2;
    let mut var = v - m * m;
    if var < v * 1e-12 {
        var = 0.0;
    }
    let t = oldest - shift;
    (shift, s1 - t, s2 - t * t, var)
}

/// A column of `n` values, allocated once; the kernels append to it.
fn column(n: usize) -> Vec<f64> {
    Vec::with_capacity(super::kernels::capacity(n))
}

/// The stack buffers of one block, indexed by bar within the block.
struct Block {
    /// The rolling sum of the values (Bollinger's middle band before the division).
    sum: [f64; BLOCK],
    /// `s1` and `s2` with the bar's value added.
    a1: [f64; BLOCK],
    a2: [f64; BLOCK],
    /// `s2` with the window's oldest value taken out again.
    b2: [f64; BLOCK],
    /// The variance.
    var: [f64; BLOCK],
}

impl Block {
    fn new() -> Block {
        Block {
            sum: [0.0; BLOCK],
            a1: [0.0; BLOCK],
            a2: [0.0; BLOCK],
            b2: [0.0; BLOCK],
            var: [0.0; BLOCK],
        }
    }
}

/// A block's outputs (up to three columns), appended to the columns once complete.
type Out = [[f64; BLOCK]; 3];

/// What a kernel makes of a bar's rolling sum and variance: its output values.
trait Finish: Copy {
    /// Bar `k`'s outputs from `b` into `out` (the same operations as `update_raw`).
    fn bar(self, b: &Block, out: &mut Out, k: usize);
    /// Bars `k..k + 4` as [`Finish::bar`] does them, in AVX2 lanes.
    #[cfg(target_arch = "x86_64")]
    fn four(self, v3: pulp::x86::V3, b: &Block, out: &mut Out, k: usize);
}

/// Four values from `xs[k..]` in AVX2 lanes (zeros past the end).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn load4(xs: &[f64], k: usize) -> core::arch::x86_64::__m256d {
    let a: [f64; 4] = xs
        .get(k..k + 4)
        .and_then(|s| s.try_into().ok())
        .unwrap_or_default();
    pulp::cast(a)
}

/// Four lanes into `xs[k..k + 4]` (nothing past the end).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn store4(xs: &mut [f64], k: usize, v: core::arch::x86_64::__m256d) {
    if let Some(s) = xs.get_mut(k..k + 4) {
        s.copy_from_slice(&pulp::cast::<_, [f64; 4]>(v));
    }
}

/// [`StdDev`](super::StdDev): `sqrt(variance) · nbdev`.
#[derive(Clone, Copy)]
struct Deviation {
    nbdev: f64,
}

impl Finish for Deviation {
    #[inline(always)]
    fn bar(self, b: &Block, out: &mut Out, k: usize) {
        out[0][k] = b.var[k].sqrt() * self.nbdev;
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn four(self, v3: pulp::x86::V3, b: &Block, out: &mut Out, k: usize) {
        let a = v3.avx;
        let sd = a._mm256_sqrt_pd(load4(&b.var, k));
        store4(
            &mut out[0],
            k,
            a._mm256_mul_pd(sd, a._mm256_set1_pd(self.nbdev)),
        );
    }
}

/// TA-Lib's upper Bollinger band: `fma(sd, up, middle)` when the two multiples differ (what
/// its FMA build computes there), `middle + sd·up` rounded twice when they are equal (there it
/// adds and subtracts one product `sd·nbdev`). The lower band is `middle - sd·dn`, never
/// fused, in both of its builds.
#[inline(always)]
pub(crate) fn upper_band(middle: f64, sd: f64, up: f64, fused: bool) -> f64 {
    if fused {
        sd.mul_add(up, middle)
    } else {
        middle + sd * up
    }
}

/// [`BollingerBands`](super::BollingerBands): `middle = sum / p`, the bands of
/// [`upper_band`] and `middle - sd·dn` (upper, middle, lower).
#[derive(Clone, Copy)]
struct Bands3 {
    div: f64,
    up: f64,
    dn: f64,
    /// `up != dn`: the upper band is one fused multiply-add.
    fused: bool,
}

impl Finish for Bands3 {
    #[inline(always)]
    fn bar(self, b: &Block, out: &mut Out, k: usize) {
        let m = b.sum[k] / self.div;
        let sd = b.var[k].sqrt();
        out[0][k] = upper_band(m, sd, self.up, self.fused);
        out[1][k] = m;
        out[2][k] = m - sd * self.dn;
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn four(self, v3: pulp::x86::V3, b: &Block, out: &mut Out, k: usize) {
        let a = v3.avx;
        let m = a._mm256_div_pd(load4(&b.sum, k), a._mm256_set1_pd(self.div));
        let sd = a._mm256_sqrt_pd(load4(&b.var, k));
        let up = a._mm256_set1_pd(self.up);
        let upper = if self.fused {
            v3.fma._mm256_fmadd_pd(sd, up, m)
        } else {
            a._mm256_add_pd(m, a._mm256_mul_pd(sd, up))
        };
        let dn = a._mm256_mul_pd(sd, a._mm256_set1_pd(self.dn));
        store4(&mut out[0], k, upper);
        store4(&mut out[1], k, m);
        store4(&mut out[2], k, a._mm256_sub_pd(m, dn));
    }
}

/// Independent work done beside [`chain`] every 4 bars.
trait Beside {
    /// The work for the 4 bars from `j`.
    fn four(&mut self, j: usize);
}

/// Nothing beside.
struct Idle;

impl Beside for Idle {
    #[inline(always)]
    fn four(&mut self, _: usize) {}
}

/// Finishing the previous block's bars `j..j + 4` (those below `len`) into `out`, in AVX2
/// lanes.
#[cfg(target_arch = "x86_64")]
struct FinishPrev<'a, F> {
    v3: pulp::x86::V3,
    fin: F,
    prev: &'a Block,
    len: usize,
    out: &'a mut Out,
}

#[cfg(target_arch = "x86_64")]
impl<F: Finish> Beside for FinishPrev<'_, F> {
    #[inline(always)]
    fn four(&mut self, j: usize) {
        if j + 4 <= self.len {
            self.fin.four(self.v3, self.prev, self.out, j);
        }
    }
}

/// The chain's state: the rolling sum, `s1`, `s2`.
type Sums3 = (f64, f64, f64);

/// The running sums over bars `i + k` for `k` in `ks` (`i >= p`), as `VarCore::push` adds
/// and removes them when no re-centring happens: `a1`, `a2`, `b2` (and, with `SUM`, the
/// rolling sum `s = (s - xs[i + k - p]) + xs[i + k]`) into `b`. After every 4 bars it does
/// `beside`'s work for them (finishing the previous block), which fills the execution units
/// this latency-bound chain leaves idle. Returns the sums it ends with and the number of
/// bars `beside` was called for. Only additions on the chain, no branch and no call.
#[inline(always)]
fn chain<const SUM: bool>(
    (xs, p, i): (&[f64], usize, usize),
    ks: std::ops::Range<usize>,
    shift: f64,
    (mut s, mut s1, mut s2): Sums3,
    b: &mut Block,
    beside: &mut impl Beside,
) -> (Sums3, usize) {
    let (lo, hi) = (i + ks.start, i + ks.end);
    let x = &xs[lo..hi];
    let n = x.len();
    let old = &xs[lo + 1 - p..hi + 1 - p][..n];
    let leave = &xs[lo - p..hi - p][..n];
    let a1 = &mut b.a1[ks.clone()][..n];
    let a2 = &mut b.a2[ks.clone()][..n];
    let b2 = &mut b.b2[ks.clone()][..n];
    let sum = &mut b.sum[ks][..n];
    let mut j = 0;
    while j < n {
        let group_end = (j + 4).min(n);
        while j < group_end {
            let y = x[j] - shift;
            s1 += y;
            a1[j] = s1;
            s2 += y * y;
            a2[j] = s2;
            let t = old[j] - shift;
            s2 -= t * t;
            b2[j] = s2;
            s1 -= t;
            if SUM {
                s = (s - leave[j]) + x[j];
                sum[j] = s;
            }
            j += 1;
        }
        if j % 4 == 0 {
            beside.four(j - 4);
        }
    }
    ((s, s1, s2), n / 4 * 4)
}

/// [`chain`] as one operation for [`Isa::run`].
struct ChainOp<'a, const SUM: bool, B> {
    at: (&'a [f64], usize, usize),
    ks: std::ops::Range<usize>,
    shift: f64,
    st: Sums3,
    b: &'a mut Block,
    beside: B,
}

impl<const SUM: bool, B: Beside> pulp::NullaryFnOnce for ChainOp<'_, SUM, B> {
    type Output = (Sums3, usize);
    #[inline(always)]
    fn call(mut self) -> Self::Output {
        chain::<SUM>(
            self.at,
            self.ks,
            self.shift,
            self.st,
            self.b,
            &mut self.beside,
        )
    }
}

/// The variances of a run of bars (`a1`, `a2`, `b2` of `b` at `ks`, `old` = the oldest
/// value of each window) and whether either re-centring test holds at any of them, as one
/// vectorised operation for [`Isa::run`].
struct VarOp<'a> {
    b: &'a mut Block,
    ks: std::ops::Range<usize>,
    old: &'a [f64],
    shift: f64,
    inv_n: f64,
}

impl pulp::NullaryFnOnce for VarOp<'_> {
    type Output = bool;
    #[inline(always)]
    fn call(self) -> bool {
        let VarOp {
            b,
            ks,
            old,
            shift,
            inv_n,
        } = self;
        let rows = b.a1[ks.clone()]
            .iter()
            .zip(&b.a2[ks.clone()])
            .zip(&b.b2[ks.clone()]);
        let mut any = false;
        for (((&a1, &a2), &b2), (v, &o)) in rows.zip(b.var[ks].iter_mut().zip(old)) {
            let m = inv_n * a1;
            let var = inv_n * a2 - m * m;
            let t = o - shift;
            any |= (inv_n * b2 * 1e-6 > var) | (t * t > b2 * 1e6);
            *v = var;
        }
        any
    }
}

/// Bars `ks` of a block finished into `out`, as one vectorised operation for [`Isa::run`].
struct FinishOp<'a, F> {
    fin: F,
    b: &'a Block,
    out: &'a mut Out,
    ks: std::ops::Range<usize>,
}

impl<F: Finish> pulp::NullaryFnOnce for FinishOp<'_, F> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        for k in self.ks {
            self.fin.bar(self.b, self.out, k);
        }
    }
}

/// The variances of bars `i..i + len` (`i >= p`, `len <= BLOCK`) into `b.var` (with `SUM`,
/// the rolling sums into `b.sum`), advancing `sums` (and `s`) exactly as `VarCore::push`
/// (and `RollingSum::push`) would; the first bars of the previous block (`prev`, `prev_len`
/// bars) are finished into `out` alongside. Runs of bars are first summed assuming no
/// re-centring ([`chain`]); then the variances and both re-centring tests of the run are
/// computed in vector lanes; at the first bar that re-centres (or where the countdown
/// ends), that bar is re-centred and the run restarts after it. Returns how many bars of
/// `prev` it finished.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn var_block<const SUM: bool, F: Finish>(
    isa: Isa,
    xs: &[f64],
    (i, len): (usize, usize),
    sums: &mut VarSums,
    s: &mut f64,
    b: &mut Block,
    (fin, prev, prev_len): (F, &Block, usize),
    out: &mut Out,
) -> usize {
    let (p, inv_n) = (sums.p, sums.inv_n);
    let mut finished = 0;
    let mut k = 0;
    while k < len {
        let stop = len.min(k + sums.countdown);
        let shift = sums.shift;
        let st = (*s, sums.s1, sums.s2);
        let (at, ks) = ((xs, p, i), k..stop);
        // the block's first run, with the previous block's first bars finished beside
        #[cfg(target_arch = "x86_64")]
        let fused = match (k, isa) {
            (0, Isa::Avx2(v3)) => {
                let beside = FinishPrev {
                    v3,
                    fin,
                    prev,
                    len: prev_len,
                    out: &mut *out,
                };
                let (ends, fused) = isa.run(ChainOp::<SUM, _> {
                    at,
                    ks: ks.clone(),
                    shift,
                    st,
                    b: &mut *b,
                    beside,
                });
                finished = fused.min(prev_len / 4 * 4);
                Some(ends)
            }
            _ => None,
        };
        #[cfg(not(target_arch = "x86_64"))]
        let fused = None;
        let ends = match fused {
            Some(ends) => ends,
            None => {
                let beside = Idle;
                isa.run(ChainOp::<SUM, _> {
                    at,
                    ks,
                    shift,
                    st,
                    b: &mut *b,
                    beside,
                })
                .0
            }
        };
        let old = &xs[i + k + 1 - p..i + stop + 1 - p];
        let ks = k..stop;
        let any = isa.run(VarOp {
            b: &mut *b,
            ks: ks.clone(),
            old,
            shift,
            inv_n,
        });
        let first = if any {
            ks.clone().find(|&j| {
                let t = xs[i + j + 1 - p] - shift;
                let (var, b2) = (b.var[j], b.b2[j]);
                inv_n * b2 * 1e-6 > var || t * t > b2 * 1e6
            })
        } else {
            None
        };
        let counted_out = stop == k + sums.countdown;
        let Some(r) = first.or(counted_out.then_some(stop - 1)) else {
            sums.countdown -= stop - k;
            (*s, sums.s1, sums.s2) = ends;
            k = stop;
            continue;
        };
        let bar = i + r;
        let window = xs.get(bar + 1 - p..=bar).unwrap_or_default();
        b.var[r] = sums.recentre(window, &[], xs[bar + 1 - p]);
        if SUM {
            *s = b.sum[r];
        }
        k = r + 1;
    }
    finished
}

/// Every full-window bar from `p` on, block by block: each block's sums and variances
/// ([`var_block`]), its outputs finished by `fin` (mostly during the next block's chain)
/// and handed to `emit(out, len)` in order. Leaves `sums` and `s` at the end state.
#[inline(always)]
fn run_blocks<const SUM: bool, F: Finish>(
    isa: Isa,
    xs: &[f64],
    (sums, s): (&mut VarSums, &mut f64),
    fin: F,
    mut emit: impl FnMut(&Out, usize),
) {
    let (n, p) = (xs.len(), sums.p);
    let (mut even, mut odd) = (Block::new(), Block::new());
    let mut out: Out = [[0.0; BLOCK]; 3];
    let mut prev_len = 0;
    let mut i = p;
    let mut flip = false;
    while i < n {
        let len = BLOCK.min(n - i);
        let (b, prev) = if flip {
            (&mut odd, &even)
        } else {
            (&mut even, &odd)
        };
        let done = var_block::<SUM, F>(
            isa,
            xs,
            (i, len),
            sums,
            s,
            b,
            (fin, prev, prev_len),
            &mut out,
        );
        if prev_len > 0 {
            let ks = done..prev_len;
            isa.run(FinishOp {
                fin,
                b: prev,
                out: &mut out,
                ks,
            });
            emit(&out, prev_len);
        }
        flip = !flip;
        prev_len = len;
        i += len;
    }
    if prev_len > 0 {
        let prev = if flip { &even } else { &odd };
        let ks = 0..prev_len;
        isa.run(FinishOp {
            fin,
            b: prev,
            out: &mut out,
            ks,
        });
        emit(&out, prev_len);
    }
}

/// [`StdDev`](super::StdDev) (period `p >= 1`, `1/p` = `inv_n`) over `xs` from fresh:
/// `NaN` for the first `p - 1` slots, then `sqrt(variance) · nbdev` as `update_raw`
/// computes it. Returns the column and the variance's end state.
pub(crate) fn stddev(xs: &[f64], p: usize, inv_n: f64, nbdev: f64, isa: Isa) -> (Vec<f64>, VarEnd) {
    let n = xs.len();
    let warm = n.min(p.saturating_sub(1));
    let mut out = column(n);
    out.resize(warm, f64::NAN);
    let mut sums = VarSums::warm(xs, p, inv_n);
    let (Some(&x), Some(&first)) = (xs.get(warm), xs.first()) else {
        return (out, sums.end(warm));
    };
    if n < p || p == 0 {
        return (out, sums.end(warm));
    }
    // bar p - 1, the first full window
    out.push(sums.step(xs, p - 1, x, first).sqrt() * nbdev);
    let mut s = 0.0;
    let fin = Deviation { nbdev };
    run_blocks::<false, _>(isa, xs, (&mut sums, &mut s), fin, |o, len| {
        out.extend_from_slice(&o[0][..len]);
    });
    (out, sums.end(p))
}

/// Bollinger bands' three columns (upper, middle, lower).
pub(crate) type Bands = (Vec<f64>, Vec<f64>, Vec<f64>);

/// [`BollingerBands`](super::BollingerBands) (period `p >= 1`) over `xs` from fresh: the
/// rolling sum of `RollingSum` (divisor `p`), the deviation of [`stddev`], then the bands
/// ([`upper_band`], `mean - sd·dn`), each as `update_raw` computes it; `NaN` for the first `p - 1` slots.
/// Returns the columns, the running sum and the variance's end state.
pub(crate) fn bbands(xs: &[f64], p: usize, nbdev: (f64, f64), isa: Isa) -> (Bands, f64, VarEnd) {
    let (up, dn) = nbdev;
    let n = xs.len();
    let warm = n.min(p.saturating_sub(1));
    let (mut upper, mut middle, mut lower) = (column(n), column(n), column(n));
    for c in [&mut upper, &mut middle, &mut lower] {
        c.resize(warm, f64::NAN);
    }
    let div = p as f64;
    let mut sums = VarSums::warm(xs, p, 1.0 / div);
    let mut s = 0.0;
    for &x in &xs[..warm] {
        s += x;
    }
    let (Some(&x), Some(&first)) = (xs.get(warm), xs.first()) else {
        return ((upper, middle, lower), s, sums.end(warm));
    };
    if n < p || p == 0 {
        return ((upper, middle, lower), s, sums.end(warm));
    }
    // bar p - 1, the first full window: its sum has no value leaving yet
    s += x;
    let var = sums.step(xs, p - 1, x, first);
    let (m, sd) = (s / div, var.sqrt());
    let fused = up != dn;
    upper.push(upper_band(m, sd, up, fused));
    middle.push(m);
    lower.push(m - sd * dn);
    let fin = Bands3 { div, up, dn, fused };
    run_blocks::<true, _>(isa, xs, (&mut sums, &mut s), fin, |o, len| {
        upper.extend_from_slice(&o[0][..len]);
        middle.extend_from_slice(&o[1][..len]);
        lower.extend_from_slice(&o[2][..len]);
    });
    ((upper, middle, lower), s, sums.end(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::{BollingerBands, StdDev};

    /// Both instruction sets (the portable one twice on a CPU without AVX2).
    fn isas() -> [Isa; 2] {
        [Isa::Portable, Isa::detect()]
    }

    /// A deterministic walk around 100 (a 64-bit LCG), `n` values.
    fn walk(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        let mut x = 100.0;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                x *= 1.0 + ((state >> 11) as f64 / 9_007_199_254_740_992.0 - 0.5) * 0.002;
                x
            })
            .collect()
    }

    /// Series that stress the sums: zeros, constant runs, `NaN`s, infinities, subnormal
    /// squares, overflowing squares, sign flips and cancellation around a large level.
    fn awkward() -> Vec<(&'static str, Vec<f64>)> {
        // long enough for the countdown's re-centring (every 32 periods) at every period
        let n = 2600;
        let w = walk(n, 7);
        let runs: Vec<f64> = (0..n)
            .map(|i| [5.0, 0.3, 1e-9, 0.1, -0.0, 7.25][(i / 23 + i / 61) % 6])
            .collect();
        let mut nan = w.clone();
        for i in [3, BLOCK - 1, BLOCK, BLOCK + 1, n - 2] {
            nan[i] = f64::NAN;
        }
        let mut inf = w.clone();
        inf[BLOCK + 5] = f64::INFINITY;
        inf[BLOCK + 40] = f64::NEG_INFINITY;
        vec![
            ("zeros", vec![0.0; n]),
            ("constant 0.1", vec![0.1; n]),
            ("constant runs", runs),
            ("nan", nan),
            ("inf", inf),
            ("tiny", w.iter().map(|x| x * 1e-300).collect()),
            ("huge", w.iter().map(|x| x * 1e200).collect()),
            (
                "sign flips",
                w.iter()
                    .enumerate()
                    .map(|(i, x)| if i % 3 == 0 { -x } else { x - 100.0 })
                    .collect(),
            ),
            ("level 1e9", w.iter().map(|x| 1e9 + x * 1e-3).collect()),
            ("walk", w),
        ]
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Lengths around the warm-up and the block edges.
    fn cuts(p: usize, n: usize) -> Vec<usize> {
        let v = [
            0,
            1,
            p - 1,
            p,
            p + 1,
            BLOCK - 1 + p,
            BLOCK + p,
            BLOCK + p + 1,
            n,
        ];
        v.iter().map(|&k| k.min(n)).collect()
    }

    #[test]
    fn stddev_kernel_equals_the_stream_on_awkward_inputs() {
        for (name, xs) in awkward() {
            for p in [1, 2, 5, 20, 64] {
                let mut s = StdDev::new(p, 1.5).unwrap();
                let want: Vec<f64> = xs
                    .iter()
                    .map(|&x| s.update_raw(x).unwrap_or(f64::NAN))
                    .collect();
                for isa in isas() {
                    for k in cuts(p, xs.len()) {
                        let (got, _) = stddev(&xs[..k], p, 1.0 / p as f64, 1.5, isa);
                        assert_eq!(
                            bits(&got),
                            bits(&want[..k]),
                            "{name}, p {p}, {k} bars, {isa:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bbands_kernel_equals_the_stream_on_awkward_inputs() {
        for (name, xs) in awkward() {
            for p in [1, 2, 5, 20, 64] {
                let mut bb = BollingerBands::new(p, 2.0, 1.5).unwrap();
                let mut want = (Vec::new(), Vec::new(), Vec::new());
                for &x in &xs {
                    let v = bb.update_raw(x);
                    want.0.push(v.map_or(f64::NAN, |v| v.upper));
                    want.1.push(v.map_or(f64::NAN, |v| v.middle));
                    want.2.push(v.map_or(f64::NAN, |v| v.lower));
                }
                for isa in isas() {
                    for k in cuts(p, xs.len()) {
                        let ((u, m, l), _, _) = bbands(&xs[..k], p, (2.0, 1.5), isa);
                        let at = format!("{name}, p {p}, {k} bars, {isa:?}");
                        assert_eq!(bits(&u), bits(&want.0[..k]), "upper: {at}");
                        assert_eq!(bits(&m), bits(&want.1[..k]), "middle: {at}");
                        assert_eq!(bits(&l), bits(&want.2[..k]), "lower: {at}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_avx2_path_is_taken_where_the_cpu_has_it() {
        #[cfg(target_arch = "x86_64")]
        if pulp::x86::V3::try_new().is_some() {
            assert!(matches!(Isa::detect(), Isa::Avx2(_)));
        }
        assert!(matches!(isas()[0], Isa::Portable));
    }
}
