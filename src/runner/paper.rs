//! The paper tick: the simulated broker fed with new closed bars (issue 13 item 2).
//!
//! Replay equivalence is the contract: ticking through a bar file in any chunking gives
//! exactly the trades and equity of `backtest --from FIRST_ACTING_BAR` on the whole file.
//! This tick keeps it by construction: it replays the engine on the simulated broker over
//! every closed bar the bot has seen (warm-up included, acting from the bot's first acting
//! bar, which is stored) and keeps only what is new since the last tick — new fills become
//! signals and notifications, new bars extend the equity history, and the books are the
//! engine's at the latest closed bar. The simulated history is a pure function of the bars,
//! so a tick killed at any point is simply done again by the next one. Cost: one backtest
//! over the bot's bars per tick (milliseconds for years of hourly bars in release).
//! The settings a bot was started with are stored and a tick with different ones is
//! refused, since it would silently rewrite the bot's past.

use serde::{Deserialize, Serialize};

use super::bot_dir::{BotDir, read_json, write_json};
use super::lock::{LockOutcome, TickLock};
use super::schedule::{closed_len, plan_tick};
use super::{RunnerError, TickPlan};
use crate::data::{Bars, fmt_ts};
use crate::engine::{BacktestConfig, BacktestResult, Event, FillKind, run_backtest};
use crate::notify::Event as Note;
use crate::order::{ExitReason, Side, Trade};
use crate::strategy::Strategy;

/// The state files' format version.
pub const STATE_VERSION: u32 = 1;

/// Everything a paper tick needs besides the bars and the strategy.
#[derive(Debug, Clone)]
pub struct PaperSetup {
    /// The bot's folder.
    pub bot: BotDir,
    /// `paper` (the mode shown in status and the API).
    pub mode: String,
    /// Symbol (or the file's stem for `--data`).
    pub symbol: String,
    /// Strategy name.
    pub strategy: String,
    /// Resolved strategy parameters, as JSON.
    pub params: serde_json::Value,
    /// The settings that must not change between ticks (strategy, parameters, engine
    /// settings, data source), as JSON; compared key by key.
    pub settings: serde_json::Value,
    /// Engine settings (`from_ts_ms`/`to_ts_ms` are set by the tick).
    pub cfg: BacktestConfig,
    /// First tick only: act from the first bar at or after this time instead of only from
    /// the latest closed bar.
    pub from_ms: Option<i64>,
    /// The current time for "closed" (`None`: every bar given is closed, as for `--data`).
    pub now_ms: Option<i64>,
    /// The bar interval in ms (for "closed"); `None` to infer it from the bars.
    pub interval_ms: Option<i64>,
    /// Wall-clock time of this tick, ISO-8601 UTC (for the state file only).
    pub tick_at: String,
}

/// An open position as the state file shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionState {
    /// `long` or `short`.
    pub side: Side,
    /// Quantity, base units.
    pub qty: f64,
    /// Average entry price.
    pub entry_price: f64,
    /// Entry time, UTC ms.
    pub entry_ts_ms: i64,
    /// Entry time, ISO-8601.
    pub entry_time: String,
    /// Unrealized P&L at the last closed bar (after the entry fee).
    pub unrealized_pnl: f64,
    /// The last closed bar's close.
    pub last_price: f64,
}

/// A closed trade as the state file shows it (non-finite numbers as `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRecord {
    /// `long` or `short`.
    pub side: Side,
    /// Quantity, base units.
    pub qty: f64,
    /// Entry fill time, UTC ms.
    pub entry_ts_ms: i64,
    /// Exit fill time, UTC ms.
    pub exit_ts_ms: i64,
    /// Entry fill price.
    pub entry_price: f64,
    /// Exit fill price.
    pub exit_price: f64,
    /// P&L after fees and funding.
    pub pnl: Option<f64>,
    /// Return, percent of entry notional.
    pub return_pct: Option<f64>,
    /// Fees on entry and exit.
    pub fees: Option<f64>,
    /// Why it closed.
    pub exit_reason: ExitReason,
}

fn fin(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl From<&Trade> for TradeRecord {
    fn from(t: &Trade) -> Self {
        TradeRecord {
            side: t.side,
            qty: t.qty,
            entry_ts_ms: t.entry_ts_ms,
            exit_ts_ms: t.exit_ts_ms,
            entry_price: t.entry_price,
            exit_price: t.exit_price,
            pnl: fin(t.pnl),
            return_pct: fin(t.return_pct),
            fees: fin(t.fees),
            exit_reason: t.exit_reason,
        }
    }
}

/// `state.json`: who the bot is, where it is, its books and its closed trades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperState {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// Bot name.
    pub bot: String,
    /// `paper`, `testnet` or `live`.
    pub mode: String,
    /// Symbol.
    pub symbol: String,
    /// Strategy name.
    pub strategy: String,
    /// Strategy parameters.
    pub params: serde_json::Value,
    /// The settings the bot was started with.
    pub settings: serde_json::Value,
    /// Open time of the bot's first acting bar, UTC ms.
    pub first_act_ts_ms: i64,
    /// Open time of the last bar processed, UTC ms.
    pub last_bar_ts_ms: i64,
    /// The same, ISO-8601.
    pub last_bar_time: String,
    /// Bars acted on so far.
    pub bars_processed: u64,
    /// Ticks that processed bars.
    pub ticks: u64,
    /// Wall-clock time of the last tick that processed bars.
    pub last_tick_at: String,
    /// Starting cash.
    pub initial_cash: f64,
    /// Free cash.
    pub cash: f64,
    /// Position value (isolated margin + unrealized P&L).
    pub position_value: f64,
    /// `cash + position_value`.
    pub equity: f64,
    /// `equity - initial_cash`.
    pub total_pnl: f64,
    /// Sum of closed trades' P&L.
    pub realized_pnl: f64,
    /// Fees paid.
    pub fees_paid: f64,
    /// The open position, if any.
    pub position: Option<PositionState>,
    /// Closed trades, in exit order.
    pub trades: Vec<TradeRecord>,
}

/// One entry of `signals.json`: an order the strategy's signal produced, as filled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalRecord {
    /// Fill bar open time, UTC ms.
    pub ts_ms: i64,
    /// The same, ISO-8601.
    pub time: String,
    /// `open`, `increase` or `close`.
    pub action: String,
    /// Buy side of the fill (`long` buys, `short` sells).
    pub side: Side,
    /// Quantity.
    pub qty: f64,
    /// Fill price.
    pub price: f64,
    /// Fee paid.
    pub fee: f64,
    /// For closes, why.
    pub reason: Option<ExitReason>,
}

/// One entry of `equity_history.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquityPoint {
    /// Bar open time, UTC ms.
    pub ts_ms: i64,
    /// The same, ISO-8601.
    pub time: String,
    /// Equity at the bar's close.
    pub equity: f64,
    /// Free cash at the bar's close.
    pub cash: f64,
}

/// `ai_orchestrator_state.json` for a bot: which decision maker drives it and its last
/// decision (the AI orchestrator fills in its components when `--strategy ai` runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrchestratorState {
    /// Strategy name.
    pub strategy: String,
    /// Whether the AI orchestrator drives the bot.
    pub ai_enabled: bool,
    /// The last signal, if any.
    pub last_signal: Option<SignalRecord>,
    /// Open time of the last bar decided on, UTC ms.
    pub last_bar_ts_ms: i64,
}

/// What a tick did.
#[derive(Debug, Clone, PartialEq)]
pub struct TickReport {
    /// Bar open times of the bars acted on this tick (first, last).
    pub acted: Option<(i64, i64)>,
    /// Bars acted on this tick.
    pub bars_acted: usize,
    /// Bars that only warmed the strategy up (first tick).
    pub bars_warmup: usize,
    /// The pid of a killed tick whose lock was taken over.
    pub stale_lock_pid: Option<u32>,
    /// Fills of this tick.
    pub new_signals: Vec<SignalRecord>,
    /// Trades closed this tick.
    pub new_trades: Vec<TradeRecord>,
    /// Notifications for people (trades, stops, liquidation risk).
    pub notes: Vec<Note>,
    /// The state after the tick.
    pub state: Option<PaperState>,
}

/// How a tick ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TickOutcome {
    /// Another tick of this bot is running; nothing was done.
    Busy {
        /// Its pid, if known.
        holder_pid: Option<u32>,
    },
    /// The tick ran (possibly with nothing new to do).
    Done(Box<TickReport>),
}

fn check_same(setup: &PaperSetup, state: &PaperState) -> Result<(), RunnerError> {
    let changed = |what: &str, was: String, now: String| RunnerError::ConfigChanged {
        bot: setup.bot.name().to_string(),
        what: what.into(),
        was,
        now,
        dir: setup.bot.root().display().to_string(),
    };
    if state.version != STATE_VERSION {
        return Err(RunnerError::BadState {
            path: setup.bot.state_path().display().to_string(),
            cause: format!(
                "version {} (this build writes {STATE_VERSION})",
                state.version
            ),
        });
    }
    if state.strategy != setup.strategy {
        return Err(changed(
            "strategy",
            state.strategy.clone(),
            setup.strategy.clone(),
        ));
    }
    if state.symbol != setup.symbol {
        return Err(changed(
            "symbol",
            state.symbol.clone(),
            setup.symbol.clone(),
        ));
    }
    if let (Some(was), Some(now)) = (state.settings.as_object(), setup.settings.as_object()) {
        for (k, v) in now {
            let old = was.get(k).unwrap_or(&serde_json::Value::Null);
            if old != v {
                return Err(changed(k, old.to_string(), v.to_string()));
            }
        }
    }
    Ok(())
}

/// Run one paper tick of `setup.bot` over `bars` with `strategy`.
///
/// # Errors
/// [`RunnerError::ConfigChanged`] when the settings differ from the bot's first tick,
/// [`RunnerError::BadState`] for a state file this build cannot read, [`RunnerError::Io`]
/// when a file cannot be written, [`RunnerError::Engine`] when the engine fails.
pub fn paper_tick(
    setup: &PaperSetup,
    bars: &Bars,
    strategy: &mut (dyn Strategy + Send),
) -> Result<TickOutcome, RunnerError> {
    setup.bot.create()?;
    let (_lock, stale_lock_pid) = match TickLock::acquire(&setup.bot.lock_path())? {
        LockOutcome::Busy { holder_pid } => return Ok(TickOutcome::Busy { holder_pid }),
        LockOutcome::Acquired { lock, stale_pid } => (lock, stale_pid),
    };
    let prev: Option<PaperState> = read_json(&setup.bot.state_path())?;
    if let Some(p) = &prev {
        check_same(setup, p)?;
    }
    let ts = bars.ts_ms();
    let interval = setup
        .interval_ms
        .or_else(|| bars.interval_ms())
        .unwrap_or(0);
    let closed = closed_len(ts, interval, setup.now_ms);
    let plan = plan_tick(
        ts,
        closed,
        prev.as_ref().map(|p| p.last_bar_ts_ms),
        setup.from_ms,
    );
    let mut report = TickReport {
        acted: None,
        bars_acted: plan.act.len(),
        bars_warmup: plan.warmup.len(),
        stale_lock_pid,
        new_signals: Vec::new(),
        new_trades: Vec::new(),
        notes: Vec::new(),
        state: prev.clone(),
    };
    if plan.act.is_empty() {
        return Ok(TickOutcome::Done(Box::new(report)));
    }
    let first_act_ts = prev
        .as_ref()
        .map_or(ts[plan.act.start], |p| p.first_act_ts_ms);
    let last_ts = ts[plan.act.end - 1];
    let mut cfg = setup.cfg;
    cfg.from_ts_ms = Some(first_act_ts);
    cfg.to_ts_ms = Some(last_ts);
    cfg.close_at_end = false;
    let result = run_backtest(bars, strategy, &cfg)?;
    report.acted = Some((ts[plan.act.start], last_ts));

    let new_signals = signals_in(&result, bars, &plan);
    let closed_trades: Vec<&Trade> = result
        .trades
        .iter()
        .filter(|t| t.exit_reason != ExitReason::Open)
        .collect();
    let seen = prev.as_ref().map_or(0, |p| p.trades.len());
    let new_trades: Vec<TradeRecord> = closed_trades
        .iter()
        .skip(seen)
        .map(|t| TradeRecord::from(*t))
        .collect();
    let state = build_state(setup, prev.as_ref(), &result, bars, &closed_trades, last_ts);
    report.notes = notes_for(setup, &new_signals, &new_trades);

    // Persist: history files first, state.json last — state.json's last_bar_ts_ms is what
    // marks the bars done, so a kill before it makes the next tick redo them, and the
    // history files are merged by time so a redo never duplicates entries.
    append_by_time(
        &setup.bot.signals_path(),
        &new_signals,
        plan.act.start,
        ts,
        |s: &SignalRecord| s.ts_ms,
    )?;
    let points: Vec<EquityPoint> = plan
        .act
        .clone()
        .map(|t| {
            let i = t - result.first_bar;
            EquityPoint {
                ts_ms: ts[t],
                time: fmt_ts(ts[t]),
                equity: result.equity[i],
                cash: result.cash[i],
            }
        })
        .collect();
    append_by_time(
        &setup.bot.equity_path(),
        &points,
        plan.act.start,
        ts,
        |p: &EquityPoint| p.ts_ms,
    )?;
    let prev_orch: Option<OrchestratorState> = read_json(&setup.bot.orchestrator_path())?;
    write_json(
        &setup.bot.orchestrator_path(),
        &OrchestratorState {
            strategy: setup.strategy.clone(),
            ai_enabled: setup.strategy == "ai",
            last_signal: new_signals
                .last()
                .cloned()
                .or_else(|| prev_orch.and_then(|o| o.last_signal)),
            last_bar_ts_ms: last_ts,
        },
    )?;
    write_json(&setup.bot.state_path(), &state)?;
    report.new_signals = new_signals;
    report.new_trades = new_trades;
    report.state = Some(state);
    Ok(TickOutcome::Done(Box::new(report)))
}

/// Fills at bars of this tick, in order.
fn signals_in(result: &BacktestResult, bars: &Bars, plan: &TickPlan) -> Vec<SignalRecord> {
    let ts = bars.ts_ms();
    result
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Fill(f) if plan.act.contains(&f.t) => Some(SignalRecord {
                ts_ms: ts[f.t],
                time: fmt_ts(ts[f.t]),
                action: match f.action {
                    FillKind::Open => "open",
                    FillKind::Increase => "increase",
                    FillKind::Close(_) => "close",
                }
                .into(),
                side: f.side,
                qty: f.qty,
                price: f.price,
                fee: f.fee,
                reason: f.exit_reason(),
            }),
            _ => None,
        })
        .collect()
}

fn build_state(
    setup: &PaperSetup,
    prev: Option<&PaperState>,
    result: &BacktestResult,
    bars: &Bars,
    closed_trades: &[&Trade],
    last_ts: i64,
) -> PaperState {
    let n = result.equity.len();
    let last = n.saturating_sub(1);
    let last_bar = result.first_bar + last;
    let open = result
        .trades
        .iter()
        .find(|t| t.exit_reason == ExitReason::Open);
    let equity = result.equity.get(last).copied().unwrap_or(setup.cfg.cash);
    PaperState {
        version: STATE_VERSION,
        bot: setup.bot.name().to_string(),
        mode: setup.mode.clone(),
        symbol: setup.symbol.clone(),
        strategy: setup.strategy.clone(),
        params: setup.params.clone(),
        settings: prev.map_or_else(|| setup.settings.clone(), |p| p.settings.clone()),
        first_act_ts_ms: prev.map_or(bars.ts_ms()[result.first_bar], |p| p.first_act_ts_ms),
        last_bar_ts_ms: last_ts,
        last_bar_time: fmt_ts(last_ts),
        bars_processed: n as u64,
        ticks: prev.map_or(0, |p| p.ticks) + 1,
        last_tick_at: setup.tick_at.clone(),
        initial_cash: setup.cfg.cash,
        cash: result.cash.get(last).copied().unwrap_or(setup.cfg.cash),
        position_value: result.position_value.get(last).copied().unwrap_or(0.0),
        equity,
        total_pnl: equity - setup.cfg.cash,
        realized_pnl: closed_trades
            .iter()
            .map(|t| t.pnl)
            .filter(|p| p.is_finite())
            .sum::<f64>()
            + 0.0,
        fees_paid: result.fees_paid,
        position: open.map(|t| PositionState {
            side: t.side,
            qty: t.qty,
            entry_price: t.entry_price,
            entry_ts_ms: t.entry_ts_ms,
            entry_time: fmt_ts(t.entry_ts_ms),
            unrealized_pnl: t.pnl,
            last_price: bars.close()[last_bar],
        }),
        trades: closed_trades
            .iter()
            .map(|t| TradeRecord::from(*t))
            .collect(),
    }
}

fn side_word(s: Side) -> String {
    match s {
        Side::Long => "long".into(),
        Side::Short => "short".into(),
    }
}

fn notes_for(setup: &PaperSetup, signals: &[SignalRecord], trades: &[TradeRecord]) -> Vec<Note> {
    let bot = setup.bot.name().to_string();
    let mut notes: Vec<Note> = signals
        .iter()
        .filter(|s| s.action == "open")
        .map(|s| Note::TradeOpened {
            bot: bot.clone(),
            symbol: setup.symbol.clone(),
            side: side_word(s.side),
            qty: s.qty,
            price: s.price,
        })
        .collect();
    for t in trades {
        let pnl = t.pnl.unwrap_or(f64::NAN);
        notes.push(match t.exit_reason {
            ExitReason::StopLoss | ExitReason::TrailingStop | ExitReason::BreakEven => {
                Note::StopHit {
                    bot: bot.clone(),
                    symbol: setup.symbol.clone(),
                    price: t.exit_price,
                    pnl,
                }
            }
            reason => Note::TradeClosed {
                bot: bot.clone(),
                symbol: setup.symbol.clone(),
                side: side_word(t.side),
                qty: t.qty,
                entry_price: t.entry_price,
                exit_price: t.exit_price,
                pnl,
                reason: serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            },
        });
    }
    notes
}

/// Append `new` (entries at bars `from_bar..` of `ts`) to the JSON list at `path`, first
/// dropping stored entries at or after bar `from_bar` (left by a tick killed after writing
/// this file but before `state.json`), so entries are never doubled.
fn append_by_time<T: Serialize + serde::de::DeserializeOwned + Clone>(
    path: &std::path::Path,
    new: &[T],
    from_bar: usize,
    ts: &[i64],
    ts_of: impl Fn(&T) -> i64,
) -> Result<(), RunnerError> {
    let mut all: Vec<T> = read_json(path)?.unwrap_or_default();
    let cut = ts[from_bar];
    all.retain(|e| ts_of(e) < cut);
    all.extend(new.iter().cloned());
    write_json(path, &all)
}
