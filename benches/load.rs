//! Loading 10 M bars: CSV (`read_csv`) and Parquet (`read_parquet`), in bars per second.
//!
//! The files are generated once (seeded random walk, 1-minute bars) into a temp dir before
//! the timed part. Run:
//! `cargo bench --bench load -- --warm-up-time 1 --measurement-time 3`
//! (`ALGOLAB_BENCH_BARS=1000000` for a smaller file). It first prints the peak resident
//! memory of one load of each file (`VmHWM` after a reset); the release binary's:
//! `scripts/peak_mem.sh`.

#![allow(
    clippy::expect_used,
    reason = "a benchmark whose setup fails should stop"
)]

use std::hint::black_box;
use std::time::Duration;

use algolab::data::{SynthSpec, read_csv, read_parquet, synth, write_csv, write_parquet};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

// the `algolab` binary's allocator (src/main.rs), so the figures are the shipped program's
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn load(c: &mut Criterion) {
    let n: usize = std::env::var("ALGOLAB_BENCH_BARS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("bars.csv");
    let pq = dir.path().join("bars.parquet");
    {
        let bars = synth(&SynthSpec {
            bars: n,
            seed: 1,
            ..SynthSpec::default()
        })
        .expect("synth");
        write_csv(&bars, &csv).expect("write csv");
        write_parquet(&bars, &pq).expect("write parquet");
    }
    // peak resident memory of one load of each file (the generated bars are dropped)
    for (label, path) in [("csv", &csv), ("parquet", &pq)] {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = status_kib("VmRSS:");
        let bars = algolab::data::load(path).expect("load");
        println!(
            "load/{label}_{n}: peak RSS {:.0} MiB (was {:.0} MiB before; the columns are {:.0} MiB)",
            status_kib("VmHWM:") / 1024.0,
            before / 1024.0,
            (bars.len() * 48) as f64 / 1_048_576.0
        );
    }
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("csv_{n}"), |b| {
        b.iter(|| black_box(read_csv(&csv).expect("csv")).len())
    });
    g.bench_function(format!("parquet_{n}"), |b| {
        b.iter(|| black_box(read_parquet(&pq).expect("parquet")).len())
    });
    g.finish();
}

/// A `/proc/self/status` field in KiB (NaN off Linux).
fn status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .unwrap_or(f64::NAN)
}

criterion_group!(benches, load);
criterion_main!(benches);
