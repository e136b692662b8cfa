//! What the benches share: this machine's own limit for one pass over columns of `f64`,
//! measured in the same process as the figure it bounds (the speed goals were set from a
//! bandwidth measured on another machine kind; ANCHORS.md's 29 GB/s for a numpy sum over
//! 1 GB, where this build VM reads ≈ 8 GB/s, so only a limit measured in the same run says
//! how far from the hardware a figure is).

use std::hint::black_box;

/// Best of `reps` passes (thread CPU time, seconds) that read every value of `cols` once:
/// eight independent running sums per pass (no reassociation, so the compiler keeps them in
/// vector registers and the loop is bound by reading memory, not by an addition's latency).
pub fn read_pass(cols: &[&[f64]], reps: usize) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t0 = cpu_time::ThreadTime::now();
        let mut acc = [0.0f64; 8];
        for c in cols {
            let chunks = c.chunks_exact(8);
            let rest = chunks.remainder();
            for ch in chunks {
                for (a, &x) in acc.iter_mut().zip(ch) {
                    *a += x;
                }
            }
            for (a, &x) in acc.iter_mut().zip(rest) {
                *a += x;
            }
        }
        black_box(acc);
        best = best.min(t0.elapsed().as_secs_f64());
    }
    best
}
