//! A small, hand-written multilayer perceptron (ReLU hidden layers, linear output) with
//! batched forward and backward passes and the Adam optimiser, in `f32`, single-threaded.
//!
//! Why hand-written (docs/rl.md has the measurements): the DQN networks are tiny
//! (18 → 128 → 64 → 32 → 3 and 35 → 128 → 64 → 32 → 11, ~13 000 parameters) and train on
//! batches of 64, where a general tensor library spends most of a step on dispatch and
//! allocation (candle 0.8–1.2 ms per step on this machine kind). Here every parameter lives
//! in one flat `Vec<f32>` (layer by layer: weights `[n_in × n_out]` row-major by input, then
//! biases), so Adam is one pass over one slice, and the dense kernels keep a block of rows ×
//! 16 outputs in registers, so one load of a weight vector serves several samples (see
//! `kernels`). Nothing allocates after the first pass of a batch size.
//!
//! Determinism: every sum runs in a fixed order on one thread, so the same seed and the
//! same data give the same weights bit for bit on any machine with IEEE `f32` (the hash
//! of [`Mlp::to_bytes`] is what `train-rl` reports as `weights_sha256`).
//!
//! Sits in `ai` (left of `strategy`): no engine, no I/O.

mod kernels;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use kernels::Kernel;
pub use kernels::Path;

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
        ws.path.run(Forward {
            net: self,
            acts: &mut ws.acts,
            pack: &mut ws.pack,
            b,
        });
        &ws.acts[self.layers()][..b * self.n_out()]
    }

    /// Backpropagate `d_out` (`[b × n_out]`, dLoss/dOutput) through the batch last passed
    /// to [`Mlp::forward`] with the same `ws`; writes dLoss/dParam into `grad` (overwritten,
    /// same layout as [`Mlp::params`]).
    pub fn backward(&self, d_out: &[f32], b: usize, ws: &mut Workspace, grad: &mut [f32]) {
        let layers = self.layers();
        ws.delta[layers][..b * self.n_out()].copy_from_slice(&d_out[..b * self.n_out()]);
        ws.path.run(Backward {
            net: self,
            acts: &ws.acts,
            delta: &mut ws.delta,
            pack: &mut ws.pack,
            grad,
            b,
        });
    }
}

/// [`Mlp::forward`]'s layers, run on the kernel path of the workspace.
struct Forward<'a> {
    net: &'a Mlp,
    acts: &'a mut [Vec<f32>],
    pack: &'a mut Vec<f32>,
    b: usize,
}

impl Kernel for Forward<'_> {
    type Output = ();

    #[inline(always)]
    fn run<const SB: usize, const OB: usize>(self, simd: kernels::Wide) {
        let net = self.net;
        let b = self.b;
        let last = net.layers() - 1;
        for l in 0..net.layers() {
            let (n_in, n_out) = (net.sizes[l], net.sizes[l + 1]);
            let (wo, bo) = net.offsets[l];
            let w = &net.params[wo..wo + n_in * n_out];
            let bias = &net.params[bo..bo + n_out];
            let (head, tail) = self.acts.split_at_mut(l + 1);
            let inp = &head[l][..b * n_in];
            let out = &mut tail[0][..b * n_out];
            let relu = l != last;
            kernels::dense_forward::<SB, OB>(simd, inp, w, bias, out, n_in, n_out, relu, self.pack);
        }
    }
}

/// [`Mlp::backward`]'s layers, run on the kernel path of the workspace.
struct Backward<'a> {
    net: &'a Mlp,
    acts: &'a [Vec<f32>],
    delta: &'a mut [Vec<f32>],
    pack: &'a mut Vec<f32>,
    grad: &'a mut [f32],
    b: usize,
}

impl Kernel for Backward<'_> {
    type Output = ();

    #[inline(always)]
    fn run<const SB: usize, const OB: usize>(self, simd: kernels::Wide) {
        let net = self.net;
        let b = self.b;
        for l in (0..net.layers()).rev() {
            let (n_in, n_out) = (net.sizes[l], net.sizes[l + 1]);
            let (wo, bo) = net.offsets[l];
            let w = &net.params[wo..wo + n_in * n_out];
            let (gw, gb) = self.grad[wo..bo + n_out].split_at_mut(n_in * n_out);
            let (dh, dt) = self.delta.split_at_mut(l + 1);
            let dz = &dt[0][..b * n_out];
            let x = &self.acts[l][..b * n_in];
            kernels::dense_grad_params::<SB, OB>(simd, x, dz, gw, gb, n_in, n_out, b, self.pack);
            if l > 0 {
                // dLoss/dInput, masked by the ReLU that produced the input
                let dx = &mut dh[l][..b * n_in];
                kernels::dense_grad_input::<OB>(simd, dz, w, x, dx, n_in, n_out, b, self.pack);
            }
        }
    }
}

/// Scratch buffers for a network's passes (activations and their gradients), sized on
/// first use and reused.
#[derive(Debug, Clone)]
pub struct Workspace {
    acts: Vec<Vec<f32>>,
    delta: Vec<Vec<f32>>,
    /// The kernels' packed operands (a block of weight columns, a layer's weights in the
    /// input gradient's order, …).
    pack: Vec<f32>,
    batch: usize,
    path: Path,
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace {
            acts: Vec::new(),
            delta: Vec::new(),
            pack: Vec::new(),
            batch: 0,
            path: Path::Detected,
        }
    }
}

impl Workspace {
    /// An empty workspace (grown on first use) whose kernels use the best vector
    /// instructions the CPU has (the results are the same bits on every path).
    pub fn new() -> Self {
        Workspace::default()
    }

    /// An empty workspace whose kernels run on `path` (tests compare the paths).
    pub fn on_path(path: Path) -> Self {
        Workspace {
            path,
            ..Workspace::default()
        }
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

/// Adam's element-wise update (one pass; every element on its own, so the vector width
/// does not change a bit); returns whether every parameter stayed finite. The moments
/// are fused multiply-adds (`f32::mul_add`: one rounding, the same on every machine) and
/// the denominator `√v̂ + ε` is `fma(√v, 1/√(1 − β₂ᵗ), ε)` (a multiply by the bias
/// correction's reciprocal instead of a division: one division per parameter is left).
/// The gradient's clipping factor is applied here, element by element (`g·k`, the same
/// product a separate pass would store; `k = 1` leaves every `g` as it is).
struct AdamUpdate<'a> {
    params: &'a mut [f32],
    grad: &'a [f32],
    /// The clipping factor (1 when the gradient is not clipped).
    clip: f32,
    m: &'a mut [f32],
    v: &'a mut [f32],
    b1: f32,
    b2: f32,
    step: f32,
    /// `1 / √(1 − β₂ᵗ)`.
    inv_bc2_sqrt: f32,
    eps: f32,
}

impl Kernel for AdamUpdate<'_> {
    type Output = bool;

    #[inline(always)]
    fn run<const SB: usize, const OB: usize>(self, _simd: kernels::Wide) -> bool {
        let (b1, b2, step, inv_bc2_sqrt, eps, clip) = (
            self.b1,
            self.b2,
            self.step,
            self.inv_bc2_sqrt,
            self.eps,
            self.clip,
        );
        let mut finite = true;
        for (((p, g), m), v) in self
            .params
            .iter_mut()
            .zip(self.grad)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            let g = g * clip;
            *m = b1.mul_add(*m, (1.0 - b1) * g);
            *v = b2.mul_add(*v, (1.0 - b2) * g * g);
            *p -= step * *m / (*v).sqrt().mul_add(inv_bc2_sqrt, eps);
            finite &= p.is_finite();
        }
        finite
    }
}

/// `grad.iter().map(|g| g * g).sum::<f32>()` bit for bit (the clipping norm's one
/// sequential `f32` sum), without its chain of dependent `f32` additions where it can.
///
/// Why that is exact: while the running sum `s` is a positive normal number in the binade
/// `[2^e, 2^(e+1))`, every `f32` there is a multiple of `u = 2^(e−23)`, so `s = S·u` with an
/// integer `S < 2^24`. Write a square as `x = (q + f)·u` with the integer `q` and
/// `0 ≤ f < 1` (exact in `f64`: `x/u` is `x` scaled by a power of two). The exact `s + x`
/// lies between `(S + q)·u` and `(S + q + 1)·u`; when `S + q + 1 ≤ 2^24` that is still in
/// the binade, where the correctly rounded sum is `(S + q)·u` for `f < ½` and
/// `(S + q + 1)·u` for `f > ½` (a tie, `f = ½`, would depend on the parity of `S`). So for
/// a run of squares with no tie whose integer steps `a = q + [f > ½]` keep `S + Σa` below
/// `2^24`, the sequential sum is `(S + Σa)·u`, and `Σa` is a sum of integers that `f64`
/// adds exactly in any order (lanes side by side; `kernels::binade_steps` finds the `a`
/// of eight squares at a time). The binade, hence `u`, stays the same as long as the sum
/// stays in it, so runs of squares (64, doubling up to 1 024 while they fit, back to 64
/// when one does not) go in with nothing carried between them but the integer `S`. A run
/// of 64 that breaks a condition (a tie, a change of binade, a sum still zero or
/// subnormal, a NaN or an infinity) goes in eight squares at a time, and eight that break
/// one are added the sequential way, which is the definition.
struct SumOfSquares<'a> {
    grad: &'a [f32],
}

impl Kernel for SumOfSquares<'_> {
    type Output = f32;

    #[inline(always)]
    fn run<const SB: usize, const OB: usize>(self, simd: kernels::Wide) -> f32 {
        // Iterator::sum's start
        let mut s = -0.0f32;
        let mut rest = self.grad;
        while !rest.is_empty() {
            if s.is_normal() && s > 0.0 {
                let (inv_u, u) = grid(s);
                let mut total = f64::from(s) * inv_u;
                let mut len = 64;
                while !rest.is_empty() {
                    let run = &rest[..len.min(rest.len())];
                    let (steps, bad) = kernels::binade_steps(simd, run, inv_u);
                    let next = total + steps;
                    // below 2^24 (not so for NaN): no binade change
                    let stays = next < 16_777_216.0;
                    if bad || !stays {
                        if len == 64 {
                            break;
                        }
                        len = 64;
                        continue;
                    }
                    total = next;
                    rest = &rest[run.len()..];
                    len = (2 * len).min(1024);
                }
                // an integer below 2^24 times a power of two: exact in f32
                s = (total * u) as f32;
            }
            let chunk = &rest[..rest.len().min(64)];
            for part in chunk.chunks(8) {
                s = match add_in_binade(simd, s, part) {
                    Some(next) => next,
                    None => part.iter().fold(s, |acc, g| acc + g * g),
                };
            }
            rest = &rest[chunk.len()..];
        }
        s
    }
}

/// `(1/u, u)` for the grid `u = 2^(e−23)` of the binade `[2^e, 2^(e+1))` holding the
/// positive normal `s`, as `f64` powers of two.
#[inline(always)]
fn grid(s: f32) -> (f64, f64) {
    let biased = (s.to_bits() >> 23) & 0xff;
    (
        f64::from_bits(u64::from(1023 + 150 - biased) << 52),
        f64::from_bits(u64::from(1023 + biased - 150) << 52),
    )
}

/// `s + c[0]² + c[1]² + …` added one at a time in `f32`, when [`SumOfSquares`]'s
/// conditions hold for the whole run (`None` otherwise).
#[inline(always)]
fn add_in_binade(simd: kernels::Wide, s: f32, c: &[f32]) -> Option<f32> {
    if !(s.is_normal() && s > 0.0) {
        return None;
    }
    let (inv_u, u) = grid(s);
    let (steps, bad) = kernels::binade_steps(simd, c, inv_u);
    let total = f64::from(s) * inv_u + steps;
    // below 2^24 (not so for NaN): no binade change; the integer sum is exact below 2^53
    let stays = total < 16_777_216.0;
    if bad || !stays {
        return None;
    }
    Some((total * u) as f32)
}

/// True when the sequential `f32` norm of `grad` is certainly at most `max`, decided from
/// a fast sum of squares `t` (`kernels::lane_squares`: running sums side by side, any
/// order). With `u = 2⁻²⁴`: the `f32` sum of `n` non-negative rounded squares exceeds the
/// exact sum `E` by at most a factor `(1 + u)^(n + 1)` plus twice the underflow of each
/// square (≤ 2⁻¹⁴⁹); and `E ≤ (t + n·2⁻¹⁵⁰)·(1 + u)^m` when each part of `t` went through
/// at most `m` roundings in `f32`. So when that bound is below `max²` the `f32` norm cannot
/// exceed `max` and no clipping happens. Otherwise (or for a non-finite gradient) the
/// caller computes the norm exactly, so the shortcut never changes a bit; it saves the
/// serial `f32` sum on nearly every step of a gradient below the clip.
struct SurelyWithin<'a> {
    grad: &'a [f32],
    max: f32,
}

impl Kernel for SurelyWithin<'_> {
    type Output = bool;

    #[inline(always)]
    fn run<const SB: usize, const OB: usize>(self, simd: kernels::Wide) -> bool {
        let (t, m) = kernels::lane_squares(simd, self.grad);
        let n = self.grad.len() as f64;
        // (1 + u)^k ≤ 1 + 2ku while ku < 1/2; the f64 additions are exact to far better
        // than the last factor
        let u = f64::from(f32::EPSILON) / 2.0;
        let m = m as f64;
        if (n + 1.0) * u >= 0.25 || m * u >= 0.25 {
            return false;
        }
        let exact = (t + n * 2f64.powi(-150)) * (1.0 + 2.0 * m * u);
        let bound = exact * (1.0 + 2.0 * (n + 1.0) * u) * (1.0 + 1e-9) + 2.0 * n * 2f64.powi(-149);
        let max = self.max;
        let max2 = f64::from(max) * f64::from(max);
        t.is_finite() && max.is_finite() && bound < max2 * (1.0 - 1e-6)
    }
}

/// [`SurelyWithin`] on the best path the CPU has.
fn surely_within(grad: &[f32], max: f32) -> bool {
    Path::Detected.run(SurelyWithin { grad, max })
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

    /// Apply one update to `net` from `grad` (layout of [`Mlp::params`]; clipped, when its
    /// norm is over [`Adam::max_grad_norm`], inside the update: `grad` is only read).
    ///
    /// # Errors
    /// [`NnError::NotFinite`] (`weight`, naming the step) when a parameter becomes
    /// non-finite; the network is left as updated, so callers must discard it.
    pub fn step(&mut self, net: &mut Mlp, grad: &[f32]) -> Result<(), NnError> {
        self.t += 1;
        let mut clip = 1.0f32;
        if let Some(max) = self.max_grad_norm
            && !surely_within(grad, max)
        {
            // the norm's one sequential f32 sum (its bits decide the clipping factor)
            let norm = Path::Detected.run(SumOfSquares { grad }).sqrt();
            if norm > max {
                clip = max / (norm + 1e-6);
            }
        }
        let (b1, b2) = (self.beta1, self.beta2);
        let bc1 = 1.0 - b1.powi(self.t.min(i32::MAX as u64) as i32);
        let bc2 = 1.0 - b2.powi(self.t.min(i32::MAX as u64) as i32);
        let step = self.lr / bc1;
        let inv_bc2_sqrt = 1.0 / bc2.sqrt();
        let finite = Path::Detected.run(AdamUpdate {
            params: &mut net.params,
            grad,
            clip,
            m: &mut self.m,
            v: &mut self.v,
            b1,
            b2,
            step,
            inv_bc2_sqrt,
            eps: self.eps,
        });
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
    use super::kernels::LANES;
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
    /// `bias + Σ_i x·w` (i ascending) forward, `Σ_s x·dz` (s ascending) for the weights,
    /// each term added by one fused multiply-add.
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
                        acc = inp[s * n_in + i].mul_add(net.params[wo + i * n_out + o], acc);
                    }
                    y[s * n_out + o] = if l + 1 < net.layers() {
                        if acc > 0.0 { acc } else { 0.0 }
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
        let blocks = n_out / LANES * LANES;
        let mut dx = vec![0.0f32; b * n_in];
        for s in 0..b {
            let dr = &dz[s * n_out..(s + 1) * n_out];
            for i in 0..n_in {
                if x[s * n_in + i] <= 0.0 {
                    continue;
                }
                let wr = &w[i * n_out..(i + 1) * n_out];
                let mut acc = [0.0f32; LANES];
                for (dc, wc) in dr[..blocks]
                    .chunks_exact(LANES)
                    .zip(wr[..blocks].chunks_exact(LANES))
                {
                    for k in 0..LANES {
                        acc[k] = dc[k].mul_add(wc[k], acc[k]);
                    }
                }
                let mut sum = acc.iter().sum::<f32>();
                for o in blocks..n_out {
                    sum = dr[o].mul_add(wr[o], sum);
                }
                dx[s * n_in + i] = sum;
            }
        }
        dx
    }

    #[test]
    fn blocked_kernels_equal_the_plain_sums_bit_for_bit() {
        // both compilations of the kernels (AVX2 where the CPU has it, and the baseline),
        // full and partial blocks of rows, outputs and inputs, odd batches, one row
        let shapes = [
            (vec![18, 128, 64, 32, 3], 64),
            (vec![35, 128, 64, 32, 11], 64),
            (vec![35, 128, 64, 32, 11], 7),
            (vec![5, 20, 9, 3], 6),
            (vec![7, 40, 17, 24, 9], 5),
            (vec![18, 128, 64, 32, 3], 1),
            // the leverage shapes at batch 1 and 64, and single layers 35 → 11 / 11 → 35
            (vec![35, 128, 64, 32, 11], 1),
            (vec![35, 11], 64),
            (vec![35, 11], 1),
            (vec![11, 35, 11], 3),
            (vec![35, 17, 33, 11], 64),
        ];
        for ((sizes, b), path) in shapes
            .iter()
            .flat_map(|sb| [(sb.clone(), Path::Detected), (sb.clone(), Path::Baseline)])
        {
            let net = Mlp::new(&sizes, 11).unwrap();
            let x: Vec<f32> = (0..b * sizes[0])
                .map(|i| ((i * 13 % 29) as f32 - 14.0) / 7.0)
                .collect();
            let mut ws = Workspace::on_path(path);
            let y = net.forward(&x, b, &mut ws).to_vec();
            let acts = naive_forward(&net, &x, b);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&y),
                bits(&acts[net.layers()]),
                "{sizes:?} {path:?} forward"
            );
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
                            acc = acts[l][s * n_in + i].mul_add(dz[s * n_out + o], acc);
                        }
                        let got = grad[wo + i * n_out + o];
                        assert_eq!(acc.to_bits(), got.to_bits(), "{sizes:?} gW{l}[{i}][{o}]");
                    }
                }
                let (_, bo) = net.offsets[l];
                for o in 0..n_out {
                    let mut acc = 0.0f32;
                    for s in 0..b {
                        acc += dz[s * n_out + o];
                    }
                    assert_eq!(
                        acc.to_bits(),
                        grad[bo + o].to_bits(),
                        "{sizes:?} gb{l}[{o}]"
                    );
                }
            }
        }
    }

    #[test]
    fn every_path_fuses_the_multiply_and_the_add() {
        // x = w = 1 + 2⁻¹²: x·w = 1 + 2⁻¹¹ + 2⁻²⁴ needs 25 bits; rounded first (a tie, to
        // even) it loses the 2⁻²⁴, fused with the bias −1 it keeps it
        let h = 1.0 + 2f32.powi(-12);
        let fused = 2f32.powi(-11) + 2f32.powi(-24);
        assert_ne!(h * h - 1.0, fused);
        for path in [Path::Detected, Path::Baseline] {
            for (n_in, n_out, b) in [(1, 1, 1), (1, 16, 1), (6, 16, 64), (35, 11, 7)] {
                // input 0 is h, the rest 0; W[0][·] = h, bias −1: every output is h·h − 1
                let mut net = Mlp::zeros(&[n_in, n_out]).unwrap();
                let (wo, bo) = net.offsets[0];
                net.params[wo..wo + n_out].fill(h);
                net.params[bo..bo + n_out].fill(-1.0);
                let mut x = vec![0.0f32; b * n_in];
                for r in x.chunks_exact_mut(n_in) {
                    r[0] = h;
                }
                let mut ws = Workspace::on_path(path);
                let y = net.forward(&x, b, &mut ws).to_vec();
                assert!(
                    y.iter().all(|&v| v == fused),
                    "{path:?} {n_in}→{n_out}: {y:?}"
                );
                // the weight gradient's chain: x·dz + 0 with dz = h for one sample
                let mut d = vec![0.0f32; b * n_out];
                d[..n_out].fill(h);
                let mut grad = vec![0.0; net.params().len()];
                net.backward(&d, b, &mut ws, &mut grad);
                let want = h.mul_add(h, 0.0);
                assert!(
                    grad[wo..wo + n_out].iter().all(|&g| g == want),
                    "{path:?} gW"
                );
            }
            // the input gradient's chain: a hidden layer of 16 units (bias 1, so ReLU keeps
            // them) into 19 outputs (a full block of 16 and a partial one), weights h,
            // deltas −1 on output 0 and h on output 18: the lanes sum to −h, then the tail
            // chains on fma(h, h, −h) = 2⁻¹² + 2⁻²⁴ (unfused: 2⁻¹²)
            let mut net = Mlp::zeros(&[2, 16, 19]).unwrap();
            let (wo, _) = net.offsets[1];
            net.params[wo..wo + 16 * 19].fill(h);
            let (_, bo0) = net.offsets[0];
            net.params[bo0..bo0 + 16].fill(1.0);
            let mut ws = Workspace::on_path(path);
            net.forward(&[0.0, 0.0], 1, &mut ws);
            let mut d = vec![0.0f32; 19];
            d[0] = -1.0;
            d[18] = h;
            let mut grad = vec![0.0; net.params().len()];
            net.backward(&d, 1, &mut ws, &mut grad);
            let want = h.mul_add(h, -h);
            assert_ne!(h * h - h, want);
            // layer 0's bias gradient is that dx (one sample)
            assert!(
                grad[bo0..bo0 + 16].iter().all(|&g| g == want),
                "{path:?} dx: {:?} vs {want}",
                &grad[bo0..bo0 + 16]
            );
        }
    }

    /// Adam's step as first written: the clipping norm always from the sequential sum.
    fn plain_adam_step(adam: &mut Adam, net: &mut Mlp, grad: &mut [f32]) {
        adam.t += 1;
        if let Some(max) = adam.max_grad_norm {
            let norm = grad.iter().map(|g| g * g).sum::<f32>().sqrt();
            if norm > max {
                let k = max / (norm + 1e-6);
                for g in grad.iter_mut() {
                    *g *= k;
                }
            }
        }
        let (b1, b2) = (adam.beta1, adam.beta2);
        let bc1 = 1.0 - b1.powi(adam.t as i32);
        let bc2 = 1.0 - b2.powi(adam.t as i32);
        let step = adam.lr / bc1;
        let inv_bc2_sqrt = 1.0 / bc2.sqrt();
        for (((p, g), m), v) in net
            .params
            .iter_mut()
            .zip(grad.iter())
            .zip(adam.m.iter_mut())
            .zip(adam.v.iter_mut())
        {
            *m = b1.mul_add(*m, (1.0 - b1) * g);
            *v = b2.mul_add(*v, (1.0 - b2) * g * g);
            *p -= step * *m / (*v).sqrt().mul_add(inv_bc2_sqrt, adam.eps);
        }
    }

    #[test]
    fn the_norm_shortcut_never_changes_a_clipped_or_unclipped_step() {
        let mut net = Mlp::new(&[18, 128, 64, 32, 3], 4).unwrap();
        let n = net.params().len();
        let mut fast = Adam::new(n, 1e-3);
        fast.max_grad_norm = Some(10.0);
        let mut plain = fast.clone();
        let mut net2 = net.clone();
        let mut clipped = 0;
        // gradients whose norm sweeps across the clip (9.9 … 10.1) and far on both sides
        for step in 0..60u32 {
            let scale = match step % 4 {
                0 => 1e-3,
                1 => 100.0,
                _ => 9.9 + 0.2 * (step as f32 / 60.0),
            };
            let raw: Vec<f32> = (0..n)
                .map(|i| (((i as u32).wrapping_mul(2_654_435_761u32) ^ step) % 1000) as f32 - 499.5)
                .collect();
            let norm = raw
                .iter()
                .map(|g| f64::from(*g).powi(2))
                .sum::<f64>()
                .sqrt();
            let g1: Vec<f32> = raw
                .iter()
                .map(|g| (f64::from(*g) * f64::from(scale) / norm) as f32)
                .collect();
            let mut g2 = g1.clone();
            let exact = g1.iter().map(|g| g * g).sum::<f32>().sqrt();
            clipped += usize::from(exact > 10.0);
            fast.step(&mut net, &g1).unwrap();
            plain_adam_step(&mut plain, &mut net2, &mut g2);
            assert_eq!(net.to_bytes(), net2.to_bytes(), "step {step}");
            assert_eq!(fast.to_bytes(), plain.to_bytes(), "step {step}");
        }
        assert!(clipped > 10 && clipped < 50, "{clipped} clipped steps");
        // the bound on both paths: never "within" when the sequential norm is over the
        // clip, and "within" well below it (norms 10·(1 ± 10⁻³) and 9.9)
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for path in [Path::Detected, Path::Baseline] {
            let mut said_within = 0;
            for case in 0..400u32 {
                let len = [1usize, 31, 32, 33, 1000, 15_307][case as usize % 6];
                let raw: Vec<f64> = (0..len)
                    .map(|_| f64::from(rng.random::<f32>()) - 0.5)
                    .collect();
                let norm = raw.iter().map(|g| g * g).sum::<f64>().sqrt();
                let target = if case % 5 == 0 {
                    9.9
                } else {
                    10.0 * (1.0 + 1e-3 * (f64::from(case % 41) / 20.0 - 1.0))
                };
                let g: Vec<f32> = raw.iter().map(|v| (v * target / norm) as f32).collect();
                let seq = g.iter().map(|g| g * g).sum::<f32>().sqrt();
                let within = path.run(SurelyWithin {
                    grad: &g,
                    max: 10.0,
                });
                assert!(!within || seq <= 10.0, "{path:?} case {case}: {seq}");
                if case % 5 == 0 {
                    assert!(within, "{path:?} case {case}: {seq}");
                }
                said_within += usize::from(within);
            }
            assert!(said_within > 80, "{path:?}: {said_within}");
        }
        assert!(surely_within(&[3.0, 4.0], 5.1));
        assert!(!surely_within(&[3.0, 4.0], 5.0));
        assert!(!surely_within(&[f32::NAN], 5.0));
        assert!(!surely_within(&[f32::INFINITY], 5.0));
    }

    fn wide() -> kernels::Wide {
        kernels::Wide::baseline()
    }

    #[test]
    fn the_sum_of_squares_is_the_sequential_f32_sum_bit_for_bit() {
        let naive = |g: &[f32]| g.iter().map(|g| g * g).sum::<f32>();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut cases: Vec<Vec<f32>> = vec![
            vec![],
            vec![0.0; 100],
            vec![-0.0, 0.0, 1e-30, 1e-23],
            vec![f32::NAN; 70],
            vec![1.0, f32::INFINITY, 2.0],
            // integers: once the sum passes 2^24 the squares of 1 are ties
            (0..300).map(|i| if i < 2 { 4096.0 } else { 1.0 }).collect(),
            (0..3000).map(|i| (i % 7) as f32).collect(),
            // subnormal squares and sums
            (0..500).map(|i| (i as f32) * 1e-24).collect(),
        ];
        for n in [1usize, 7, 8, 63, 64, 65, 200, 15_307] {
            for spread in [1i32, 8, 40] {
                cases.push(
                    (0..n)
                        .map(|_| {
                            let m = rng.random::<f32>() * 2.0 - 1.0;
                            m * 2f32.powi(rng.random_range(-spread..=spread / 4))
                        })
                        .collect(),
                );
            }
            // a few numbers with short mantissas (ties are likely)
            cases.push(
                (0..n)
                    .map(|_| rng.random_range(-64i32..64) as f32 / 8.0)
                    .collect(),
            );
        }
        // long runs: a large first square, then thousands that fit on its grid (the runs
        // grow to 1 024), with a tie, a jump out of the binade, an ∞ or a NaN deep inside
        // 64² = 4096 (grid u = 2⁻¹¹), (3·2⁻⁷)² = 1.125u rounds to u: an odd multiple of u,
        // so a tie (2⁻⁶)² = u/2 rounds up (to even), where the integer steps would not
        let long = |at: usize, v: f32| {
            let mut g: Vec<f32> = (0..5000)
                .map(|i| match i {
                    0 => 64.0,
                    1 => 3.0 * 2f32.powi(-7),
                    _ => 1e-3 * (1.0 + (i % 97) as f32 / 97.0),
                })
                .collect();
            g[at] = v;
            g
        };
        cases.push(long(2, 1e-3));
        cases.push(long(3000, 2f32.powi(-6)));
        cases.push(long(2500, 100.0));
        cases.push(long(4000, f32::INFINITY));
        cases.push(long(1500, f32::NAN));
        cases.push(long(4999, 2f32.powi(-6)));
        for (i, g) in cases.iter().enumerate() {
            let want = naive(g);
            for path in [Path::Detected, Path::Baseline] {
                let got = path.run(SumOfSquares { grad: g });
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "case {i} ({path:?}): {got} vs {want}"
                );
            }
        }
        // the fast way is taken (not only the definition): a chunk that stays in its binade
        assert!(add_in_binade(wide(), 1.0, &[1e-4; 64]).is_some());
        assert_eq!(add_in_binade(wide(), 1.0, &[0.5, 0.5]), Some(1.5));
        // 1 + 1 leaves the binade; 2^24 + 1 is a tie
        assert_eq!(add_in_binade(wide(), 1.0, &[1.0]), None);
        assert_eq!(add_in_binade(wide(), 16_777_216.0, &[1.0]), None);
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
                adam.step(&mut net, &grad).unwrap();
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
        let g = vec![0.5; net.params().len()];
        adam.step(&mut net2, &g).unwrap();
        let mut other = Adam::new(net.params().len(), 0.1);
        other.restore(&adam.to_bytes()).unwrap();
        assert_eq!(other, adam);
    }

    #[test]
    fn a_non_finite_update_names_its_step() {
        let mut net = Mlp::new(&[2, 2], 1).unwrap();
        let mut adam = Adam::new(net.params().len(), 0.1);
        let g = vec![f32::NAN; net.params().len()];
        assert_eq!(
            adam.step(&mut net, &g),
            Err(NnError::NotFinite {
                what: "weight",
                step: 1
            })
        );
    }
}
