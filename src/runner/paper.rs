//! The paper tick: the simulated broker fed with new closed bars (issue 13 item 2).
//!
//! Replay equivalence is the contract: ticking through a bar file in any chunking gives
//! exactly the trades and equity of `backtest --from FIRST_ACTING_BAR` on the whole file.
//! A bot's first tick builds an [`Engine<SimBroker>`], warms the strategy up on the earlier
//! bars and steps from its first acting bar; every tick saves the engine and the
//! strategy's state ([`SavedRun`]) in `state.json`, and the next tick restores them and
//! steps only the new closed bars — the same `step` `backtest` loops over, so the books
//! agree bit for bit. A strategy that cannot save its state (`Strategy::save_state` is
//! unsupported) is replayed instead: the engine runs again over every bar the bot has seen
//! and only what is new is kept (one backtest per tick).
//!
//! Crash safety: `state.json` is written last and atomically; it alone marks bars done.
//! A tick killed before it is simply done again by the next one, and the history files
//! (`signals.json`, `equity_history.json`) are merged by bar time, so a redo never doubles
//! an entry. The settings a bot was started with are stored and a tick with different ones
//! is refused, since it would silently rewrite the bot's past. Bar indices are positions
//! in the bars the caller loads, so the bar source must only ever grow at the end (a bar
//! file appended to, the fetch cache).

use serde::{Deserialize, Serialize};

use super::bot_dir::{BotDir, read_json, write_json};
use super::lock::{LockOutcome, TickLock};
use super::schedule::{closed_len, plan_tick};
use super::{RunnerError, TickPlan};
use crate::broker::{Broker, FillAction, OrderFill, SimBroker};
use crate::core::order::{ExitReason, Side, Trade};
use crate::data::{Bars, fmt_ts};
use crate::engine::{
    BacktestConfig, BacktestResult, BarInput, Engine, Event, EventKind, SavedRun, run_backtest,
};
use crate::notify::Event as Note;
use crate::persist::StateError;
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
    /// The engine and strategy state to continue from (`None` for a strategy that cannot
    /// save its state: such a bot replays its bars each tick).
    #[serde(default)]
    pub engine: Option<SavedRun>,
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
    let last_ts = ts[plan.act.end - 1];
    let resume = prev.as_ref().and_then(|p| p.engine.as_ref());
    let stepped = match (resume, &prev) {
        (Some(saved), _) => Some(advance_by_step(setup, bars, strategy, &plan, Some(saved))?),
        (None, Some(_)) => None,
        (None, None) => match strategy.save_state() {
            Ok(_) => Some(advance_by_step(setup, bars, strategy, &plan, None)?),
            Err(StateError::Unsupported(_)) => None,
            Err(e) => return Err(state_err(setup, &e)),
        },
    };
    let adv = match stepped {
        Some(a) => a,
        None => advance_by_replay(setup, prev.as_ref(), bars, strategy, &plan)?,
    };
    report.acted = Some((ts[plan.act.start], last_ts));
    let new_signals = adv.signals.clone();
    let new_trades: Vec<TradeRecord> = adv.new_closed.iter().map(TradeRecord::from).collect();
    let state = build_state(setup, prev.as_ref(), &adv, bars, &plan, last_ts);
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
    let points = adv.points;
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
                    FillAction::Open => "open",
                    FillAction::Increase => "increase",
                    FillAction::Close { .. } => "close",
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

/// What stepping the tick's bars produced, however it was computed.
struct Advance {
    /// Fills at this tick's bars.
    signals: Vec<SignalRecord>,
    /// Trades closed at this tick's bars.
    new_closed: Vec<Trade>,
    /// Books at the close of each of this tick's bars.
    points: Vec<EquityPoint>,
    /// Books at the last bar: (cash, position value, equity).
    books: (f64, f64, f64),
    /// The position still open at the last bar, valued at its close.
    open: Option<Trade>,
    /// Fees paid since the bot started.
    fees_paid: f64,
    /// The engine to continue from, when the strategy can save its state.
    engine: Option<SavedRun>,
}

fn state_err(setup: &PaperSetup, e: &StateError) -> RunnerError {
    RunnerError::BadState {
        path: setup.bot.state_path().display().to_string(),
        cause: e.to_string(),
    }
}

fn signal_of(f: &OrderFill, ts_ms: i64) -> SignalRecord {
    let (action, reason) = match f.action {
        FillAction::Open => ("open", None),
        FillAction::Increase => ("increase", None),
        FillAction::Close { trade } => ("close", Some(trade.exit_reason)),
    };
    SignalRecord {
        ts_ms,
        time: fmt_ts(ts_ms),
        action: action.into(),
        side: f.side,
        qty: f.qty,
        price: f.price,
        fee: f.fee,
        reason,
    }
}

/// Restore the engine saved by the last tick (or start one: reset the strategy and warm
/// it up on the plan's warm-up bars) and step every bar of the plan.
fn advance_by_step(
    setup: &PaperSetup,
    bars: &Bars,
    strategy: &mut (dyn Strategy + Send),
    plan: &TickPlan,
    saved: Option<&SavedRun>,
) -> Result<Advance, RunnerError> {
    let mut engine: Engine<SimBroker> = match saved {
        Some(s) => Engine::restore(s, strategy).map_err(|e| state_err(setup, &e))?,
        None => {
            let mut e = Engine::backtest(&setup.cfg)?;
            strategy.reset();
            for t in plan.warmup.clone() {
                e.warm_up(strategy, &BarInput::new(bars, t));
            }
            e
        }
    };
    let ts = bars.ts_ms();
    let mut adv = Advance {
        signals: Vec::new(),
        new_closed: Vec::new(),
        points: Vec::with_capacity(plan.act.len()),
        books: (setup.cfg.cash, 0.0, setup.cfg.cash),
        open: None,
        fees_paid: 0.0,
        engine: None,
    };
    for t in plan.act.clone() {
        for e in engine.step(strategy, &BarInput::new(bars, t))? {
            if let EventKind::Fill(f) = &e.kind {
                adv.signals.push(signal_of(f, e.ts_ms));
                if let FillAction::Close { trade } = f.action {
                    adv.new_closed.push(trade);
                }
            }
        }
        let m = engine.mark();
        adv.points.push(EquityPoint {
            ts_ms: ts[t],
            time: fmt_ts(ts[t]),
            equity: m.equity,
            cash: m.cash,
        });
        adv.books = (m.cash, m.position_value, m.equity);
    }
    let last = plan.act.end - 1;
    adv.open = engine.open_trade(last, &bars.bar(last));
    adv.fees_paid = engine.broker().account().fees_paid;
    adv.engine = Some(engine.save(strategy).map_err(|e| state_err(setup, &e))?);
    Ok(adv)
}

/// For a strategy that cannot save its state: replay the engine over every bar the bot
/// has seen (acting from its first acting bar) and keep what is new.
fn advance_by_replay(
    setup: &PaperSetup,
    prev: Option<&PaperState>,
    bars: &Bars,
    strategy: &mut (dyn Strategy + Send),
    plan: &TickPlan,
) -> Result<Advance, RunnerError> {
    let ts = bars.ts_ms();
    let mut cfg = setup.cfg;
    cfg.from_ts_ms = Some(prev.map_or(ts[plan.act.start], |p| p.first_act_ts_ms));
    cfg.to_ts_ms = Some(ts[plan.act.end - 1]);
    cfg.close_at_end = false;
    let result = run_backtest(bars, strategy, &cfg)?;
    let seen = prev.map_or(0, |p| p.trades.len());
    let new_closed = result
        .trades
        .iter()
        .filter(|t| t.exit_reason != ExitReason::Open)
        .skip(seen)
        .copied()
        .collect();
    let at = |t: usize| t - result.first_bar;
    let last = at(plan.act.end - 1);
    Ok(Advance {
        signals: signals_in(&result, bars, plan),
        new_closed,
        points: plan
            .act
            .clone()
            .map(|t| EquityPoint {
                ts_ms: ts[t],
                time: fmt_ts(ts[t]),
                equity: result.equity[at(t)],
                cash: result.cash[at(t)],
            })
            .collect(),
        books: (
            result.cash[last],
            result.position_value[last],
            result.equity[last],
        ),
        open: result
            .trades
            .iter()
            .find(|t| t.exit_reason == ExitReason::Open)
            .copied(),
        fees_paid: result.fees_paid,
        engine: None,
    })
}

fn build_state(
    setup: &PaperSetup,
    prev: Option<&PaperState>,
    adv: &Advance,
    bars: &Bars,
    plan: &TickPlan,
    last_ts: i64,
) -> PaperState {
    let mut trades: Vec<TradeRecord> = prev.map_or_else(Vec::new, |p| p.trades.clone());
    trades.extend(adv.new_closed.iter().map(TradeRecord::from));
    let (cash, position_value, equity) = adv.books;
    PaperState {
        version: STATE_VERSION,
        bot: setup.bot.name().to_string(),
        mode: setup.mode.clone(),
        symbol: setup.symbol.clone(),
        strategy: setup.strategy.clone(),
        params: setup.params.clone(),
        settings: prev.map_or_else(|| setup.settings.clone(), |p| p.settings.clone()),
        first_act_ts_ms: prev.map_or(bars.ts_ms()[plan.act.start], |p| p.first_act_ts_ms),
        last_bar_ts_ms: last_ts,
        last_bar_time: fmt_ts(last_ts),
        bars_processed: prev.map_or(0, |p| p.bars_processed) + plan.act.len() as u64,
        ticks: prev.map_or(0, |p| p.ticks) + 1,
        last_tick_at: setup.tick_at.clone(),
        initial_cash: setup.cfg.cash,
        cash,
        position_value,
        equity,
        total_pnl: equity - setup.cfg.cash,
        realized_pnl: trades.iter().filter_map(|t| t.pnl).sum::<f64>() + 0.0,
        fees_paid: adv.fees_paid,
        position: adv.open.map(|t| PositionState {
            side: t.side,
            qty: t.qty,
            entry_price: t.entry_price,
            entry_ts_ms: t.entry_ts_ms,
            entry_time: fmt_ts(t.entry_ts_ms),
            unrealized_pnl: t.pnl,
            last_price: bars.close()[plan.act.end - 1],
        }),
        trades,
        engine: adv.engine.clone(),
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
