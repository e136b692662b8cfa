//! The `technical` strategy: the seed's technical rule ([`TechnicalSignal`]) sized and
//! stopped by the market regime ([`RegimeDetector`]).
//!
//! Each bar it feeds `hist.last()` to the signal and the regime detector (so it must be
//! driven once per bar, in order). On an entry signal while flat or positioned the other
//! way it enters at market with `Sizing::Risk { confidence, regime_mult }`, a stop
//! `atr × mult` away (mult = `atr_stop_mult`, or the regime's stop multiple when that is 0)
//! and a take-profit `take_profit_r` times that risk away. An open position exits on the
//! opposite EMA cross.

use crate::core::order::{Entry, Intent, OrderKind, PositionView, Side, Sizing};
use crate::indicators::{Isa, ParamError};
use crate::regime::{RegimeConfig, RegimeDetector, RegimeState};
use crate::signal::{SignalConfig, TechnicalSignal, Verdict};
use crate::strategy::{History, ParamKind, ParamSpec, ParamValue, Params, QuietGate, Strategy};

/// Stop multiple used when `atr_stop_mult` is 0 and the regime is not known yet.
const FALLBACK_STOP_ATR: f64 = 2.0;

const fn int(name: &'static str, min: i64, max: i64, default: i64, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Int { min, max },
        default: ParamValue::Int(default),
        doc,
    }
}

const fn float(
    name: &'static str,
    min: f64,
    max: f64,
    default: f64,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Float { min, max },
        default: ParamValue::Float(default),
        doc,
    }
}

/// The parameter space of the `technical` strategy.
pub const TECHNICAL_PARAMS: &[ParamSpec] = &[
    int("ema_fast", 2, 500, 12, "fast EMA period"),
    int("ema_slow", 3, 1000, 26, "slow EMA period (above ema_fast)"),
    int("rsi_period", 2, 500, 14, "RSI period"),
    float(
        "rsi_overbought",
        50.0,
        100.0,
        70.0,
        "RSI above this blocks longs",
    ),
    float(
        "rsi_oversold",
        0.0,
        50.0,
        30.0,
        "RSI below this blocks shorts",
    ),
    int("adx_period", 2, 500, 14, "ADX period"),
    float(
        "adx_threshold",
        0.0,
        100.0,
        20.0,
        "ADX above this confirms a trend",
    ),
    int("volume_ma", 1, 500, 20, "volume SMA period"),
    int("macd_fast", 2, 500, 12, "MACD fast period"),
    int("macd_slow", 3, 1000, 26, "MACD slow period"),
    int("macd_signal", 1, 500, 9, "MACD signal period"),
    int("atr_period", 1, 500, 14, "ATR period"),
    int(
        "divergence_lookback",
        2,
        500,
        14,
        "bars searched for an RSI divergence",
    ),
    int(
        "min_confirmations",
        0,
        5,
        3,
        "confirmations (of 5) needed to enter",
    ),
    float(
        "atr_stop_mult",
        0.0,
        20.0,
        0.0,
        "stop distance in ATRs; 0 = the regime's multiple",
    ),
    float(
        "take_profit_r",
        0.0,
        50.0,
        2.0,
        "take-profit distance in multiples of the stop risk; 0 = none",
    ),
    ParamSpec {
        name: "allow_short",
        kind: ParamKind::Bool,
        default: ParamValue::Bool(true),
        doc: "enter short positions too",
    },
];

/// The `technical` strategy.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Technical {
    params: Params,
    signal: TechnicalSignal,
    regime: RegimeDetector,
    atr_stop_mult: f64,
    take_profit_r: f64,
    allow_short: bool,
    /// Per-regime parameter sets (see [`Technical::with_regime_params`]).
    variants: Vec<(crate::regime::Regime, Technical)>,
    /// The bar [`Strategy::quiet_bars`] stopped at after updating the state with it (its
    /// decision is not `Hold`, or it changes the regime): the engine steps that bar next,
    /// and [`Strategy::on_bar`] answers from this instead of updating again. Not saved
    /// ([`Strategy::save_state`] refuses while it is set).
    #[serde(skip)]
    pending: Option<Pending>,
    /// The instruction set the observations run in: AVX2 with FMA where the CPU has it,
    /// so the five `mul_add`s of a bar (two EMAs, the MACD signal's EMA, the MACD's fast
    /// EMA and ATR) are `vfmadd` instructions instead of calls to `fma` (the same bits:
    /// a fused multiply-add rounds once either way). Not state: detected again on load.
    #[serde(skip, default = "Isa::detect")]
    isa: Isa,
}

/// [`Technical::observe`] as an operation for [`Isa::run`] (its `call` is always inlined,
/// so the whole update is compiled inside the instruction set's context).
struct ObserveRun<'a> {
    s: &'a mut Technical,
    bar: &'a crate::data::Bar,
}

impl pulp::NullaryFnOnce for ObserveRun<'_> {
    type Output = Observed;
    #[inline(always)]
    fn call(self) -> Observed {
        self.s.observe(self.bar)
    }
}

/// [`Technical::run_quiet`] as an operation for [`Isa::run`]: one context entry for a
/// whole quiet stretch.
struct QuietRun<'a, 'h> {
    s: &'a mut Technical,
    hist: &'a History<'h>,
    from: usize,
    pos: &'a PositionView,
    gate: &'a mut dyn QuietGate,
}

impl pulp::NullaryFnOnce for QuietRun<'_, '_> {
    type Output = usize;
    #[inline(always)]
    fn call(self) -> usize {
        self.s.run_quiet(self.hist, self.from, self.pos, self.gate)
    }
}

/// What one bar's update gave [`Technical::decide`]: everything its intent is built from
/// besides the position.
#[derive(Debug, Clone, Copy)]
struct Observed {
    sig: Option<Verdict>,
    regime: Option<RegimeState>,
    close: f64,
}

/// A bar decided ahead by [`Strategy::quiet_bars`] (see `Technical::pending`).
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Its index.
    t: usize,
    /// The regime before it (what [`Strategy::regime`] reports until it is stepped).
    before: Option<RegimeState>,
    /// Its update.
    seen: Observed,
}

/// Bars asked of the quiet gate at a time.
const QUIET_CHUNK: usize = 256;

impl Technical {
    /// Build from resolved parameters (see [`TECHNICAL_PARAMS`]; missing ones take their
    /// defaults).
    ///
    /// # Errors
    /// [`ParamError`] when a value is out of range or `ema_fast >= ema_slow`.
    pub fn new(params: &Params) -> Result<Self, ParamError> {
        let mut full = Params::resolve(TECHNICAL_PARAMS, &[])?;
        for spec in TECHNICAL_PARAMS {
            if let Some(v) = params.0.get(spec.name) {
                full.0.insert(spec.name.to_string(), spec.check(*v)?);
            }
        }
        let p = &full;
        let d = SignalConfig::default();
        let cfg = SignalConfig {
            ema_fast: p.usize_or("ema_fast", d.ema_fast),
            ema_slow: p.usize_or("ema_slow", d.ema_slow),
            rsi_period: p.usize_or("rsi_period", d.rsi_period),
            rsi_overbought: p.f64_or("rsi_overbought", d.rsi_overbought),
            rsi_oversold: p.f64_or("rsi_oversold", d.rsi_oversold),
            adx_period: p.usize_or("adx_period", d.adx_period),
            adx_threshold: p.f64_or("adx_threshold", d.adx_threshold),
            volume_ma: p.usize_or("volume_ma", d.volume_ma),
            macd_fast: p.usize_or("macd_fast", d.macd_fast),
            macd_slow: p.usize_or("macd_slow", d.macd_slow),
            macd_signal: p.usize_or("macd_signal", d.macd_signal),
            atr_period: p.usize_or("atr_period", d.atr_period),
            divergence_lookback: p.usize_or("divergence_lookback", d.divergence_lookback),
            min_confirmations: p.usize_or("min_confirmations", d.min_confirmations),
        };
        Ok(Technical {
            signal: TechnicalSignal::new(cfg)?,
            regime: RegimeDetector::new(RegimeConfig::default())?,
            atr_stop_mult: p.f64_or("atr_stop_mult", 0.0),
            take_profit_r: p.f64_or("take_profit_r", 2.0),
            allow_short: p.bool_or("allow_short", true),
            params: full,
            variants: Vec::new(),
            pending: None,
            isa: Isa::detect(),
        })
    }

    /// Switch parameters with the market regime: while the detector says regime `r`, decide
    /// with `r`'s parameters (merged over this strategy's own), else with the own ones.
    /// Every parameter set's indicators are updated on every bar, so a switch meets warm
    /// indicators. `algolab optimize --per-regime` stores the best set per regime;
    /// `app::optimize::record::regime_params` loads them.
    ///
    /// # Errors
    /// [`ParamError`] when a regime's parameters are out of range.
    pub fn with_regime_params(
        mut self,
        per_regime: Vec<(crate::regime::Regime, Params)>,
    ) -> Result<Self, ParamError> {
        for (r, p) in per_regime {
            let mut merged = self.params.clone();
            merged.0.extend(p.0);
            self.variants.push((r, Technical::new(&merged)?));
        }
        Ok(self)
    }

    /// The regimes with their own parameters.
    pub fn regime_params(&self) -> Vec<(crate::regime::Regime, Params)> {
        self.variants
            .iter()
            .map(|(r, t)| (*r, t.params.clone()))
            .collect()
    }
}

impl Strategy for Technical {
    fn name(&self) -> &str {
        "technical"
    }

    fn warmup_bars(&self) -> usize {
        // the slowest TA-Lib lookback among the signal's inputs
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
        .chain(self.variants.iter().map(|(_, v)| v.warmup_bars()))
        .max()
        .unwrap_or(0)
    }

    fn regime(&self) -> Option<RegimeState> {
        match &self.pending {
            Some(p) => p.before,
            None => self.regime.current(),
        }
    }

    fn save_state(&self) -> Result<serde_json::Value, crate::persist::StateError> {
        if self.pending.is_some() {
            // the state already holds a bar the engine has not stepped
            return Err(crate::persist::StateError::Unsupported(
                "technical (between a quiet stretch and the bar it stopped at)".to_string(),
            ));
        }
        crate::persist::to_value(self)
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), crate::persist::StateError> {
        *self = crate::persist::from_value(state)?;
        Ok(())
    }

    fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
        if let Some(p) = self.pending.take()
            && p.t == hist.index()
        {
            // updated by `quiet_bars` already (only without variants)
            return self.intent(&p.seen, pos);
        }
        let own = self.decide(hist, pos);
        if self.variants.is_empty() {
            return own;
        }
        let current = self.regime.current().map(|s| s.regime);
        let mut chosen = None;
        for (r, v) in &mut self.variants {
            let intent = v.decide(hist, pos);
            if Some(*r) == current {
                chosen = Some(intent);
            }
        }
        chosen.unwrap_or(own)
    }

    /// Runs the indicators ahead over bars that hold and keep the regime, or change it
    /// where the gate takes note of the change ([`QuietGate::regime_changed`]) (without
    /// per-regime variants; with them nothing is consumed). The bar it stops at has been
    /// fed already: it is kept in `pending` for the engine's step of it.
    fn quiet_bars(
        &mut self,
        hist: &History<'_>,
        from: usize,
        pos: &PositionView,
        gate: &mut dyn QuietGate,
    ) -> usize {
        if !self.variants.is_empty() || self.pending.is_some() {
            return 0;
        }
        let isa = self.isa;
        isa.run(QuietRun {
            s: self,
            hist,
            from,
            pos,
            gate,
        })
    }

    fn reset(&mut self) {
        self.pending = None;
        self.signal.reset();
        self.regime.reset();
        for (_, v) in &mut self.variants {
            v.reset();
        }
    }

    fn params(&self) -> Params {
        self.params.clone()
    }
}

impl Technical {
    /// The loop of [`Strategy::quiet_bars`] (run inside [`Isa::run`]).
    #[inline(always)]
    fn run_quiet(
        &mut self,
        hist: &History<'_>,
        from: usize,
        pos: &PositionView,
        gate: &mut dyn QuietGate,
    ) -> usize {
        let end = hist.index() + 1;
        let mut granted = from;
        let mut u = from;
        while u < end {
            if u == granted {
                let g = gate.hold(u, QUIET_CHUNK.min(end - u));
                if g == 0 {
                    break;
                }
                granted = u + g;
            }
            let Some(bar) = hist.bar(u) else {
                break;
            };
            let before = self.regime.current();
            let seen = self.observe(&bar);
            // a bar that acts ends the stretch; so does a change of regime unless the
            // gate takes note of it for the engine
            let stop = !matches!(self.intent(&seen, pos), Intent::Hold)
                || match (before, self.regime.current()) {
                    (Some(b), Some(a)) => a.regime != b.regime && !gate.regime_changed(u, b, a),
                    _ => false,
                };
            if stop {
                self.pending = Some(Pending { t: u, before, seen });
                break;
            }
            u += 1;
        }
        u - from
    }

    /// The decision of this parameter set (updates its signal and regime detector).
    #[inline]
    fn decide(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
        let isa = self.isa;
        let bar = hist.last();
        let seen = isa.run(ObserveRun { s: self, bar: &bar });
        self.intent(&seen, pos)
    }

    /// Feed `bar` to the signal and the regime detector.
    #[inline(always)]
    fn observe(&mut self, bar: &crate::data::Bar) -> Observed {
        let sig = self.signal.update_verdict(bar);
        // one ADX for the signal and the regime when their periods agree (the default)
        let regime = if self.signal.config().adx_period == self.regime.config().adx_period {
            self.regime.update_with_adx(bar, self.signal.last_adx())
        } else {
            self.regime.update(bar)
        };
        Observed {
            sig,
            regime,
            close: bar.close,
        }
    }

    /// The intent of an update at position `pos`.
    #[inline]
    fn intent(&self, seen: &Observed, pos: &PositionView) -> Intent {
        let Observed { sig, regime, close } = *seen;
        let Some(sig) = sig else {
            return Intent::Hold;
        };
        let exit = pos.side.is_some_and(|s| sig.exits(s));
        let side = sig
            .side
            .filter(|&s| s == Side::Long || self.allow_short)
            .filter(|&s| pos.side != Some(s));
        let (Some(side), true) = (side, sig.atr > 0.0) else {
            return if exit {
                Intent::Exit { frac: 1.0 }
            } else {
                Intent::Hold
            };
        };
        let mult = if self.atr_stop_mult > 0.0 {
            self.atr_stop_mult
        } else {
            regime.map_or(FALLBACK_STOP_ATR, |r| r.regime.stop_atr_mult())
        };
        let risk = sig.atr * mult;
        let sign = side.sign();
        Intent::Enter(Entry {
            side,
            sizing: Sizing::Risk {
                confidence: sig.confidence,
                regime_mult: regime.map_or(1.0, |r| r.regime.size_mult()),
            },
            kind: OrderKind::Market,
            stop: Some(close - sign * risk),
            take_profit: (self.take_profit_r > 0.0)
                .then_some(close + sign * self.take_profit_r * risk),
            atr: Some(sig.atr),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bars;
    use crate::signal::testbars::decline_then_rally;

    fn drive(s: &mut Technical, bars: &Bars, pos: PositionView) -> Vec<Intent> {
        (0..bars.len())
            .map(|t| s.on_bar(&History::new(bars, t), &pos))
            .collect()
    }

    fn kv(pairs: &[(&str, &str)]) -> Params {
        let kv: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Params::resolve(TECHNICAL_PARAMS, &kv).unwrap()
    }

    #[test]
    fn cross_with_all_confirmations_enters_long_with_atr_stop() {
        let bars = decline_then_rally(3000.0);
        let mut s = Technical::new(&kv(&[("atr_stop_mult", "2"), ("take_profit_r", "3")])).unwrap();
        let intents = drive(&mut s, &bars, PositionView::default());
        let (t, e) = intents
            .iter()
            .enumerate()
            .find_map(|(t, i)| match i {
                Intent::Enter(e) => Some((t, *e)),
                _ => None,
            })
            .expect("an entry");
        assert_eq!(e.side, Side::Long);
        assert_eq!(e.kind, OrderKind::Market);
        let close = bars.close()[t];
        let atr = e.atr.unwrap();
        // recompute the ATR independently of the strategy
        let mut a = crate::indicators::Atr::new(14).unwrap();
        let atrs = crate::indicators::batch(&mut a, &bars);
        assert_eq!(Some(atr), atrs[t]);
        assert_eq!(e.stop, Some(close - 2.0 * atr));
        assert_eq!(e.take_profit, Some(close + 3.0 * (2.0 * atr)));
        match e.sizing {
            Sizing::Risk {
                confidence,
                regime_mult,
            } => {
                assert_eq!(confidence, 1.0);
                assert!([1.2, 0.8, 0.3, 0.7, 0.5, 1.0].contains(&regime_mult));
            }
            other => panic!("sizing {other:?}"),
        }
    }

    #[test]
    fn no_entry_when_confirmations_are_missing() {
        let bars = decline_then_rally(3000.0);
        let mut s =
            Technical::new(&kv(&[("min_confirmations", "5"), ("adx_threshold", "100")])).unwrap();
        let intents = drive(&mut s, &bars, PositionView::default());
        assert!(intents.iter().all(|i| *i == Intent::Hold));
    }

    #[test]
    fn long_position_exits_on_the_cross_down_and_shorts_can_be_disabled() {
        // the rally, then a steady fall: the EMAs cross down
        let up = decline_then_rally(3000.0).into_columns();
        let mut cols = up.clone();
        let mut close = *up.close.last().unwrap();
        for i in 0..60 {
            let prev = close;
            close *= 0.985;
            cols.push(crate::data::Bar {
                ts_ms: (120 + i) * 3_600_000,
                open: prev,
                high: prev * 1.001,
                low: close * 0.999,
                close,
                volume: 500.0,
            });
        }
        let bars = Bars::new(cols).unwrap();
        let long = PositionView {
            side: Some(Side::Long),
            qty: 1.0,
            ..PositionView::default()
        };
        let mut s = Technical::new(&kv(&[("allow_short", "false")])).unwrap();
        let intents = drive(&mut s, &bars, long);
        assert!(intents[120..].contains(&Intent::Exit { frac: 1.0 }));
        assert!(
            !intents
                .iter()
                .any(|i| matches!(i, Intent::Enter(e) if e.side == Side::Short))
        );
    }

    #[test]
    fn regime_stop_multiple_is_used_when_atr_stop_mult_is_zero() {
        let bars = decline_then_rally(3000.0);
        let mut s = Technical::new(&Params::default()).unwrap();
        let intents = drive(&mut s, &bars, PositionView::default());
        let e = intents
            .iter()
            .find_map(|i| match i {
                Intent::Enter(e) => Some(*e),
                _ => None,
            })
            .unwrap();
        let atr = e.atr.unwrap();
        let t = intents
            .iter()
            .position(|i| matches!(i, Intent::Enter(_)))
            .unwrap();
        let dist = (bars.close()[t] - e.stop.unwrap()) / atr;
        assert!(
            [2.5, 1.5, 1.0, 2.0].iter().any(|m| (dist - m).abs() < 1e-9),
            "stop distance {dist} ATR"
        );
    }

    #[test]
    fn bad_params_are_rejected_and_defaults_are_reported() {
        assert!(Technical::new(&kv(&[("ema_fast", "30")])).is_err());
        let s = Technical::new(&Params::default()).unwrap();
        assert_eq!(s.name(), "technical");
        assert_eq!(s.params().usize_or("ema_slow", 0), 26);
        assert!(s.params().bool_or("allow_short", false));
    }

    /// Grants `chunk` bars at a time, none from `stop` on.
    struct Chunks {
        chunk: usize,
        stop: usize,
    }

    impl QuietGate for Chunks {
        fn hold(&mut self, from: usize, max: usize) -> usize {
            max.min(self.chunk).min(self.stop.saturating_sub(from))
        }
    }

    /// Random-walk bars with varying volume, hourly (days change inside stretches).
    fn walk(n: usize, seed: u64) -> Bars {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut p = 100.0_f64;
        Bars::from_bars((0..n).map(|i| {
            let open = p * (1.0 + 0.004 * (rng.random::<f64>() - 0.5));
            let close = open * (1.0 + 0.03 * (rng.random::<f64>() - 0.5));
            p = close;
            crate::data::Bar {
                ts_ms: i as i64 * 3_600_000,
                open,
                high: open.max(close) * (1.0 + 0.01 * rng.random::<f64>()),
                low: open.min(close) * (1.0 - 0.01 * rng.random::<f64>()),
                close,
                volume: 100.0 + 900.0 * rng.random::<f64>(),
            }
        }))
        .unwrap()
    }

    /// The observations in AVX2 with FMA (where this CPU has it) and in the portable code
    /// give the same intents, regimes and saved state bit for bit, stepped and quiet
    /// (`mul_add` rounds once in either; on a CPU without AVX2 both sides are portable).
    #[test]
    fn the_instruction_sets_give_the_same_bits() {
        let bars = walk(4_000, 11);
        let base = Technical::new(&kv(&[("min_confirmations", "2")])).unwrap();
        let mut fast = base.clone();
        fast.isa = Isa::detect();
        let mut portable = base;
        portable.isa = Isa::Portable;
        let long = PositionView {
            side: Some(Side::Long),
            qty: 1.0,
            ..PositionView::default()
        };
        for t in 0..bars.len() {
            let h = History::new(&bars, t);
            let pos = if t % 7 < 3 {
                long
            } else {
                PositionView::default()
            };
            assert_eq!(fast.on_bar(&h, &pos), portable.on_bar(&h, &pos), "bar {t}");
            assert_eq!(fast.regime(), portable.regime(), "bar {t}");
        }
        assert_eq!(fast.save_state().unwrap(), portable.save_state().unwrap());
        // and the quiet loop, from the start
        let (mut fast, mut portable) = (fast.clone(), portable.clone());
        fast.reset();
        portable.reset();
        fast.isa = Isa::detect();
        portable.isa = Isa::Portable;
        let last = History::new(&bars, bars.len() - 1);
        let pos = PositionView::default();
        let gate = || Chunks {
            chunk: 256,
            stop: usize::MAX,
        };
        let mut t = 0;
        while t < bars.len() {
            let k = fast.quiet_bars(&last, t, &pos, &mut gate());
            assert_eq!(
                portable.quiet_bars(&last, t, &pos, &mut gate()),
                k,
                "bar {t}"
            );
            t += k;
            if t < bars.len() {
                let h = History::new(&bars, t);
                assert_eq!(fast.on_bar(&h, &pos), portable.on_bar(&h, &pos), "bar {t}");
                t += 1;
            }
        }
        assert_eq!(fast.save_state().unwrap(), portable.save_state().unwrap());
    }

    /// `quiet_bars` then `on_bar` at the bar it stopped at, against `on_bar` on every bar:
    /// the same intents, regimes and saved states after every step.
    fn quiet_equals_stepping(s: &Technical, bars: &Bars, pos: PositionView, chunk: usize) {
        let mut stepped = s.clone();
        let mut quiet = s.clone();
        let last = History::new(bars, bars.len() - 1);
        let (mut t, mut consumed, mut acted) = (0, 0, 0);
        while t < bars.len() {
            let before = quiet.regime();
            let mut gate = Chunks {
                chunk,
                stop: if t % 7 == 3 { t + 5 } else { usize::MAX },
            };
            let k = quiet.quiet_bars(&last, t, &pos, &mut gate);
            for u in t..t + k {
                assert_eq!(
                    stepped.on_bar(&History::new(bars, u), &pos),
                    Intent::Hold,
                    "bar {u}"
                );
                if let Some(b) = before {
                    assert_eq!(
                        stepped.regime().map(|r| r.regime),
                        Some(b.regime),
                        "bar {u}"
                    );
                }
            }
            consumed += k;
            t += k;
            if k > 0 {
                assert_eq!(quiet.regime(), stepped.regime(), "bar {t}");
            }
            if t < bars.len() {
                let h = History::new(bars, t);
                let a = stepped.on_bar(&h, &pos);
                assert_eq!(quiet.on_bar(&h, &pos), a, "bar {t}");
                acted += usize::from(a != Intent::Hold);
                assert_eq!(quiet.regime(), stepped.regime(), "bar {t}");
                t += 1;
            }
            assert_eq!(
                quiet.save_state().unwrap(),
                stepped.save_state().unwrap(),
                "bar {t}"
            );
        }
        if s.variants.is_empty() {
            assert!(consumed > bars.len() / 2, "only {consumed} bars consumed");
            assert!(bars.len() < 400 || acted > 0, "no bar acted");
        } else {
            assert_eq!(consumed, 0);
        }
    }

    #[test]
    fn quiet_bars_equal_stepping_bar_by_bar() {
        use crate::regime::Regime;
        let base = kv(&[("min_confirmations", "2")]);
        let plain = Technical::new(&base).unwrap();
        let long = PositionView {
            side: Some(Side::Long),
            qty: 1.0,
            ..PositionView::default()
        };
        for (seed, n) in [(1, 3_000), (2, 400), (3, 60), (4, 1)] {
            let bars = walk(n, seed);
            for chunk in [1, 3, 256] {
                for pos in [PositionView::default(), long] {
                    quiet_equals_stepping(&plain, &bars, pos, chunk);
                }
            }
        }
        let bars = walk(1_500, 9);
        let other = Technical::new(&kv(&[("adx_period", "10"), ("allow_short", "false")])).unwrap();
        quiet_equals_stepping(&other, &bars, PositionView::default(), 256);
        let with_variants = Technical::new(&base)
            .unwrap()
            .with_regime_params(vec![(Regime::Bull, kv(&[("ema_fast", "5")]))])
            .unwrap();
        quiet_equals_stepping(&with_variants, &bars, PositionView::default(), 256);
    }

    #[test]
    fn a_bar_decided_ahead_refuses_to_save_until_stepped_or_reset() {
        let bars = decline_then_rally(3000.0);
        let mut s = Technical::new(&Params::default()).unwrap();
        let last = History::new(&bars, bars.len() - 1);
        let pos = PositionView::default();
        let k = s.quiet_bars(
            &last,
            0,
            &pos,
            &mut Chunks {
                chunk: 8,
                stop: usize::MAX,
            },
        );
        assert!(k < bars.len(), "the rally enters");
        assert!(s.save_state().is_err());
        s.on_bar(&History::new(&bars, k), &pos);
        assert!(s.save_state().is_ok());
        s.quiet_bars(
            &last,
            k + 1,
            &pos,
            &mut Chunks {
                chunk: 8,
                stop: usize::MAX,
            },
        );
        s.reset();
        assert!(s.save_state().is_ok());
    }

    #[test]
    fn regime_params_equal_to_the_own_ones_change_nothing() {
        use crate::regime::Regime;
        let bars = decline_then_rally(3000.0);
        let base = kv(&[]);
        let mut plain = Technical::new(&base).unwrap();
        let all: Vec<(Regime, Params)> = Regime::ALL.iter().map(|r| (*r, base.clone())).collect();
        let mut switched = Technical::new(&base)
            .unwrap()
            .with_regime_params(all)
            .unwrap();
        assert_eq!(switched.regime_params().len(), 5);
        let pos = PositionView::default();
        assert_eq!(
            drive(&mut plain, &bars, pos),
            drive(&mut switched, &bars, pos)
        );
        let bad = Technical::new(&base)
            .unwrap()
            .with_regime_params(vec![(Regime::Bull, kv(&[("ema_fast", "40")]))]);
        assert!(bad.is_err());
    }
}
