//! The lean `sma-cross` backtest: the engine's bar loop specialised to one strategy and the
//! settings backtesting.py uses (market orders at the next open, all-cash sizing, leverage 1,
//! no risk rules, no funding), reading SMA columns computed once per sweep
//! ([`rolling_mean_column`]) instead of updating two rolling means per bar and combination.
//!
//! It must equal [`crate::engine::run_backtest`] with [`crate::strategy::sma_cross::SmaCross`]
//! bit for bit: the fills go through the broker's kernel (`broker::book`) and the sizing through
//! `risk::entry_qty`, in the same
//! order (the `lean_equals_engine_*` tests check equity and trades on GOOG). When a setting
//! is outside that scope ([`LeanConfig::from_backtest`] returns `None`) callers fall back
//! to the engine.
//!
//! Per bar it allocates nothing; results go to a [`Sink`]: [`DetailSink`] keeps the per-bar
//! books and trades (with excursions), [`SummarySink`] keeps only what the fast metrics need
//! (final and peak equity, the deepest drawdown, exposure, the equity at each resampling
//! bucket's last bar, and the closed trades folded into their statistics, [`TradeFold`]). A sweep runs groups of
//! combinations over chunks of bars, so each chunk of the shared columns is read from memory
//! once per group rather than once per combination, and books each quiet stretch (a
//! position held, nothing pending) in O(1) from the block extremes of the closes
//! ([`Extremes`], [`SmaSim::run_with`]).

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::broker::book::{self, Held};
use crate::core::order::{ExitReason, Side, Trade};
use crate::data::Bars;
use crate::engine::{BacktestConfig, Fill};
use crate::risk::{OrderQty, entry_qty};

pub use crate::strategy::sma_cross::rolling_mean_column;

/// Bars per chunk of a sweep (the columns of a group's chunk stay in cache).
const CHUNK: usize = 512;
/// Bars per block of the lane kernel [`run_lanes`] (a group's rows of the block stay in
/// cache).
pub const BLOCK: usize = 256;
/// Combinations per parallel group.
pub const GROUP: usize = 256;

/// The settings the lean loop supports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeanConfig {
    /// Starting cash.
    pub cash: f64,
    /// Commission, fraction of notional per side.
    pub commission: f64,
    /// Slippage, fraction of price.
    pub slippage: f64,
    /// Fractional quantities.
    pub fractional: bool,
    /// Close the open position at the last close.
    pub close_at_end: bool,
    /// Minimum order quantity (0 = none).
    pub min_qty: f64,
    /// Minimum order notional (0 = none).
    pub min_notional: f64,
    /// [`BacktestConfig::min_order_cost`]: a flat run below it stops trading.
    pub min_order_cost: f64,
}

impl LeanConfig {
    /// The lean settings for `cfg` on `bars`, or `None` when the run needs the engine:
    /// `--fill close`, leverage ≠ 1, sizing caps, managed stops, a daily loss limit, or a
    /// `funding_rate` column.
    pub fn from_backtest(cfg: &BacktestConfig, bars: &Bars) -> Option<LeanConfig> {
        let r = &cfg.risk;
        let ok = cfg.fill == Fill::NextOpen
            && cfg.leverage == 1.0
            && r.is_unmanaged()
            && r.daily_loss_limit_frac.is_none()
            && r.max_position_frac.is_none()
            && bars.extra("funding_rate").is_none()
            && cfg.validate().is_ok();
        ok.then_some(LeanConfig {
            cash: cfg.cash,
            commission: cfg.commission,
            slippage: cfg.slippage,
            fractional: cfg.fractional,
            close_at_end: cfg.close_at_end,
            min_qty: cfg.min_qty,
            min_notional: cfg.min_notional,
            min_order_cost: cfg.min_order_cost(),
        })
    }
}

/// Where a lean run's results go.
pub trait Sink {
    /// Track each position's lowest low and highest high (for trade excursions).
    const EXCURSIONS: bool;
    /// The books at the close of bar `t`.
    fn bar(&mut self, t: usize, equity: f64, exposed: bool);
    /// A closed (or, at the end, still open) trade.
    fn trade(&mut self, trade: Trade);
}

/// Everything the engine's result has that the stats need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailSink {
    /// Equity at each visited bar's close.
    pub equity: Vec<f64>,
    /// Whether a position is open at each close.
    pub exposure: Vec<bool>,
    /// Trades, in exit order (an open one last).
    pub trades: Vec<Trade>,
}

impl Sink for DetailSink {
    const EXCURSIONS: bool = true;
    fn bar(&mut self, _t: usize, equity: f64, exposed: bool) {
        self.equity.push(equity);
        self.exposure.push(exposed);
    }
    fn trade(&mut self, trade: Trade) {
        self.trades.push(trade);
    }
}

/// Streaming summary of a run for the fast metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct SummarySink<'c> {
    bucket_ends: &'c [usize],
    next: usize,
    /// Bars seen.
    pub bars: usize,
    /// Equity at the last bar.
    pub last: f64,
    /// Highest equity.
    pub peak: f64,
    run_min: f64,
    /// Deepest drawdown fraction, as `metrics::drawdown_frac` then max.
    pub max_dd: f64,
    /// Bars with a position at the close.
    pub exposed: usize,
    /// Equity at the last bar of each resampling bucket.
    pub bucket_equity: Vec<f64>,
    /// The closed trades, folded as they close ([`TradeFold`]: no trade records).
    pub trades: TradeFold,
}

impl<'c> SummarySink<'c> {
    /// A summary recording the equity at the bar indices `bucket_ends` (ascending).
    pub fn new(bucket_ends: &'c [usize]) -> Self {
        SummarySink {
            bucket_ends,
            next: 0,
            bars: 0,
            last: f64::NAN,
            peak: f64::NEG_INFINITY,
            run_min: f64::INFINITY,
            max_dd: 0.0,
            exposed: 0,
            bucket_equity: Vec::with_capacity(bucket_ends.len()),
            trades: TradeFold::default(),
        }
    }

    /// `max over bars of clamp(1 − e/peak)`: within a run under one peak the deepest bar is
    /// the lowest equity (division rounds monotonically), so one division per run suffices.
    fn close_run(&mut self) {
        if self.peak > 0.0 && self.peak.is_finite() && self.run_min.is_finite() {
            let dd = (1.0 - self.run_min / self.peak).clamp(0.0, 1.0);
            self.max_dd = self.max_dd.max(dd);
        }
    }

    /// Finish the drawdown bookkeeping (call once after the last bar).
    pub fn finish(&mut self) {
        self.close_run();
        self.run_min = f64::INFINITY;
    }
}

impl Sink for SummarySink<'_> {
    const EXCURSIONS: bool = false;
    #[inline(always)]
    fn bar(&mut self, t: usize, e: f64, exposed: bool) {
        self.bars += 1;
        self.last = e;
        if e > self.peak {
            self.close_run();
            self.peak = e;
            self.run_min = e;
        } else if e < self.run_min {
            self.run_min = e;
        }
        self.exposed += usize::from(exposed);
        if self.bucket_ends.get(self.next) == Some(&t) {
            self.bucket_equity.push(e);
            self.next += 1;
        }
    }
    #[inline(always)]
    fn trade(&mut self, trade: Trade) {
        self.trades.push(&trade);
    }
}

/// The bar columns the loop reads.
#[derive(Debug, Clone, Copy)]
pub struct Cols<'a> {
    ts: &'a [i64],
    open: &'a [f64],
    high: &'a [f64],
    low: &'a [f64],
    close: &'a [f64],
}

impl<'a> Cols<'a> {
    /// The columns of `bars`.
    pub fn of(bars: &'a Bars) -> Self {
        Cols {
            ts: bars.ts_ms(),
            open: bars.open(),
            high: bars.high(),
            low: bars.low(),
            close: bars.close(),
        }
    }
}

/// One `sma-cross` combination: its columns and switches.
#[derive(Debug, Clone, Copy)]
pub struct SmaPair<'c> {
    /// Fast SMA column (NaN in warm-up).
    pub fast: &'c [f64],
    /// Slow SMA column.
    pub slow: &'c [f64],
    /// Slow period (decisions start at bar `slow_n`).
    pub slow_n: usize,
    /// Exit instead of going short.
    pub long_only: bool,
    /// Bars where entries are allowed (per-regime runs); `None` = everywhere.
    pub gate: Option<&'c [bool]>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Pos {
    pub(crate) side: Side,
    pub(crate) qty: f64,
    pub(crate) entry_price: f64,
    entry_bar: usize,
    entry_ts_ms: i64,
    pub(crate) margin: f64,
    entry_fees: f64,
    funding: f64,
    pub(crate) min_price: f64,
    pub(crate) max_price: f64,
}

impl Pos {
    fn excursions(&self, price: f64) -> (f64, f64) {
        let lo = self.min_price.min(price);
        let hi = self.max_price.max(price);
        let e = self.entry_price;
        match self.side {
            Side::Long => ((lo / e - 1.0) * 100.0, (hi / e - 1.0) * 100.0),
            Side::Short => ((e - hi) / e * 100.0, (e - lo) / e * 100.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pending {
    None,
    Enter(Side),
    /// A reduce-only exit; the order's side.
    Exit(Side),
}

fn opposite(s: Side) -> Side {
    match s {
        Side::Long => Side::Short,
        Side::Short => Side::Long,
    }
}

/// One lean run in progress (state survives between chunks of bars).
#[derive(Debug, Clone)]
pub struct SmaSim<'c, K: Sink> {
    pub(crate) pair: SmaPair<'c>,
    pub(crate) cfg: LeanConfig,
    end: usize,
    pub(crate) cash: f64,
    pub(crate) equity: f64,
    fees_paid: f64,
    pub(crate) pos: Option<Pos>,
    pub(crate) pending: Pending,
    pub(crate) bankrupt: bool,
    pub(crate) halted: bool,
    /// Where the results went.
    pub sink: K,
}

impl<'c, K: Sink> SmaSim<'c, K> {
    /// A run of `pair` ending before bar `end`.
    pub fn new(pair: SmaPair<'c>, cfg: LeanConfig, end: usize, sink: K) -> Self {
        SmaSim {
            pair,
            cfg,
            end,
            cash: cfg.cash,
            equity: cfg.cash,
            fees_paid: 0.0,
            pos: None,
            pending: Pending::None,
            bankrupt: false,
            halted: false,
            sink,
        }
    }

    /// Commissions paid.
    pub fn fees_paid(&self) -> f64 {
        self.fees_paid
    }

    #[inline]
    pub(crate) fn slipped(&self, is_buy: bool, price: f64) -> f64 {
        if is_buy {
            price * (1.0 + self.cfg.slippage)
        } else {
            price * (1.0 - self.cfg.slippage)
        }
    }

    /// The quantity an all-cash entry at `price` buys with `cash` (leverage 1), or `None` when
    /// the broker refuses it (not a positive number, more than the cash, under the minimum
    /// quantity or notional). `fill` books it; `single`'s flat-run test asks it too.
    #[inline(always)]
    pub(crate) fn entry_qty(&self, price: f64, cash: f64) -> Option<f64> {
        let (lev, c) = (1.0, self.cfg.commission);
        let per_unit = book::unit_cost(price, lev, c);
        // whole units: `round_to_step(q, 1)` is `(q / 1).floor() * 1`, i.e. exactly
        // `q.floor()`, without the division's latency on every entry
        let q = entry_qty(OrderQty::AllCash, price, cash, 0.0, lev, c, 0.0);
        let qty = if self.cfg.fractional { q } else { q.floor() };
        if qty.is_nan()
            || qty <= 0.0
            || qty * per_unit > cash
            || qty < self.cfg.min_qty
            || qty * price < self.cfg.min_notional
        {
            None
        } else {
            Some(qty)
        }
    }

    /// The broker's `close_qty` for the whole position (no liquidation fee).
    #[inline(always)]
    fn close_all(&mut self, price: f64, t: usize, ts_ms: i64, reason: ExitReason) {
        let Some(p) = self.pos else { return };
        let held = Held {
            sign: p.side.sign(),
            qty: p.qty,
            entry_price: p.entry_price,
            margin: p.margin,
            entry_fees: p.entry_fees,
            funding: p.funding,
        };
        let closed = book::close(&held, p.qty, price, self.cfg.commission, None);
        self.cash += closed.returned;
        self.fees_paid += closed.fee;
        let excursions = if K::EXCURSIONS {
            p.excursions(price)
        } else {
            (f64::NAN, f64::NAN)
        };
        self.sink.trade(closed.trade(
            book::Opened {
                side: p.side,
                bar: p.entry_bar,
                ts_ms: p.entry_ts_ms,
                price: p.entry_price,
            },
            book::Exited {
                bar: t,
                ts_ms,
                price,
                reason,
                excursions,
            },
        ));
        self.pos = None;
    }

    /// Fill the pending market order at the open of bar `t` (the broker's `execute`; inlined
    /// so that in a sweep it runs in the scans' instruction set).
    #[inline(always)]
    fn fill(&mut self, c: &Cols<'_>, t: usize) {
        let (open, ts_ms) = (c.open[t], c.ts[t]);
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => {}
            Pending::Exit(order_side) => {
                if self.pos.is_some_and(|p| p.side != order_side) {
                    let price = self.slipped(order_side == Side::Long, open);
                    self.close_all(price, t, ts_ms, ExitReason::Signal);
                }
            }
            Pending::Enter(side) => {
                let price = self.slipped(side == Side::Long, open);
                if self.pos.is_some_and(|p| p.side != side) {
                    self.close_all(price, t, ts_ms, ExitReason::Flip);
                }
                let Some(qty) = self.entry_qty(price, self.cash) else {
                    return;
                };
                let (margin, fee) = book::open_cost(qty, price, 1.0, self.cfg.commission);
                self.cash -= margin + fee;
                self.fees_paid += fee;
                self.pos = Some(Pos {
                    side,
                    qty,
                    entry_price: price,
                    entry_bar: t,
                    entry_ts_ms: ts_ms,
                    margin,
                    entry_fees: fee,
                    funding: 0.0,
                    min_price: price,
                    max_price: price,
                });
            }
        }
    }

    /// The strategy's decision at the close of bar `t` and risk's approval.
    #[inline(always)]
    pub(crate) fn decide(&mut self, t: usize) {
        let pair = &self.pair;
        if t < pair.slow_n {
            return;
        }
        let (pf, ps) = (pair.fast[t - 1], pair.slow[t - 1]);
        let (f, s) = (pair.fast[t], pair.slow[t]);
        let side = self.pos.map(|p| p.side);
        let enter = if pf < ps && f > s {
            Side::Long
        } else if ps < pf && s > f {
            if !pair.long_only {
                Side::Short
            } else {
                if side == Some(Side::Long) {
                    self.pending = Pending::Exit(Side::Short);
                }
                return;
            }
        } else {
            return;
        };
        if pair.gate.is_some_and(|g| !g[t]) {
            // outside the regime an entry signal only closes the opposite position
            if let Some(held) = side.filter(|&h| h != enter) {
                self.pending = Pending::Exit(opposite(held));
            }
            return;
        }
        if side != Some(enter) {
            self.pending = Pending::Enter(enter);
        }
    }

    /// Process bar `t` (visit bars in order; the last one is `end − 1`).
    #[inline(always)]
    pub fn step(&mut self, c: &Cols<'_>, t: usize) {
        if self.bankrupt {
            self.sink.bar(t, 0.0, false);
            return;
        }
        if self.pending != Pending::None || self.pos.is_some() {
            if self.pending != Pending::None {
                self.fill(c, t);
            }
            let close = c.close[t];
            let position_value = match self.pos.as_mut() {
                Some(p) => {
                    if K::EXCURSIONS {
                        p.min_price = p.min_price.min(c.low[t]);
                        p.max_price = p.max_price.max(c.high[t]);
                    }
                    let upnl = book::unrealized(p.side.sign(), p.qty, p.entry_price, close);
                    p.margin + upnl
                }
                None => 0.0,
            };
            self.equity = self.cash + position_value;
            if !(self.equity.is_finite() && self.equity > 0.0) {
                self.close_all(close, t, c.ts[t], ExitReason::Liquidation);
                self.bankrupt = true;
                self.cash = 0.0;
                self.equity = 0.0;
                self.pending = Pending::None;
                self.sink.bar(t, 0.0, false);
                return;
            }
        }
        // the engine's halt: flat, nothing pending, equity below one minimum order
        if self.halted
            || (self.cfg.min_order_cost > 0.0
                && self.pos.is_none()
                && self.pending == Pending::None
                && self.equity < self.cfg.min_order_cost)
        {
            self.halted = true;
            self.sink.bar(t, self.equity, false);
            return;
        }
        if t + 1 == self.end {
            self.finish_last(c, t);
            return;
        }
        self.sink.bar(t, self.equity, self.pos.is_some());
        self.decide(t);
    }

    /// The last bar: close at the end (`close_at_end`) or report the open trade.
    fn finish_last(&mut self, c: &Cols<'_>, t: usize) {
        let (close, ts_ms) = (c.close[t], c.ts[t]);
        if let Some(p) = self.pos {
            if self.cfg.close_at_end {
                let px = self.slipped(p.side.sign() < 0.0, close);
                self.close_all(px, t, ts_ms, ExitReason::EndOfData);
                self.equity = self.cash + 0.0;
            } else {
                let gross = book::unrealized(p.side.sign(), p.qty, p.entry_price, close);
                let pnl = gross - p.entry_fees - p.funding;
                let (mae_pct, mfe_pct) = if K::EXCURSIONS {
                    p.excursions(close)
                } else {
                    (f64::NAN, f64::NAN)
                };
                self.sink.trade(Trade {
                    side: p.side,
                    qty: p.qty,
                    entry_bar: p.entry_bar,
                    exit_bar: t,
                    entry_ts_ms: p.entry_ts_ms,
                    exit_ts_ms: ts_ms,
                    entry_price: p.entry_price,
                    exit_price: close,
                    pnl,
                    return_pct: 100.0 * pnl / (p.qty * p.entry_price),
                    fees: p.entry_fees,
                    mae_pct,
                    mfe_pct,
                    exit_reason: ExitReason::Open,
                });
            }
        }
        self.sink.bar(t, self.equity, self.pos.is_some());
    }
}

/// The running drawdown fields of a [`SummarySink`], in registers during a quiet stretch.
#[derive(Debug, Clone, Copy)]
struct Running {
    bars: usize,
    last: f64,
    peak: f64,
    run_min: f64,
    max_dd: f64,
    exposed: usize,
}

impl Running {
    /// [`SummarySink::bar`] for a bar with a position, off a bucket end.
    #[inline(always)]
    fn bar(&mut self, e: f64) {
        self.bars += 1;
        self.last = e;
        if e > self.peak {
            if self.peak > 0.0 && self.peak.is_finite() && self.run_min.is_finite() {
                let dd = (1.0 - self.run_min / self.peak).clamp(0.0, 1.0);
                self.max_dd = self.max_dd.max(dd);
            }
            self.peak = e;
            self.run_min = e;
        } else if e < self.run_min {
            self.run_min = e;
        }
        self.exposed += 1;
    }
}

impl<'c> SmaSim<'c, SummarySink<'c>> {
    /// Process bars `range` in order: [`SmaSim::step`] on each, except that a quiet stretch
    /// (a position open, nothing pending, not the last bar, no bucket end) runs in a tight
    /// loop that keeps the books and the drawdown in registers and leaves through `step`'s
    /// own code at the first bar that needs more: a crossing (`decide`), a non-positive or
    /// non-finite equity (liquidation), a bucket end or the last bar. Each bar's floating
    /// point operations are `step`'s, in the same order (the sweep tests compare the two).
    pub fn run(&mut self, c: &Cols<'_>, range: Range<usize>) {
        self.run_with(c, None, range);
    }

    /// [`SmaSim::run`], with the quiet stretches booked in O(1) from the block extremes of
    /// the closes `ext` when given ([`SmaSim::quiet_ext`]); the results are `run`'s bit for
    /// bit.
    pub fn run_with(&mut self, c: &Cols<'_>, ext: Option<&Extremes>, range: Range<usize>) {
        self.run_wide(c, ext, Wide::Baseline, range);
    }

    /// [`SmaSim::run_with`], the quiet stretches scanned with `wide`'s instructions.
    #[inline(always)]
    fn run_wide(&mut self, c: &Cols<'_>, ext: Option<&Extremes>, wide: Wide, range: Range<usize>) {
        let mut t = range.start;
        while t < range.end {
            if self.pending == Pending::None {
                let bucket = self
                    .sink
                    .bucket_ends
                    .get(self.sink.next)
                    .copied()
                    .unwrap_or(usize::MAX);
                let next = match self.pos {
                    Some(p) if !self.bankrupt && !self.halted => {
                        let stop = range.end.min(self.end - 1).min(bucket);
                        // no progress: bar `t` liquidates, `step` does it
                        match ext {
                            _ if t >= stop => t,
                            Some(x) => self.quiet_ext(c, x, wide, p, t, stop),
                            None => self.quiet(c, p, t, stop),
                        }
                    }
                    Some(_) => t,
                    None => self.idle(c, ext, wide, t, range.end.min(bucket)),
                };
                if next > t {
                    t = next;
                    continue;
                }
            }
            self.step(c, t);
            t += 1;
        }
    }

    /// Bars from `from` on while no position is held and nothing is pending (flat, halted
    /// or bankrupt), before `stop` (a range end or bucket end): the equity does not move,
    /// so after `SummarySink::bar` on the first bar the books change only by the bar count
    /// (`peak` and `run_min` already account for that equity). A flat run stops after the
    /// next crossing of the SMAs (`decide` there may place an entry) and before the last
    /// bar (`finish_last`); a halted or bankrupt one decides nothing. Returns the first bar
    /// not processed (`from` when `step` must do bar `from`: a flat run about to halt).
    ///
    /// A flat run priced out of every entry (whole units, [`SmaSim::fill_bound`]) until the
    /// open falls below the bound at some bar `u` (found from the block minima of the opens
    /// in `ext`) decides nothing before bar `u − 1` either: every entry it would place there
    /// fills at an open at or above the bound and is refused, which changes no state (the
    /// pending order is dropped, the equity stays `cash + 0`), so those bars book like a
    /// halted run's.
    #[inline(always)]
    fn idle(
        &mut self,
        c: &Cols<'_>,
        ext: Option<&Extremes>,
        wide: Wide,
        from: usize,
        stop: usize,
    ) -> usize {
        let (e, flat) = if self.bankrupt {
            (0.0, false)
        } else if self.halted {
            (self.equity, false)
        } else if self.cfg.min_order_cost > 0.0 && self.equity < self.cfg.min_order_cost {
            return from;
        } else {
            (self.equity, true)
        };
        let stop = if flat { stop.min(self.end - 1) } else { stop };
        if from >= stop {
            return from;
        }
        if flat
            && let Some(x) = ext
            && let Some(bound) = self.fill_bound()
        {
            // the first bar whose open may fill an entry (decided one bar earlier)
            let u = x.first_open_below(c.open, bound, from + 1, stop + 1);
            if u - 1 > from {
                self.sink.bar(from, e, false);
                self.sink.bars += u - 1 - from - 1;
                return u - 1;
            }
        }
        let pair = self.pair;
        let first = from.max(pair.slow_n).max(1);
        let tc = if flat && first < stop {
            wide.next_cross(pair.fast, pair.slow, first, stop)
        } else {
            stop
        };
        let end = if tc < stop { tc + 1 } else { stop };
        self.sink.bar(from, e, false);
        self.sink.bars += end - from - 1;
        if tc < stop {
            self.decide(tc);
        }
        end
    }

    /// An open at or above which a flat run's entry is refused, on either side: whole units,
    /// and the entry at the bound's lower slipped price (the lowest price an entry at an open
    /// at or above the bound can fill at: slippage and each rounded operation are monotone)
    /// floors to no unit; the quantity, `cash·(1 − ε) / (price + price·commission)`, only
    /// falls as the price rises (commission ≥ 0). `None` when that cannot be shown (fractional
    /// quantities, a settings value out of range, or the check fails at the guessed bound).
    #[inline]
    fn fill_bound(&self) -> Option<f64> {
        let (cfg, cash) = (&self.cfg, self.cash);
        let ok = !cfg.fractional
            && (0.0..1.0).contains(&cfg.slippage)
            && cfg.commission >= 0.0
            && cash.is_finite()
            && cash > 0.0;
        if !ok {
            return None;
        }
        // a price above the cash buys no whole unit; the margin covers the rounding
        let bound = cash / (1.0 - cfg.slippage) * (1.0 + 1e-9);
        let low = self.slipped(true, bound).min(self.slipped(false, bound));
        let q = entry_qty(OrderQty::AllCash, low, cash, 0.0, 1.0, cfg.commission, 0.0);
        (bound.is_finite() && low > 0.0 && q.floor() <= 0.0).then_some(bound)
    }

    /// Bars `from..stop` while the position `p` is held and nothing is pending; returns the
    /// first bar not processed.
    #[inline(always)]
    fn quiet(&mut self, c: &Cols<'_>, p: Pos, from: usize, stop: usize) -> usize {
        let (cash, margin, sign) = (self.cash, p.margin, p.side.sign());
        let (qty, entry) = (p.qty, p.entry_price);
        let pair = self.pair;
        let mut r = Running {
            bars: self.sink.bars,
            last: self.sink.last,
            peak: self.sink.peak,
            run_min: self.sink.run_min,
            max_dd: self.sink.max_dd,
            exposed: self.sink.exposed,
        };
        let (close, fast, slow) = (&c.close[..stop], &pair.fast[..stop], &pair.slow[..stop]);
        let mut t = from;
        let mut equity = self.equity;
        let mut decided = false;
        while t < stop {
            let e = cash + (margin + book::unrealized(sign, qty, entry, close[t]));
            if !(e.is_finite() && e > 0.0) {
                break;
            }
            equity = e;
            r.bar(e);
            if t >= pair.slow_n && t > 0 {
                let (pf, ps, f, s) = (fast[t - 1], slow[t - 1], fast[t], slow[t]);
                if (pf < ps && f > s) || (ps < pf && s > f) {
                    decided = true;
                    break;
                }
            }
            t += 1;
        }
        self.equity = equity;
        self.sink.bars = r.bars;
        self.sink.last = r.last;
        self.sink.peak = r.peak;
        self.sink.run_min = r.run_min;
        self.sink.max_dd = r.max_dd;
        self.sink.exposed = r.exposed;
        if decided {
            self.decide(t);
            t += 1;
        }
        t
    }
}

impl<'c> SmaSim<'c, SummarySink<'c>> {
    /// [`SmaSim::quiet`] without a per-bar equity: the stretch runs from `from` to the next
    /// crossing of the two SMAs (found by [`Wide::next_cross`]) or `stop`, and while a position
    /// is held a bar's equity `cash + (margin + sign·qty·(close − entry))` is a weakly
    /// monotone function of the close (each rounded operation is), so the stretch's lowest
    /// and highest equity are that function of its lowest and highest close (`ext`). When
    /// both are positive and finite and the highest is not above the peak, every bar of the
    /// stretch takes `SummarySink::bar`'s `run_min` branch, so the books are: `bars` and
    /// `exposed` + length, `run_min` = min(`run_min`, lowest), `last` = the last bar's
    /// equity — `quiet`'s values bit for bit, in O(1) plus the crossing scan. Otherwise (a
    /// new peak or a liquidation in the stretch) `quiet` runs it bar by bar.
    #[inline(always)]
    fn quiet_ext(
        &mut self,
        c: &Cols<'_>,
        ext: &Extremes,
        wide: Wide,
        p: Pos,
        from: usize,
        stop: usize,
    ) -> usize {
        let pair = self.pair;
        if from < pair.slow_n.max(1) {
            return self.quiet(c, p, from, stop);
        }
        let (cash, margin, sign) = (self.cash, p.margin, p.side.sign());
        let (qty, entry) = (p.qty, p.entry_price);
        let equity = |close: f64| cash + (margin + book::unrealized(sign, qty, entry, close));
        let tc = wide.next_cross(pair.fast, pair.slow, from, stop);
        let end = if tc < stop { tc + 1 } else { stop };
        let (lo, hi) = wide.range(ext, c.close, from, end);
        let (e_lo, e_hi) = if sign > 0.0 {
            (equity(lo), equity(hi))
        } else {
            (equity(hi), equity(lo))
        };
        if !(e_lo > 0.0 && e_hi < f64::INFINITY && e_hi <= self.sink.peak) {
            return self.quiet(c, p, from, stop);
        }
        let n = end - from;
        let e = equity(c.close[end - 1]);
        self.equity = e;
        self.sink.bars += n;
        self.sink.exposed += n;
        self.sink.last = e;
        if e_lo < self.sink.run_min {
            self.sink.run_min = e_lo;
        }
        if tc < stop {
            self.decide(tc);
        }
        end
    }
}

/// Run one combination over `window` with full detail (equity, exposure, trades with
/// excursions); returns the sink and the fees paid.
pub fn run_detail(
    bars: &Bars,
    pair: SmaPair<'_>,
    cfg: LeanConfig,
    window: Range<usize>,
) -> (DetailSink, f64) {
    let c = Cols::of(bars);
    let mut sim = SmaSim::new(pair, cfg, window.end, DetailSink::default());
    for t in window {
        sim.step(&c, t);
    }
    let fees = sim.fees_paid();
    (sim.sink, fees)
}

/// Run many combinations over `window` in parallel (groups of combinations over chunks of
/// bars, [`run_chunks`] with the block extremes of the closes); summaries come back in input
/// order, whatever the thread count. (The lane kernel [`run_lanes`] gives the same results;
/// it measures slower than this loop, see docs/bench_results.md.)
pub fn sweep<'c>(
    bars: &Bars,
    pairs: &[SmaPair<'c>],
    cfg: LeanConfig,
    window: Range<usize>,
    bucket_ends: &'c [usize],
) -> Vec<(SummarySink<'c>, f64)> {
    sweep_map(bars, pairs, cfg, window, bucket_ends, &|_, s, fees| {
        (s.clone(), fees)
    })
}

/// [`sweep`], handing each combination, its finished summary and its fees to `f` inside the
/// parallel group; `f`'s results come back in input order. The combinations are cut into
/// consecutive groups ([`units`]: [`GROUP`] at most, shorter toward the end) that the threads
/// take from one queue in input order, so a thread that finishes early takes the next group
/// instead of waiting for another thread's long one, and the last groups are short. A
/// thread's PnL buffers ([`TradeFold::pnls`]) are cleared and reused by its next group (no
/// fresh pages to fault in and no regrowth for each combination; freed when the sweep ends).
/// Each combination's result depends on nothing but its own inputs, so the grouping and
/// the thread count change no result.
pub fn sweep_map<'c, T: Send>(
    bars: &Bars,
    pairs: &[SmaPair<'c>],
    cfg: LeanConfig,
    window: Range<usize>,
    bucket_ends: &'c [usize],
    f: &(dyn Fn(&SmaPair<'c>, &SummarySink<'c>, f64) -> T + Sync),
) -> Vec<T> {
    let ext = Extremes::of(bars.close()).map(|x| x.with_opens(bars.open()));
    let threads = rayon::current_num_threads().max(1);
    let units = units(pairs.len(), threads);
    let next = AtomicUsize::new(0);
    let wide = Wide::detect(true);
    let done: Vec<Vec<(usize, Vec<T>)>> = (0..threads)
        .into_par_iter()
        .map(|_| {
            let mut pool: Vec<Vec<f64>> = Vec::new();
            let mut mine = Vec::new();
            while let Some(unit) = units.get(next.fetch_add(1, Ordering::Relaxed)) {
                let group = &pairs[unit.clone()];
                let sums = run_chunks_in(
                    bars,
                    group,
                    cfg,
                    window.clone(),
                    bucket_ends,
                    ext.as_ref(),
                    wide,
                    &mut pool,
                );
                let mut out = Vec::with_capacity(sums.len());
                for (p, (s, fees)) in group.iter().zip(sums) {
                    out.push(f(p, &s, fees));
                    pool.push(s.trades.pnls);
                }
                mine.push((unit.start, out));
            }
            mine
        })
        .collect();
    let mut parts: Vec<(usize, Vec<T>)> = done.into_iter().flatten().collect();
    parts.sort_unstable_by_key(|(start, _)| *start);
    parts.into_iter().flat_map(|(_, out)| out).collect()
}

/// The smallest group [`units`] cuts (unless fewer combinations are left).
const MIN_UNIT: usize = 32;

/// Consecutive groups covering `0..n` for `threads` threads: each a quarter of what is left
/// per thread, between [`MIN_UNIT`] and [`GROUP`] (a remainder under [`MIN_UNIT`] joins the
/// last group), so a queue of them ends with short groups and the threads finish together.
pub fn units(n: usize, threads: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut a = 0;
    while a < n {
        let rest = n - a;
        let mut size = (rest / (4 * threads.max(1)))
            .clamp(MIN_UNIT, GROUP)
            .min(rest);
        if rest - size < MIN_UNIT {
            size = rest;
        }
        out.push(a..a + size);
        a += size;
    }
    out
}

/// One group of combinations on this thread, each by [`SmaSim::run_with`] (the block
/// extremes `ext` of the closes when given) over chunks of bars (a chunk of the shared
/// columns is read once per group); finished summaries and fees in input order.
pub fn run_chunks<'c>(
    bars: &Bars,
    pairs: &[SmaPair<'c>],
    cfg: LeanConfig,
    window: Range<usize>,
    bucket_ends: &'c [usize],
    ext: Option<&Extremes>,
) -> Vec<(SummarySink<'c>, f64)> {
    let wide = Wide::detect(true);
    run_chunks_in(
        bars,
        pairs,
        cfg,
        window,
        bucket_ends,
        ext,
        wide,
        &mut Vec::new(),
    )
}

/// [`run_chunks`] scanning with `wide`, the summaries' PnL buffers taken from `pool` while
/// it has some.
#[allow(
    clippy::too_many_arguments,
    reason = "run_chunks' arguments and two buffers"
)]
fn run_chunks_in<'c>(
    bars: &Bars,
    pairs: &[SmaPair<'c>],
    cfg: LeanConfig,
    window: Range<usize>,
    bucket_ends: &'c [usize],
    ext: Option<&Extremes>,
    wide: Wide,
    pool: &mut Vec<Vec<f64>>,
) -> Vec<(SummarySink<'c>, f64)> {
    let c = Cols::of(bars);
    let mut sims: Vec<SmaSim<'c, SummarySink<'c>>> = pairs
        .iter()
        .map(|p| {
            let mut sink = SummarySink::new(bucket_ends);
            if let Some(pnls) = pool.pop() {
                sink.trades = TradeFold::with_buffer(pnls);
            }
            SmaSim::new(*p, cfg, window.end, sink)
        })
        .collect();
    wide.run(Chunks {
        c: &c,
        sims: &mut sims,
        ext,
        wide,
        window,
    });
    finish_all(sims)
}

/// A group's simulations over the window in chunks of [`CHUNK`] bars (run in `wide`'s
/// instruction set: [`Wide::run`]).
struct Chunks<'a, 'c> {
    c: &'a Cols<'a>,
    sims: &'a mut [SmaSim<'c, SummarySink<'c>>],
    ext: Option<&'a Extremes>,
    wide: Wide,
    window: Range<usize>,
}

impl pulp::NullaryFnOnce for Chunks<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        let mut t0 = self.window.start;
        while t0 < self.window.end {
            let t1 = (t0 + CHUNK).min(self.window.end);
            for sim in self.sims.iter_mut() {
                sim.run_wide(self.c, self.ext, self.wide, t0..t1);
            }
            t0 = t1;
        }
    }
}

/// Finished summaries and fees of a group's simulations, in input order.
fn finish_all<'c>(sims: Vec<SmaSim<'c, SummarySink<'c>>>) -> Vec<(SummarySink<'c>, f64)> {
    sims.into_iter()
        .map(|mut s| {
            s.sink.finish();
            let fees = s.fees_paid();
            (s.sink, fees)
        })
        .collect()
}

/// One group of combinations on this thread by the lane kernel over blocks of `block`
/// bars (the old loop, [`SmaSim::run`] per combination and chunk, when a close in the
/// window is not finite); finished summaries and fees in input order.
pub fn run_lanes<'c>(
    bars: &Bars,
    pairs: &[SmaPair<'c>],
    cfg: LeanConfig,
    window: Range<usize>,
    bucket_ends: &'c [usize],
    block: usize,
) -> Vec<(SummarySink<'c>, f64)> {
    let c = Cols::of(bars);
    let mut sims: Vec<SmaSim<'c, SummarySink<'c>>> = pairs
        .iter()
        .map(|p| SmaSim::new(*p, cfg, window.end, SummarySink::new(bucket_ends)))
        .collect();
    let finite = c
        .close
        .get(window.clone())
        .is_some_and(|w| w.iter().all(|x| x.is_finite()));
    if finite {
        sweep_lanes::run_group(&c, pairs, &mut sims, window, block.max(1));
    } else {
        for sim in &mut sims {
            sim.run(&c, window.clone());
        }
    }
    finish_all(sims)
}

#[path = "sweep_lanes.rs"]
mod sweep_lanes;

#[path = "sweep_scan.rs"]
mod sweep_scan;
use super::Wide;
pub use sweep_scan::Extremes;
pub(crate) use sweep_scan::next_cross;

#[path = "sweep_trades.rs"]
mod sweep_trades;
pub use sweep_trades::TradeFold;

#[cfg(test)]
#[path = "sweep_tests.rs"]
pub(crate) mod tests;
