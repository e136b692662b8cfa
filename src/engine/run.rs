//! [`run_backtest`]: a loop of [`Engine::step`] over [`Engine<SimBroker>`]. See the module
//! doc of [`super`] for the order of operations within a bar.

use super::step::{BarInput, Engine};
use super::{BacktestConfig, BacktestResult, EngineError, EventKind};
use crate::broker::{BookRows, Broker, FillAction};
use crate::data::Bars;
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
    // the result keeps only the transcript: the engine need not record the audit events
    let mut engine = Engine::backtest(cfg)?.transcript_only();
    strategy.reset();

    let n = end - start;
    // the transcript and the trades are reserved from a guess (an sma-cross 10/20 on a
    // random walk makes one event per 13 bars and one trade per 46), so most runs never
    // copy them while growing
    let (events_hint, trades_hint) = (n / 8 + 16, n / 32 + 4);
    let mut res = BacktestResult {
        first_bar: start,
        events: Vec::with_capacity(events_hint.min(RESERVE_CAP)),
        trades: Vec::with_capacity(trades_hint.min(RESERVE_CAP)),
        ..BacktestResult::default()
    };
    let funding = bars.extra("funding_rate");
    let rate = |t: usize| funding.map(|c| c.get(t).copied().unwrap_or(f64::NAN));
    let mut sink = Sink {
        events: &mut res.events,
        trades: &mut res.trades,
        regime_transitions: &mut res.regime_transitions,
    };
    // the books: one row per bar, in one buffer sized once (see `BookRows`)
    let mut rows = BookRows::with_capacity(n);
    for t in 0..start {
        let events = engine.warm_up(strategy, &BarInput::new(bars, t));
        sink.collect(events);
    }
    // quiet stretches (docs/DESIGN.md §3): without a funding column, each step is
    // preceded by a try to book the bars on which the strategy holds in one go
    let stretches = funding.is_none();
    let mut t = start;
    while t < end {
        if stretches {
            let (k, events) = engine.quiet_stretch(strategy, bars, t, end, &mut rows);
            if !events.is_empty() {
                sink.collect(events);
            }
            t += k;
            if t == end {
                break;
            }
        }
        let input = BarInput {
            hist: History::new(bars, t),
            bar: bars.bar(t),
            funding_rate: rate(t),
        };
        let events = engine.step(strategy, &input)?;
        if !events.is_empty() {
            sink.collect(events);
        }
        let m = engine.mark();
        rows.push(m.equity, m.cash, m.position_value, m.exposure);
        t += 1;
    }
    res.bankrupt = engine.is_stopped();
    res.halted = engine.halted();
    if !res.bankrupt {
        let last = end - 1;
        let bar = bars.bar(last);
        if cfg.close_at_end {
            let events = engine.close_at_end(last, &bar);
            if !events.is_empty() {
                sink.collect(events);
                let m = engine.mark();
                rows.truncate(last - start);
                rows.push(m.equity, m.cash, m.position_value, m.exposure);
            }
        } else if let Some(trade) = engine.open_trade(last, &bar) {
            sink.trades.push(trade);
        }
    }
    (res.equity, res.cash, res.position_value, res.exposure) = rows.finish();
    let acct = engine.broker().account();
    res.fees_paid = acct.fees_paid;
    res.funding_paid = acct.funding_paid;
    Ok(res)
}

/// The most entries the transcript and the trades are reserved for up front (beyond,
/// they grow by doubling).
const RESERVE_CAP: usize = 1 << 20;

/// Where a backtest's events go: the transcript, closed trades, regime changes (the
/// result's vectors, borrowed apart from its per-bar books).
struct Sink<'a> {
    events: &'a mut Vec<super::Event>,
    trades: &'a mut Vec<crate::core::order::Trade>,
    regime_transitions: &'a mut Vec<crate::regime::RegimeTransition>,
}

impl Sink<'_> {
    /// Sort a step's events into the result.
    fn collect(&mut self, events: &[super::EngineEvent]) {
        for e in events {
            // the index a closing fill's trade gets
            let closed = self.trades.len();
            match &e.kind {
                EventKind::Regime(tr) => self.regime_transitions.push(*tr),
                EventKind::Fill(f) => {
                    if let FillAction::Close { trade } = f.action {
                        self.trades.push(trade);
                    }
                }
                _ => {}
            }
            if let Some(ev) = e.transcript(closed) {
                self.events.push(ev);
            }
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
