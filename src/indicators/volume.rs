//! Volume indicators: [`Obv`] (TA-Lib `OBV`), [`VolumeSma`] (TA-Lib `SMA` of the volume) and
//! [`Vwap`] (a rolling volume-weighted typical price; TA-Lib has no equivalent).

use std::fmt;

use super::{BatchValues, Indicator, ParamError, RollingSum, check_period, kernels, stream_values};
use crate::data::{Bar, Bars};

/// On-balance volume.
///
/// `OBV_0 = volume_0`; then `OBV_t = OBV_{t-1} ± volume_t` as the close rises or falls
/// (unchanged on an equal close). Lookback 0. Matches `talib.OBV(close, volume)`.
#[doc(alias = "OBV")]
#[doc(alias = "OnBalanceVolume")]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Obv {
    prev_close: Option<f64>,
    value: f64,
}

impl Obv {
    /// An OBV (no parameters).
    ///
    /// # Errors
    /// Never; returns `Result` like every other constructor.
    pub fn new() -> Result<Self, ParamError> {
        Ok(Obv::default())
    }
}

impl Indicator for Obv {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        match self.prev_close.replace(bar.close) {
            None => self.value = bar.volume,
            Some(prev) => {
                if bar.close > prev {
                    self.value += bar.volume;
                } else if bar.close < prev {
                    self.value -= bar.volume;
                }
            }
        }
        Some(self.value)
    }
    fn lookback(&self) -> usize {
        0
    }
    fn reset(&mut self) {
        *self = Obv::default();
    }
}

impl fmt::Display for Obv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OBV")
    }
}

impl BatchValues for Obv {
    fn values(&mut self, bars: &Bars) -> Vec<f64> {
        if self.prev_close.is_some() || bars.is_empty() {
            return stream_values(self, bars);
        }
        let mut out = kernels::column(bars.len());
        self.value = kernels::obv(bars.close(), bars.volume(), &mut out);
        self.prev_close = bars.close().last().copied();
        out
    }
}

/// Simple moving average of the volume.
///
/// `VSMA_t = (v_{t-n+1} + … + v_t) / n` with TA-Lib's running sum. No seed. Lookback `n - 1`.
/// Matches `talib.SMA(volume, n)`.
#[doc(alias = "VolumeMovingAverage")]
#[doc(alias = "VOLUME_SMA")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct VolumeSma {
    period: usize,
    sum: RollingSum,
}

impl VolumeSma {
    /// A volume SMA over `period` bars.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
    pub fn new(period: usize) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        Ok(VolumeSma {
            period,
            sum: RollingSum::new(period),
        })
    }

    /// Feed one volume (instead of a bar's volume).
    #[inline]
    pub fn update_raw(&mut self, v: f64) -> Option<f64> {
        let n = self.period as f64;
        self.sum.push(v).map(|s| s / n)
    }
}

impl Indicator for VolumeSma {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.update_raw(bar.volume)
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
    fn reset(&mut self) {
        self.sum.reset();
    }
}

impl fmt::Display for VolumeSma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VOLUME_SMA({})", self.period)
    }
}

impl BatchValues for VolumeSma {
    fn values(&mut self, bars: &Bars) -> Vec<f64> {
        if !self.sum.is_fresh() {
            return stream_values(self, bars);
        }
        let n = self.period as f64;
        let mut out = kernels::column(bars.len());
        let s = kernels::rolling_mean(bars.volume(), self.period, n, &mut out);
        self.sum.restore(bars.volume(), s);
        out
    }
}

/// Rolling volume-weighted average price of the typical price.
///
/// `tp = (high + low + close) / 3`, `VWAP_t = Σ tp·v / Σ v` over the last `n` bars; when the
/// window's volume is 0 (every bar's volume is 0), the plain mean of `tp` instead, so the
/// output stays finite. Running sums, no seed. Lookback `n - 1`. No TA-Lib equivalent.
#[doc(alias = "VWAP")]
#[doc(alias = "VolumeWeightedAveragePrice")]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Vwap {
    period: usize,
    pv: RollingSum,
    vol: RollingSum,
    tp: RollingSum,
    nonzero: RollingSum,
}

impl Vwap {
    /// A rolling VWAP over `period` bars.
    ///
    /// # Errors
    /// [`ParamError`] when `period` is 0 or above [`super::MAX_PERIOD`].
    pub fn new(period: usize) -> Result<Self, ParamError> {
        let period = check_period("period", period, 1)?;
        Ok(Vwap {
            period,
            pv: RollingSum::new(period),
            vol: RollingSum::new(period),
            tp: RollingSum::new(period),
            nonzero: RollingSum::new(period),
        })
    }
}

impl Indicator for Vwap {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        let tp = (bar.high + bar.low + bar.close) / 3.0;
        let pv = self.pv.push(tp * bar.volume);
        let vol = self.vol.push(bar.volume);
        let tps = self.tp.push(tp);
        // counts are small integers, so this sum is exact
        let nz = self.nonzero.push(if bar.volume > 0.0 { 1.0 } else { 0.0 });
        let (pv, vol, tps, nz) = (pv?, vol?, tps?, nz?);
        if nz > 0.0 && vol > 0.0 {
            Some(pv / vol)
        } else {
            Some(tps / self.period as f64)
        }
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
    fn reset(&mut self) {
        self.pv.reset();
        self.vol.reset();
        self.tp.reset();
        self.nonzero.reset();
    }
}

impl BatchValues for Vwap {}

impl fmt::Display for Vwap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VWAP({})", self.period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bars;
    use crate::indicators::batch;

    conformance!(values obv => Obv::new());
    conformance!(values volume_sma_1 => VolumeSma::new(1));
    conformance!(values volume_sma_20 => VolumeSma::new(20));
    conformance!(values vwap_1 => Vwap::new(1));
    conformance!(values vwap_20 => Vwap::new(20));

    fn bars(v: &[(f64, f64, f64, f64)]) -> Bars {
        Bars::from_bars(v.iter().enumerate().map(|(i, &(h, l, c, vol))| Bar {
            ts_ms: i as i64,
            open: c,
            high: h,
            low: l,
            close: c,
            volume: vol,
        }))
        .unwrap()
    }

    #[test]
    fn obv_starts_with_first_volume() {
        let b = bars(&[
            (10.0, 10.0, 10.0, 5.0),
            (11.0, 11.0, 11.0, 3.0),
            (11.0, 11.0, 11.0, 7.0),
            (9.0, 9.0, 9.0, 2.0),
        ]);
        let out = batch(&mut Obv::new().unwrap(), &b);
        assert_eq!(out, vec![Some(5.0), Some(8.0), Some(8.0), Some(6.0)]);
    }

    #[test]
    fn vwap_weights_typical_price_by_volume() {
        // tp: 10 (vol 1), 13 (vol 3), 16 (vol 0); n = 2:
        // bar1 (10·1 + 13·3)/4 = 12.25, bar2 (13·3 + 0)/3 = 13
        let b = bars(&[
            (11.0, 9.0, 10.0, 1.0),
            (14.0, 12.0, 13.0, 3.0),
            (17.0, 15.0, 16.0, 0.0),
        ]);
        let out = batch(&mut Vwap::new(2).unwrap(), &b);
        assert_eq!(out, vec![None, Some(12.25), Some(13.0)]);
    }

    #[test]
    fn vwap_with_no_volume_is_the_typical_price_mean() {
        let b = bars(&[(11.0, 9.0, 10.0, 0.0), (14.0, 12.0, 13.0, 0.0)]);
        let out = batch(&mut Vwap::new(2).unwrap(), &b);
        assert_eq!(out, vec![None, Some(11.5)]);
    }

    #[test]
    fn volume_sma_averages_volume() {
        let b = bars(&[
            (1.0, 1.0, 1.0, 2.0),
            (1.0, 1.0, 1.0, 4.0),
            (1.0, 1.0, 1.0, 9.0),
        ]);
        let out = batch(&mut VolumeSma::new(2).unwrap(), &b);
        assert_eq!(out, vec![None, Some(3.0), Some(6.5)]);
        assert!(VolumeSma::new(0).is_err());
        assert!(Vwap::new(0).is_err());
        assert_eq!(Vwap::new(20).unwrap().to_string(), "VWAP(20)");
    }
}
