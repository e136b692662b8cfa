//! The conformance checks every indicator passes (STYLE rule 11, after ta-rs's
//! `test_indicator!`): exactly `lookback()` leading `None`s then only `Some`; batch equals
//! stream bit for bit; reset-then-replay is identical; outputs on a prefix equal the first
//! outputs on the whole series (no look-ahead); finite input gives finite output.
//!
//! `conformance!(ema_12 => Ema::new(12));` makes one `#[test]` named `ema_12`.

use super::{
    BollingerValue, DmiValue, Indicator, MacdValue, ParamError, RawInput, StochValue, batch,
    batch_raw, batch_values,
};
use crate::testutil::random_walk;

/// An output's fields as bit patterns, for exact comparison.
pub(crate) trait OutputBits {
    /// Every field's `to_bits()`.
    fn bits(&self) -> Vec<u64>;
    /// True when every field is finite.
    fn all_finite(&self) -> bool;
}

impl OutputBits for f64 {
    fn bits(&self) -> Vec<u64> {
        vec![self.to_bits()]
    }
    fn all_finite(&self) -> bool {
        self.is_finite()
    }
}

macro_rules! impl_bits {
    ($t:ty, $($f:ident),+) => {
        impl OutputBits for $t {
            fn bits(&self) -> Vec<u64> {
                vec![$(self.$f.to_bits()),+]
            }
            fn all_finite(&self) -> bool {
                true $(&& self.$f.is_finite())+
            }
        }
    };
}
impl_bits!(MacdValue, macd, signal, hist);
impl_bits!(BollingerValue, upper, middle, lower);
impl_bits!(StochValue, k, d);
impl_bits!(DmiValue, plus_di, minus_di, dx, adx);

fn bits_of<O: OutputBits>(v: &[Option<O>]) -> Vec<Option<Vec<u64>>> {
    v.iter().map(|o| o.as_ref().map(OutputBits::bits)).collect()
}

/// Run every conformance check on indicators made by `make`.
pub(crate) fn check<I, F>(make: F)
where
    I: Indicator,
    I::Output: OutputBits,
    F: Fn() -> Result<I, ParamError>,
{
    for (n, seed) in [(300usize, 1u64), (500, 2), (120, 3)] {
        let bars = random_walk(n, seed);
        let mut ind = make().unwrap();
        let lb = ind.lookback();
        let stream: Vec<Option<I::Output>> = bars.iter().map(|b| ind.update(&b)).collect();
        for (i, v) in stream.iter().enumerate() {
            assert_eq!(v.is_none(), i < lb, "seed {seed}: bar {i}, lookback {lb}");
            if let Some(v) = v {
                assert!(v.all_finite(), "seed {seed}: bar {i} not finite");
            }
        }
        let want = bits_of(&stream);
        let mut fresh = make().unwrap();
        assert_eq!(bits_of(&batch(&mut fresh, &bars)), want, "batch != stream");
        ind.reset();
        assert_eq!(bits_of(&batch(&mut ind, &bars)), want, "reset then replay");
        for k in [0, 1, lb, lb + 1, n / 2, n - 1] {
            let k = k.min(n);
            let mut p = make().unwrap();
            let prefix = bits_of(&batch(&mut p, &bars.slice(0..k)));
            assert_eq!(prefix[..], want[..k], "prefix of {k} bars");
        }
    }
}

/// The stream of an `f64` indicator with `NaN` for `None`, as bit patterns.
fn nan_bits(v: &[Option<f64>]) -> Vec<u64> {
    v.iter().map(|o| o.unwrap_or(f64::NAN).to_bits()).collect()
}

/// [`check`], plus: [`batch_values`] equals the stream bit for bit, `NaN` for `None`.
pub(crate) fn check_values<I, F>(make: F)
where
    I: Indicator<Output = f64>,
    F: Fn() -> Result<I, ParamError>,
{
    check(&make);
    for (n, seed) in [(300usize, 1u64), (500, 2), (120, 3)] {
        let bars = random_walk(n, seed);
        let mut ind = make().unwrap();
        let stream: Vec<Option<f64>> = bars.iter().map(|b| ind.update(&b)).collect();
        let mut fresh = make().unwrap();
        let got: Vec<u64> = batch_values(&mut fresh, &bars)
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(got, nan_bits(&stream), "batch_values != stream");
    }
}

/// [`check_values`], plus: `update_raw(close)` equals `update(bar)` and [`batch_raw`] over
/// the closes equals the stream, bit for bit.
pub(crate) fn check_raw<I, F>(make: F)
where
    I: RawInput<Output = f64>,
    F: Fn() -> Result<I, ParamError>,
{
    check_values(&make);
    for (n, seed) in [(300usize, 1u64), (500, 2), (120, 3)] {
        let bars = random_walk(n, seed);
        let mut ind = make().unwrap();
        let stream: Vec<Option<f64>> = bars.iter().map(|b| ind.update(&b)).collect();
        let mut raw = make().unwrap();
        let by_raw: Vec<Option<f64>> = bars.close().iter().map(|&x| raw.update_raw(x)).collect();
        assert_eq!(nan_bits(&by_raw), nan_bits(&stream), "update_raw != update");
        let mut fresh = make().unwrap();
        let got: Vec<u64> = batch_raw(&mut fresh, bars.close())
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(got, nan_bits(&stream), "batch_raw != stream");
    }
}

macro_rules! conformance {
    (raw $name:ident => $ctor:expr) => {
        #[test]
        fn $name() {
            $crate::indicators::conformance::check_raw(|| $ctor);
        }
    };
    (values $name:ident => $ctor:expr) => {
        #[test]
        fn $name() {
            $crate::indicators::conformance::check_values(|| $ctor);
        }
    };
    ($name:ident => $ctor:expr) => {
        #[test]
        fn $name() {
            $crate::indicators::conformance::check(|| $ctor);
        }
    };
}
