//! The lane kernel of a sweep: many `sma-cross` combinations advanced together, bar by bar,
//! over a cache-sized block of bars, with the state of every combination in
//! structure-of-arrays lanes.
//!
//! Between events a combination's bar is a handful of floating-point operations: its equity
//! `cash + (margin + sign·qty·(close − entry))` (a flat run's is its constant equity), the
//! running minimum of its equity, and three tests: a crossing of its two SMAs, a new equity
//! peak, an equity that is not positive and finite. The block's SMA columns are transposed
//! once per block into rows (one row of every distinct column per bar), so that the
//! combinations sharing a fast column and taking consecutive slow columns (a *run*; the
//! `sma-cross` grid is made of them) read their slow values from one contiguous slice: the
//! per-bar loop over a run's lanes is branch-free and vectorises.
//!
//! Everything else is an event for one lane, handled by the scalar [`SmaSim`] itself, so the
//! results are its own bit for bit: a new peak closes a drawdown run (one division); a
//! crossing calls `decide`; an order to fill, a liquidation and the last bar run `step`. A
//! lane whose state the vector pass cannot express (an order pending) stays scalar until it
//! can. Bars before every lane can decide run through [`SmaSim::run`].
//!
//! Not what `sweep` runs: it measures slower than `SmaSim::run` per combination and than
//! the extremes kernel `run_chunks` (docs/bench_results.md, session 5).

use super::{Cols, Pending, SmaPair, SmaSim, SummarySink};
use std::ops::Range;

/// Where a lane's state lives.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// In the lanes' arrays since bar `since` (the books and the sink wait in the `SmaSim`).
    Vector { since: usize, held: bool },
    /// In its `SmaSim`, which steps every bar.
    Scalar,
}

/// The lanes of one group: structure-of-arrays state, indexed like the group's sims.
struct Lanes {
    /// Equity terms: `cash + (margin + sq·(close − entry))`; a flat lane has its equity
    /// as `cash` and zeros (which leave it unchanged, bit for bit).
    cash: Vec<f64>,
    margin: Vec<f64>,
    sq: Vec<f64>,
    entry: Vec<f64>,
    /// An equity at or below it (or not finite) is an event: 0 when a position is held,
    /// −1 when flat (a flat lane's equity is its own and never liquidates).
    floor: Vec<f64>,
    /// The sink's running peak, run minimum and deepest drawdown.
    peak: Vec<f64>,
    run_min: Vec<f64>,
    max_dd: Vec<f64>,
    /// This bar's events: bit 0 a crossing, bit 1 a bad equity, bit 2 a new peak.
    flags: Vec<u64>,
    mode: Vec<Mode>,
}

const CROSS: u64 = 1;
const BAD: u64 = 2;
const PEAK: u64 = 4;

/// Consecutive lanes `lanes` that share the fast column (`fast` in a row) and read their
/// slow columns from `slow..slow + lanes.len()` of a row.
#[derive(Debug, Clone)]
struct Run {
    lanes: Range<usize>,
    fast: usize,
    slow: usize,
}

impl Lanes {
    fn new(n: usize) -> Self {
        Lanes {
            cash: vec![0.0; n],
            margin: vec![0.0; n],
            sq: vec![0.0; n],
            entry: vec![0.0; n],
            floor: vec![0.0; n],
            peak: vec![0.0; n],
            run_min: vec![0.0; n],
            max_dd: vec![0.0; n],
            flags: vec![0; n],
            mode: vec![Mode::Scalar; n],
        }
    }

    /// Lane `k`'s equity at close `close` (its `SmaSim::step` value while in vector mode).
    #[inline(always)]
    fn equity(&self, k: usize, close: f64) -> f64 {
        self.cash[k] + (self.margin[k] + self.sq[k] * (close - self.entry[k]))
    }

    /// After `sim` processed bar `t − 1`: take its state into lane `k` from bar `t` when
    /// the vector pass can carry it, else leave it scalar.
    fn enter(&mut self, k: usize, sim: &SmaSim<'_, SummarySink<'_>>, t: usize) {
        self.mode[k] = Mode::Scalar;
        if sim.pending != Pending::None {
            return;
        }
        let held = match sim.pos {
            Some(p) => {
                self.cash[k] = sim.cash;
                self.margin[k] = p.margin;
                self.sq[k] = p.side.sign() * p.qty;
                self.entry[k] = p.entry_price;
                self.floor[k] = 0.0;
                true
            }
            None => {
                // `equity + 0.0` must be `equity`: true except for −0.0
                if sim.equity == 0.0 && sim.equity.is_sign_negative() {
                    return;
                }
                self.cash[k] = sim.equity;
                self.margin[k] = 0.0;
                self.sq[k] = 0.0;
                self.entry[k] = 0.0;
                self.floor[k] = -1.0;
                false
            }
        };
        self.peak[k] = sim.sink.peak;
        self.run_min[k] = sim.sink.run_min;
        self.max_dd[k] = sim.sink.max_dd;
        self.mode[k] = Mode::Vector { since: t, held };
    }

    /// Hand lane `k`'s vector state through bar `last` (nothing when `last < since`) back
    /// to `sim`, leaving the lane scalar.
    fn leave(&mut self, k: usize, sim: &mut SmaSim<'_, SummarySink<'_>>, c: &Cols<'_>, end: usize) {
        let Mode::Vector { since, held } = self.mode[k] else {
            return;
        };
        self.mode[k] = Mode::Scalar;
        sim.sink.peak = self.peak[k];
        sim.sink.run_min = self.run_min[k];
        sim.sink.max_dd = self.max_dd[k];
        if end > since {
            let n = end - since;
            sim.sink.bars += n;
            if held {
                sim.sink.exposed += n;
            }
            let e = self.equity(k, c.close[end - 1]);
            sim.sink.last = e;
            sim.equity = e;
        }
    }
}

/// The runs of `pairs` and the distinct columns they read, in row order.
fn runs_of<'c>(pairs: &[SmaPair<'c>]) -> (Vec<Run>, Vec<&'c [f64]>) {
    let mut cols: Vec<&'c [f64]> = Vec::new();
    let index_of = |col: &'c [f64], cols: &mut Vec<&'c [f64]>| match cols
        .iter()
        .position(|c| std::ptr::eq(*c, col))
    {
        Some(i) => i,
        None => {
            cols.push(col);
            cols.len() - 1
        }
    };
    let slow: Vec<usize> = pairs.iter().map(|p| index_of(p.slow, &mut cols)).collect();
    let fast: Vec<usize> = pairs.iter().map(|p| index_of(p.fast, &mut cols)).collect();
    let mut runs: Vec<Run> = Vec::new();
    for (k, (&f, &s)) in fast.iter().zip(&slow).enumerate() {
        match runs.last_mut() {
            Some(r) if r.fast == f && r.slow + r.lanes.len() == s => r.lanes.end = k + 1,
            _ => runs.push(Run {
                lanes: k..k + 1,
                fast: f,
                slow: s,
            }),
        }
    }
    (runs, cols)
}

/// The vector pass of one run at one bar: `row` and `prev` are the bar's and the previous
/// bar's rows. Writes each lane's flags and returns their union.
#[inline(always)]
fn pass(lanes: &mut Lanes, run: &Run, row: &[f64], prev: &[f64], close: f64) -> u64 {
    let r = run.lanes.clone();
    let m = r.len();
    let (f, pf) = (row[run.fast], prev[run.fast]);
    let s = &row[run.slow..run.slow + m];
    let ps = &prev[run.slow..run.slow + m];
    let cash = &lanes.cash[r.clone()];
    let margin = &lanes.margin[r.clone()];
    let sq = &lanes.sq[r.clone()];
    let entry = &lanes.entry[r.clone()];
    let floor = &lanes.floor[r.clone()];
    let peak = &lanes.peak[r.clone()];
    let run_min = &mut lanes.run_min[r.clone()];
    let flags = &mut lanes.flags[r];
    let mut any = 0;
    for k in 0..m {
        let e = cash[k] + (margin[k] + sq[k] * (close - entry[k]));
        let bad = !(e > floor[k] && e < f64::INFINITY);
        let new_peak = e > peak[k];
        run_min[k] = if e < run_min[k] { e } else { run_min[k] };
        let (sk, psk) = (s[k], ps[k]);
        let cross = ((pf < psk) & (f > sk)) | ((psk < pf) & (sk > f));
        let fl = u64::from(cross) | (u64::from(bad) << 1) | (u64::from(new_peak) << 2);
        flags[k] = fl;
        any |= fl;
    }
    any
}

/// Run `sims` (one per pair, fresh) over `window` in blocks of `chunk` bars. Each sim ends
/// as [`SmaSim::run`] over the window would leave it (not yet `finish`ed).
pub(super) fn run_group<'c>(
    c: &Cols<'_>,
    pairs: &[SmaPair<'c>],
    sims: &mut [SmaSim<'c, SummarySink<'c>>],
    window: Range<usize>,
    chunk: usize,
) {
    let n = sims.len();
    if n == 0 || window.is_empty() {
        return;
    }
    let last = window.end - 1;
    // every lane can decide from `start` on; the warm-up and the last bar run scalar
    let ready = pairs.iter().map(|p| p.slow_n).max().unwrap_or(0) + 1;
    let start = window.start.max(ready).min(last);
    for sim in sims.iter_mut() {
        sim.run(c, window.start..start);
    }
    let (runs, cols) = runs_of(pairs);
    let d = cols.len();
    let mut lanes = Lanes::new(n);
    for (k, sim) in sims.iter().enumerate() {
        lanes.enter(k, sim, start);
    }
    let buckets: &[usize] = sims[0].sink.bucket_ends;
    let mut rows = vec![0.0; (chunk + 1) * d];
    // the lanes in scalar mode, which step every bar
    let mut scalar: Vec<usize> = (0..n).filter(|&k| lanes.mode[k] == Mode::Scalar).collect();
    let mut any: Vec<usize> = Vec::new();
    let mut t0 = start;
    while t0 < last {
        let t1 = (t0 + chunk).min(last);
        // rows[(t − t0 + 1)·d + j] = cols[j][t], for t in t0 − 1..t1
        for (j, col) in cols.iter().enumerate() {
            for (i, &v) in col[t0 - 1..t1].iter().enumerate() {
                rows[i * d + j] = v;
            }
        }
        for t in t0..t1 {
            let i = t - t0 + 1;
            let (prev, row) = (&rows[(i - 1) * d..i * d], &rows[i * d..(i + 1) * d]);
            let close = c.close[t];
            let stepping = std::mem::take(&mut scalar);
            any.clear();
            for (r, run) in runs.iter().enumerate() {
                if pass(&mut lanes, run, row, prev, close) != 0 {
                    any.push(r);
                }
            }
            if buckets.binary_search(&t).is_ok() {
                bucket_equity(&lanes, sims, close, t);
            }
            for &r in &any {
                events(&mut lanes, sims, c, t, runs[r].lanes.clone(), &mut scalar);
            }
            for k in stepping {
                sims[k].step(c, t);
                lanes.enter(k, &sims[k], t + 1);
                if lanes.mode[k] == Mode::Scalar {
                    scalar.push(k);
                }
            }
        }
        t0 = t1;
    }
    for (k, sim) in sims.iter_mut().enumerate() {
        lanes.leave(k, sim, c, last);
        sim.step(c, last);
    }
}

/// At a bucket end `t`: the bucket's equity of every lane in vector mode whose bar `t` is
/// not a liquidation (those `step`, which records it).
#[cold]
#[inline(never)]
fn bucket_equity(lanes: &Lanes, sims: &mut [SmaSim<'_, SummarySink<'_>>], close: f64, t: usize) {
    for (k, sim) in sims.iter_mut().enumerate() {
        if lanes.mode[k] == Mode::Scalar || lanes.flags[k] & BAD != 0 {
            continue;
        }
        if sim.sink.bucket_ends.get(sim.sink.next) == Some(&t) {
            sim.sink.bucket_equity.push(lanes.equity(k, close));
            sim.sink.next += 1;
        }
    }
}

/// The events of bar `t` for the lanes `range` in vector mode (flags from the pass); lanes
/// left in scalar mode go to `scalar`.
#[inline(never)]
fn events(
    lanes: &mut Lanes,
    sims: &mut [SmaSim<'_, SummarySink<'_>>],
    c: &Cols<'_>,
    t: usize,
    range: Range<usize>,
    scalar: &mut Vec<usize>,
) {
    let close = c.close[t];
    for k in range {
        let fl = lanes.flags[k];
        if fl == 0 || lanes.mode[k] == Mode::Scalar {
            continue;
        }
        let sim = &mut sims[k];
        if fl & BAD != 0 {
            // `step` liquidates at this bar: the books through the previous one, and a run
            // minimum above zero, which the liquidation's zero equity replaces (the pass
            // may have lowered it to this bar's equity)
            lanes.leave(k, sim, c, t);
            sim.sink.run_min = sim.sink.peak;
            sim.step(c, t);
            lanes.enter(k, sim, t + 1);
            if lanes.mode[k] == Mode::Scalar {
                scalar.push(k);
            }
            continue;
        }
        if fl & PEAK != 0 {
            let e = lanes.equity(k, close);
            let (peak, run_min) = (lanes.peak[k], lanes.run_min[k]);
            if peak > 0.0 && peak.is_finite() && run_min.is_finite() {
                let dd = (1.0 - run_min / peak).clamp(0.0, 1.0);
                lanes.max_dd[k] = lanes.max_dd[k].max(dd);
            }
            lanes.peak[k] = e;
            lanes.run_min[k] = e;
        }
        if fl & CROSS != 0 && !sim.halted && !sim.bankrupt {
            sim.decide(t);
            if sim.pending != Pending::None {
                lanes.leave(k, sim, c, t + 1);
                scalar.push(k);
            }
        }
    }
}
