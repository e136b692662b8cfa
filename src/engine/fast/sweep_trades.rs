//! The closed trades of a lean run folded as they close ([`TradeFold`]), so a sweep's
//! summaries keep no trade records: every count, sum and extreme the trade statistics need,
//! each added in the order `metrics::trades::trade_stats` adds it, the PnLs themselves (the
//! sample variance subtracts their mean, known only at the end) and the union of the trades'
//! bar ranges (`metrics::exposed_bars`). `app::optimize` turns a fold into the statistics;
//! its tests compare them with `trade_stats` and `exposed_bars` on random trade lists.

use crate::core::order::{ExitReason, Side, Trade};

/// Statistics of the closed trades of a lean run, folded in exit order.
///
/// The lean loop closes a whole position per trade and opens the next one at a later bar,
/// so its closed trades are the round trips themselves, in entry order. A list that is not
/// (two adjacent fills of one position, or entries out of order) sets [`TradeFold::irregular`]:
/// the fold then does not describe its round trips and the caller recomputes from the trades.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeFold {
    /// Closed trades folded.
    pub n: usize,
    /// Trades still open at the end (not folded).
    pub open: usize,
    /// Trades with `PnL > 0`.
    pub wins: usize,
    /// Trades with `PnL < 0`.
    pub losses: usize,
    /// Σ PnL of the winners, from `Sum`'s starting value.
    pub gross_profit: f64,
    /// Σ PnL of the losers, from `Sum`'s starting value.
    pub gross_loss: f64,
    /// Best return (fraction), folded from NaN by `f64::max`.
    pub best: f64,
    /// Worst return (fraction), folded from NaN by `f64::min`.
    pub worst: f64,
    /// Σ PnL from 0 (the mean's fold).
    pub pnl_sum: f64,
    /// Σ PnL from `Sum`'s starting value (the variance's mean).
    pub pnl_total: f64,
    /// Σ PnL of the winners from 0.
    pub win_sum: f64,
    /// Σ PnL of the losers from 0.
    pub loss_sum: f64,
    /// Σ return (fraction).
    pub ret_sum: f64,
    /// Σ return (percent) of the winners.
    pub win_ret: f64,
    /// Σ return (percent) of the losers.
    pub loss_ret: f64,
    /// Longest trade in bars.
    pub max_bars: Option<usize>,
    /// Σ trade length in bars.
    pub bars_sum: f64,
    /// Longest trade in days, folded from NaN by `f64::max`.
    pub max_days: f64,
    /// Σ trade length in days.
    pub days_sum: f64,
    /// Σ ln(1 + return) until a return of −100 % or worse.
    pub log_sum: f64,
    /// A return of −100 % or worse was seen (the geometric mean is then 0).
    pub ruined: bool,
    /// Every closed trade's PnL, in order.
    pub pnls: Vec<f64>,
    /// Bars inside the union of the closed trades' `entry_bar..=exit_bar`.
    pub exposed: usize,
    /// One past the union's last bar.
    pub exposed_end: usize,
    /// The trades are not the lean loop's (see the type's doc).
    pub irregular: bool,
    /// The last closed trade's position: side, entry bar and entry time.
    last: Option<(Side, usize, i64)>,
}

/// `Sum for f64`'s starting value (its sign decides an empty sum's).
fn sum_zero() -> f64 {
    std::iter::empty::<f64>().sum()
}

impl Default for TradeFold {
    fn default() -> Self {
        Self::with_buffer(Vec::new())
    }
}

impl TradeFold {
    /// An empty fold keeping the PnLs in `pnls` (cleared; reuse a finished fold's buffer).
    pub fn with_buffer(mut pnls: Vec<f64>) -> Self {
        pnls.clear();
        let zero = sum_zero();
        TradeFold {
            n: 0,
            open: 0,
            wins: 0,
            losses: 0,
            gross_profit: zero,
            gross_loss: zero,
            best: f64::NAN,
            worst: f64::NAN,
            pnl_sum: 0.0,
            pnl_total: zero,
            win_sum: 0.0,
            loss_sum: 0.0,
            ret_sum: 0.0,
            win_ret: 0.0,
            loss_ret: 0.0,
            max_bars: None,
            bars_sum: 0.0,
            max_days: f64::NAN,
            days_sum: 0.0,
            log_sum: 0.0,
            ruined: false,
            pnls,
            exposed: 0,
            exposed_end: 0,
            irregular: false,
            last: None,
        }
    }

    /// Fold trade `t` (an open one is only counted).
    #[inline(always)]
    pub fn push(&mut self, t: &Trade) {
        const DAY: f64 = 86_400_000.0;
        if t.exit_reason == ExitReason::Open {
            self.open += 1;
            return;
        }
        let key = (t.side, t.entry_bar, t.entry_ts_ms);
        if let Some((side, bar, ts)) = self.last {
            self.irregular |= (side, bar, ts) == key || t.entry_bar < bar;
        }
        self.irregular |= t.exit_bar < t.entry_bar;
        self.last = Some(key);
        self.n += 1;
        let (p, r) = (t.pnl, t.return_pct / 100.0);
        // without branches (a trade's sign is a coin flip): adding −0 leaves every value
        // as it is, −0 included, so a loser adds −0 to the winners' sums and the reverse
        let (win, loss) = (p > 0.0, p < 0.0);
        let keep = |on: bool, x: f64| if on { x } else { -0.0 };
        self.wins += usize::from(win);
        self.gross_profit += keep(win, p);
        self.win_sum += keep(win, p);
        self.win_ret += keep(win, t.return_pct);
        self.gross_loss += keep(loss, p);
        self.loss_sum += keep(loss, p);
        self.losses += usize::from(loss);
        self.loss_ret += keep(loss, t.return_pct);
        self.best = self.best.max(r);
        self.worst = self.worst.min(r);
        self.pnl_sum += p;
        self.pnl_total += p;
        self.ret_sum += r;
        self.pnls.push(p);
        let b = t.exit_bar.saturating_sub(t.entry_bar);
        self.max_bars = Some(self.max_bars.map_or(b, |m| m.max(b)));
        self.bars_sum += b as f64;
        let d = (t.exit_ts_ms - t.entry_ts_ms) as f64 / DAY;
        self.max_days = self.max_days.max(d);
        self.days_sum += d;
        if !self.ruined {
            let g = if r.is_nan() { 1.0 } else { 1.0 + r };
            if g <= 0.0 {
                self.ruined = true;
            } else {
                self.log_sum += g.ln();
            }
        }
        // ranges in entry order: count each one's part past the union so far
        let (a, end) = (t.entry_bar.max(self.exposed_end), t.exit_bar + 1);
        if a < end {
            self.exposed += end - a;
            self.exposed_end = end;
        }
    }
}
