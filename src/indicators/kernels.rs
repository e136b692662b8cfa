//! Batch kernels: the streaming recurrences of the indicators, run over whole columns.
//!
//! Each function here performs exactly the floating-point operations of the matching
//! `update`, in the same order, so its values equal the streaming path's bit for bit; what
//! it saves is the bookkeeping (ring buffers, `Option`s, per-bar state loads and stores):
//! the value that leaves a window is read from the input column instead of a ring, and
//! outputs go straight into one `Vec<f64>` (`NaN` for warm-up). Each returns the state it
//! ends in, which the indicator stores back so that streaming can continue after a batch.
//! The conformance checks (`conformance.rs`) prove both claims for every indicator.
//!
//! Everything starts from a fresh indicator; the callers fall back to `update` in a loop
//! otherwise.

use super::ta_is_zero;

// Most kernels append their values to `out` (an output column, usually empty, from
// [`column`]: allocated once, never zero-filled; zero-filling it first, `vec![0.0; n]`,
// costs nothing for fresh pages but a whole pass when the allocator reuses a freed block,
// as glibc's default settings do after the first large free), with the recurrence's state
// in registers and no capacity check per value:
// `extend` over the input slices zipped and mapped (one reserve for the whole run), where
// that loop is inlined into the kernel: SMA, TRANGE, ROC/MOM, OBV's blocks, and since
// session 13 the chains of EMA, ATR, RSI and WMA too. Those four had gone through a stack
// buffer of 256 values appended by `extend_from_slice`; the copy is a call that the chain
// waits behind (the chain is latency-bound, the stores beside it are free), which cost EMA
// 8 % in a C model and 9–24 % here (EMA 1.09, ATR 1.12, RSI 1.04, WMA 1.24 over 10 rounds;
// EMA and ATR inside `pulp`'s AVX2+FMA context, RSI and WMA in baseline code). Check with
// `perf report` after a toolchain change: no `Map::fold` or `fma` symbol may appear.
// MACD and the DMI step still write in place into a zero-filled
// column ([`zeroed`]): for them every appending form tried (session 10) was slower than
// the zeroed column, with fresh pages (MACD, DMI, MAX 0.6–0.85×) and for MAX with a reused
// block as well (the copy through a buffer costs more than the `memset`). The rolling
// extremes append since session 13 (the doubling kernel's blocks by `extend`: the `memset`
// had become a sixth of MAX's time under mimalloc, which reuses the block). MACD's and the
// DMI's 3–4 columns are trimmed from the heap and faulted in again every call under
// glibc's default settings anyway, and fresh heap pages are not cleared by `calloc`.
// What did not work in session 10: an `extend` with state whose loop the compiler keeps out
// of line (`Map::fold`, as it did then for RSI, WMA and the DMI step in some builds; the
// session-13 build inlines RSI's and WMA's, which is what the check above is for) holds
// the captured state in memory, a store and a load on every bar's chain (RSI 0.6×, WMA
// 0.3× of the zeroed kernel); `push` in a plain loop, inlined or in a function of its own, was
// 0.4–0.9× (MACD 0.6× with fresh pages).

/// The instruction set a kernel runs in. Both give the same bits (see the kernels' docs,
/// e.g. [`super::deviation`]); the choice only changes the speed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Isa {
    /// Baseline code (SSE2 lanes on x86-64).
    Portable,
    /// AVX2 (x86-64-v3), entered through `pulp`'s safe `#[target_feature]` dispatch.
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
}

impl Isa {
    /// AVX2 when this CPU has it, else the portable code.
    pub(crate) fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = pulp::x86::V3::try_new() {
            return Isa::Avx2(v3);
        }
        Isa::Portable
    }

    /// Run `op` in this instruction set's context (under AVX2, `f64::mul_add` inside it is
    /// one `vfmadd` instruction; in the portable code, a call to the C library's `fma`).
    #[inline(always)]
    pub(crate) fn run<R>(self, op: impl pulp::NullaryFnOnce<Output = R>) -> R {
        match self {
            Isa::Portable => portable(op),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(v3) => v3.vectorize(op),
        }
    }
}

/// `op` in a function of its own, as `pulp` runs it for AVX2: the loops inside keep their
/// state in registers whatever calls the caller's loop makes.
#[inline(never)]
fn portable<R>(op: impl pulp::NullaryFnOnce<Output = R>) -> R {
    op.call()
}

/// Wilder's true range: `max(high - low, |prev_close - high|, |prev_close - low|)`.
#[inline]
pub(crate) fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let mut greatest = high - low;
    let v2 = (prev_close - high).abs();
    if v2 > greatest {
        greatest = v2;
    }
    let v3 = (prev_close - low).abs();
    if v3 > greatest {
        greatest = v3;
    }
    greatest
}

/// An empty output column with room for `n` values, the capacity of [`capacity`].
#[inline]
pub(crate) fn column(n: usize) -> Vec<f64> {
    Vec::with_capacity(capacity(n))
}

/// A zero-filled output column of `n` values, the capacity of [`capacity`], for the kernels
/// that write in place (MACD, the DMI step, the extremes; see the note above).
#[inline]
pub(crate) fn zeroed(n: usize) -> Vec<f64> {
    let mut out = vec![0.0; capacity(n)];
    out.truncate(n);
    out
}

/// Bytes of an x86-64 (and 4 KiB-page aarch64) transparent huge page.
const HUGE_PAGE: usize = 2 << 20;

/// What glibc's malloc adds to a request it serves by a mapping of its own: the chunk
/// header (16 bytes) and the alignment slack before the length is rounded to pages.
const MMAP_CHUNK_OVERHEAD: usize = 32;

/// The capacity to allocate for an output of `n` values: `n`, or, from 4 MiB of output on,
/// `n` rounded up so that the allocator's request is a whole number of huge pages less its
/// chunk overhead (≤ 2 MiB more address space, not touched).
///
/// Large outputs come from a mapping of their own (glibc: above `mmap_threshold`), whose
/// first touch costs a page fault per page and the kernel zeroing it. Linux places an
/// anonymous mapping whose length is a multiple of 2 MiB on a 2 MiB boundary; with
/// transparent huge pages on for it (`always`, or `madvise` and an allocator that advises,
/// as glibc's `glibc.malloc.hugetlb=1`) the whole column is then backed by huge pages, one
/// fault per 2 MiB. Of any other length, the unaligned head and tail (≈ 1.6 MB of an 8 MB
/// column on average) fault in 4 KiB pages: ≈ 400 more faults. Measured here (KVM, 6.18):
/// 8 MB fresh column, fault, touch and unmap, 2.45 ms unaligned vs 0.77 ms aligned. With
/// another allocator, or huge pages off, the larger capacity changes nothing but the
/// untouched address space.
#[inline]
pub(crate) fn capacity(n: usize) -> usize {
    let size = std::mem::size_of::<f64>();
    let Some(bytes) = n.checked_mul(size) else {
        return n;
    };
    if bytes < 2 * HUGE_PAGE {
        return n;
    }
    let mapped = bytes
        .checked_add(MMAP_CHUNK_OVERHEAD)
        .and_then(|b| b.checked_next_multiple_of(HUGE_PAGE));
    match mapped {
        Some(mapped) => (mapped - MMAP_CHUNK_OVERHEAD) / size,
        None => n,
    }
}

/// Append `k` `NaN`s to `out`, the warm-up slots.
#[inline]
fn warm_up(out: &mut Vec<f64>, k: usize) {
    out.extend(std::iter::repeat_n(f64::NAN, k));
}

/// Fill `out[..k]` (clamped) with `NaN`, the warm-up slots of a kernel that writes in place.
#[inline]
fn warm_up_slots(out: &mut [f64], k: usize) {
    let k = k.min(out.len());
    if let Some(head) = out.get_mut(..k) {
        head.fill(f64::NAN);
    }
}

/// [`super::RollingSum`] over `xs` from fresh, appended to `out` (`xs.len()` values): `NaN`
/// for the first `p - 1`, then `sum of the window / div`. Returns the running sum it ends
/// with.
#[inline]
pub(crate) fn rolling_mean(xs: &[f64], p: usize, div: f64, out: &mut Vec<f64>) -> f64 {
    let warm = xs.len().min(p);
    let mut s = 0.0;
    for &x in &xs[..warm] {
        s += x;
    }
    if warm < p || p == 0 {
        warm_up(out, warm);
        return s;
    }
    warm_up(out, p - 1);
    out.push(s / div);
    // the value leaving the window is read from the input, `p` slots back
    out.extend(xs[p..].iter().zip(xs).map(|(&x, &old)| {
        s = (s - old) + x;
        s / div
    }));
    s
}

/// The end state of an EMA run: values seen (capped at the period), seed sum, value.
pub(crate) type EmaEnd = (usize, f64, f64);

/// [`super::Ema`] over `xs` from fresh, appended to `out` (`xs.len()` values): seed by the
/// mean of the first `p`, then `fma(x - ema, k, ema)`. Run it in an
/// [`Isa`] context, where `mul_add` is one instruction.
#[inline(always)]
pub(crate) fn ema(xs: &[f64], p: usize, k: f64, out: &mut Vec<f64>) -> EmaEnd {
    let warm = xs.len().min(p);
    let mut seed_sum = 0.0;
    for &x in &xs[..warm] {
        seed_sum += x;
    }
    if warm < p || p == 0 {
        warm_up(out, warm);
        return (warm, seed_sum, 0.0);
    }
    warm_up(out, p - 1);
    let mut v = seed_sum / p as f64;
    out.push(v);
    out.extend(xs[p..].iter().map(|&x| {
        v = (x - v).mul_add(k, v);
        v
    }));
    (p, seed_sum, v)
}

/// [`ema`] as an operation for [`Isa::run`]: its `call` is
/// `#[inline(always)]`, so the kernel is compiled inside the instruction set's context. (A
/// closure that borrows its output is called through a `FnOnce` shim, which the compiler
/// kept out of line, outside the context, with `mul_add` a call to `fma`.)
pub(crate) struct EmaRun<'a> {
    pub(crate) xs: &'a [f64],
    pub(crate) p: usize,
    pub(crate) k: f64,
    pub(crate) out: &'a mut Vec<f64>,
}

impl pulp::NullaryFnOnce for EmaRun<'_> {
    type Output = EmaEnd;
    #[inline(always)]
    fn call(self) -> EmaEnd {
        ema(self.xs, self.p, self.k, self.out)
    }
}

/// One of MACD's averages: its period and smoothing factor `k`.
pub(crate) type EmaSpec = (usize, f64);

/// [`macd`] as an operation for [`Isa::run`], as [`EmaRun`] (a closure
/// that took its outputs by value was inlined in one build and left out of line, with
/// `mul_add` a call to `fma` on the chains, in another: the struct's `call` is always
/// inlined).
pub(crate) struct MacdRun<'a> {
    pub(crate) xs: &'a [f64],
    pub(crate) specs: [EmaSpec; 3],
    pub(crate) out: (&'a mut [f64], &'a mut [f64], &'a mut [f64]),
}

impl pulp::NullaryFnOnce for MacdRun<'_> {
    type Output = Option<[EmaEnd; 3]>;
    #[inline(always)]
    fn call(self) -> Option<[EmaEnd; 3]> {
        macd(self.xs, self.specs, self.out)
    }
}

/// [`super::Macd`] over `xs` from fresh in one pass: the slow EMA, the fast EMA (fed from
/// bar `slow - fast`, so that both seeds end on bar `slow - 1`), their difference and the
/// signal EMA over it, each the operations of `Ema::update_raw` in the order
/// `Macd::update_raw` runs them (`fma(x - ema, k, ema)`: run it in an
/// [`Isa`] context). `out` = (macd, signal, hist) columns as long as `xs`,
/// `NaN` for the first `slow + signal - 2` slots. Needs `fast <= slow` and one output at
/// least; `None` (nothing written) otherwise. Returns the end states of (slow, fast, signal).
#[inline(always)]
pub(crate) fn macd(
    xs: &[f64],
    specs: [EmaSpec; 3],
    out: (&mut [f64], &mut [f64], &mut [f64]),
) -> Option<[EmaEnd; 3]> {
    let [(ps, ks), (pf, kf), (pg, kg)] = specs;
    if pf == 0 || pf > ps || pg == 0 {
        return None;
    }
    let lb = ps - 1 + pg - 1;
    if xs.len() <= lb {
        return None;
    }
    let (mo, so, ho) = out;
    let (mut ssum, mut fsum) = (0.0, 0.0);
    for &x in &xs[..ps] {
        ssum += x;
    }
    for &x in &xs[ps - pf..ps] {
        fsum += x;
    }
    let (mut sv, mut fv) = (ssum / ps as f64, fsum / pf as f64);
    let mut m = fv - sv;
    // the signal's seed: the first `pg` MACD values, summed from 0.0 as `update_raw` does
    let mut gsum = 0.0;
    gsum += m;
    for &x in &xs[ps..=lb] {
        sv = (x - sv).mul_add(ks, sv);
        fv = (x - fv).mul_add(kf, fv);
        m = fv - sv;
        gsum += m;
    }
    let mut gv = gsum / pg as f64;
    warm_up_slots(mo, lb);
    warm_up_slots(so, lb);
    warm_up_slots(ho, lb);
    mo[lb] = m;
    so[lb] = gv;
    ho[lb] = m - gv;
    let outs = mo[lb + 1..]
        .iter_mut()
        .zip(&mut so[lb + 1..])
        .zip(&mut ho[lb + 1..]);
    for (((mo, so), ho), &x) in outs.zip(&xs[lb + 1..]) {
        sv = (x - sv).mul_add(ks, sv);
        fv = (x - fv).mul_add(kf, fv);
        m = fv - sv;
        gv = (m - gv).mul_add(kg, gv);
        *mo = m;
        *so = gv;
        *ho = m - gv;
    }
    Some([(ps, ssum, sv), (pf, fsum, fv), (pg, gsum, gv)])
}

/// The end state of a WMA run: values counted, `period_sub`, `period_sum`, `trailing`.
pub(crate) type WmaEnd = (usize, f64, f64, f64);

/// [`super::Wma`] (period `p >= 2`) over `xs` from fresh, appended to `out` (`xs.len()`
/// values), TA-Lib's `TA_WMA` recurrence.
#[inline]
pub(crate) fn wma(xs: &[f64], p: usize, out: &mut Vec<f64>) -> WmaEnd {
    let warm = xs.len().min(p.saturating_sub(1));
    let (mut sub, mut sum, trailing) = (0.0, 0.0, 0.0);
    for (i, &x) in xs[..warm].iter().enumerate() {
        sub += x;
        sum += x * (i + 1) as f64;
    }
    warm_up(out, warm);
    let pf = p as f64;
    let divider = ((p * (p + 1)) >> 1) as f64;
    // bar `i` (from `p - 1`) sets `trailing` to `xs[i + 1 - p]`, which leaves at bar `i + 1`
    let (mut sub, mut sum, mut trailing) = (sub, sum, trailing);
    out.extend(xs[warm..].iter().zip(xs).map(|(&x, &next_trailing)| {
        sub += x;
        sub -= trailing;
        sum += x * pf;
        trailing = next_trailing;
        let v = sum / divider;
        sum -= sub;
        v
    }));
    (warm, sub, sum, trailing)
}

/// The end state of an RSI run: changes counted (capped at the period), gain, loss.
pub(crate) type RsiEnd = (usize, f64, f64);

/// RSI's output from the smoothed gain and loss.
#[inline]
pub(crate) fn rsi_value(gain: f64, loss: f64) -> f64 {
    let t = gain + loss;
    if ta_is_zero(t) {
        0.0
    } else {
        100.0 * (gain / t)
    }
}

/// [`super::Rsi`] over `xs` (non-empty) from fresh, appended to `out` (`xs.len()` values):
/// Wilder's smoothing by `keep` and `inv_n`.
#[inline]
pub(crate) fn rsi(xs: &[f64], p: usize, keep: f64, inv_n: f64, out: &mut Vec<f64>) -> RsiEnd {
    let changes = xs.len().saturating_sub(1);
    let warm = changes.min(p);
    let (mut gain, mut loss) = (0.0, 0.0);
    // `(xs[i + 1], xs[i])`: a close and the one before it
    for (&x, &prev) in xs[1..=warm].iter().zip(xs) {
        let d = x - prev;
        loss += (-d).max(0.0);
        gain += d.max(0.0);
    }
    if warm < p || p == 0 {
        warm_up(out, warm + 1);
        return (warm, gain, loss);
    }
    warm_up(out, p);
    let n = p as f64;
    loss /= n;
    gain /= n;
    out.push(rsi_value(gain, loss));
    // `(xs[j + 1], xs[j])` pairs, a close and the one before it, straight into the column
    out.extend(xs[p + 1..].iter().zip(&xs[p..]).map(|(&x, &prev)| {
        let d = x - prev;
        let (g, l) = (d.max(0.0), (-d).max(0.0));
        loss = (loss * keep + l) * inv_n;
        gain = (gain * keep + g) * inv_n;
        rsi_value(gain, loss)
    }));
    (p, gain, loss)
}

/// `f(x_t, x_{t-p})` from slot `p` on, `NaN` before (the shape of `Roc` and `Mom`),
/// appended to `out` (`xs.len()` values).
#[inline]
pub(crate) fn lagged(xs: &[f64], p: usize, out: &mut Vec<f64>, f: impl Fn(f64, f64) -> f64) {
    let warm = xs.len().min(p);
    warm_up(out, warm);
    out.extend(xs[warm..].iter().zip(xs).map(|(&x, &old)| f(x, old)));
}
/// TA-Lib's rolling extreme in progress over a column: the extreme and the index it came
/// from. A value at least as extreme replaces it (`!beats(ext, x)`, as `Extreme::push`);
/// when it leaves the window, the window is rescanned, oldest first, strictly more extreme
/// wins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rolling<const IS_MAX: bool> {
    pub(crate) ext: f64,
    pub(crate) ext_t: usize,
}

impl<const IS_MAX: bool> Rolling<IS_MAX> {
    #[inline(always)]
    fn beats(a: f64, b: f64) -> bool {
        if IS_MAX { a > b } else { a < b }
    }

    /// The extreme of `xs[trailing..=today]` (non-empty), the first of equals.
    #[cold]
    #[inline(never)]
    pub(crate) fn rescan(xs: &[f64], trailing: usize, today: usize) -> Self {
        let window = &xs[trailing..=today];
        let mut ext = window[0];
        let mut ext_t = trailing;
        for (j, &v) in window.iter().enumerate().skip(1) {
            if Self::beats(v, ext) {
                ext = v;
                ext_t = trailing + j;
            }
        }
        Rolling { ext, ext_t }
    }

    /// Take `x = xs[today]` into the window `xs[trailing..=today]`; the extreme. A branch,
    /// as TA-Lib's loop (the values equal `Extreme::push`'s selects).
    #[inline(always)]
    pub(crate) fn step(&mut self, xs: &[f64], x: f64, trailing: usize, today: usize) -> f64 {
        if self.ext_t < trailing {
            *self = Self::rescan(xs, trailing, today);
        } else if !Self::beats(self.ext, x) {
            self.ext = x;
            self.ext_t = today;
        }
        self.ext
    }
}

/// The rolling extreme of `Extreme<IS_MAX>` (period `p >= 1`) over `xs` from fresh,
/// appended to `out` (`xs.len()` values, `NaN` for the first `p - 1`): the values and the end
/// state of TA-Lib's loop ([`extreme_exact`]). Returns the extreme and the index it came
/// from (`(0.0, 0)` while never full).
///
/// When no value is zero or `NaN`, values that compare equal are the same bits, so the
/// extreme of a window is one value whichever order compares it: then a kernel without
/// branches or rescans gives the values ([`extreme_doubling`] in SIMD lanes up to
/// [`DOUBLING_MAX_PERIOD`], [`extreme_blocks`] beyond), and the end state comes
/// from TA-Lib's loop replayed from the last bar whose window holds its extreme once (there
/// the loop's state is known: that value and its index). Otherwise, or when no such bar is
/// near the end, TA-Lib's loop runs over everything.
///
/// The output is appended, not written into a zero-filled column: zeroing 8 MB first cost
/// MAX a sixth of its time.
#[inline]
pub(crate) fn extreme<const IS_MAX: bool>(
    xs: &[f64],
    p: usize,
    out: &mut Vec<f64>,
) -> (f64, usize) {
    if p == 0 || xs.len() < p {
        warm_up(out, xs.len());
        return (0.0, 0);
    }
    let base = out.len();
    warm_up(out, p - 1);
    let values = if p == 1 {
        false
    } else if p <= DOUBLING_MAX_PERIOD {
        Isa::detect().run(DoublingRun::<IS_MAX> {
            xs,
            p,
            out: &mut *out,
        })
    } else {
        extreme_blocks::<IS_MAX>(xs, p, out)
    };
    if values && let Some(end) = extreme_replay::<IS_MAX>(xs, p, &out[base..]) {
        return end;
    }
    out.truncate(base + p - 1);
    extreme_exact::<IS_MAX>(xs, p, out)
}

/// The longest period [`extreme_doubling`] serves; longer ones take [`extreme_blocks`]
/// (the doubling makes ⌈log₂ p⌉ passes, the blocks three compares a bar whatever `p`).
const DOUBLING_MAX_PERIOD: usize = 256;

/// Output bars per block of [`extreme_doubling`]: its two level buffers (with the block's
/// `p - 1` bars of history) stay in the L1 cache.
const DOUBLING_BLOCK: usize = 1024;

/// [`extreme_doubling`] as an operation for [`Isa::run`] (a struct with
/// an always-inlined `call`, so that the loops are compiled in the instruction set's
/// context: four lanes under AVX2).
struct DoublingRun<'a, const IS_MAX: bool> {
    xs: &'a [f64],
    p: usize,
    out: &'a mut Vec<f64>,
}

impl<const IS_MAX: bool> pulp::NullaryFnOnce for DoublingRun<'_, IS_MAX> {
    type Output = bool;
    #[inline(always)]
    fn call(self) -> bool {
        extreme_doubling::<IS_MAX>(self.xs, self.p, self.out)
    }
}

/// The rolling extreme by doubling (a sparse table built per block): with `top` the
/// largest power of two `<= p`, level `k` holds the extreme of the `2^k` values from each
/// index, made from level `k - 1` by one compare per slot; the window of `p` values from
/// `s` is then the more extreme of the `top`-value extremes from `s` and from
/// `s + p - top`. Every pass is a plain loop over two slices (no data-dependent branch, no
/// chain from bar to bar), so it runs in SIMD lanes. Appends the `xs.len() - p + 1` full
/// windows' extremes to `out` (needs `2 <= p <= xs.len()`). Returns `false` when some value
/// is zero or `NaN` (then what it appended is not the answer, as [`extreme_blocks`]):
/// otherwise values that compare equal are the same bits, and the order of the compares
/// cannot change a window's extreme.
#[inline(always)]
fn extreme_doubling<const IS_MAX: bool>(xs: &[f64], p: usize, out: &mut Vec<f64>) -> bool {
    let n = xs.len();
    let top = 1usize << (usize::BITS - 1 - p.leading_zeros());
    let (shift, doublings) = (p - top, top.trailing_zeros());
    let mut a = vec![0.0; DOUBLING_BLOCK + p - 1];
    let mut b = vec![0.0; DOUBLING_BLOCK + p - 1];
    let mut j = p - 1;
    while j < n {
        let e = (j + DOUBLING_BLOCK).min(n);
        // the block's windows start at j + 1 - p ..= e - p: its values are xs[j + 1 - p..e];
        // the first pass reads them from the column, two doublings a pass where it can
        let src = &xs[j + 1 - p..e];
        // the 0-or-NaN check (`|x| > 0` fails exactly for those) as a count, a compare and
        // an add per lane, block by block (the block is then in cache for the first pass)
        let sound: u64 = src.iter().map(|&x| u64::from(x.abs() > 0.0)).sum();
        if sound != src.len() as u64 {
            return false;
        }
        let (mut cur, mut next) = (&mut a, &mut b);
        let (mut len, mut w, mut left) = if doublings >= 2 {
            (doubling_pass::<IS_MAX, true>(src, 1, cur), 4, doublings - 2)
        } else {
            (
                doubling_pass::<IS_MAX, false>(src, 1, cur),
                2,
                doublings - 1,
            )
        };
        while left > 0 {
            let lvl = &cur[..len];
            if left >= 2 {
                len = doubling_pass::<IS_MAX, true>(lvl, w, next);
                (w, left) = (w * 4, left - 2);
            } else {
                len = doubling_pass::<IS_MAX, false>(lvl, w, next);
                (w, left) = (w * 2, left - 1);
            }
            (cur, next) = (next, cur);
        }
        let lvl = &cur[..len];
        let windows = lvl[..e - j].iter().zip(&lvl[shift..]);
        out.extend(windows.map(|(&x, &y)| more::<IS_MAX>(x, y)));
        j = e;
    }
    true
}

/// One pass of [`extreme_doubling`]: from `src`, the extremes of the windows of `w` values
/// from each index, into `dst` those of `2w` values (`QUAD`: `4w`, two doublings in one
/// pass: fewer stores); returns how many (`src.len() - w`, or `- 3w`).
#[inline(always)]
fn doubling_pass<const IS_MAX: bool, const QUAD: bool>(
    src: &[f64],
    w: usize,
    dst: &mut [f64],
) -> usize {
    let len = src.len() - if QUAD { 3 * w } else { w };
    let dst = &mut dst[..len];
    if QUAD {
        let halves = src
            .iter()
            .zip(&src[w..])
            .zip(src[2 * w..].iter().zip(&src[3 * w..]));
        for (d, ((&x0, &x1), (&x2, &x3))) in dst.iter_mut().zip(halves) {
            *d = more::<IS_MAX>(more::<IS_MAX>(x0, x1), more::<IS_MAX>(x2, x3));
        }
    } else {
        for (d, (&x0, &x1)) in dst.iter_mut().zip(src.iter().zip(&src[w..])) {
            *d = more::<IS_MAX>(x0, x1);
        }
    }
    len
}

/// Bars per chunk of [`extreme_blocks`] (rounded down to a multiple of the period): the
/// chunk's suffix extremes stay in cache.
const EXTREME_CHUNK: usize = 4096;

/// The more extreme of `a` and `b` (`b` when they compare equal).
#[inline(always)]
fn more<const IS_MAX: bool>(a: f64, b: f64) -> f64 {
    let a_wins = if IS_MAX { a > b } else { a < b };
    if a_wins { a } else { b }
}

/// Van Herk / Gil-Werman: cut `xs` into blocks of `p` (from index 0); the extreme of the
/// window `j..=i` is the more extreme of the suffix extreme of `j`'s block from `j` and the
/// prefix extreme of `i`'s block up to `i` (one block when `j` starts a block). Appends the
/// `xs.len() - p + 1` full windows' extremes to `out` (needs `2 <= p <= xs.len()`), three
/// compares a bar, no branch on the data. Returns `false` when some value is zero or `NaN`
/// (then what it appended is not the answer).
fn extreme_blocks<const IS_MAX: bool>(xs: &[f64], p: usize, out: &mut Vec<f64>) -> bool {
    let n = xs.len();
    let chunk = p * (EXTREME_CHUNK / p).max(1);
    // suf[g + p - c0]: the suffix extreme of global index g, for g in c0 - p..c1
    let mut suf = vec![0.0; chunk + p];
    let mut ok = true;
    let mut c0 = 0;
    while c0 < n {
        let c1 = (c0 + chunk).min(n);
        let mut b = c0;
        while b < c1 {
            let e = (b + p).min(c1);
            let mut m = xs[e - 1];
            for (s, &x) in suf[b + p - c0..e + p - c0].iter_mut().zip(&xs[b..e]).rev() {
                ok &= x.abs() > 0.0;
                m = more::<IS_MAX>(x, m);
                *s = m;
            }
            b = e;
        }
        let mut b = c0;
        if b == 0 {
            // the first block: only its last bar has a full window, the whole block
            out.push(suf[p]);
            b = p;
        }
        while b < c1 {
            let e = (b + p).min(c1);
            let mut m = xs[b];
            // the window ending at i starts at i + 1 - p, whose suffix sits at i + 1 - c0
            let bars = xs[b..e].iter().zip(&suf[b + 1 - c0..e + 1 - c0]);
            out.extend(bars.map(|(&x, &s)| {
                m = more::<IS_MAX>(x, m);
                more::<IS_MAX>(s, m)
            }));
            b = e;
        }
        if c1 - c0 == chunk {
            suf.copy_within(chunk..chunk + p, 0);
        }
        c0 = c1;
    }
    ok
}

/// The end state of TA-Lib's loop after `xs` (`p <= xs.len()`, `out` its values): replayed
/// from the last bar, at most four windows back, whose window holds its extreme once;
/// `None` when there is none.
fn extreme_replay<const IS_MAX: bool>(xs: &[f64], p: usize, out: &[f64]) -> Option<(f64, usize)> {
    let n = xs.len();
    let lowest = (p - 1).max(n.saturating_sub(4 * p));
    for t0 in (lowest..n).rev() {
        let m = out[t0];
        let trailing = t0 + 1 - p;
        let mut count = 0;
        let mut at = 0;
        for (k, &v) in xs[trailing..=t0].iter().enumerate() {
            if v == m {
                count += 1;
                at = k;
            }
        }
        if count == 1 {
            let mut r = Rolling::<IS_MAX> {
                ext: m,
                ext_t: trailing + at,
            };
            for (today, &x) in xs.iter().enumerate().skip(t0 + 1) {
                r.step(xs, x, today + 1 - p, today);
            }
            return Some((r.ext, r.ext_t));
        }
    }
    None
}

/// TA-Lib's loop over `xs` (`1 <= p <= xs.len()`), its `xs.len() - p + 1` values appended to
/// `out`: the same rescan when the extreme leaves the window, the same tie rule otherwise;
/// returns its end state.
fn extreme_exact<const IS_MAX: bool>(xs: &[f64], p: usize, out: &mut Vec<f64>) -> (f64, usize) {
    let mut r = Rolling::<IS_MAX>::rescan(xs, 0, p - 1);
    out.push(r.ext);
    let bars = xs[p..].iter().enumerate();
    out.extend(bars.map(|(j, &x)| r.step(xs, x, j + 1, p + j)));
    (r.ext, r.ext_t)
}

/// The end state of a stochastic's fast %K run: the highest high and the lowest low with
/// the indices they came from (`None` while never full).
pub(crate) type FastKEnd = Option<((f64, usize), (f64, usize))>;

/// `Stoch`'s fast %K from fresh, appended to the empty `out` (as long as the columns): the
/// highest high and the lowest low over `p` bars (the rolling extremes of [`extreme`], the
/// highs' into `out`, the lows' into the empty `scratch`, as long), then
/// `(close - lowest) / ((highest - lowest) / 100)` (0 when the range is 0) in place, `NaN`
/// for the first `p - 1` slots. (`scratch` lets the caller lend a column it fills later,
/// rather than a third column being allocated and freed.)
#[inline]
pub(crate) fn fast_k(
    cols: (&[f64], &[f64], &[f64]),
    p: usize,
    out: &mut Vec<f64>,
    scratch: &mut Vec<f64>,
) -> FastKEnd {
    let (high, low, close) = cols;
    let n = high.len();
    out.clear();
    scratch.clear();
    if p == 0 || n < p {
        warm_up(out, n);
        return None;
    }
    let hh = extreme::<true>(high, p, out);
    let ll = extreme::<false>(low, p, scratch);
    let lowest = &**scratch;
    let bars = lowest[p - 1..].iter().zip(&close[p - 1..]);
    for (o, (&lowest, &close)) in out[p - 1..].iter_mut().zip(bars) {
        let highest = *o;
        let diff = (highest - lowest) / 100.0;
        *o = if diff != 0.0 {
            (close - lowest) / diff
        } else {
            0.0
        };
    }
    Some((hh, ll))
}

/// Wilder's true range of every bar against the previous close, appended to `out`
/// (`high.len()` values); `NaN` for the first bar.
#[inline]
pub(crate) fn true_ranges(high: &[f64], low: &[f64], close: &[f64], out: &mut Vec<f64>) {
    if high.is_empty() {
        return;
    }
    out.push(f64::NAN);
    let bars = high[1..].iter().zip(&low[1..]).zip(close);
    out.extend(bars.map(|((&h, &l), &prev)| true_range(h, l, prev)));
}

/// The end state of an ATR run: true ranges counted (capped at the period), value.
pub(crate) type AtrEnd = (usize, f64);

/// [`super::Atr`] over non-empty columns from fresh, appended to `out` (`high.len()`
/// values): the seed, then `fma(value, decay, tr·gain)` (`decay = (p-1)/p`,
/// `gain = 1 - decay`). Run it in an [`Isa`] context, where `mul_add` is
/// one instruction.
#[inline(always)]
pub(crate) fn atr(
    cols: (&[f64], &[f64], &[f64]),
    p: usize,
    decay: f64,
    gain: f64,
    out: &mut Vec<f64>,
) -> AtrEnd {
    let (high, low, close) = cols;
    let trs = high.len() - 1;
    let warm = trs.min(p);
    let mut value = 0.0;
    for ((&h, &l), &prev) in high[1..=warm].iter().zip(&low[1..=warm]).zip(close) {
        value += true_range(h, l, prev);
    }
    if warm < p || p == 0 {
        warm_up(out, warm + 1);
        return (warm, value);
    }
    warm_up(out, p);
    value /= p as f64;
    out.push(value);
    // straight into the column, as `ema`
    let bars = high[p + 1..].iter().zip(&low[p + 1..]).zip(&close[p..]);
    out.extend(bars.map(|((&h, &l), &prev)| {
        value = value.mul_add(decay, true_range(h, l, prev) * gain);
        value
    }));
    (p, value)
}

/// [`atr`] as an operation for [`Isa::run`], as [`EmaRun`].
pub(crate) struct AtrRun<'a> {
    pub(crate) cols: (&'a [f64], &'a [f64], &'a [f64]),
    pub(crate) p: usize,
    pub(crate) decay: f64,
    pub(crate) gain: f64,
    pub(crate) out: &'a mut Vec<f64>,
}

impl pulp::NullaryFnOnce for AtrRun<'_> {
    type Output = AtrEnd;
    #[inline(always)]
    fn call(self) -> AtrEnd {
        atr(self.cols, self.p, self.decay, self.gain, self.out)
    }
}

/// Bars per block of [`obv`]: its signed volumes stay in L1.
const OBV_BLOCK: usize = 512;

/// OBV's step: `v` when the close rose, `-v` when it fell, `-0.0` otherwise (equal, or a
/// `NaN` close). `value - v` is `value + (-v)` exactly, and adding -0.0 leaves any value
/// unchanged bit for bit, so `value + step` is the streaming path's three-way branch.
#[inline(always)]
fn obv_step(close: f64, prev: f64, v: f64) -> f64 {
    // in bits, so that it compiles to masks rather than branches: the sign of `v` flipped
    // unless the close rose; then all of it kept if the close moved, else only the sign
    let rose = close > prev;
    let moved = rose | (close < prev);
    let flip = u64::from(!rose) << 63;
    let keep = u64::from(moved).wrapping_neg();
    f64::from_bits(((v.to_bits() ^ flip) & keep) | (flip & !keep))
}

/// On-balance volume over non-empty columns from fresh, appended to `out` (`close.len()`
/// values); returns the last value.
///
/// In blocks of [`OBV_BLOCK`] bars: the signed volumes first (no dependency between bars,
/// selects in vector lanes), then the running sum over them in place. Branching on the
/// close per bar, as TA-Lib's loop does, mispredicts about every other bar of a random
/// walk (≈ 15 cycles each); the running sum alone is one add a bar.
#[inline]
pub(crate) fn obv(close: &[f64], volume: &[f64], out: &mut Vec<f64>) -> f64 {
    let mut value = volume[0];
    out.push(value);
    let n = close.len().min(volume.len());
    let mut start = 1;
    while start < n {
        let end = (start + OBV_BLOCK).min(n);
        let at = out.len();
        let bars = close[start..end]
            .iter()
            .zip(&close[start - 1..end - 1])
            .zip(&volume[start..end]);
        out.extend(bars.map(|((&c, &prev), &v)| obv_step(c, prev, v)));
        if let Some(block) = out.get_mut(at..) {
            for o in block {
                value += *o;
                *o = value;
            }
        }
        start = end;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Obv::update`'s arithmetic: add the volume when the close rose, subtract it when it
    /// fell, nothing otherwise.
    fn obv_reference(close: &[f64], volume: &[f64]) -> Vec<f64> {
        let mut value = volume[0];
        let mut out = vec![value];
        for ((&c, &prev), &v) in close[1..].iter().zip(close).zip(&volume[1..]) {
            if c > prev {
                value += v;
            } else if c < prev {
                value -= v;
            }
            out.push(value);
        }
        out
    }

    #[test]
    fn obv_kernel_equals_the_branching_loop_across_blocks() {
        let walk = crate::testutil::random_walk(3 * OBV_BLOCK + 7, 11);
        // coarse closes tie often; volumes with zeros, signed zeros, tiny and huge values
        let close: Vec<f64> = walk.close().iter().map(|c| (c * 2.0).round()).collect();
        let volume: Vec<f64> = walk
            .volume()
            .iter()
            .enumerate()
            .map(|(i, &v)| match i % 7 {
                0 => 0.0,
                1 => -0.0,
                2 => 1e300,
                3 => 5e-324,
                _ => v,
            })
            .collect();
        for n in [
            1,
            2,
            OBV_BLOCK,
            OBV_BLOCK + 1,
            OBV_BLOCK + 2,
            2 * OBV_BLOCK + 1,
            close.len(),
        ] {
            let (c, v) = (&close[..n], &volume[..n]);
            let mut out = column(n);
            let last = obv(c, v, &mut out);
            let want = obv_reference(c, v);
            let bits = |x: &[f64]| x.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&out), bits(&want), "{n} bars");
            assert_eq!(last.to_bits(), want[n - 1].to_bits(), "{n} bars");
        }
        // NaN and infinite closes never count as a move, as in the branching loop
        let close = [1.0, f64::NAN, 2.0, f64::INFINITY, f64::INFINITY, 3.0, 2.0];
        let volume = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
        let mut out = column(close.len());
        obv(&close, &volume, &mut out);
        assert_eq!(out, obv_reference(&close, &volume));
    }

    #[test]
    fn large_columns_map_whole_huge_pages() {
        for n in [0, 1, 1000, (4 << 20) / 8 - 1] {
            assert_eq!(capacity(n), n, "{n} values");
        }
        for n in [(4 << 20) / 8, 1_000_000, 1_048_572, 1_048_573, 10_000_000] {
            let cap = capacity(n);
            assert!(
                cap >= n && cap - n < HUGE_PAGE / 8,
                "{n} values: capacity {cap}"
            );
            assert_eq!((cap * 8 + MMAP_CHUNK_OVERHEAD) % HUGE_PAGE, 0, "{n} values");
        }
        assert_eq!(capacity(usize::MAX), usize::MAX);
        let col = column(1_000_000);
        assert!(col.is_empty());
        assert!(col.capacity() >= capacity(1_000_000));
    }
}
