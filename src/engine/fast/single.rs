//! One `sma-cross` backtest with full detail, as fast as the hardware allows: the two SMA
//! means in one pass ([`SmaPairState`], two lanes of one SSE2 vector), and a run that books
//! the stretches between events in tight loops instead of visiting every bar through the
//! step function. [`sma_cross_detail`] computes the means block by block beside the run
//! (no SMA columns in memory); [`run_detail`] reads given columns (the optimizer's cache).
//!
//! Both equal their references bit for bit: the means are [`rolling_mean_column`]'s values
//! (the same compensated sums, the same operations in the same order), and the runs give
//! [`super::sweep::run_detail`]'s equity, exposure, trades and fees (hence `run_backtest`'s;
//! the tests compare them on GOOG and on random series, periods, fees and windows). Both
//! drive the same [`SmaSim`] and call its `step` on every bar where something happens (a
//! fill, a liquidation, a halt, the last bar); between them:
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
//! The decision at a crossing bar is `SmaSim::decide`'s; [`sma_cross_detail`] keeps no means
//! at all, only their order per bar of the block (`order`: one byte, 1 for fast above, 2 for
//! below), finds crossings as 1 ⇄ 2 flips eight bars per 64-bit word (`next_flip`) and
//! decides with `Run::decide_in`, the same test on the orders.

use std::ops::Range;

use super::sweep::{Cols, DetailSink, LeanConfig, Pending, SmaPair, SmaSim, next_cross};
use crate::core::order::Side;
use crate::data::Bars;

pub use crate::strategy::sma_cross::rolling_mean_column;

/// Bars per block of [`sma_cross_detail`] (the block's means stay in L1).
const BLOCK: usize = 1024;

/// The `fast_n`- and `slow_n`-bar rolling means of `close` in one pass, each equal bit for bit
/// to [`rolling_mean_column`] with its period (NaN in warm-up).
pub fn sma_columns(close: &[f64], fast_n: usize, slow_n: usize) -> (Vec<f64>, Vec<f64>) {
    let len = close.len();
    let mut out = (Vec::with_capacity(len), Vec::with_capacity(len));
    SmaPairState::new(fast_n, slow_n).run(close, len, |f, s| {
        out.0.push(f);
        out.1.push(s);
    });
    out
}

/// Two rolling means of one series advancing together (`RollingMean`'s state, the window
/// read back from the series instead of a ring).
#[derive(Debug, Clone, Copy)]
pub struct SmaPairState {
    ns: [usize; 2],
    lanes: [Kahan; 2],
    /// The next bar.
    t: usize,
}

impl SmaPairState {
    /// Fresh means of `fast_n` and `slow_n` bars (0 counts as 1, as in `rolling_mean_column`).
    pub fn new(fast_n: usize, slow_n: usize) -> Self {
        SmaPairState {
            ns: [fast_n.max(1), slow_n.max(1)],
            lanes: [Kahan::default(); 2],
            t: 0,
        }
    }

    /// Advance over bars `self.t..end` of `close`, handing each bar's (fast, slow) means
    /// (NaN in warm-up) to `put`, in order.
    #[inline(always)]
    pub fn run(&mut self, close: &[f64], end: usize, mut put: impl FnMut(f64, f64)) {
        let end = end.min(close.len());
        let ns = self.ns;
        // warm-up: each lane adds, and drops its oldest value once its window is full
        let warm = ns[0].max(ns[1]).min(end);
        while self.t < warm {
            let t = self.t;
            for (lane, k) in self.lanes.iter_mut().enumerate() {
                if t >= ns[lane] {
                    k.add(-close[t - ns[lane]]);
                }
                k.add(close[t]);
            }
            let mean = |lane: usize| {
                if t + 1 >= ns[lane] {
                    self.lanes[lane].mean(ns[lane])
                } else {
                    f64::NAN
                }
            };
            put(mean(0), mean(1));
            self.t += 1;
        }
        if self.t < end {
            steady(close, ns, self.t..end, &mut self.lanes, &mut put);
            self.t = end;
        }
    }
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

/// Bars `range` of [`SmaPairState::run`], both windows full (`range.start ≥` both periods):
/// the two lanes in one SSE2 vector.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn steady(
    close: &[f64],
    ns: [usize; 2],
    range: Range<usize>,
    state: &mut [Kahan; 2],
    put: &mut impl FnMut(f64, f64),
) {
    use pulp::{f64x2, m64x2, x86::V1};
    let Some(v) = V1::try_new() else {
        return steady_scalar(close, ns, range, state, put);
    };
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
    let xs = close[range.clone()].iter();
    let olds = close[range.start - ns[0]..]
        .iter()
        .zip(&close[range.start - ns[1]..]);
    for (&x, (&of, &os)) in xs.zip(olds) {
        (s, c) = add(s, c, f64x2(-of, -os));
        (s, c) = add(s, c, v.splat_f64x2(x));
        let m = v.div_f64x2(v.add_f64x2(s, c), div);
        put(m.0, m.1);
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
#[inline(always)]
fn steady(
    close: &[f64],
    ns: [usize; 2],
    range: Range<usize>,
    state: &mut [Kahan; 2],
    put: &mut impl FnMut(f64, f64),
) {
    steady_scalar(close, ns, range, state, put)
}

#[inline(always)]
fn steady_scalar(
    close: &[f64],
    ns: [usize; 2],
    range: Range<usize>,
    state: &mut [Kahan; 2],
    put: &mut impl FnMut(f64, f64),
) {
    let [mut f, mut s] = *state;
    for t in range {
        f.add(-close[t - ns[0]]);
        s.add(-close[t - ns[1]]);
        f.add(close[t]);
        s.add(close[t]);
        put(f.mean(ns[0]), s.mean(ns[1]));
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
    let mut sim = SmaSim::new(pair, cfg, window.end, detail_sink(window.len()));
    let run = Run {
        cols: Cols::of(bars),
        close: bars.close(),
        low: bars.low(),
        high: bars.high(),
        slow_n: pair.slow_n,
        long_only: pair.long_only,
        end: window.end,
    };
    run.drive::<false>(
        &mut sim,
        |from, stop| next_cross(pair.fast, pair.slow, from, stop),
        |sim, t| sim.decide(t),
        window,
    );
    let fees = sim.fees_paid();
    (sim.sink, fees)
}

/// One `sma-cross` backtest of `fast_n`/`slow_n` (entries everywhere) over `window` with full
/// detail, the means computed here block by block beside the run: [`run_detail`] on
/// [`sma_columns`]' columns, bit for bit, without the columns.
pub fn sma_cross_detail(
    bars: &Bars,
    fast_n: usize,
    slow_n: usize,
    long_only: bool,
    cfg: LeanConfig,
    window: Range<usize>,
) -> (DetailSink, f64) {
    sma_cross_detail_in(bars, fast_n, slow_n, long_only, cfg, window, BLOCK)
}

/// [`sma_cross_detail`] in blocks of `block` bars (≥ 1; the tests use small ones).
fn sma_cross_detail_in(
    bars: &Bars,
    fast_n: usize,
    slow_n: usize,
    long_only: bool,
    cfg: LeanConfig,
    window: Range<usize>,
    block: usize,
) -> (DetailSink, f64) {
    let block = block.max(1);
    let close = bars.close();
    // the simulator never decides itself (`slow_n` out of reach): `decide_in` does, on the
    // block's orders
    let pair = SmaPair {
        fast: &[],
        slow: &[],
        slow_n: usize::MAX,
        long_only,
        gate: None,
    };
    let mut sim = SmaSim::new(pair, cfg, window.end, detail_sink(window.len()));
    let run = Run {
        cols: Cols::of(bars),
        close,
        low: bars.low(),
        high: bars.high(),
        slow_n,
        long_only,
        end: window.end,
    };
    let mut sma = SmaPairState::new(fast_n, slow_n);
    let mut prev = 0u8;
    sma.run(close, window.start, |f, s| prev = order(f, s));
    // the order of the means at bars b0 − 1 .. b1 (index 0: the previous block's last)
    let mut codes = vec![0u8; block + 1];
    let mut b0 = window.start;
    while b0 < window.end {
        let b1 = (b0 + block).min(window.end);
        codes[0] = prev;
        let mut k = 1;
        sma.run(close, b1, |f, s| {
            if let Some(c) = codes.get_mut(k) {
                *c = order(f, s);
            }
            k += 1;
        });
        prev = codes[b1 - b0];
        let c = &codes[..=b1 - b0];
        let at = |t: usize| t + 1 - b0;
        run.drive::<true>(
            &mut sim,
            |from, stop| next_flip(c, at(from), at(stop)) + from - at(from),
            |sim, t| run.decide_in(sim, c[at(t) - 1], c[at(t)], t),
            b0..b1,
        );
        b0 = b1;
    }
    let fees = sim.fees_paid();
    (sim.sink, fees)
}

fn detail_sink(n: usize) -> DetailSink {
    DetailSink {
        equity: Vec::with_capacity(n),
        exposure: Vec::with_capacity(n),
        trades: Vec::new(),
    }
}

/// The order of two means: 1 when `f > s`, 2 when `f < s`, 0 otherwise (equal or `NaN`).
/// A crossing at `t` (`decide`'s test) is a change between 1 and 2 from `t − 1`, i.e.
/// `order(t − 1) ^ order(t) == 3`.
#[inline(always)]
fn order(f: f64, s: f64) -> u8 {
    u8::from(f > s) | (u8::from(f < s) << 1)
}

/// The first `t` in `from..stop` (`from ≥ 1`) with `codes[t − 1] ^ codes[t] == 3`, or `stop`:
/// eight bars per step, as two 64-bit words.
#[inline(always)]
fn next_flip(codes: &[u8], from: usize, stop: usize) -> usize {
    let mut t = from;
    while t + 8 <= stop {
        let (Some(a), Some(b)) = (
            codes[t - 1..].first_chunk::<8>(),
            codes[t..].first_chunk::<8>(),
        ) else {
            break;
        };
        let x = u64::from_le_bytes(*a) ^ u64::from_le_bytes(*b);
        let hit = x & (x >> 1) & 0x0101_0101_0101_0101;
        if hit != 0 {
            return t + (hit.trailing_zeros() / 8) as usize;
        }
        t += 8;
    }
    while t < stop && codes[t - 1] ^ codes[t] != 3 {
        t += 1;
    }
    t
}

/// What a run reads besides the means.
#[derive(Debug, Clone, Copy)]
struct Run<'a> {
    cols: Cols<'a>,
    close: &'a [f64],
    low: &'a [f64],
    high: &'a [f64],
    slow_n: usize,
    long_only: bool,
    /// The window's end.
    end: usize,
}

impl Run<'_> {
    /// Bars `range` of the run (in order, from where `sim` stands). `scan(from, stop)` is the
    /// first crossing in `from..stop` (or `stop`) and `decide` the decision at a bar; `OWN`:
    /// `step` does not decide (the simulator's own decisions are switched off), so `decide`
    /// follows it.
    #[inline(always)]
    fn drive<'c, const OWN: bool>(
        &self,
        sim: &mut SmaSim<'c, DetailSink>,
        scan: impl Fn(usize, usize) -> usize,
        mut decide: impl FnMut(&mut SmaSim<'c, DetailSink>, usize),
        range: Range<usize>,
    ) {
        // stretches stop before the last bar (`step` closes or reports the open trade there)
        let stop = range.end.min(self.end.saturating_sub(1));
        let first_decision = self.slow_n.max(1);
        let cfg = sim.cfg;
        let mut t = range.start;
        while t < range.end {
            if t < stop && sim.pending == Pending::None && !sim.bankrupt && !sim.halted {
                let from = t.max(first_decision);
                let tc = if from < stop { scan(from, stop) } else { stop };
                // bars t..end need nothing but their books; a crossing at `tc` is decided
                let end = if tc < stop { tc + 1 } else { stop };
                let next = match sim.pos {
                    None if !(cfg.min_order_cost > 0.0 && sim.equity < cfg.min_order_cost) => {
                        let e = sim.equity;
                        sim.sink.equity.resize(sim.sink.equity.len() + (end - t), e);
                        let ex = &mut sim.sink.exposure;
                        ex.resize(ex.len() + (end - t), false);
                        end
                    }
                    None => t,
                    Some(_) => self.held(sim, t, end),
                };
                if next > t {
                    if next == end && tc < stop {
                        decide(sim, tc);
                    }
                    t = next;
                    continue;
                }
            }
            sim.step(&self.cols, t);
            // `step` decides on its normal path: not bankrupt, not halted, not the last bar
            if OWN && !sim.bankrupt && !sim.halted && t + 1 < self.end {
                decide(sim, t);
            }
            t += 1;
        }
    }

    /// Bars `t..end` with the position held and nothing pending; returns the first bar not
    /// booked (a liquidation bar is left to `step`).
    #[inline(always)]
    fn held(&self, sim: &mut SmaSim<'_, DetailSink>, t: usize, end: usize) -> usize {
        let Some(mut p) = sim.pos else { return t };
        let (cash, margin, sign) = (sim.cash, p.margin, p.side.sign());
        let (qty, entry) = (p.qty, p.entry_price);
        let eq = &mut sim.sink.equity;
        let base = eq.len();
        eq.extend(
            self.close[t..end]
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
            let k = stretch
                .iter()
                .position(|&e| !(e > 0.0 && e < f64::INFINITY))
                .unwrap_or(end - t);
            eq.truncate(base + k);
            t + k
        };
        if stop > t {
            sim.equity = eq[eq.len() - 1];
            p.min_price = p.min_price.min(min_of(&self.low[t..stop]));
            p.max_price = p.max_price.max(max_of(&self.high[t..stop]));
            sim.pos = Some(p);
            let ex = &mut sim.sink.exposure;
            ex.resize(ex.len() + (stop - t), true);
        }
        stop
    }

    /// `SmaSim::decide` at bar `t` (no gate) from the [`order`]s of the means at `t − 1`
    /// (`before`) and `t` (`now`).
    #[inline(always)]
    fn decide_in(&self, sim: &mut SmaSim<'_, DetailSink>, before: u8, now: u8, t: usize) {
        if t < self.slow_n.max(1) {
            return;
        }
        let side = sim.pos.map(|p| p.side);
        // `pf < ps && f > s`, and `ps < pf && s > f`
        let enter = if before == 2 && now == 1 {
            Side::Long
        } else if before == 1 && now == 2 {
            if !self.long_only {
                Side::Short
            } else {
                if side == Some(Side::Long) {
                    sim.pending = Pending::Exit(Side::Short);
                }
                return;
            }
        } else {
            return;
        };
        if side != Some(enter) {
            sim.pending = Pending::Enter(enter);
        }
    }
}

/// `xs` folded by `pick` (a minimum or a maximum: `pick(x, m)` is `x < m` or `x > m`) from
/// `init`, four running values at a time (prices are positive and finite, so the order of
/// the fold does not matter).
#[inline]
fn extreme_of(xs: &[f64], init: f64, pick: impl Fn(f64, f64) -> bool) -> f64 {
    let better = |m: f64, x: f64| if pick(x, m) { x } else { m };
    let mut m = [init; 4];
    let mut chunks = xs.chunks_exact(4);
    for c in &mut chunks {
        for (m, &x) in m.iter_mut().zip(c) {
            *m = better(*m, x);
        }
    }
    let tail = chunks.remainder().iter().fold(init, |a, &x| better(a, x));
    better(better(better(better(m[0], m[1]), m[2]), m[3]), tail)
}

/// The lowest of `xs` (positive and finite).
#[inline]
fn min_of(xs: &[f64]) -> f64 {
    extreme_of(xs, f64::INFINITY, |x, m| x < m)
}

/// The highest of `xs` (positive and finite).
#[inline]
fn max_of(xs: &[f64]) -> f64 {
    extreme_of(xs, f64::NEG_INFINITY, |x, m| x > m)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::data::Bar;
    use crate::engine::fast::sweep::tests::{cfgs, goog};
    use crate::engine::{BacktestConfig, run_backtest};
    use crate::strategy::sma_cross::SmaCross;

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

    #[test]
    fn next_flip_finds_the_first_crossing() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..200 {
            let n = rng.random_range(1..60usize);
            // runs of one order, so that flips are rare
            let mut codes = Vec::with_capacity(n);
            let mut c = 0u8;
            for _ in 0..n {
                if rng.random_range(0..6) == 0 {
                    c = rng.random_range(0..3);
                }
                codes.push(c);
            }
            for from in 1..n {
                for stop in from..=n {
                    let naive = (from..stop)
                        .find(|&t| codes[t - 1] ^ codes[t] == 3)
                        .unwrap_or(stop);
                    assert_eq!(
                        next_flip(&codes, from, stop),
                        naive,
                        "{codes:?} {from} {stop}"
                    );
                }
            }
        }
    }

    fn same(a: &(DetailSink, f64), b: &(DetailSink, f64), what: &str) {
        let (ea, eb) = (bits(&a.0.equity), bits(&b.0.equity));
        let first = ea.iter().zip(&eb).position(|(x, y)| x != y);
        assert!(
            ea.len() == eb.len() && first.is_none(),
            "{what}: equity differs at {first:?} (lengths {} {})",
            ea.len(),
            eb.len()
        );
        assert_eq!(a.0.exposure, b.0.exposure, "{what}");
        assert_eq!(a.0.trades, b.0.trades, "{what}");
        assert_eq!(a.1.to_bits(), b.1.to_bits(), "{what}");
    }

    /// The fused run (several block sizes) and the run on columns, with and without an
    /// entry gate, against `sweep::run_detail` and (ungated) the engine, bit for bit.
    fn check(bars: &Bars, cfg: &BacktestConfig, f: usize, s: usize, long_only: bool) {
        let lc = LeanConfig::from_backtest(cfg, bars).unwrap();
        let ts = bars.ts_ms();
        let start = cfg.from_ts_ms.map_or(0, |x| ts.partition_point(|&t| t < x));
        let end = cfg
            .to_ts_ms
            .map_or(ts.len(), |x| ts.partition_point(|&t| t <= x));
        let w = start..end;
        let (fast, slow) = sma_columns(bars.close(), f, s);
        let gate: Vec<bool> = (0..bars.len()).map(|i| (i / 7 + i / 3) % 3 != 0).collect();
        for gate in [None, Some(&gate[..])] {
            let pair = SmaPair {
                fast: &fast,
                slow: &slow,
                slow_n: s,
                long_only,
                gate,
            };
            let want = super::super::sweep::run_detail(bars, pair, lc, w.clone());
            same(&run_detail(bars, pair, lc, w.clone()), &want, "columns");
            if gate.is_some() {
                continue;
            }
            same(
                &sma_cross_detail(bars, f, s, long_only, lc, w.clone()),
                &want,
                "fused",
            );
            for block in [1, 5, 64] {
                let got = sma_cross_detail_in(bars, f, s, long_only, lc, w.clone(), block);
                same(&got, &want, "fused, small blocks");
            }
            let mut strat = SmaCross::new(f, s, long_only).unwrap();
            let e = run_backtest(bars, &mut strat, cfg).unwrap();
            let engine = (
                DetailSink {
                    equity: e.equity,
                    exposure: e.exposure,
                    trades: e.trades,
                },
                e.fees_paid,
            );
            same(&want, &engine, &format!("engine {f}/{s} {cfg:?}"));
        }
    }

    #[test]
    fn run_equals_sweep_run_and_engine_on_goog() {
        let bars = goog();
        for cfg in &cfgs() {
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
