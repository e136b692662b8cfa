//! The `ai` strategy: the orchestrator driving trades (DESIGN §5).
//!
//! Every bar, at its close:
//! 1. the technical rule and the regime detector update; the technical opinion is its entry
//!    side with the rule's confidence, or — when the EMAs cross against the open position —
//!    the opposite side at 0.5 (an exit signal);
//! 2. the evolved strategy (the best stored genome, when the caller supplies one) gives BUY or
//!    SELL at `EVOLVED_CONFIDENCE` when its rule enters, the opposite side at 0.5 when it
//!    exits, HOLD otherwise; strategy components (the latest trained DQN for the symbol) do
//!    the same at `STRATEGY_CONFIDENCE` (0.7), deciding on the orchestrator's own position;
//!    extra advisors give theirs;
//! 3. the online learner blocks components degraded in this regime, boosts healthy ones
//!    (× 1.1) and gives its own opinion;
//! 4. the orchestrator votes; only when the vote would open or reverse a position is the LLM
//!    asked (with the other opinions in its prompt), and its opinion (or veto) joins the vote;
//! 5. BUY while flat or short enters long with `EquityFrac(size)` and an ATR stop at the
//!    regime's multiple with a take-profit at `take_profit_r` times that risk; SELL while long
//!    exits (or reverses when shorts are allowed); HOLD holds.
//!
//! **Learning within the run**: when the strategy sees a position closed, each component that
//! had an opinion at the entry decision gets an outcome in the online learner for the entry's
//! regime: the trade's return (close of the bar where the closure is seen vs the entry price,
//! signed by side) when it voted the trade's side, minus that when it voted against. This is
//! deterministic, so a backtest stays reproducible; carrying the learner across runs is the
//! caller's choice (`--learn`).
//!
//! A *blocked* component makes no trades, so its shadow outcomes (the online learner's
//! recovery rule) come from its own opinions: a BUY or SELL it gives while blocked is scored
//! `SHADOW_HORIZON` (24) bars later by the signed close-to-close return over those bars (one
//! pending opinion per component at a time).
//!
//! **Per-trade leverage** (when the engine runs at a leverage setting `L` > 1, i.e. the venue
//! allows it): for each entry the leverage manager takes the leverage DQN's base (its greedy
//! action's `k` when it would enter the same side, else 1), adjusts it for volatility (ATR /
//! close against its mean over the last `VOL_REF_BARS`), trend (the regime detector's Bull /
//! Bear, its ADX ≥ 25 verdict) and confidence, and sizes by half-Kelly (the last
//! `KELLY_TRADES` trades) and the 1 % risk budget. The order commits `size × l / L` of equity
//! as margin, so its notional is `size × l ×` equity (the leverage DQN's convention: the
//! venue's leverage setting is `L`, the margin per trade is what `l` needs). While a
//! leveraged position is open and nothing else is decided, the liquidation guard estimates
//! the isolated-margin liquidation price (`entry × (1 ∓ 1/L ± 0.4 %)`) and margin ratio and
//! reduces or closes the position (`Exit { frac }`) as the leverage manager says.
//!
//! **Learning after every trade** (`--learn` in backtests, on in paper and live): when the
//! strategy sees a position closed, the DQN component (when an agent was given,
//! [`AiStrategy::with_dqn_learning`]) receives the trade as one transition — its state at the
//! entry decision, the trade's side as its action, the `dqn` reward of the whole trade as one
//! step that opened and closed, its state at the bar where the closure is seen, done — then
//! takes `LEARN_STEPS_PER_TRADE` (4) gradient steps once its replay holds a minibatch, acts
//! with the new weights and bumps its model version. The caller stores the new version.
//!
//! Every bar with a non-HOLD opinion or decision is kept as a [`DecisionRecord`] (with the
//! inputs, so `explain` can recompute it without each component); the caller stores those
//! that matter (`app::ai::record`: not HOLD, an order or a veto).

use crate::ai::advisor::{Action, Advisor, Component, MarketView, Opinion, OpinionReason};
use crate::ai::dqn::{DqnAgent, StepOutcome, Transition, dqn_reward};
use crate::ai::leverage::{LeverageConfig, LeverageInputs, LeverageManager, kelly_from_returns};
use crate::ai::llm::{LlmAdvisor, MarketContext};
use crate::ai::online::OnlineLearner;
use crate::ai::orchestrator::{Decision, Inputs, Orchestrator, OrchestratorConfig};
use crate::core::order::{Entry, Intent, OrderKind, PositionView, Side, Sizing};
use crate::indicators::ParamError;
use crate::regime::{Regime, RegimeConfig, RegimeDetector, RegimeState};
use crate::signal::{SignalConfig, TechnicalSignal};
use crate::strategy::dqn::DqnStrategy;
use crate::strategy::evolved::Evolved;
use crate::strategy::{History, ParamKind, ParamSpec, ParamValue, Params, Strategy};

mod state;

/// Bars after which a blocked component's opinion is scored as a shadow outcome.
pub const SHADOW_HORIZON: usize = 24;

/// Confidence of the evolved strategy's entries.
pub const EVOLVED_CONFIDENCE: f64 = 0.8;

/// Confidence of a strategy component's entries (the DQN's greedy action).
pub const STRATEGY_CONFIDENCE: f64 = 0.7;

/// Bars of ATR / close whose mean is the leverage manager's volatility reference.
pub const VOL_REF_BARS: usize = 500;

/// Maintenance margin rate of the liquidation estimate (Binance's lowest bracket, 0.4 %).
pub const MAINT_MARGIN_RATE: f64 = 0.004;

/// Gradient steps the DQN takes after each closed trade with `--learn`.
pub const LEARN_STEPS_PER_TRADE: usize = 4;

/// Closed trades whose returns give the leverage manager's Kelly fraction.
pub const KELLY_TRADES: usize = 50;

/// The `ai` strategy's parameters.
pub const AI_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "threshold",
        kind: ParamKind::Float { min: 0.0, max: 1.0 },
        default: ParamValue::Float(0.2),
        doc: "|weighted score| needed to act",
    },
    ParamSpec {
        name: "base_size",
        kind: ParamKind::Float { min: 0.0, max: 1.0 },
        default: ParamValue::Float(0.25),
        doc: "base position size, fraction of equity (× confidence^1.5 × regime factor, ≤ 25 %)",
    },
    ParamSpec {
        name: "take_profit_r",
        kind: ParamKind::Float {
            min: 0.0,
            max: 50.0,
        },
        default: ParamValue::Float(2.0),
        doc: "take-profit distance in multiples of the stop risk; 0 = none",
    },
    ParamSpec {
        name: "allow_short",
        kind: ParamKind::Bool,
        default: ParamValue::Bool(false),
        doc: "enter short positions too",
    },
];

/// One bar's decision, with what it was made from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DecisionRecord {
    /// Bar index.
    pub bar: usize,
    /// Open time of the bar (UTC ms).
    pub ts_ms: i64,
    /// The position's side before the decision.
    pub position: Option<Side>,
    /// The decision.
    pub decision: Decision,
    /// The decision had each component been absent.
    pub without: Vec<(Component, Action, f64)>,
    /// The intent sent to the engine (`enter long`, `exit`, `hold`).
    pub intent: String,
}

/// An open trade as the strategy saw it enter.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct OpenTrade {
    side: Side,
    entry_price: f64,
    regime: Regime,
    opinions: Vec<(Component, Action)>,
    entry: EntryContext,
}

/// What the DQN's experience of a trade needs from its entry decision.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct EntryContext {
    /// The DQN's state at the entry decision.
    #[serde(with = "crate::persist::opt_f32_hex")]
    dqn_state: Option<Vec<f32>>,
    /// Equity at the entry decision.
    equity: f64,
    /// ATR / close at the entry decision.
    sigma: f64,
}

/// An entry sent and not yet seen filled: the opinions behind it, its regime, its context.
type PendingEntry = (Vec<(Component, Action)>, Regime, EntryContext);

/// Learning after every trade (module doc): the DQN component's agent and what it learned.
#[derive(Debug)]
pub struct DqnOnline {
    /// The agent (online and target networks, Adam, replay of the trades' transitions).
    pub agent: DqnAgent,
    /// Gradient steps after each closed trade.
    pub steps_per_trade: usize,
    /// The model version: +1 after each trade that trained.
    pub version: i64,
    /// Trades whose experience the agent received.
    pub trades: u64,
    /// Gradient steps taken.
    pub grad_steps: u64,
}

/// The orchestrator as a strategy.
pub struct AiStrategy {
    params: Params,
    orchestrator: Orchestrator,
    signal: TechnicalSignal,
    regime: RegimeDetector,
    evolved: Option<Evolved>,
    strategies: Vec<(Component, Box<dyn Strategy + Send>)>,
    advisors: Vec<Box<dyn Advisor + Send>>,
    llm: Option<LlmAdvisor>,
    online: OnlineLearner,
    take_profit_r: f64,
    allow_short: bool,
    decisions: Vec<DecisionRecord>,
    pending: Option<PendingEntry>,
    open: Option<OpenTrade>,
    shadow: Vec<(usize, Component, Regime, Side, f64)>,
    warnings: Vec<String>,
    leverage: Option<PerTradeLeverage>,
    vol_hist: std::collections::VecDeque<f64>,
    trade_returns: std::collections::VecDeque<f64>,
    dqn: Option<DqnStrategy>,
    dqn_online: Option<DqnOnline>,
    dqn_due: Option<(OpenTrade, f64)>,
}

/// A component strategy's intent as an opinion: an entry votes its side at `entry_confidence`,
/// an exit votes against the open position at 0.5 (hold when flat), a hold abstains.
fn intent_opinion(
    intent: Intent,
    pos: &PositionView,
    entry_confidence: f64,
    reasons: Vec<OpinionReason>,
) -> Opinion {
    match intent {
        Intent::Enter(e) => Opinion::new(
            if e.side == Side::Long {
                Action::Buy
            } else {
                Action::Sell
            },
            entry_confidence,
            reasons,
        ),
        Intent::Exit { .. } => match pos.side {
            Some(Side::Long) => Opinion::new(Action::Sell, 0.5, reasons),
            Some(Side::Short) => Opinion::new(Action::Buy, 0.5, reasons),
            None => Opinion::hold(),
        },
        Intent::Hold => Opinion::hold(),
    }
}

/// Per-trade leverage (module doc): the leverage manager, the engine's leverage setting and
/// the leverage DQN giving the base leverage.
struct PerTradeLeverage {
    manager: LeverageManager,
    engine_leverage: f64,
    /// The leverage DQN (or a stand-in) and the leverage its `EquityFrac(k / max)` is of.
    dqn: Option<(Box<dyn Strategy + Send>, f64)>,
}

impl std::fmt::Debug for AiStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiStrategy")
            .field("params", &self.params)
            .field("evolved", &self.evolved.is_some())
            .field("advisors", &self.advisors.len())
            .field("llm", &self.llm)
            .finish()
    }
}

impl AiStrategy {
    /// Build from resolved parameters with the default weights.
    ///
    /// # Errors
    /// [`ParamError`] for out-of-range parameters.
    pub fn new(params: &Params) -> Result<Self, ParamError> {
        let full = Params::resolve(AI_PARAMS, &[])?;
        let mut p = full;
        for spec in AI_PARAMS {
            if let Some(v) = params.0.get(spec.name) {
                p.0.insert(spec.name.to_string(), spec.check(*v)?);
            }
        }
        let cfg = OrchestratorConfig {
            threshold: p.f64_or("threshold", 0.2),
            base_size_frac: p.f64_or("base_size", 0.25),
            ..OrchestratorConfig::default()
        };
        Ok(AiStrategy {
            orchestrator: Orchestrator::new(cfg),
            signal: TechnicalSignal::new(SignalConfig::default())?,
            regime: RegimeDetector::new(RegimeConfig::default())?,
            evolved: None,
            strategies: Vec::new(),
            advisors: Vec::new(),
            llm: None,
            online: OnlineLearner::default(),
            take_profit_r: p.f64_or("take_profit_r", 2.0),
            allow_short: p.bool_or("allow_short", false),
            params: p,
            decisions: Vec::new(),
            pending: None,
            open: None,
            shadow: Vec::new(),
            warnings: Vec::new(),
            leverage: None,
            vol_hist: std::collections::VecDeque::new(),
            trade_returns: std::collections::VecDeque::new(),
            dqn: None,
            dqn_online: None,
            dqn_due: None,
        })
    }

    /// Add a trained DQN as the [`Component::Dqn`] component (greedy action as its opinion,
    /// at `STRATEGY_CONFIDENCE`).
    pub fn with_dqn(mut self, dqn: DqnStrategy) -> Self {
        self.dqn = Some(dqn);
        self
    }

    /// Learn after every trade (module doc): `agent` starts from the DQN component's weights;
    /// `version` is the model's version so far.
    pub fn with_dqn_learning(mut self, agent: DqnAgent, version: i64) -> Self {
        self.dqn_online = Some(DqnOnline {
            agent,
            steps_per_trade: LEARN_STEPS_PER_TRADE,
            version,
            trades: 0,
            grad_steps: 0,
        });
        self
    }

    /// The DQN's learning so far (with `--learn`).
    pub fn dqn_online(&self) -> Option<&DqnOnline> {
        self.dqn_online.as_ref()
    }

    /// The DQN component's experience of a closed trade: one transition from its state at the
    /// entry decision, the trade's side as its action, the `dqn` reward of the trade as one
    /// step (opened and closed), to its state now (done); then a few gradient steps, and the
    /// component acts with the new weights.
    fn learn_dqn(&mut self, t: &OpenTrade, equity_now: f64) {
        let (Some(online), Some(dqn)) = (self.dqn_online.as_mut(), self.dqn.as_mut()) else {
            return;
        };
        let Some(state) = &t.entry.dqn_state else {
            return;
        };
        let reward = dqn_reward(&StepOutcome {
            equity_before: t.entry.equity,
            equity_after: equity_now,
            sigma: t.entry.sigma,
            held: false,
            opened: true,
            closed: true,
            ..StepOutcome::default()
        })
        .total();
        online.agent.observe(&Transition {
            state,
            action: if t.side == Side::Long { 1 } else { 2 },
            reward: reward as f32,
            next_state: dqn.state(),
            done: true,
        });
        online.trades += 1;
        let mut trained = false;
        let mut failed = None;
        for _ in 0..online.steps_per_trade {
            match online.agent.train_step() {
                Ok(Some(_)) => {
                    trained = true;
                    online.grad_steps += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    failed = Some(format!(
                        "DQN learning stopped: {e}; its last weights are kept"
                    ));
                    break;
                }
            }
        }
        if failed.is_none() && trained {
            online.version += 1;
            if let Err(e) = dqn.set_net(online.agent.online().clone()) {
                failed = Some(format!("DQN learning stopped: {e}"));
            }
        }
        if let Some(w) = failed {
            self.warnings.push(w);
            self.dqn_online = None;
        }
    }

    /// Decide a leverage per trade (module doc): the engine runs at `engine_leverage` (the
    /// venue's setting, > 1), the leverage manager picks a whole leverage in
    /// `1..=min(10, engine_leverage)` for each entry from the leverage DQN's base (or 1),
    /// volatility, trend, confidence, Kelly and the risk budget. `dqn` is the leverage DQN
    /// with the leverage it was trained at (its `LONG_kX` enters `EquityFrac(k / max)`).
    pub fn with_leverage(
        mut self,
        engine_leverage: f64,
        dqn: Option<(Box<dyn Strategy + Send>, f64)>,
    ) -> Self {
        if engine_leverage > 1.0 {
            let cfg = LeverageConfig {
                max_leverage: LeverageConfig::default().max_leverage.min(engine_leverage),
                ..LeverageConfig::default()
            };
            self.leverage = Some(PerTradeLeverage {
                manager: LeverageManager::new(cfg),
                engine_leverage,
                dqn,
            });
        }
        self
    }

    /// Use these orchestrator weights (threshold and sizing stay).
    pub fn with_weights(mut self, weights: crate::ai::orchestrator::Weights) -> Self {
        let mut cfg = self.orchestrator.config().clone();
        cfg.weights = weights;
        self.orchestrator = Orchestrator::new(cfg);
        self
    }

    /// Add the evolved component.
    pub fn with_evolved(mut self, evolved: Evolved) -> Self {
        self.evolved = Some(evolved);
        self
    }

    /// Add a strategy as component `component` (e.g. a trained DQN as [`Component::Dqn`]).
    pub fn with_strategy_component(
        mut self,
        component: Component,
        strategy: Box<dyn Strategy + Send>,
    ) -> Self {
        self.strategies.push((component, strategy));
        self
    }

    /// Add another advisor.
    pub fn with_advisor(mut self, advisor: Box<dyn Advisor + Send>) -> Self {
        self.advisors.push(advisor);
        self
    }

    /// Add the LLM component.
    pub fn with_llm(mut self, llm: LlmAdvisor) -> Self {
        self.llm = Some(llm);
        self
    }

    /// Start from a learner carried over from earlier runs.
    pub fn with_online(mut self, online: OnlineLearner) -> Self {
        self.online = online;
        self
    }

    /// The online learner now.
    pub fn online(&self) -> &OnlineLearner {
        &self.online
    }

    /// The components available (opinion sources wired in).
    pub fn components(&self) -> Vec<Component> {
        let mut v = vec![Component::Technical, Component::Online];
        if self.evolved.is_some() {
            v.push(Component::Evolved);
        }
        v.extend(self.strategies.iter().map(|(c, _)| *c));
        if self.dqn.is_some() {
            v.push(Component::Dqn);
        }
        v.extend(self.advisors.iter().map(|a| a.component()));
        if self.llm.is_some() {
            v.push(Component::Llm);
        }
        v.sort();
        v
    }

    /// The orchestrator's settings.
    pub fn orchestrator(&self) -> &Orchestrator {
        &self.orchestrator
    }

    /// The decisions kept since the last take.
    pub fn take_decision_records(&mut self) -> Vec<DecisionRecord> {
        std::mem::take(&mut self.decisions)
    }

    /// The LLM advisor, if any (for its records and counts).
    pub fn llm_mut(&mut self) -> Option<&mut LlmAdvisor> {
        self.llm.as_mut()
    }

    /// Warnings collected (one per failing component).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The liquidation guard (module doc): `Exit { frac }` when the leverage manager says to
    /// reduce an open position at `close`, else `Hold`. Only with per-trade leverage.
    pub fn liquidation_guard(&self, pos: &PositionView, close: f64) -> Intent {
        let (Some(pl), Some(side)) = (&self.leverage, pos.side) else {
            return Intent::Hold;
        };
        if pos.qty <= 0.0 || pos.entry_price <= 0.0 {
            return Intent::Hold;
        }
        let l = pl.engine_leverage;
        let sign = side.sign();
        let liq = pos.entry_price * (1.0 - sign / l + sign * MAINT_MARGIN_RATE);
        let margin = pos.qty * pos.entry_price / l;
        let balance = margin + sign * pos.qty * (close - pos.entry_price);
        let ratio = if balance > 0.0 {
            MAINT_MARGIN_RATE * pos.qty * close / balance
        } else {
            1.0
        };
        match pl.manager.protect(ratio, close, Some(liq)) {
            crate::ai::leverage::Protection::Reduce { frac } => Intent::Exit { frac },
            crate::ai::leverage::Protection::Keep => Intent::Hold,
        }
    }

    /// Learn from a closed trade (module doc).
    fn learn(&mut self, close: f64, equity: f64) {
        let Some(t) = self.open.take() else { return };
        if t.entry_price <= 0.0 {
            return;
        }
        if self.dqn_online.is_some() {
            self.dqn_due = Some((t.clone(), equity));
        }
        let ret = t.side.sign() * (close / t.entry_price - 1.0);
        if self.trade_returns.len() == KELLY_TRADES {
            self.trade_returns.pop_front();
        }
        self.trade_returns.push_back(ret);
        for (c, a) in &t.opinions {
            let signed = match a.side() {
                Some(s) if s == t.side => ret,
                Some(_) => -ret,
                None => continue,
            };
            self.online.record(c.as_str(), t.regime, signed);
        }
    }
}

impl Strategy for AiStrategy {
    fn name(&self) -> &str {
        "ai"
    }

    fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
        let bar = hist.last();
        let t = hist.index();
        // position bookkeeping: a pending entry became a position, a position closed
        if let Some(open) = &self.open
            && (pos.side != Some(open.side) || (pos.entry_price - open.entry_price).abs() > 0.0)
        {
            self.learn(bar.close, pos.equity);
        }
        if self.open.is_none()
            && let (Some(side), Some((opinions, regime, entry))) = (pos.side, self.pending.take())
        {
            self.open = Some(OpenTrade {
                side,
                entry_price: pos.entry_price,
                regime,
                opinions,
                entry,
            });
        }
        // score blocked components' shadow opinions that are due
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.shadow)
            .into_iter()
            .partition(|s| s.0 <= t);
        self.shadow = rest;
        for (_, c, r, side, close0) in due {
            if close0 > 0.0 {
                self.online
                    .record(c.as_str(), r, side.sign() * (bar.close / close0 - 1.0));
            }
        }
        let regime_state: Option<RegimeState> = self.regime.update(&bar);
        let regime = regime_state.map(|r| r.regime);
        let sig = self.signal.update(&bar);
        let mut opinions: Vec<(Component, Opinion)> = Vec::new();
        let mut atr = 0.0;
        if let Some(sig) = &sig {
            atr = sig.atr;
            let mut reasons: Vec<OpinionReason> = sig
                .reasons
                .iter()
                .map(|r| OpinionReason::Technical { reason: *r })
                .collect();
            if let Some(r) = regime_state {
                reasons.push(OpinionReason::Regime {
                    regime: r.regime,
                    confidence: r.confidence,
                });
            }
            let o = match (sig.side, pos.side) {
                (Some(Side::Long), _) => Opinion::new(Action::Buy, sig.confidence, reasons),
                (Some(Side::Short), _) => Opinion::new(Action::Sell, sig.confidence, reasons),
                (None, Some(s)) if sig.exits(s) => {
                    reasons.push(OpinionReason::ExitSignal);
                    let a = if s == Side::Long {
                        Action::Sell
                    } else {
                        Action::Buy
                    };
                    Opinion::new(a, 0.5, reasons)
                }
                _ => Opinion::new(Action::Hold, 0.0, reasons),
            };
            opinions.push((Component::Technical, o));
        }
        if let Some(ev) = &mut self.evolved {
            let intent = ev.on_bar(hist, pos);
            let rule = OpinionReason::EvolvedRule {
                id: ev.params().0.get("id").map(|v| v.as_i64()),
                rule: String::new(),
            };
            let o = intent_opinion(intent, pos, EVOLVED_CONFIDENCE, vec![rule]);
            opinions.push((Component::Evolved, o));
        }
        for (c, strat) in &mut self.strategies {
            let o = intent_opinion(
                strat.on_bar(hist, pos),
                pos,
                STRATEGY_CONFIDENCE,
                Vec::new(),
            );
            opinions.push((*c, o));
        }
        if let Some(d) = &mut self.dqn {
            let o = intent_opinion(d.on_bar(hist, pos), pos, STRATEGY_CONFIDENCE, Vec::new());
            opinions.push((Component::Dqn, o));
        }
        // a trade closed: the DQN learns from it now that its state is this bar's
        if let Some((t, equity)) = self.dqn_due.take() {
            self.learn_dqn(&t, equity);
        }
        let view = MarketView {
            symbol: "",
            bar,
            closes: hist.close(),
            regime: regime_state,
            position: pos.side,
        };
        for a in &mut self.advisors {
            if let Some(o) = a.advise(&view) {
                opinions.push((a.component(), o));
            }
        }
        // the online learner: blocks, boosts and its own opinion
        let mut blocked = Vec::new();
        if let Some(r) = regime {
            for (c, o) in &mut opinions {
                if self.online.is_blocked(c.as_str(), r) {
                    blocked.push(*c);
                    if let Some(side) = o.action.side()
                        && !self.shadow.iter().any(|s| s.1 == *c)
                    {
                        self.shadow
                            .push((t + SHADOW_HORIZON, *c, r, side, bar.close));
                    }
                    if let Some(h) = self.online.health(c.as_str(), r)
                        && let crate::ai::online::Status::Blocked { why, .. } = &h.status
                    {
                        o.reasons.push(OpinionReason::Blocked {
                            component: *c,
                            why: why.clone(),
                        });
                    }
                }
                let m = self.online.confidence_mult(c.as_str(), r);
                if m != 1.0 {
                    o.confidence = (o.confidence * m).min(1.0);
                }
            }
            let unblocked: Vec<(Component, Opinion)> = opinions
                .iter()
                .filter(|(c, _)| !blocked.contains(c))
                .cloned()
                .collect();
            if let Some(o) = self.online.opinion(r, &unblocked) {
                opinions.push((Component::Online, o));
            }
        }
        // the leverage DQN's base leverage for an entry now (it sees every bar)
        let lev_base = match self.leverage.as_mut().and_then(|pl| pl.dqn.as_mut()) {
            Some((d, max)) => {
                let max = max.max(1.0);
                match d.on_bar(hist, pos) {
                    Intent::Enter(Entry {
                        side,
                        sizing: Sizing::EquityFrac(f),
                        ..
                    }) => Some((side, (f * max).round())),
                    _ => None,
                }
            }
            None => None,
        };
        if atr > 0.0 && bar.close > 0.0 {
            if self.vol_hist.len() == VOL_REF_BARS {
                self.vol_hist.pop_front();
            }
            self.vol_hist.push_back(atr / bar.close);
        }
        let mut inputs = Inputs {
            opinions,
            blocked,
            regime,
            kelly: None,
            leverage: 1.0,
        };
        let mut decision = self.orchestrator.decide(&inputs);
        let opens = match decision.action.side() {
            Some(s) => {
                pos.side != Some(s) && (s == Side::Long || self.allow_short || pos.side.is_none())
            }
            None => false,
        };
        if opens && let Some(llm) = &mut self.llm {
            let ctx = MarketContext {
                symbol: String::new(),
                bar_ts_ms: bar.ts_ms,
                proposed: decision.action,
                confidence: decision.confidence,
                closes: hist.close()[hist.len().saturating_sub(20)..].to_vec(),
                indicators: vec![("atr".into(), atr)],
                regime,
                opinions: inputs
                    .opinions
                    .iter()
                    .map(|(c, o)| (*c, o.action, o.confidence))
                    .collect(),
            };
            if let Some(o) = llm.ask(&ctx) {
                inputs.opinions.push((Component::Llm, o));
                decision = self.orchestrator.decide(&inputs);
            }
            if let Some(w) = llm.take_warning() {
                self.warnings.push(w);
            }
        }
        // per-trade leverage (module doc): the leverage manager's decision for this entry
        let mut entry_frac = decision.size_frac;
        if let (Some(pl), Some(side)) = (&self.leverage, decision.action.side())
            && atr > 0.0
            && bar.close > 0.0
        {
            let mult = regime.map_or(2.0, Regime::stop_atr_mult);
            let strong = pl.manager.config().strong_adx;
            // the regime detector's Bull / Bear is its ADX ≥ 25 verdict with a direction
            let (trend, adx) = match regime {
                Some(Regime::Bull) => (Some(Side::Long), strong),
                Some(Regime::Bear) => (Some(Side::Short), strong),
                _ => (None, 0.0),
            };
            let returns: Vec<f64> = self.trade_returns.iter().copied().collect();
            let ld = pl.manager.decide(&LeverageInputs {
                base: lev_base.filter(|(s, _)| *s == side).map_or(1.0, |(_, k)| k),
                side,
                vol: atr / bar.close,
                vol_ref: self.vol_hist.iter().sum::<f64>() / self.vol_hist.len().max(1) as f64,
                adx,
                trend,
                confidence: decision.confidence,
                kelly: kelly_from_returns(&returns),
                stop_frac: atr * mult / bar.close,
            });
            decision.size_frac = decision.size_frac.min(ld.size_frac);
            decision.leverage = ld.leverage;
            entry_frac = decision.size_frac * ld.leverage / pl.engine_leverage;
        }
        let intent = match (decision.action, pos.side) {
            (Action::Buy, Some(Side::Long)) | (Action::Sell, Some(Side::Short)) => Intent::Hold,
            (Action::Sell, Some(Side::Long)) if !self.allow_short => Intent::Exit { frac: 1.0 },
            (Action::Buy, Some(Side::Short)) if !self.allow_short => Intent::Exit { frac: 1.0 },
            (Action::Sell, None) if !self.allow_short => Intent::Hold,
            (Action::Buy | Action::Sell, _) if atr > 0.0 && entry_frac > 0.0 => {
                let side = decision.action.side().unwrap_or(Side::Long);
                let mult = regime.map_or(2.0, Regime::stop_atr_mult);
                let risk = atr * mult;
                let sign = side.sign();
                Intent::Enter(Entry {
                    side,
                    sizing: Sizing::EquityFrac(entry_frac),
                    kind: OrderKind::Market,
                    stop: Some(bar.close - sign * risk),
                    take_profit: (self.take_profit_r > 0.0)
                        .then_some(bar.close + sign * self.take_profit_r * risk),
                    atr: Some(atr),
                })
            }
            _ => Intent::Hold,
        };
        // liquidation protection of an open leveraged position (module doc)
        let intent = match intent {
            Intent::Hold => self.liquidation_guard(pos, bar.close),
            i => i,
        };
        if let (Intent::Enter(_), Some(r)) = (intent, regime) {
            self.pending = Some((
                inputs
                    .opinions
                    .iter()
                    .map(|(c, o)| (*c, o.action))
                    .collect(),
                r,
                EntryContext {
                    dqn_state: self
                        .dqn_online
                        .as_ref()
                        .and(self.dqn.as_ref())
                        .map(|d| d.state().to_vec()),
                    equity: pos.equity,
                    sigma: if bar.close > 0.0 {
                        atr / bar.close
                    } else {
                        0.0
                    },
                },
            ));
        }
        let interesting = decision.action != Action::Hold
            || inputs
                .opinions
                .iter()
                .any(|(_, o)| o.action != Action::Hold);
        if interesting {
            let without = inputs
                .opinions
                .iter()
                .map(|(c, _)| {
                    let d = self.orchestrator.without(&inputs, *c);
                    (*c, d.action, d.confidence)
                })
                .collect();
            self.decisions.push(DecisionRecord {
                bar: t,
                ts_ms: bar.ts_ms,
                position: pos.side,
                decision,
                without,
                intent: match intent {
                    Intent::Hold => "hold".into(),
                    Intent::Exit { .. } => "exit".into(),
                    Intent::Enter(e) => format!(
                        "enter {}",
                        if e.side == Side::Long {
                            "long"
                        } else {
                            "short"
                        }
                    ),
                },
            });
        }
        intent
    }

    fn reset(&mut self) {
        self.signal.reset();
        self.regime.reset();
        if let Some(e) = &mut self.evolved {
            e.reset();
        }
        for a in &mut self.advisors {
            a.reset();
        }
        for (_, st) in &mut self.strategies {
            st.reset();
        }
        self.decisions.clear();
        self.pending = None;
        self.open = None;
        self.shadow.clear();
        if let Some((d, _)) = self.leverage.as_mut().and_then(|pl| pl.dqn.as_mut()) {
            d.reset();
        }
        self.vol_hist.clear();
        self.trade_returns.clear();
        if let Some(d) = &mut self.dqn {
            d.reset();
        }
        self.dqn_due = None;
    }

    fn params(&self) -> Params {
        self.params.clone()
    }

    fn warmup_bars(&self) -> usize {
        let c = self.signal.config();
        [
            c.ema_slow.saturating_sub(1),
            c.macd_slow + c.macd_signal - 2,
            2 * c.adx_period - 1,
            c.rsi_period,
            c.atr_period,
            c.volume_ma.saturating_sub(1),
        ]
        .into_iter()
        .chain(self.evolved.as_ref().map(Strategy::warmup_bars))
        .chain(self.strategies.iter().map(|(_, st)| st.warmup_bars()))
        .chain(self.dqn.as_ref().map(Strategy::warmup_bars))
        .max()
        .unwrap_or(0)
    }

    fn regime(&self) -> Option<RegimeState> {
        self.regime.current()
    }

    /// Everything that decides a later bar (`state` module doc): indicators, regime, online
    /// learner, open and pending trades, the components' models and feature state, the
    /// DQN's online agent; not the decision records (the driver takes those).
    fn save_state(&self) -> Result<serde_json::Value, crate::persist::StateError> {
        state::save(self)
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), crate::persist::StateError> {
        state::load(self, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::testbars::decline_then_rally;

    #[test]
    fn technical_alone_enters_and_every_decision_names_its_components() {
        let bars = decline_then_rally(3000.0);
        let mut s = AiStrategy::new(&Params::default()).unwrap();
        assert_eq!(
            s.components(),
            vec![Component::Technical, Component::Online]
        );
        let pos = PositionView::default();
        let intents: Vec<Intent> = (0..bars.len())
            .map(|t| s.on_bar(&History::new(&bars, t), &pos))
            .collect();
        let t = intents
            .iter()
            .position(|i| matches!(i, Intent::Enter(_)))
            .expect("an entry");
        let Intent::Enter(e) = intents[t] else {
            unreachable!()
        };
        assert_eq!(e.side, Side::Long);
        let Sizing::EquityFrac(f) = e.sizing else {
            panic!("{:?}", e.sizing)
        };
        assert!(f > 0.0 && f <= 0.25);
        let recs = s.take_decision_records();
        let d = recs.iter().find(|r| r.bar == t).unwrap();
        assert_eq!(d.decision.action, Action::Buy);
        // technical alone: its weight renormalises to 1 and its confidence is the decision's
        let tech = &d.decision.votes[0];
        assert_eq!(tech.effective_weight, 1.0);
        assert_eq!(
            tech.opinion.as_ref().map(|o| o.confidence),
            Some(d.decision.confidence)
        );
        // without technical nothing is left to vote
        assert_eq!(d.without, vec![(Component::Technical, Action::Hold, 0.0)]);
        assert_eq!(d.intent, "enter long");
    }

    #[test]
    fn per_trade_leverage_sizes_each_entry_in_the_engine() {
        use crate::engine::{BacktestConfig, run_backtest};
        let bars = decline_then_rally(3000.0);
        // a stand-in leverage DQN trained at 10×: LONG_3X on every bar (base leverage 3)
        let base: Box<dyn Strategy + Send> = Box::new(AlwaysLong(0.3));
        let mut s = AiStrategy::new(&Params::default())
            .unwrap()
            .with_leverage(5.0, Some((base, 10.0)));
        let cfg = BacktestConfig {
            leverage: 5.0,
            ..BacktestConfig::default()
        };
        let res = run_backtest(&bars, &mut s, &cfg).unwrap();
        let recs = s.take_decision_records();
        let entry = recs
            .iter()
            .find(|r| r.intent == "enter long")
            .expect("an entry");
        let d = &entry.decision;
        // a whole leverage in 1..=3 (base 3, adjusted down), and the size within the caps
        let base = d.leverage;
        assert!((1.0..=3.0).contains(&base) && base.fract() == 0.0, "{base}");
        assert!(
            recs.iter().any(|r| r.decision.leverage > 1.0),
            "some entry is leveraged"
        );
        assert!(d.size_frac > 0.0 && d.size_frac <= 0.25);
        // the trade's notional is size × leverage × equity (the margin is size × l / 5)
        let t = res.trades.first().expect("a trade");
        assert_eq!(t.entry_bar, entry.bar + 1);
        let equity = res.equity[entry.bar - res.first_bar];
        let notional = t.qty * t.entry_price;
        let want = d.size_frac * d.leverage * equity;
        assert!((notional / want - 1.0).abs() < 0.05, "{notional} vs {want}");
        // without per-trade leverage the same bars enter at leverage 1
        let mut plain = AiStrategy::new(&Params::default()).unwrap();
        run_backtest(&bars, &mut plain, &cfg).unwrap();
        let p = plain.take_decision_records();
        assert!(p.iter().all(|r| r.decision.leverage == 1.0));
    }

    #[test]
    fn the_liquidation_guard_reduces_then_closes_near_the_liquidation_price() {
        let s = AiStrategy::new(&Params::default())
            .unwrap()
            .with_leverage(5.0, None);
        let long = PositionView {
            side: Some(Side::Long),
            qty: 1.0,
            entry_price: 100.0,
            equity: 100.0,
            ..PositionView::default()
        };
        // liquidation at 100 × (1 − 1/5 + 0.004) = 80.4
        assert_eq!(s.liquidation_guard(&long, 95.0), Intent::Hold);
        // within 5 % of it: reduce by half
        assert_eq!(s.liquidation_guard(&long, 84.0), Intent::Exit { frac: 0.5 });
        // within 1 %: close
        assert_eq!(s.liquidation_guard(&long, 81.0), Intent::Exit { frac: 1.0 });
        // a short mirrors it: liquidation at 100 × (1 + 1/5 − 0.004) = 119.6
        let short = PositionView {
            side: Some(Side::Short),
            ..long
        };
        assert_eq!(s.liquidation_guard(&short, 105.0), Intent::Hold);
        assert_eq!(
            s.liquidation_guard(&short, 116.0),
            Intent::Exit { frac: 0.5 }
        );
        // spot (no per-trade leverage): never
        let spot = AiStrategy::new(&Params::default()).unwrap();
        assert_eq!(spot.liquidation_guard(&long, 81.0), Intent::Hold);
    }

    /// A stand-in for the leverage DQN: enters long with this equity fraction on every bar.
    struct AlwaysLong(f64);

    impl Strategy for AlwaysLong {
        fn name(&self) -> &str {
            "always-long"
        }
        fn on_bar(&mut self, _: &History<'_>, pos: &PositionView) -> Intent {
            if pos.side == Some(Side::Long) {
                return Intent::Hold;
            }
            Intent::Enter(Entry {
                sizing: Sizing::EquityFrac(self.0),
                ..Entry::market(Side::Long)
            })
        }
        fn reset(&mut self) {}
    }

    /// A stand-in for a trained model: enters short on every bar.
    struct AlwaysShort;

    impl Strategy for AlwaysShort {
        fn name(&self) -> &str {
            "always-short"
        }
        fn on_bar(&mut self, _: &History<'_>, _: &PositionView) -> Intent {
            Intent::Enter(Entry::market(Side::Short))
        }
        fn reset(&mut self) {}
    }

    #[test]
    fn a_strategy_component_votes_with_its_weight() {
        let bars = decline_then_rally(3000.0);
        let mut s = AiStrategy::new(&Params::default())
            .unwrap()
            .with_strategy_component(Component::Dqn, Box::new(AlwaysShort));
        assert_eq!(
            s.components(),
            vec![Component::Technical, Component::Dqn, Component::Online]
        );
        let pos = PositionView::default();
        for t in 0..bars.len() {
            s.on_bar(&History::new(&bars, t), &pos);
        }
        let recs = s.take_decision_records();
        // the DQN alone (before technical speaks): SELL at 0.7, but shorts are off → hold
        let early = &recs[0];
        assert_eq!(early.decision.action, Action::Sell);
        assert!((early.decision.confidence - STRATEGY_CONFIDENCE).abs() < 1e-12);
        assert_eq!(early.intent, "hold");
        // where technical says BUY, the weights 0.3 vs 0.25 renormalise to 6/11 and 5/11
        let both = recs
            .iter()
            .find(|r| {
                r.decision.votes[0]
                    .opinion
                    .as_ref()
                    .is_some_and(|o| o.action == Action::Buy)
            })
            .unwrap();
        let tech = both.decision.votes[0].opinion.as_ref().unwrap().confidence;
        let want = 6.0 / 11.0 * tech - 5.0 / 11.0 * STRATEGY_CONFIDENCE;
        assert!((both.decision.score - want).abs() < 1e-12);
    }
}
