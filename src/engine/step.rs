//! [`Engine`]: the stepping engine. One [`Engine::step`] is one bar of the backtest loop
//! (docs/DESIGN.md §3); backtests, the DQN environment, paper and live trading all drive
//! it, the first over [`SimBroker`], the last over a venue broker.
//!
//! Time comes from the bar, never from a clock. The engine's whole state (broker book,
//! risk state and managed stops, counters) serialises with serde; the strategy's state is
//! saved beside it with [`crate::strategy::Strategy::save_state`] ([`Engine::save`],
//! [`Engine::restore`]), so a run split at any bar and restored continues bit for bit.

use serde::{Deserialize, Serialize};

use super::event::{EngineEvent, EventKind};
use super::{BacktestConfig, EngineError, Fill, Halt};
use crate::broker::{
    Ack, Broker, FillAction, MarketBar, OrderFill, QuietColumns, SimBroker, Totals,
};
use crate::core::order::{
    ClientOrderId, ExitReason, IdScope, Intent, OrderPurpose, PositionView, Rationale, Sizing,
    Trade,
};
use crate::data::{Bar, Bars};
use crate::persist::StateError;
use crate::regime::{RegimeState, RegimeTransition};
use crate::risk::{Holding, RiskContext, RiskManager};
use crate::strategy::{History, QuietGate, Strategy};

/// One bar as the engine steps it: the history up to and including it, the bar itself,
/// and its funding rate (from the data's `funding_rate` column).
#[derive(Debug, Clone, Copy)]
pub struct BarInput<'a> {
    /// Bars `..=t`; the last one is the bar being stepped.
    pub hist: History<'a>,
    /// The bar being stepped (`hist.last()`, read once by the caller: a backtest walks the
    /// columns zipped instead of indexing six of them per bar).
    pub bar: Bar,
    /// The bar's funding rate: `None` without a funding column, `Some(NaN)` when the
    /// column has no rate at this bar.
    pub funding_rate: Option<f64>,
}

impl<'a> BarInput<'a> {
    /// Bar `t` of `bars` with its funding rate.
    ///
    /// # Panics
    /// If `t >= bars.len()`.
    pub fn new(bars: &'a Bars, t: usize) -> Self {
        let hist = History::new(bars, t);
        BarInput {
            hist,
            bar: hist.last(),
            funding_rate: bars
                .extra("funding_rate")
                .map(|c| c.get(t).copied().unwrap_or(f64::NAN)),
        }
    }
}

/// The books at the end of the last step.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Mark {
    /// Equity.
    pub equity: f64,
    /// Free cash.
    pub cash: f64,
    /// Position value (isolated margin + unrealized PnL).
    pub position_value: f64,
    /// Whether a position is open.
    pub exposure: bool,
}

impl Mark {
    #[inline]
    fn of(a: &Totals) -> Self {
        Mark {
            equity: a.equity,
            cash: a.cash,
            position_value: a.position_value,
            exposure: a.has_position,
        }
    }
}

/// The stepping engine over broker `B`. See the module doc.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Engine<B> {
    cfg: BacktestConfig,
    scope: String,
    /// `scope` filtered for client ids, made on the first order (not saved: it follows
    /// from `scope`).
    #[serde(skip)]
    id_scope: Option<IdScope>,
    broker: B,
    risk: RiskManager,
    seq: u64,
    order_seq: u64,
    funding_seen: f64,
    rejected_seen: u64,
    stopped: bool,
    halted: Option<Halt>,
    regime: Option<RegimeState>,
    unknown: Vec<ClientOrderId>,
    mark: Mark,
    #[serde(skip)]
    events: Vec<EngineEvent>,
    /// The list every poll appends its executions to ([`Broker::poll_into`]; empty between
    /// polls, kept for its capacity; not saved).
    #[serde(skip)]
    fills: Vec<OrderFill>,
    /// The first bar whose columns the quiet stretches have not read ahead yet (a cache
    /// hint, see [`crate::broker::SimQuietGate`]; not saved).
    #[serde(skip)]
    ahead: usize,
    /// Record only what a backtest keeps (see [`Engine::transcript_only`]). Not saved: a
    /// restored engine records everything.
    #[serde(skip)]
    transcript_only: bool,
    /// The regime changes a quiet stretch's strategy reported (bar, from, to), in order;
    /// empty between stretches, kept for its capacity (not saved).
    #[serde(skip)]
    regime_changes: Vec<(usize, RegimeState, RegimeState)>,
}

/// A quiet stretch's gate that also takes note of the strategy's regime changes
/// ([`QuietGate::regime_changed`]), for [`Engine::quiet_stretch`] to report.
struct NotingGate<'g, G> {
    gate: &'g mut G,
    changes: &'g mut Vec<(usize, RegimeState, RegimeState)>,
}

impl<G: QuietGate> QuietGate for NotingGate<'_, G> {
    #[inline]
    fn hold(&mut self, from: usize, max: usize) -> usize {
        self.gate.hold(from, max)
    }

    fn regime_changed(&mut self, t: usize, from: RegimeState, to: RegimeState) -> bool {
        self.changes.push((t, from, to));
        true
    }
}

/// An engine and its strategy's state, as [`Engine::save`] writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedRun {
    /// The engine (its broker included).
    pub engine: serde_json::Value,
    /// The strategy's name.
    pub strategy: String,
    /// The strategy's [`Strategy::save_state`].
    pub strategy_state: serde_json::Value,
}

impl Engine<SimBroker> {
    /// A backtest engine: a [`SimBroker`] with `cfg`'s settings.
    ///
    /// # Errors
    /// [`EngineError::Config`] for a setting out of range.
    pub fn backtest(cfg: &BacktestConfig) -> Result<Self, EngineError> {
        cfg.validate()?;
        Ok(Engine::new(SimBroker::new(cfg.sim_config()), cfg, "bt"))
    }

    /// Close the open position at the close of bar `t` (`--close-at-end`, reason
    /// [`ExitReason::EndOfData`]); returns the events (none when flat or stopped).
    pub fn close_at_end(&mut self, t: usize, bar: &Bar) -> &[EngineEvent] {
        self.events.clear();
        if !self.stopped
            && self.halted.is_none()
            && let Some(fill) =
                self.broker
                    .close_position(t, bar.ts_ms, bar.close, ExitReason::EndOfData)
        {
            self.handle_fills(&mut vec![fill], t, bar.ts_ms);
            self.mark = Mark::of(&self.broker.totals());
            self.mark.exposure = false;
        }
        &self.events
    }

    /// Book a quiet stretch from bar `t` (docs/DESIGN.md §3, "Quiet stretches"): when
    /// nothing but the strategy's decision can change the books from `t` on (not stopped
    /// or halted, no unresolved orders, no managed stop and no daily loss limit while
    /// positioned, no minimum notional while flat, and the broker quiet: see
    /// [`SimBroker::quiet_gate`]; a flat stretch feeds the daily loss limit each bar's
    /// close at the unchanged equity, as the steps would), the
    /// strategy runs ahead with [`Strategy::quiet_bars`] over bars `t..end` while the
    /// broker books each bar in `rows`. Returns how many bars were
    /// consumed (0: step bar `t`) and the events of the stretch (regime reports only:
    /// the changes the strategy had the gate note, each at its bar, as the steps would
    /// report them). The caller guarantees there is no funding column. Every consumed bar gets
    /// the books, broker state and strategy state a [`Engine::step`] would give it; its
    /// row is appended to `rows`, which hold the bars before `t`.
    pub fn quiet_stretch<S: Strategy + ?Sized>(
        &mut self,
        strategy: &mut S,
        bars: &Bars,
        t: usize,
        end: usize,
        rows: &mut crate::broker::BookRows,
    ) -> (usize, &[EngineEvent]) {
        self.events.clear();
        let risk = &self.cfg.risk;
        if t >= end
            || end > bars.len()
            || self.stopped
            || self.halted.is_some()
            || !self.unknown.is_empty()
        {
            return (0, &self.events);
        }
        // the daily loss limit reads each bar's closing equity: a stretch takes it only
        // while flat, where that equity is the one before the stretch
        let daily_limit = risk.daily_loss_limit_frac.is_some();
        let has_position = self.broker.has_position();
        if (has_position && (!risk.is_unmanaged() || daily_limit))
            || (!has_position && self.cfg.min_notional > 0.0)
        {
            return (0, &self.events);
        }
        let cols = QuietColumns {
            bars,
            end,
            ahead: self.ahead,
        };
        let Some(mut gate) = self.broker.quiet_gate(t, cols, rows) else {
            return (0, &self.events);
        };
        let view = self.broker.position_view(t);
        self.regime_changes.clear();
        let mut noting = NotingGate {
            gate: &mut gate,
            changes: &mut self.regime_changes,
        };
        let k = strategy.quiet_bars(&History::new(bars, end - 1), t, &view, &mut noting);
        let k = k.min(gate.held());
        self.ahead = gate.ahead();
        std::hint::black_box(gate.book(k));
        if k == 0 {
            return (0, &self.events);
        }
        self.broker
            .commit_quiet(t, k, bars.high(), bars.low(), bars.close());
        let last = t + k - 1;
        let acct = self.broker.totals();
        if daily_limit {
            for &ts_ms in bars.ts_ms().get(t..=last).unwrap_or_default() {
                self.risk.on_bar_close(ts_ms, acct.equity);
            }
        }
        self.mark = Mark::of(&acct);
        self.order_seq = 0;
        // the changes on consumed bars, in order, as the steps would have reported them
        let changes = std::mem::take(&mut self.regime_changes);
        for &(u, from, to) in changes.iter().filter(|c| c.0 < t + k) {
            if from.regime != to.regime {
                let ts_ms = bars.ts_ms().get(u).copied().unwrap_or(0);
                self.push_regime(u, ts_ms, from, to);
            }
            self.regime = Some(to);
        }
        self.regime_changes = changes;
        self.note_regime(strategy, last, bars.ts_ms().get(last).copied().unwrap_or(0));
        (k, &self.events)
    }

    /// The open position as a trade valued at the close of bar `t` ([`ExitReason::Open`]).
    pub fn open_trade(&self, t: usize, bar: &Bar) -> Option<Trade> {
        if self.stopped {
            return None;
        }
        self.broker.open_trade(t, bar.ts_ms, bar.close)
    }
}

impl<B: Broker> Engine<B> {
    /// An engine over `broker` with `cfg`'s risk rules, fill mode and leverage. `scope` (a
    /// run or bot id) prefixes every client order id.
    pub fn new(broker: B, cfg: &BacktestConfig, scope: &str) -> Self {
        let acct = broker.totals();
        Engine {
            cfg: *cfg,
            scope: scope.to_string(),
            id_scope: None,
            risk: RiskManager::new(cfg.risk, cfg.fractional),
            seq: 0,
            order_seq: 0,
            funding_seen: acct.funding_paid,
            rejected_seen: acct.orders_rejected,
            stopped: acct.bankrupt,
            halted: None,
            regime: None,
            unknown: Vec::new(),
            mark: Mark::of(&acct),
            events: Vec::with_capacity(16),
            fills: Vec::new(),
            ahead: 0,
            transcript_only: false,
            regime_changes: Vec::new(),
            broker,
        }
    }

    /// Record only the events a backtest keeps: fills, protections, funding, refusals,
    /// rejections, bankruptcy, halts, regime changes and broker failures, but no
    /// `Decision`, `Submitted` or `Cancelled` audit events (so the strategy's rationale is
    /// not asked for). `seq` numbers the recorded events, without gaps. Everything else
    /// (orders, fills, books) is unchanged; [`super::run_backtest`] steps such an engine.
    pub fn transcript_only(mut self) -> Self {
        self.transcript_only = true;
        self
    }

    /// The broker.
    pub fn broker(&self) -> &B {
        &self.broker
    }

    /// The broker, mutably: a venue broker reconnects after a restore and reconciles at
    /// the start of a live tick.
    pub fn broker_mut(&mut self) -> &mut B {
        &mut self.broker
    }

    /// For a venue broker only: collect the executions of the orders this bar's step sent
    /// (a market order fills at once on an exchange), record them and mark, so the books
    /// saved after a live tick agree with the exchange. No decision is made. Never call it
    /// with the simulator: its poll of the same bar would fill resting orders again.
    pub fn settle(&mut self, input: &BarInput<'_>) -> &[EngineEvent] {
        self.events.clear();
        if self.stopped || self.halted.is_some() {
            return &self.events;
        }
        let t = input.hist.index();
        let bar = input.bar;
        let mb = MarketBar {
            t,
            bar,
            funding_rate: input.funding_rate,
        };
        match self.broker.poll(&mb) {
            Ok(mut fills) => self.handle_fills(&mut fills, t, bar.ts_ms),
            Err(e) => self.failed(t, bar.ts_ms, "poll", None, &e),
        }
        self.mark = Mark::of(&self.broker.totals());
        &self.events
    }

    /// The risk manager.
    pub fn risk(&self) -> &RiskManager {
        &self.risk
    }

    /// The books after the last step.
    pub fn mark(&self) -> Mark {
        self.mark
    }

    /// True once trading stopped by bankruptcy (equity zero).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Set once trading stopped because equity cannot pay one minimum order.
    pub fn halted(&self) -> Option<Halt> {
        self.halted
    }

    /// Orders whose acknowledgement was unknown and not yet resolved by `query`.
    pub fn unresolved(&self) -> &[ClientOrderId] {
        &self.unknown
    }

    fn push(&mut self, t: usize, ts_ms: i64, kind: EventKind) {
        self.events.push(EngineEvent {
            seq: self.seq,
            t,
            ts_ms,
            kind,
        });
        self.seq += 1;
    }

    /// Feed a warm-up bar (before the traded range): the strategy decides, its intent is
    /// ignored. Regime changes are still reported.
    pub fn warm_up<S: Strategy + ?Sized>(
        &mut self,
        strategy: &mut S,
        input: &BarInput<'_>,
    ) -> &[EngineEvent] {
        self.events.clear();
        let view = PositionView {
            equity: self.broker.totals().equity,
            ..PositionView::default()
        };
        let _warm_up = strategy.on_bar(&input.hist, &view);
        self.note_regime(strategy, input.hist.index(), input.bar.ts_ms);
        &self.events
    }

    /// One bar: the broker polls (funding, fills at the open, stops, take-profits and
    /// liquidation inside the bar, mark at the close), risk updates the managed stops (in
    /// force from the next bar), then the strategy decides on the history and its intent
    /// goes through risk to the broker (filling at the next open, or at this close with
    /// [`Fill::Close`]). Returns this step's events; [`Engine::mark`] has the books.
    /// After bankruptcy a step only marks zero.
    ///
    /// The common bar takes a short path: when [`Broker::quiet_poll`] says nothing can
    /// happen on it (flat without orders, or a plain held position) the poll, its fill and
    /// account-change checks are skipped, and only a strategy that wants to act reaches
    /// risk and the broker. Both paths do the same operations in the same order.
    ///
    /// # Errors
    /// None today: broker failures become [`EventKind::BrokerFailed`] events. The
    /// `Result` is kept for state errors of future brokers.
    #[inline]
    pub fn step<S: Strategy + ?Sized>(
        &mut self,
        strategy: &mut S,
        input: &BarInput<'_>,
    ) -> Result<&[EngineEvent], EngineError> {
        self.events.clear();
        self.order_seq = 0;
        if self.stopped {
            self.mark = Mark::default();
            return Ok(&self.events);
        }
        if self.halted.is_some() {
            // flat with no orders: nothing can change; the mark stays
            return Ok(&self.events);
        }
        let t = input.hist.index();
        let mb = MarketBar {
            t,
            bar: input.bar,
            funding_rate: input.funding_rate,
        };
        if !self.unknown.is_empty() {
            self.reconcile(t, mb.bar.ts_ms);
        }
        if self.broker.quiet_poll(&mb) {
            // no fills, funding, rejections or bankruptcy: a held position is only managed
            if !self.cfg.risk.is_unmanaged() && self.broker.totals().has_position {
                self.manage(t, &mb.bar);
            }
        } else if !self.poll_bar(&mb) {
            return Ok(&self.events);
        }
        let acct = self.broker.totals();
        let equity = acct.equity;
        if self.cfg.risk.daily_loss_limit_frac.is_some() {
            self.risk.on_bar_close(mb.bar.ts_ms, equity);
        }
        self.mark = Mark::of(&acct);
        if self.cfg.min_notional > 0.0
            && !acct.has_position
            && acct.open_orders == 0
            && self.halt_if_broke(t, mb.bar.ts_ms, equity)
        {
            return Ok(&self.events);
        }
        let view = self.broker.position_view(t);
        let intent = strategy.on_bar(&input.hist, &view);
        self.note_regime(strategy, t, mb.bar.ts_ms);
        if !matches!(intent, Intent::Hold) {
            self.act(strategy, intent, &view, &acct, &mb);
        }
        Ok(&self.events)
    }

    /// The full poll of a bar: the broker's executions, then (when a position or orders
    /// were there before) the funding, rejections and bankruptcy they caused and the
    /// managed stops. False when the run went bankrupt.
    #[inline(never)]
    fn poll_bar(&mut self, mb: &MarketBar) -> bool {
        let (t, ts_ms) = (mb.t, mb.bar.ts_ms);
        let before = self.broker.totals();
        let busy = before.open_orders > 0 || before.has_position;
        // the engine's list, taken while the fills are recorded (they push events)
        let mut fills = std::mem::take(&mut self.fills);
        if let Err(e) = self.broker.poll_into(mb, &mut fills) {
            // as a failed poll: nothing executed
            fills.clear();
            self.failed(t, ts_ms, "poll", None, &e);
        }
        if busy {
            self.handle_fills(&mut fills, t, ts_ms);
        }
        fills.clear();
        self.fills = fills;
        if !busy {
            return true;
        }
        let acct = self.broker.totals();
        if acct.funding_paid != self.funding_seen {
            let payment = acct.funding_paid - self.funding_seen;
            self.push(t, ts_ms, EventKind::Funding { payment });
            self.funding_seen = acct.funding_paid;
        }
        if acct.orders_rejected != self.rejected_seen {
            let count = acct.orders_rejected - self.rejected_seen;
            self.push(t, ts_ms, EventKind::OrdersRejected { count });
            self.rejected_seen = acct.orders_rejected;
        }
        if acct.bankrupt {
            self.push(t, ts_ms, EventKind::Bankrupt);
            self.stopped = true;
            self.mark = Mark::default();
            return false;
        }
        if !self.cfg.risk.is_unmanaged() && acct.has_position {
            self.manage(t, &mb.bar);
        }
        true
    }

    /// Risk updates the managed stops of the open position with bar `t`; a change is
    /// recorded and sent to the broker.
    #[inline(never)]
    fn manage(&mut self, t: usize, bar: &Bar) {
        if let Some(p) = self.risk.manage(bar) {
            self.push(t, bar.ts_ms, EventKind::Protection(Box::new(*p.inner())));
            if let Err(e) = self.broker.protect(p) {
                self.failed(t, bar.ts_ms, "protect", None, &e);
            }
        }
    }

    /// Stop trading for good when flat equity cannot pay one minimum order; true then.
    #[inline(never)]
    fn halt_if_broke(&mut self, t: usize, ts_ms: i64, equity: f64) -> bool {
        let min_order = self.cfg.min_order_cost();
        if equity >= min_order {
            return false;
        }
        let halt = Halt {
            t,
            ts_ms,
            equity,
            min_order,
        };
        self.halted = Some(halt);
        self.push(t, ts_ms, EventKind::Halted(halt));
        true
    }

    /// The strategy wants to act at the close of bar `mb.t`: record its decision, pass
    /// the intent through risk, cancel what a new entry replaces, submit, and with
    /// [`Fill::Close`] fill at this close.
    #[inline(never)]
    fn act<S: Strategy + ?Sized>(
        &mut self,
        strategy: &S,
        intent: Intent,
        view: &PositionView,
        acct: &Totals,
        mb: &MarketBar,
    ) {
        let (t, ts_ms, bar) = (mb.t, mb.bar.ts_ms, &mb.bar);
        let equity = acct.equity;
        let audit = !self.transcript_only;
        if audit {
            let Rationale {
                confidence,
                reasons,
            } = strategy.rationale();
            let confidence = confidence.or(match intent {
                Intent::Enter(e) => match e.sizing {
                    Sizing::Risk { confidence, .. } => Some(confidence),
                    _ => None,
                },
                _ => None,
            });
            self.push(
                t,
                ts_ms,
                EventKind::Decision {
                    intent,
                    confidence,
                    reasons,
                },
            );
        }
        let ctx = RiskContext {
            t,
            ts_ms,
            close: bar.close,
            equity,
            position: view.side,
            leverage: self.cfg.leverage,
        };
        match self.risk.approve(&intent, &ctx) {
            Ok(None) => {}
            Ok(Some(order)) => {
                if order.inner().purpose == OrderPurpose::Entry && acct.open_orders > 0 {
                    // a new entry replaces resting entries and exits (backtesting.py's
                    // exclusive_orders); protective orders stay
                    for o in self.broker.open_orders() {
                        if o.request.purpose == OrderPurpose::Protective {
                            continue;
                        }
                        match self.broker.cancel(&o.id) {
                            Ok(()) if !audit => {}
                            Ok(()) => self.push(t, ts_ms, EventKind::Cancelled { id: o.id }),
                            Err(e) => self.failed(t, ts_ms, "cancel", Some(o.id), &e),
                        }
                    }
                }
                let order = if self.broker.resolves_sizing() {
                    order
                } else {
                    let holding = Holding {
                        cash: acct.cash,
                        qty: view.qty,
                        position_value: acct.position_value,
                        leverage: self.cfg.leverage,
                        commission: self.cfg.commission,
                    };
                    self.risk
                        .resolve_units(order, bar.close, &holding, self.broker.instrument())
                };
                let scope = *self
                    .id_scope
                    .get_or_insert_with(|| IdScope::new(&self.scope));
                let id = scope.id(ts_ms, self.order_seq);
                self.order_seq += 1;
                let purpose = order.inner().purpose;
                match self.broker.submit(&id, &order) {
                    Ok(ack) => {
                        if matches!(ack, Ack::Unknown { .. }) {
                            self.unknown.push(id);
                        }
                        if audit {
                            self.push(t, ts_ms, EventKind::Submitted { id, purpose, ack });
                        }
                    }
                    Err(e) => self.failed(t, ts_ms, "submit", Some(id), &e),
                }
            }
            Err(refused) => self.push(
                t,
                ts_ms,
                EventKind::Refused {
                    reason: refused.reason,
                },
            ),
        }
        if self.cfg.fill == Fill::Close && self.broker.totals().open_orders > 0 {
            match self.broker.poll_close(mb) {
                Ok(mut fills) => self.handle_fills(&mut fills, t, ts_ms),
                Err(e) => self.failed(t, ts_ms, "poll", None, &e),
            }
            self.mark = Mark::of(&self.broker.totals());
        }
    }

    /// Ask the broker about every order whose acknowledgement was unknown.
    fn reconcile(&mut self, t: usize, ts_ms: i64) {
        for id in std::mem::take(&mut self.unknown) {
            match self.broker.query(&id) {
                Ok(status) => self.push(t, ts_ms, EventKind::Reconciled { id, status }),
                Err(e) => {
                    self.failed(t, ts_ms, "query", Some(id), &e);
                    self.unknown.push(id);
                }
            }
        }
    }

    fn failed(
        &mut self,
        t: usize,
        ts_ms: i64,
        op: &str,
        id: Option<ClientOrderId>,
        e: &crate::broker::BrokerError,
    ) {
        self.push(
            t,
            ts_ms,
            EventKind::BrokerFailed {
                op: op.to_string(),
                id,
                error: e.to_string(),
            },
        );
    }

    /// Report a regime change of the strategy.
    fn note_regime<S: Strategy + ?Sized>(&mut self, strategy: &S, t: usize, ts_ms: i64) {
        let Some(cur) = strategy.regime() else {
            return;
        };
        if let Some(prev) = self.regime
            && prev.regime != cur.regime
        {
            self.push_regime(t, ts_ms, prev, cur);
        }
        self.regime = Some(cur);
    }

    /// Report the change of regime from `from` to `to` on bar `t`.
    fn push_regime(&mut self, t: usize, ts_ms: i64, from: RegimeState, to: RegimeState) {
        self.push(
            t,
            ts_ms,
            EventKind::Regime(RegimeTransition {
                ts_ms,
                from: from.regime,
                to: to.regime,
                confidence: to.confidence,
            }),
        );
    }

    /// Record fills as events and keep risk's view of the position in step; `fills` is
    /// left empty.
    fn handle_fills(&mut self, fills: &mut Vec<OrderFill>, t: usize, ts_ms: i64) {
        if fills.is_empty() {
            return;
        }
        let mut opened = false;
        for f in fills.drain(..) {
            match f.action {
                FillAction::Open | FillAction::Increase => opened = true,
                FillAction::Close { trade } => {
                    self.risk.on_trade_closed(&trade);
                    if trade.exit_reason == ExitReason::PartialTakeProfit {
                        self.risk.on_partial_fill();
                    }
                }
            }
            self.push(t, ts_ms, EventKind::Fill(f));
        }
        match self.broker.account().position {
            None => self.risk.on_position_closed(),
            Some(p) if opened => self.risk.on_position_opened(
                p.side,
                p.entry_price,
                p.qty,
                p.stop.map(|s| s.price),
                p.take_profit,
            ),
            Some(_) => {}
        }
    }
}

impl<B: Broker + Serialize + serde::de::DeserializeOwned> Engine<B> {
    /// The engine and `strategy`'s state as one JSON-ready value.
    ///
    /// # Errors
    /// [`StateError`] when the strategy cannot save its state.
    pub fn save<S: Strategy + ?Sized>(&self, strategy: &S) -> Result<SavedRun, StateError> {
        Ok(SavedRun {
            engine: crate::persist::to_value(self)?,
            strategy: strategy.name().to_string(),
            strategy_state: strategy.save_state()?,
        })
    }

    /// Rebuild an engine from `saved` and load its strategy state into `strategy` (built
    /// by the caller with the same name).
    ///
    /// # Errors
    /// [`StateError::Mismatch`] when `strategy` has another name; [`StateError::Json`] for
    /// a corrupt state.
    pub fn restore<S: Strategy + ?Sized>(
        saved: &SavedRun,
        strategy: &mut S,
    ) -> Result<Self, StateError> {
        if saved.strategy != strategy.name() {
            return Err(StateError::Mismatch {
                expected: strategy.name().to_string(),
                found: saved.strategy.clone(),
            });
        }
        let engine: Engine<B> = crate::persist::from_value(&saved.engine)?;
        strategy.load_state(&saved.strategy_state)?;
        Ok(engine)
    }
}
