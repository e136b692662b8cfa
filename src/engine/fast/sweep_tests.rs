//! The lean loop against the engine, bit for bit.

use super::*;
use crate::app::optimize::eval::{Evaluator, FAST_KEYS, stats_metrics};
use crate::engine::run_backtest;
use crate::optimize::Candidate;
use crate::strategy::sma_cross::SmaCross;
use crate::strategy::{ParamValue, Params};

/// The bundled GOOG daily bars (also the single run's tests).
pub(crate) fn goog() -> Bars {
    crate::data::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/datasets/GOOG.csv"
    )))
    .unwrap()
}

/// The settings every lean-loop test runs (also the single run's tests).
pub(crate) fn cfgs() -> Vec<BacktestConfig> {
    let base = BacktestConfig {
        commission: 0.002,
        ..BacktestConfig::default()
    };
    vec![
        base,
        BacktestConfig::default(),
        BacktestConfig {
            slippage: 0.001,
            close_at_end: true,
            ..base
        },
        BacktestConfig {
            fractional: true,
            ..base
        },
        // minimum order rules (issue 10 item 3): entries below them refused, a run whose
        // equity falls below one minimum order halts
        BacktestConfig {
            fractional: true,
            min_notional: 9_000.0,
            ..base
        },
        BacktestConfig {
            min_qty: 12.0,
            ..base
        },
        BacktestConfig {
            from_ts_ms: Some(goog().ts_ms()[700]),
            to_ts_ms: Some(goog().ts_ms()[1500]),
            ..base
        },
    ]
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn lean_equals_engine_bit_for_bit_on_goog() {
    let bars = goog();
    let pairs = [
        (5, 20, false),
        (10, 20, false),
        (10, 30, true),
        (2, 3, false),
        (20, 60, false),
    ];
    for cfg in cfgs() {
        let lc = LeanConfig::from_backtest(&cfg, &bars).unwrap();
        let ts = bars.ts_ms();
        let start = cfg.from_ts_ms.map_or(0, |f| ts.partition_point(|&x| x < f));
        let end = cfg
            .to_ts_ms
            .map_or(ts.len(), |t| ts.partition_point(|&x| x <= t));
        for (f, s, lo) in pairs {
            let fast = rolling_mean_column(bars.close(), f);
            let slow = rolling_mean_column(bars.close(), s);
            let pair = SmaPair {
                fast: &fast,
                slow: &slow,
                slow_n: s,
                long_only: lo,
                gate: None,
            };
            let (d, fees) = run_detail(&bars, pair, lc, start..end);
            let mut strat = SmaCross::new(f, s, lo).unwrap();
            let r = run_backtest(&bars, &mut strat, &cfg).unwrap();
            assert!(
                same_bits(&d.equity, &r.equity),
                "equity differs for {f}/{s} {cfg:?}"
            );
            assert_eq!(d.exposure, r.exposure);
            assert_eq!(d.trades, r.trades, "trades differ for {f}/{s}");
            assert_eq!(fees.to_bits(), r.fees_paid.to_bits());
            assert!(!r.trades.is_empty());
        }
    }
}

fn cand(f: i64, s: i64) -> Candidate {
    [
        ("fast".to_string(), ParamValue::Int(f)),
        ("slow".to_string(), ParamValue::Int(s)),
    ]
    .into()
}

#[test]
fn fast_metrics_equal_full_stats() {
    let bars = goog();
    for cfg in cfgs() {
        let base = Params::resolve(crate::strategy::sma_cross::SMA_CROSS_PARAMS, &[]).unwrap();
        let w = crate::app::optimize::validate::window_of(&bars, &cfg).unwrap();
        let fast_ev = Evaluator::new(
            &bars,
            "sma-cross",
            base.clone(),
            &cfg,
            w.clone(),
            None,
            "sharpe",
        )
        .unwrap();
        let full_ev =
            Evaluator::new(&bars, "sma-cross", base.clone(), &cfg, w, None, "alpha_pct").unwrap();
        assert!(fast_ev.is_lean());
        let cands = vec![cand(5, 20), cand(10, 30), cand(3, 7), cand(30, 20)];
        let a = fast_ev.eval_batch(&cands);
        let b = full_ev.eval_batch(&cands);
        assert!(a[3].error.is_some() && b[3].error.is_some());
        for (i, (x, y)) in a.iter().zip(&b).enumerate().take(3) {
            let p = fast_ev.params_of(&cands[i]).unwrap();
            let full = fast_ev.full(&p).unwrap();
            let m = stats_metrics(&full.stats);
            for k in FAST_KEYS {
                let (u, v, w) = (x.metrics[*k], y.metrics[*k], m[*k]);
                assert!(
                    u.to_bits() == w.to_bits() || (u.is_nan() && w.is_nan()),
                    "{k}: {u} vs {w}"
                );
                assert!(
                    v.to_bits() == w.to_bits() || (v.is_nan() && w.is_nan()),
                    "{k}: {v} vs {w}"
                );
            }
            assert!(same_bits(&x.returns, &full.returns));
            assert!(same_bits(&y.returns, &full.returns));
        }
    }
}

#[test]
fn gated_lean_equals_gated_engine() {
    let bars = goog();
    let gate: Vec<bool> = (0..bars.len()).map(|i| (i / 97) % 2 == 0).collect();
    let cfg = BacktestConfig {
        commission: 0.002,
        ..BacktestConfig::default()
    };
    let base = Params::resolve(crate::strategy::sma_cross::SMA_CROSS_PARAMS, &[]).unwrap();
    let ev = Evaluator::new(
        &bars,
        "sma-cross",
        base,
        &cfg,
        0..bars.len(),
        Some(&gate),
        "alpha_pct",
    )
    .unwrap();
    for c in [cand(5, 20), cand(10, 30)] {
        let lean_out = ev.eval_batch(std::slice::from_ref(&c)).remove(0);
        let full = ev.full(&ev.params_of(&c).unwrap()).unwrap();
        let m = stats_metrics(&full.stats);
        assert_eq!(
            lean_out.metrics["equity_final"].to_bits(),
            m["equity_final"].to_bits()
        );
        assert_eq!(lean_out.metrics["trades"], m["trades"]);
    }
}

/// Minute bars drifting down with a wobble that crosses the SMAs often, and a gap to 3×
/// every 5 000 bars: the shorts open at a gap go bankrupt inside quiet stretches.
fn soaring() -> Bars {
    let mut prev = 100.0f64;
    Bars::from_bars((0..20_000usize).map(|i| {
        let t = i as f64;
        let gaps = 3f64.powi((i / 5_000) as i32);
        let close = 100.0 * (-0.0002 * t).exp() * gaps * (1.0 + 0.02 * (t / 13.0).sin());
        let open = prev;
        prev = close;
        crate::data::Bar {
            ts_ms: 1_600_000_000_000 + i as i64 * 60_000,
            open,
            high: open.max(close) * 1.001,
            low: open.min(close) * 0.999,
            close,
            volume: 1.0,
        }
    }))
    .unwrap()
}

/// The sweep (quiet stretches in a tight loop, `SmaSim::run`) equals `step` on every bar,
/// field for field, on minute bars (daily buckets span 1 440 bars, so quiet stretches are
/// long), with liquidations, halts, gates, long-only runs, windows and close-at-end.
#[test]
fn sweep_run_equals_step_on_every_bar() {
    let walk = crate::data::lcg_walk(30_000, 42).unwrap();
    let base = BacktestConfig {
        commission: 0.002,
        ..BacktestConfig::default()
    };
    let cfgs = [
        base,
        BacktestConfig::default(),
        BacktestConfig {
            slippage: 0.001,
            close_at_end: true,
            fractional: true,
            ..base
        },
        BacktestConfig {
            min_notional: 9_000.0,
            fractional: true,
            ..base
        },
        // cash for one or two units: after a few losses every entry is refused (flat runs
        // that keep deciding)
        BacktestConfig {
            cash: 250.0,
            ..base
        },
    ];
    let (mut bankrupt, mut refused, mut priced_out) = (0, 0, 0);
    for bars in [walk, soaring()] {
        let n = bars.len();
        let gate: Vec<bool> = (0..n).map(|i| (i / 997) % 3 != 1).collect();
        let cols: Vec<Vec<f64>> = (0..=40)
            .map(|p| rolling_mean_column(bars.close(), p))
            .collect();
        for cfg in cfgs {
            let lc = LeanConfig::from_backtest(&cfg, &bars).unwrap();
            for window in [0..n, 1_000..n - 500] {
                let daily: Vec<usize> = window
                    .clone()
                    .filter(|&i| (i + 1) % 1_440 == 0 || i + 1 == window.end)
                    .collect();
                for buckets in [&daily[..], &[]] {
                    let mut pairs = Vec::new();
                    for (k, (f, s)) in [(2, 3), (3, 7), (5, 20), (10, 20), (12, 40), (1, 2)]
                        .into_iter()
                        .enumerate()
                    {
                        pairs.push(SmaPair {
                            fast: &cols[f],
                            slow: &cols[s],
                            slow_n: s,
                            long_only: k % 2 == 1,
                            gate: (k % 3 == 2).then_some(&gate[..]),
                        });
                    }
                    let swept = sweep(&bars, &pairs, lc, window.clone(), buckets);
                    let c = Cols::of(&bars);
                    for (p, got) in pairs.iter().zip(&swept) {
                        let mut sim = SmaSim::new(*p, lc, window.end, SummarySink::new(buckets));
                        for t in window.clone() {
                            // a flat bar whose next open is at or above the run's fill bound
                            // (the sweep skips its decision: `SmaSim::idle`)
                            let flat = sim.pos.is_none() && sim.pending == Pending::None;
                            priced_out += usize::from(
                                flat && !sim.halted
                                    && !sim.bankrupt
                                    && t + 1 < window.end
                                    && sim.fill_bound().is_some_and(|b| c.open[t + 1] >= b),
                            );
                            sim.step(&c, t);
                        }
                        sim.sink.finish();
                        let want = (sim.sink.clone(), sim.fees_paid());
                        assert_eq!(
                            format!("{got:?}"),
                            format!("{want:?}"),
                            "slow {} {cfg:?} {window:?}",
                            p.slow_n
                        );
                        assert_eq!(got.0.max_dd.to_bits(), want.0.max_dd.to_bits());
                        assert_eq!(got.0.last.to_bits(), want.0.last.to_bits());
                        bankrupt += usize::from(want.0.last == 0.0);
                        // flat at the end with money left, and not halted
                        refused +=
                            usize::from(sim.pos.is_none() && !sim.halted && want.0.last > 0.0);
                    }
                }
            }
        }
    }
    assert!(bankrupt > 0, "no run went bankrupt");
    assert!(refused > 0, "no run ended flat");
    assert!(priced_out > 1_000, "too few priced-out bars: {priced_out}");
}

/// A sweep's groups ([`units`]) cover the combinations in order, none longer than `GROUP`,
/// the last ones short; its results do not depend on the thread count.
#[test]
fn sweep_groups_cover_in_order_and_thread_count_changes_nothing() {
    for threads in 1..5 {
        for n in [0, 1, 31, 32, 33, 255, 256, 257, 1_000, 4_950, 20_000] {
            let u = units(n, threads);
            assert_eq!(u.first().map_or(0, |r| r.start), 0);
            assert_eq!(u.last().map_or(0, |r| r.end), n);
            assert!(u.windows(2).all(|w| w[0].end == w[1].start));
            assert!(u.iter().all(|r| !r.is_empty() && r.len() <= GROUP));
            assert!(
                u.windows(2)
                    .all(|w| w[0].len() >= w[1].len() || w[1].end == n)
            );
            if n >= 4 * GROUP * threads {
                assert!(u.last().is_some_and(|r| r.len() < 2 * MIN_UNIT));
            }
        }
    }
    let bars = crate::data::lcg_walk(4_000, 9).unwrap();
    let cols: Vec<Vec<f64>> = (0..=30)
        .map(|p| rolling_mean_column(bars.close(), p))
        .collect();
    let cfg = BacktestConfig {
        cash: 300.0,
        ..BacktestConfig::default()
    };
    let lc = LeanConfig::from_backtest(&cfg, &bars).unwrap();
    let mut pairs = Vec::new();
    for f in 1..30 {
        for s in f + 1..=30 {
            pairs.push(SmaPair {
                fast: &cols[f],
                slow: &cols[s],
                slow_n: s,
                long_only: (f + s) % 5 == 0,
                gate: None,
            });
        }
    }
    let buckets: Vec<usize> = (0..4_000).filter(|i| (i + 1) % 100 == 0).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| sweep(&bars, &pairs, lc, 0..4_000, &buckets))
    };
    let one = format!("{:?}", run(1));
    assert_eq!(one, format!("{:?}", run(3)));
    // and equal to each combination on its own
    let each: Vec<_> = pairs
        .iter()
        .flat_map(|p| sweep(&bars, std::slice::from_ref(p), lc, 0..4_000, &buckets))
        .collect();
    assert_eq!(one, format!("{each:?}"));
}

/// The lane kernel (`run_lanes`) and the extremes kernel (`run_chunks`, with AVX2 scans
/// when the CPU has them and with the portable ones) equal `step` on every bar, field for
/// field, for random
/// combinations (columns shared, runs broken and unbroken, long-only, gated), random group
/// sizes and block sizes (so events fall on block edges and first bars), random windows,
/// bucket sets and settings, on a random walk and on the soaring series (liquidations).
#[test]
fn lane_kernel_equals_step_for_random_params_lanes_and_blocks() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    let base = BacktestConfig {
        commission: 0.002,
        ..BacktestConfig::default()
    };
    let cfgs = [
        base,
        BacktestConfig::default(),
        BacktestConfig {
            slippage: 0.001,
            close_at_end: true,
            fractional: true,
            ..base
        },
        BacktestConfig {
            min_notional: 9_000.0,
            fractional: true,
            ..base
        },
        // cash for one or two units: after a few losses every entry is refused (flat runs
        // that keep deciding)
        BacktestConfig {
            cash: 250.0,
            ..base
        },
    ];
    let (mut events, mut bankrupt, mut halted) = (0, 0, 0);
    for (series, bars) in [crate::data::lcg_walk(6_000, 3).unwrap(), soaring()]
        .into_iter()
        .enumerate()
    {
        let n = bars.len();
        let gate: Vec<bool> = (0..n).map(|i| (i / 331) % 3 != 1).collect();
        let cols: Vec<Vec<f64>> = (0..=30)
            .map(|p| rolling_mean_column(bars.close(), p))
            .collect();
        let c = Cols::of(&bars);
        for round in 0..12 {
            let cfg = cfgs[rng.random_range(0..cfgs.len())];
            let lc = LeanConfig::from_backtest(&cfg, &bars).unwrap();
            let start = rng.random_range(0..n / 3);
            let end = rng.random_range(start + 1..=n);
            let window = start..end;
            let every = [1, 7, 1_440][rng.random_range(0..3)];
            let buckets: Vec<usize> = window
                .clone()
                .filter(|&i| (i + 1) % every == 0 || i + 1 == window.end)
                .collect();
            let lanes = rng.random_range(1..40);
            let mut pairs = Vec::new();
            // runs: a fast period with consecutive slow periods, then random pairs
            let f0 = rng.random_range(1..10);
            for s in f0 + 1..(f0 + 1 + lanes / 2).min(31) {
                pairs.push((f0, s));
            }
            while pairs.len() < lanes {
                let f = rng.random_range(1..29);
                pairs.push((f, rng.random_range(f + 1..=30)));
            }
            let pairs: Vec<SmaPair<'_>> = pairs
                .into_iter()
                .map(|(f, s)| SmaPair {
                    fast: &cols[f],
                    slow: &cols[s],
                    slow_n: s,
                    long_only: rng.random_range(0..4) == 0,
                    gate: (rng.random_range(0..4) == 0).then_some(&gate[..]),
                })
                .collect();
            let group = rng.random_range(1..=pairs.len());
            let block = [1, 2, 3, 17, 64, 256][rng.random_range(0..6)];
            let got: Vec<_> = pairs
                .chunks(group)
                .flat_map(|g| run_lanes(&bars, g, lc, window.clone(), &buckets, block))
                .collect();
            // and the extremes kernel (what `sweep` runs), by the same groups
            // with the opens' block minima (priced-out runs skip their decisions) and, for the
            // portable scans below, without
            let bare = Extremes::of(bars.close());
            let ext = bare.clone().map(|x| x.with_opens(bars.open()));
            let by_ext: Vec<_> = pairs
                .chunks(group)
                .flat_map(|g| run_chunks(&bars, g, lc, window.clone(), &buckets, ext.as_ref()))
                .collect();
            assert_eq!(format!("{by_ext:?}"), format!("{got:?}"), "extremes kernel");
            // and its portable scans (`run_chunks` takes AVX2 when the CPU has it)
            let portable: Vec<_> = pairs
                .chunks(group)
                .flat_map(|g| {
                    let (w, b) = (window.clone(), &buckets[..]);
                    run_chunks_in(
                        &bars,
                        g,
                        lc,
                        w,
                        b,
                        bare.as_ref(),
                        Wide::Baseline,
                        &mut Vec::new(),
                    )
                })
                .collect();
            assert_eq!(
                format!("{portable:?}"),
                format!("{got:?}"),
                "portable scans"
            );
            for (p, got) in pairs.iter().zip(&got) {
                let mut sim = SmaSim::new(*p, lc, window.end, SummarySink::new(&buckets));
                for t in window.clone() {
                    sim.step(&c, t);
                }
                sim.sink.finish();
                let want = (sim.sink.clone(), sim.fees_paid());
                assert_eq!(
                    format!("{got:?}"),
                    format!("{want:?}"),
                    "series {series} round {round}: {}/{} {cfg:?} {window:?} group {group} \
                     block {block}",
                    p.slow_n,
                    p.long_only
                );
                assert_eq!(got.0.max_dd.to_bits(), want.0.max_dd.to_bits());
                events += want.0.trades.n;
                bankrupt += usize::from(want.0.last == 0.0);
                halted += usize::from(sim.halted);
            }
        }
    }
    assert!(events > 1_000, "too few trades: {events}");
    assert!(bankrupt > 0, "no run went bankrupt");
    assert!(halted > 0, "no run halted");
}

/// `Extremes::first_open_below` finds the first open below the bound, as a plain scan does.
#[test]
fn first_open_below_equals_a_scan() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let bars = crate::data::lcg_walk(3_000, 5).unwrap();
    let mut open = bars.open().to_vec();
    open[100] = f64::NAN;
    let close = bars.close();
    let ext = Extremes::of(close).unwrap().with_opens(&open);
    let bare = Extremes::of(close).unwrap();
    for _ in 0..2_000 {
        let a = rng.random_range(0..3_000);
        let b = rng.random_range(a..=3_000);
        let bound = rng.random_range(80.0..120.0);
        let want = (a..b).find(|&t| open[t] < bound).unwrap_or(b);
        assert_eq!(
            ext.first_open_below(&open, bound, a, b),
            want,
            "{a}..{b} {bound}"
        );
        assert_eq!(bare.first_open_below(&open, bound, a, b), a);
    }
}
