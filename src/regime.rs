//! Market regime detection: [`Regime`] (bull, bear, sideways, crash, high-vol) from a streaming
//! [`RegimeDetector`], with a confidence and the per-regime size and stop multipliers.
//!
//! Sits after `indicators` in the pipeline and before `strategy`; it reads bars one at a time
//! and never looks ahead. Rules (thresholds in [`RegimeConfig`]), in priority order:
//! 1. crash: drawdown from the lookback's highest close > 10 % and the close-to-close return
//!    over the lookback < −5 %;
//! 2. high-vol: the rolling standard deviation of log returns is above the 90th percentile of
//!    its own previous values (once that history is full);
//! 3. bull / bear: ADX > 25 with the close above / below its moving average;
//! 4. sideways: ADX < 20 and a narrow Bollinger band (width / middle below a threshold).
//!
//! When no rule fires (ADX between 20 and 25, or a weak trend with wide bands) the previous
//! regime is kept at half its confidence; the first regime defaults to sideways.

use std::fmt;

use crate::data::Bar;
use crate::indicators::{
    Adx, BollingerBands, Indicator, ParamError, RankWindow, Sma, StdDev, Window, from_order_key,
    order_key,
};

/// A market regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    /// Strong trend up.
    Bull,
    /// Strong trend down.
    Bear,
    /// No trend, narrow range.
    Sideways,
    /// A sharp fall.
    Crash,
    /// Volatility unusually high.
    HighVol,
}

/// The size and stop multipliers a regime implies.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegimeMultipliers {
    /// Multiplier of the position size.
    pub size: f64,
    /// ATR multiple for the protective stop.
    pub stop_atr: f64,
}

impl Regime {
    /// All regimes, in declaration order.
    pub const ALL: [Regime; 5] = [
        Regime::Bull,
        Regime::Bear,
        Regime::Sideways,
        Regime::Crash,
        Regime::HighVol,
    ];

    /// The regime's multipliers: size bull 1.2, bear 0.8, crash 0.3, sideways 0.7, high-vol
    /// 0.5; stop ATR bull 2.5, bear 1.5, crash 1.0, sideways 2.0, high-vol 1.5.
    pub fn multipliers(self) -> RegimeMultipliers {
        let (size, stop_atr) = match self {
            Regime::Bull => (1.2, 2.5),
            Regime::Bear => (0.8, 1.5),
            Regime::Crash => (0.3, 1.0),
            Regime::Sideways => (0.7, 2.0),
            Regime::HighVol => (0.5, 1.5),
        };
        RegimeMultipliers { size, stop_atr }
    }

    /// The position-size multiplier.
    pub fn size_mult(self) -> f64 {
        self.multipliers().size
    }

    /// The ATR multiple for stops.
    pub fn stop_atr_mult(self) -> f64 {
        self.multipliers().stop_atr
    }

    /// The lowercase name (`bull`, `highvol`, …), as serde and the store spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Bull => "bull",
            Regime::Bear => "bear",
            Regime::Sideways => "sideways",
            Regime::Crash => "crash",
            Regime::HighVol => "highvol",
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Thresholds and windows of the [`RegimeDetector`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegimeConfig {
    /// ADX period (14).
    pub adx_period: usize,
    /// ADX above this is a trend (25).
    pub adx_trend: f64,
    /// ADX below this is no trend (20).
    pub adx_sideways: f64,
    /// Period of the moving average the close is compared with (50).
    pub ma_period: usize,
    /// Bollinger period for the width test (20, ±2σ).
    pub bb_period: usize,
    /// Largest Bollinger width `(upper - lower) / middle` that counts as narrow (0.05).
    pub bb_width_max_frac: f64,
    /// Bars over which drawdown and return are measured for a crash (20).
    pub crash_lookback: usize,
    /// Drawdown from the lookback high above which a crash may be called (0.10).
    pub crash_drawdown_frac: f64,
    /// Return over the lookback below which a crash may be called (-0.05).
    pub crash_return_frac: f64,
    /// Window of the log-return standard deviation (20).
    pub vol_window: usize,
    /// How many previous volatility values the percentile is taken over (100).
    pub vol_rank_window: usize,
    /// Percentile (0–1) above which volatility is high (0.90).
    pub vol_percentile: f64,
}

impl Default for RegimeConfig {
    fn default() -> Self {
        RegimeConfig {
            adx_period: 14,
            adx_trend: 25.0,
            adx_sideways: 20.0,
            ma_period: 50,
            bb_period: 20,
            bb_width_max_frac: 0.05,
            crash_lookback: 20,
            crash_drawdown_frac: 0.10,
            crash_return_frac: -0.05,
            vol_window: 20,
            vol_rank_window: 100,
            vol_percentile: 0.90,
        }
    }
}

/// The regime on one bar.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegimeState {
    /// The regime.
    pub regime: Regime,
    /// How clearly the rule fired, in [0, 1].
    pub confidence: f64,
}

/// A change of regime, for the learning DB's `regime_transitions` table.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegimeTransition {
    /// Open time of the bar on which the new regime was first seen (UTC ms).
    pub ts_ms: i64,
    /// The regime before.
    pub from: Regime,
    /// The regime after.
    pub to: Regime,
    /// Confidence of the new regime.
    pub confidence: f64,
}

/// `0.5 + 0.5·margin`, clamped to [0, 1]: 0.5 right at a threshold, 1 at twice the margin.
fn conf(margin: f64) -> f64 {
    (0.5 + 0.5 * margin.min(1.0)).clamp(0.0, 1.0)
}

/// Linear-interpolated percentile `q` (0–1) of `v` (numpy's default method).
#[cfg(test)]
fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile_of(v.len(), q, |i| v[i])
}

/// The percentile `q` (0–1) of `len` (> 0) sorted values, `at(i)` the `i`-th smallest.
///
/// `pos = q·(len − 1)` is finite and not negative, so its floor is the truncation `pos as
/// usize` and its ceiling one more unless `pos` is whole: the values `floor`/`ceil` give,
/// without their library calls (a `technical` run calls this on every bar).
#[inline]
fn percentile_of(len: usize, q: f64, at: impl Fn(usize) -> f64) -> f64 {
    let (lo, hi, frac) = percentile_place(len, q);
    at(lo) + (at(hi) - at(lo)) * frac
}

/// Where [`percentile_of`] reads: the floor and ceiling of `q·(len − 1)` and its fraction.
#[inline]
fn percentile_place(len: usize, q: f64) -> (usize, usize, f64) {
    let pos = q * (len - 1) as f64;
    let lo = pos as usize;
    (lo, lo + usize::from(pos > lo as f64), pos - lo as f64)
}

/// Streaming regime detector: feed bars in order with [`RegimeDetector::update`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RegimeDetector {
    cfg: RegimeConfig,
    adx: Adx,
    ma: Sma,
    bb: BollingerBands,
    vol: StdDev,
    /// The last `crash_lookback + 1` closes.
    closes: Window<f64>,
    /// The last `vol_rank_window` volatilities.
    vols: Window<f64>,
    /// The [`order_key`]s of `vols` (so `total_cmp`'s order) from the percentile's lower
    /// place on, sorted, so the percentile costs no sort and no search per bar. Not saved:
    /// built from `vols` once they are full.
    #[serde(skip)]
    vol_ranks: RankWindow,
    prev_close: Option<f64>,
    current: Option<RegimeState>,
}

impl RegimeDetector {
    /// A detector with the given thresholds.
    ///
    /// # Errors
    /// [`ParamError`] when a period is out of range, a window is 0, or a fraction is not
    /// finite (`vol_percentile` must be in [0, 1]).
    pub fn new(cfg: RegimeConfig) -> Result<Self, ParamError> {
        let max = crate::indicators::MAX_PERIOD;
        if cfg.crash_lookback == 0 || cfg.crash_lookback > max {
            return Err(ParamError::new(
                "crash_lookback",
                cfg.crash_lookback,
                "from 1 to 100000",
            ));
        }
        // (the rank window numbers its slots in 31 bits)
        if cfg.vol_rank_window < 2 || cfg.vol_rank_window > max {
            return Err(ParamError::new(
                "vol_rank_window",
                cfg.vol_rank_window,
                "from 2 to 100000",
            ));
        }
        if !(0.0..=1.0).contains(&cfg.vol_percentile) {
            return Err(ParamError::new(
                "vol_percentile",
                cfg.vol_percentile,
                "from 0 to 1",
            ));
        }
        for (name, v) in [
            ("adx_trend", cfg.adx_trend),
            ("adx_sideways", cfg.adx_sideways),
            ("bb_width_max_frac", cfg.bb_width_max_frac),
            ("crash_drawdown_frac", cfg.crash_drawdown_frac),
            ("crash_return_frac", cfg.crash_return_frac),
        ] {
            if !v.is_finite() {
                return Err(ParamError::new(name, v, "a finite number"));
            }
        }
        Ok(RegimeDetector {
            cfg,
            adx: Adx::new(cfg.adx_period)?,
            ma: Sma::new(cfg.ma_period)?,
            bb: BollingerBands::new(cfg.bb_period, 2.0, 2.0)?,
            vol: StdDev::new(cfg.vol_window, 1.0)?,
            closes: Window::with_capacity(cfg.crash_lookback + 1),
            vols: Window::with_capacity(cfg.vol_rank_window),
            vol_ranks: RankWindow::default(),
            prev_close: None,
            current: None,
        })
    }

    /// The thresholds in use.
    pub fn config(&self) -> &RegimeConfig {
        &self.cfg
    }

    /// The latest regime, once there is one.
    pub fn current(&self) -> Option<RegimeState> {
        self.current
    }

    /// Forget every bar.
    pub fn reset(&mut self) {
        self.adx.reset();
        self.ma.reset();
        self.bb.reset();
        self.vol.reset();
        self.closes.clear();
        self.vols.clear();
        self.vol_ranks.clear();
        self.prev_close = None;
        self.current = None;
    }

    /// Feed the next bar; `None` until ADX, the moving average, the bands and the crash
    /// lookback are all warmed up.
    pub fn update(&mut self, bar: &Bar) -> Option<RegimeState> {
        let adx = self.adx.update(bar);
        self.update_with_adx(bar, adx)
    }

    /// [`RegimeDetector::update`] with the ADX computed elsewhere: `adx` must be the
    /// `ADX(adx_period)` of the same bars (a strategy's own DMI gives it bit for bit), so
    /// it is not computed twice. The detector's own ADX is then left untouched: use one
    /// form or the other for a whole run.
    #[inline(always)]
    pub fn update_with_adx(&mut self, bar: &Bar, adx: Option<f64>) -> Option<RegimeState> {
        let c = &self.cfg;
        let ma = self.ma.update(bar);
        let bb = self.bb.update(bar);
        // volatility of log returns, and whether it is above its own rolling percentile
        let ret = self
            .prev_close
            .replace(bar.close)
            .map(|p| (bar.close / p).ln());
        let vol = ret.and_then(|r| self.vol.update_raw(r));
        let mut high_vol = None;
        if let Some(v) = vol {
            let n = c.vol_rank_window;
            if self.vols.len() == n {
                if !self.vol_ranks.is_built() {
                    // just filled, or loaded from a saved state
                    let (lo, _, _) = percentile_place(n, c.vol_percentile);
                    let keys = self.vols.iter().map(order_key).collect::<Vec<_>>();
                    self.vol_ranks = RankWindow::build(lo, keys.into_iter());
                }
                let ranks = &self.vol_ranks;
                let at = |i: usize| ranks.at(i).map_or(f64::NAN, from_order_key);
                let p = percentile_of(n, c.vol_percentile, at);
                if v > p {
                    high_vol = Some(if p > 0.0 { v / p - 1.0 } else { 1.0 });
                }
                // `v` replaces the oldest in both
                self.vol_ranks.replace_oldest(order_key(v));
            }
            self.vols.push(v, n);
        }
        self.closes.push(bar.close, c.crash_lookback + 1);
        let (adx, ma, bb) = (adx?, ma?, bb?);
        if self.closes.len() <= c.crash_lookback {
            return None;
        }

        let first = self.closes.oldest().unwrap_or(bar.close);
        let ret = bar.close / first - 1.0;
        // the lookback high is only needed when the return already looks like a crash
        let crash_drawdown = || {
            let high = self.closes.iter().fold(f64::MIN, f64::max);
            1.0 - bar.close / high
        };
        let width = if bb.middle > 0.0 {
            (bb.upper - bb.lower) / bb.middle
        } else {
            0.0
        };
        let rel = |x: f64, thr: f64| if thr != 0.0 { x / thr.abs() } else { 1.0 };

        let drawdown = if ret < c.crash_return_frac {
            crash_drawdown()
        } else {
            f64::NAN
        };
        let state = if ret < c.crash_return_frac && drawdown > c.crash_drawdown_frac {
            let m = rel(drawdown - c.crash_drawdown_frac, c.crash_drawdown_frac)
                .min(rel(c.crash_return_frac - ret, c.crash_return_frac));
            RegimeState {
                regime: Regime::Crash,
                confidence: conf(m),
            }
        } else if let Some(m) = high_vol {
            RegimeState {
                regime: Regime::HighVol,
                confidence: conf(m),
            }
        } else if adx > c.adx_trend && bar.close != ma {
            let regime = if bar.close > ma {
                Regime::Bull
            } else {
                Regime::Bear
            };
            RegimeState {
                regime,
                confidence: conf(rel(adx - c.adx_trend, c.adx_trend)),
            }
        } else if adx < c.adx_sideways && width < c.bb_width_max_frac {
            let m = rel(c.adx_sideways - adx, c.adx_sideways)
                .min(rel(c.bb_width_max_frac - width, c.bb_width_max_frac));
            RegimeState {
                regime: Regime::Sideways,
                confidence: conf(m),
            }
        } else {
            match self.current {
                Some(s) => RegimeState {
                    regime: s.regime,
                    confidence: s.confidence * 0.5,
                },
                None => RegimeState {
                    regime: Regime::Sideways,
                    confidence: 0.25,
                },
            }
        };
        self.current = Some(state);
        Some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bars;

    /// Bars with the given closes; high/low `spread_frac` around the close.
    fn bars(closes: &[f64], spread_frac: f64) -> Bars {
        Bars::from_bars(closes.iter().enumerate().map(|(i, &c)| Bar {
            ts_ms: i as i64 * 86_400_000,
            open: c,
            high: c * (1.0 + spread_frac),
            low: c * (1.0 - spread_frac),
            close: c,
            volume: 1000.0,
        }))
        .unwrap()
    }

    fn run(b: &Bars) -> (RegimeDetector, Vec<Option<RegimeState>>) {
        let mut d = RegimeDetector::new(RegimeConfig::default()).unwrap();
        let out = b.iter().map(|bar| d.update(&bar)).collect();
        (d, out)
    }

    #[test]
    fn steady_uptrend_is_bull() {
        let closes: Vec<f64> = (0..150).map(|i| 100.0 * 1.01_f64.powi(i)).collect();
        let (_, out) = run(&bars(&closes, 0.002));
        let last = out.last().unwrap().unwrap();
        assert_eq!(last.regime, Regime::Bull);
        assert!(last.confidence > 0.5 && last.confidence <= 1.0);
    }

    #[test]
    fn steady_downtrend_is_bear() {
        // -0.2 % a bar: 20-bar return about -4 %, not a crash
        let closes: Vec<f64> = (0..150).map(|i| 100.0 * 0.998_f64.powi(i)).collect();
        let (_, out) = run(&bars(&closes, 0.002));
        assert_eq!(out.last().unwrap().unwrap().regime, Regime::Bear);
    }

    #[test]
    fn flat_market_is_sideways() {
        // a tiny zigzag: no direction, narrow bands
        let closes: Vec<f64> = (0..150)
            .map(|i| if i % 2 == 0 { 100.0 } else { 100.1 })
            .collect();
        let (_, out) = run(&bars(&closes, 0.001));
        let last = out.last().unwrap().unwrap();
        assert_eq!(last.regime, Regime::Sideways);
    }

    #[test]
    fn fifteen_percent_fall_is_a_crash_after_another_regime() {
        let mut closes: Vec<f64> = (0..120)
            .map(|i| if i % 2 == 0 { 100.0 } else { 100.1 })
            .collect();
        // -15 % over 10 bars
        for k in 1..=10 {
            closes.push(100.0 * (1.0 - 0.015 * k as f64));
        }
        let (_, out) = run(&bars(&closes, 0.001));
        let last = out.last().unwrap().unwrap();
        assert_eq!(last.regime, Regime::Crash);
        // a change: the flat market before the fall was not a crash
        assert!(
            out[..120]
                .iter()
                .flatten()
                .all(|s| s.regime != Regime::Crash)
        );
        assert!(out[..120].iter().flatten().count() > 50);
    }

    #[test]
    fn nothing_before_warm_up() {
        let closes: Vec<f64> = (0..40).map(|i| 100.0 + i as f64).collect();
        let (_, out) = run(&bars(&closes, 0.002));
        assert!(out.iter().all(Option::is_none));
    }

    #[test]
    fn multipliers_match_the_design() {
        assert_eq!(Regime::Bull.size_mult(), 1.2);
        assert_eq!(Regime::Crash.size_mult(), 0.3);
        assert_eq!(Regime::HighVol.stop_atr_mult(), 1.5);
        assert_eq!(Regime::Sideways.multipliers().stop_atr, 2.0);
        assert_eq!(Regime::HighVol.to_string(), "highvol");
        assert_eq!(
            serde_json::to_string(&Regime::HighVol).unwrap(),
            "\"highvol\""
        );
    }

    #[test]
    fn sorted_window_percentile_equals_sorting_every_bar() {
        let mut d = RegimeDetector::new(RegimeConfig::default()).unwrap();
        let (n, q) = (d.cfg.vol_rank_window, d.cfg.vol_percentile);
        let mut checked = 0;
        let mut price = 100.0;
        let mut x: u64 = 7;
        for i in 0..2_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (x >> 11) as f64 / 9_007_199_254_740_992.0;
            let close = price * (1.0 + 0.04 * (u - 0.5));
            let bar = Bar {
                ts_ms: i,
                open: price,
                high: price.max(close) * 1.001,
                low: price.min(close) * 0.999,
                close,
                volume: 1.0,
            };
            price = close;
            d.update(&bar);
            // the kept keys are the sorted window's from the lower place on, and the
            // percentile the next bar compares with is the one of sorting the window
            if d.vols.len() == n && d.vol_ranks.is_built() {
                checked += 1;
                let mut sorted: Vec<f64> = d.vols.iter().collect();
                sorted.sort_by(f64::total_cmp);
                let (lo, _, _) = percentile_place(n, q);
                let kept: Vec<f64> = (lo..n)
                    .map(|j| from_order_key(d.vol_ranks.at(j).unwrap()))
                    .collect();
                let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&kept), bits(&sorted[lo..]), "bar {i}");
                let p = percentile_of(n, q, |j| d.vol_ranks.at(j).map_or(f64::NAN, from_order_key));
                assert_eq!(p.to_bits(), percentile(&mut sorted, q).to_bits(), "bar {i}");
            }
        }
        assert!(checked > 1_800, "{checked}");
    }

    #[test]
    fn an_adx_from_a_dmi_gives_the_same_regimes() {
        use crate::indicators::Dmi;
        let mut own = RegimeDetector::new(RegimeConfig::default()).unwrap();
        let mut shared = RegimeDetector::new(RegimeConfig::default()).unwrap();
        let mut dmi = Dmi::new(14).unwrap();
        let bars = crate::testutil::random_walk(5_000, 11);
        let (mut seen, mut changes, mut prev) = (0, 0, None);
        for i in 0..bars.len() {
            let bar = bars.bar(i);
            let a = own.update(&bar);
            let b = shared.update_with_adx(&bar, dmi.update(&bar).map(|d| d.adx));
            assert_eq!(a, b, "bar {i}");
            seen += usize::from(a.is_some());
            if let Some(s) = a {
                changes += usize::from(prev.is_some_and(|p| p != s.regime));
                prev = Some(s.regime);
            }
        }
        assert!(seen > 4_000);
        assert!(changes > 10, "{changes} regime changes");
    }

    #[test]
    fn a_saved_state_with_the_old_transitions_list_still_loads() {
        let mut d = RegimeDetector::new(RegimeConfig::default()).unwrap();
        let bars = crate::testutil::random_walk(300, 3);
        for bar in bars.iter().take(200) {
            d.update(&bar);
        }
        let mut v = serde_json::to_value(&d).unwrap();
        v["transitions"] = serde_json::json!([
            {"ts_ms": 1, "from": "bull", "to": "bear", "confidence": 0.5}
        ]);
        let mut back: RegimeDetector = serde_json::from_value(v).unwrap();
        for bar in bars.iter().skip(200) {
            assert_eq!(back.update(&bar), d.update(&bar));
        }
    }

    #[test]
    fn order_keys_order_as_total_cmp_and_round_trip() {
        let xs = [
            f64::NEG_INFINITY,
            -1.5,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            2.0,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for &a in &xs {
            assert_eq!(from_order_key(order_key(a)).to_bits(), a.to_bits());
            for &b in &xs {
                assert_eq!(order_key(a).cmp(&order_key(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        // numpy.percentile([1, 2, 3, 4], 90) = 3.7
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert!((percentile(&mut v, 0.9) - 3.7).abs() < 1e-12);
    }

    /// The indices `percentile_of` reads are `floor` and `ceil` of `q·(len − 1)`, and its
    /// value the formula with them, bit for bit, for every window length up to 400 and
    /// quantiles on a fine grid plus the ends and the whole positions.
    #[test]
    fn percentile_indices_are_floor_and_ceil() {
        let mut qs: Vec<f64> = (0..=1000).map(|k| k as f64 / 1000.0).collect();
        qs.extend([
            0.9,
            0.95,
            0.99,
            0.1,
            1.0 / 3.0,
            2.0 / 3.0,
            f64::EPSILON,
            1.0 - f64::EPSILON,
        ]);
        for len in 1..=400usize {
            let vals: Vec<f64> = (0..len).map(|i| (i as f64).mul_add(1.37, -5.0)).collect();
            for &q in &qs {
                let pos = q * (len - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                let want = vals[lo] + (vals[hi] - vals[lo]) * (pos - lo as f64);
                let got = percentile_of(len, q, |i| vals[i]);
                assert_eq!(got.to_bits(), want.to_bits(), "len {len} q {q}");
                // and only those two are read
                let read = std::cell::RefCell::new(Vec::new());
                percentile_of(len, q, |i| {
                    read.borrow_mut().push(i);
                    vals[i]
                });
                assert!(read.into_inner().iter().all(|&i| i == lo || i == hi));
            }
        }
    }

    #[test]
    fn a_volatility_burst_is_high_vol() {
        // quiet zigzag, then swings of ±3 % (ADX stays low: no direction)
        let mut closes: Vec<f64> = (0..160)
            .map(|i| if i % 2 == 0 { 100.0 } else { 100.1 })
            .collect();
        for k in 0..4 {
            closes.push(if k % 2 == 0 { 103.0 } else { 100.0 });
        }
        let (_, out) = run(&bars(&closes, 0.001));
        assert_eq!(out.last().unwrap().unwrap().regime, Regime::HighVol);
    }

    #[test]
    fn bad_config_is_rejected() {
        let cfg = RegimeConfig {
            vol_percentile: 1.5,
            ..RegimeConfig::default()
        };
        assert!(RegimeDetector::new(cfg).is_err());
        let cfg = RegimeConfig {
            adx_period: 0,
            ..RegimeConfig::default()
        };
        assert!(RegimeDetector::new(cfg).is_err());
        for (rank, lookback) in [(1, 20), (100_001, 20), (100, 0), (100, 100_001)] {
            let cfg = RegimeConfig {
                vol_rank_window: rank,
                crash_lookback: lookback,
                ..RegimeConfig::default()
            };
            assert!(RegimeDetector::new(cfg).is_err(), "{rank} {lookback}");
        }
        let cfg = RegimeConfig {
            vol_rank_window: 100_000,
            crash_lookback: 100_000,
            ..RegimeConfig::default()
        };
        assert!(RegimeDetector::new(cfg).is_ok());
    }
}
