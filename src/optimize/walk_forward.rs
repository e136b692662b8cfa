//! Walk-forward folds and the stitched out-of-sample equity curve.
//!
//! `k` test windows tile the tail of the bars: contiguous, non-overlapping, ending at the last
//! bar. `train_frac` is each window's in-sample share: a fold spans `train + test` bars with
//! `train / (train + test) = train_frac`, so the first training window has
//! `train = ⌊n·f / (k·(1 − f) + f)⌋` bars and the remaining `n − train` bars are split into
//! `k` test windows whose sizes differ by at most one (the larger first). With `k = 1` this is
//! a plain split at `train_frac`. Rolling folds train on the `train` bars right before their
//! test window; anchored folds train on everything before it.

use std::ops::Range;

use crate::indicators::ParamError;

/// How training windows move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WalkForwardMode {
    /// Fixed-length training window sliding with the test window.
    Rolling,
    /// Training always starts at bar 0 and grows.
    Anchored,
}

/// One fold: bar index ranges (half-open) for training and testing; `train.end == test.start`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fold {
    /// In-sample bars.
    pub train: Range<usize>,
    /// Out-of-sample bars.
    pub test: Range<usize>,
}

/// The `k` walk-forward folds of `n_bars` bars.
///
/// # Errors
/// [`ParamError`] for `k = 0`, `train_frac` outside `(0, 1)`, or too few bars for a training
/// window of at least 1 bar and `k` test windows of at least 1 bar.
pub fn folds(
    n_bars: usize,
    k: usize,
    train_frac: f64,
    mode: WalkForwardMode,
) -> Result<Vec<Fold>, ParamError> {
    if k == 0 {
        return Err(ParamError::new("walk-forward", k, "at least 1 fold"));
    }
    if !(train_frac > 0.0 && train_frac < 1.0) {
        return Err(ParamError::new(
            "train-frac",
            train_frac,
            "a number in (0, 1)",
        ));
    }
    let f = train_frac;
    let exact = n_bars as f64 * f / (k as f64 * (1.0 - f) + f);
    let train_len = (exact + 1e-9 * exact.max(1.0)).floor() as usize;
    let tail = n_bars.saturating_sub(train_len);
    if train_len == 0 || tail < k {
        return Err(ParamError::new(
            "bars",
            n_bars,
            &format!("enough for {k} folds with train-frac {train_frac}"),
        ));
    }
    let (base, extra) = (tail / k, tail % k);
    let mut out = Vec::with_capacity(k);
    let mut start = train_len;
    for i in 0..k {
        let end = start + base + usize::from(i < extra);
        let train_start = match mode {
            WalkForwardMode::Rolling => start - train_len,
            WalkForwardMode::Anchored => 0,
        };
        out.push(Fold {
            train: train_start..start,
            test: start..end,
        });
        start = end;
    }
    Ok(out)
}

/// Chain out-of-sample equity curves, each from a run started with cash `cash0`, into one
/// curve that starts at `cash0`: segment `i` is scaled by `E_{i−1} / cash0`, where `E_{i−1}` is
/// the last value of the stitched curve so far (`cash0` before the first). Empty segments are
/// skipped; the output has the segments' total length.
///
/// # Errors
/// [`ParamError`] when `cash0` is not a positive finite number.
pub fn stitch_equity(segments: &[Vec<f64>], cash0: f64) -> Result<Vec<f64>, ParamError> {
    if !(cash0 > 0.0 && cash0.is_finite()) {
        return Err(ParamError::new("cash", cash0, "a positive number"));
    }
    let mut out = Vec::with_capacity(segments.iter().map(Vec::len).sum());
    let mut last = cash0;
    for seg in segments {
        out.extend(seg.iter().map(|e| e * last / cash0));
        last = out.last().copied().unwrap_or(last);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_folds_of_1000_bars() {
        // train = ⌊1000·0.7 / (5·0.3 + 0.7)⌋ = ⌊318.18⌋ = 318; tail 682 = 137+137+136+136+136.
        let f = folds(1000, 5, 0.7, WalkForwardMode::Rolling).unwrap();
        let test: Vec<_> = f.iter().map(|x| x.test.clone()).collect();
        assert_eq!(
            test,
            vec![318..455, 455..592, 592..728, 728..864, 864..1000]
        );
        let train: Vec<_> = f.iter().map(|x| x.train.clone()).collect();
        assert_eq!(train, vec![0..318, 137..455, 274..592, 410..728, 546..864]);
    }

    #[test]
    fn anchored_folds_start_at_zero() {
        let f = folds(1000, 5, 0.7, WalkForwardMode::Anchored).unwrap();
        let train: Vec<_> = f.iter().map(|x| x.train.clone()).collect();
        assert_eq!(train, vec![0..318, 0..455, 0..592, 0..728, 0..864]);
    }

    #[test]
    fn one_fold_is_a_plain_split() {
        // 100·0.7 / (0.3 + 0.7) = 70 (rounding tolerated).
        let f = folds(100, 1, 0.7, WalkForwardMode::Rolling).unwrap();
        assert_eq!(
            f,
            vec![Fold {
                train: 0..70,
                test: 70..100
            }]
        );
        let f = folds(10, 2, 0.5, WalkForwardMode::Rolling).unwrap();
        // train = ⌊10·0.5/1.5⌋ = 3; tail 7 = 4 + 3.
        assert_eq!(
            f,
            vec![
                Fold {
                    train: 0..3,
                    test: 3..7
                },
                Fold {
                    train: 4..7,
                    test: 7..10
                }
            ]
        );
    }

    #[test]
    fn test_windows_tile_the_tail() {
        for (n, k, frac) in [(997, 7, 0.6), (50, 3, 0.2), (12, 4, 0.9)] {
            let f = folds(n, k, frac, WalkForwardMode::Rolling).unwrap();
            assert_eq!(f.len(), k);
            assert_eq!(f[k - 1].test.end, n);
            for w in f.windows(2) {
                assert_eq!(w[0].test.end, w[1].test.start);
            }
            for x in &f {
                assert_eq!(x.train.end, x.test.start);
                assert!(!x.test.is_empty() && !x.train.is_empty());
            }
        }
    }

    #[test]
    fn bad_fold_requests_are_errors() {
        assert!(folds(100, 0, 0.7, WalkForwardMode::Rolling).is_err());
        assert!(folds(100, 2, 1.0, WalkForwardMode::Rolling).is_err());
        assert!(folds(100, 2, 0.0, WalkForwardMode::Rolling).is_err());
        assert!(folds(100, 2, f64::NAN, WalkForwardMode::Rolling).is_err());
        assert!(folds(3, 5, 0.5, WalkForwardMode::Rolling).is_err());
        assert!(folds(1, 1, 0.1, WalkForwardMode::Rolling).is_err());
    }

    #[test]
    fn stitching_chains_segments_multiplicatively() {
        // Segment 1 ends at 110 (+10 %); segment 2 from 100 to 90 becomes 110 → 99.
        let s = stitch_equity(
            &[vec![100.0, 105.0, 110.0], vec![], vec![100.0, 95.0, 90.0]],
            100.0,
        )
        .unwrap();
        assert_eq!(s, vec![100.0, 105.0, 110.0, 110.0, 104.5, 99.0]);
        assert!(stitch_equity(&[vec![1.0]], 0.0).is_err());
        assert_eq!(stitch_equity(&[], 10.0).unwrap(), Vec::<f64>::new());
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop_test_windows_tile_the_tail(n in 2usize..5000, k in 1usize..20, frac in 0.05f64..0.95) {
            if let Ok(f) = folds(n, k, frac, WalkForwardMode::Rolling) {
                prop_assert_eq!(f.len(), k);
                prop_assert_eq!(f[k - 1].test.end, n);
                let a = folds(n, k, frac, WalkForwardMode::Anchored).unwrap();
                for (i, x) in f.iter().enumerate() {
                    prop_assert!(!x.test.is_empty());
                    prop_assert_eq!(x.train.len(), f[0].train.len());
                    prop_assert_eq!(x.train.end, x.test.start);
                    prop_assert_eq!(&a[i].test, &x.test);
                    prop_assert_eq!(a[i].train.start, 0);
                    if i > 0 {
                        prop_assert_eq!(f[i - 1].test.end, x.test.start);
                    }
                }
                let sizes: Vec<usize> = f.iter().map(|x| x.test.len()).collect();
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                prop_assert!(hi - lo <= 1);
            }
        }

        #[test]
        fn prop_stitched_curve_ends_at_the_product_of_growths(
            segs in proptest::collection::vec(proptest::collection::vec(50.0f64..200.0, 1..10), 0..6)
        ) {
            let s = stitch_equity(&segs, 100.0).unwrap();
            let growth: f64 = segs.iter().map(|g| g.last().unwrap() / 100.0).product();
            let end = s.last().copied().unwrap_or(100.0);
            prop_assert!((end - 100.0 * growth).abs() <= 1e-9 * end.abs());
        }
    }
}
