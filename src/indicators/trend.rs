//! Directional movement: [`PlusDi`], [`MinusDi`], [`Dx`], [`Adx`], and [`Dmi`] (all four in
//! one pass), with TA-Lib's exact Wilder-sum recurrences.
//!
//! Per bar: `+DM = high - prev_high` when it is positive and larger than
//! `-DM = prev_low - low` (and the mirror for -DM), TR is Wilder's true range. Seed: plain sums
//! of +DM, -DM and TR over bars 1..n-1; from bar n on, `S = S - S·(1/n) + new` (TA-Lib's
//! `prev - prev/n`, then `+ new`; the reciprocal keeps divisions off the bar-to-bar chain
//! and differs in the last bit at most). `±DI = 100·S(±DM)/S(TR)`, `DX = 100·|-DI - +DI|/(-DI + +DI)`,
//! ADX seeded by the mean of the first n DX values, then `(ADX·(n-1) + DX)·(1/n)`. TA-Lib's
//! zero guards (`|v| < 1e-8`) are kept: a zero TR sum gives DI 0, a zero DI sum leaves DX at
//! its previous value and ADX unchanged. [`PlusDi`] and [`MinusDi`] skip DX and ADX (neither
//! feeds a DI), streaming and batch alike: no DX division and no ADX recurrence a bar.

use std::fmt;

use super::volatility::true_range;
use super::{BatchValues, Indicator, ParamError, check_period, ta_is_zero};
use crate::data::{Bar, Bars};

/// One reading of the directional movement system.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DmiValue {
    /// +DI (0–100).
    pub plus_di: f64,
    /// -DI (0–100).
    pub minus_di: f64,
    /// DX (0–100), as `talib.DX` gives it.
    pub dx: f64,
    /// ADX (0–100).
    pub adx: f64,
}

/// What the shared core gives each bar once the Wilder sums are ready (bar `n` on).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct DmStep {
    plus_di: f64,
    minus_di: f64,
    /// DX as `talib.DX` reports it (previous value when undefined).
    dx: f64,
    /// ADX once ready (bar `2n - 1` on).
    adx: Option<f64>,
}

/// The Wilder sums and the DX/ADX recurrences, shared by every type in this file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct DmCore {
    period: usize,
    /// `period - 1` and `1 / period`, for the smoothing steps.
    keep: f64,
    inv_n: f64,
    count: usize,
    prev_high: f64,
    prev_low: f64,
    prev_close: f64,
    plus_dm: f64,
    minus_dm: f64,
    tr: f64,
    dx_last: f64,
    dx_seen: usize,
    sum_dx: f64,
    adx: f64,
}

impl DmCore {
    fn new(period: usize) -> Self {
        DmCore {
            period,
            keep: (period - 1) as f64,
            inv_n: 1.0 / period as f64,
            count: 0,
            prev_high: 0.0,
            prev_low: 0.0,
            prev_close: 0.0,
            plus_dm: 0.0,
            minus_dm: 0.0,
            tr: 0.0,
            dx_last: 0.0,
            dx_seen: 0,
            sum_dx: 0.0,
            adx: 0.0,
        }
    }

    fn reset(&mut self) {
        *self = DmCore::new(self.period);
    }

    /// One bar; `DX`: also DX and ADX (else `dx` is 0 and `adx` `None`, and their state
    /// stays untouched: +DI and -DI alone need neither).
    #[inline(always)]
    fn update<const DX: bool>(&mut self, bar: &Bar) -> Option<DmStep> {
        self.step::<DX>(bar.high, bar.low, bar.close)
    }

    /// The batch kernel: `update` on every bar, run on a local copy of the state (kept in
    /// registers, reading the three columns directly), `pick` giving each output; the
    /// state is stored back at the end. Works from any state.
    #[inline]
    fn columns<const K: usize, const DX: bool>(
        &mut self,
        bars: &Bars,
        pick: impl Fn(Option<DmStep>) -> [f64; K],
    ) -> [Vec<f64>; K] {
        let mut core = self.clone();
        let n = bars.len();
        let mut out: [Vec<f64>; K] = std::array::from_fn(|_| super::kernels::zeroed(n));
        let cols = bars.high().iter().zip(bars.low()).zip(bars.close());
        if let [only] = out.as_mut_slice() {
            for (o, ((&h, &l), &c)) in only.iter_mut().zip(cols) {
                *o = pick(core.step::<DX>(h, l, c))[0];
            }
        } else {
            for (i, ((&h, &l), &c)) in cols.enumerate() {
                let v = pick(core.step::<DX>(h, l, c));
                for (o, v) in out.iter_mut().zip(v) {
                    if let Some(slot) = o.get_mut(i) {
                        *slot = v;
                    }
                }
            }
        }
        *self = core;
        out
    }

    #[inline(always)]
    fn step<const DX: bool>(&mut self, high: f64, low: f64, close: f64) -> Option<DmStep> {
        if self.count == 0 {
            self.prev_high = high;
            self.prev_low = low;
            self.prev_close = close;
            self.count = 1;
            return None;
        }
        let diff_p = high - self.prev_high;
        self.prev_high = high;
        let diff_m = self.prev_low - low;
        self.prev_low = low;
        let tr = true_range(high, low, self.prev_close);
        self.prev_close = close;
        // TA-Lib's `if is_minus {..} else if is_plus {..}` as masks, not branches (the
        // direction is a coin flip and mispredicts cost more than the rest of the bar): a
        // masked-out move is ±0.0, and adding ±0.0 to a sum that is never -0.0 leaves it
        // unchanged bit for bit
        let is_minus = (diff_m > 0.0) & (diff_p < diff_m);
        let is_plus = (diff_p > 0.0) & (diff_p > diff_m) & !is_minus;
        let add_m = diff_m * f64::from(u8::from(is_minus));
        let add_p = diff_p * f64::from(u8::from(is_plus));
        let n = self.period as f64;
        if self.count < self.period {
            self.minus_dm += add_m;
            self.plus_dm += add_p;
            self.tr += tr;
            self.count += 1;
            return None;
        }
        self.minus_dm = self.minus_dm - self.minus_dm * self.inv_n + add_m;
        self.plus_dm = self.plus_dm - self.plus_dm * self.inv_n + add_p;
        self.tr = self.tr - (self.tr * self.inv_n) + tr;

        let mut dx_now = None;
        let (plus_di, minus_di) = if ta_is_zero(self.tr) {
            (0.0, 0.0)
        } else {
            let minus_di = 100.0 * (self.minus_dm / self.tr);
            let plus_di = 100.0 * (self.plus_dm / self.tr);
            let sum = minus_di + plus_di;
            if DX && !ta_is_zero(sum) {
                dx_now = Some(100.0 * ((minus_di - plus_di).abs() / sum));
            }
            (plus_di, minus_di)
        };
        if !DX {
            return Some(DmStep {
                plus_di,
                minus_di,
                dx: 0.0,
                adx: None,
            });
        }
        // talib.DX: 0 on its first bar when undefined, else the previous value
        if let Some(dx) = dx_now {
            self.dx_last = dx;
        }
        let adx = if self.dx_seen < self.period {
            if let Some(dx) = dx_now {
                self.sum_dx += dx;
            }
            self.dx_seen += 1;
            if self.dx_seen < self.period {
                None
            } else {
                self.adx = self.sum_dx / n;
                Some(self.adx)
            }
        } else {
            if let Some(dx) = dx_now {
                self.adx = ((self.adx * self.keep) + dx) * self.inv_n;
            }
            Some(self.adx)
        };
        Some(DmStep {
            plus_di,
            minus_di,
            dx: self.dx_last,
            adx,
        })
    }
}

macro_rules! dm_indicator {
    ($(#[$meta:meta])* $name:ident, $label:literal, $dx:literal, $lookback:expr, $out:ty, |$s:ident| $pick:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            core: DmCore,
        }

        impl $name {
            /// Over `period` bars.
            ///
            /// # Errors
            /// [`ParamError`] when `period` is below 2 or above [`super::MAX_PERIOD`].
            pub fn new(period: usize) -> Result<Self, ParamError> {
                let period = check_period("period", period, 2)?;
                Ok($name { core: DmCore::new(period) })
            }
        }

        impl Indicator for $name {
            type Output = $out;
            #[inline(always)]
            fn update(&mut self, bar: &Bar) -> Option<$out> {
                let $s = self.core.update::<$dx>(bar)?;
                $pick
            }
            fn lookback(&self) -> usize {
                let n = self.core.period;
                $lookback(n)
            }
            fn reset(&mut self) {
                self.core.reset();
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({})"), self.core.period)
            }
        }
    };
}

dm_indicator!(
    /// Plus directional indicator: `+DI = 100 · S(+DM) / S(TR)` with Wilder sums (module doc).
    /// Seed: plain sums over bars 1..n-1. Lookback `n`. Matches `talib.PLUS_DI(high, low, close, n)`.
    #[doc(alias = "PLUS_DI")]
    #[doc(alias = "PlusDirectionalIndicator")]
    PlusDi, "PLUS_DI", false, |n: usize| n, f64, |s| Some(s.plus_di)
);

dm_indicator!(
    /// Minus directional indicator: `-DI = 100 · S(-DM) / S(TR)` with Wilder sums (module doc).
    /// Seed: plain sums over bars 1..n-1. Lookback `n`. Matches `talib.MINUS_DI(high, low, close, n)`.
    #[doc(alias = "MINUS_DI")]
    #[doc(alias = "MinusDirectionalIndicator")]
    MinusDi, "MINUS_DI", false, |n: usize| n, f64, |s| Some(s.minus_di)
);

dm_indicator!(
    /// Directional movement index: `DX = 100 · |-DI - +DI| / (-DI + +DI)` (module doc); when
    /// the DI sum is 0 it repeats the previous value (0 on the first bar), as TA-Lib does.
    /// Lookback `n`. Matches `talib.DX(high, low, close, n)`.
    #[doc(alias = "DX")]
    #[doc(alias = "DirectionalMovementIndex")]
    Dx, "DX", true, |n: usize| n, f64, |s| Some(s.dx)
);

dm_indicator!(
    /// Average directional movement index: seeded by the mean of the first `n` DX values, then
    /// `ADX = (ADX·(n-1) + DX)·(1/n)` (module doc). Lookback `2n - 1`.
    /// Matches `talib.ADX(high, low, close, n)`.
    #[doc(alias = "ADX")]
    #[doc(alias = "AverageDirectionalIndex")]
    Adx, "ADX", true, |n: usize| 2 * n - 1, f64, |s| s.adx
);

dm_indicator!(
    /// The whole directional movement system in one pass: +DI, -DI, DX and ADX, each equal
    /// bit for bit to [`PlusDi`], [`MinusDi`], [`Dx`] and [`Adx`] (module doc). The first value
    /// comes when the ADX is ready: lookback `2n - 1`.
    #[doc(alias = "DMI")]
    #[doc(alias = "DirectionalMovementSystem")]
    Dmi, "DMI", true, |n: usize| 2 * n - 1, DmiValue, |s| {
        s.adx.map(|adx| DmiValue {
            plus_di: s.plus_di,
            minus_di: s.minus_di,
            dx: s.dx,
            adx,
        })
    }
);

macro_rules! dm_values {
    ($($name:ident, $dx:literal => |$s:ident| $pick:expr),+) => {$(
        impl BatchValues for $name {
            fn values(&mut self, bars: &Bars) -> Vec<f64> {
                let [out] = self.core.columns::<1, $dx>(bars, |s| {
                    [s.and_then(|$s| $pick).unwrap_or(f64::NAN)]
                });
                out
            }
        }
    )+};
}

dm_values!(
    PlusDi, false => |s| Some(s.plus_di),
    MinusDi, false => |s| Some(s.minus_di),
    Dx, true => |s| Some(s.dx),
    Adx, true => |s| s.adx
);

/// The directional movement system as four columns (`NaN` for warm-up), TA-Lib's shapes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DmiColumns {
    /// +DI.
    pub plus_di: Vec<f64>,
    /// -DI.
    pub minus_di: Vec<f64>,
    /// DX.
    pub dx: Vec<f64>,
    /// ADX.
    pub adx: Vec<f64>,
}

impl Dmi {
    /// +DI, -DI, DX and ADX over `bars` as columns: `update` on every bar, bit for bit,
    /// by the batch kernel (from any state, which it leaves as streaming would).
    pub fn columns(&mut self, bars: &Bars) -> DmiColumns {
        let [plus_di, minus_di, dx, adx] = self.core.columns::<4, true>(bars, |s| match s {
            Some(DmStep {
                plus_di,
                minus_di,
                dx,
                adx: Some(adx),
            }) => [plus_di, minus_di, dx, adx],
            _ => [f64::NAN; 4],
        });
        DmiColumns {
            plus_di,
            minus_di,
            dx,
            adx,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bars;
    use crate::indicators::batch;
    use crate::testutil::random_walk;

    conformance!(values plus_di_2 => PlusDi::new(2));
    conformance!(values plus_di_14 => PlusDi::new(14));
    conformance!(values minus_di_2 => MinusDi::new(2));
    conformance!(values minus_di_14 => MinusDi::new(14));
    conformance!(values dx_2 => Dx::new(2));
    conformance!(values dx_14 => Dx::new(14));
    conformance!(values adx_2 => Adx::new(2));
    conformance!(values adx_14 => Adx::new(14));
    fn dmi_cols(d: &mut Dmi, b: &Bars) -> Vec<Vec<f64>> {
        let c = d.columns(b);
        vec![c.plus_di, c.minus_di, c.dx, c.adx]
    }
    conformance!(columns dmi_5 => Dmi::new(5), dmi_cols);
    conformance!(columns dmi_14 => Dmi::new(14), dmi_cols);

    fn hl(v: &[(f64, f64)]) -> Bars {
        Bars::from_bars(v.iter().enumerate().map(|(i, &(h, l))| Bar {
            ts_ms: i as i64,
            open: (h + l) / 2.0,
            high: h,
            low: l,
            close: (h + l) / 2.0,
            volume: 1.0,
        }))
        .unwrap()
    }

    #[test]
    fn di_uses_wilder_sums_by_hand() {
        // n = 2. bar1: +DM 1 (h 11→12, l 9→10), TR = max(2, |10-12|, |10-10|) = 2 → seed sums
        // +DM 1, -DM 0, TR 2. bar2: h 12→12.5 (+0.5), l 10→9 (-DM 1) → -DM wins;
        // TR = max(3.5, |11-12.5|, |11-9|) = 3.5. S(+DM) = 1 - 0.5 = 0.5, S(-DM) = 0 + 1 = 1,
        // S(TR) = 2 - 1 + 3.5 = 4.5.
        let b = hl(&[(11.0, 9.0), (12.0, 10.0), (12.5, 9.0)]);
        let p = batch(&mut PlusDi::new(2).unwrap(), &b);
        let m = batch(&mut MinusDi::new(2).unwrap(), &b);
        let dx = batch(&mut Dx::new(2).unwrap(), &b);
        assert_eq!(p[..2], [None, None]);
        let (pd, md) = (100.0 * (0.5 / 4.5), 100.0 * (1.0 / 4.5));
        assert_eq!(p[2], Some(pd));
        assert_eq!(m[2], Some(md));
        assert_eq!(dx[2], Some(100.0 * ((md - pd).abs() / (md + pd))));
    }

    #[test]
    fn dmi_matches_the_four_separate_indicators() {
        let b = random_walk(400, 7);
        let d = batch(&mut Dmi::new(14).unwrap(), &b);
        let p = batch(&mut PlusDi::new(14).unwrap(), &b);
        let m = batch(&mut MinusDi::new(14).unwrap(), &b);
        let x = batch(&mut Dx::new(14).unwrap(), &b);
        let a = batch(&mut Adx::new(14).unwrap(), &b);
        for i in 0..b.len() {
            match d[i] {
                None => assert!(a[i].is_none(), "bar {i}"),
                Some(v) => {
                    assert_eq!(Some(v.plus_di), p[i]);
                    assert_eq!(Some(v.minus_di), m[i]);
                    assert_eq!(Some(v.dx), x[i]);
                    assert_eq!(Some(v.adx), a[i]);
                }
            }
        }
    }

    #[test]
    fn flat_bars_give_zero_di_and_keep_adx() {
        let b = hl(&[(10.0, 10.0); 8]);
        let a = batch(&mut Adx::new(2).unwrap(), &b);
        assert_eq!(a[3], Some(0.0));
        assert_eq!(a[7], Some(0.0));
    }

    #[test]
    fn period_below_two_is_rejected() {
        assert!(Adx::new(1).is_err());
        assert!(PlusDi::new(0).is_err());
        assert!(Dmi::new(1).is_err());
        assert_eq!(Adx::new(14).unwrap().to_string(), "ADX(14)");
        assert_eq!(Adx::new(14).unwrap().lookback(), 27);
        assert_eq!(PlusDi::new(14).unwrap().lookback(), 14);
    }
}
