//! The simulated broker's side of a quiet stretch (docs/DESIGN.md §3, "Quiet stretches"):
//! [`SimBroker::quiet_gate`] books held bars for a strategy that runs ahead with
//! [`crate::strategy::Strategy::quiet_bars`], and [`SimBroker::commit_quiet`] moves the
//! broker past the bars it consumed. Each booked bar is [`SimBroker`]'s `hold_bar` (same
//! operations, same order, so the same bits), split in two: the per-bar rows first, the
//! position's excursion and the last mark once at the end.

use super::book;
use super::rows::BookRows;
use super::sim::SimBroker;
use crate::data::Bars;
use crate::strategy::QuietGate;

/// The columns a quiet stretch reads: the closes (the marks), and the other columns of
/// the bars, which the gate reads ahead (see [`SimQuietGate`]). Three words, so the gate
/// that holds them stays small enough to move without a `memcpy` call.
#[derive(Debug, Clone, Copy)]
pub struct QuietColumns<'a> {
    /// The bars.
    pub bars: &'a Bars,
    /// The end of the stretch's range (the gate books no bar at or beyond it).
    pub end: usize,
    /// The first bar whose other columns no earlier stretch has read ahead (the engine
    /// keeps it from one stretch to the next: [`SimQuietGate::ahead`]).
    pub ahead: usize,
}

impl<'a> QuietColumns<'a> {
    /// The closes, cut at the end of the range.
    #[inline]
    fn close(&self) -> &'a [f64] {
        self.bars.close().get(..self.end).unwrap_or_default()
    }
}

/// Bars the gate reads ahead beyond the bars it grants (plus [`READ_AHEAD_LEAD`]) each
/// time it reads ahead at all: eight cache lines of each column in one burst.
const READ_AHEAD_BATCH: usize = 64;

/// How far beyond a granted bar its columns must already have been read ahead.
const READ_AHEAD_LEAD: usize = 16;

/// Grants bars `from, from + 1, …` as held bars of [`SimBroker`] with nothing else to do
/// (no orders, no protection, no funding: [`SimBroker::quiet_gate`] checked), refusing
/// the first bar whose mark would need the full path (equity at or below zero), and then
/// books the bars the strategy consumed ([`SimQuietGate::book`]). Each booked bar is
/// `hold_bar`'s mark: the same `unrealized`, position value and equity operations.
///
/// While granting it also reads the other columns one cache line (8 bars) at a time, at
/// least 16 bars ahead: a stretch reads only the closes, and the step that ends it reads
/// all six columns of its bar, which would otherwise miss the cache at once on every
/// crossover. A plain load stands in for a prefetch instruction (the crate forbids
/// `unsafe`), so each miss stalls the gate until it is served; the lines are therefore
/// read in bursts of 64 bars past a mark kept between stretches ([`QuietColumns::ahead`]),
/// so the misses of eight lines per column overlap in one stall instead of one stall per
/// stretch (session 9: in a fresh process ≈ 70 % of the gate's time sat on these loads).
#[derive(Debug)]
pub struct SimQuietGate<'a> {
    from: usize,
    /// Bars granted so far.
    granted: usize,
    /// `Some((sign, qty, entry price, margin))` with a position, `None` flat.
    pos: Option<(f64, f64, f64, f64)>,
    cash: f64,
    /// The flat marks (equity, position value).
    flat: (f64, f64),
    cols: QuietColumns<'a>,
    rows: &'a mut BookRows,
    /// The read-ahead values, folded so the loads are not optimised away.
    touched: u64,
}

impl SimQuietGate<'_> {
    /// Bars granted so far.
    pub fn held(&self) -> usize {
        self.granted
    }

    /// The first bar whose other columns have not been read ahead yet (for the next
    /// stretch's [`QuietColumns::ahead`]).
    pub fn ahead(&self) -> usize {
        self.cols.ahead
    }

    /// Append the rows of the first `k` granted bars (`k` is cut to the bars granted) and
    /// return the folded read-ahead values (meaningless; reading them keeps the loads).
    pub fn book(self, k: usize) -> u64 {
        let k = k.min(self.granted);
        let Some(closes) = self.cols.close().get(self.from..self.from + k) else {
            return self.touched;
        };
        let cash = self.cash;
        match self.pos {
            Some((sign, qty, entry, margin)) => {
                self.rows
                    .append_with(k, true, |equity, cash_rows, position_value| {
                        for ((pv, e), &c) in position_value.iter_mut().zip(equity).zip(closes) {
                            *pv = margin + book::unrealized(sign, qty, entry, c);
                            *e = cash + *pv;
                        }
                        cash_rows.fill(cash);
                    });
            }
            None => {
                let (equity, position_value) = self.flat;
                self.rows.repeat(k, equity, cash, position_value, false);
            }
        }
        self.touched
    }

    /// Read one value of each of the other columns at bar `t` (see the type's doc).
    #[inline]
    fn read_ahead(&mut self, t: usize) {
        let c = self.cols.bars;
        let bits = |x: Option<&f64>| x.map_or(0, |v| v.to_bits());
        let ts = c.ts_ms().get(t).map_or(0, |&v| v as u64);
        self.touched ^= ts
            ^ bits(c.open().get(t))
            ^ bits(c.high().get(t))
            ^ bits(c.low().get(t))
            ^ bits(c.volume().get(t));
    }
}

impl QuietGate for SimQuietGate<'_> {
    fn hold(&mut self, from: usize, max: usize) -> usize {
        if from != self.from + self.granted {
            return 0;
        }
        let Some(closes) = self.cols.close().get(from..) else {
            return 0;
        };
        let closes = closes.get(..max).unwrap_or(closes);
        let need = from + closes.len() + READ_AHEAD_LEAD;
        if need > self.cols.ahead {
            let mut t = self
                .cols
                .ahead
                .max(from + READ_AHEAD_LEAD)
                .next_multiple_of(8);
            let stop = need + READ_AHEAD_BATCH;
            while t < stop {
                self.read_ahead(t);
                t += 8;
            }
            self.cols.ahead = t;
        }
        let n = match self.pos {
            None => closes.len(),
            Some((sign, qty, entry, margin)) => {
                let cash = self.cash;
                let sound = |c: f64| {
                    let equity = cash + (margin + book::unrealized(sign, qty, entry, c));
                    equity.is_finite() && equity > 0.0
                };
                // the mark is monotone in the close (each rounded operation is), so when
                // the chunk's lowest and highest closes give a sound mark, every close
                // between does: one check per chunk instead of one per bar. Without a NaN
                // the compares give `f64::min`/`max`'s values (one `minsd`/`maxsd` each
                // instead of their NaN handling; ±0 give the same mark); with one the
                // chunk is checked bar by bar.
                let (lo, hi, nan) = closes.iter().fold(
                    (f64::INFINITY, f64::NEG_INFINITY, false),
                    |(lo, hi, nan), &c| {
                        (
                            if c < lo { c } else { lo },
                            if c > hi { c } else { hi },
                            nan | c.is_nan(),
                        )
                    },
                );
                if !nan && sound(lo) && sound(hi) {
                    closes.len()
                } else {
                    closes
                        .iter()
                        .position(|&c| !sound(c))
                        .unwrap_or(closes.len())
                }
            }
        };
        self.granted += n;
        n
    }
}

impl SimBroker {
    /// A gate for a quiet stretch from bar `t` over the columns `cols`, appending to
    /// `rows` (which hold the bars before `t`); `None` when bar `t` is not quiet for the
    /// broker: bankrupt, orders resting, or a position with a liquidation price, stop,
    /// take-profit or legs, or in its first bar. The caller guarantees there is no
    /// funding column.
    #[inline]
    pub fn quiet_gate<'a>(
        &self,
        t: usize,
        cols: QuietColumns<'a>,
        rows: &'a mut BookRows,
    ) -> Option<SimQuietGate<'a>> {
        if self.bankrupt || !self.orders.is_empty() {
            return None;
        }
        let pos = match &self.pos {
            None => None,
            Some(p) => {
                if t < p.active_from
                    || p.liq.is_some()
                    || p.stop.is_some()
                    || p.take_profit.is_some()
                    || p.legs[0].is_some()
                {
                    return None;
                }
                Some((p.side.sign(), p.qty, p.entry_price, p.margin))
            }
        };
        Some(SimQuietGate {
            from: t,
            granted: 0,
            pos,
            cash: self.cash,
            flat: (self.equity, self.position_value),
            cols,
            rows,
            touched: 0,
        })
    }

    /// Move past the `k > 0` bars from `t` a [`SimQuietGate`] booked: the position's
    /// excursion over their lows and highs, then the mark of the last one at `close[t + k
    /// − 1]` (the values the gate wrote in its last row).
    pub fn commit_quiet(&mut self, t: usize, k: usize, high: &[f64], low: &[f64], close: &[f64]) {
        if k == 0 {
            return;
        }
        let last = t + k - 1;
        self.last_t = last;
        let (Some(p), Some(high), Some(low), Some(&close)) = (
            self.pos.as_mut(),
            high.get(t..=last),
            low.get(t..=last),
            close.get(last),
        ) else {
            return;
        };
        for (&h, &l) in high.iter().zip(low) {
            p.min_price = p.min_price.min(l);
            p.max_price = p.max_price.max(h);
        }
        let upnl = book::unrealized(p.side.sign(), p.qty, p.entry_price, close);
        let position_value = p.margin + upnl;
        p.upnl = upnl;
        self.position_value = position_value;
        self.equity = self.cash + position_value;
    }
}
