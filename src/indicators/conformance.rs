//! The conformance checks every indicator passes (STYLE rule 11, after ta-rs's
//! `test_indicator!`): exactly `lookback()` leading `None`s then only `Some`; batch equals
//! stream bit for bit; reset-then-replay is identical; outputs on a prefix equal the first
//! outputs on the whole series (no look-ahead); finite input gives finite output. For `f64`
//! indicators, the batch forms ([`BatchValues`], [`BatchRaw`]: the batch kernels) equal the
//! stream bit for bit, from fresh and after a streamed prefix (their fallback), and leave
//! the state streaming would have: streaming on after a batch gives the stream's values.
//!
//! `conformance!(ema_12 => Ema::new(12));` makes one `#[test]` named `ema_12`.

use super::{
    BatchRaw, BatchValues, BollingerValue, DmiValue, Indicator, MacdValue, ParamError, StochValue,
    batch, batch_raw, batch_values,
};
use crate::testutil::random_walk;

/// An output's fields as bit patterns, for exact comparison.
pub(crate) trait OutputBits {
    /// Every field's `to_bits()`.
    fn bits(&self) -> Vec<u64>;
    /// True when every field is finite.
    fn all_finite(&self) -> bool;
    /// The number of fields.
    const FIELDS: usize;
}

impl OutputBits for f64 {
    fn bits(&self) -> Vec<u64> {
        vec![self.to_bits()]
    }
    fn all_finite(&self) -> bool {
        self.is_finite()
    }
    const FIELDS: usize = 1;
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
            const FIELDS: usize = [$(stringify!($f)),+].len();
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

/// A stream as columns of bit patterns, one per output field, `NaN` for `None`.
fn stream_cols<O: OutputBits>(v: &[Option<O>]) -> Vec<Vec<u64>> {
    let mut cols = vec![Vec::with_capacity(v.len()); O::FIELDS];
    for o in v {
        let row = o
            .as_ref()
            .map_or_else(|| vec![f64::NAN.to_bits(); O::FIELDS], O::bits);
        for (c, b) in cols.iter_mut().zip(row) {
            c.push(b);
        }
    }
    cols
}

/// Columns of values as bit patterns.
fn col_bits(v: &[Vec<f64>]) -> Vec<Vec<u64>> {
    v.iter()
        .map(|c| c.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// Append each column of `b` to the matching column of `a`.
fn concat(mut a: Vec<Vec<u64>>, b: Vec<Vec<u64>>) -> Vec<Vec<u64>> {
    for (x, y) in a.iter_mut().zip(b) {
        x.extend(y);
    }
    a
}

/// The split points the batch checks use: inside and around the warm-up, and later.
fn splits(lb: usize, n: usize) -> [usize; 7] {
    [0, 1, lb.saturating_sub(1), lb, lb + 1, n / 2, n - 1].map(|k| k.min(n))
}

/// A batch form of an indicator: its output columns over some bars.
pub(crate) type BatchForm<I> = fn(&mut I, &crate::data::Bars) -> Vec<Vec<f64>>;

/// Check a batch form `run` (a kernel from fresh, the loop otherwise) against the stream
/// over `bars`: the whole series; a batch over a prefix, then `update` on the rest (the
/// state it leaves); `update` on a prefix, then a batch over the rest; two batches.
pub(crate) fn check_batch_form<I, F>(make: &F, bars: &crate::data::Bars, run: BatchForm<I>)
where
    I: Indicator,
    I::Output: OutputBits,
    F: Fn() -> Result<I, ParamError>,
{
    let n = bars.len();
    let stream_of = |ind: &mut I, b: &crate::data::Bars| {
        stream_cols(&b.iter().map(|x| ind.update(&x)).collect::<Vec<_>>())
    };
    let mut ind = make().unwrap();
    let lb = ind.lookback();
    let want = stream_of(&mut ind, bars);
    assert_eq!(
        col_bits(&run(&mut make().unwrap(), bars)),
        want,
        "batch != stream"
    );
    for k in splits(lb, n) {
        let (head, tail) = (bars.slice(0..k), bars.slice(k..n));
        let mut a = make().unwrap();
        let first = col_bits(&run(&mut a, &head));
        assert_eq!(
            concat(first, stream_of(&mut a, &tail)),
            want,
            "batch of {k}, then stream"
        );
        let mut b = make().unwrap();
        let first = stream_of(&mut b, &head);
        let got = concat(first, col_bits(&run(&mut b, &tail)));
        assert_eq!(got, want, "stream of {k} bars, then batch");
        let mut c = make().unwrap();
        let first = col_bits(&run(&mut c, &head));
        let got = concat(first, col_bits(&run(&mut c, &tail)));
        assert_eq!(got, want, "batch of {k} bars, then batch");
    }
}

/// [`check`], plus the batch form `run` (multi-output indicators' `columns`) by
/// [`check_batch_form`].
pub(crate) fn check_columns<I, F>(make: F, run: BatchForm<I>)
where
    I: Indicator,
    I::Output: OutputBits,
    F: Fn() -> Result<I, ParamError>,
{
    check(&make);
    for (n, seed) in [(300usize, 1u64), (500, 2), (120, 3)] {
        check_batch_form(&make, &random_walk(n, seed), run);
    }
}

/// [`check`], plus: [`batch_values`] (the indicator's batch kernel, if any) equals the
/// stream bit for bit, `NaN` for `None`, and leaves the streaming state.
pub(crate) fn check_values<I, F>(make: F)
where
    I: BatchValues,
    F: Fn() -> Result<I, ParamError>,
{
    check(&make);
    for (n, seed) in [(300usize, 1u64), (500, 2), (120, 3)] {
        let bars = random_walk(n, seed);
        check_batch_form(&make, &bars, |i, b| vec![batch_values(i, b)]);
    }
}

/// [`check_values`], plus: `update_raw(close)` equals `update(bar)` and [`batch_raw`] over
/// the closes equals the stream, bit for bit, with the checks of [`check_values`].
pub(crate) fn check_raw<I, F>(make: F)
where
    I: BatchRaw + BatchValues,
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
        check_batch_form(&make, &bars, |i, b| vec![batch_raw(i, b.close())]);
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
    (columns $name:ident => $ctor:expr, $run:expr) => {
        #[test]
        fn $name() {
            $crate::indicators::conformance::check_columns(|| $ctor, $run);
        }
    };
    ($name:ident => $ctor:expr) => {
        #[test]
        fn $name() {
            $crate::indicators::conformance::check(|| $ctor);
        }
    };
}
