//! One `sma-cross` backtest with full detail, as fast as the hardware allows: the two SMA
//! columns in one pass ([`sma_columns`]) and a run ([`run_detail`]) that books the stretches
//! between events in tight loops instead of visiting every bar through the step function.
//!
//! Both equal their references bit for bit: [`sma_columns`] gives
//! [`rolling_mean_column`]'s values (the same compensated sums, the same operations in the
//! same order, the two periods side by side in the two lanes of one SSE2 vector), and
//! [`run_detail`] gives [`super::sweep::run_detail`]'s equity, exposure, trades and fees
//! (hence `run_backtest`'s; the tests compare them on GOOG and on random series, periods
//! and fees). [`run_detail`] drives the same [`SmaSim`] and calls its `step` on every bar
//! where something happens (a fill, a liquidation, a halt, the last bar); between them:
//! - flat with nothing pending: the equity stays what it was, so the stretch up to the next
//!   crossing of the SMAs (found eight bars at a time, `next_cross`) is a fill of the equity
//!   and `false` exposure;
//! - holding a position with nothing pending: each bar's equity is the step's formula
//!   `cash + (margin + sign·qty·(close − entry))`, computed over the stretch in one loop the
//!   compiler vectorises, then checked for a non-positive or non-finite value as a whole
//!   (the liquidation bar, if any, goes back to `step`), with the position's lowest low and
//!   highest high (excursions) folded over the stretch (positive finite prices, which
//!   [`Bars`] guarantees, make the fold's order irrelevant).
//!
//! The decision at a crossing bar is `SmaSim::decide`, as in the step.

use std::ops::Range;

use super::sweep::{DetailSink, LeanConfig, Pending, SmaPair, SmaSim, next_cross};
use crate::data::Bars;

pub use crate::strategy::sma_cross::rolling_mean_column;

/// The `fast_n`- and `slow_n`-bar rolling means of `close` in one pass, each equal bit for bit
/// to [`rolling_mean_column`] with its period (NaN in warm-up).
pub fn sma_columns(close: &[f64], fast_n: usize, slow_n: usize) -> (Vec<f64>, Vec<f64>) {
    let ns = [fast_n.max(1), slow_n.max(1)];
    let len = close.len();
    let mut out = (Vec::with_capacity(len), Vec::with_capacity(len));
    let mut state = [Kahan::default(); 2];
    let warm = ns[0].max(ns[1]).min(len);
    // warm-up: each lane adds, and drops its oldest value once its window is full
    for (t, &x) in close[..warm].iter().enumerate() {
        for (lane, k) in state.iter_mut().enumerate() {
            let n = ns[lane];
            if t >= n {
                k.add(-close[t - n]);
            }
            k.add(x);
        }
        let mean = |lane: usize| {
            if t + 1 >= ns[lane] {
                state[lane].mean(ns[lane])
            } else {
                f64::NAN
            }
        };
        out.0.push(mean(0));
        out.1.push(mean(1));
    }
    steady(close, ns, warm, &mut state, &mut out);
    out
}

/// A compensated (Neumaier) running sum, `RollingMean`'s.
#[derive(Debug, Clone, Copy, Default)]
struct Kahan {
    sum: f64,
    comp: f64,
}

impl Kahan {
    #[inline(always)]
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        // the operands in the order `RollingMean::add` subtracts them
        let big = self.sum.abs() >= x.abs();
        let (a, b) = if big { (self.sum, x) } else { (x, self.sum) };
        self.comp += (a - t) + b;
        self.sum = t;
    }

    #[inline(always)]
    fn mean(&self, n: usize) -> f64 {
        (self.sum + self.comp) / n as f64
    }
}

/// Bars `from..` of [`sma_columns`], both windows full: the two lanes in one SSE2 vector.
#[cfg(target_arch = "x86_64")]
fn steady(
    close: &[f64],
    ns: [usize; 2],
    from: usize,
    state: &mut [Kahan; 2],
    out: &mut (Vec<f64>, Vec<f64>),
) {
    use pulp::{f64x2, m64x2, x86::V1};
    let Some(v) = V1::try_new() else {
        return steady_scalar(close, ns, from, state, out);
    };
    if from >= close.len() {
        return;
    }
    // one compensated add per lane: `Kahan::add`'s operations, lane by lane
    let add = |s: f64x2, c: f64x2, x: f64x2| {
        let t = v.add_f64x2(s, x);
        let big: m64x2 = v.cmp_ge_f64x2(v.abs_f64x2(s), v.abs_f64x2(x));
        // a = big ? s : x, b = big ? x : s, by bits (the other operand is s ^ x ^ a)
        let d = v.xor_f64x2(s, x);
        let a = v.xor_f64x2(x, v.and_f64x2(d, pulp::cast(big)));
        let b = v.xor_f64x2(a, d);
        (t, v.add_f64x2(c, v.add_f64x2(v.sub_f64x2(a, t), b)))
    };
    let div = f64x2(ns[0] as f64, ns[1] as f64);
    let mut s = f64x2(state[0].sum, state[1].sum);
    let mut c = f64x2(state[0].comp, state[1].comp);
    let xs = close[from..].iter();
    let olds = close[from - ns[0]..].iter().zip(&close[from - ns[1]..]);
    for (&x, (&of, &os)) in xs.zip(olds) {
        (s, c) = add(s, c, f64x2(-of, -os));
        (s, c) = add(s, c, v.splat_f64x2(x));
        let m = v.div_f64x2(v.add_f64x2(s, c), div);
        out.0.push(m.0);
        out.1.push(m.1);
    }
    state[0] = Kahan {
        sum: s.0,
        comp: c.0,
    };
    state[1] = Kahan {
        sum: s.1,
        comp: c.1,
    };
}

/// [`steady`] without SIMD.
#[cfg(not(target_arch = "x86_64"))]
fn steady(
    close: &[f64],
    ns: [usize; 2],
    from: usize,
    state: &mut [Kahan; 2],
    out: &mut (Vec<f64>, Vec<f64>),
) {
    steady_scalar(close, ns, from, state, out)
}

fn steady_scalar(
    close: &[f64],
    ns: [usize; 2],
    from: usize,
    state: &mut [Kahan; 2],
    out: &mut (Vec<f64>, Vec<f64>),
) {
    let [mut f, mut s] = *state;
    for t in from..close.len() {
        f.add(-close[t - ns[0]]);
        s.add(-close[t - ns[1]]);
        f.add(close[t]);
        s.add(close[t]);
        out.0.push(f.mean(ns[0]));
        out.1.push(s.mean(ns[1]));
    }
    *state = [f, s];
}

/// One `sma-cross` run of `pair` over `window` with full detail (equity, exposure, trades with
/// excursions) and the fees paid: [`super::sweep::run_detail`]'s results bit for bit.
pub fn run_detail(
    bars: &Bars,
    pair: SmaPair<'_>,
    cfg: LeanConfig,
    window: Range<usize>,
) -> (DetailSink, f64) {
    let cols = super::sweep::Cols::of(bars);
    let (close, low, high) = (bars.close(), bars.low(), bars.high());
    let n = window.len();
    let sink = DetailSink {
        equity: Vec::with_capacity(n),
        exposure: Vec::with_capacity(n),
        trades: Vec::new(),
    };
    let mut sim = SmaSim::new(pair, cfg, window.end, sink);
    // stretches stop before the last bar (`step` closes or reports the open trade there)
    let last = window.end.saturating_sub(1);
    let first_decision = pair.slow_n.max(1);
    let mut t = window.start;
    while t < window.end {
        if t < last && sim.pending == Pending::None && !sim.bankrupt && !sim.halted {
            let scan = t.max(first_decision);
            let tc = if scan < last {
                next_cross(pair.fast, pair.slow, scan, last)
            } else {
                last
            };
            // bars t..end need nothing but their books; a crossing at `tc` is decided
            let (end, decide) = if tc < last {
                (tc + 1, true)
            } else {
                (last, false)
            };
            let next = match sim.pos {
                None if !(cfg.min_order_cost > 0.0 && sim.equity < cfg.min_order_cost) => {
                    let e = sim.equity;
                    sim.sink.equity.resize(sim.sink.equity.len() + (end - t), e);
                    sim.sink
                        .exposure
                        .resize(sim.sink.exposure.len() + (end - t), false);
                    end
                }
                None => t,
                Some(mut p) => {
                    let (cash, margin, sign) = (sim.cash, p.margin, p.side.sign());
                    let (qty, entry) = (p.qty, p.entry_price);
                    let eq = &mut sim.sink.equity;
                    let base = eq.len();
                    eq.extend(
                        close[t..end]
                            .iter()
                            .map(|&c| cash + (margin + sign * qty * (c - entry))),
                    );
                    let stretch = &eq[base..];
                    let ok = stretch
                        .iter()
                        .fold(true, |ok, &e| ok & (e > 0.0) & (e < f64::INFINITY));
                    let stop = if ok {
                        end
                    } else {
                        // the first bad bar liquidates: `step` books it
                        let k = stretch
                            .iter()
                            .position(|&e| !(e > 0.0 && e < f64::INFINITY))
                            .unwrap_or(end - t);
                        eq.truncate(base + k);
                        t + k
                    };
                    if stop > t {
                        sim.equity = eq[eq.len() - 1];
                        p.min_price = p.min_price.min(min_of(&low[t..stop]));
                        p.max_price = p.max_price.max(max_of(&high[t..stop]));
                        sim.pos = Some(p);
                        let ex = &mut sim.sink.exposure;
                        ex.resize(ex.len() + (stop - t), true);
                    }
                    stop
                }
            };
            if next > t {
                if next == end && decide {
                    sim.decide(tc);
                }
                t = next;
                continue;
            }
        }
        sim.step(&cols, t);
        t += 1;
    }
    let fees = sim.fees_paid();
    (sim.sink, fees)
}

/// The lowest of `xs` (positive and finite), four running minima at a time.
#[inline]
fn min_of(xs: &[f64]) -> f64 {
    let mut m = [f64::INFINITY; 4];
    let mut chunks = xs.chunks_exact(4);
    for c in &mut chunks {
        for i in 0..4 {
            m[i] = if c[i] < m[i] { c[i] } else { m[i] };
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(f64::INFINITY, |a, &x| a.min(x));
    m[0].min(m[1]).min(m[2]).min(m[3]).min(tail)
}

/// The highest of `xs` (positive and finite), four running maxima at a time.
#[inline]
fn max_of(xs: &[f64]) -> f64 {
    let mut m = [f64::NEG_INFINITY; 4];
    let mut chunks = xs.chunks_exact(4);
    for c in &mut chunks {
        for i in 0..4 {
            m[i] = if c[i] > m[i] { c[i] } else { m[i] };
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(f64::NEG_INFINITY, |a, &x| a.max(x));
    m[0].max(m[1]).max(m[2]).max(m[3]).max(tail)
}

/// One `sma-cross` backtest of `fast_n`/`slow_n` over `window` with full detail, the SMA
/// columns computed here ([`sma_columns`]); `gate` as in [`SmaPair`].
pub fn sma_cross_detail(
    bars: &Bars,
    fast_n: usize,
    slow_n: usize,
    long_only: bool,
    cfg: LeanConfig,
    window: Range<usize>,
) -> (DetailSink, f64) {
    let (fast, slow) = sma_columns(bars.close(), fast_n, slow_n);
    let pair = SmaPair {
        fast: &fast,
        slow: &slow,
        slow_n,
        long_only,
        gate: None,
    };
    run_detail(bars, pair, cfg, window)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::data::Bar;
    use crate::engine::{BacktestConfig, run_backtest};
    use crate::strategy::sma_cross::SmaCross;

    fn goog() -> Bars {
        crate::data::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/datasets/GOOG.csv"
        )))
        .unwrap()
    }

    fn bits(a: &[f64]) -> Vec<u64> {
        a.iter().map(|x| x.to_bits()).collect()
    }

    /// A random walk with per-bar moves up to `vol` and, at bar `jump`, a move by `factor`.
    fn walk(n: usize, seed: u64, vol: f64, jump: usize, factor: f64) -> Bars {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut price = 100.0f64;
        Bars::from_bars((0..n).map(|i| {
            let open = price;
            let u: f64 = rng.random();
            let mut close = open * (1.0 + vol * (2.0 * u - 1.0));
            if i == jump {
                close *= factor;
            }
            price = close;
            Bar {
                ts_ms: 1_577_836_800_000 + i as i64 * 60_000,
                open,
                high: open.max(close) * 1.001,
                low: open.min(close) * 0.999,
                close,
                volume: 1.0,
            }
        }))
        .unwrap()
    }

    #[test]
    fn sma_columns_equal_rolling_mean_columns() {
        let g = goog();
        let w = walk(300, 3, 0.3, 50, 40.0);
        for close in [g.close(), w.close(), &g.close()[..5], &[][..]] {
            for (f, s) in [(10, 20), (2, 3), (1, 7), (20, 5), (7, 7), (30, 400)] {
                let (a, b) = sma_columns(close, f, s);
                assert_eq!(bits(&a), bits(&rolling_mean_column(close, f)), "{f}");
                assert_eq!(bits(&b), bits(&rolling_mean_column(close, s)), "{s}");
            }
        }
    }

    /// This run against `sweep::run_detail` and the engine, bit for bit.
    fn check(bars: &Bars, cfg: &BacktestConfig, f: usize, s: usize, long_only: bool) {
        let lc = LeanConfig::from_backtest(cfg, bars).unwrap();
        let ts = bars.ts_ms();
        let start = cfg.from_ts_ms.map_or(0, |x| ts.partition_point(|&t| t < x));
        let end = cfg
            .to_ts_ms
            .map_or(ts.len(), |x| ts.partition_point(|&t| t <= x));
        let (d, fees) = sma_cross_detail(bars, f, s, long_only, lc, start..end);
        let (fast, slow) = sma_columns(bars.close(), f, s);
        let pair = SmaPair {
            fast: &fast,
            slow: &slow,
            slow_n: s,
            long_only,
            gate: None,
        };
        let (r, r_fees) = super::super::sweep::run_detail(bars, pair, lc, start..end);
        assert_eq!(bits(&d.equity), bits(&r.equity), "{f}/{s} {cfg:?}");
        assert_eq!(d.exposure, r.exposure);
        assert_eq!(d.trades, r.trades);
        assert_eq!(fees.to_bits(), r_fees.to_bits());
        let mut strat = SmaCross::new(f, s, long_only).unwrap();
        let e = run_backtest(bars, &mut strat, cfg).unwrap();
        assert_eq!(bits(&d.equity), bits(&e.equity), "{f}/{s} {cfg:?}");
        assert_eq!(d.exposure, e.exposure);
        assert_eq!(d.trades, e.trades);
        assert_eq!(fees.to_bits(), e.fees_paid.to_bits());
    }

    #[test]
    fn run_equals_sweep_run_and_engine_on_goog() {
        let bars = goog();
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
                ..base
            },
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
                from_ts_ms: Some(bars.ts_ms()[700]),
                to_ts_ms: Some(bars.ts_ms()[1500]),
                ..base
            },
        ];
        for cfg in &cfgs {
            for (f, s, lo) in [
                (5, 20, false),
                (10, 20, false),
                (10, 30, true),
                (2, 3, false),
            ] {
                check(&bars, cfg, f, s, lo);
            }
        }
    }

    #[test]
    fn a_short_liquidated_by_a_jump_matches_the_engine() {
        let bars = walk(400, 11, 0.01, 200, 5.0);
        let cfg = BacktestConfig::default();
        // some run of these holds a short across the jump
        let liquidated = [(2, 3), (3, 5), (5, 9), (10, 20)].iter().any(|&(f, s)| {
            check(&bars, &cfg, f, s, false);
            let lc = LeanConfig::from_backtest(&cfg, &bars).unwrap();
            sma_cross_detail(&bars, f, s, false, lc, 0..bars.len())
                .0
                .trades
                .iter()
                .any(|t| t.exit_reason == crate::core::order::ExitReason::Liquidation)
        });
        assert!(liquidated);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn random_runs_equal_the_engine(
            seed in any::<u64>(),
            n in 2usize..400,
            vol in prop_oneof![Just(0.01), 0.0f64..0.4],
            jump in 0usize..400,
            factor in prop_oneof![Just(1.0), 0.2f64..6.0],
            f in 1usize..15,
            extra in 1usize..30,
            long_only in any::<bool>(),
            commission in prop_oneof![Just(0.0), 0.0f64..0.01],
            slippage in prop_oneof![Just(0.0), 0.0f64..0.01],
            fractional in any::<bool>(),
            close_at_end in any::<bool>(),
            min_notional in prop_oneof![Just(0.0), 0.0f64..20_000.0],
            window in (0usize..400, 0usize..400),
        ) {
            let bars = walk(n, seed, vol, jump, factor);
            let (a, b) = (window.0 % n, window.1 % n);
            let ts = bars.ts_ms();
            let cfg = BacktestConfig {
                commission,
                slippage,
                fractional,
                close_at_end,
                min_notional,
                from_ts_ms: (a > 0).then(|| ts[a.min(b)]),
                to_ts_ms: (b > 0).then(|| ts[a.max(b)]),
                ..BacktestConfig::default()
            };
            check(&bars, &cfg, f, f + extra, long_only);
        }
    }
}
