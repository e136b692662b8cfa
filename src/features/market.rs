//! The market part of the DQN states: one streaming calculator, [`MarketFeatures`], that
//! feeds each bar to TA-Lib-exact streaming indicators and returns a raw (unnormalised)
//! row of [`MARKET_WIDTH`] values once every indicator is warm.
//!
//! Row `t` depends on bars `..=t` only (each indicator is streaming and the lag buffer holds
//! past closes), so a live tick and a backtest give the same row bit for bit, and changing
//! bars after `t` cannot change it (tests below). The market-structure columns come from the
//! bars' extra columns as `fetch --futures` stores them (`funding_rate`, `open_interest`,
//! `long_short_ratio`, NaN on bars without a value): the last value seen is carried, 0
//! before any, and column 25 says how many of the three have no value yet (0, ⅓, ⅔, 1), so
//! a missing column is visible and never NaN.

use std::collections::VecDeque;

use crate::data::Bar;
use crate::indicators::{
    Adx, Atr, BollingerBands, Ema, Indicator, Macd, ParamError, Rsi, VolumeSma, Vwap,
};

/// Columns in a market row.
pub const MARKET_WIDTH: usize = 26;

/// Column names of a market row, in order.
pub const MARKET_NAMES: [&str; MARKET_WIDTH] = [
    "change_1h",
    "change_4h",
    "change_24h",
    "close_vs_ema20",
    "close_vs_ema50",
    "close_vs_vwap",
    "rsi_14",
    "rsi_change",
    "macd_hist",
    "momentum_5",
    "macd_cross",
    "momentum_20",
    "atr_ratio",
    "bb_position",
    "volatility_ratio",
    "bb_width",
    "high_volatility",
    "adx_14",
    "trend_direction",
    "trend_strength",
    "ema_alignment",
    "volume_ratio",
    "funding_rate",
    "open_interest_change",
    "long_short_ratio",
    "structure_absent",
];

/// `volatility_ratio` above this sets the `high_volatility` flag.
pub const HIGH_VOLATILITY_RATIO: f64 = 1.5;

/// The extra-column values of one bar (`None`: the data has no such column; `Some(NaN)`:
/// no value on this bar).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Structure {
    /// Funding rate paid at this bar (`funding_rate`).
    pub funding_rate: Option<f64>,
    /// Open interest (`open_interest`).
    pub open_interest: Option<f64>,
    /// Long/short account ratio (`long_short_ratio`).
    pub long_short_ratio: Option<f64>,
}

/// Bars covering `hours` at a bar interval of `interval_ms` (at least 1).
pub fn bars_for_hours(hours: i64, interval_ms: i64) -> usize {
    let span = hours * 3_600_000;
    if interval_ms <= 0 {
        return 1;
    }
    ((span as f64 / interval_ms as f64).round() as usize).max(1)
}

/// The streaming market-feature calculator (module doc).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MarketFeatures {
    lags: [usize; 3],
    closes: VecDeque<f64>,
    keep: usize,
    ema20: Ema,
    ema50: Ema,
    vwap: Vwap,
    rsi: Rsi,
    prev_rsi: Option<f64>,
    macd: Macd,
    prev_hist: Option<f64>,
    atr: Atr,
    atr_fast: Atr,
    atr_slow: Atr,
    bb: BollingerBands,
    adx: Adx,
    vol_sma: VolumeSma,
    funding: Option<f64>,
    oi: Option<f64>,
    oi_change: f64,
    ls: Option<f64>,
}

impl MarketFeatures {
    /// A calculator for bars of `interval_ms` (the 1 h / 4 h / 24 h changes are converted
    /// to bars of that interval; the VWAP spans 24 h).
    ///
    /// # Errors
    /// [`ParamError`] when an indicator period is out of range (a tiny interval making the
    /// 24 h window longer than the indicators allow).
    pub fn new(interval_ms: i64) -> Result<Self, ParamError> {
        let lags = [
            bars_for_hours(1, interval_ms),
            bars_for_hours(4, interval_ms),
            bars_for_hours(24, interval_ms),
        ];
        let keep = lags[2].max(20) + 1;
        Ok(MarketFeatures {
            lags,
            closes: VecDeque::with_capacity(keep + 1),
            keep,
            ema20: Ema::new(20)?,
            ema50: Ema::new(50)?,
            vwap: Vwap::new(lags[2].max(2))?,
            rsi: Rsi::new(14)?,
            prev_rsi: None,
            macd: Macd::new(12, 26, 9)?,
            prev_hist: None,
            atr: Atr::new(14)?,
            atr_fast: Atr::new(5)?,
            atr_slow: Atr::new(20)?,
            bb: BollingerBands::new(20, 2.0, 2.0)?,
            adx: Adx::new(14)?,
            vol_sma: VolumeSma::new(20)?,
            funding: None,
            oi: None,
            oi_change: 0.0,
            ls: None,
        })
    }

    /// Bars before the first row (the longest warm-up).
    pub fn warmup_bars(&self) -> usize {
        [
            self.keep - 1,
            self.ema50.lookback(),
            self.vwap.lookback(),
            self.rsi.lookback() + 1,
            self.macd.lookback() + 1,
            self.atr_slow.lookback(),
            self.bb.lookback(),
            self.adx.lookback(),
            self.vol_sma.lookback(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    /// Forget everything.
    pub fn reset(&mut self) {
        self.closes.clear();
        self.ema20.reset();
        self.ema50.reset();
        self.vwap.reset();
        self.rsi.reset();
        self.prev_rsi = None;
        self.macd.reset();
        self.prev_hist = None;
        self.atr.reset();
        self.atr_fast.reset();
        self.atr_slow.reset();
        self.bb.reset();
        self.adx.reset();
        self.vol_sma.reset();
        self.funding = None;
        self.oi = None;
        self.oi_change = 0.0;
        self.ls = None;
    }

    /// Feed the next bar and its extra columns; the raw row once every input is warm.
    pub fn update(&mut self, bar: &Bar, s: &Structure) -> Option<[f64; MARKET_WIDTH]> {
        let c = bar.close;
        self.closes.push_back(c);
        if self.closes.len() > self.keep {
            self.closes.pop_front();
        }
        let ema20 = self.ema20.update(bar);
        let ema50 = self.ema50.update(bar);
        let vwap = self.vwap.update(bar);
        let rsi = self.rsi.update(bar);
        let prev_rsi = std::mem::replace(&mut self.prev_rsi, rsi);
        let macd = self.macd.update(bar);
        let prev_hist = std::mem::replace(&mut self.prev_hist, macd.map(|m| m.hist));
        let atr = self.atr.update(bar);
        let atr_fast = self.atr_fast.update(bar);
        let atr_slow = self.atr_slow.update(bar);
        let bb = self.bb.update(bar);
        let adx = self.adx.update(bar);
        let vol_sma = self.vol_sma.update(bar);
        self.structure(s);

        let n = self.closes.len();
        if n < self.keep {
            return None;
        }
        let past = |k: usize| self.closes[n - 1 - k];
        let (ema20, ema50, vwap) = (ema20?, ema50?, vwap?);
        let (rsi, prev_rsi, macd, prev_hist) = (rsi?, prev_rsi?, macd?, prev_hist?);
        let (atr, atr_fast, atr_slow, bb, adx, vol_sma) =
            (atr?, atr_fast?, atr_slow?, bb?, adx?, vol_sma?);
        let ratio = |a: f64, b: f64| if b != 0.0 { a / b - 1.0 } else { 0.0 };
        let width = bb.upper - bb.lower;
        let vol_ratio = if atr_slow > 0.0 {
            atr_fast / atr_slow
        } else {
            1.0
        };
        let dir = if ema20 > ema50 {
            1.0
        } else if ema20 < ema50 {
            -1.0
        } else {
            0.0
        };
        let cross = if prev_hist <= 0.0 && macd.hist > 0.0 {
            1.0
        } else if prev_hist >= 0.0 && macd.hist < 0.0 {
            -1.0
        } else {
            0.0
        };
        let align = if c > ema20 && ema20 > ema50 {
            1.0
        } else if c < ema20 && ema20 < ema50 {
            -1.0
        } else {
            0.0
        };
        let absent = [self.funding, self.oi, self.ls]
            .iter()
            .filter(|v| v.is_none())
            .count() as f64
            / 3.0;
        let row = [
            ratio(c, past(self.lags[0])),
            ratio(c, past(self.lags[1])),
            ratio(c, past(self.lags[2])),
            ratio(c, ema20),
            ratio(c, ema50),
            ratio(c, vwap),
            rsi,
            rsi - prev_rsi,
            if c != 0.0 { macd.hist / c } else { 0.0 },
            ratio(c, past(5)),
            cross,
            ratio(c, past(20)),
            if c != 0.0 { atr / c } else { 0.0 },
            if width > 0.0 {
                (c - bb.lower) / width
            } else {
                0.5
            },
            vol_ratio,
            if bb.middle != 0.0 {
                width / bb.middle
            } else {
                0.0
            },
            if vol_ratio > HIGH_VOLATILITY_RATIO {
                1.0
            } else {
                0.0
            },
            adx,
            dir,
            ratio(ema20, ema50).abs(),
            align,
            if vol_sma > 0.0 {
                bar.volume / vol_sma
            } else {
                1.0
            },
            self.funding.unwrap_or(0.0),
            self.oi_change,
            self.ls.map_or(0.0, |v| v - 1.0),
            absent,
        ];
        // every input is finite (Bars are validated), but a pathological series (a close
        // of 0 against a non-zero mean) must still never leak a NaN into a state
        Some(row.map(|v| if v.is_finite() { v } else { 0.0 }))
    }

    fn structure(&mut self, s: &Structure) {
        if let Some(f) = s.funding_rate.filter(|v| v.is_finite()) {
            self.funding = Some(f);
        }
        if let Some(oi) = s.open_interest.filter(|v| v.is_finite()) {
            self.oi_change = match self.oi {
                Some(prev) if prev > 0.0 => oi / prev - 1.0,
                _ => 0.0,
            };
            self.oi = Some(oi);
        }
        if let Some(ls) = s.long_short_ratio.filter(|v| v.is_finite()) {
            self.ls = Some(ls);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bars;

    fn rows(
        bars: &Bars,
        structure: &dyn Fn(usize) -> Structure,
    ) -> Vec<Option<[f64; MARKET_WIDTH]>> {
        let mut m = MarketFeatures::new(bars.interval_ms().unwrap_or(3_600_000)).unwrap();
        (0..bars.len())
            .map(|t| m.update(&bars.bar(t), &structure(t)))
            .collect()
    }

    #[test]
    fn warm_up_length_is_exact_and_rows_are_finite() {
        let bars = crate::testutil::random_walk(400, 3);
        let r = rows(&bars, &|_| Structure::default());
        let warm = MarketFeatures::new(3_600_000).unwrap().warmup_bars();
        assert_eq!(warm, 49, "EMA(50) is the longest warm-up on 1h bars");
        assert!(r[..warm].iter().all(Option::is_none));
        assert!(
            r[warm..]
                .iter()
                .all(|x| x.is_some_and(|v| v.iter().all(|f| f.is_finite())))
        );
        // without extra columns every structure value is 0 and all three are absent
        let last = r[399].unwrap();
        assert_eq!(&last[22..], &[0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn lags_convert_hours_to_bars() {
        assert_eq!(bars_for_hours(24, 3_600_000), 24);
        assert_eq!(bars_for_hours(4, 86_400_000), 1);
        assert_eq!(bars_for_hours(1, 900_000), 4);
        let bars = crate::testutil::random_walk(200, 1);
        let r = rows(&bars, &|_| Structure::default());
        let c = bars.close();
        let v = r[150].unwrap();
        assert_eq!(v[0], c[150] / c[149] - 1.0);
        assert_eq!(v[1], c[150] / c[146] - 1.0);
        assert_eq!(v[2], c[150] / c[126] - 1.0);
        assert_eq!(v[9], c[150] / c[145] - 1.0);
        assert_eq!(v[11], c[150] / c[130] - 1.0);
    }

    #[test]
    fn structure_columns_carry_the_last_value_and_flag_absence() {
        let bars = crate::testutil::random_walk(120, 2);
        let s = |t: usize| Structure {
            funding_rate: Some(if t == 60 { 0.0001 } else { f64::NAN }),
            open_interest: Some(if t.is_multiple_of(10) {
                100.0 + t as f64
            } else {
                f64::NAN
            }),
            long_short_ratio: None,
        };
        let r = rows(&bars, &s);
        let v = r[65].unwrap();
        assert_eq!(v[22], 0.0001);
        assert_eq!(v[23], 160.0 / 150.0 - 1.0);
        assert_eq!(v[24], 0.0);
        assert_eq!(v[25], 1.0 / 3.0);
        let early = r[55].unwrap();
        assert_eq!(early[22], 0.0, "no funding seen yet");
    }

    #[test]
    fn a_row_does_not_change_when_later_bars_change() {
        let bars = crate::testutil::random_walk(300, 4);
        let full = rows(&bars, &|_| Structure::default());
        let k = 180;
        let prefix = bars.slice(0..k);
        let cut = rows(&prefix, &|_| Structure::default());
        for t in 0..k {
            assert_eq!(
                full[t].map(|r| r.map(f64::to_bits)),
                cut[t].map(|r| r.map(f64::to_bits)),
                "row {t}"
            );
        }
    }
}
