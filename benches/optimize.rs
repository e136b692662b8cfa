//! Optimisation throughput: the `sma-cross` grid fast 2..=101 × slow 2..=101 with fast < slow
//! (4 950 backtests, maximising the Sharpe ratio, long/short, all cash, no commission) over
//! 1 M generated one-minute bars, end to end through `app::optimize::optimize` (shared SMA
//! columns, the lean loop, streamed stats, then DSR, PBO and the winner's full run).
//!
//! Workload: the shared LCG random walk of benches/backtest.rs (also in
//! scripts/bench_backtesting.py and scripts/bench_vectorbt_grid.py, which runs vectorbt's
//! equivalent sweep on the same series), seed 42. Goal: ≤ 10 s on 2 cores.
//!
//! Run: `cargo bench --bench optimize -- --warm-up-time 1 --measurement-time 3`

use algolab::app::optimize::{OptimizeSpec, optimize};
use algolab::data::Bars;
use algolab::optimize::parse_grid;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The shared LCG random walk ([`algolab::data::lcg_walk`]).
fn lcg_walk(n: usize, seed: u64) -> Bars {
    match algolab::data::lcg_walk(n, seed) {
        Ok(b) => b,
        Err(e) => panic!("generated bars are invalid: {e}"),
    }
}

fn bench_grid(c: &mut Criterion) {
    let n = 1_000_000usize;
    let bars = lcg_walk(n, 42);
    let dims = match (parse_grid("fast=2..101"), parse_grid("slow=2..101")) {
        (Ok(a), Ok(b)) => vec![a, b],
        _ => panic!("bad grid"),
    };
    let spec = OptimizeSpec::new("sma-cross", dims, "sharpe");
    let mut group = c.benchmark_group("optimize");
    group.sample_size(10);
    // backtests × bars per iteration
    group.throughput(Throughput::Elements(4_950 * n as u64));
    group.bench_function("sma_cross_grid_4950_1m", |b| {
        b.iter(|| match optimize(&bars, &spec, &|_, _| {}) {
            Ok(o) => {
                assert_eq!(o.trials.len(), 4_950);
                o.best.map(|b| b.trial.index)
            }
            Err(e) => panic!("{e}"),
        });
    });
    group.finish();
}

criterion_group!(benches, bench_grid);
criterion_main!(benches);
