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

use std::collections::VecDeque;

use crate::core::order::Side;
use crate::data::Bar;
use crate::indicators::{Atr, Dmi, Ema, Indicator, Macd, ParamError, Rsi, VolumeSma};

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
    recent: VecDeque<(f64, f64)>,
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
            recent: VecDeque::with_capacity(cfg.divergence_lookback + 1),
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
        self.last_adx = None;
    }

    /// The ADX (period `adx_period`) of the last bar fed, once warmed up: the regime
    /// detector of a strategy reads it instead of computing the same ADX again.
    pub fn last_adx(&self) -> Option<f64> {
        self.last_adx
    }

    /// A divergence of the current close and RSI against the previous bars.
    fn divergence(&self, close: f64, rsi: f64) -> Option<Reason> {
        let c = &self.cfg;
        // Each side needs RSI near its extreme; test that first so the common case (RSI in
        // the middle band) scans nothing. Same result as scanning both sides every bar.
        let near_oversold = rsi < c.rsi_oversold + 10.0;
        let near_overbought = rsi > c.rsi_overbought - 10.0;
        if !near_oversold && !near_overbought {
            return None;
        }
        let lowest = self
            .recent
            .iter()
            .copied()
            .min_by(|a, b| a.0.total_cmp(&b.0))?;
        if near_oversold && close < lowest.0 && rsi > lowest.1 {
            return Some(Reason::RsiDivergence {
                side: Side::Long,
                price: close,
                prior_price: lowest.0,
                rsi,
                prior_rsi: lowest.1,
            });
        }
        let highest = self
            .recent
            .iter()
            .copied()
            .max_by(|a, b| a.0.total_cmp(&b.0))?;
        if near_overbought && close > highest.0 && rsi < highest.1 {
            return Some(Reason::RsiDivergence {
                side: Side::Short,
                price: close,
                prior_price: highest.0,
                rsi,
                prior_rsi: highest.1,
            });
        }
        None
    }

    /// Feed the next bar; `None` until every indicator is warmed up.
    pub fn update(&mut self, bar: &Bar) -> Option<Signal> {
        let fast = self.fast.update(bar);
        let slow = self.slow.update(bar);
        let rsi = self.rsi.update(bar);
        let dmi = self.dmi.update(bar);
        self.last_adx = dmi.map(|d| d.adx);
        let vol_ma = self.vol_ma.update(bar);
        let macd = self.macd.update(bar);
        let atr = self.atr.update(bar);
        let prev = match (fast, slow) {
            (Some(f), Some(s)) => self.prev_emas.replace((f, s)),
            _ => None,
        };
        let divergence = rsi.and_then(|r| self.divergence(bar.close, r));
        if let Some(r) = rsi {
            if self.recent.len() == self.cfg.divergence_lookback {
                self.recent.pop_front();
            }
            self.recent.push_back((bar.close, r));
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
        let mut signal = Signal {
            side: None,
            exit: cross.is_some(),
            cross,
            confidence: 0.0,
            atr,
            reasons: Vec::new(),
        };
        let Some((side, why)) = trigger else {
            return Some(signal);
        };
        let c = &self.cfg;
        let long = side == Side::Long;
        let candidates = [
            if long {
                (rsi < c.rsi_overbought).then_some(Reason::RsiBelowOverbought { rsi })
            } else {
                (rsi > c.rsi_oversold).then_some(Reason::RsiAboveOversold { rsi })
            },
            (dmi.adx > c.adx_threshold).then_some(Reason::AdxStrong { adx: dmi.adx }),
            (bar.volume > vol_ma).then_some(Reason::VolumeAboveAverage {
                volume: bar.volume,
                average: vol_ma,
            }),
            if long {
                (macd.hist > 0.0).then_some(Reason::MacdHistPositive { hist: macd.hist })
            } else {
                (macd.hist < 0.0).then_some(Reason::MacdHistNegative { hist: macd.hist })
            },
            {
                let (p, m) = (dmi.plus_di, dmi.minus_di);
                let di = Reason::PlusDiAbove {
                    plus_di: p,
                    minus_di: m,
                };
                if long {
                    (p > m).then_some(di)
                } else {
                    (m > p).then_some(Reason::MinusDiAbove {
                        plus_di: p,
                        minus_di: m,
                    })
                }
            },
        ];
        signal.reasons.push(why);
        signal.reasons.extend(candidates.iter().flatten().copied());
        let met = candidates.iter().flatten().count();
        if met >= c.min_confirmations {
            signal.side = Some(side);
            signal.confidence = met as f64 / 5.0;
        } else {
            signal.reasons.push(Reason::TooFewConfirmations {
                met,
                needed: c.min_confirmations,
            });
        }
        Some(signal)
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
        s.recent.extend([(100.0, 20.0), (95.0, 22.0), (98.0, 30.0)]);
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
