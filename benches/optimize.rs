//! Optimisation throughput: the `sma-cross` grid fast 2..=101 × slow 2..=101 with fast < slow
//! (4 950 backtests, maximising the Sharpe ratio, long/short, all cash, no commission) over
//! 1 M generated one-minute bars, end to end through `app::optimize::optimize` (shared SMA
//! columns, the lean loop, streamed stats, then DSR, PBO and the winner's full run).
//!
//! Workload: the shared LCG random walk of benches/backtest.rs (also in
//! scripts/bench_backtesting.py and scripts/bench_vectorbt_grid.py, which runs vectorbt's
//! equivalent sweep on the same series), seed 42. Goal: ≤ 10 s on 2 cores.
//!
//! Run: `cargo bench --bench optimize -- --warm-up-time 1 --measurement-time 3`, or
//! `ALGOLAB_BENCH_BEST=3 cargo bench --bench optimize` for the best of 3 runs
//! (`ALGOLAB_BENCH_SIZES=100000` picks the bar counts), and
//! `ALGOLAB_BENCH_BEST=3 ALGOLAB_BENCH_KERNEL=100000` for the sweep kernel alone on one
//! thread: the per-bar `step` loop and `SmaSim::run` against the lane kernel (ns per
//! bar-backtest).

use algolab::app::optimize::{OptimizeSpec, optimize};
use algolab::data::Bars;
use algolab::optimize::parse_grid;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group};

mod common;

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

/// `ALGOLAB_BENCH_BEST=N`: print the best of `N` runs of the grid per size instead of running
/// criterion; `ALGOLAB_BENCH_SIZES` picks the bar counts (default 1 000 000).
fn best_of(reps: usize) {
    let sizes: Vec<usize> = std::env::var("ALGOLAB_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|t| t.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000]);
    let dims = match (parse_grid("fast=2..101"), parse_grid("slow=2..101")) {
        (Ok(a), Ok(b)) => vec![a, b],
        _ => panic!("bad grid"),
    };
    let spec = OptimizeSpec::new("sma-cross", dims, "sharpe");
    for n in sizes {
        let bars = lcg_walk(n, 42);
        let (mut best, mut cpu) = (f64::INFINITY, f64::INFINITY);
        let mut winner = None;
        for _ in 0..reps.max(1) {
            let t0 = Instant::now();
            let c0 = cpu_time::ProcessTime::now();
            match optimize(&bars, &spec, &|_, _| {}) {
                Ok(o) => {
                    assert_eq!(o.trials.len(), 4_950);
                    winner = o.best.map(|b| (b.trial.index, b.trial.value));
                }
                Err(e) => panic!("{e}"),
            }
            best = best.min(t0.elapsed().as_secs_f64());
            cpu = cpu.min(c0.elapsed().as_secs_f64());
        }
        let per_s = 4_950.0 * n as f64 / best / 1e6;
        println!(
            "sma_cross_grid_4950/{n:<10} {best:8.2} s wall ({per_s:.0} M bar-backtests/s), \
             {cpu:8.2} s CPU all threads  (winner {winner:?})"
        );
    }
}

/// The sweep kernel alone on one thread over `n` bars, all 4 950 combinations in groups of
/// 256, daily buckets, timed by the thread's CPU time in the same process: `SmaSim::step` on
/// every bar and `SmaSim::run` (quiet stretches) per combination over chunks of 512 bars (the
/// loop `engine::fast::sweep::sweep` runs per group), and the lane kernel `run_lanes`;
/// prints ns per bar-backtest, bar-backtests per second and the memory bandwidth that
/// implies.
fn kernel_compare(n: usize, reps: usize) {
    use algolab::engine::fast::sweep::{
        BLOCK, Cols, Extremes, GROUP, LeanConfig, SmaPair, SmaSim, SummarySink,
        rolling_mean_column, run_chunks, run_lanes,
    };
    let bars = lcg_walk(n, 42);
    let cols: Vec<Vec<f64>> = (0..=101)
        .map(|p| rolling_mean_column(bars.close(), p.max(1)))
        .collect();
    let mut pairs = Vec::new();
    for f in 2..=101usize {
        for s in f + 1..=101 {
            pairs.push(SmaPair {
                fast: &cols[f],
                slow: &cols[s],
                slow_n: s,
                long_only: false,
                gate: None,
            });
        }
    }
    let lc = match LeanConfig::from_backtest(&algolab::engine::BacktestConfig::default(), &bars) {
        Some(lc) => lc,
        None => panic!("outside the fast path"),
    };
    let buckets: Vec<usize> = (0..n)
        .filter(|i| (i + 1) % 1_440 == 0 || i + 1 == n)
        .collect();
    let c = Cols::of(&bars);
    let time = |quiet: bool| {
        let mut best = f64::INFINITY;
        let mut check = 0.0;
        for _ in 0..reps.max(1) {
            let t0 = cpu_time::ThreadTime::now();
            check = 0.0;
            for group in pairs.chunks(256) {
                let mut sims: Vec<_> = group
                    .iter()
                    .map(|p| SmaSim::new(*p, lc, n, SummarySink::new(&buckets)))
                    .collect();
                let mut t0 = 0;
                while t0 < n {
                    let t1 = (t0 + 512).min(n);
                    for sim in &mut sims {
                        if quiet {
                            sim.run(&c, t0..t1);
                        } else {
                            for t in t0..t1 {
                                sim.step(&c, t);
                            }
                        }
                    }
                    t0 = t1;
                }
                for s in &mut sims {
                    s.sink.finish();
                    check += s.sink.last;
                }
            }
            best = best.min(t0.elapsed().as_secs_f64());
        }
        (best, check)
    };
    // the lane kernel (`engine::fast::sweep::run_lanes`), same groups, same thread
    let lanes = || {
        let mut best = f64::INFINITY;
        let mut check = 0.0;
        for _ in 0..reps.max(1) {
            let t0 = cpu_time::ThreadTime::now();
            check = 0.0;
            for group in pairs.chunks(GROUP) {
                for (s, _) in run_lanes(&bars, group, lc, 0..n, &buckets, BLOCK) {
                    check += s.last;
                }
            }
            best = best.min(t0.elapsed().as_secs_f64());
        }
        (best, check)
    };
    // `run_chunks` with the block extremes (what `sweep` runs), same groups, same thread;
    // building the extremes is part of the time
    let extremes = || {
        let mut best = f64::INFINITY;
        let mut check = 0.0;
        for _ in 0..reps.max(1) {
            let t0 = cpu_time::ThreadTime::now();
            check = 0.0;
            let ext = Extremes::of(bars.close()).map(|x| x.with_opens(bars.open()));
            for group in pairs.chunks(GROUP) {
                for (s, _) in run_chunks(&bars, group, lc, 0..n, &buckets, ext.as_ref()) {
                    check += s.last;
                }
            }
            best = best.min(t0.elapsed().as_secs_f64());
        }
        (best, check)
    };
    // `ALGOLAB_BENCH_EXT_ONLY=1`: the extremes kernel alone (for a profiler)
    if std::env::var_os("ALGOLAB_BENCH_EXT_ONLY").is_some() {
        let (ext, _) = extremes();
        let runs = pairs.len() as f64 * n as f64;
        println!(
            "sweep_kernel_1thread/{n:<8} extremes {:6.2} ns/bar-backtest",
            ext / runs * 1e9
        );
        return;
    }
    let (before, a) = time(false);
    let (after, b) = time(true);
    let (kernel, k) = lanes();
    let (ext, e) = extremes();
    assert_eq!(a.to_bits(), b.to_bits(), "the two loops disagree");
    assert_eq!(a.to_bits(), k.to_bits(), "the lane kernel disagrees");
    assert_eq!(a.to_bits(), e.to_bits(), "the extremes kernel disagrees");
    let runs = pairs.len() as f64 * n as f64;
    let per = |s: f64| s / runs * 1e9;
    // bytes read from memory: each group reads its distinct SMA columns and the close once
    // per block; `24 B` per bar-backtest is what one combination's own loop reads
    let distinct: usize = pairs
        .chunks(GROUP)
        .map(|g| {
            let mut cols: Vec<*const f64> = g
                .iter()
                .flat_map(|p| [p.fast.as_ptr(), p.slow.as_ptr()])
                .collect();
            cols.sort_unstable();
            cols.dedup();
            cols.len() + 1
        })
        .sum();
    let gbs = distinct as f64 * 8.0 * n as f64 / kernel / 1e9;
    // this machine's limit, measured here: every SMA column and the close read once
    let all: Vec<&[f64]> = cols
        .iter()
        .map(Vec::as_slice)
        .chain([bars.close()])
        .collect();
    let limit = (all.len() * n * 8) as f64 / common::read_pass(&all, 3) / 1e9;
    println!(
        "sweep_kernel_1thread/{n:<8} step per bar {:6.2} ns/bar-backtest, run {:6.2} ns ({:.2}x), \
         lanes {:6.2} ns ({:.2}x step, {:.2}x run): {:.0} M bar-backtests/s; columns read {:.2} GB/s \
         ({:.1} % of {limit:.1} GB/s, one read of the columns here), {:.1} GB/s as 24 B per \
         bar-backtest ({:.0} %)",
        per(before),
        per(after),
        before / after,
        per(kernel),
        before / kernel,
        after / kernel,
        runs / kernel / 1e6,
        gbs,
        gbs / limit * 100.0,
        runs * 24.0 / kernel / 1e9,
        runs * 24.0 / kernel / 1e9 / limit * 100.0
    );
    println!(
        "sweep_kernel_1thread/{n:<8} extremes (run_chunks, what sweep runs) {:6.2} ns/bar-backtest \
         ({:.2}x step, {:.2}x run, {:.2}x lanes): {:.0} M bar-backtests/s",
        per(ext),
        before / ext,
        after / ext,
        kernel / ext,
        runs / ext / 1e6
    );
}

criterion_group!(benches, bench_grid);

fn main() {
    match std::env::var("ALGOLAB_BENCH_BEST")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(reps) => {
            if let Some(n) = std::env::var("ALGOLAB_BENCH_KERNEL")
                .ok()
                .and_then(|s| s.parse().ok())
            {
                kernel_compare(n, reps);
            } else {
                best_of(reps);
            }
        }
        None => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
