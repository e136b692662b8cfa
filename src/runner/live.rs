//! The live tick: the same engine as paper, over [`BinanceBroker`] on new closed exchange
//! bars (issue 13 item 3).
//!
//! A tick: take the bot's lock, load the state, reconnect (or connect, first tick), then
//! **reconcile before anything else** ([`BinanceBroker::start_check`]: lost submit answers
//! queried by client id, balances, position, open orders and open algo orders, fills since
//! the last tick; unknown orders reported, a differing position adopted with an alert,
//! stops of a closed position cancelled). The exchange clock of that check is the tick's
//! "now": it decides which klines are closed. The new closed bars are stepped in order
//! (each step followed by [`Engine::settle`], since a market order fills at once), and the
//! state files are written as for paper, `state.json` last, with the check in its `live`
//! field. A tick with no new bar still records its check.
//!
//! Crash safety comes from three facts: client order ids derive from (bot, bar time,
//! sequence), so a bar re-stepped after a kill produces the same ids; the broker places
//! query-first, so an id already on the exchange is never sent twice; and fills are booked
//! by exchange trade id from the saved broker, so fills of a killed tick are booked by the
//! next one. Bars are loaded from a fixed start (`bars_from_ms`, set by the first tick), so
//! bar indices in the saved engine stay valid.

use super::RunnerError;
use super::bot_dir::write_json;
use super::paper::{
    LiveInfo, PaperSetup, PositionState, TickOutcome, begin_tick, build_state, persist,
    plan_with_report, state_err, step_engine, warm_up,
};
use crate::broker::Broker;
use crate::core::order::{ExitReason, Trade};
use crate::data::{Bars, fmt_ts};
use crate::engine::Engine;
use crate::notify::Event as Note;
use crate::persist::StateError;
use crate::strategy::Strategy;
use crate::venues::binance::{BinanceBroker, BrokerConfig};

/// How many alerts `state.json` keeps.
const ALERTS_KEPT: usize = 50;

/// Everything a live tick needs besides the bars and the strategy.
#[derive(Debug, Clone)]
pub struct LiveSetup {
    /// Bot, strategy and engine settings as for paper (`mode` is `testnet` or `live`;
    /// `now_ms` is ignored: the exchange clock decides).
    pub paper: PaperSetup,
    /// How to reach the exchange.
    pub broker: BrokerConfig,
    /// The kline interval, ms.
    pub interval_ms: i64,
    /// Bars loaded before the first acting bar to warm the strategy up.
    pub warmup_bars: usize,
}

/// Run one live tick of `setup.paper.bot`: `load_bars(from_ms, now_ms)` returns the
/// exchange's closed bars from `from_ms` on, as of the exchange time `now_ms`.
///
/// # Errors
/// [`RunnerError::ConfigChanged`] when the settings differ from the bot's first tick;
/// [`RunnerError::NotResumable`] for a strategy that cannot save its state;
/// [`RunnerError::Venue`] / [`RunnerError::Broker`] when the exchange cannot be reached or
/// refuses the credentials (nothing is stepped then); [`RunnerError::BadState`] /
/// [`RunnerError::Io`] for the state files.
pub fn live_tick(
    setup: &LiveSetup,
    load_bars: &mut dyn FnMut(i64, i64) -> Result<Bars, RunnerError>,
    strategy: &mut (dyn Strategy + Send),
) -> Result<TickOutcome, RunnerError> {
    let p = &setup.paper;
    let mut started = match begin_tick(p)? {
        Ok(s) => s,
        Err(busy) => return Ok(busy),
    };
    let mut engine: Engine<BinanceBroker> = match started.prev.as_ref() {
        Some(s) => {
            let saved = s.engine.as_ref().ok_or_else(|| RunnerError::BadState {
                path: p.bot.state_path().display().to_string(),
                cause: "no saved engine (not a live bot's state)".into(),
            })?;
            let mut e: Engine<BinanceBroker> =
                Engine::restore(saved, strategy).map_err(|e| state_err(p, &e))?;
            e.broker_mut().attach(&setup.broker)?;
            e
        }
        None => {
            match strategy.save_state() {
                Ok(_) => {}
                Err(StateError::Unsupported(name)) => {
                    return Err(RunnerError::NotResumable(name));
                }
                Err(e) => return Err(state_err(p, &e)),
            }
            let broker = BinanceBroker::connect(setup.broker.clone())?;
            Engine::new(broker, &p.cfg, p.bot.name())
        }
    };
    let check = engine.broker_mut().start_check()?;
    let notes = engine.broker_mut().take_notes();
    let now = check.server_time_ms;
    let iv = setup.interval_ms.max(1);
    let prev_live = started.prev.as_ref().and_then(|s| s.live.clone());
    let bars_from_ms = prev_live.as_ref().map_or_else(
        || {
            let first = p.from_ms.unwrap_or(now);
            first.div_euclid(iv) * iv - (setup.warmup_bars as i64 + 1) * iv
        },
        |l| l.bars_from_ms,
    );
    let mut alerts = prev_live
        .as_ref()
        .map_or_else(Vec::new, |l| l.alerts.clone());
    let stamp = fmt_ts(now);
    if let Some(m) = &check.mismatch {
        alerts.push(format!("{stamp}: position mismatch: {m}"));
    }
    if !check.unknown_orders.is_empty() {
        alerts.push(format!(
            "{stamp}: orders the bot did not place: {}",
            check.unknown_orders.join(", ")
        ));
    }
    let cut = alerts.len().saturating_sub(ALERTS_KEPT);
    alerts.drain(..cut);
    let mut early_notes: Vec<Note> = Vec::new();
    if let Some(m) = &check.mismatch {
        early_notes.push(Note::ReconcileMismatch {
            bot: p.bot.name().to_string(),
            detail: m.clone(),
        });
    }
    if !check.unknown_orders.is_empty() {
        early_notes.push(Note::ReconcileMismatch {
            bot: p.bot.name().to_string(),
            detail: format!(
                "orders the bot did not place: {}",
                check.unknown_orders.join(", ")
            ),
        });
    }
    let mut info = LiveInfo {
        network: p.mode.clone(),
        market: format!("{:?}", setup.broker.market).to_lowercase(),
        bars_from_ms,
        checks: prev_live.as_ref().map_or(0, |l| l.checks) + 1,
        last_check: check,
        last_check_at: p.tick_at.clone(),
        notes,
        alerts,
        funding: engine.broker().funding().to_vec(),
    };

    // the books start from the exchange's equity at the first tick
    let mut setup_now = p.clone();
    setup_now.cfg.cash = started
        .prev
        .as_ref()
        .map_or_else(|| engine.broker().account().equity, |s| s.initial_cash);

    let bars = load_bars(bars_from_ms, now)?;
    let ts = bars.ts_ms();
    let (plan, mut report) = plan_with_report(p, &started, ts, iv, Some(now), early_notes);
    if plan.act.is_empty() {
        // nothing new: record the check (and what it changed in the broker) only
        if let Some(mut s) = started.prev.take() {
            s.engine = Some(engine.save(strategy).map_err(|e| state_err(p, &e))?);
            let a = engine.broker().account();
            s.cash = a.cash;
            s.position_value = a.position_value;
            s.equity = a.equity;
            s.total_pnl = a.equity - s.initial_cash;
            s.funding_paid = a.funding_paid;
            // the check may have adopted the exchange's position (closed or changed by hand)
            s.position = a.position.map(|pos| PositionState {
                side: pos.side,
                qty: pos.qty,
                entry_price: pos.entry_price,
                entry_ts_ms: pos.entry_ts_ms,
                entry_time: fmt_ts(pos.entry_ts_ms),
                unrealized_pnl: pos.unrealized_pnl,
                last_price: s
                    .position
                    .as_ref()
                    .map_or(pos.entry_price, |o| o.last_price),
                funding: None,
            });
            s.live = Some(info);
            s.attribute_funding();
            write_json(&p.bot.state_path(), &s)?;
            report.state = Some(s);
        }
        return Ok(TickOutcome::Done(Box::new(report)));
    }
    if started.prev.is_none() {
        warm_up(&mut engine, strategy, &bars, &plan);
    }
    let mut adv = step_engine(&setup_now, &bars, strategy, &plan, &mut engine, true)?;
    let last = plan.act.end - 1;
    let last_close = bars.close()[last];
    let acct = engine.broker().account();
    adv.open = acct.position.map(|pos| Trade {
        side: pos.side,
        qty: pos.qty,
        entry_bar: pos.entry_bar,
        exit_bar: last,
        entry_ts_ms: pos.entry_ts_ms,
        exit_ts_ms: ts[last],
        entry_price: pos.entry_price,
        exit_price: last_close,
        pnl: pos.unrealized_pnl,
        return_pct: 100.0 * pos.unrealized_pnl / (pos.qty * pos.entry_price).max(f64::MIN_POSITIVE),
        fees: 0.0,
        mae_pct: 0.0,
        mfe_pct: 0.0,
        exit_reason: ExitReason::Open,
    });
    if let Some(pos) = acct.position
        && let Some(liq) = pos.liquidation_price
        && (last_close - liq).abs() <= 0.05 * last_close
    {
        report.notes.push(Note::LiquidationRisk {
            bot: p.bot.name().to_string(),
            symbol: p.symbol.clone(),
            price: last_close,
            liquidation_price: liq,
        });
    }
    let last_ts = ts[last];
    report.acted = Some((ts[plan.act.start], last_ts));
    let mut state = build_state(
        &setup_now,
        started.prev.as_ref(),
        &adv,
        &bars,
        &plan,
        last_ts,
    );
    // the bars' polls booked the exchange's funding payments: the ledger, then by trade
    info.funding = engine.broker().funding().to_vec();
    state.live = Some(info);
    state.attribute_funding();
    persist(&setup_now, adv, state, &bars, &plan, &mut report)?;
    drop(started.lock);
    Ok(TickOutcome::Done(Box::new(report)))
}
