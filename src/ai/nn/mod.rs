//! A small, hand-written multilayer perceptron (ReLU hidden layers, linear output) with
//! batched forward and backward passes and the Adam optimiser, in `f32`, single-threaded.
//!
//! Why hand-written (docs/rl.md has the measurements): the DQN networks are tiny
//! (18 → 128 → 64 → 32 → 3 and 35 → 128 → 64 → 32 → 11, ~13 000 parameters) and train on
//! batches of 64, where a general tensor library spends most of a step on dispatch and
//! allocation (candle 0.8–1.2 ms per step on this machine kind). Here every parameter lives
//! in one flat `Vec<f32>` (layer by layer: weights `[n_in × n_out]` row-major by input, then
//! biases), so Adam is one pass over one slice, and the dense kernels keep a block of 16
//! outputs in registers while they stream the weights once per sample. Nothing allocates
//! after [`Workspace::new`].
//!
//! Determinism: every sum runs in a fixed order on one thread, so the same seed and the
//! same data give the same weights bit for bit on any machine with IEEE `f32` (the hash
//! of [`Mlp::to_bytes`] is what `train-rl` reports as `weights_sha256`).
//!
//! Sits in `ai` (left of `strategy`): no engine, no I/O.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Output block width of the dense kernels (4 SSE registers of `f32`).
const BLOCK: usize = 16;

/// What can go wrong building, loading or training a network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NnError {
    /// A layer size of 0 or fewer than two sizes.
    #[error("bad layer sizes {0:?}: need at least an input and an output size, all > 0")]
    Sizes(Vec<usize>),
    /// A weights blob of the wrong length.
    #[error("weights blob has {got} bytes; the network {sizes:?} needs {want}")]
    BlobLength {
        /// Bytes given.
        got: usize,
        /// Bytes needed.
        want: usize,
        /// The layer sizes.
        sizes: Vec<usize>,
    },
    /// A non-finite loss or parameter.
    #[error("non-finite {what} at training step {step}")]
    NotFinite {
        /// `loss` or `weight`.
        what: &'static str,
        /// The gradient step it appeared at.
        step: u64,
    },
}

/// A multilayer perceptron: ReLU after every layer but the last.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    sizes: Vec<usize>,
    /// (weights offset, bias offset) of each layer in `params`.
    offsets: Vec<(usize, usize)>,
    params: Vec<f32>,
}

impl Mlp {
    /// A network with layer sizes `sizes` (input first), initialised as PyTorch's
    /// `nn.Linear`: weights and biases uniform in ±1/√n_in, from `seed`.
    ///
    /// # Errors
    /// [`NnError::Sizes`] for fewer than two sizes or a size of 0.
    pub fn new(sizes: &[usize], seed: u64) -> Result<Self, NnError> {
        let mut m = Mlp::zeros(sizes)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for l in 0..m.layers() {
            let (n_in, n_out) = (m.sizes[l], m.sizes[l + 1]);
            let bound = 1.0 / (n_in as f32).sqrt();
            let (wo, _) = m.offsets[l];
            for p in &mut m.params[wo..wo + n_in * n_out + n_out] {
                *p = (rng.random::<f32>() * 2.0 - 1.0) * bound;
            }
        }
        Ok(m)
    }

    /// A network of zeros (for loading).
    fn zeros(sizes: &[usize]) -> Result<Self, NnError> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(NnError::Sizes(sizes.to_vec()));
        }
        let mut offsets = Vec::with_capacity(sizes.len() - 1);
        let mut at = 0;
        for w in sizes.windows(2) {
            offsets.push((at, at + w[0] * w[1]));
            at += w[0] * w[1] + w[1];
        }
        Ok(Mlp {
            sizes: sizes.to_vec(),
            offsets,
            params: vec![0.0; at],
        })
    }

    /// Layer sizes, input first.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Number of layers (weight matrices).
    pub fn layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Input width.
    pub fn n_in(&self) -> usize {
        self.sizes[0]
    }

    /// Output width.
    pub fn n_out(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }

    /// All parameters, flat (layer by layer: weights by input row, then biases).
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// Copy every parameter from `other` (same shape), e.g. a target-network sync.
    ///
    /// # Errors
    /// [`NnError::Sizes`] when the shapes differ.
    pub fn copy_from(&mut self, other: &Mlp) -> Result<(), NnError> {
        if self.sizes != other.sizes {
            return Err(NnError::Sizes(other.sizes.clone()));
        }
        self.params.copy_from_slice(&other.params);
        Ok(())
    }

    /// The parameters as little-endian `f32` bytes (what is stored and hashed).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.params.iter().flat_map(|p| p.to_le_bytes()).collect()
    }

    /// A network of shape `sizes` from [`Mlp::to_bytes`] output.
    ///
    /// # Errors
    /// [`NnError::Sizes`] or [`NnError::BlobLength`].
    pub fn from_bytes(sizes: &[usize], bytes: &[u8]) -> Result<Self, NnError> {
        let mut m = Mlp::zeros(sizes)?;
        if bytes.len() != m.params.len() * 4 {
            return Err(NnError::BlobLength {
                got: bytes.len(),
                want: m.params.len() * 4,
                sizes: sizes.to_vec(),
            });
        }
        for (p, c) in m.params.iter_mut().zip(bytes.chunks_exact(4)) {
            *p = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(m)
    }

    /// True when every parameter is finite.
    pub fn is_finite(&self) -> bool {
        self.params.iter().all(|p| p.is_finite())
    }

    /// One sample's outputs (inference). `x.len()` must be the input width, `out.len()` the
    /// output width; `ws` holds the hidden activations.
    pub fn forward_one<'w>(&self, x: &[f32], ws: &'w mut Workspace) -> &'w [f32] {
        self.forward(x, 1, ws)
    }

    /// Forward a batch of `b` samples (`x` row-major `[b × n_in]`); returns the outputs
    /// `[b × n_out]` and keeps every activation in `ws` for [`Mlp::backward`].
    pub fn forward<'w>(&self, x: &[f32], b: usize, ws: &'w mut Workspace) -> &'w [f32] {
        ws.ensure(&self.sizes, b);
        ws.acts[0][..b * self.sizes[0]].copy_from_slice(&x[..b * self.sizes[0]]);
        let last = self.layers() - 1;
        for l in 0..self.layers() {
            let (n_in, n_out) = (self.sizes[l], self.sizes[l + 1]);
            let (wo, bo) = self.offsets[l];
            let w = &self.params[wo..wo + n_in * n_out];
            let bias = &self.params[bo..bo + n_out];
            let (head, tail) = ws.acts.split_at_mut(l + 1);
            let inp = &head[l][..b * n_in];
            let out = &mut tail[0][..b * n_out];
            dense_forward(inp, w, bias, out, n_in, n_out, l != last);
        }
        &ws.acts[self.layers()][..b * self.n_out()]
    }

    /// Backpropagate `d_out` (`[b × n_out]`, dLoss/dOutput) through the batch last passed
    /// to [`Mlp::forward`] with the same `ws`; writes dLoss/dParam into `grad` (overwritten,
    /// same layout as [`Mlp::params`]).
    pub fn backward(&self, d_out: &[f32], b: usize, ws: &mut Workspace, grad: &mut [f32]) {
        let layers = self.layers();
        ws.delta[layers][..b * self.n_out()].copy_from_slice(&d_out[..b * self.n_out()]);
        for l in (0..layers).rev() {
            let (n_in, n_out) = (self.sizes[l], self.sizes[l + 1]);
            let (wo, bo) = self.offsets[l];
            let w = &self.params[wo..wo + n_in * n_out];
            let (gw, gb) = grad[wo..bo + n_out].split_at_mut(n_in * n_out);
            let (dh, dt) = ws.delta.split_at_mut(l + 1);
            let dz = &dt[0][..b * n_out];
            let x = &ws.acts[l][..b * n_in];
            dense_grad_params(x, dz, gw, gb, n_in, n_out, b);
            if l > 0 {
                // dLoss/dInput, masked by the ReLU that produced the input
                let dx = &mut dh[l][..b * n_in];
                dense_grad_input(dz, w, x, dx, n_in, n_out, b);
            }
        }
    }
}

/// Samples per register block of the batched kernels.
const SB: usize = 4;
/// Outputs (or inputs) per register block of the batched kernels (two SSE registers).
const OB: usize = 8;

/// `OB` consecutive values of `v` from `at`, as an array (`None` past the end).
#[inline(always)]
fn block(v: &[f32], at: usize) -> Option<&[f32; OB]> {
    v.get(at..at + OB)
        .and_then(|c| <&[f32; OB]>::try_from(c).ok())
}

/// `out = x·W + bias` for every row of `x`, then ReLU when `relu`.
///
/// Every output is `bias[o]` plus `x[i]·W[i][o]` added for `i` ascending, whichever path
/// computes it, so the blocking does not change a bit. Rows go [`SB`] at a time through
/// blocks of [`OB`] outputs (`SB × OB` accumulators in registers, each weight block loaded
/// once per `SB` rows); the rest one row at a time.
fn dense_forward(
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    n_in: usize,
    n_out: usize,
    relu: bool,
) {
    let rows = x.len() / n_in;
    let grouped = rows / SB * SB;
    let oblocks = n_out / OB * OB;
    for (xg, yg) in x[..grouped * n_in]
        .chunks_exact(SB * n_in)
        .zip(out.chunks_exact_mut(SB * n_out))
    {
        for o in (0..oblocks).step_by(OB) {
            let mut acc = [[0.0f32; OB]; SB];
            if let Some(b) = block(bias, o) {
                acc = [*b; SB];
            }
            for (i, wrow) in w.chunks_exact(n_out).enumerate() {
                let Some(wr) = block(wrow, o) else { continue };
                for (r, a) in acc.iter_mut().enumerate() {
                    let xi = xg[r * n_in + i];
                    for k in 0..OB {
                        a[k] += xi * wr[k];
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                yg[r * n_out + o..r * n_out + o + OB].copy_from_slice(a);
            }
        }
        for (xr, yr) in xg.chunks_exact(n_in).zip(yg.chunks_exact_mut(n_out)) {
            dense_forward_tail(xr, w, bias, yr, oblocks, n_out);
        }
    }
    for (xr, yr) in x[grouped * n_in..]
        .chunks_exact(n_in)
        .zip(out[grouped * n_out..].chunks_exact_mut(n_out))
    {
        let blocks = n_out / BLOCK * BLOCK;
        for o in (0..blocks).step_by(BLOCK) {
            let mut acc = [0.0f32; BLOCK];
            acc.copy_from_slice(&bias[o..o + BLOCK]);
            for (&xi, wrow) in xr.iter().zip(w.chunks_exact(n_out)) {
                if let Ok(wr) = <&[f32; BLOCK]>::try_from(&wrow[o..o + BLOCK]) {
                    for k in 0..BLOCK {
                        acc[k] += xi * wr[k];
                    }
                }
            }
            yr[o..o + BLOCK].copy_from_slice(&acc);
        }
        dense_forward_tail(xr, w, bias, yr, blocks, n_out);
    }
    if relu {
        for y in out[..rows * n_out].iter_mut() {
            *y = y.max(0.0);
        }
    }
}

/// Outputs `from..n_out` of one row, one at a time.
#[inline]
fn dense_forward_tail(
    xr: &[f32],
    w: &[f32],
    bias: &[f32],
    yr: &mut [f32],
    from: usize,
    n_out: usize,
) {
    for o in from..n_out {
        let mut acc = bias[o];
        for (i, &xi) in xr.iter().enumerate() {
            acc += xi * w[i * n_out + o];
        }
        yr[o] = acc;
    }
}

/// `gW[i][o] = Σ_b x[b][i]·dz[b][o]`, `gb[o] = Σ_b dz[b][o]`.
///
/// Every sum starts at 0 and adds the samples in order, whichever path computes it; blocks
/// of [`SB`] inputs × [`OB`] outputs keep their accumulators in registers.
fn dense_grad_params(
    x: &[f32],
    dz: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
    n_in: usize,
    n_out: usize,
    b: usize,
) {
    let oblocks = n_out / OB * OB;
    let iblocks = n_in / SB * SB;
    let samples = || x.chunks_exact(n_in).zip(dz.chunks_exact(n_out)).take(b);
    for i in (0..iblocks).step_by(SB) {
        for o in (0..oblocks).step_by(OB) {
            let mut acc = [[0.0f32; OB]; SB];
            for (xr, drow) in samples() {
                let Some(dr) = block(drow, o) else { continue };
                for (r, a) in acc.iter_mut().enumerate() {
                    let xi = xr[i + r];
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
    for i in iblocks..n_in {
        for o in (0..oblocks).step_by(OB) {
            let mut acc = [0.0f32; OB];
            for (xr, drow) in samples() {
                let Some(dr) = block(drow, o) else { continue };
                let xi = xr[i];
                for k in 0..OB {
                    acc[k] += xi * dr[k];
                }
            }
            gw[i * n_out + o..i * n_out + o + OB].copy_from_slice(&acc);
        }
    }
    for i in 0..n_in {
        for o in oblocks..n_out {
            let mut acc = 0.0f32;
            for s in 0..b {
                acc += x[s * n_in + i] * dz[s * n_out + o];
            }
            gw[i * n_out + o] = acc;
        }
    }
    gb.fill(0.0);
    for dr in dz.chunks_exact(n_out).take(b) {
        for (g, d) in gb.iter_mut().zip(dr) {
            *g += d;
        }
    }
}

/// `dx[b][i] = (Σ_o dz[b][o]·W[i][o]) · [x[b][i] > 0]` (the ReLU mask of the input).
///
/// Each sum keeps one order: [`BLOCK`] lanes (lane `k` adds the outputs `o ≡ k` below the
/// last full block, in order), the lanes added first to last, then the tail outputs in
/// order. The inputs the mask keeps go two at a time ([`dot2`]: one load of `dz` per pair).
fn dense_grad_input(
    dz: &[f32],
    w: &[f32],
    x: &[f32],
    dx: &mut [f32],
    n_in: usize,
    n_out: usize,
    b: usize,
) {
    let row = |i: usize| &w[i * n_out..(i + 1) * n_out];
    for ((dr, xr), dxr) in dz
        .chunks_exact(n_out)
        .zip(x.chunks_exact(n_in))
        .zip(dx.chunks_exact_mut(n_in))
        .take(b)
    {
        let mut pending: Option<usize> = None;
        for (i, &xi) in xr.iter().enumerate() {
            if xi <= 0.0 {
                dxr[i] = 0.0;
                continue;
            }
            match pending.take() {
                None => pending = Some(i),
                Some(j) => (dxr[j], dxr[i]) = dot2(dr, row(j), row(i)),
            }
        }
        if let Some(j) = pending {
            dxr[j] = dot1(dr, row(j));
        }
    }
}

/// `Σ_o d[o]·w[o]` in [`dense_grad_input`]'s order.
#[inline(always)]
fn dot1(d: &[f32], w: &[f32]) -> f32 {
    let blocks = d.len() / BLOCK * BLOCK;
    let mut acc = [0.0f32; BLOCK];
    for (dc, wc) in d[..blocks]
        .chunks_exact(BLOCK)
        .zip(w[..blocks].chunks_exact(BLOCK))
    {
        for k in 0..BLOCK {
            acc[k] += dc[k] * wc[k];
        }
    }
    let mut sum = acc.iter().sum::<f32>();
    for (&dv, &wv) in d[blocks..].iter().zip(&w[blocks..]) {
        sum += dv * wv;
    }
    sum
}

/// [`dot1`] of `d` with two rows at once, each in [`dot1`]'s order.
#[inline(always)]
fn dot2(d: &[f32], w0: &[f32], w1: &[f32]) -> (f32, f32) {
    let blocks = d.len() / BLOCK * BLOCK;
    let (mut a0, mut a1) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    for ((dc, c0), c1) in d[..blocks]
        .chunks_exact(BLOCK)
        .zip(w0[..blocks].chunks_exact(BLOCK))
        .zip(w1[..blocks].chunks_exact(BLOCK))
    {
        for k in 0..BLOCK {
            a0[k] += dc[k] * c0[k];
            a1[k] += dc[k] * c1[k];
        }
    }
    let (mut s0, mut s1) = (a0.iter().sum::<f32>(), a1.iter().sum::<f32>());
    for ((&dv, &v0), &v1) in d[blocks..].iter().zip(&w0[blocks..]).zip(&w1[blocks..]) {
        s0 += dv * v0;
        s1 += dv * v1;
    }
    (s0, s1)
}

/// Scratch buffers for a network's passes (activations and their gradients), sized on
/// first use and reused.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    acts: Vec<Vec<f32>>,
    delta: Vec<Vec<f32>>,
    batch: usize,
}

impl Workspace {
    /// An empty workspace (grown on first use).
    pub fn new() -> Self {
        Workspace::default()
    }

    fn ensure(&mut self, sizes: &[usize], b: usize) {
        let fits = self.acts.len() == sizes.len()
            && self.batch >= b
            && self
                .acts
                .iter()
                .zip(sizes)
                .all(|(a, &n)| a.len() >= n * self.batch);
        if fits {
            return;
        }
        self.batch = b.max(self.batch);
        self.acts = sizes.iter().map(|&n| vec![0.0; n * self.batch]).collect();
        self.delta = sizes.iter().map(|&n| vec![0.0; n * self.batch]).collect();
    }
}

/// The Adam optimiser (Kingma & Ba 2015) with PyTorch's defaults (β₁ 0.9, β₂ 0.999,
/// ε 1e-8) and optional clipping of the gradient's global L2 norm (as SB3's DQN, 10).
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator guard.
    pub eps: f32,
    /// Clip the gradient to this global L2 norm first (`None`: no clipping).
    pub max_grad_norm: Option<f32>,
    t: u64,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    /// An optimiser for `n` parameters.
    pub fn new(n: usize, lr: f32) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            max_grad_norm: None,
            t: 0,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// Apply one update to `net` from `grad` (layout of [`Mlp::params`]).
    ///
    /// # Errors
    /// [`NnError::NotFinite`] (`weight`, naming the step) when a parameter becomes
    /// non-finite; the network is left as updated, so callers must discard it.
    pub fn step(&mut self, net: &mut Mlp, grad: &mut [f32]) -> Result<(), NnError> {
        self.t += 1;
        if let Some(max) = self.max_grad_norm {
            let norm = grad.iter().map(|g| g * g).sum::<f32>().sqrt();
            if norm > max {
                let k = max / (norm + 1e-6);
                for g in grad.iter_mut() {
                    *g *= k;
                }
            }
        }
        let (b1, b2) = (self.beta1, self.beta2);
        let bc1 = 1.0 - b1.powi(self.t.min(i32::MAX as u64) as i32);
        let bc2 = 1.0 - b2.powi(self.t.min(i32::MAX as u64) as i32);
        let step = self.lr / bc1;
        let bc2_sqrt = bc2.sqrt();
        let mut finite = true;
        for (((p, g), m), v) in net
            .params
            .iter_mut()
            .zip(grad.iter())
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= step * *m / ((*v).sqrt() / bc2_sqrt + self.eps);
            finite &= p.is_finite();
        }
        if finite {
            Ok(())
        } else {
            Err(NnError::NotFinite {
                what: "weight",
                step: self.t,
            })
        }
    }

    /// The moments and step count as little-endian bytes (stored with a model so training
    /// can resume exactly).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 8 * self.m.len());
        out.extend_from_slice(&self.t.to_le_bytes());
        for x in self.m.iter().chain(&self.v) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Restore the state of [`Adam::to_bytes`] for `n` parameters (`None` if the blob does
    /// not fit).
    pub fn restore(&mut self, bytes: &[u8]) -> Option<()> {
        let n = self.m.len();
        if bytes.len() != 8 + 8 * n {
            return None;
        }
        let mut t = [0u8; 8];
        t.copy_from_slice(&bytes[..8]);
        self.t = u64::from_le_bytes(t);
        let f = |c: &[u8]| f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        for (i, c) in bytes[8..].chunks_exact(4).enumerate() {
            if i < n {
                self.m[i] = f(c);
            } else {
                self.v[i - n] = f(c);
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss(net: &Mlp, x: &[f32], b: usize, target: &[f32]) -> f64 {
        let mut ws = Workspace::new();
        let y = net.forward(x, b, &mut ws);
        y.iter()
            .zip(target)
            .map(|(a, t)| 0.5 * f64::from(a - t).powi(2))
            .sum()
    }

    #[test]
    fn backward_matches_finite_differences() {
        // sizes that exercise the blocked kernels (32) and the scalar tails (5, 3)
        let net = Mlp::new(&[5, 32, 20, 3], 3).unwrap();
        let b = 4;
        let x: Vec<f32> = (0..b * 5)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let target: Vec<f32> = (0..b * 3).map(|i| (i % 4) as f32 * 0.3).collect();
        let mut ws = Workspace::new();
        let y = net.forward(&x, b, &mut ws).to_vec();
        let d: Vec<f32> = y.iter().zip(&target).map(|(a, t)| a - t).collect();
        let mut grad = vec![0.0; net.params().len()];
        net.backward(&d, b, &mut ws, &mut grad);
        let mut checked = 0;
        for idx in (0..net.params().len()).step_by(37) {
            let mut plus = net.clone();
            let mut minus = net.clone();
            let h = 1e-2f32;
            plus.params[idx] += h;
            minus.params[idx] -= h;
            let num =
                (loss(&plus, &x, b, &target) - loss(&minus, &x, b, &target)) / (2.0 * f64::from(h));
            let ana = f64::from(grad[idx]);
            assert!(
                (num - ana).abs() <= 2e-3 * (1.0 + num.abs()),
                "param {idx}: numeric {num} analytic {ana}"
            );
            checked += 1;
        }
        assert!(checked > 20);
    }

    /// The plain definitions, one output at a time, in the order the kernels promise:
    /// `bias + Σ_i x·w` (i ascending) forward, `Σ_s x·dz` (s ascending) for the weights.
    fn naive_forward(net: &Mlp, x: &[f32], b: usize) -> Vec<Vec<f32>> {
        let mut acts = vec![x[..b * net.n_in()].to_vec()];
        for l in 0..net.layers() {
            let (n_in, n_out) = (net.sizes[l], net.sizes[l + 1]);
            let (wo, bo) = net.offsets[l];
            let inp = &acts[l];
            let mut y = vec![0.0f32; b * n_out];
            for s in 0..b {
                for o in 0..n_out {
                    let mut acc = net.params[bo + o];
                    for i in 0..n_in {
                        acc += inp[s * n_in + i] * net.params[wo + i * n_out + o];
                    }
                    y[s * n_out + o] = if l + 1 < net.layers() {
                        acc.max(0.0)
                    } else {
                        acc
                    };
                }
            }
            acts.push(y);
        }
        acts
    }

    /// `dense_grad_input` as it was before the pairing (one input at a time).
    fn one_at_a_time_grad_input(
        dz: &[f32],
        w: &[f32],
        x: &[f32],
        n_in: usize,
        n_out: usize,
        b: usize,
    ) -> Vec<f32> {
        let blocks = n_out / BLOCK * BLOCK;
        let mut dx = vec![0.0f32; b * n_in];
        for s in 0..b {
            let dr = &dz[s * n_out..(s + 1) * n_out];
            for i in 0..n_in {
                if x[s * n_in + i] <= 0.0 {
                    continue;
                }
                let wr = &w[i * n_out..(i + 1) * n_out];
                let mut acc = [0.0f32; BLOCK];
                for (dc, wc) in dr[..blocks]
                    .chunks_exact(BLOCK)
                    .zip(wr[..blocks].chunks_exact(BLOCK))
                {
                    for k in 0..BLOCK {
                        acc[k] += dc[k] * wc[k];
                    }
                }
                let mut sum = acc.iter().sum::<f32>();
                for o in blocks..n_out {
                    sum += dr[o] * wr[o];
                }
                dx[s * n_in + i] = sum;
            }
        }
        dx
    }

    #[test]
    fn blocked_kernels_equal_the_plain_sums_bit_for_bit() {
        for (sizes, b) in [
            (vec![18, 128, 64, 32, 3], 64),
            (vec![35, 128, 64, 32, 11], 7),
            (vec![5, 20, 9, 3], 6),
        ] {
            let net = Mlp::new(&sizes, 11).unwrap();
            let x: Vec<f32> = (0..b * sizes[0])
                .map(|i| ((i * 13 % 29) as f32 - 14.0) / 7.0)
                .collect();
            let mut ws = Workspace::new();
            let y = net.forward(&x, b, &mut ws).to_vec();
            let acts = naive_forward(&net, &x, b);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&acts[net.layers()]), "{sizes:?} forward");
            let d: Vec<f32> = (0..y.len()).map(|i| ((i % 7) as f32 - 3.0) / 5.0).collect();
            let mut grad = vec![0.0; net.params().len()];
            net.backward(&d, b, &mut ws, &mut grad);
            // every layer's weight gradient from the plain sum over samples of its input
            // and its output's delta (kept in the workspace)
            for l in 0..net.layers() {
                let (n_in, n_out) = (sizes[l], sizes[l + 1]);
                let (wo, _) = net.offsets[l];
                assert_eq!(
                    bits(&ws.acts[l][..b * n_in]),
                    bits(&acts[l]),
                    "layer {l} input"
                );
                let dz = &ws.delta[l + 1][..b * n_out];
                if l > 0 {
                    let w = &net.params[wo..wo + n_in * n_out];
                    let want = one_at_a_time_grad_input(dz, w, &acts[l], n_in, n_out, b);
                    assert_eq!(
                        bits(&ws.delta[l][..b * n_in]),
                        bits(&want),
                        "{sizes:?} dx{l}"
                    );
                }
                for i in 0..n_in {
                    for o in 0..n_out {
                        let mut acc = 0.0f32;
                        for s in 0..b {
                            acc += acts[l][s * n_in + i] * dz[s * n_out + o];
                        }
                        let got = grad[wo + i * n_out + o];
                        assert_eq!(acc.to_bits(), got.to_bits(), "{sizes:?} gW{l}[{i}][{o}]");
                    }
                }
            }
        }
    }

    #[test]
    fn forward_of_a_batch_equals_forward_of_each_row() {
        let net = Mlp::new(&[18, 128, 64, 32, 3], 1).unwrap();
        let x: Vec<f32> = (0..3 * 18).map(|i| (i as f32).sin()).collect();
        let mut ws = Workspace::new();
        let all = net.forward(&x, 3, &mut ws).to_vec();
        for r in 0..3 {
            let mut ws1 = Workspace::new();
            let one = net.forward_one(&x[r * 18..(r + 1) * 18], &mut ws1);
            assert_eq!(one, &all[r * 3..(r + 1) * 3]);
        }
    }

    #[test]
    fn adam_fits_a_small_regression_and_is_deterministic() {
        let run = || {
            let mut net = Mlp::new(&[2, 16, 1], 9).unwrap();
            let mut adam = Adam::new(net.params().len(), 0.01);
            let x: Vec<f32> = (0..32).map(|i| (i as f32 / 16.0) - 1.0).collect();
            let t: Vec<f32> = x.chunks(2).map(|p| p[0] * 0.5 - p[1]).collect();
            let mut ws = Workspace::new();
            let mut grad = vec![0.0; net.params().len()];
            let first = loss(&net, &x, 16, &t);
            for _ in 0..500 {
                let y = net.forward(&x, 16, &mut ws).to_vec();
                let d: Vec<f32> = y.iter().zip(&t).map(|(a, b)| (a - b) / 16.0).collect();
                net.backward(&d, 16, &mut ws, &mut grad);
                adam.step(&mut net, &mut grad).unwrap();
            }
            (first, loss(&net, &x, 16, &t), net)
        };
        let (first, last, a) = run();
        assert!(last < first * 0.01, "loss {first} -> {last}");
        let (_, _, b) = run();
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn bytes_round_trip_and_bad_blobs_are_refused() {
        let net = Mlp::new(&[3, 4, 2], 5).unwrap();
        let back = Mlp::from_bytes(&[3, 4, 2], &net.to_bytes()).unwrap();
        assert_eq!(back, net);
        assert!(matches!(
            Mlp::from_bytes(&[3, 4, 2], &[0; 7]),
            Err(NnError::BlobLength { got: 7, .. })
        ));
        assert!(Mlp::new(&[3], 1).is_err());
        assert!(Mlp::new(&[3, 0, 1], 1).is_err());
        let mut adam = Adam::new(net.params().len(), 0.1);
        let mut net2 = net.clone();
        let mut g = vec![0.5; net.params().len()];
        adam.step(&mut net2, &mut g).unwrap();
        let mut other = Adam::new(net.params().len(), 0.1);
        other.restore(&adam.to_bytes()).unwrap();
        assert_eq!(other, adam);
    }

    #[test]
    fn a_non_finite_update_names_its_step() {
        let mut net = Mlp::new(&[2, 2], 1).unwrap();
        let mut adam = Adam::new(net.params().len(), 0.1);
        let mut g = vec![f32::NAN; net.params().len()];
        assert_eq!(
            adam.step(&mut net, &mut g),
            Err(NnError::NotFinite {
                what: "weight",
                step: 1
            })
        );
    }
}
