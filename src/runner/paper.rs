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

use serde::Serialize;

use super::bot_dir::{BotDir, read_json, write_json};
use super::lock::{LockOutcome, TickLock};
use super::notes::{daily_summary, notes_for};
use super::schedule::{closed_len, plan_tick};
pub use super::state::{
    EquityPoint, LiveInfo, OrchestratorState, PaperState, PositionState, STATE_VERSION,
    SignalRecord, TradeRecord,
};
use super::{RunnerError, TickPlan};
use crate::broker::{Broker, FillAction, OrderFill, SimBroker};
use crate::core::order::{ExitReason, Trade};
use crate::data::{Bars, fmt_ts};
use crate::engine::{
    BacktestConfig, BacktestResult, BarInput, Engine, Event, EventKind, FillKind, SavedRun,
    run_backtest,
};
use crate::notify::Event as Note;
use crate::persist::StateError;
use crate::strategy::Strategy;

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

pub(super) fn check_same(setup: &PaperSetup, state: &PaperState) -> Result<(), RunnerError> {
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

/// A tick that holds the bot's lock (until dropped), with the pid of a killed tick whose
/// lock it took over and the bot's saved state, checked against the tick's settings.
pub(super) struct Started {
    pub(super) lock: TickLock,
    pub(super) stale_lock_pid: Option<u32>,
    pub(super) prev: Option<PaperState>,
}

/// The start of every tick, paper or live: the bot's folder, its lock (`Ok(Err(busy))`:
/// another tick runs, nothing to do) and its saved state.
///
/// # Errors
/// [`RunnerError::Io`] / [`RunnerError::BadState`] for the folder and state file,
/// [`RunnerError::ConfigChanged`] when the settings differ from the bot's first tick.
pub(super) fn begin_tick(setup: &PaperSetup) -> Result<Result<Started, TickOutcome>, RunnerError> {
    setup.bot.create()?;
    let (lock, stale_lock_pid) = match TickLock::acquire(&setup.bot.lock_path())? {
        LockOutcome::Busy { holder_pid } => return Ok(Err(TickOutcome::Busy { holder_pid })),
        LockOutcome::Acquired { lock, stale_pid } => (lock, stale_pid),
    };
    let prev: Option<PaperState> = read_json(&setup.bot.state_path())?;
    if let Some(p) = &prev {
        check_same(setup, p)?;
    }
    Ok(Ok(Started {
        lock,
        stale_lock_pid,
        prev,
    }))
}

/// Plan a tick, paper or live, over bars opening at `ts`: those closed at `now_ms` (bars of
/// `interval_ms`; all when `None`) after the last one done warm up (first tick) or act
/// ([`plan_tick`]); and the report the tick starts from, with `notes` already in it.
pub(super) fn plan_with_report(
    setup: &PaperSetup,
    started: &Started,
    ts: &[i64],
    interval_ms: i64,
    now_ms: Option<i64>,
    notes: Vec<Note>,
) -> (TickPlan, TickReport) {
    let prev = started.prev.as_ref();
    let closed = closed_len(ts, interval_ms, now_ms);
    let plan = plan_tick(ts, closed, prev.map(|p| p.last_bar_ts_ms), setup.from_ms);
    let report = TickReport {
        acted: None,
        bars_acted: plan.act.len(),
        bars_warmup: plan.warmup.len(),
        stale_lock_pid: started.stale_lock_pid,
        new_signals: Vec::new(),
        new_trades: Vec::new(),
        notes,
        state: prev.cloned(),
    };
    (plan, report)
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
    let started = match begin_tick(setup)? {
        Ok(s) => s,
        Err(busy) => return Ok(busy),
    };
    let ts = bars.ts_ms();
    let interval = setup
        .interval_ms
        .or_else(|| bars.interval_ms())
        .unwrap_or(0);
    let (plan, mut report) =
        plan_with_report(setup, &started, ts, interval, setup.now_ms, Vec::new());
    let prev = started.prev.as_ref();
    if plan.act.is_empty() {
        return Ok(TickOutcome::Done(Box::new(report)));
    }
    let last_ts = ts[plan.act.end - 1];
    let resume = prev.and_then(|p| p.engine.as_ref());
    let stepped = match (resume, prev) {
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
        None => advance_by_replay(setup, prev, bars, strategy, &plan)?,
    };
    report.acted = Some((ts[plan.act.start], last_ts));
    let state = build_state(setup, prev, &adv, bars, &plan, last_ts);
    persist(setup, adv, state, bars, &plan, &mut report)?;
    drop(started.lock);
    Ok(TickOutcome::Done(Box::new(report)))
}

/// Write the tick's files: history files first, `state.json` last — its `last_bar_ts_ms`
/// is what marks the bars done, so a kill before it makes the next tick redo them, and the
/// history files are merged by time so a redo never duplicates entries.
pub(super) fn persist(
    setup: &PaperSetup,
    adv: Advance,
    state: PaperState,
    bars: &Bars,
    plan: &TickPlan,
    report: &mut TickReport,
) -> Result<(), RunnerError> {
    let ts = bars.ts_ms();
    let last_ts = state.last_bar_ts_ms;
    let new_signals = adv.signals.clone();
    let new_trades: Vec<TradeRecord> = adv.new_closed.iter().map(TradeRecord::from).collect();
    report.notes.extend(notes_for(
        setup.bot.name(),
        &setup.symbol,
        &new_signals,
        &new_trades,
    ));
    let _signals = append_by_time(
        &setup.bot.signals_path(),
        &new_signals,
        plan.act.start,
        ts,
        |s: &SignalRecord| s.ts_ms,
    )?;
    let points = adv.points;
    let history = append_by_time(
        &setup.bot.equity_path(),
        &points,
        plan.act.start,
        ts,
        |p: &EquityPoint| p.ts_ms,
    )?;
    if state.ticks > 1 && plan.act.start > 0 {
        report
            .notes
            .extend(daily_summary(&state, &history, ts[plan.act.start - 1]));
    }
    // bars.csv grows by the new closed bars only (a torn row left by a kill is repaired,
    // rows already there are never appended again)
    let seen = bars.slice(0..plan.act.end);
    let bars_path = setup.bot.bars_path();
    crate::data::append_csv(&seen, &bars_path).map_err(|e| RunnerError::Io {
        path: bars_path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let prev_orch: Option<OrchestratorState> = read_json(&setup.bot.orchestrator_path())?;
    let (prev_signal, prev_ai) = prev_orch.map_or((None, None), |o| (o.last_signal, o.ai));
    write_json(
        &setup.bot.orchestrator_path(),
        &OrchestratorState {
            strategy: setup.strategy.clone(),
            ai_enabled: setup.strategy == "ai",
            last_signal: new_signals.last().cloned().or(prev_signal),
            last_bar_ts_ms: last_ts,
            ai: prev_ai,
        },
    )?;
    write_json(&setup.bot.state_path(), &state)?;
    report.new_signals = new_signals;
    report.new_trades = new_trades;
    report.state = Some(state);
    Ok(())
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

/// What stepping the tick's bars produced, however it was computed.
pub(super) struct Advance {
    /// Fills at this tick's bars.
    pub(super) signals: Vec<SignalRecord>,
    /// Trades closed at this tick's bars.
    pub(super) new_closed: Vec<Trade>,
    /// Books at the close of each of this tick's bars.
    pub(super) points: Vec<EquityPoint>,
    /// Books at the last bar: (cash, position value, equity).
    pub(super) books: (f64, f64, f64),
    /// The position still open at the last bar, valued at its close.
    pub(super) open: Option<Trade>,
    /// Fees paid since the bot started.
    pub(super) fees_paid: f64,
    /// Funding paid since the bot started.
    pub(super) funding_paid: f64,
    /// The engine to continue from, when the strategy can save its state.
    pub(super) engine: Option<SavedRun>,
    /// The engine's events of this tick (stepped ticks only).
    pub(super) events: Vec<crate::engine::EngineEvent>,
}

pub(super) fn state_err(setup: &PaperSetup, e: &StateError) -> RunnerError {
    RunnerError::BadState {
        path: setup.bot.state_path().display().to_string(),
        cause: e.to_string(),
    }
}

pub(super) fn signal_of(f: &OrderFill, ts_ms: i64) -> SignalRecord {
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
            warm_up(&mut e, strategy, bars, plan);
            e
        }
    };
    let mut adv = step_engine(setup, bars, strategy, plan, &mut engine, false)?;
    let last = plan.act.end - 1;
    adv.open = engine.open_trade(last, &bars.bar(last));
    Ok(adv)
}

/// A new bot's engine: reset the strategy and feed it the plan's warm-up bars.
pub(super) fn warm_up<B: Broker>(
    engine: &mut Engine<B>,
    strategy: &mut (dyn Strategy + Send),
    bars: &Bars,
    plan: &TickPlan,
) {
    strategy.reset();
    for t in plan.warmup.clone() {
        engine.warm_up(strategy, &BarInput::new(bars, t));
    }
}

/// Step every bar of `plan.act` (with `settle`, also collect the executions of the orders
/// each step sent: venue brokers) and save the engine. `open` is left to the caller.
pub(super) fn step_engine<B: Broker + Serialize + serde::de::DeserializeOwned>(
    setup: &PaperSetup,
    bars: &Bars,
    strategy: &mut (dyn Strategy + Send),
    plan: &TickPlan,
    engine: &mut Engine<B>,
    settle: bool,
) -> Result<Advance, RunnerError> {
    let ts = bars.ts_ms();
    let mut adv = Advance {
        signals: Vec::new(),
        new_closed: Vec::new(),
        points: Vec::with_capacity(plan.act.len()),
        books: (setup.cfg.cash, 0.0, setup.cfg.cash),
        open: None,
        fees_paid: 0.0,
        funding_paid: 0.0,
        engine: None,
        events: Vec::new(),
    };
    for t in plan.act.clone() {
        let input = BarInput::new(bars, t);
        let mut evs: Vec<crate::engine::EngineEvent> = engine.step(strategy, &input)?.to_vec();
        if settle {
            evs.extend(engine.settle(&input).iter().cloned());
        }
        for e in &evs {
            if let EventKind::Fill(f) = &e.kind {
                adv.signals.push(signal_of(f, e.ts_ms));
                if let FillAction::Close { trade } = f.action {
                    adv.new_closed.push(trade);
                }
            }
        }
        adv.events.extend(evs);
        let m = engine.mark();
        adv.points.push(EquityPoint {
            ts_ms: ts[t],
            time: fmt_ts(ts[t]),
            equity: m.equity,
            cash: m.cash,
        });
        adv.books = (m.cash, m.position_value, m.equity);
    }
    adv.fees_paid = engine.broker().account().fees_paid;
    adv.funding_paid = engine.broker().account().funding_paid;
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
        funding_paid: result.funding_paid,
        engine: None,
        events: Vec::new(),
    })
}

pub(super) fn build_state(
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
        funding_paid: adv.funding_paid,
        position: adv.open.map(|t| PositionState {
            side: t.side,
            qty: t.qty,
            entry_price: t.entry_price,
            entry_ts_ms: t.entry_ts_ms,
            entry_time: fmt_ts(t.entry_ts_ms),
            unrealized_pnl: t.pnl,
            last_price: bars.close()[plan.act.end - 1],
            funding: None,
        }),
        trades,
        engine: adv.engine.clone(),
        live: prev.and_then(|p| p.live.clone()),
    }
}

/// Append `new` (entries at bars `from_bar..` of `ts`) to the JSON list at `path`, first
/// dropping stored entries at or after bar `from_bar` (left by a tick killed after writing
/// this file but before `state.json`), so entries are never doubled.
pub(super) fn append_by_time<T: Serialize + serde::de::DeserializeOwned + Clone>(
    path: &std::path::Path,
    new: &[T],
    from_bar: usize,
    ts: &[i64],
    ts_of: impl Fn(&T) -> i64,
) -> Result<Vec<T>, RunnerError> {
    let mut all: Vec<T> = read_json(path)?.unwrap_or_default();
    let cut = ts[from_bar];
    all.retain(|e| ts_of(e) < cut);
    all.extend(new.iter().cloned());
    write_json(path, &all)?;
    Ok(all)
}
