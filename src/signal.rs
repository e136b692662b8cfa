//! The seed's technical rule as a streaming [`TechnicalSignal`]: an EMA cross or an RSI
//! divergence triggers, five confirmations (RSI, ADX, volume, MACD, ±DI) vote.
//!
//! Sits after `indicators` and before `strategy`; it sees one bar at a time and never looks
//! ahead. Long trigger: the fast EMA crosses above the slow one, or a bullish RSI divergence
//! (the close makes a lower low than any close in the previous `divergence_lookback` bars
//! while RSI stays above its value at that earlier low, with RSI within 10 points of
//! oversold). Long confirmations: RSI < overbought, ADX > threshold, volume > its SMA,
//! MACD histogram > 0, +DI > −DI. Shorts are the exact mirror. Confidence is the share of the
//! five confirmations met; under `min_confirmations` there is no entry and confidence is 0.
//! Exits: an open position exits on the opposite EMA cross ([`Signal::exits`]).

use crate::core::order::Side;
use crate::data::Bar;
use crate::indicators::{
    Atr, Dmi, DmiValue, Ema, Indicator, Macd, ParamError, Rsi, VolumeSma, Window, order_key,
};

/// Parameters of the technical rule.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignalConfig {
    /// Fast EMA period (12).
    pub ema_fast: usize,
    /// Slow EMA period (26).
    pub ema_slow: usize,
    /// RSI period (14).
    pub rsi_period: usize,
    /// RSI above this is overbought (70).
    pub rsi_overbought: f64,
    /// RSI below this is oversold (30).
    pub rsi_oversold: f64,
    /// ADX period (14).
    pub adx_period: usize,
    /// ADX above this confirms a trend (20).
    pub adx_threshold: f64,
    /// Period of the volume SMA (20).
    pub volume_ma: usize,
    /// MACD fast period (12).
    pub macd_fast: usize,
    /// MACD slow period (26).
    pub macd_slow: usize,
    /// MACD signal period (9).
    pub macd_signal: usize,
    /// ATR period (14).
    pub atr_period: usize,
    /// Bars searched for an RSI divergence (14).
    pub divergence_lookback: usize,
    /// Confirmations (of 5) needed for an entry (3).
    pub min_confirmations: usize,
}

impl Default for SignalConfig {
    fn default() -> Self {
        SignalConfig {
            ema_fast: 12,
            ema_slow: 26,
            rsi_period: 14,
            rsi_overbought: 70.0,
            rsi_oversold: 30.0,
            adx_period: 14,
            adx_threshold: 20.0,
            volume_ma: 20,
            macd_fast: 12,
            macd_slow: 26,
            macd_signal: 9,
            atr_period: 14,
            divergence_lookback: 14,
            min_confirmations: 3,
        }
    }
}

/// Why a signal fired or was confirmed: typed, so the store can query it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The fast EMA crossed above the slow one.
    EmaCrossUp {
        /// Fast EMA.
        fast: f64,
        /// Slow EMA.
        slow: f64,
    },
    /// The fast EMA crossed below the slow one.
    EmaCrossDown {
        /// Fast EMA.
        fast: f64,
        /// Slow EMA.
        slow: f64,
    },
    /// An RSI divergence: `Long` for bullish (lower low in price, higher low in RSI),
    /// `Short` for bearish.
    RsiDivergence {
        /// The direction it points to.
        side: Side,
        /// Current close.
        price: f64,
        /// The earlier extreme close it is compared with.
        prior_price: f64,
        /// Current RSI.
        rsi: f64,
        /// RSI at the earlier extreme.
        prior_rsi: f64,
    },
    /// RSI below overbought (long confirmation).
    RsiBelowOverbought {
        /// RSI.
        rsi: f64,
    },
    /// RSI above oversold (short confirmation).
    RsiAboveOversold {
        /// RSI.
        rsi: f64,
    },
    /// ADX above the threshold.
    AdxStrong {
        /// ADX.
        adx: f64,
    },
    /// Volume above its moving average.
    VolumeAboveAverage {
        /// Volume.
        volume: f64,
        /// Its SMA.
        average: f64,
    },
    /// MACD histogram above 0 (long confirmation).
    MacdHistPositive {
        /// Histogram.
        hist: f64,
    },
    /// MACD histogram below 0 (short confirmation).
    MacdHistNegative {
        /// Histogram.
        hist: f64,
    },
    /// +DI above −DI (long confirmation).
    PlusDiAbove {
        /// +DI.
        plus_di: f64,
        /// −DI.
        minus_di: f64,
    },
    /// −DI above +DI (short confirmation).
    MinusDiAbove {
        /// +DI.
        plus_di: f64,
        /// −DI.
        minus_di: f64,
    },
    /// A trigger fired but too few confirmations agreed.
    TooFewConfirmations {
        /// Confirmations met.
        met: usize,
        /// Confirmations needed.
        needed: usize,
    },
}

/// The rule's output on one bar.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Signal {
    /// The entry direction, or `None` for no entry.
    pub side: Option<Side>,
    /// True when the EMAs crossed on this bar: positions opposite to [`Signal::cross`] exit.
    pub exit: bool,
    /// Direction of this bar's EMA cross (`Long` = up), if any.
    pub cross: Option<Side>,
    /// Share of the five confirmations met, in [0, 1]; 0 when there is no entry.
    pub confidence: f64,
    /// ATR on this bar (for stops).
    pub atr: f64,
    /// The trigger and the confirmations met, in that order.
    pub reasons: Vec<Reason>,
}

impl Signal {
    /// True when an open position on `side` should exit (the EMAs crossed against it).
    pub fn exits(&self, side: Side) -> bool {
        self.exit && self.cross.is_some_and(|c| c != side)
    }
}

/// A [`Signal`] without its reasons: what [`TechnicalSignal::update_verdict`] gives, for
/// callers that act on the decision and never read why (a backtest's strategy), so no
/// reason list is built on any bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The entry direction, or `None` for no entry.
    pub side: Option<Side>,
    /// True when the EMAs crossed on this bar.
    pub exit: bool,
    /// Direction of this bar's EMA cross (`Long` = up), if any.
    pub cross: Option<Side>,
    /// Share of the five confirmations met, in [0, 1]; 0 when there is no entry.
    pub confidence: f64,
    /// ATR on this bar (for stops).
    pub atr: f64,
}

impl Verdict {
    /// True when an open position on `side` should exit (the EMAs crossed against it).
    pub fn exits(&self, side: Side) -> bool {
        self.exit && self.cross.is_some_and(|c| c != side)
    }
}

/// What a trigger bar adds to its [`Verdict`] to give the [`Signal`]'s reasons: the
/// trigger's reason and the readings the confirmations were judged on.
#[derive(Debug, Clone, Copy)]
struct Triggered {
    side: Side,
    why: Reason,
    rsi: f64,
    dmi: DmiValue,
    volume: f64,
    vol_ma: f64,
    hist: f64,
    met: usize,
}

/// The technical rule, one bar at a time.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TechnicalSignal {
    cfg: SignalConfig,
    fast: Ema,
    slow: Ema,
    rsi: Rsi,
    dmi: Dmi,
    vol_ma: VolumeSma,
    macd: Macd,
    atr: Atr,
    prev_emas: Option<(f64, f64)>,
    /// (close, rsi) of the previous bars, at most `divergence_lookback`.
    recent: Window<(f64, f64)>,
    /// The first of the lowest closes in `recent` (as `Iterator::min_by` picks) with its
    /// age in pushes (0 = newest); `None` when it must be found by a scan (fresh, or
    /// loaded from a saved state).
    #[serde(skip)]
    low: Option<(usize, (f64, f64))>,
    /// The last of the highest closes in `recent` (as `Iterator::max_by` picks), likewise.
    #[serde(skip)]
    high: Option<(usize, (f64, f64))>,
    /// ADX of the last bar fed (not state: recomputed by every update).
    #[serde(skip)]
    last_adx: Option<f64>,
}

impl TechnicalSignal {
    /// The rule with the given parameters.
    ///
    /// # Errors
    /// [`ParamError`] when a period is out of range, `ema_fast >= ema_slow`, a threshold is
    /// not finite, or `min_confirmations` is above 5.
    pub fn new(cfg: SignalConfig) -> Result<Self, ParamError> {
        if cfg.ema_fast >= cfg.ema_slow {
            return Err(ParamError::new(
                "ema_fast",
                cfg.ema_fast,
                &format!("below ema_slow ({})", cfg.ema_slow),
            ));
        }
        if cfg.min_confirmations > 5 {
            return Err(ParamError::new(
                "min_confirmations",
                cfg.min_confirmations,
                "0..=5",
            ));
        }
        if cfg.divergence_lookback == 0 {
            return Err(ParamError::new(
                "divergence_lookback",
                0,
                "from 1 to 100000",
            ));
        }
        for (name, v) in [
            ("rsi_overbought", cfg.rsi_overbought),
            ("rsi_oversold", cfg.rsi_oversold),
            ("adx_threshold", cfg.adx_threshold),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err(ParamError::new(name, v, "from 0 to 100"));
            }
        }
        Ok(TechnicalSignal {
            cfg,
            fast: Ema::new(cfg.ema_fast)?,
            slow: Ema::new(cfg.ema_slow)?,
            rsi: Rsi::new(cfg.rsi_period)?,
            dmi: Dmi::new(cfg.adx_period)?,
            vol_ma: VolumeSma::new(cfg.volume_ma)?,
            macd: Macd::new(cfg.macd_fast, cfg.macd_slow, cfg.macd_signal)?,
            atr: Atr::new(cfg.atr_period)?,
            prev_emas: None,
            recent: Window::with_capacity(cfg.divergence_lookback),
            low: None,
            high: None,
            last_adx: None,
        })
    }

    /// The parameters in use.
    pub fn config(&self) -> &SignalConfig {
        &self.cfg
    }

    /// Forget every bar.
    pub fn reset(&mut self) {
        self.fast.reset();
        self.slow.reset();
        self.rsi.reset();
        self.dmi.reset();
        self.vol_ma.reset();
        self.macd.reset();
        self.atr.reset();
        self.prev_emas = None;
        self.recent.clear();
        self.low = None;
        self.high = None;
        self.last_adx = None;
    }

    /// The ADX (period `adx_period`) of the last bar fed, once warmed up: the regime
    /// detector of a strategy reads it instead of computing the same ADX again.
    pub fn last_adx(&self) -> Option<f64> {
        self.last_adx
    }

    /// The first of the lowest closes of `recent` (`LOW`) or the last of the highest, with
    /// its age, by a scan of their order keys ([`order_key`]: `total_cmp`'s order, so the
    /// picks of `min_by` and `max_by` with `total_cmp`, ties included).
    fn scan_extreme<const LOW: bool>(&self) -> Option<(usize, (f64, f64))> {
        let n = self.recent.len();
        // a sentinel no key passes for the lowest (the first value is kept if all are
        // the largest key) and that every key passes for the highest
        let mut best_k = if LOW { i64::MAX } else { i64::MIN };
        let mut best: Option<(usize, (f64, f64))> = None;
        let (older, newer) = self.recent.as_slices();
        for (i, &e) in older.iter().chain(newer).enumerate() {
            let k = order_key(e.0);
            if (LOW && k < best_k) || (!LOW && k >= best_k) || best.is_none() {
                best_k = k;
                best = Some((n - 1 - i, e));
            }
        }
        best
    }

    /// Append `(close, rsi)` to `recent` and keep its lowest and highest close current:
    /// a new value replaces an extreme it beats (ties keep the older low and take the newer
    /// high, as `min_by` and `max_by` do); an extreme that leaves the window is found again
    /// by a scan. The same values as scanning the window every bar, in O(1) amortised.
    #[inline(always)]
    fn push_recent(&mut self, e: (f64, f64)) {
        let cap = self.cfg.divergence_lookback;
        self.recent.push(e, cap);
        let k = order_key(e.0);
        self.low = match self.low {
            Some((age, v)) if age + 1 < cap => Some(if k < order_key(v.0) {
                (0, e)
            } else {
                (age + 1, v)
            }),
            _ => self.scan_extreme::<true>(),
        };
        self.high = match self.high {
            Some((age, v)) if age + 1 < cap => Some(if k >= order_key(v.0) {
                (0, e)
            } else {
                (age + 1, v)
            }),
            _ => self.scan_extreme::<false>(),
        };
    }

    /// A divergence of the current close and RSI against the previous bars.
    fn divergence(&self, close: f64, rsi: f64) -> Option<Reason> {
        let c = &self.cfg;
        // Each side needs RSI near its extreme; test that first so the common case (RSI in
        // the middle band) looks at nothing. Same result as scanning both sides every bar.
        let near_oversold = rsi < c.rsi_oversold + 10.0;
        let near_overbought = rsi > c.rsi_overbought - 10.0;
        if (!near_oversold && !near_overbought) || self.recent.is_empty() {
            return None;
        }
        if near_oversold {
            let (_, lowest) = self.low.or_else(|| self.scan_extreme::<true>())?;
            if close < lowest.0 && rsi > lowest.1 {
                return Some(Reason::RsiDivergence {
                    side: Side::Long,
                    price: close,
                    prior_price: lowest.0,
                    rsi,
                    prior_rsi: lowest.1,
                });
            }
        }
        if near_overbought {
            let (_, highest) = self.high.or_else(|| self.scan_extreme::<false>())?;
            if close > highest.0 && rsi < highest.1 {
                return Some(Reason::RsiDivergence {
                    side: Side::Short,
                    price: close,
                    prior_price: highest.0,
                    rsi,
                    prior_rsi: highest.1,
                });
            }
        }
        None
    }

    /// Feed the next bar; `None` until every indicator is warmed up.
    pub fn update(&mut self, bar: &Bar) -> Option<Signal> {
        let (v, triggered) = self.step(bar)?;
        let mut signal = Signal {
            side: v.side,
            exit: v.exit,
            cross: v.cross,
            confidence: v.confidence,
            atr: v.atr,
            reasons: Vec::new(),
        };
        if let Some(t) = triggered {
            let confirmations = self.confirmations(&t);
            signal.reasons.reserve_exact(7);
            signal.reasons.push(t.why);
            signal
                .reasons
                .extend(confirmations.iter().flatten().copied());
            if v.side.is_none() {
                signal.reasons.push(Reason::TooFewConfirmations {
                    met: t.met,
                    needed: self.cfg.min_confirmations,
                });
            }
        }
        Some(signal)
    }

    /// [`TechnicalSignal::update`] without the reasons: the same decision, with no
    /// allocation on any bar.
    #[inline]
    pub fn update_verdict(&mut self, bar: &Bar) -> Option<Verdict> {
        self.step(bar).map(|(v, _)| v)
    }

    /// The five confirmations of a trigger, `None` where one is not met, in the order of
    /// the reasons.
    fn confirmations(&self, t: &Triggered) -> [Option<Reason>; 5] {
        let c = &self.cfg;
        let (rsi, hist) = (t.rsi, t.hist);
        let (p, m) = (t.dmi.plus_di, t.dmi.minus_di);
        let long = t.side == Side::Long;
        [
            if long {
                (rsi < c.rsi_overbought).then_some(Reason::RsiBelowOverbought { rsi })
            } else {
                (rsi > c.rsi_oversold).then_some(Reason::RsiAboveOversold { rsi })
            },
            (t.dmi.adx > c.adx_threshold).then_some(Reason::AdxStrong { adx: t.dmi.adx }),
            (t.volume > t.vol_ma).then_some(Reason::VolumeAboveAverage {
                volume: t.volume,
                average: t.vol_ma,
            }),
            if long {
                (hist > 0.0).then_some(Reason::MacdHistPositive { hist })
            } else {
                (hist < 0.0).then_some(Reason::MacdHistNegative { hist })
            },
            if long {
                (p > m).then_some(Reason::PlusDiAbove {
                    plus_di: p,
                    minus_di: m,
                })
            } else {
                (m > p).then_some(Reason::MinusDiAbove {
                    plus_di: p,
                    minus_di: m,
                })
            },
        ]
    }

    /// The rule on the next bar: its verdict, and on a trigger bar what the reasons are
    /// built from (nothing is allocated here). Always inlined: returned through memory, its
    /// result was copied out with wide loads that waited on the narrow stores (a
    /// store-to-load forwarding stall per bar).
    #[inline(always)]
    fn step(&mut self, bar: &Bar) -> Option<(Verdict, Option<Triggered>)> {
        let fast = self.fast.update(bar);
        let slow = self.slow.update(bar);
        let rsi = self.rsi.update(bar);
        let dmi = self.dmi.update(bar);
        self.last_adx = dmi.map(|d| d.adx);
        let vol_ma = self.vol_ma.update(bar);
        // one slow EMA for the cross and the MACD when their periods agree (the default)
        let macd = if self.cfg.ema_slow == self.macd.slow_period() {
            self.macd.update_with_slow(bar.close, slow)
        } else {
            self.macd.update(bar)
        };
        let atr = self.atr.update(bar);
        let prev = match (fast, slow) {
            (Some(f), Some(s)) => self.prev_emas.replace((f, s)),
            _ => None,
        };
        let divergence = rsi.and_then(|r| self.divergence(bar.close, r));
        if let Some(r) = rsi {
            self.push_recent((bar.close, r));
        }
        let (fast, slow, rsi, dmi, vol_ma, macd, atr, (pf, ps)) =
            (fast?, slow?, rsi?, dmi?, vol_ma?, macd?, atr?, prev?);

        let cross = if pf <= ps && fast > slow {
            Some(Side::Long)
        } else if pf >= ps && fast < slow {
            Some(Side::Short)
        } else {
            None
        };
        let trigger = match (cross, divergence) {
            (Some(Side::Long), _) => Some((Side::Long, Reason::EmaCrossUp { fast, slow })),
            (Some(Side::Short), _) => Some((Side::Short, Reason::EmaCrossDown { fast, slow })),
            (None, Some(r @ Reason::RsiDivergence { side, .. })) => Some((side, r)),
            _ => None,
        };
        let mut verdict = Verdict {
            side: None,
            exit: cross.is_some(),
            cross,
            confidence: 0.0,
            atr,
        };
        let Some((side, why)) = trigger else {
            return Some((verdict, None));
        };
        let mut t = Triggered {
            side,
            why,
            rsi,
            dmi,
            volume: bar.volume,
            vol_ma,
            hist: macd.hist,
            met: 0,
        };
        t.met = self.confirmations(&t).iter().flatten().count();
        if t.met >= self.cfg.min_confirmations {
            verdict.side = Some(side);
            verdict.confidence = t.met as f64 / 5.0;
        }
        Some((verdict, Some(t)))
    }
}

#[cfg(test)]
pub(crate) mod testbars {
    //! Hand-built sequences that trigger the rule, shared with the strategy's tests.
    use crate::data::{Bar, Bars};

    /// A gentle decline for 60 bars (-0.3 % a bar), then a zigzag rally (+2.4 %, -1 %, …)
    /// on `volume_on_rally`: the fast EMA crosses above the slow one during the rally with
    /// RSI below 70 (gains 2.4 to losses 1), ADX high, +DI above -DI and MACD rising.
    pub(crate) fn decline_then_rally(volume_on_rally: f64) -> Bars {
        let mut bars = Vec::new();
        let mut close = 100.0_f64;
        for i in 0..120 {
            let prev = close;
            close = if i < 60 {
                close * 0.997
            } else if i % 2 == 0 {
                close * 1.024
            } else {
                close * 0.99
            };
            let vol = if i < 60 { 1000.0 } else { volume_on_rally };
            bars.push(Bar {
                ts_ms: i as i64 * 3_600_000,
                open: prev,
                high: prev.max(close) * 1.002,
                low: prev.min(close) * 0.998,
                close,
                volume: vol,
            });
        }
        Bars::from_bars(bars).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testbars::decline_then_rally;
    use super::*;

    fn signals(b: &crate::data::Bars) -> Vec<Option<Signal>> {
        let mut s = TechnicalSignal::new(SignalConfig::default()).unwrap();
        b.iter().map(|bar| s.update(&bar)).collect()
    }

    #[test]
    fn cross_up_with_confirmations_signals_long() {
        let out = signals(&decline_then_rally(3000.0));
        let (i, s) = out
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.as_ref().filter(|s| s.side.is_some()).map(|s| (i, s)))
            .expect("a long signal");
        assert!(i > 60, "after the turn, got {i}");
        assert_eq!(s.side, Some(Side::Long));
        assert_eq!(s.cross, Some(Side::Long));
        assert!(matches!(s.reasons[0], Reason::EmaCrossUp { .. }));
        assert_eq!(s.confidence, 1.0, "{:?}", s.reasons);
        assert!(s.atr > 0.0);
        assert!(s.exits(Side::Short) && !s.exits(Side::Long));
    }

    #[test]
    fn missing_confirmations_give_no_entry() {
        let mut s = TechnicalSignal::new(SignalConfig {
            min_confirmations: 5,
            adx_threshold: 100.0,
            ..SignalConfig::default()
        })
        .unwrap();
        let b = decline_then_rally(3000.0);
        let out: Vec<_> = b.iter().map(|bar| s.update(&bar)).collect();
        assert!(
            out.iter()
                .flatten()
                .all(|s| s.side.is_none() && s.confidence == 0.0)
        );
        let cross = out.iter().flatten().find(|s| s.cross.is_some()).unwrap();
        assert!(matches!(
            cross.reasons.last(),
            Some(Reason::TooFewConfirmations { met: 4, needed: 5 })
        ));
    }

    #[test]
    fn nothing_before_warm_up_then_always_a_signal() {
        let out = signals(&decline_then_rally(1000.0));
        // MACD(12,26,9) is the slowest: lookback 33
        assert!(out[..33].iter().all(Option::is_none));
        assert!(out[34..].iter().all(Option::is_some));
    }

    #[test]
    fn bullish_divergence_is_found() {
        let mut s = TechnicalSignal::new(SignalConfig::default()).unwrap();
        for e in [(100.0, 20.0), (95.0, 22.0), (98.0, 30.0)] {
            s.push_recent(e);
        }
        let r = s.divergence(94.0, 28.0).unwrap();
        assert_eq!(
            r,
            Reason::RsiDivergence {
                side: Side::Long,
                price: 94.0,
                prior_price: 95.0,
                rsi: 28.0,
                prior_rsi: 22.0
            }
        );
        // RSI far from oversold: no divergence
        assert!(s.divergence(94.0, 50.0).is_none());
    }

    #[test]
    fn tracked_extremes_equal_min_by_and_max_by_over_the_window() {
        // closes on a coarse grid (many ties), lookbacks shorter and longer than the run
        for lookback in [1, 2, 5, 14] {
            let mut s = TechnicalSignal::new(SignalConfig {
                divergence_lookback: lookback,
                ..SignalConfig::default()
            })
            .unwrap();
            let mut x: u64 = 9;
            for i in 0..3_000 {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let close = f64::from((x >> 59) as u8 % 6);
                s.push_recent((close, i as f64));
                let want_low = s.recent.iter().min_by(|a, b| a.0.total_cmp(&b.0));
                let want_high = s.recent.iter().max_by(|a, b| a.0.total_cmp(&b.0));
                assert_eq!(s.low.map(|l| l.1), want_low, "lookback {lookback} bar {i}");
                assert_eq!(
                    s.high.map(|h| h.1),
                    want_high,
                    "lookback {lookback} bar {i}"
                );
                // a reloaded state (no tracked extremes) finds the same by a scan
                let back: TechnicalSignal =
                    serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
                assert_eq!(back.divergence(-1.0, 35.0), s.divergence(-1.0, 35.0));
            }
        }
    }

    #[test]
    fn bad_config_is_rejected() {
        let bad = SignalConfig {
            ema_fast: 30,
            ..SignalConfig::default()
        };
        assert!(TechnicalSignal::new(bad).is_err());
        let bad = SignalConfig {
            min_confirmations: 6,
            ..SignalConfig::default()
        };
        assert!(TechnicalSignal::new(bad).is_err());
    }

    #[test]
    fn reasons_serialize_with_a_kind_tag() {
        let j = serde_json::to_string(&Reason::AdxStrong { adx: 30.0 }).unwrap();
        assert_eq!(j, r#"{"kind":"adx_strong","adx":30.0}"#);
    }
}
