//! Indicator throughput: every indicator, batch (`indicators::batch`) and streaming
//! (`update` in a loop), on 1 M and 10 M bars of a seeded random walk.
//!
//! Workloads: `<indicator>/{batch,raw,stream}/{1000000,10000000}` (`raw`: the batch kernels
//! in TA-Lib's output shape: `batch_raw` over the closes or `batch_values` for `f64`
//! indicators, `columns` for MACD, BBANDS, STOCH and DMI), `Throughput::Elements(bars)`.
//! The bars come from [`lcg_walk`], a 64-bit LCG that `scripts/bench_talib.py` reimplements
//! bit for bit, so TA-Lib is timed on the same data. The 10 M set is built once; set
//! `ALGOLAB_BENCH_SIZES=1000000` to run the 1 M set only.
//!
//! `scripts/bench_indicators.sh` prints the `raw` figures beside TA-Lib's, with the ratio.
//!
//! Run: `cargo bench --bench indicators -- --warm-up-time 1 --measurement-time 3`, or
//! `ALGOLAB_BENCH_BEST=20 cargo bench --bench indicators` for a best-of-20 table
//! (`ALGOLAB_BENCH_ONLY=ADX` keeps the indicators whose name contains `ADX`,
//! `ALGOLAB_BENCH_MODES=raw` the `raw` workloads)
//! (a filter such as `'EMA\(12\)/stream/1000000'` picks one workload).

use std::hint::black_box;
use std::time::Instant;

use algolab::data::{Bar, Bars};
use algolab::indicators::{
    Adx, Atr, BollingerBands, Dmi, Dx, Ema, Indicator, Macd, Max, Min, MinusDi, Mom, Obv, PlusDi,
    Roc, Rsi, Sma, StdDev, Stoch, TrueRange, VolumeSma, Vwap, Wma, batch, batch_raw, batch_values,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

// the `algolab` binary's allocator (src/main.rs), so the figures are the shipped program's
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Knuth's MMIX LCG; `next_f64` = the top 53 bits as a fraction in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// `n` one-minute bars: open = previous close (first 100), close = open·(1 + (u1 - 0.5)·0.002),
/// high = max(open, close)·(1 + u2·0.001), low = min(open, close)·(1 - u3·0.001),
/// volume = 1000 + floor(u4·1000), with u1..u4 drawn in that order from `Lcg(seed)`.
fn lcg_walk(n: usize, seed: u64) -> Bars {
    let mut rng = Lcg(seed);
    let mut close = 100.0_f64;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let open = close;
        let (u1, u2, u3, u4) = (
            rng.next_f64(),
            rng.next_f64(),
            rng.next_f64(),
            rng.next_f64(),
        );
        close = open * (1.0 + (u1 - 0.5) * 0.002);
        out.push(Bar {
            ts_ms: i as i64 * 60_000,
            open,
            high: open.max(close) * (1.0 + u2 * 0.001),
            low: open.min(close) * (1.0 - u3 * 0.001),
            close,
            volume: 1000.0 + (u4 * 1000.0).floor(),
        });
    }
    Bars::from_bars(out).unwrap_or_else(|e| panic!("lcg walk: {e}"))
}

/// How the `raw` workload runs an indicator's batch kernel (`batch_raw` over the closes,
/// `batch_values` over the bars, or `columns`); returns the output length.
type RawRun<I> = Option<fn(&mut I, &Bars) -> usize>;

/// `ALGOLAB_BENCH_BEST=N`: instead of criterion, print the best of `N` timed runs per
/// workload (as scripts/bench_talib.py does), which a shared, loaded machine disturbs least.
fn best_of_reps() -> Option<usize> {
    std::env::var("ALGOLAB_BENCH_BEST").ok()?.parse().ok()
}

/// The shortest of `reps` runs of `f`, in seconds: the thread's CPU time, or wall time with
/// `ALGOLAB_BENCH_CLOCK=wall`. CPU time leaves out the time other processes hold the core,
/// which on a shared, loaded machine is most of the wall time (scripts/bench_talib.py
/// measures TA-Lib the same way).
fn best_of(reps: usize, mut f: impl FnMut() -> usize) -> f64 {
    let wall = std::env::var("ALGOLAB_BENCH_CLOCK").is_ok_and(|c| c == "wall");
    (0..reps.max(1))
        .map(|_| {
            if wall {
                let t0 = Instant::now();
                black_box(f());
                t0.elapsed().as_secs_f64()
            } else {
                let t0 = cpu_time::ThreadTime::now();
                black_box(f());
                t0.elapsed().as_secs_f64()
            }
        })
        .fold(f64::INFINITY, f64::min)
}

fn bench_one<I, F>(c: &mut Criterion, name: &str, make: F, raw: RawRun<I>, sets: &[Bars])
where
    I: Indicator,
    F: Fn() -> I,
{
    if let Some(reps) = best_of_reps() {
        let only = std::env::var("ALGOLAB_BENCH_ONLY").unwrap_or_default();
        if !name.contains(only.as_str()) {
            return;
        }
        for bars in sets {
            let n = bars.len();
            let report = |mode: &str, secs: f64| {
                println!(
                    "{name}/{mode}/{n:<12} {:10.1} M bars/s",
                    n as f64 / secs / 1e6
                );
            };
            // ALGOLAB_BENCH_MODES=raw (comma-separated) keeps only those modes
            let modes = std::env::var("ALGOLAB_BENCH_MODES").unwrap_or_default();
            let on = |m: &str| modes.is_empty() || modes.split(',').any(|x| x == m);
            if on("batch") {
                report(
                    "batch",
                    best_of(reps, || black_box(batch(&mut make(), bars)).len()),
                );
            }
            if let Some(run) = raw.filter(|_| on("raw")) {
                report("raw", best_of(reps, || run(&mut make(), bars)));
            }
            if on("stream") {
                report(
                    "stream",
                    best_of(reps, || {
                        let mut ind = make();
                        for bar in bars.iter() {
                            black_box(ind.update(&black_box(bar)));
                        }
                        n
                    }),
                );
            }
        }
        return;
    }
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    for bars in sets {
        let n = bars.len();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("batch", n), bars, |b, bars| {
            b.iter(|| {
                let mut ind = make();
                black_box(batch(&mut ind, bars))
            });
        });
        if let Some(run) = raw {
            g.bench_with_input(BenchmarkId::new("raw", n), bars, |b, bars| {
                b.iter(|| {
                    let mut ind = make();
                    run(&mut ind, bars)
                });
            });
        }
        g.bench_with_input(BenchmarkId::new("stream", n), bars, |b, bars| {
            b.iter(|| {
                let mut ind = make();
                for bar in bars.iter() {
                    black_box(ind.update(&black_box(bar)));
                }
            });
        });
    }
    g.finish();
}

/// The blocked deviation kernels (BBANDS, STDDEV) against `update_raw`, bit for bit, in
/// this optimised build (the unit tests prove it in the test build; vector code differs).
fn check_deviation_kernels(bars: &Bars) {
    let xs = bars.close();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let mk_bb = || BollingerBands::new(20, 2.0, 2.0).unwrap_or_else(|e| panic!("{e}"));
    let cols = mk_bb().columns(xs);
    let mut bb = mk_bb();
    let (mut u, mut m, mut l) = (Vec::new(), Vec::new(), Vec::new());
    for &x in xs {
        let v = bb.update_raw(x);
        u.push(v.map_or(f64::NAN, |v| v.upper));
        m.push(v.map_or(f64::NAN, |v| v.middle));
        l.push(v.map_or(f64::NAN, |v| v.lower));
    }
    assert!(
        bits(&cols.upper) == bits(&u)
            && bits(&cols.middle) == bits(&m)
            && bits(&cols.lower) == bits(&l),
        "BBANDS kernel != stream"
    );
    let mk_sd = || StdDev::new(20, 1.0).unwrap_or_else(|e| panic!("{e}"));
    let mut sd = mk_sd();
    let want: Vec<f64> = xs
        .iter()
        .map(|&x| sd.update_raw(x).unwrap_or(f64::NAN))
        .collect();
    assert!(
        bits(&batch_raw(&mut mk_sd(), xs)) == bits(&want),
        "STDDEV kernel != stream"
    );
}

fn indicators(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("ALGOLAB_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|t| t.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000, 10_000_000]);
    let sets: Vec<Bars> = sizes.iter().map(|&n| lcg_walk(n, 42)).collect();
    sets.iter().for_each(check_deviation_kernels);
    let s = &sets;
    macro_rules! b {
        ($ctor:expr) => {
            b!($ctor, None)
        };
        ($ctor:expr, $raw:expr) => {{
            let name = ($ctor).map(|i| i.to_string()).unwrap_or_default();
            bench_one(
                c,
                &name,
                || ($ctor).unwrap_or_else(|e| panic!("{e}")),
                $raw,
                s,
            );
        }};
    }
    // `raw` workloads: the NaN-for-warm-up batch forms, TA-Lib's output shape
    macro_rules! br {
        ($ctor:expr) => {
            b!(
                $ctor,
                Some(|i, bars| black_box(batch_raw(i, bars.close())).len())
            )
        };
    }
    macro_rules! bv {
        ($ctor:expr) => {
            b!(
                $ctor,
                Some(|i, bars| black_box(batch_values(i, bars)).len())
            )
        };
    }
    br!(Sma::new(20));
    br!(Ema::new(12));
    br!(Wma::new(20));
    br!(Rsi::new(14));
    bv!(TrueRange::new());
    bv!(Atr::new(14));
    bv!(PlusDi::new(14));
    bv!(MinusDi::new(14));
    bv!(Dx::new(14));
    bv!(Adx::new(14));
    b!(
        Dmi::new(14),
        Some(|i: &mut Dmi, bars: &Bars| black_box(i.columns(bars)).adx.len())
    );
    b!(
        Macd::new(12, 26, 9),
        Some(|i: &mut Macd, bars: &Bars| black_box(i.columns(bars.close())).macd.len())
    );
    b!(
        BollingerBands::new(20, 2.0, 2.0),
        Some(|i: &mut BollingerBands, bars: &Bars| black_box(i.columns(bars.close())).middle.len())
    );
    b!(
        Stoch::new(5, 3, 3),
        Some(|i: &mut Stoch, bars: &Bars| black_box(i.columns(bars)).k.len())
    );
    bv!(Obv::new());
    br!(Roc::new(10));
    br!(Mom::new(10));
    br!(StdDev::new(20, 1.0));
    bv!(VolumeSma::new(20));
    bv!(Vwap::new(20));
    br!(Max::new(30));
    br!(Min::new(30));
}

criterion_group!(benches, indicators);
criterion_main!(benches);
