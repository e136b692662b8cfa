//! The evolver's feature menu: a fixed set of indicator features at fixed periods, computed
//! by one streaming [`FeatureSet`] (the crate's TA-Lib-exact indicators fed bar by bar).
//!
//! The GA evaluates thousands of genomes on one dataset, so the features are computed once
//! into a [`FeatureTable`] (the same `FeatureSet::update` in a loop, STYLE rule 5) and shared
//! by every genome; the `evolved` strategy runs its own `FeatureSet` on `hist.last()`, so both
//! see the same values bit for bit. A feature is NaN while its indicator warms up (or when
//! it is undefined, e.g. a volume ratio over zero volume): every gene on it is then false.
//! Nothing here looks at a bar after the current one, so a row depends only on bars `..=t`.
//!
//! Price-scaled indicators are normalised so thresholds carry across assets: MACD and its
//! histogram, ATR and Bollinger width are percent of the close (or the middle band), the
//! EMA cross is the fast/slow EMA spread in percent, price vs EMA is percent.

use std::fmt;

use crate::data::{Bar, Bars};
use crate::indicators::{
    Atr, BollingerBands, Dmi, Ema, Indicator, Macd, ParamError, Roc, Rsi, VolumeSma,
};

/// Number of indicator features (table columns that genes may use).
pub const N_FEATURES: usize = 20;
/// Table columns: the features plus the raw ATR(14) (for stop and take-profit levels).
pub const N_COLS: usize = N_FEATURES + 1;
/// Column of the raw ATR(14), in price units.
pub const ATR_COL: usize = N_FEATURES;

/// A feature a gene can test.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Feature {
    /// RSI(7).
    #[serde(rename = "rsi_7")]
    Rsi7,
    /// RSI(14).
    #[serde(rename = "rsi_14")]
    Rsi14,
    /// RSI(21).
    #[serde(rename = "rsi_21")]
    Rsi21,
    /// `(EMA(5) / EMA(20) − 1) · 100`: the fast/slow EMA spread (crosses 0 on an EMA cross).
    #[serde(rename = "ema_cross_5_20")]
    EmaCross5x20,
    /// `(EMA(12) / EMA(26) − 1) · 100`.
    #[serde(rename = "ema_cross_12_26")]
    EmaCross12x26,
    /// `(EMA(20) / EMA(50) − 1) · 100`.
    #[serde(rename = "ema_cross_20_50")]
    EmaCross20x50,
    /// MACD(12, 26, 9) line, percent of the close.
    #[serde(rename = "macd_pct")]
    MacdPct,
    /// MACD(12, 26, 9) histogram, percent of the close.
    #[serde(rename = "macd_hist_pct")]
    MacdHistPct,
    /// ADX(14).
    #[serde(rename = "adx_14")]
    Adx14,
    /// `+DI(14) − −DI(14)`.
    #[serde(rename = "di_diff_14")]
    DiDiff14,
    /// Bollinger %B(20, 2): `(close − lower) / (upper − lower)` (0.5 when the bands meet).
    #[serde(rename = "bb_pctb_20")]
    BbPctB20,
    /// Bollinger band width(20, 2): `(upper − lower) / middle · 100`.
    #[serde(rename = "bb_width_20")]
    BbWidth20,
    /// `volume / SMA(volume, 20)` (NaN when the average volume is 0).
    #[serde(rename = "volume_ratio_20")]
    VolumeRatio20,
    /// `ATR(14) / close · 100`.
    #[serde(rename = "atr_pct_14")]
    AtrPct14,
    /// ROC(5), percent.
    #[serde(rename = "roc_5")]
    Roc5,
    /// ROC(10), percent.
    #[serde(rename = "roc_10")]
    Roc10,
    /// ROC(20), percent.
    #[serde(rename = "roc_20")]
    Roc20,
    /// `(close / EMA(20) − 1) · 100`.
    #[serde(rename = "price_ema_20")]
    PriceEma20,
    /// `(close / EMA(50) − 1) · 100`.
    #[serde(rename = "price_ema_50")]
    PriceEma50,
    /// `(close / EMA(200) − 1) · 100`.
    #[serde(rename = "price_ema_200")]
    PriceEma200,
    /// Bars since the position was entered (exit genes only; not a table column).
    #[serde(rename = "bars_held")]
    BarsHeld,
}

impl Feature {
    /// Every feature: the indicator features in column order, then [`Feature::BarsHeld`].
    pub const ALL: [Feature; N_FEATURES + 1] = [
        Feature::Rsi7,
        Feature::Rsi14,
        Feature::Rsi21,
        Feature::EmaCross5x20,
        Feature::EmaCross12x26,
        Feature::EmaCross20x50,
        Feature::MacdPct,
        Feature::MacdHistPct,
        Feature::Adx14,
        Feature::DiDiff14,
        Feature::BbPctB20,
        Feature::BbWidth20,
        Feature::VolumeRatio20,
        Feature::AtrPct14,
        Feature::Roc5,
        Feature::Roc10,
        Feature::Roc20,
        Feature::PriceEma20,
        Feature::PriceEma50,
        Feature::PriceEma200,
        Feature::BarsHeld,
    ];

    /// The indicator features, in column order (all but [`Feature::BarsHeld`]).
    pub const INDICATORS: &'static [Feature] = Feature::ALL.split_at(N_FEATURES).0;

    /// The table column of an indicator feature; `None` for [`Feature::BarsHeld`].
    pub fn column(self) -> Option<usize> {
        Feature::INDICATORS.iter().position(|&f| f == self)
    }

    /// The label in rule text (`RSI(14)`).
    pub fn label(self) -> &'static str {
        match self {
            Feature::Rsi7 => "RSI(7)",
            Feature::Rsi14 => "RSI(14)",
            Feature::Rsi21 => "RSI(21)",
            Feature::EmaCross5x20 => "EMA(5)/EMA(20)%",
            Feature::EmaCross12x26 => "EMA(12)/EMA(26)%",
            Feature::EmaCross20x50 => "EMA(20)/EMA(50)%",
            Feature::MacdPct => "MACD%",
            Feature::MacdHistPct => "MACD_hist%",
            Feature::Adx14 => "ADX(14)",
            Feature::DiDiff14 => "+DI(14) − −DI(14)",
            Feature::BbPctB20 => "BB%B(20)",
            Feature::BbWidth20 => "BB_width(20)%",
            Feature::VolumeRatio20 => "VOL/SMA(20)",
            Feature::AtrPct14 => "ATR(14)%",
            Feature::Roc5 => "ROC(5)",
            Feature::Roc10 => "ROC(10)",
            Feature::Roc20 => "ROC(20)",
            Feature::PriceEma20 => "CLOSE/EMA(20)%",
            Feature::PriceEma50 => "CLOSE/EMA(50)%",
            Feature::PriceEma200 => "CLOSE/EMA(200)%",
            Feature::BarsHeld => "BARS_HELD",
        }
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One bar's features (NaN while warming up), plus the raw ATR in [`ATR_COL`].
pub type Row = [f64; N_COLS];

/// All the menu's indicators, streaming.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FeatureSet {
    rsi: [Rsi; 3],
    /// EMA 5, 12, 20, 26, 50, 200.
    ema: [Ema; 6],
    macd: Macd,
    dmi: Dmi,
    bb: BollingerBands,
    vol: VolumeSma,
    atr: Atr,
    roc: [Roc; 3],
}

/// `(a / b − 1) · 100`, NaN unless both are defined and `b` is non-zero.
#[inline]
fn spread_pct(a: Option<f64>, b: Option<f64>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => (a / b - 1.0) * 100.0,
        _ => f64::NAN,
    }
}

/// `x / d · 100`, NaN unless defined and `d` is non-zero.
#[inline]
fn pct_of(x: Option<f64>, d: f64) -> f64 {
    match x {
        Some(x) if d != 0.0 => x / d * 100.0,
        _ => f64::NAN,
    }
}

impl FeatureSet {
    /// The menu's indicators, fresh.
    ///
    /// # Errors
    /// Never in practice (the periods are fixed and valid); [`ParamError`] is passed on from
    /// the indicator constructors.
    pub fn new() -> Result<Self, ParamError> {
        Ok(FeatureSet {
            rsi: [Rsi::new(7)?, Rsi::new(14)?, Rsi::new(21)?],
            ema: [
                Ema::new(5)?,
                Ema::new(12)?,
                Ema::new(20)?,
                Ema::new(26)?,
                Ema::new(50)?,
                Ema::new(200)?,
            ],
            macd: Macd::new(12, 26, 9)?,
            dmi: Dmi::new(14)?,
            bb: BollingerBands::new(20, 2.0, 2.0)?,
            vol: VolumeSma::new(20)?,
            atr: Atr::new(14)?,
            roc: [Roc::new(5)?, Roc::new(10)?, Roc::new(20)?],
        })
    }

    /// Bars before every feature is defined (EMA(200)'s lookback).
    pub fn warmup_bars(&self) -> usize {
        self.ema[5].lookback()
    }

    /// Forget every bar.
    pub fn reset(&mut self) {
        self.rsi.iter_mut().for_each(Indicator::reset);
        self.ema.iter_mut().for_each(Indicator::reset);
        self.macd.reset();
        self.dmi.reset();
        self.bb.reset();
        self.vol.reset();
        self.atr.reset();
        self.roc.iter_mut().for_each(Indicator::reset);
    }

    /// Feed the next bar; its row of features.
    pub fn update(&mut self, bar: &Bar) -> Row {
        let c = bar.close;
        let rsi = self.rsi.each_mut().map(|r| r.update(bar));
        let ema = self.ema.each_mut().map(|e| e.update(bar));
        let macd = self.macd.update(bar);
        let dmi = self.dmi.update(bar);
        let bb = self.bb.update(bar);
        let vol = self.vol.update(bar);
        let atr = self.atr.update(bar);
        let roc = self.roc.each_mut().map(|r| r.update(bar));
        let or_nan = |x: Option<f64>| x.unwrap_or(f64::NAN);
        let (pctb, width) = match bb {
            Some(b) => {
                let range = b.upper - b.lower;
                let pctb = if range > 0.0 {
                    (c - b.lower) / range
                } else {
                    0.5
                };
                let width = if b.middle != 0.0 {
                    range / b.middle * 100.0
                } else {
                    f64::NAN
                };
                (pctb, width)
            }
            None => (f64::NAN, f64::NAN),
        };
        [
            or_nan(rsi[0]),
            or_nan(rsi[1]),
            or_nan(rsi[2]),
            spread_pct(ema[0], ema[2]),
            spread_pct(ema[1], ema[3]),
            spread_pct(ema[2], ema[4]),
            pct_of(macd.map(|m| m.macd), c),
            pct_of(macd.map(|m| m.hist), c),
            dmi.map_or(f64::NAN, |d| d.adx),
            dmi.map_or(f64::NAN, |d| d.plus_di - d.minus_di),
            pctb,
            width,
            match vol {
                Some(v) if v > 0.0 => bar.volume / v,
                _ => f64::NAN,
            },
            pct_of(atr, c),
            or_nan(roc[0]),
            or_nan(roc[1]),
            or_nan(roc[2]),
            spread_pct(Some(c), ema[2]),
            spread_pct(Some(c), ema[4]),
            spread_pct(Some(c), ema[5]),
            or_nan(atr),
        ]
    }
}

/// The features of every bar of one dataset, row-major, computed once and shared by every
/// genome the GA evaluates.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FeatureTable {
    rows: Vec<Row>,
}

impl FeatureTable {
    /// [`FeatureSet::update`] over all bars.
    ///
    /// # Errors
    /// As [`FeatureSet::new`].
    pub fn new(bars: &Bars) -> Result<Self, ParamError> {
        let mut set = FeatureSet::new()?;
        Ok(FeatureTable {
            rows: bars.iter().map(|b| set.update(&b)).collect(),
        })
    }

    /// Number of rows (bars).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True with no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `t`.
    ///
    /// # Panics
    /// If `t` is out of range.
    #[inline]
    pub fn row(&self, t: usize) -> &Row {
        &self.rows[t]
    }

    /// All rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }
}

/// Per-feature threshold ranges for random genes and mutation, measured on a window of
/// the table (the training window: the ranges must not peek at later data).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureRanges {
    lo: [f64; N_FEATURES],
    hi: [f64; N_FEATURES],
}

/// Bars-held thresholds are drawn from `1..=BARS_HELD_MAX`.
pub const BARS_HELD_MAX: f64 = 100.0;

impl FeatureRanges {
    /// The 2nd and 98th percentiles of each feature over `rows` (NaNs skipped); a feature
    /// with no value (or a degenerate range) falls back to a wide default.
    pub fn measure(rows: &[Row]) -> Self {
        let mut lo = [0.0; N_FEATURES];
        let mut hi = [0.0; N_FEATURES];
        let mut buf: Vec<f64> = Vec::with_capacity(rows.len());
        for (j, f) in Feature::INDICATORS.iter().enumerate() {
            buf.clear();
            buf.extend(rows.iter().map(|r| r[j]).filter(|v| v.is_finite()));
            buf.sort_unstable_by(f64::total_cmp);
            let (dl, dh) = default_range(*f);
            let (mut l, mut h) = if buf.is_empty() {
                (dl, dh)
            } else {
                let q = |p: f64| buf[((buf.len() - 1) as f64 * p).round() as usize];
                (q(0.02), q(0.98))
            };
            if h.partial_cmp(&l) != Some(std::cmp::Ordering::Greater) {
                (l, h) = (dl, dh);
            }
            lo[j] = l;
            hi[j] = h;
        }
        FeatureRanges { lo, hi }
    }

    /// `(lo, hi)` of a feature.
    pub fn range(&self, f: Feature) -> (f64, f64) {
        match f.column() {
            Some(j) => (self.lo[j], self.hi[j]),
            None => (1.0, BARS_HELD_MAX),
        }
    }
}

/// A generous a-priori range, used when the data gives none.
fn default_range(f: Feature) -> (f64, f64) {
    match f {
        Feature::Rsi7 | Feature::Rsi14 | Feature::Rsi21 | Feature::Adx14 => (0.0, 100.0),
        Feature::DiDiff14 => (-50.0, 50.0),
        Feature::BbPctB20 => (0.0, 1.0),
        Feature::VolumeRatio20 => (0.0, 3.0),
        Feature::BbWidth20 | Feature::AtrPct14 => (0.0, 10.0),
        Feature::BarsHeld => (1.0, BARS_HELD_MAX),
        _ => (-5.0, 5.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::batch;
    use crate::testutil::random_walk;

    #[test]
    fn table_columns_equal_the_indicators_bit_for_bit() {
        let bars = random_walk(400, 3);
        let table = FeatureTable::new(&bars).unwrap();
        let rsi = batch(&mut Rsi::new(14).unwrap(), &bars);
        let atr = batch(&mut Atr::new(14).unwrap(), &bars);
        let e12 = batch(&mut Ema::new(12).unwrap(), &bars);
        let e26 = batch(&mut Ema::new(26).unwrap(), &bars);
        for t in 0..bars.len() {
            let r = table.row(t);
            assert_eq!(
                r[1].to_bits(),
                rsi[t].unwrap_or(f64::NAN).to_bits(),
                "t={t}"
            );
            assert_eq!(r[ATR_COL].to_bits(), atr[t].unwrap_or(f64::NAN).to_bits());
            let spread = match (e12[t], e26[t]) {
                (Some(a), Some(b)) => (a / b - 1.0) * 100.0,
                _ => f64::NAN,
            };
            assert_eq!(r[4].to_bits(), spread.to_bits());
        }
        // EMA(200) is the slowest: every feature is defined from bar 199 on
        let set = FeatureSet::new().unwrap();
        assert_eq!(set.warmup_bars(), 199);
        assert!(table.row(198)[19].is_nan());
        assert!(
            table.row(199).iter().all(|v| v.is_finite()),
            "{:?}",
            table.row(199)
        );
    }

    #[test]
    fn percent_b_of_a_close_on_the_upper_band_is_one() {
        // 19 closes of 10, then 30: the last close is above the upper band; by hand
        // mean = 11, var = (19·1 + 361)/20 = 19, sd = √19, upper = 11 + 2√19
        let mut closes = vec![10.0; 19];
        closes.push(30.0);
        let bars = crate::testutil::bars_from_closes(&closes);
        let table = FeatureTable::new(&bars).unwrap();
        let r = table.row(19);
        let sd = 19f64.sqrt();
        let pctb = (30.0 - (11.0 - 2.0 * sd)) / (4.0 * sd);
        assert!((r[10] - pctb).abs() < 1e-9, "{}", r[10]);
        assert!((r[11] - 4.0 * sd / 11.0 * 100.0).abs() < 1e-9);
    }

    #[test]
    fn feature_names_round_trip_through_json() {
        for f in Feature::INDICATORS.iter().chain([&Feature::BarsHeld]) {
            let s = serde_json::to_string(f).unwrap();
            let back: Feature = serde_json::from_str(&s).unwrap();
            assert_eq!(back, *f);
        }
        assert_eq!(
            serde_json::to_string(&Feature::Rsi14).unwrap(),
            "\"rsi_14\""
        );
        assert_eq!(Feature::BarsHeld.column(), None);
        assert_eq!(Feature::PriceEma200.column(), Some(19));
    }

    #[test]
    fn ranges_come_from_the_given_rows_only() {
        let bars = random_walk(600, 5);
        let table = FeatureTable::new(&bars).unwrap();
        let r = FeatureRanges::measure(&table.rows()[..400]);
        let (lo, hi) = r.range(Feature::Rsi14);
        assert!(0.0 <= lo && lo < hi && hi <= 100.0);
        assert_eq!(r.range(Feature::BarsHeld), (1.0, BARS_HELD_MAX));
        // no data at all: defaults
        let empty = FeatureRanges::measure(&[]);
        assert_eq!(empty.range(Feature::Adx14), (0.0, 100.0));
    }
}
