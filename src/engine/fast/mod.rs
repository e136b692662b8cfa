//! The engine's fast paths: the same bar loop as [`super::Engine`], specialised to one
//! strategy and the settings searches use, for sweeps and genetic search. Both book their
//! fills through the one kernel, `broker::book`, and stay equal to `run_backtest` bit for
//! bit (their tests compare equity and trades bar by bar).
//! - [`sweep`]: `sma-cross` parameter sweeps (`optimize`), shared SMA columns, no
//!   per-bar allocation.
//! - [`single`]: one `sma-cross` run with full detail, SMA columns in one pass and the
//!   stretches between events booked in tight loops.
//! - [`genome`]: an evolved genome over a feature table (`evolve`).

pub mod genome;
pub mod single;
pub mod sweep;

/// The instruction set a fast-path kernel runs with: the sweep's scans and the single run's
/// sums and folds choose theirs here.
#[derive(Debug, Clone, Copy)]
enum Wide {
    /// Portable code.
    Baseline,
    /// AVX2 vectors (x86-64 v3); only constructed when the CPU has them.
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
}

impl Wide {
    /// AVX2 when the CPU has it and `allowed`, else the portable code.
    fn detect(allowed: bool) -> Wide {
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = pulp::x86::V3::try_new().filter(|_| allowed) {
            return Wide::Avx2(v3);
        }
        let _ = allowed;
        Wide::Baseline
    }

    /// Run `op` in this instruction set's context (AVX2's `#[target_feature]` for
    /// [`Wide::Avx2`], so the kernels inline into `op`'s loop as vector code).
    #[inline(always)]
    fn run<R>(self, op: impl pulp::NullaryFnOnce<Output = R>) -> R {
        match self {
            Wide::Baseline => op.call(),
            #[cfg(target_arch = "x86_64")]
            Wide::Avx2(v3) => v3.vectorize(op),
        }
    }
}
