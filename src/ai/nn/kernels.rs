//! The dense kernels of [`super::Mlp`], written once as plain loops over fixed-size blocks
//! and compiled twice: for the baseline x86-64 target (SSE2, 4 lanes) and, chosen at run
//! time when the CPU has it, for AVX2 (8 lanes) through `pulp`'s safe dispatch (the crate
//! forbids `unsafe`; pulp enters the `#[target_feature]` context for us).
//!
//! Bit-identity across the two paths and across machines: every output is one chain of
//! fused multiply-adds (`acc ← fma(x, w, acc)`: one rounding per term) whose order is fixed
//! by the source (the compiler vectorises across independent outputs, never inside a
//! chain), so the block sizes change which chains run side by side, not the order inside
//! any one chain. The AVX2 path uses `vfmadd` (pulp's V3 level requires FMA); the baseline
//! path uses `f32::mul_add`, which is correctly rounded on every machine (an `fma`
//! instruction where the compilation has one, else the C library's `fmaf`, exact in
//! software), so both paths and every CPU give the same bits:
//!
//! - forward: `out[s][o] = fma(x[s][n−1], W[n−1][o], … fma(x[s][0], W[0][o], bias[o]))`
//!   (inputs ascending);
//! - weight gradient: `gW[i][o]` the chain over samples ascending from `+0` of
//!   `x[s][i]·dz[s][o]`; `gb[o]` the plain sum of `dz` (samples ascending);
//! - input gradient: `dx[s][i] = Σ_o dz[s][o]·W[i][o]` in [`LANES`]-strided order: lane `k`
//!   is the chain over the outputs `o ≡ k (mod 16)` below the last full block of 16 (from
//!   `0`), the lanes are added first to last (plain additions from `−0`, as
//!   `Iterator::sum`), then the outputs of the last partial block are chained on in order;
//!   times the ReLU mask of the input.
//!
//! The unit tests in `super` compare both paths with the plain definitions bit for bit.

use pulp::{Arch, Simd, WithSimd};

/// Lanes of the input-gradient sums (the order of [`dense_grad_input`]).
pub(super) const LANES: usize = 16;

/// Which compilation of the kernels runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The best the CPU offers (AVX2 on x86-64 v3 machines, else the baseline).
    Detected,
    /// The baseline target only (for tests that compare the two).
    Baseline,
}

impl Path {
    fn arch(self) -> Arch {
        match self {
            Path::Detected => Arch::new(),
            Path::Baseline => Arch::Scalar,
        }
    }

    /// Run `op` on this path, with the block sizes that suit its vector width.
    #[inline]
    pub(super) fn run<K: Kernel>(self, op: K) -> K::Output {
        self.arch().dispatch(Dispatch(op))
    }
}

/// Work that runs inside the chosen compilation.
pub(super) trait Kernel {
    type Output;
    /// `SB` rows and `OB` outputs per register block of the generic kernels; `simd` says
    /// whether the AVX2 kernels may run.
    fn run<const SB: usize, const OB: usize>(self, simd: Wide) -> Self::Output;
}

/// The AVX2 instruction set when the kernels run in its context (`None` on the baseline).
#[derive(Debug, Clone, Copy)]
pub(super) struct Wide {
    #[cfg(target_arch = "x86_64")]
    v3: Option<pulp::x86::V3>,
}

impl Wide {
    /// The baseline path's value (no AVX2), for tests of the helpers that take one.
    #[cfg(test)]
    pub(super) fn baseline() -> Wide {
        Wide {
            #[cfg(target_arch = "x86_64")]
            v3: None,
        }
    }

    /// AVX2, when this compilation has it.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn avx(self) -> Option<pulp::x86::V3> {
        self.v3
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn avx(self) -> Option<()> {
        None
    }
}

struct Dispatch<K>(K);

impl<K: Kernel> WithSimd for Dispatch<K> {
    type Output = K::Output;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Self::Output {
        #[cfg(target_arch = "x86_64")]
        {
            let v3 = if S::F32_LANES >= 8 {
                pulp::x86::V3::try_new()
            } else {
                None
            };
            self.0.run::<4, 8>(Wide { v3 })
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.0.run::<4, 8>(Wide {})
    }
}

/// `&v[at..at + N]` as an array (`None` past the end).
#[inline(always)]
fn arr<const N: usize>(v: &[f32], at: usize) -> Option<&[f32; N]> {
    v.get(at..at + N)
        .and_then(|c| <&[f32; N]>::try_from(c).ok())
}

/// The ReLU of every hidden layer: `v > 0 ? v : +0` (what `vmaxps(v, 0)` computes, so the
/// vector and scalar paths agree on `−0` and NaN too).
#[inline(always)]
pub(super) fn relu(v: f32) -> f32 {
    if v > 0.0 { v } else { 0.0 }
}

/// `out = x·W + bias` for every row of `x` (`[rows × n_in]`), then ReLU when `relu`.
/// With AVX2 the whole layer goes through [`avx::dense_forward`] (`pack` is its scratch);
/// otherwise rows go `SB` at a time through blocks of `OB` outputs, the rest of the rows
/// one at a time, and outputs past the last full block one at a time.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
pub(super) fn dense_forward<const SB: usize, const OB: usize>(
    simd: Wide,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    n_in: usize,
    n_out: usize,
    relu: bool,
    pack: &mut Vec<f32>,
) {
    let rows = x.len() / n_in;
    let oblocks = n_out / OB * OB;
    let fix = |v: f32| if relu { self::relu(v) } else { v };
    let grouped = match simd.avx() {
        #[cfg(target_arch = "x86_64")]
        Some(v3) => {
            avx::dense_forward(v3, x, w, bias, out, n_in, n_out, relu, pack);
            return;
        }
        _ => {
            let grouped = rows / SB * SB;
            for (xg, yg) in x[..grouped * n_in]
                .chunks_exact(SB * n_in)
                .zip(out.chunks_exact_mut(SB * n_out))
            {
                for o in (0..oblocks).step_by(OB) {
                    let Some(b) = arr::<OB>(bias, o) else {
                        continue;
                    };
                    let mut acc = [*b; SB];
                    for (i, wrow) in w.chunks_exact(n_out).enumerate() {
                        let Some(wr) = arr::<OB>(wrow, o) else {
                            continue;
                        };
                        for (r, a) in acc.iter_mut().enumerate() {
                            let xi = xg[r * n_in + i];
                            for k in 0..OB {
                                a[k] = xi.mul_add(wr[k], a[k]);
                            }
                        }
                    }
                    for (r, a) in acc.iter().enumerate() {
                        for (y, v) in yg[r * n_out + o..r * n_out + o + OB].iter_mut().zip(a) {
                            *y = fix(*v);
                        }
                    }
                }
                for (xr, yr) in xg.chunks_exact(n_in).zip(yg.chunks_exact_mut(n_out)) {
                    forward_tail(xr, w, bias, yr, oblocks, n_out, relu);
                }
            }
            grouped
        }
    };
    for (xr, yr) in x[grouped * n_in..]
        .chunks_exact(n_in)
        .zip(out[grouped * n_out..].chunks_exact_mut(n_out))
    {
        for o in (0..oblocks).step_by(OB) {
            let Some(b) = arr::<OB>(bias, o) else {
                continue;
            };
            let mut acc = *b;
            for (&xi, wrow) in xr.iter().zip(w.chunks_exact(n_out)) {
                if let Some(wr) = arr::<OB>(wrow, o) {
                    for k in 0..OB {
                        acc[k] = xi.mul_add(wr[k], acc[k]);
                    }
                }
            }
            for (y, v) in yr[o..o + OB].iter_mut().zip(&acc) {
                *y = fix(*v);
            }
        }
        forward_tail(xr, w, bias, yr, oblocks, n_out, relu);
    }
}

/// Outputs `from..n_out` of one row, one at a time.
#[inline(always)]
fn forward_tail(
    xr: &[f32],
    w: &[f32],
    bias: &[f32],
    yr: &mut [f32],
    from: usize,
    n_out: usize,
    relu: bool,
) {
    for o in from..n_out {
        let mut acc = bias[o];
        for (i, &xi) in xr.iter().enumerate() {
            acc = xi.mul_add(w[i * n_out + o], acc);
        }
        yr[o] = if relu { self::relu(acc) } else { acc };
    }
}

/// `gW[i][o] = Σ_s x[s][i]·dz[s][o]`, `gb[o] = Σ_s dz[s][o]` over the first `b` samples.
/// With AVX2 every weight goes through [`avx::grad_weights`] (`pack` is its scratch);
/// otherwise blocks of `SB` inputs × `OB` outputs keep their accumulators in registers,
/// then the inputs and outputs left.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
pub(super) fn dense_grad_params<const SB: usize, const OB: usize>(
    simd: Wide,
    x: &[f32],
    dz: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
    n_in: usize,
    n_out: usize,
    b: usize,
    pack: &mut Vec<f32>,
) {
    let x = &x[..b * n_in];
    let dz = &dz[..b * n_out];
    let (iblocks, oblocks) = match simd.avx() {
        #[cfg(target_arch = "x86_64")]
        Some(v3) => {
            avx::grad_weights(v3, x, dz, gw, n_in, n_out, b, pack);
            (n_in, n_out)
        }
        _ => {
            let oblocks = n_out / OB * OB;
            let iblocks = n_in / SB * SB;
            for i in (0..iblocks).step_by(SB) {
                for o in (0..oblocks).step_by(OB) {
                    let mut acc = [[0.0f32; OB]; SB];
                    for (xr, drow) in x.chunks_exact(n_in).zip(dz.chunks_exact(n_out)) {
                        let (Some(dr), Some(xs)) = (arr::<OB>(drow, o), xr.get(i..i + SB)) else {
                            continue;
                        };
                        for (a, &xi) in acc.iter_mut().zip(xs) {
                            for k in 0..OB {
                                a[k] = xi.mul_add(dr[k], a[k]);
                            }
                        }
                    }
                    for (r, a) in acc.iter().enumerate() {
                        let at = (i + r) * n_out + o;
                        gw[at..at + OB].copy_from_slice(a);
                    }
                }
            }
            (iblocks, oblocks)
        }
    };
    // the inputs past the last block of inputs, over the blocked outputs (8 at a time:
    // every output block is a multiple of 8)
    for i in iblocks..n_in {
        for o in (0..oblocks).step_by(8) {
            let mut acc = [0.0f32; 8];
            for (xr, drow) in x.chunks_exact(n_in).zip(dz.chunks_exact(n_out)) {
                let Some(dr) = arr::<8>(drow, o) else {
                    continue;
                };
                let xi = xr[i];
                for k in 0..8 {
                    acc[k] = xi.mul_add(dr[k], acc[k]);
                }
            }
            gw[i * n_out + o..i * n_out + o + 8].copy_from_slice(&acc);
        }
    }
    // the outputs past the last full block, one at a time: blocks of 8 inputs side by side
    // (`x` is contiguous by input), then the inputs left
    let in_blocks = n_in / 8 * 8;
    for o in oblocks..n_out {
        for i in (0..in_blocks).step_by(8) {
            let mut acc = [0.0f32; 8];
            for (xr, dr) in x.chunks_exact(n_in).zip(dz.chunks_exact(n_out)) {
                let Some(xs) = arr::<8>(xr, i) else { continue };
                let d = dr[o];
                for k in 0..8 {
                    acc[k] = xs[k].mul_add(d, acc[k]);
                }
            }
            for (k, a) in acc.iter().enumerate() {
                gw[(i + k) * n_out + o] = *a;
            }
        }
        for i in in_blocks..n_in {
            let mut acc = 0.0f32;
            for (xr, dr) in x.chunks_exact(n_in).zip(dz.chunks_exact(n_out)) {
                acc = xr[i].mul_add(dr[o], acc);
            }
            gw[i * n_out + o] = acc;
        }
    }
    gb.fill(0.0);
    for dr in dz.chunks_exact(n_out) {
        for (g, d) in gb.iter_mut().zip(dr) {
            *g += d;
        }
    }
}

/// `dx[s][i] = (Σ_o dz[s][o]·W[i][o]) · [x[s][i] > 0]` for the first `b` samples, in the
/// [`LANES`]-strided order of the module doc (`w` is `W`, `[n_in × n_out]`). Two samples
/// go side by side over blocks of inputs: [`avx::grad_input`] with AVX2, else `W`
/// transposed into `pack` so that `IB` consecutive inputs are one vector; then the inputs
/// and samples left, one sum at a time.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
pub(super) fn dense_grad_input<const IB: usize>(
    simd: Wide,
    dz: &[f32],
    w: &[f32],
    x: &[f32],
    dx: &mut [f32],
    n_in: usize,
    n_out: usize,
    b: usize,
    pack: &mut Vec<f32>,
) {
    let full = n_out / LANES * LANES;
    let dz = &dz[..b * n_out];
    let x = &x[..b * n_in];
    let dx = &mut dx[..b * n_in];
    let (pairs, iblocks) = match simd.avx() {
        #[cfg(target_arch = "x86_64")]
        Some(v3) => avx::grad_input(v3, dz, w, x, dx, n_in, n_out, b, pack),
        _ => {
            pack.clear();
            pack.resize(n_in * n_out, 0.0);
            transpose(w, pack, n_in, n_out);
            let wt = &pack[..];
            let iblocks = n_in / IB * IB;
            let pairs = b / 2 * 2;
            let col = |o: usize, i: usize| arr::<IB>(wt, o * n_in + i);
            for ((d2, x2), dx2) in dz[..pairs * n_out]
                .chunks_exact(2 * n_out)
                .zip(x[..pairs * n_in].chunks_exact(2 * n_in))
                .zip(dx[..pairs * n_in].chunks_exact_mut(2 * n_in))
            {
                let (d0, d1) = d2.split_at(n_out);
                for i in (0..iblocks).step_by(IB) {
                    // sixteen empty lanes sum to −0 + 0 + … = +0
                    let start = if full == 0 { 0.0 } else { -0.0 };
                    let mut t0 = [start; IB];
                    let mut t1 = [start; IB];
                    for k in 0..if full == 0 { 0 } else { LANES } {
                        let mut p0 = [0.0f32; IB];
                        let mut p1 = [0.0f32; IB];
                        for o in (k..full).step_by(LANES) {
                            let Some(c) = col(o, i) else { continue };
                            let (a0, a1) = (d0[o], d1[o]);
                            for j in 0..IB {
                                p0[j] = a0.mul_add(c[j], p0[j]);
                                p1[j] = a1.mul_add(c[j], p1[j]);
                            }
                        }
                        for j in 0..IB {
                            t0[j] += p0[j];
                            t1[j] += p1[j];
                        }
                    }
                    for o in full..n_out {
                        let Some(c) = col(o, i) else { continue };
                        let (a0, a1) = (d0[o], d1[o]);
                        for j in 0..IB {
                            t0[j] = a0.mul_add(c[j], t0[j]);
                            t1[j] = a1.mul_add(c[j], t1[j]);
                        }
                    }
                    for (r, t) in [t0, t1].iter().enumerate() {
                        let xs = &x2[r * n_in + i..r * n_in + i + IB];
                        let ds = &mut dx2[r * n_in + i..r * n_in + i + IB];
                        for ((d, &xv), &tv) in ds.iter_mut().zip(xs).zip(t) {
                            *d = if xv <= 0.0 { 0.0 } else { tv };
                        }
                    }
                }
            }
            (pairs, iblocks)
        }
    };
    // the inputs past the last full block, and the last sample of an odd batch: one sum
    // at a time, in the same order
    for s in 0..b {
        let from = if s < pairs { iblocks } else { 0 };
        let dr = &dz[s * n_out..(s + 1) * n_out];
        for i in from..n_in {
            dx[s * n_in + i] = if x[s * n_in + i] <= 0.0 {
                0.0
            } else {
                dot_strided(dr, |o| w[i * n_out + o], full)
            };
        }
    }
}

/// `Σ_o d[o]·w(o)` in the [`LANES`]-strided order.
#[inline(always)]
fn dot_strided(d: &[f32], w: impl Fn(usize) -> f32, full: usize) -> f32 {
    let mut acc = [0.0f32; LANES];
    for (c, a) in acc.iter_mut().enumerate() {
        for o in (c..full).step_by(LANES) {
            *a = d[o].mul_add(w(o), *a);
        }
    }
    let mut sum = acc.iter().sum::<f32>();
    for (o, &dv) in d.iter().enumerate().skip(full) {
        sum = dv.mul_add(w(o), sum);
    }
    sum
}

/// `wt = Wᵀ` for `w` of `[n_in × n_out]`.
#[inline(always)]
fn transpose(w: &[f32], wt: &mut [f32], n_in: usize, n_out: usize) {
    for (i, row) in w.chunks_exact(n_out).take(n_in).enumerate() {
        for (o, &v) in row.iter().enumerate() {
            wt[o * n_in + i] = v;
        }
    }
}

/// `(Σ a_k, bad)` over the squares of `c`, for the exact sum of squares of `super`:
/// `x_k = fl32(c_k²)·inv_u` (exact: a scaling by a power of two), `a_k` the integer
/// nearest to it, and `bad` when some `x_k` lies exactly halfway between two integers (a
/// tie, which the caller cannot add this way). `x + 2⁵² − 2⁵²` rounds an `x` in `[0, 2⁵²)`
/// to the nearest integer (ties to even; a tie shows as `|x − r| = ½`); a larger `x`, `∞`
/// or NaN gives a sum the caller rejects (it leaves the binade). The integers add exactly.
#[inline(always)]
pub(super) fn binade_steps(simd: Wide, c: &[f32], inv_u: f64) -> (f64, bool) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v3) = simd.avx() {
        return avx::binade_steps(v3, c, inv_u);
    }
    let _ = simd;
    binade_steps_f64(c, inv_u)
}

/// [`binade_steps`] one square at a time in `f64`.
#[inline(always)]
fn binade_steps_f64(c: &[f32], inv_u: f64) -> (f64, bool) {
    let mut steps = [0.0f64; 8];
    let mut tie = false;
    for (k, &g) in c.iter().enumerate() {
        let x = f64::from(g * g) * inv_u;
        let r = (x + MAGIC) - MAGIC;
        steps[k % 8] += r;
        tie |= (x - r).abs() == 0.5;
    }
    (steps.iter().sum(), tie)
}

/// `(t, m)`: a fast sum of the squares of `g` for a bound on their exact sum, and the
/// most `f32` rounding steps any part of `t` went through. With AVX2: 32 running `f32` sums
/// of fused multiply-adds `acc ← fma(g, g, acc)` (each step one rounding: relative error
/// at most `2⁻²⁴`, or `2⁻¹⁵⁰` absolute below the normal range), `m = ⌈n/32⌉`, the lanes
/// and the last squares added in `f64`. Otherwise sixteen `f64` sums of `f64` squares
/// (exact to far better than any margin the caller uses) and `m = 0`.
#[inline(always)]
pub(super) fn lane_squares(simd: Wide, g: &[f32]) -> (f64, usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v3) = simd.avx() {
        return avx::lane_squares(v3, g);
    }
    let _ = simd;
    let mut acc = [0.0f64; 16];
    let chunks = g.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f64::from(v) * f64::from(v);
        }
    }
    let mut sum: f64 = acc.iter().sum();
    for &v in rest {
        sum += f64::from(v) * f64::from(v);
    }
    (sum, 0)
}

/// 2⁵²: adding and subtracting it rounds a smaller non-negative `f64` to an integer.
const MAGIC: f64 = 4_503_599_627_370_496.0;

/// The AVX2 kernels (x86-64 v3): the same chains as the generic kernels above, written
/// with explicit 8-lane vectors (`vfmadd`, one rounding, as `f32::mul_add`), so each output
/// is the same chain in the same order.
///
/// Register-blocked micro-kernels: [`block`] keeps `R` rows × `8V` outputs of accumulators
/// in ymm registers, so one load of a weight vector serves `R` rows and one broadcast of
/// an input serves `V` vectors. Its operands come from small packed panels (a block of
/// weight columns, zero-padded to whole vectors; the delta rows of an output block), so
/// the inner loop walks two arrays in step with no index checks. Layers narrower than a
/// vector (the 3 and 11 actions) run in a zero-padded vector whose padding lanes are
/// computed and dropped: every real lane is the same sum in the same order.
#[cfg(target_arch = "x86_64")]
pub(super) mod avx {
    use pulp::x86::V3;
    use pulp::{Simd, f32x8};

    /// Eight lanes from `v[..8]`.
    #[inline(always)]
    fn v8(v: &[f32]) -> f32x8 {
        let v = &v[..8];
        pulp::cast([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]])
    }

    #[inline(always)]
    fn lanes(v: f32x8) -> [f32; 8] {
        pulp::cast(v)
    }

    /// `a + x·w` with one rounding (`vfmadd`), as the scalar `x.mul_add(w, a)`.
    #[inline(always)]
    fn mac(s: V3, a: f32x8, x: f32x8, w: f32x8) -> f32x8 {
        s.mul_add_f32s(x, w, a)
    }

    /// `max(v, 0)` lane by lane as `vmaxps` computes it (`v > 0 ? v : +0`), the same as
    /// the scalar [`super::relu`].
    #[inline(always)]
    fn relu(s: V3, v: f32x8) -> f32x8 {
        let z = s.avx._mm256_setzero_ps();
        pulp::cast(s.avx._mm256_max_ps(pulp::cast(v), z))
    }

    /// Columns `o0..o0 + 8` of the 8 rows `rows` (`[8 × n_out]`), each as one vector of
    /// the 8 rows' values: an in-register transpose (data moves only).
    #[inline(always)]
    fn transpose8(s: V3, rows: &[f32], n_out: usize, o0: usize) -> [f32x8; 8] {
        use core::arch::x86_64::__m256;
        let r: [__m256; 8] = core::array::from_fn(|k| pulp::cast(v8(&rows[k * n_out + o0..])));
        let a = &s.avx;
        let t0 = a._mm256_unpacklo_ps(r[0], r[1]);
        let t1 = a._mm256_unpackhi_ps(r[0], r[1]);
        let t2 = a._mm256_unpacklo_ps(r[2], r[3]);
        let t3 = a._mm256_unpackhi_ps(r[2], r[3]);
        let t4 = a._mm256_unpacklo_ps(r[4], r[5]);
        let t5 = a._mm256_unpackhi_ps(r[4], r[5]);
        let t6 = a._mm256_unpacklo_ps(r[6], r[7]);
        let t7 = a._mm256_unpackhi_ps(r[6], r[7]);
        let u0 = a._mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = a._mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = a._mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = a._mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = a._mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = a._mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = a._mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = a._mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            a._mm256_permute2f128_ps::<0x20>(u0, u4),
            a._mm256_permute2f128_ps::<0x20>(u1, u5),
            a._mm256_permute2f128_ps::<0x20>(u2, u6),
            a._mm256_permute2f128_ps::<0x20>(u3, u7),
            a._mm256_permute2f128_ps::<0x31>(u0, u4),
            a._mm256_permute2f128_ps::<0x31>(u1, u5),
            a._mm256_permute2f128_ps::<0x31>(u2, u6),
            a._mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
        .map(pulp::cast)
    }

    /// `x <= 0 ? +0 : t` lane by lane (the ReLU's gradient mask; a NaN `x` keeps `t`, as
    /// the scalar comparison does).
    #[inline(always)]
    fn relu_mask(s: V3, t: f32x8, x: f32x8) -> f32x8 {
        let z = s.avx._mm256_setzero_ps();
        // not (x <= 0), true for NaN: all ones where `t` stays
        let keep = s
            .avx
            ._mm256_cmp_ps::<{ core::arch::x86_64::_CMP_NLE_UQ }>(pulp::cast(x), z);
        pulp::cast(s.avx._mm256_and_ps(keep, pulp::cast(t)))
    }

    /// `V` vectors from `v[..8V]`.
    #[inline(always)]
    fn vecs<const V: usize>(v: &[f32]) -> [f32x8; V] {
        let mut out = [pulp::cast([0.0f32; 8]); V];
        for (k, o) in out.iter_mut().enumerate() {
            *o = v8(&v[8 * k..]);
        }
        out
    }

    /// `&v[r * stride..][..len]` for each of `R` consecutive rows.
    #[inline(always)]
    fn rows_of<const R: usize>(v: &[f32], stride: usize, len: usize) -> [&[f32]; R] {
        let mut rows = [&v[..0]; R];
        for (r, row) in rows.iter_mut().enumerate() {
            *row = &v[r * stride..r * stride + len];
        }
        rows
    }

    /// `dst[..n] = src[..n]` for `n ≤ W`: a fixed-size copy when `n` is the whole width
    /// (no call to `memcpy`), else element by element.
    #[inline(always)]
    fn copy_part<const W: usize>(dst: &mut [f32], src: &[f32], n: usize) {
        if n == W {
            dst[..W].copy_from_slice(&src[..W]);
        } else {
            for (d, &v) in dst[..n].iter_mut().zip(&src[..n]) {
                *d = v;
            }
        }
    }

    /// `dst[..W] = src[..n]` then zeros (a padded panel row).
    #[inline(always)]
    fn copy_pad<const W: usize>(dst: &mut [f32], src: &[f32], n: usize) {
        if n == W {
            dst[..W].copy_from_slice(&src[..W]);
        } else {
            for (k, d) in dst[..W].iter_mut().enumerate() {
                *d = if k < n { src[k] } else { 0.0 };
            }
        }
    }

    /// Columns `o..o + real` of the first `rows` rows of the row-major `src` (rows of
    /// `stride`) into `pack[..rows * W]`, one zero-padded row of `W` lanes each.
    #[inline(always)]
    fn pack_strip<const W: usize>(
        pack: &mut Vec<f32>,
        src: &[f32],
        rows: usize,
        stride: usize,
        o: usize,
        real: usize,
    ) {
        if pack.len() < rows * W {
            pack.resize(rows * W, 0.0);
        }
        for (p, r) in pack[..rows * W]
            .chunks_exact_mut(W)
            .zip(src.chunks_exact(stride))
        {
            copy_pad::<W>(p, &r[o..], real);
        }
    }

    /// Each row `r` of `acc` (ReLU first when `relu`), its first `real` lanes, into
    /// `y[r * stride + o..]`.
    #[allow(clippy::too_many_arguments, reason = "a block and where it goes")]
    #[inline(always)]
    fn store<const R: usize, const V: usize, const W: usize>(
        s: V3,
        acc: &[[f32x8; V]; R],
        y: &mut [f32],
        stride: usize,
        o: usize,
        real: usize,
        relu: bool,
    ) {
        for (r, a) in acc.iter().enumerate() {
            let mut l = [0.0f32; W];
            for (lv, &av) in l.chunks_exact_mut(8).zip(a) {
                let av = if relu { self::relu(s, av) } else { av };
                lv.copy_from_slice(&lanes(av));
            }
            copy_part::<W>(&mut y[r * stride + o..], &l, real);
        }
    }

    /// `R` rows × `8V` outputs: `acc[r] = init + Σ_k rows[r][k] · b[k]` with `k` ascending
    /// over `n` steps, `b` holding `8V` lanes per step.
    #[inline(always)]
    fn block<const R: usize, const V: usize>(
        s: V3,
        init: [f32x8; V],
        rows: [&[f32]; R],
        b: &[f32],
        n: usize,
    ) -> [[f32x8; V]; R] {
        let mut acc = [init; R];
        // two steps per pass (each row's two inputs are read from one address), in order
        let pairs = n / 2;
        let mut rows2 = rows;
        for r in &mut rows2 {
            *r = &r[..2 * pairs];
        }
        for (k2, bk) in (0..pairs).zip(b.chunks_exact(16 * V)) {
            let (b0, b1) = bk.split_at(8 * V);
            let bv = vecs::<V>(b0);
            for (a, row) in acc.iter_mut().zip(&rows2) {
                let xv = s.splat_f32s(row[2 * k2]);
                for (av, &w) in a.iter_mut().zip(&bv) {
                    *av = mac(s, *av, xv, w);
                }
            }
            let bv = vecs::<V>(b1);
            for (a, row) in acc.iter_mut().zip(&rows2) {
                let xv = s.splat_f32s(row[2 * k2 + 1]);
                for (av, &w) in a.iter_mut().zip(&bv) {
                    *av = mac(s, *av, xv, w);
                }
            }
        }
        if n % 2 == 1 {
            let k = n - 1;
            let bv = vecs::<V>(&b[8 * V * k..]);
            for (a, row) in acc.iter_mut().zip(&rows) {
                let xv = s.splat_f32s(row[k]);
                for (av, &w) in a.iter_mut().zip(&bv) {
                    *av = mac(s, *av, xv, w);
                }
            }
        }
        acc
    }

    /// [`block`] with the scalars of step `k` at `a[k * stride + off..][..R]`.
    #[inline(always)]
    fn strided<const R: usize, const V: usize>(
        s: V3,
        init: [f32x8; V],
        a: &[f32],
        stride: usize,
        off: usize,
        b: &[f32],
    ) -> [[f32x8; V]; R] {
        let mut acc = [init; R];
        for (ak, bk) in a.chunks_exact(stride).zip(b.chunks_exact(8 * V)) {
            let xs = &ak[off..off + R];
            let bv = vecs::<V>(bk);
            for (a, &x) in acc.iter_mut().zip(xs) {
                let xv = s.splat_f32s(x);
                for (av, &w) in a.iter_mut().zip(&bv) {
                    *av = mac(s, *av, xv, w);
                }
            }
        }
        acc
    }

    /// Rows per register block of the forward pass and inputs per block of the weight
    /// gradient (6 × 2 accumulators, 2 weight vectors, a broadcast and a product: the 16
    /// ymm registers).
    const R: usize = 6;

    /// `out = x·W + bias` (then ReLU) for every row; the whole layer.
    #[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
    #[inline(always)]
    pub(super) fn dense_forward(
        s: V3,
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
        n_in: usize,
        n_out: usize,
        relu: bool,
        pack: &mut Vec<f32>,
    ) {
        let rows = x.len() / n_in;
        if rows < R {
            // a few rows (acting on one state): packing the weights would cost as much as
            // the sums, so read each weight row where it is; up to 64 outputs a pass, so
            // that eight independent chains hide the multiply-add's latency
            let mut o = 0;
            while o < n_out {
                let left = n_out - o;
                if left >= 64 {
                    forward_direct::<8, 64>(s, x, w, bias, out, n_in, n_out, o, relu);
                    o += 64;
                } else if left >= 32 {
                    forward_direct::<4, 32>(s, x, w, bias, out, n_in, n_out, o, relu);
                    o += 32;
                } else if left > 8 {
                    forward_direct::<2, 16>(s, x, w, bias, out, n_in, n_out, o, relu);
                    o += 16;
                } else {
                    forward_direct::<1, 8>(s, x, w, bias, out, n_in, n_out, o, relu);
                    o += 8;
                }
            }
            return;
        }
        let mut o = 0;
        while o < n_out {
            if n_out - o >= 16 {
                forward_block::<2, 16>(s, x, w, bias, out, n_in, n_out, o, relu, pack);
                o += 16;
            } else {
                forward_block::<1, 8>(s, x, w, bias, out, n_in, n_out, o, relu, pack);
                o += 8;
            }
        }
    }

    /// Outputs `o..o + W` (`W = 8V`; fewer at the right edge) of every row, one row at a
    /// time, from the weight rows in place (the same sums as [`forward_block`]).
    #[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
    #[inline(always)]
    fn forward_direct<const V: usize, const W: usize>(
        s: V3,
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
        n_in: usize,
        n_out: usize,
        o: usize,
        relu: bool,
    ) {
        let real = W.min(n_out - o);
        let mut bb = [0.0f32; W];
        copy_part::<W>(&mut bb, &bias[o..], real);
        let init = vecs::<V>(&bb);
        for (xr, yr) in x.chunks_exact(n_in).zip(out.chunks_exact_mut(n_out)) {
            let mut acc = [init];
            for (&xi, wr) in xr.iter().zip(w.chunks_exact(n_out)) {
                let wv = if real == W {
                    vecs::<V>(&wr[o..])
                } else {
                    let mut lanes_w = [0.0f32; W];
                    copy_pad::<W>(&mut lanes_w, &wr[o..], real);
                    vecs::<V>(&lanes_w)
                };
                let xv = s.splat_f32s(xi);
                for (av, &wl) in acc[0].iter_mut().zip(&wv) {
                    *av = mac(s, *av, xv, wl);
                }
            }
            store::<1, V, W>(s, &acc, yr, 0, o, real, relu);
        }
    }

    /// Outputs `o..o + W` (`W = 8V`; fewer at the right edge) of every row.
    #[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
    #[inline(always)]
    fn forward_block<const V: usize, const W: usize>(
        s: V3,
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
        n_in: usize,
        n_out: usize,
        o: usize,
        relu: bool,
        pack: &mut Vec<f32>,
    ) {
        let real = W.min(n_out - o);
        // the weight columns o..o + real, one row of W lanes per input (contiguous: read in
        // place, rows `n_out` apart, the columns of a wide layer fall into a few cache sets)
        pack_strip::<W>(pack, w, n_in, n_out, o, real);
        let mut bb = [0.0f32; W];
        copy_part::<W>(&mut bb, &bias[o..], real);
        let init = vecs::<V>(&bb);
        let rows = x.len() / n_in;
        let panel = &pack[..n_in * W];
        let grouped = rows / R * R;
        for (xg, yg) in x[..grouped * n_in]
            .chunks_exact(R * n_in)
            .zip(out.chunks_exact_mut(R * n_out))
        {
            let acc = block::<R, V>(s, init, rows_of::<R>(xg, n_in, n_in), panel, n_in);
            store::<R, V, W>(s, &acc, yg, n_out, o, real, relu);
        }
        let x = &x[grouped * n_in..rows * n_in];
        let y = &mut out[grouped * n_out..rows * n_out];
        macro_rules! rest {
            ($r:literal) => {{
                let acc = block::<$r, V>(s, init, rows_of::<$r>(x, n_in, n_in), panel, n_in);
                store::<$r, V, W>(s, &acc, y, n_out, o, real, relu);
            }};
        }
        match rows - grouped {
            5 => rest!(5),
            4 => rest!(4),
            3 => rest!(3),
            2 => rest!(2),
            1 => rest!(1),
            _ => {}
        }
    }

    /// `gW[i][o] = Σ_s x[s][i]·dz[s][o]` for every input and output of the layer (samples
    /// ascending from `+0`).
    #[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
    #[inline(always)]
    pub(super) fn grad_weights(
        s: V3,
        x: &[f32],
        dz: &[f32],
        gw: &mut [f32],
        n_in: usize,
        n_out: usize,
        b: usize,
        pack: &mut Vec<f32>,
    ) {
        let mut o = 0;
        while o < n_out {
            if n_out - o >= 16 {
                grad_block::<2, 16>(s, x, dz, gw, n_in, n_out, b, o, pack);
                o += 16;
            } else {
                grad_block::<1, 8>(s, x, dz, gw, n_in, n_out, b, o, pack);
                o += 8;
            }
        }
    }

    /// Columns `o..o + W` (`W = 8V`; fewer at the right edge) of `gW`.
    #[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
    #[inline(always)]
    fn grad_block<const V: usize, const W: usize>(
        s: V3,
        x: &[f32],
        dz: &[f32],
        gw: &mut [f32],
        n_in: usize,
        n_out: usize,
        b: usize,
        o: usize,
        pack: &mut Vec<f32>,
    ) {
        let real = W.min(n_out - o);
        // the deltas of outputs o..o + real, one row of W lanes per sample
        pack_strip::<W>(pack, dz, b, n_out, o, real);
        let dp = &pack[..b * W];
        let x = &x[..b * n_in];
        let zero = [s.splat_f32s(0.0); V];
        let grouped = n_in / R * R;
        for i in (0..grouped).step_by(R) {
            let acc = strided::<R, V>(s, zero, x, n_in, i, dp);
            store::<R, V, W>(s, &acc, &mut gw[i * n_out..], n_out, o, real, false);
        }
        let i = grouped;
        let gw = &mut gw[i * n_out..];
        macro_rules! rest {
            ($r:literal) => {{
                let acc = strided::<$r, V>(s, zero, x, n_in, i, dp);
                store::<$r, V, W>(s, &acc, gw, n_out, o, real, false);
            }};
        }
        match n_in - grouped {
            5 => rest!(5),
            4 => rest!(4),
            3 => rest!(3),
            2 => rest!(2),
            1 => rest!(1),
            _ => {}
        }
    }

    /// [`super::dense_grad_input`] for every sample and the inputs in blocks of 16, from `W`
    /// (`[n_in × n_out]`); returns (samples, inputs) covered.
    #[inline(always)]
    #[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
    pub(super) fn grad_input(
        s: V3,
        dz: &[f32],
        w: &[f32],
        x: &[f32],
        dx: &mut [f32],
        n_in: usize,
        n_out: usize,
        b: usize,
        pack: &mut Vec<f32>,
    ) -> (usize, usize) {
        let lanes_n = super::LANES;
        let full = n_out / lanes_n * lanes_n;
        let iblocks = n_in / 16 * 16;
        // per block of 16 inputs, the weights in the order the sums take them: lane k's
        // outputs k, k + 16, …, then the outputs past the last full block; 16 inputs each
        let j = full / lanes_n;
        let len = iblocks * n_out;
        if pack.len() < len {
            pack.resize(len, 0.0);
        }
        let wp = &mut pack[..len];
        // the q-th entry of that order is output `o = k + 16·jj` for `q = k·j + jj` below
        // `full`, then `o = q`
        let place = |o: usize| {
            if o < full {
                o % lanes_n * j + o / lanes_n
            } else {
                o
            }
        };
        let oct = n_out / 8 * 8;
        for (ib, panel) in wp.chunks_exact_mut(16 * n_out).enumerate() {
            let rows = &w[ib * 16 * n_out..(ib + 1) * 16 * n_out];
            // 8 × 8 tiles of W transposed in registers: tile (h, o0) holds rows
            // 8h..8h + 8 of the block and outputs o0..o0 + 8
            for h in 0..2 {
                let tile_rows = &rows[8 * h * n_out..(8 * h + 8) * n_out];
                for o0 in (0..oct).step_by(8) {
                    let cols = transpose8(s, tile_rows, n_out, o0);
                    for (d, c) in cols.iter().enumerate() {
                        let at = place(o0 + d) * 16 + 8 * h;
                        panel[at..at + 8].copy_from_slice(&lanes(*c));
                    }
                }
                for o in oct..n_out {
                    let at = place(o) * 16 + 8 * h;
                    for (k, r) in tile_rows.chunks_exact(n_out).enumerate() {
                        panel[at + k] = r[o];
                    }
                }
            }
        }
        let wp = &*wp;
        let dp = &dz[..b * n_out];
        // three samples side by side (each panel vector serves three), then the one or two
        // left
        let triples = b / 3 * 3;
        macro_rules! rows {
            ($j:literal) => {{
                grad_input_rows::<$j, 3>(s, dp, wp, x, dx, n_in, n_out, 0, triples, iblocks);
                match b - triples {
                    2 => {
                        grad_input_rows::<$j, 2>(s, dp, wp, x, dx, n_in, n_out, triples, b, iblocks)
                    }
                    1 => {
                        grad_input_rows::<$j, 1>(s, dp, wp, x, dx, n_in, n_out, triples, b, iblocks)
                    }
                    _ => {}
                }
            }};
        }
        match j {
            0 => rows!(0),
            1 => rows!(1),
            2 => rows!(2),
            3 => rows!(3),
            4 => rows!(4),
            _ => return (0, 0),
        }
        (b, iblocks)
    }

    /// Samples `from..to` (groups of `N`) × blocks of 16 inputs, with `J` outputs per lane.
    #[inline(always)]
    #[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
    fn grad_input_rows<const J: usize, const N: usize>(
        s: V3,
        dp: &[f32],
        wp: &[f32],
        x: &[f32],
        dx: &mut [f32],
        n_in: usize,
        n_out: usize,
        from: usize,
        to: usize,
        iblocks: usize,
    ) {
        const L: usize = super::LANES;
        let full = J * L;
        let start = s.splat_f32s(if J == 0 { 0.0 } else { -0.0 });
        let zero = s.splat_f32s(0.0);
        for ((dn, xn), dxn) in dp[from * n_out..to * n_out]
            .chunks_exact(N * n_out)
            .zip(x[from * n_in..to * n_in].chunks_exact(N * n_in))
            .zip(dx[from * n_in..to * n_in].chunks_exact_mut(N * n_in))
        {
            // each sample's deltas: the lanes' outputs, then the outputs past them
            let d_f: [&[f32]; N] = core::array::from_fn(|r| &dn[r * n_out..r * n_out + full]);
            let d_t: [&[f32]; N] = core::array::from_fn(|r| &dn[r * n_out + full..(r + 1) * n_out]);
            for (ib, panel) in wp.chunks_exact(16 * n_out).take(iblocks / 16).enumerate() {
                let (pf, pt) = panel.split_at(16 * full);
                let mut t = [[start; 2]; N];
                if J > 0 {
                    // lane k's outputs k, k + 16, …: its J weight rows are consecutive in
                    // the panel, its deltas 16 apart in the sample's row
                    for (k, ck) in (0..L).zip(pf.chunks_exact(16 * J)) {
                        let mut p = [[zero; 2]; N];
                        for jj in 0..J {
                            let c0 = v8(&ck[16 * jj..]);
                            let c1 = v8(&ck[16 * jj + 8..]);
                            let o = k + L * jj;
                            for (pr, dr) in p.iter_mut().zip(&d_f) {
                                let v = s.splat_f32s(dr[o]);
                                pr[0] = mac(s, pr[0], v, c0);
                                pr[1] = mac(s, pr[1], v, c1);
                            }
                        }
                        for (tr, pr) in t.iter_mut().zip(&p) {
                            tr[0] = s.add_f32s(tr[0], pr[0]);
                            tr[1] = s.add_f32s(tr[1], pr[1]);
                        }
                    }
                }
                for (q, c) in pt.chunks_exact(16).enumerate() {
                    let c0 = v8(c);
                    let c1 = v8(&c[8..]);
                    for (tr, dr) in t.iter_mut().zip(&d_t) {
                        let v = s.splat_f32s(dr[q]);
                        tr[0] = mac(s, tr[0], v, c0);
                        tr[1] = mac(s, tr[1], v, c1);
                    }
                }
                let i = ib * 16;
                for (r, tr) in t.iter().enumerate() {
                    for (h, &v) in tr.iter().enumerate() {
                        let at = r * n_in + i + 8 * h;
                        let kept = relu_mask(s, v, v8(&xn[at..]));
                        dxn[at..at + 8].copy_from_slice(&lanes(kept));
                    }
                }
            }
        }
    }

    /// [`super::binade_steps`] eight squares at a time in `f32`: `x = c²·(1/u)` is exact in
    /// `f32` too while `1/u` is a normal `f32` (a product that overflows is `∞`, one that
    /// underflows is far below ½ and rounds to 0 either way), `x + 2²³ − 2²³` rounds an `x`
    /// below 2²³ to the nearest integer (ties to even, flagged), `x − r` is exact
    /// (Sterbenz), and the integers add in `i32` lanes (below 2³¹ for 1 024 squares a pass).
    /// An `x` of 2²³ or more (or NaN) is flagged too: with it the sum leaves the binade.
    #[inline(always)]
    pub(super) fn binade_steps(s: V3, c: &[f32], inv_u: f64) -> (f64, bool) {
        use core::arch::x86_64::{__m256, __m256i};
        if inv_u > f64::from(f32::MAX) {
            return super::binade_steps_f64(c, inv_u);
        }
        let a = &s.avx;
        let scale: __m256 = pulp::cast([inv_u as f32; 8]);
        let magic: __m256 = pulp::cast([8_388_608.0f32; 8]);
        let half: __m256 = pulp::cast([0.5f32; 8]);
        let sign: __m256 = pulp::cast([-0.0f32; 8]);
        let mut bad: __m256 = pulp::cast([0.0f32; 8]);
        let mut sum = 0.0f64;
        for pass in c.chunks(1024) {
            let mut acc: __m256i = pulp::cast([0i32; 8]);
            let eights = pass.chunks_exact(8);
            let rest = eights.remainder();
            for ch in eights {
                let g: __m256 = pulp::cast(v8(ch));
                let x = a._mm256_mul_ps(a._mm256_mul_ps(g, g), scale);
                let r = a._mm256_sub_ps(a._mm256_add_ps(x, magic), magic);
                acc = s.avx2._mm256_add_epi32(acc, a._mm256_cvttps_epi32(r));
                let d = a._mm256_andnot_ps(sign, a._mm256_sub_ps(x, r));
                let tie = a._mm256_cmp_ps::<{ core::arch::x86_64::_CMP_EQ_OQ }>(d, half);
                let big = a._mm256_cmp_ps::<{ core::arch::x86_64::_CMP_NLT_UQ }>(x, magic);
                bad = a._mm256_or_ps(bad, a._mm256_or_ps(tie, big));
            }
            let lanes8: [i32; 8] = pulp::cast(acc);
            sum += lanes8.iter().map(|&v| f64::from(v)).sum::<f64>();
            let (more, tie) = super::binade_steps_f64(rest, inv_u);
            sum += more;
            if tie {
                return (sum, true);
            }
        }
        (sum, a._mm256_movemask_ps(bad) != 0)
    }

    /// [`super::lane_squares`] in four vectors of eight `f32` running sums.
    #[inline(always)]
    pub(super) fn lane_squares(s: V3, g: &[f32]) -> (f64, usize) {
        let zero = s.splat_f32s(0.0);
        let mut acc = [zero; 4];
        let chunks = g.chunks_exact(32);
        let rest = chunks.remainder();
        let steps = chunks.len();
        for c in chunks {
            for (k, a) in acc.iter_mut().enumerate() {
                let v = v8(&c[8 * k..]);
                *a = mac(s, *a, v, v);
            }
        }
        let mut sum = 0.0f64;
        for a in acc {
            sum += lanes(a).iter().map(|&v| f64::from(v)).sum::<f64>();
        }
        for &v in rest {
            sum += f64::from(v) * f64::from(v);
        }
        (sum, steps)
    }
}
