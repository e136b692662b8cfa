//! The lean evaluator: runs a [`Compiled`] genome over a window of a [`FeatureTable`] with the
//! simulated broker's rules for the one configuration the GA uses, without the engine.
//!
//! It reproduces `engine::run_backtest` driving the `evolved` strategy bit for bit (same
//! equity on every bar, same trades; a test in `strategy::evolved` checks it) when the
//! backtest has leverage 1, pass-through risk rules (no managed stops, no caps), fills at
//! the next open and no funding column. The rules it mirrors (see `broker::sim`): market
//! orders decided at the close of `t` fill at the open of `t + 1` with slippage against the
//! trader; an entry against the position closes it first (flip) at the same price; the
//! size is `min(size_frac × cash, cash) / (price + price × commission)` units (floored
//! unless fractional), rejected when zero or unaffordable; the stop, then the take-profit,
//! is checked from the fill bar on, filling at its level or at the open on a gap (stops
//! with slippage); equity is `cash + margin + unrealized PnL` at each close; equity ≤ 0
//! closes the position at the close and stops trading with equity 0. Bars before `start`
//! only warm up (the table already holds their features); the decision at the last bar
//! never fills; a position open at the end is reported as an open trade.
//!
//! Fills go through the broker's kernel (`broker::book`) and sizing through
//! `risk::entry_qty`, so the arithmetic is the broker's by construction; the bit-for-bit
//! test still checks it.

use crate::ai::evolver::features::FeatureTable;
use crate::ai::evolver::genome::{Compiled, Decision, NAN_ROW};
use crate::broker::book::{self, Held};
use crate::core::order::Side;
use crate::data::Bars;
use crate::risk::{OrderQty, entry_qty};

/// The backtest settings the lean evaluator supports (leverage 1, next-open fills).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeanConfig {
    /// Starting cash.
    pub cash: f64,
    /// Commission, fraction of notional, per side.
    pub commission: f64,
    /// Slippage, fraction of price against the trader.
    pub slippage: f64,
    /// Fractional quantities.
    pub fractional: bool,
    /// Minimum order quantity (0 = none).
    pub min_qty: f64,
    /// Minimum order notional (0 = none).
    pub min_notional: f64,
    /// `BacktestConfig::min_order_cost`: a flat run below it stops trading.
    pub min_order_cost: f64,
}

/// A trade as the lean evaluator records it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeanTrade {
    /// Direction.
    pub side: Side,
    /// Quantity.
    pub qty: f64,
    /// Entry fill bar.
    pub entry_bar: usize,
    /// Exit fill bar (the last bar for an open trade).
    pub exit_bar: usize,
    /// Entry fill price.
    pub entry_price: f64,
    /// Exit fill price (the last close for an open trade).
    pub exit_price: f64,
    /// Profit net of both commissions (entry commission only for an open trade).
    pub pnl: f64,
    /// Still open at the end.
    pub open: bool,
}

/// The outcome over a window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeanRun {
    /// Equity at each close of the window.
    pub equity: Vec<f64>,
    /// Trades in exit order, an open one last.
    pub trades: Vec<LeanTrade>,
    /// Deepest drawdown, fraction in [0, 1].
    pub max_drawdown_frac: f64,
}

impl LeanRun {
    /// Number of closed trades.
    pub fn closed_trades(&self) -> usize {
        self.trades.iter().filter(|t| !t.open).count()
    }
}

#[derive(Debug, Clone, Copy)]
struct Pos {
    side: Side,
    s: f64,
    qty: f64,
    entry_price: f64,
    entry_bar: usize,
    margin: f64,
    entry_fees: f64,
    stop: Option<f64>,
    tp: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
enum Pending {
    Enter {
        side: Side,
        stop: Option<f64>,
        tp: Option<f64>,
    },
    Exit,
}

struct Book<'a> {
    cfg: &'a LeanConfig,
    cash: f64,
    pos: Option<Pos>,
    trades: Vec<LeanTrade>,
}

impl Book<'_> {
    #[inline]
    fn slipped(&self, is_buy: bool, price: f64) -> f64 {
        if is_buy {
            price * (1.0 + self.cfg.slippage)
        } else {
            price * (1.0 - self.cfg.slippage)
        }
    }

    /// `SimBroker::close_qty` for the whole position, no funding, no liquidation fee.
    fn close(&mut self, price: f64, t: usize) {
        let Some(p) = self.pos else { return };
        let held = Held {
            sign: p.s,
            qty: p.qty,
            entry_price: p.entry_price,
            margin: p.margin,
            entry_fees: p.entry_fees,
            funding: 0.0,
        };
        let closed = book::close(&held, p.qty, price, self.cfg.commission, None);
        let (q, pnl) = (closed.qty, closed.pnl);
        self.cash += closed.returned;
        self.trades.push(LeanTrade {
            side: p.side,
            qty: q,
            entry_bar: p.entry_bar,
            exit_bar: t,
            entry_price: p.entry_price,
            exit_price: price,
            pnl,
            open: false,
        });
        self.pos = None;
    }

    /// `SimBroker::execute` of an equity-fraction entry at `price` (slippage applied).
    fn enter(
        &mut self,
        side: Side,
        frac: f64,
        price: f64,
        t: usize,
        levels: (Option<f64>, Option<f64>),
    ) {
        if let Some(p) = self.pos
            && p.side != side
        {
            self.close(price, t);
        }
        let lev = 1.0;
        let c = self.cfg.commission;
        let per_unit = book::unit_cost(price, lev, c);
        let pos_value = self.pos.map_or(0.0, |p| {
            p.margin + book::unrealized(p.s, p.qty, p.entry_price, price)
        });
        let step = if self.cfg.fractional { 0.0 } else { 1.0 };
        let qty = entry_qty(
            OrderQty::EquityFrac(frac),
            price,
            self.cash,
            pos_value,
            lev,
            c,
            step,
        );
        if qty.is_nan()
            || qty <= 0.0
            || qty * per_unit > self.cash
            || qty < self.cfg.min_qty
            || qty * price < self.cfg.min_notional
        {
            return;
        }
        let (margin, fee) = book::open_cost(qty, price, lev, c);
        self.cash -= margin + fee;
        self.pos = Some(Pos {
            side,
            s: side.sign(),
            qty,
            entry_price: price,
            entry_bar: t,
            margin,
            entry_fees: fee,
            stop: levels.0,
            tp: levels.1,
        });
    }
}

/// Run `genome` over bars `start..end` (see the module doc for the rules).
///
/// # Panics
/// If `end > bars.len()`, `table` has fewer rows than `bars`, or `start > end`.
pub fn run_lean(
    genome: &Compiled,
    table: &FeatureTable,
    bars: &Bars,
    cfg: &LeanConfig,
    start: usize,
    end: usize,
) -> LeanRun {
    let (open, high, low, close) = (
        &bars.open()[..end],
        &bars.high()[..end],
        &bars.low()[..end],
        &bars.close()[..end],
    );
    let rows = &table.rows()[..end];
    let mut book = Book {
        cfg,
        cash: cfg.cash,
        pos: None,
        trades: Vec::new(),
    };
    let mut equity_v = Vec::with_capacity(end - start);
    let mut pending: Option<Pending> = None;
    let frac = genome.size_frac();
    let mut peak = f64::NEG_INFINITY;
    let mut max_dd = 0.0f64;
    for t in start..end {
        let (o, h, l, c) = (open[t], high[t], low[t], close[t]);
        match pending.take() {
            None => {}
            Some(Pending::Exit) => {
                if let Some(p) = book.pos {
                    let px = book.slipped(p.side == Side::Short, o);
                    book.close(px, t);
                }
            }
            Some(Pending::Enter { side, stop, tp }) => {
                let px = book.slipped(side == Side::Long, o);
                book.enter(side, frac, px, t, (stop, tp));
            }
        }
        if let Some(p) = book.pos {
            let s = p.s;
            let stop_hit = p.stop.filter(|&st| if s > 0.0 { l <= st } else { h >= st });
            if let Some(st) = stop_hit {
                let level = if s * (o - st) < 0.0 { o } else { st };
                let px = book.slipped(s < 0.0, level);
                book.close(px, t);
            } else if let Some(tp) = p.tp
                && (if s > 0.0 { h >= tp } else { l <= tp })
            {
                let px = if s * (o - tp) > 0.0 { o } else { tp };
                book.close(px, t);
            }
        }
        let equity = match book.pos {
            Some(p) => {
                let upnl = book::unrealized(p.s, p.qty, p.entry_price, c);
                book.cash + (p.margin + upnl)
            }
            None => book.cash + 0.0,
        };
        if !(equity.is_finite() && equity > 0.0) {
            // bankrupt: close at the close, zero equity to the end
            book.close(c, t);
            equity_v.resize(end - start, 0.0);
            max_dd = 1.0;
            break;
        }
        if equity > peak {
            peak = equity;
        }
        max_dd = max_dd.max(1.0 - equity / peak);
        equity_v.push(equity);
        if cfg.min_order_cost > 0.0 && book.pos.is_none() && equity < cfg.min_order_cost {
            // the engine's halt: flat and below one minimum order, equity frozen to the end
            equity_v.resize(end - start, equity);
            break;
        }

        let held = book.pos.map_or(0, |p| t.saturating_sub(p.entry_bar));
        let prev = if t == 0 { &NAN_ROW } else { &rows[t - 1] };
        match genome.decide(prev, &rows[t], book.pos.map(|p| p.side), held) {
            Decision::Hold => {}
            Decision::Exit => pending = Some(Pending::Exit),
            Decision::Enter(side) => {
                let (stop, tp) = genome.levels(side, c, &rows[t]);
                pending = Some(Pending::Enter { side, stop, tp });
            }
        }
    }
    if let Some(p) = book.pos
        && end > start
    {
        let last = end - 1;
        let price = close[last];
        let gross = book::unrealized(p.s, p.qty, p.entry_price, price);
        book.trades.push(LeanTrade {
            side: p.side,
            qty: p.qty,
            entry_bar: p.entry_bar,
            exit_bar: last,
            entry_price: p.entry_price,
            exit_price: price,
            pnl: gross - p.entry_fees - 0.0,
            open: true,
        });
    }
    LeanRun {
        equity: equity_v,
        trades: book.trades,
        max_drawdown_frac: max_dd.clamp(0.0, 1.0),
    }
}
