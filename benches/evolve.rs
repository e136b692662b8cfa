//! GA throughput: `algolab evolve`'s whole pipeline (feature table, 50 generations × 50
//! genomes on the training window with the lean evaluator, validation scoring of the
//! elites, the test-window backtests of the best genome, buy & hold and `technical`) over
//! 100 000 generated one-minute bars, default 60/20/20 split, seed 42.
//!
//! Workload: the shared LCG random walk of benches/backtest.rs (`x ← x·6364136223846793005 +
//! 1442695040888963407`, `u = (x >> 11)·2⁻⁵³`, `close = open·(1 + 0.02·(u − 0.5)) +
//! 0.0001·(100 − open)`, high/low ±0.1 %, volume 1, seed 42). The goal is under 5 s on 2 cores.
//!
//! Run: `RAYON_NUM_THREADS=2 cargo bench --bench evolve -- --warm-up-time 1 --measurement-time 3`,
//! or `ALGOLAB_BENCH_BEST=3 cargo bench --bench evolve` for the best of 3 runs (wall time
//! and the process's CPU time, which a loaded machine disturbs less)

use algolab::ai::evolver::GaConfig;
use algolab::app::evolve::{EvolveSettings, run_evolve};
use algolab::data::Bars;
use algolab::engine::BacktestConfig;
use criterion::{Criterion, Throughput, criterion_group};

// the `algolab` binary's allocator (src/main.rs), so the figures are the shipped program's
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The shared LCG random walk ([`algolab::data::lcg_walk`]).
fn lcg_walk(n: usize, seed: u64) -> Bars {
    match algolab::data::lcg_walk(n, seed) {
        Ok(b) => b,
        Err(e) => panic!("generated bars are invalid: {e}"),
    }
}

fn settings() -> EvolveSettings {
    EvolveSettings {
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
    }
}

fn bench_evolve(c: &mut Criterion) {
    let n = 100_000;
    let bars = lcg_walk(n, 42);
    let settings = settings();
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

/// `ALGOLAB_BENCH_BEST=N`: the best of `N` runs, wall and process CPU time.
fn best_of(reps: usize) {
    let bars = lcg_walk(100_000, 42);
    let settings = settings();
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    let mut evals = 0;
    for _ in 0..reps.max(1) {
        let (t0, c0) = (std::time::Instant::now(), cpu_time::ProcessTime::now());
        match run_evolve(&bars, &settings, &mut |_| {}) {
            Ok(o) => evals = o.evaluations,
            Err(e) => panic!("{e}"),
        }
        wall = wall.min(t0.elapsed().as_secs_f64());
        cpu = cpu.min(c0.elapsed().as_secs_f64());
    }
    println!(
        "ga_50x50_100k  {wall:8.2} s wall  {cpu:8.2} s CPU (all threads)  ({evals} evaluations)"
    );
}

fn main() {
    match std::env::var("ALGOLAB_BENCH_BEST")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(reps) => best_of(reps),
        None => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
