//! Backtest throughput: `sma-cross` (SMA 10/20, long/short, all cash, no commission, as
//! in scripts/bench_backtesting.py)
//! over 1 M and 10 M generated one-minute bars, single-threaded.
//!
//! Workload: the shared LCG random walk below (also implemented, operation for operation,
//! in scripts/bench_backtesting.py so backtesting.py and vectorbt run on the same series):
//! `x ← x·6364136223846793005 + 1442695040888963407 (mod 2⁶⁴)`, `u = (x >> 11)·2⁻⁵³`,
//! `open = previous close` (100 at first), `close = open·(1 + 0.02·(u − 0.5)) +
//! 0.0001·(100 − open)`, `high = max(open, close)·1.001`, `low = min(open, close)·0.999`,
//! timestamps one minute apart from 2020-01-01, volume 1, seed 42.
//!
//! Also `technical` with the standard risk rules on the same series (`technical_1m`,
//! `technical_10m`), and the fast path `engine::fast::single` on one combination
//! (`fast_sma_cross_1m`: both SMA columns computed in one pass, then `single::run_detail`,
//! which keeps the per-bar equity, exposure and trades with excursions, bit-identical to
//! `run_backtest`), beside the sweep's per-bar loop it replaces
//! (`fast_sma_cross_sweep_loop_1m`: two column passes and `sweep::run_detail`).
//!
//! Run: `cargo bench --bench backtest -- --warm-up-time 1 --measurement-time 3`, or
//! `ALGOLAB_BENCH_BEST=10 cargo bench --bench backtest` for a best-of-10 table (with the
//! process's peak resident memory during the sma-cross runs, bars included)

use std::hint::black_box;

use algolab::data::Bars;
use algolab::engine::{BacktestConfig, run_backtest};
use algolab::strategy::sma_cross::SmaCross;
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

fn bench_sma_cross(c: &mut Criterion) {
    let cfg = BacktestConfig::default();
    let mut group = c.benchmark_group("backtest");
    group.sample_size(10);
    for (label, n) in [
        ("sma_cross_1m", 1_000_000usize),
        ("sma_cross_10m", 10_000_000),
    ] {
        let bars = lcg_walk(n, 42);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(label, |b| {
            b.iter(|| {
                let mut s = match SmaCross::new(10, 20, false) {
                    Ok(s) => s,
                    Err(e) => panic!("{e}"),
                };
                match run_backtest(&bars, &mut s, &cfg) {
                    Ok(r) => r.trades.len(),
                    Err(e) => panic!("{e}"),
                }
            });
        });
    }
    group.finish();
}

/// `technical` (the seed's rule: EMA cross or RSI divergence with five confirmations, ATR
/// stops, the regime detector) under the standard risk rules (confidence sizing, trailing
/// and break-even stops, partial take-profit), 0.1 % commission.
fn technical_setup() -> (BacktestConfig, algolab::strategy::Params) {
    let cfg = BacktestConfig {
        commission: 0.001,
        fractional: true,
        risk: algolab::risk::RiskConfig::standard(),
        ..BacktestConfig::default()
    };
    match algolab::strategy::Params::resolve(algolab::strategy::technical::TECHNICAL_PARAMS, &[]) {
        Ok(p) => (cfg, p),
        Err(e) => panic!("{e}"),
    }
}

fn bench_technical(c: &mut Criterion) {
    let (cfg, params) = technical_setup();
    let mut group = c.benchmark_group("backtest");
    group.sample_size(10);
    for (label, n) in [
        ("technical_1m", 1_000_000usize),
        ("technical_10m", 10_000_000),
    ] {
        let bars = lcg_walk(n, 42);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(label, |b| {
            b.iter(|| {
                let mut s = match algolab::strategy::technical::Technical::new(&params) {
                    Ok(s) => s,
                    Err(e) => panic!("{e}"),
                };
                match run_backtest(&bars, &mut s, &cfg) {
                    Ok(r) => r.trades.len(),
                    Err(e) => panic!("{e}"),
                }
            });
        });
    }
    group.finish();
}

/// `ALGOLAB_BENCH_BEST=N`: print the best of `N` runs per size instead of running criterion
/// (a shared, loaded machine disturbs the best run least), timed by the thread's CPU time
/// (the runs are single-threaded); `ALGOLAB_BENCH_SIZES` picks sizes and
/// `ALGOLAB_BENCH_ONLY` rows (comma-separated names: `sma_cross`, `technical`,
/// `fast_sma_cross`, `fast_sma_cross_sweep_loop`, `one_pass`; all when unset). `one_pass`
/// is the limit of the hardware in the same process: one read of the bars' five columns
/// (`common::read_pass`), and the fast path's share of it.
fn best_of_table(reps: usize) {
    let cfg = BacktestConfig::default();
    let only: Option<Vec<String>> = std::env::var("ALGOLAB_BENCH_ONLY")
        .ok()
        .map(|s| s.split(',').map(|t| t.trim().to_string()).collect());
    let wanted = |row: &str| only.as_ref().is_none_or(|o| o.iter().any(|r| r == row));
    let sizes: Vec<usize> = std::env::var("ALGOLAB_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|t| t.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000, 10_000_000]);
    for n in sizes {
        let bars = lcg_walk(n, 42);
        let mut best = f64::INFINITY;
        let mut trades = 0;
        reset_peak_rss();
        for _ in 0..if wanted("sma_cross") { reps.max(1) } else { 0 } {
            let t0 = cpu_time::ThreadTime::now();
            let mut s = match SmaCross::new(10, 20, false) {
                Ok(s) => s,
                Err(e) => panic!("{e}"),
            };
            match run_backtest(&bars, &mut s, &cfg) {
                Ok(r) => trades = black_box(r).trades.len(),
                Err(e) => panic!("{e}"),
            }
            best = best.min(t0.elapsed().as_secs_f64());
        }
        if wanted("sma_cross") {
            println!(
                "sma_cross/{n:<10} {:8.1} M bars/s  ({trades} trades; peak RSS {:.0} MiB with the \
             bars' {:.0} MiB)",
                n as f64 / best / 1e6,
                peak_rss_mib(),
                (n * 48) as f64 / 1_048_576.0
            );
        }
        let (cfg_t, params) = technical_setup();
        let mut best = f64::INFINITY;
        for _ in 0..if wanted("technical") { reps.max(1) } else { 0 } {
            let t0 = cpu_time::ThreadTime::now();
            let mut s = match algolab::strategy::technical::Technical::new(&params) {
                Ok(s) => s,
                Err(e) => panic!("{e}"),
            };
            match run_backtest(&bars, &mut s, &cfg_t) {
                Ok(r) => trades = black_box(r).trades.len(),
                Err(e) => panic!("{e}"),
            }
            best = best.min(t0.elapsed().as_secs_f64());
        }
        if wanted("technical") {
            println!(
                "technical/{n:<10} {:8.1} M bars/s  ({trades} trades)",
                n as f64 / best / 1e6
            );
        }
        let lc = lean_config(&bars);
        // the fast path and, beside it in the same process, the sweep's per-bar loop
        let mut fast = None;
        for (label, run) in [
            ("fast_sma_cross", fast_sma_cross as fn(&Bars, _) -> usize),
            ("fast_sma_cross_sweep_loop", fast_sma_cross_sweep_loop),
        ] {
            if !wanted(label) {
                continue;
            }
            let mut best = f64::INFINITY;
            for _ in 0..reps.max(1) {
                let t0 = cpu_time::ThreadTime::now();
                trades = run(&bars, lc);
                best = best.min(t0.elapsed().as_secs_f64());
            }
            println!(
                "{label}/{n:<10} {:8.1} M bars/s  ({trades} trades)",
                n as f64 / best / 1e6
            );
            fast = fast.or(Some(n as f64 / best));
        }
        if wanted("one_pass") {
            // the hardware's limit in the same process: the bars' five f64 columns read once
            let cols = [
                bars.open(),
                bars.high(),
                bars.low(),
                bars.close(),
                bars.volume(),
            ];
            let secs = common::read_pass(&cols, reps);
            let rate = n as f64 / secs;
            print!(
                "one_pass/{n:<10} {:8.1} M bars/s  (open, high, low, close and volume read once: \
                 {:.1} GB/s",
                rate / 1e6,
                (n * 40) as f64 / secs / 1e9
            );
            match fast {
                Some(f) => println!("; fast_sma_cross is {:.0} % of it)", f / rate * 100.0),
                None => println!(")"),
            }
        }
    }
}

/// Reset this process's peak resident set size to the current one (Linux
/// `/proc/self/clear_refs`; ignored elsewhere).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size of this process since the last reset, MiB (`VmHWM`; NaN where
/// `/proc` is missing).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One `sma-cross` 10/20 run on the fast path (`engine::fast::single::sma_cross_detail`:
/// both SMA columns in one pass, then the run), columns included; returns the trade count.
fn fast_sma_cross(bars: &Bars, lc: algolab::engine::fast::sweep::LeanConfig) -> usize {
    let (d, _fees) =
        algolab::engine::fast::single::sma_cross_detail(bars, 10, 20, false, lc, 0..bars.len());
    black_box(d).trades.len()
}

/// [`fast_sma_cross`] the previous way: two `rolling_mean_column` passes, then the sweep's
/// per-bar loop (`engine::fast::sweep::run_detail`).
fn fast_sma_cross_sweep_loop(bars: &Bars, lc: algolab::engine::fast::sweep::LeanConfig) -> usize {
    use algolab::engine::fast::sweep::{SmaPair, rolling_mean_column, run_detail};
    let fast = rolling_mean_column(bars.close(), 10);
    let slow = rolling_mean_column(bars.close(), 20);
    let pair = SmaPair {
        fast: &fast,
        slow: &slow,
        slow_n: 20,
        long_only: false,
        gate: None,
    };
    let (d, _fees) = run_detail(bars, pair, lc, 0..bars.len());
    black_box(d).trades.len()
}

fn lean_config(bars: &Bars) -> algolab::engine::fast::sweep::LeanConfig {
    match algolab::engine::fast::sweep::LeanConfig::from_backtest(&BacktestConfig::default(), bars)
    {
        Some(lc) => lc,
        None => panic!("the default settings are outside the fast path"),
    }
}

fn bench_fast(c: &mut Criterion) {
    let mut group = c.benchmark_group("backtest");
    group.sample_size(10);
    let n = 1_000_000usize;
    let bars = lcg_walk(n, 42);
    let lc = lean_config(&bars);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("fast_sma_cross_1m", |b| {
        b.iter(|| fast_sma_cross(&bars, lc));
    });
    group.bench_function("fast_sma_cross_sweep_loop_1m", |b| {
        b.iter(|| fast_sma_cross_sweep_loop(&bars, lc));
    });
    group.finish();
}

criterion_group!(benches, bench_sma_cross, bench_technical, bench_fast);

fn main() {
    match std::env::var("ALGOLAB_BENCH_BEST")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(reps) => best_of_table(reps),
        None => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
