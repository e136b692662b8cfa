//! [`run_backtest`]: a loop of [`Engine::step`] over [`Engine<SimBroker>`]. See the module
//! doc of [`super`] for the order of operations within a bar.

use super::step::{BarInput, Engine};
use super::{BacktestConfig, BacktestResult, EngineError, EventKind};
use crate::broker::{Broker, FillAction};
use crate::data::{Bar, Bars};
use crate::strategy::{History, Strategy};

/// Run `strategy` over `bars` on the simulated broker.
///
/// The strategy is reset first. Bars before `cfg.from_ts_ms` only warm the strategy up
/// (their intents are ignored); bars after `cfg.to_ts_ms` are not visited.
///
/// # Errors
/// [`EngineError::Config`] for a setting out of range, [`EngineError::EmptyRange`] when
/// no bar falls in the range, [`EngineError::Broker`] when the broker fails.
pub fn run_backtest<S: Strategy + ?Sized>(
    bars: &Bars,
    strategy: &mut S,
    cfg: &BacktestConfig,
) -> Result<BacktestResult, EngineError> {
    cfg.validate()?;
    let ts = bars.ts_ms();
    let start = cfg
        .from_ts_ms
        .map_or(0, |from| ts.partition_point(|&x| x < from));
    let end = cfg
        .to_ts_ms
        .map_or(ts.len(), |to| ts.partition_point(|&x| x <= to));
    if start >= end {
        return Err(EngineError::EmptyRange {
            from: fmt_ts_opt(cfg.from_ts_ms),
            to: fmt_ts_opt(cfg.to_ts_ms),
        });
    }
    let mut engine = Engine::backtest(cfg)?;
    strategy.reset();

    let n = end - start;
    let mut res = BacktestResult {
        first_bar: start,
        equity: Vec::with_capacity(n),
        cash: Vec::with_capacity(n),
        position_value: Vec::with_capacity(n),
        exposure: Vec::with_capacity(n),
        ..BacktestResult::default()
    };
    let funding = bars.extra("funding_rate");
    let rate = |t: usize| funding.map(|c| c.get(t).copied().unwrap_or(f64::NAN));
    for t in 0..start {
        let events = engine.warm_up(strategy, &BarInput::new(bars, t));
        collect(events, &mut res);
    }
    // the columns cut to the traded range and zipped: no per-bar indexing of six columns
    let cols = ts[start..end]
        .iter()
        .zip(&bars.open()[start..end])
        .zip(&bars.high()[start..end])
        .zip(&bars.low()[start..end])
        .zip(&bars.close()[start..end])
        .zip(&bars.volume()[start..end]);
    for (t, (((((&ts_ms, &open), &high), &low), &close), &volume)) in (start..end).zip(cols) {
        let input = BarInput {
            hist: History::new(bars, t),
            bar: Bar {
                ts_ms,
                open,
                high,
                low,
                close,
                volume,
            },
            funding_rate: rate(t),
        };
        if !engine.step(strategy, &input)?.is_empty() {
            collect_owned(engine.drain_events(), &mut res);
        }
        let m = engine.mark();
        res.equity.push(m.equity);
        res.cash.push(m.cash);
        res.position_value.push(m.position_value);
        res.exposure.push(m.exposure);
    }
    res.bankrupt = engine.is_stopped();
    res.halted = engine.halted();
    if !res.bankrupt {
        let last = end - 1;
        let bar = bars.bar(last);
        if cfg.close_at_end {
            let events = engine.close_at_end(last, &bar);
            if !events.is_empty() {
                collect(events, &mut res);
                let m = engine.mark();
                let i = last - start;
                res.equity[i] = m.equity;
                res.cash[i] = m.cash;
                res.position_value[i] = m.position_value;
                res.exposure[i] = m.exposure;
            }
        } else if let Some(trade) = engine.open_trade(last, &bar) {
            res.trades.push(trade);
        }
    }
    let acct = engine.broker().account();
    res.fees_paid = acct.fees_paid;
    res.funding_paid = acct.funding_paid;
    Ok(res)
}

/// Sort a step's events into the result: the transcript, closed trades, regime changes.
#[inline]
fn collect(events: &[super::EngineEvent], res: &mut BacktestResult) {
    for e in events {
        match &e.kind {
            EventKind::Regime(tr) => res.regime_transitions.push(*tr),
            EventKind::Fill(f) => {
                if let FillAction::Close { trade } = f.action {
                    res.trades.push(trade);
                }
            }
            _ => {}
        }
        if let Some(ev) = e.transcript() {
            res.events.push(ev);
        }
    }
}

/// [`collect`], moving the events.
fn collect_owned(events: impl Iterator<Item = super::EngineEvent>, res: &mut BacktestResult) {
    for e in events {
        match &e.kind {
            EventKind::Regime(tr) => res.regime_transitions.push(*tr),
            EventKind::Fill(f) => {
                if let FillAction::Close { trade } = f.action {
                    res.trades.push(trade);
                }
            }
            _ => {}
        }
        if let Some(ev) = e.into_transcript() {
            res.events.push(ev);
        }
    }
}

/// A range end as ISO-8601 text, or `…` when open.
fn fmt_ts_opt(ts_ms: Option<i64>) -> String {
    match ts_ms.and_then(chrono::DateTime::from_timestamp_millis) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "…".to_string(),
    }
}
