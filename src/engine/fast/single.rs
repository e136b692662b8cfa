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

use super::Wide;
use super::sweep::{Cols, DetailSink, LeanConfig, Pending, SmaPair, SmaSim, next_cross};
use crate::core::order::{Side, Trade};
use crate::data::Bars;

pub use crate::strategy::sma_cross::rolling_mean_column;
use crate::strategy::sma_cross::two_sum;

/// Bars per block of [`sma_cross_detail`] (the block's sums, the order words and the
/// block's prices stay in L1).
const BLOCK: usize = 512;

/// Bars per order word: two bits per bar ([`order`]).
const WORD: usize = 32;

/// Per bar, both lanes' `sum + comp` (the means times their periods; NaN for a lane in
/// warm-up): a mean is this divided by its period, [`Kahan::mean`]'s operations.
type Sums = [f64; 2];

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
    pub fn run(&mut self, close: &[f64], end: usize, mut put: impl FnMut(f64, f64)) {
        let end = end.min(close.len());
        let div = self.ns.map(|n| n as f64);
        let mut buf = [[0.0; 2]; 64];
        Wide::detect(true).run(|| {
            while self.t < end {
                let k = (end - self.t).min(buf.len());
                self.sums_into(Wide::detect(true), close, &mut buf[..k]);
                for u in &buf[..k] {
                    put(u[0] / div[0], u[1] / div[1]);
                }
            }
        });
    }

    /// Advance over the next `out.len()` bars of `close` (all of them exist), writing each
    /// bar's [`Sums`] to `out`.
    #[inline(always)]
    fn sums_into(&mut self, isa: Wide, close: &[f64], out: &mut [Sums]) {
        let ns = self.ns;
        let end = self.t + out.len();
        // warm-up: each lane adds, and drops its oldest value once its window is full
        let warm = ns[0].max(ns[1]).min(end);
        let mut k = 0;
        while self.t < warm {
            let t = self.t;
            for (lane, s) in self.lanes.iter_mut().enumerate() {
                if t >= ns[lane] {
                    s.add(-close[t - ns[lane]]);
                }
                s.add(close[t]);
            }
            let u = |lane: usize| {
                let s = self.lanes[lane];
                if t + 1 >= ns[lane] {
                    s.sum + s.comp
                } else {
                    f64::NAN
                }
            };
            out[k] = [u(0), u(1)];
            k += 1;
            self.t += 1;
        }
        if self.t < end {
            let range = self.t..end;
            match isa {
                Wide::Baseline => steady_scalar(close, ns, range, &mut self.lanes, &mut out[k..]),
                #[cfg(target_arch = "x86_64")]
                Wide::Avx2(v3) => avx::steady(v3, close, ns, range, &mut self.lanes, &mut out[k..]),
            }
            self.t = end;
        }
    }
}

/// A compensated running sum, `RollingMean`'s (its [`two_sum`]).
#[derive(Debug, Clone, Copy, Default)]
struct Kahan {
    sum: f64,
    comp: f64,
}

impl Kahan {
    #[inline(always)]
    fn add(&mut self, x: f64) {
        (self.sum, self.comp) = two_sum(self.sum, self.comp, x);
    }
}

/// Bars `range` of [`SmaPairState::sums_into`], both windows full (`range.start ≥` both
/// periods), lane by lane.
#[inline(always)]
fn steady_scalar(
    close: &[f64],
    ns: [usize; 2],
    range: Range<usize>,
    state: &mut [Kahan; 2],
    out: &mut [Sums],
) {
    let [mut f, mut s] = *state;
    for (t, o) in range.zip(out) {
        f.add(-close[t - ns[0]]);
        s.add(-close[t - ns[1]]);
        f.add(close[t]);
        s.add(close[t]);
        *o = [f.sum + f.comp, s.sum + s.comp];
    }
    *state = [f, s];
}

/// The order words of a block from its [`Sums`] (`sums[i]` is bar `b0 + i`): bits `2i`,
/// `2i + 1` of word `i / WORD` hold [`order`] of bar `b0 + i`'s means, and the same bits of
/// `flips` are `01` where that bar's order flips between 1 and 2 from the bar before (`prev`
/// is the order of bar `b0 − 1`). Returns the last bar's order.
#[inline(always)]
fn order_words(
    isa: Wide,
    sums: &[Sums],
    div: [f64; 2],
    prev: u8,
    codes: &mut [u64],
    flips: &mut [u64],
) -> u8 {
    for (chunk, code) in sums.chunks(WORD).zip(codes.iter_mut()) {
        let mut w = 0u64;
        let pairs = chunk.chunks_exact(2);
        let tail = pairs.remainder();
        match isa {
            #[cfg(target_arch = "x86_64")]
            Wide::Avx2(v3) if chunk.len() == WORD => {
                // a whole word: a loop of known length (unrolled)
                for i in 0..WORD / 2 {
                    w |= u64::from(avx::orders2(v3, &chunk[2 * i..2 * i + 2], div)) << (4 * i);
                }
            }
            Wide::Baseline => {
                for (i, u) in chunk.iter().enumerate() {
                    w |= u64::from(order(u[0] / div[0], u[1] / div[1])) << (2 * i);
                }
            }
            #[cfg(target_arch = "x86_64")]
            Wide::Avx2(v3) => {
                for (i, p) in pairs.enumerate() {
                    w |= u64::from(avx::orders2(v3, p, div)) << (4 * i);
                }
                if let [u] = tail {
                    w |= u64::from(order(u[0] / div[0], u[1] / div[1])) << (2 * (chunk.len() - 1));
                }
            }
        }
        *code = w;
    }
    flip_words(codes, sums.len(), prev, flips)
}

/// The flips of `n` bars' order words `codes` ([`order_words`]' layout; `prev` is the order
/// of the bar before the first) into `flips`; returns the last bar's order (`prev` when
/// `n` is 0).
#[inline(always)]
fn flip_words(codes: &[u64], n: usize, prev: u8, flips: &mut [u64]) -> u8 {
    // a bar's order against the one before (the previous word's last, or `prev`)
    let words = n.div_ceil(WORD);
    let mut before = u64::from(prev);
    for (w, f) in codes[..words].iter().zip(flips.iter_mut()) {
        let x = w ^ (w << 2 | before);
        *f = x & (x >> 1) & 0x5555_5555_5555_5555;
        before = w >> 62;
    }
    match n {
        0 => prev,
        n => code_at(codes, n - 1),
    }
}

/// The order words and flips of the next `sums.len()` bars of `sma` over `close` (none
/// negative: [`Bars`]' closes), as [`SmaPairState::sums_into`] then [`order_words`]: with
/// AVX2 and both windows full in one loop that stores no sums
/// ([`avx::steady_codes`]), else through the block buffer `sums`. Returns the last bar's
/// order.
#[inline(always)]
fn block_codes(
    isa: Wide,
    sma: &mut SmaPairState,
    close: &[f64],
    sums: &mut [Sums],
    prev: u8,
    codes: &mut [u64],
    flips: &mut [u64],
) -> u8 {
    let n = sums.len();
    let div = sma.ns.map(|k| k as f64);
    match isa {
        #[cfg(target_arch = "x86_64")]
        Wide::Avx2(v3) if sma.t >= sma.ns[0].max(sma.ns[1]) => {
            let range = sma.t..sma.t + n;
            avx::steady_codes(v3, close, sma.ns, range, &mut sma.lanes, div, codes);
            sma.t += n;
            flip_words(codes, n, prev, flips)
        }
        _ => {
            sma.sums_into(isa, close, sums);
            order_words(isa, sums, div, prev, codes, flips)
        }
    }
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
        isa: Wide::Baseline,
        cols: Cols::of(bars),
        open: bars.open(),
        close: bars.close(),
        low: bars.low(),
        high: bars.high(),
        slow_n: pair.slow_n,
        long_only: pair.long_only,
        end: window.end,
    };
    run.drive::<false>(&mut sim, &Columns(pair), window);
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
    sma_cross_detail_in(bars, [fast_n, slow_n], long_only, cfg, window, BLOCK, true)
}

/// [`sma_cross_detail`] in blocks of `block` bars (≥ 1; the tests use small ones), with AVX2
/// where the CPU has it and `wide`.
fn sma_cross_detail_in(
    bars: &Bars,
    ns: [usize; 2],
    long_only: bool,
    cfg: LeanConfig,
    window: Range<usize>,
    block: usize,
    wide: bool,
) -> (DetailSink, f64) {
    let isa = Wide::detect(wide);
    isa.run(Fused {
        isa,
        bars,
        ns,
        long_only,
        cfg,
        window,
        block,
    })
}

/// [`fused`]'s arguments, called in `isa`'s context: an `#[inline(always)]` call, so that
/// the body compiles inside the AVX2 context whatever its size (a closure may be left out of
/// line, and its intrinsics become calls).
struct Fused<'a> {
    isa: Wide,
    bars: &'a Bars,
    ns: [usize; 2],
    long_only: bool,
    cfg: LeanConfig,
    window: Range<usize>,
    block: usize,
}

impl pulp::NullaryFnOnce for Fused<'_> {
    type Output = (DetailSink, f64);
    #[inline(always)]
    fn call(self) -> Self::Output {
        let f = self;
        fused(f.isa, f.bars, f.ns, f.long_only, f.cfg, f.window, f.block)
    }
}

/// The body of [`sma_cross_detail_in`], in `isa`'s context. Per block: the chain of both
/// compensated sums alone in one loop ([`SmaPairState::sums_into`], into a block buffer),
/// then the means' orders and their flips as bit words ([`order_words`]), then the run.
#[inline(always)]
fn fused(
    isa: Wide,
    bars: &Bars,
    ns: [usize; 2],
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
        isa,
        cols: Cols::of(bars),
        open: bars.open(),
        close,
        low: bars.low(),
        high: bars.high(),
        slow_n: ns[1],
        long_only,
        end: window.end,
    };
    let mut sma = SmaPairState::new(ns[0], ns[1]);
    let mut sums = vec![[0.0; 2]; block];
    let words = block.div_ceil(WORD);
    let (mut codes, mut flips) = (vec![0u64; words], vec![0u64; words]);
    // bars before the window: only the last one's order matters
    let mut prev = 0u8;
    while sma.t < window.start {
        let k = (window.start - sma.t).min(block);
        prev = block_codes(
            isa,
            &mut sma,
            close,
            &mut sums[..k],
            prev,
            &mut codes,
            &mut flips,
        );
    }
    let mut seen = 0;
    let mut b0 = window.start;
    while b0 < window.end {
        let b1 = (b0 + block).min(window.end);
        let n = b1 - b0;
        let before = prev;
        prev = block_codes(
            isa,
            &mut sma,
            close,
            &mut sums[..n],
            prev,
            &mut codes,
            &mut flips,
        );
        reserve_trades(
            &mut sim.sink.trades,
            &flips[..n.div_ceil(WORD)],
            &mut seen,
            b1 - window.start,
            window.end - b1,
        );
        let signals = Codes {
            run: &run,
            codes: &codes,
            flips: &flips,
            b0,
            before,
        };
        run.drive::<true>(&mut sim, &signals, b0..b1);
        b0 = b1;
    }
    let fees = sim.fees_paid();
    (sim.sink, fees)
}

/// Room in `trades` for a block with the flips `flips` (each closes at most one trade, plus
/// one liquidation or end): when short, for the rest of the window too (`left` bars after
/// the block, at the rate of flips seen in the `done` bars so far), so the vector grows a
/// few times per run instead of doubling from empty (every doubling copies it).
#[inline(always)]
fn reserve_trades(
    trades: &mut Vec<Trade>,
    flips: &[u64],
    seen: &mut usize,
    done: usize,
    left: usize,
) {
    let now = flips.iter().map(|w| w.count_ones() as usize).sum::<usize>() + 2;
    *seen += now;
    if trades.capacity() - trades.len() < now {
        let rest = (*seen).saturating_mul(left) / done.max(1);
        trades.reserve_exact(now.saturating_add(rest));
    }
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

/// The [`order`] of bar `i` in the words of [`order_words`].
#[inline(always)]
fn code_at(codes: &[u64], i: usize) -> u8 {
    ((codes[i / WORD] >> (2 * (i % WORD))) & 3) as u8
}

/// The first bar `i` in `from..stop` whose bit pair in `flips` ([`order_words`]) is set, or
/// `stop`: one word (32 bars) per step.
#[inline(always)]
fn next_flip(flips: &[u64], from: usize, stop: usize) -> usize {
    if from >= stop {
        return stop;
    }
    let mut k = from / WORD;
    let mut w = flips[k] & (u64::MAX << (2 * (from % WORD)));
    loop {
        if w != 0 {
            return (k * WORD + (w.trailing_zeros() / 2) as usize).min(stop);
        }
        k += 1;
        if k * WORD >= stop {
            return stop;
        }
        w = flips[k];
    }
}

/// Where a run's crossings come from: the first one in `from..stop` (or `stop`), and the
/// decision at a bar. Methods rather than closures, so that they inline into
/// [`Run::drive`]'s loop whatever its size.
trait Signals<'c> {
    fn scan(&self, from: usize, stop: usize) -> usize;
    fn decide(&self, sim: &mut SmaSim<'c, DetailSink>, t: usize);
}

/// The SMA columns of [`run_detail`]: `next_cross` and `SmaSim::decide`.
struct Columns<'c>(SmaPair<'c>);

impl<'c> Signals<'c> for Columns<'c> {
    #[inline(always)]
    fn scan(&self, from: usize, stop: usize) -> usize {
        next_cross(self.0.fast, self.0.slow, from, stop)
    }
    #[inline(always)]
    fn decide(&self, sim: &mut SmaSim<'c, DetailSink>, t: usize) {
        sim.decide(t);
    }
}

/// One block's order words and flips ([`order_words`]) of [`fused`], from bar `b0`;
/// `before` is the order at `b0 − 1`.
struct Codes<'a> {
    run: &'a Run<'a>,
    codes: &'a [u64],
    flips: &'a [u64],
    b0: usize,
    before: u8,
}

impl Codes<'_> {
    /// The order at bar `t` (`b0 − 1` or in the block).
    #[inline(always)]
    fn code(&self, t: usize) -> u8 {
        if t < self.b0 {
            self.before
        } else {
            code_at(self.codes, t - self.b0)
        }
    }
}

impl<'c> Signals<'c> for Codes<'_> {
    #[inline(always)]
    fn scan(&self, from: usize, stop: usize) -> usize {
        self.b0 + next_flip(self.flips, from - self.b0, stop - self.b0)
    }
    #[inline(always)]
    fn decide(&self, sim: &mut SmaSim<'c, DetailSink>, t: usize) {
        self.run.decide_in(sim, self.code(t - 1), self.code(t), t);
    }
}

/// What a run reads besides the means.
#[derive(Debug, Clone, Copy)]
struct Run<'a> {
    isa: Wide,
    cols: Cols<'a>,
    open: &'a [f64],
    close: &'a [f64],
    low: &'a [f64],
    high: &'a [f64],
    slow_n: usize,
    long_only: bool,
    /// The window's end.
    end: usize,
}

impl Run<'_> {
    /// Bars `range` of the run (in order, from where `sim` stands), crossings from `sig`;
    /// `OWN`: `step` does not decide (the simulator's own decisions are switched off), so
    /// `sig.decide` follows it.
    #[inline(always)]
    fn drive<'c, const OWN: bool>(
        &self,
        sim: &mut SmaSim<'c, DetailSink>,
        sig: &impl Signals<'c>,
        range: Range<usize>,
    ) {
        // stretches stop before the last bar (`step` closes or reports the open trade there)
        let stop = range.end.min(self.end.saturating_sub(1));
        let first_decision = self.slow_n.max(1);
        let cfg = sim.cfg;
        let mut t = range.start;
        while t < range.end {
            if t < stop && !matches!(sim.pending, Pending::None) && self.fills_nothing(sim, t) {
                // `step` would book bar `t` as a flat bar: let the stretch below do it
                sim.pending = Pending::None;
            }
            if t < stop && matches!(sim.pending, Pending::None) && !sim.bankrupt && !sim.halted {
                let from = t.max(first_decision);
                let tc = if from < stop {
                    sig.scan(from, stop)
                } else {
                    stop
                };
                // bars t..end need nothing but their books; a crossing at `tc` is decided
                let end = if tc < stop { tc + 1 } else { stop };
                let next = match sim.pos {
                    None if !(cfg.min_order_cost > 0.0 && sim.equity < cfg.min_order_cost) => {
                        let e = sim.equity;
                        sim.sink.equity.extend(std::iter::repeat_n(e, end - t));
                        let ex = &mut sim.sink.exposure;
                        ex.resize(ex.len() + (end - t), false);
                        end
                    }
                    None => t,
                    Some(_) => self.held(sim, t, end),
                };
                if next > t {
                    if next == end && tc < stop {
                        sig.decide(sim, tc);
                    }
                    t = next;
                    continue;
                }
            }
            sim.step(&self.cols, t);
            // `step` decides on its normal path: not bankrupt, not halted, not the last bar
            if OWN && !sim.bankrupt && !sim.halted && t + 1 < self.end {
                sig.decide(sim, t);
            }
            t += 1;
        }
    }

    /// Whether the pending order's fill at the open of bar `t` (`t` not the last bar) leaves a
    /// flat run flat and changes nothing but the order: an exit with nothing to close, or an
    /// entry `SmaSim::fill` refuses (its price, size and tests) while the books stay
    /// `cash + 0.0`, positive and finite. `step` then books `t` as any flat bar.
    #[inline(always)]
    fn fills_nothing(&self, sim: &SmaSim<'_, DetailSink>, t: usize) -> bool {
        let e = sim.equity;
        if sim.pos.is_some()
            || sim.bankrupt
            || sim.halted
            || (sim.cash + 0.0).to_bits() != e.to_bits()
            || !(e.is_finite() && e > 0.0)
        {
            return false;
        }
        let side = match sim.pending {
            Pending::None => return false,
            Pending::Exit(_) => return true,
            Pending::Enter(side) => side,
        };
        let price = sim.slipped(side == Side::Long, self.open[t]);
        sim.entry_qty(price, sim.cash).is_none()
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
        // `sign * qty * (c - entry)` is `(sign * qty) * (c - entry)`
        let k = sign * qty;
        eq.extend(
            self.close[t..end]
                .iter()
                .map(|&c| cash + (margin + k * (c - entry))),
        );
        let stretch = &eq[base..];
        let stop = if positive_finite(self.isa, stretch) {
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

/// Whether every value of `xs` is positive and finite (the equity check of `step`).
#[inline(always)]
fn positive_finite(isa: Wide, xs: &[f64]) -> bool {
    let ok = |e: f64| e > 0.0 && e < f64::INFINITY;
    match isa {
        Wide::Baseline => xs.iter().all(|&e| ok(e)),
        #[cfg(target_arch = "x86_64")]
        Wide::Avx2(v3) => {
            let quads = xs.chunks_exact(4);
            let tail = quads.remainder();
            avx::positive_finite(v3, quads) && tail.iter().all(|&e| ok(e))
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

/// The AVX2 (x86-64 v3) kernels, entered through `pulp`'s safe dispatch (the crate forbids
/// `unsafe`): the same operations as the portable code, lane by lane.
#[cfg(target_arch = "x86_64")]
mod avx {
    use core::arch::x86_64::{__m128d, __m256d};
    use std::ops::Range;
    use std::slice::ChunksExact;

    use pulp::x86::V3;

    use super::{Kahan, Sums, WORD};
    use crate::strategy::sma_cross::sse2::two_sum_lanes;

    /// `_CMP_GT_OQ` and `_CMP_LT_OQ` (false on NaN, as Rust's `>` and `<`).
    const GT: i32 = 0x1e;
    const LT: i32 = 0x11;

    /// `Kahan::add` in both lanes: the streaming pair's [`two_sum_lanes`].
    #[inline(always)]
    fn add(v: V3, sc: (__m128d, __m128d), x: __m128d) -> (__m128d, __m128d) {
        two_sum_lanes(v.sse2, sc, x)
    }

    /// Both lanes' sums and compensations of `state`.
    #[inline(always)]
    fn load(state: &[Kahan; 2]) -> (__m128d, __m128d) {
        (
            pulp::cast([state[0].sum, state[1].sum]),
            pulp::cast([state[0].comp, state[1].comp]),
        )
    }

    /// [`load`] undone: the lanes back into `state`.
    #[inline(always)]
    fn store(state: &mut [Kahan; 2], (s, c): (__m128d, __m128d)) {
        let (s, c): (Sums, Sums) = (pulp::cast(s), pulp::cast(c));
        state[0] = Kahan {
            sum: s[0],
            comp: c[0],
        };
        state[1] = Kahan {
            sum: s[1],
            comp: c[1],
        };
    }

    /// [`super::steady_scalar`] with both lanes in one vector: per bar the two dependent
    /// compensated adds of each lane (drop the oldest value, add the newest), nothing else
    /// but the store of `sum + comp`.
    #[inline(always)]
    pub(super) fn steady(
        v: V3,
        close: &[f64],
        ns: [usize; 2],
        range: Range<usize>,
        state: &mut [Kahan; 2],
        out: &mut [Sums],
    ) {
        let x2 = &v.sse2;
        let mut sc = load(state);
        let xs = close[range.clone()].iter();
        let olds = close[range.start - ns[0]..]
            .iter()
            .zip(&close[range.start - ns[1]..]);
        for ((&x, (&of, &os)), o) in xs.zip(olds).zip(out) {
            sc = add(v, sc, pulp::cast([-of, -os]));
            sc = add(v, sc, x2._mm_set1_pd(x));
            *o = pulp::cast(x2._mm_add_pd(sc.0, sc.1));
        }
        store(state, sc);
    }

    /// [`steady`] and [`super::order_words`]' codes in one loop, for closes none of which is
    /// negative (NaN, infinities, zeros of either sign and subnormals allowed; [`Bars`]'
    /// are positive and finite): bits `2i`, `2i + 1` of `codes[i / WORD]` get the
    /// [`super::order`] of bar `range.start + i`'s means (its sums over `div`), and no sums
    /// are stored. The sums are [`steady`]'s operations (since session 14 they do not depend
    /// on the closes' signs, but only non-negative closes are tested here), and the orders
    /// are [`orders2`]'s (two bars per divide) or the same per bar.
    ///
    /// [`Bars`]: crate::data::Bars
    #[inline(always)]
    pub(super) fn steady_codes(
        v: V3,
        close: &[f64],
        ns: [usize; 2],
        range: Range<usize>,
        state: &mut [Kahan; 2],
        div: [f64; 2],
        codes: &mut [u64],
    ) {
        let (x2, a) = (&v.sse2, &v.avx);
        let sign = x2._mm_set1_pd(-0.0);
        let d1: __m128d = pulp::cast(div);
        let d2 = a._mm256_set_m128d(d1, d1);
        // one bar: drop the oldest values (`old`), add the newest (`x`); `sum + comp`
        let bar = |s: __m128d, c: __m128d, of: f64, os: f64, x: f64| {
            let old: __m128d = pulp::cast([of, os]);
            let (s, c) = add(v, (s, c), x2._mm_xor_pd(old, sign));
            let x = x2._mm_set1_pd(x);
            let (s, c) = add(v, (s, c), x);
            (s, c, x2._mm_add_pd(s, c))
        };
        let (mut s, mut c) = load(state);
        let (start, end) = (range.start, range.end);
        let now = &close[range];
        let olds = (
            &close[start - ns[0]..end - ns[0]],
            &close[start - ns[1]..end - ns[1]],
        );
        let words = now
            .chunks(WORD)
            .zip(olds.0.chunks(WORD).zip(olds.1.chunks(WORD)));
        for ((xs, (ofs, oss)), code) in words.zip(codes.iter_mut()) {
            let mut w = 0u64;
            if let (Ok(xs), Ok(ofs), Ok(oss)) = (
                <&[f64; WORD]>::try_from(xs),
                <&[f64; WORD]>::try_from(ofs),
                <&[f64; WORD]>::try_from(oss),
            ) {
                // a whole word, two bars per divide (a loop of known length, unrolled)
                for i in 0..WORD / 2 {
                    let (j, k) = (2 * i, 2 * i + 1);
                    let u0;
                    let u1;
                    (s, c, u0) = bar(s, c, ofs[j], oss[j], xs[j]);
                    (s, c, u1) = bar(s, c, ofs[k], oss[k], xs[k]);
                    let m = a._mm256_div_pd(a._mm256_set_m128d(u1, u0), d2);
                    let swapped = a._mm256_permute_pd::<0b0101>(m);
                    let bits = a._mm256_movemask_pd(a._mm256_cmp_pd::<GT>(m, swapped));
                    w |= u64::from(bits as u32) << (4 * i);
                }
            } else {
                for (i, ((&x, &of), &os)) in xs.iter().zip(ofs).zip(oss).enumerate() {
                    let u;
                    (s, c, u) = bar(s, c, of, os, x);
                    let m = x2._mm_div_pd(u, d1);
                    let swapped = a._mm_permute_pd::<0b01>(m);
                    let bits = x2._mm_movemask_pd(x2._mm_cmpgt_pd(m, swapped));
                    w |= u64::from(bits as u32) << (2 * i);
                }
            }
            *code = w;
        }
        store(state, (s, c));
    }

    /// The [`super::order`]s of two bars' sums (`p[0]`, `p[1]`) as four bits: each bar's
    /// means (sums over `div`) compared both ways at once against their swapped selves.
    #[inline(always)]
    pub(super) fn orders2(v: V3, p: &[Sums], div: [f64; 2]) -> u32 {
        let a = &v.avx;
        let u: __m256d = pulp::cast([p[0][0], p[0][1], p[1][0], p[1][1]]);
        let m = a._mm256_div_pd(u, pulp::cast([div[0], div[1], div[0], div[1]]));
        // lanes (f0 > s0, s0 > f0, f1 > s1, s1 > f1): bits 1 for f > s, 2 for f < s
        let swapped = a._mm256_permute_pd::<0b0101>(m);
        a._mm256_movemask_pd(a._mm256_cmp_pd::<GT>(m, swapped)) as u32
    }

    /// Whether every value of the quads is positive and finite.
    #[inline(always)]
    pub(super) fn positive_finite(v: V3, quads: ChunksExact<'_, f64>) -> bool {
        let a = &v.avx;
        let (zero, inf) = (a._mm256_set1_pd(0.0), a._mm256_set1_pd(f64::INFINITY));
        let mut ok: __m256d = a._mm256_cmp_pd::<LT>(zero, inf);
        for q in quads {
            let e: __m256d = pulp::cast([q[0], q[1], q[2], q[3]]);
            let good = a._mm256_and_pd(
                a._mm256_cmp_pd::<GT>(e, zero),
                a._mm256_cmp_pd::<LT>(e, inf),
            );
            ok = a._mm256_and_pd(ok, good);
        }
        a._mm256_movemask_pd(ok) == 0b1111
    }
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

    /// Both instruction sets (AVX2 only where the CPU has it).
    fn isas() -> [Wide; 2] {
        [Wide::Baseline, Wide::detect(true)]
    }

    #[test]
    fn order_words_and_next_flip_follow_the_per_bar_tests() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // few distinct values, so that ties (order 0) and NaN (warm-up) occur
        let vals = [f64::NAN, 1.0, 2.0, 3.0, 6.0];
        for round in 0..300 {
            let n = rng.random_range(1..100usize);
            let div = [[1.0, 1.0], [2.0, 3.0], [3.0, 2.0]][round % 3];
            // runs of one value, so that flips are rare
            let mut sums = Vec::with_capacity(n);
            let mut u = [1.0, 2.0];
            for _ in 0..n {
                if rng.random_range(0..5) == 0 {
                    u = [
                        vals[rng.random_range(0..vals.len())],
                        vals[rng.random_range(0..vals.len())],
                    ];
                }
                sums.push(u);
            }
            let prev: u8 = rng.random_range(0..3);
            let mut naive = vec![prev];
            naive.extend(sums.iter().map(|u| order(u[0] / div[0], u[1] / div[1])));
            for isa in isas() {
                let words = n.div_ceil(WORD);
                let (mut codes, mut flips) = (vec![0u64; words], vec![!0u64; words]);
                let last = isa.run(|| order_words(isa, &sums, div, prev, &mut codes, &mut flips));
                assert_eq!(last, naive[n], "{isa:?}");
                for i in 0..n {
                    assert_eq!(code_at(&codes, i), naive[i + 1], "{isa:?} {i}");
                }
                for from in 0..n {
                    for stop in from..=n {
                        let want = (from..stop)
                            .find(|&i| naive[i] ^ naive[i + 1] == 3)
                            .unwrap_or(stop);
                        assert_eq!(
                            next_flip(&flips, from, stop),
                            want,
                            "{isa:?} {naive:?} {from} {stop}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn sums_equal_rolling_means_on_any_values() {
        // negative values, zeros, huge magnitudes and non-finite values: `Kahan::add`'s
        // branch both ways, and NaN from the first non-finite value on
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let pick = [
            0.0,
            -0.0,
            1e300,
            -1e300,
            3.5,
            -2.25,
            1e-300,
            f64::INFINITY,
            f64::NAN,
        ];
        for round in 0..60 {
            let n = rng.random_range(0..300usize);
            let close: Vec<f64> = (0..n)
                .map(|i| {
                    if round % 2 == 0 && i % 37 == 36 {
                        pick[rng.random_range(0..pick.len())]
                    } else {
                        rng.random_range(-1e6..1e6) * if i % 11 == 0 { 1e12 } else { 1.0 }
                    }
                })
                .collect();
            let (f, s) = (rng.random_range(1..12), rng.random_range(1..40));
            let want = [
                rolling_mean_column(&close, f),
                rolling_mean_column(&close, s),
            ];
            let eq = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            for isa in isas() {
                let mut st = SmaPairState::new(f, s);
                let mut sums = vec![[0.0; 2]; n];
                // in uneven pieces, as blocks
                let mut at = 0;
                while at < n {
                    let k = (n - at).min(rng.random_range(1..50));
                    isa.run(|| st.sums_into(isa, &close, &mut sums[at..at + k]));
                    at += k;
                }
                for (t, u) in sums.iter().enumerate() {
                    for lane in 0..2 {
                        let m = u[lane] / [f, s][lane] as f64;
                        assert!(
                            eq(m, want[lane][t]),
                            "{isa:?} {t} {lane} {m} {}",
                            want[lane][t]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn steady_codes_equal_sums_then_order_words_on_non_negative_values() {
        // no negative value, but NaN, infinities, zeros of both signs, subnormals and
        // magnitudes whose sums overflow; lengths around the word and block sizes
        let Wide::Avx2(v3) = Wide::detect(true) else {
            return;
        };
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let pick = [
            0.0,
            -0.0,
            f64::MIN_POSITIVE / 8.0,
            5e-324,
            1e300,
            f64::MAX,
            3.5,
            f64::INFINITY,
            f64::NAN,
        ];
        let lens = [0, 1, 2, 31, 32, 33, 63, 64, 65, 100, 511, 512, 513];
        for round in 0..120 {
            let n = lens[round % lens.len()];
            let (f, sl) = (rng.random_range(1..12), rng.random_range(1..40));
            let warm = f.max(sl) + rng.random_range(0..5);
            let close: Vec<f64> = (0..warm + n)
                .map(|i| {
                    if round % 3 == 0 && i % 29 == 28 {
                        pick[rng.random_range(0..pick.len())]
                    } else if round % 3 == 1 {
                        // ties: few distinct values
                        [1.0, 2.0, 4.0][rng.random_range(0..3)]
                    } else {
                        rng.random_range(0.0..1e6) * if i % 13 == 0 { 1e12 } else { 1.0 }
                    }
                })
                .collect();
            let mut st = SmaPairState::new(f, sl);
            let mut pre = vec![[0.0; 2]; warm];
            st.sums_into(Wide::Baseline, &close, &mut pre);
            let div = st.ns.map(|k| k as f64);
            // the reference: sums, then order words
            let mut a = st;
            let mut sums = vec![[0.0; 2]; n];
            a.sums_into(Wide::Baseline, &close, &mut sums);
            let words = n.div_ceil(WORD);
            let (mut want, mut flips) = (vec![0u64; words], vec![0u64; words]);
            order_words(Wide::Baseline, &sums, div, 0, &mut want, &mut flips);
            let mut b = st;
            let mut got = vec![!0u64; words];
            Wide::Avx2(v3).run(|| {
                avx::steady_codes(
                    v3,
                    &close,
                    b.ns,
                    warm..warm + n,
                    &mut b.lanes,
                    div,
                    &mut got,
                )
            });
            assert_eq!(got, want, "round {round}, {n} bars, {f}/{sl}");
            // the states carry on alike (NaN payloads aside)
            for lane in 0..2 {
                let (x, y) = (a.lanes[lane], b.lanes[lane]);
                let eq = |p: f64, q: f64| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan());
                assert!(
                    eq(x.sum, y.sum) && eq(x.comp, y.comp),
                    "round {round} lane {lane}"
                );
            }
        }
    }

    #[test]
    fn fused_equals_the_engine_around_word_and_block_sizes() {
        let cfg = BacktestConfig::default();
        for n in [1, 2, 3, 31, 32, 33, 511, 512, 513, 1025] {
            let bars = walk(n, 40 + n as u64, 0.02, n / 2, 1.0);
            for (f, s) in [(2, 3), (5, 9), (10, 20)] {
                check(&bars, &cfg, f, s, false);
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
            for block in [1, 5, 31, 32, 33, 64, 100] {
                for wide in [false, true] {
                    let got =
                        sma_cross_detail_in(bars, [f, s], long_only, lc, w.clone(), block, wide);
                    same(
                        &got,
                        &want,
                        &format!("fused, blocks of {block}, wide {wide}"),
                    );
                }
            }
            let mut strat = SmaCross::new(f, s, long_only).unwrap();
            let e = run_backtest(bars, &mut strat, cfg).unwrap();
            let engine = (
                DetailSink {
                    equity: e.equity.to_vec(),
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

    #[test]
    fn refused_entries_book_flat_bars_like_the_engine() {
        // a draining run (2/3 on a choppy walk with fees) ends up unable to buy a unit, and
        // a minimum notional near the cash refuses some entries from the start
        let bars = walk(3000, 21, 0.05, 1500, 1.0);
        for (commission, min_notional) in [(0.01, 0.0), (0.0, 9_000.0), (0.002, 9_990.0)] {
            let cfg = BacktestConfig {
                commission,
                min_notional,
                ..BacktestConfig::default()
            };
            for (f, s, lo) in [(2, 3, false), (3, 7, true), (5, 9, false)] {
                check(&bars, &cfg, f, s, lo);
            }
        }
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
