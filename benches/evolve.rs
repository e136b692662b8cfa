//! GA throughput: `algolab evolve`'s whole pipeline (feature table, 50 generations × 50
//! genomes on the training window with the lean evaluator, validation scoring of the
//! elites, the test-window backtests of the best genome, buy & hold and `technical`) over
//! 100 000 generated one-minute bars, default 60/20/20 split, seed 42.
//!
//! Workload: the shared LCG random walk of benches/backtest.rs (`x ← x·6364136223846793005 +
//! 1442695040888963407`, `u = (x >> 11)·2⁻⁵³`, `close = open·(1 + 0.02·(u − 0.5)) +
//! 0.0001·(100 − open)`, high/low ±0.1 %, volume 1, seed 42). The goal is under 5 s on 2 cores.
//!
//! Run: `RAYON_NUM_THREADS=2 cargo bench --bench evolve -- --warm-up-time 1 --measurement-time 3`

use algolab::ai::evolver::GaConfig;
use algolab::app::evolve::{EvolveSettings, run_evolve};
use algolab::data::Bars;
use algolab::engine::BacktestConfig;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The shared LCG random walk ([`algolab::data::lcg_walk`]).
fn lcg_walk(n: usize, seed: u64) -> Bars {
    match algolab::data::lcg_walk(n, seed) {
        Ok(b) => b,
        Err(e) => panic!("generated bars are invalid: {e}"),
    }
}

fn bench_evolve(c: &mut Criterion) {
    let n = 100_000;
    let bars = lcg_walk(n, 42);
    let settings = EvolveSettings {
        ga: GaConfig {
            population: 50,
            generations: 50,
            seed: 42,
            ..GaConfig::default()
        },
        train_frac: 0.6,
        validation_frac: 0.2,
        engine: BacktestConfig {
            fractional: true,
            ..BacktestConfig::default()
        },
    };
    let mut group = c.benchmark_group("evolve");
    group.sample_size(10);
    // bars × genomes × generations evaluated on the training window
    group.throughput(Throughput::Elements((n as f64 * 0.6) as u64 * 50 * 50));
    group.bench_function("ga_50x50_100k", |b| {
        b.iter(|| match run_evolve(&bars, &settings, &mut |_| {}) {
            Ok(o) => o.evaluations,
            Err(e) => panic!("{e}"),
        });
    });
    group.finish();
}

criterion_group!(benches, bench_evolve);
criterion_main!(benches);
