//! What the API of `serve` and its dashboard show about the bots (issue 14): the portfolio
//! with today's and total P&L per bot, and each bot's equity history, closed trades and
//! signals (its decisions as filled; `ai_views::bot_decisions` shows an `ai` bot's stored
//! decisions instead), paginated newest first. Read from the bot folders
//! under `DATA_DIR/bots/` ([`crate::runner::bot_dir`]); nothing here writes.
//!
//! "Today" is the UTC day of the context's clock: today's P&L is the equity now less the
//! equity at the last point of `equity_history.json` before today (or the starting cash when
//! the bot started today).

use serde::Serialize;

use super::Ctx;
use crate::Error;
use crate::runner::bot_dir::{BotDir, read_json};
use crate::runner::fleet::{BotStatus, current_portfolio};
use crate::runner::paper::{EquityPoint, PaperState, SignalRecord, TradeRecord};

/// The most items one page may hold.
pub const MAX_LIMIT: usize = 5000;

/// Which page of a list, newest first: skip `offset` items, return at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Items to skip from the newest.
    pub offset: usize,
    /// Items to return, 1..=[`MAX_LIMIT`].
    pub limit: usize,
}

impl PageRequest {
    /// A page request; `limit` must be in 1..=[`MAX_LIMIT`].
    ///
    /// # Errors
    /// [`Error::Usage`] for a limit of 0 or above [`MAX_LIMIT`].
    pub fn new(offset: usize, limit: usize) -> Result<PageRequest, Error> {
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::Usage(format!(
                "limit {limit} must be between 1 and {MAX_LIMIT}"
            )));
        }
        Ok(PageRequest { offset, limit })
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// Items in the whole list.
    pub total: usize,
    /// Items skipped from the newest.
    pub offset: usize,
    /// The page size asked for.
    pub limit: usize,
    /// The items, newest first.
    pub items: Vec<T>,
}

/// The page `req` of `items` (given oldest first), newest first.
pub fn page<T: Clone>(items: &[T], req: PageRequest) -> Page<T> {
    Page {
        total: items.len(),
        offset: req.offset,
        limit: req.limit,
        items: items
            .iter()
            .rev()
            .skip(req.offset)
            .take(req.limit)
            .cloned()
            .collect(),
    }
}

/// One bot in the API's portfolio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BotSummary {
    /// What `algolab status` shows.
    #[serde(flatten)]
    pub status: BotStatus,
    /// Starting cash.
    pub initial_cash: Option<f64>,
    /// Equity change since the start of the UTC day.
    pub today_pnl: Option<f64>,
    /// Sum of closed trades' P&L.
    pub realized_pnl: Option<f64>,
    /// Fees paid.
    pub fees_paid: Option<f64>,
    /// Closed trades.
    pub trades: usize,
    /// Closed trades with a positive P&L.
    pub wins: usize,
    /// Total return, percent of the starting cash.
    pub return_pct: Option<f64>,
    /// Open time of the last bar processed, UTC ms.
    pub last_bar_ts_ms: Option<i64>,
}

/// `GET /api/status`: the portfolio now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortfolioSummary {
    /// When computed, ISO-8601 UTC.
    pub updated_at: String,
    /// Sum of the bots' equity.
    pub total_value: f64,
    /// Sum of the bots' P&L since they started.
    pub total_pnl: f64,
    /// Sum of the bots' P&L since the start of the UTC day.
    pub today_pnl: f64,
    /// Starting cash of all bots.
    pub initial_cash: f64,
    /// Bots whose last tick failed.
    pub unhealthy: usize,
    /// Every bot, by name.
    pub bots: Vec<BotSummary>,
}

/// UTC ms of an ISO-8601 time (`2026-01-02T03:04:05Z`).
pub fn iso_ms(iso: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(iso)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Today's P&L from an equity history (oldest first): equity now less the equity at the
/// last point before `day_start_ms`, or less `initial_cash` when there is none.
pub fn today_pnl(
    points: &[EquityPoint],
    equity_now: f64,
    initial_cash: f64,
    day_start_ms: i64,
) -> f64 {
    let base = points
        .iter()
        .rev()
        .find(|p| p.ts_ms < day_start_ms)
        .map_or(initial_cash, |p| p.equity);
    equity_now - base
}

/// The portfolio with today's P&L per bot.
///
/// # Errors
/// [`Error::Runner`] when a bot's state file cannot be read.
pub fn summary(ctx: &Ctx) -> Result<PortfolioSummary, Error> {
    let now = (ctx.now_iso)();
    let p = current_portfolio(&ctx.data_dir, &now)?;
    const DAY: i64 = 86_400_000;
    let day_start = iso_ms(&now).map_or(i64::MIN, |t| t.div_euclid(DAY) * DAY);
    let mut bots = Vec::with_capacity(p.bots.len());
    for status in p.bots {
        let dir = BotDir::new(&ctx.data_dir, &status.name)?;
        let state: Option<PaperState> = read_json(&dir.state_path())?;
        let points: Vec<EquityPoint> = read_json(&dir.equity_path())?.unwrap_or_default();
        let s = state.as_ref();
        bots.push(BotSummary {
            initial_cash: s.map(|s| s.initial_cash),
            today_pnl: s.map(|s| today_pnl(&points, s.equity, s.initial_cash, day_start)),
            realized_pnl: s.map(|s| s.realized_pnl),
            fees_paid: s.map(|s| s.fees_paid),
            trades: s.map_or(0, |s| s.trades.len()),
            wins: s.map_or(0, |s| {
                s.trades
                    .iter()
                    .filter(|t| t.pnl.is_some_and(|p| p > 0.0))
                    .count()
            }),
            return_pct: s
                .filter(|s| s.initial_cash > 0.0)
                .map(|s| 100.0 * s.total_pnl / s.initial_cash),
            last_bar_ts_ms: s.map(|s| s.last_bar_ts_ms),
            status,
        });
    }
    Ok(PortfolioSummary {
        updated_at: p.updated_at,
        total_value: p.total_value,
        total_pnl: p.total_pnl,
        today_pnl: bots.iter().filter_map(|b| b.today_pnl).sum::<f64>() + 0.0,
        initial_cash: bots.iter().filter_map(|b| b.initial_cash).sum::<f64>() + 0.0,
        unhealthy: p.unhealthy,
        bots,
    })
}

/// The folder of an existing bot.
///
/// # Errors
/// [`Error::Runner`] for a bad name, [`Error::Usage`] for a bot with no folder.
pub fn existing_bot(ctx: &Ctx, name: &str) -> Result<BotDir, Error> {
    let dir = BotDir::new(&ctx.data_dir, name)?;
    if !dir.root().is_dir() {
        return Err(Error::Usage(format!("no bot named {name:?}")));
    }
    Ok(dir)
}

/// A bot's equity history, newest first.
///
/// # Errors
/// As [`existing_bot`]; [`Error::Runner`] for an unreadable file.
pub fn equity(ctx: &Ctx, bot: &str, req: PageRequest) -> Result<Page<EquityPoint>, Error> {
    let dir = existing_bot(ctx, bot)?;
    let points: Vec<EquityPoint> = read_json(&dir.equity_path())?.unwrap_or_default();
    Ok(page(&points, req))
}

/// A bot's closed trades, newest first.
///
/// # Errors
/// As [`equity`].
pub fn trades(ctx: &Ctx, bot: &str, req: PageRequest) -> Result<Page<TradeRecord>, Error> {
    let dir = existing_bot(ctx, bot)?;
    let state: Option<PaperState> = read_json(&dir.state_path())?;
    Ok(page(&state.map(|s| s.trades).unwrap_or_default(), req))
}

/// A signal of a bot's strategy as it filled, with a sentence saying what happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalDecision {
    /// The fill.
    #[serde(flatten)]
    pub signal: SignalRecord,
    /// `open long 0.5 @ 101.00`, `close long 0.5 @ 99.00 (stop_loss)`.
    pub why: String,
}

fn spelling<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A sentence for a signal.
pub fn signal_sentence(s: &SignalRecord) -> String {
    let mut out = format!(
        "{} {} {} @ {:.2}",
        s.action,
        spelling(&s.side),
        s.qty,
        s.price
    );
    if let Some(r) = &s.reason {
        out += &format!(" ({})", spelling(r));
    }
    out
}

/// A bot's signals as filled, each with a sentence, newest first (what
/// `ai_views::bot_decisions` shows for bots that are not `ai` bots).
///
/// # Errors
/// As [`equity`].
pub fn signal_decisions(
    ctx: &Ctx,
    bot: &str,
    req: PageRequest,
) -> Result<Page<SignalDecision>, Error> {
    let dir = existing_bot(ctx, bot)?;
    let signals: Vec<SignalRecord> = read_json(&dir.signals_path())?.unwrap_or_default();
    let items: Vec<SignalDecision> = signals
        .into_iter()
        .map(|s| SignalDecision {
            why: signal_sentence(&s),
            signal: s,
        })
        .collect();
    Ok(page(&items, req))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(ts_ms: i64, equity: f64) -> EquityPoint {
        EquityPoint {
            ts_ms,
            time: String::new(),
            equity,
            cash: equity,
        }
    }

    #[test]
    fn pages_run_newest_first_and_limits_are_checked() {
        let items: Vec<i32> = (1..=7).collect();
        let p = page(&items, PageRequest::new(0, 3).unwrap());
        assert_eq!((p.total, p.items.clone()), (7, vec![7, 6, 5]));
        let p = page(&items, PageRequest::new(6, 3).unwrap());
        assert_eq!(p.items, vec![1]);
        assert!(
            page(&items, PageRequest::new(9, 3).unwrap())
                .items
                .is_empty()
        );
        assert!(PageRequest::new(0, 0).is_err());
        assert!(PageRequest::new(0, MAX_LIMIT + 1).is_err());
    }

    #[test]
    fn today_pnl_counts_from_the_last_point_before_midnight() {
        let day = 86_400_000;
        let pts = [pt(day - 2, 100.0), pt(day - 1, 104.0), pt(day + 5, 110.0)];
        assert_eq!(today_pnl(&pts, 111.0, 100.0, day), 7.0);
        // started today: from the starting cash
        assert_eq!(today_pnl(&pts[2..], 111.0, 100.0, day), 11.0);
        assert_eq!(iso_ms("1970-01-02T00:00:00Z"), Some(day));
        assert_eq!(iso_ms("yesterday"), None);
    }
}
