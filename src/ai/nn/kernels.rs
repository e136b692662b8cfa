//! The dense kernels of [`super::Mlp`], written once as plain loops over fixed-size blocks
//! and compiled twice: for the baseline x86-64 target (SSE2, 4 lanes) and, chosen at run
//! time when the CPU has it, for AVX2 (8 lanes) through `pulp`'s safe dispatch (the crate
//! forbids `unsafe`; pulp enters the `#[target_feature]` context for us).
//!
//! Bit-identity across the two paths and across machines: every output is one sum whose
//! order is fixed by the source (the compiler vectorises across independent outputs, never
//! inside a sum, and it never contracts a multiply and an add into an FMA), so the block
//! sizes change which sums run side by side, not the order inside any one sum:
//!
//! - forward: `out[s][o] = bias[o] + x[s][0]·W[0][o] + x[s][1]·W[1][o] + …` (inputs ascending);
//! - weight gradient: `gW[i][o] = 0 + x[0][i]·dz[0][o] + x[1][i]·dz[1][o] + …` (samples
//!   ascending), `gb[o]` the same sum of `dz`;
//! - input gradient: `dx[s][i] = Σ_o dz[s][o]·W[i][o]` in [`LANES`]-strided order: lane `k`
//!   sums the outputs `o ≡ k (mod 16)` below the last full block of 16 (from `0`), the
//!   lanes are added first to last (from `−0`, as `Iterator::sum`), then the outputs of the
//!   last partial block in order; times the ReLU mask of the input.
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
    /// AVX2 for a layer dimension `n` of at least one 16-wide block.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn avx(self, n: usize) -> Option<pulp::x86::V3> {
        self.v3.filter(|_| n >= 16)
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn avx(self, _n: usize) -> Option<()> {
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

/// `out = x·W + bias` for every row of `x` (`[rows × n_in]`), then ReLU when `relu`.
/// Rows go `SB` at a time through blocks of `OB` outputs (the AVX2 kernel does this part
/// when `simd` has it); the rest of the rows one at a time; outputs past the last full
/// block one at a time.
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
) {
    let rows = x.len() / n_in;
    let oblocks = n_out / OB * OB;
    let fix = |v: f32| if relu { v.max(0.0) } else { v };
    let grouped = match simd.avx(n_out) {
        #[cfg(target_arch = "x86_64")]
        Some(v3) => avx::dense_forward(v3, x, w, bias, out, n_in, n_out, relu),
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
                                a[k] += xi * wr[k];
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
                        acc[k] += xi * wr[k];
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
            acc += xi * w[i * n_out + o];
        }
        yr[o] = if relu { acc.max(0.0) } else { acc };
    }
}

/// `gW[i][o] = Σ_s x[s][i]·dz[s][o]`, `gb[o] = Σ_s dz[s][o]` over the first `b` samples.
/// Blocks of `SB` inputs × `OB` outputs keep their accumulators in registers (the AVX2
/// kernel does this part when `simd` has it); then the inputs and outputs left.
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
) {
    let x = &x[..b * n_in];
    let dz = &dz[..b * n_out];
    let (iblocks, oblocks) = match simd.avx(n_out) {
        #[cfg(target_arch = "x86_64")]
        Some(v3) => avx::grad_weights(v3, x, dz, gw, n_in, n_out),
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
                                a[k] += xi * dr[k];
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
                    acc[k] += xi * dr[k];
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
                    acc[k] += xs[k] * d;
                }
            }
            for (k, a) in acc.iter().enumerate() {
                gw[(i + k) * n_out + o] = *a;
            }
        }
        for i in in_blocks..n_in {
            let mut acc = 0.0f32;
            for (xr, dr) in x.chunks_exact(n_in).zip(dz.chunks_exact(n_out)) {
                acc += xr[i] * dr[o];
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
/// [`LANES`]-strided order of the module doc. `wt` is `W` transposed (`[n_out × n_in]`), so
/// `IB` consecutive inputs are one vector; two samples go side by side (the AVX2 kernel
/// does this part when `simd` has it); then the inputs and samples left, one sum at a time.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
pub(super) fn dense_grad_input<const IB: usize>(
    simd: Wide,
    dz: &[f32],
    wt: &[f32],
    x: &[f32],
    dx: &mut [f32],
    n_in: usize,
    n_out: usize,
    b: usize,
) {
    let full = n_out / LANES * LANES;
    let dz = &dz[..b * n_out];
    let x = &x[..b * n_in];
    let dx = &mut dx[..b * n_in];
    let (pairs, iblocks) = match simd.avx(n_in) {
        #[cfg(target_arch = "x86_64")]
        Some(v3) => avx::grad_input(v3, dz, wt, x, dx, n_in, n_out, b),
        _ => {
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
                                p0[j] += a0 * c[j];
                                p1[j] += a1 * c[j];
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
                            t0[j] += a0 * c[j];
                            t1[j] += a1 * c[j];
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
                dot_strided(dr, |o| wt[o * n_in + i], full)
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
            *a += d[o] * w(o);
        }
    }
    let mut sum = acc.iter().sum::<f32>();
    for (o, &dv) in d.iter().enumerate().skip(full) {
        sum += dv * w(o);
    }
    sum
}

/// `wt = Wᵀ` for `w` of `[n_in × n_out]`.
#[inline(always)]
pub(super) fn transpose(w: &[f32], wt: &mut [f32], n_in: usize, n_out: usize) {
    for (i, row) in w.chunks_exact(n_out).take(n_in).enumerate() {
        for (o, &v) in row.iter().enumerate() {
            wt[o * n_in + i] = v;
        }
    }
}

/// The AVX2 kernels (x86-64 v3): the same sums as the generic kernels above, written with
/// explicit 8-lane vectors (a multiply, then an add: never an FMA), so each output is the
/// same sum in the same order. The generic kernels handle the rows, outputs and inputs
/// past the last full block, so only whole blocks come here.
#[cfg(target_arch = "x86_64")]
pub(super) mod avx {
    use pulp::x86::V3;
    use pulp::{Simd, f32x8};

    /// Eight lanes from `v[at..at + 8]` (zeros past the end, which callers never reach).
    #[inline(always)]
    fn load(v: &[f32], at: usize) -> f32x8 {
        let mut a = [0.0f32; 8];
        if let Some(c) = v.get(at..at + 8) {
            a.copy_from_slice(c);
        }
        pulp::cast(a)
    }

    #[inline(always)]
    fn lanes(v: f32x8) -> [f32; 8] {
        pulp::cast(v)
    }

    /// Multiply, then add: two roundings, as the scalar `a + x * w`.
    #[inline(always)]
    fn mac(s: V3, a: f32x8, x: f32x8, w: f32x8) -> f32x8 {
        s.add_f32s(a, s.mul_f32s(x, w))
    }

    /// [`super::dense_forward`] for rows in groups of 4 and outputs in blocks of 16;
    /// returns how many rows it did.
    #[inline(always)]
    #[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
    pub(super) fn dense_forward(
        s: V3,
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
        n_in: usize,
        n_out: usize,
        relu: bool,
    ) -> usize {
        const SB: usize = 4;
        let rows = x.len() / n_in;
        let grouped = rows / SB * SB;
        let oblocks = n_out / 16 * 16;
        // one block of 16 outputs for every group of rows, so the block's weight column
        // (n_in × 64 bytes) stays in L1 while the rows stream past
        for o in (0..oblocks).step_by(16) {
            for (xg, yg) in x[..grouped * n_in]
                .chunks_exact(SB * n_in)
                .zip(out.chunks_exact_mut(SB * n_out))
            {
                let (x0, rest) = xg.split_at(n_in);
                let (x1, rest) = rest.split_at(n_in);
                let (x2, x3) = rest.split_at(n_in);
                let b0 = load(bias, o);
                let b1 = load(bias, o + 8);
                let mut a = [[b0, b1]; SB];
                for ((((wrow, &v0), &v1), &v2), &v3) in w
                    .chunks_exact(n_out)
                    .zip(x0)
                    .zip(x1)
                    .zip(x2)
                    .zip(&x3[..n_in])
                {
                    let w0 = load(wrow, o);
                    let w1 = load(wrow, o + 8);
                    for (r, v) in [v0, v1, v2, v3].into_iter().enumerate() {
                        let xv = s.splat_f32s(v);
                        a[r][0] = mac(s, a[r][0], xv, w0);
                        a[r][1] = mac(s, a[r][1], xv, w1);
                    }
                }
                for (r, pair) in a.iter().enumerate() {
                    for (h, v) in pair.iter().enumerate() {
                        let at = r * n_out + o + 8 * h;
                        for (y, &z) in yg[at..at + 8].iter_mut().zip(&lanes(*v)) {
                            *y = if relu { z.max(0.0) } else { z };
                        }
                    }
                }
            }
        }
        if oblocks < n_out {
            for (xr, yr) in x[..grouped * n_in]
                .chunks_exact(n_in)
                .zip(out.chunks_exact_mut(n_out))
            {
                super::forward_tail(xr, w, bias, yr, oblocks, n_out, relu);
            }
        }
        grouped
    }

    /// [`super::dense_grad_params`]'s weight sums for inputs in blocks of 4 and outputs in
    /// blocks of 16; returns (inputs, outputs) covered.
    #[inline(always)]
    pub(super) fn grad_weights(
        s: V3,
        x: &[f32],
        dz: &[f32],
        gw: &mut [f32],
        n_in: usize,
        n_out: usize,
    ) -> (usize, usize) {
        const SB: usize = 4;
        let oblocks = n_out / 16 * 16;
        let iblocks = n_in / SB * SB;
        let zero = s.splat_f32s(0.0);
        for i in (0..iblocks).step_by(SB) {
            for o in (0..oblocks).step_by(16) {
                let mut a = [[zero; 2]; SB];
                for (xr, drow) in x.chunks_exact(n_in).zip(dz.chunks_exact(n_out)) {
                    let d0 = load(drow, o);
                    let d1 = load(drow, o + 8);
                    for (r, &v) in xr[i..i + SB].iter().enumerate() {
                        let xv = s.splat_f32s(v);
                        a[r][0] = mac(s, a[r][0], xv, d0);
                        a[r][1] = mac(s, a[r][1], xv, d1);
                    }
                }
                for (r, pair) in a.iter().enumerate() {
                    for (h, v) in pair.iter().enumerate() {
                        let at = (i + r) * n_out + o + 8 * h;
                        gw[at..at + 8].copy_from_slice(&lanes(*v));
                    }
                }
            }
        }
        (iblocks, oblocks)
    }

    /// [`super::dense_grad_input`] for pairs of samples and inputs in blocks of 16;
    /// returns (samples, inputs) covered.
    #[inline(always)]
    #[allow(clippy::too_many_arguments, reason = "one dense layer's operands")]
    pub(super) fn grad_input(
        s: V3,
        dz: &[f32],
        wt: &[f32],
        x: &[f32],
        dx: &mut [f32],
        n_in: usize,
        n_out: usize,
        b: usize,
    ) -> (usize, usize) {
        let full = n_out / super::LANES * super::LANES;
        let iblocks = n_in / 16 * 16;
        let pairs = b / 2 * 2;
        let start = s.splat_f32s(if full == 0 { 0.0 } else { -0.0 });
        let zero = s.splat_f32s(0.0);
        for ((d2, x2), dx2) in dz[..pairs * n_out]
            .chunks_exact(2 * n_out)
            .zip(x[..pairs * n_in].chunks_exact(2 * n_in))
            .zip(dx[..pairs * n_in].chunks_exact_mut(2 * n_in))
        {
            let (da, db) = d2.split_at(n_out);
            for i in (0..iblocks).step_by(16) {
                let mut t = [[start; 2]; 2];
                for k in 0..if full == 0 { 0 } else { super::LANES } {
                    let mut p = [[zero; 2]; 2];
                    for o in (k..full).step_by(super::LANES) {
                        let c0 = load(wt, o * n_in + i);
                        let c1 = load(wt, o * n_in + i + 8);
                        let (va, vb) = (s.splat_f32s(da[o]), s.splat_f32s(db[o]));
                        p[0][0] = mac(s, p[0][0], va, c0);
                        p[0][1] = mac(s, p[0][1], va, c1);
                        p[1][0] = mac(s, p[1][0], vb, c0);
                        p[1][1] = mac(s, p[1][1], vb, c1);
                    }
                    for (tr, pr) in t.iter_mut().zip(&p) {
                        tr[0] = s.add_f32s(tr[0], pr[0]);
                        tr[1] = s.add_f32s(tr[1], pr[1]);
                    }
                }
                for o in full..n_out {
                    let c0 = load(wt, o * n_in + i);
                    let c1 = load(wt, o * n_in + i + 8);
                    let (va, vb) = (s.splat_f32s(da[o]), s.splat_f32s(db[o]));
                    t[0][0] = mac(s, t[0][0], va, c0);
                    t[0][1] = mac(s, t[0][1], va, c1);
                    t[1][0] = mac(s, t[1][0], vb, c0);
                    t[1][1] = mac(s, t[1][1], vb, c1);
                }
                for (r, tr) in t.iter().enumerate() {
                    for (h, v) in tr.iter().enumerate() {
                        let at = r * n_in + i + 8 * h;
                        let xs = &x2[at..at + 8];
                        for ((d, &xv), &tv) in dx2[at..at + 8].iter_mut().zip(xs).zip(&lanes(*v)) {
                            *d = if xv <= 0.0 { 0.0 } else { tv };
                        }
                    }
                }
            }
        }
        (pairs, iblocks)
    }
}
