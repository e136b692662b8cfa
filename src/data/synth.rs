//! Synthetic bars: a seeded random walk, for benchmarks, tests and trying commands out.
//!
//! The close moves by a log-return that is the sum of three uniforms (a bell shape with a
//! standard deviation of `vol`), reflected to stay between 1 and 1 000 000. Prices are whole
//! cents and volumes whole thousandths, so CSV text stays short as real data's does; every
//! bar satisfies the [`Bars`] invariants. The same seed always gives the same bars.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Bar, Bars, Columns, DataError};

/// How to generate synthetic bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthSpec {
    /// Number of bars.
    pub bars: usize,
    /// RNG seed.
    pub seed: u64,
    /// First bar's open time, UTC ms.
    pub start_ms: i64,
    /// Bar spacing, ms.
    pub interval_ms: i64,
    /// First open price.
    pub start_price: f64,
    /// Standard deviation of the per-bar log return (0.01 = 1 %).
    pub vol: f64,
}

impl Default for SynthSpec {
    fn default() -> Self {
        SynthSpec {
            bars: 1000,
            seed: 0,
            start_ms: 1_577_836_800_000, // 2020-01-01
            interval_ms: 60_000,
            start_price: 100.0,
            vol: 0.002,
        }
    }
}

/// Generate bars from a seeded random walk (see the module doc).
///
/// # Errors
/// [`DataError::InvalidBar`] if the spec makes invalid bars (a non-positive interval or
/// start price, timestamps that overflow).
pub fn synth(spec: &SynthSpec) -> Result<Bars, DataError> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut cols = Columns::with_capacity(spec.bars);
    let cents = |p: f64| (p * 100.0).round().max(1.0);
    let mut close_c = cents(spec.start_price);
    // sum of 3 U(-1,1) has variance 1
    let scale = spec.vol;
    for i in 0..spec.bars {
        let open_c = close_c;
        let z: f64 = (0..3).map(|_| rng.random::<f64>() * 2.0 - 1.0).sum();
        let mut p = (open_c / 100.0) * (scale * z).exp();
        if p < 1.0 {
            p = 2.0 - p;
        } else if p > 1e6 {
            p = 2e6 - p;
        }
        close_c = cents(p);
        let wick = |r: f64| (open_c.max(close_c) * spec.vol * r).round();
        let high_c = open_c.max(close_c) + wick(rng.random::<f64>());
        let low_c = (open_c.min(close_c) - wick(rng.random::<f64>())).max(1.0);
        let volume = (rng.random::<f64>() * 1_000_000.0).round() / 1000.0;
        let ts_ms = (i as i64)
            .checked_mul(spec.interval_ms)
            .and_then(|o| o.checked_add(spec.start_ms))
            .ok_or_else(|| DataError::InvalidBar {
                index: i,
                cause: "timestamp overflows".into(),
            })?;
        cols.push(Bar {
            ts_ms,
            open: open_c / 100.0,
            high: high_c / 100.0,
            low: low_c / 100.0,
            close: close_c / 100.0,
            volume,
        });
    }
    Bars::new(cols)
}

/// The benchmarks' shared LCG random walk (`benches/backtest.rs`, `optimize.rs`,
/// `evolve.rs`; implemented operation for operation in `scripts/bench_backtesting.py` and
/// `scripts/bench_vectorbt_grid.py`, so the Python references trade the same series):
/// `x ← x·6364136223846793005 + 1442695040888963407 (mod 2⁶⁴)`, `u = (x >> 11)·2⁻⁵³`,
/// `open = previous close` (100 at first), `close = open·(1 + 0.02·(u − 0.5)) +
/// 0.0001·(100 − open)`, `high = max(open, close)·1.001`, `low = min(open, close)·0.999`,
/// one-minute bars from 2020-01-01, volume 1.
///
/// # Errors
/// [`DataError::InvalidBar`] if the walk ever produced an invalid bar (it does not for
/// any seed: prices stay positive and high/low bracket open and close).
pub fn lcg_walk(n: usize, seed: u64) -> Result<Bars, DataError> {
    let mut x = seed;
    let mut price = 100.0f64;
    Bars::from_bars((0..n).map(|i| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let u = (x >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0);
        let open = price;
        let close = open * (1.0 + 0.02 * (u - 0.5)) + 0.0001 * (100.0 - open);
        price = close;
        Bar {
            ts_ms: 1_577_836_800_000 + i as i64 * 60_000,
            open,
            high: open.max(close) * 1.001,
            low: open.min(close) * 0.999,
            close,
            volume: 1.0,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bars_and_valid() {
        let s = SynthSpec {
            bars: 500,
            seed: 7,
            ..SynthSpec::default()
        };
        let a = synth(&s).unwrap();
        assert_eq!(a.len(), 500);
        assert_eq!(a.content_hash(), synth(&s).unwrap().content_hash());
        let b = synth(&SynthSpec { seed: 8, ..s }).unwrap();
        assert_ne!(a.content_hash(), b.content_hash());
        assert_eq!(a.bar(0).open, 100.0);
        assert_eq!(a.interval_ms(), Some(60_000));
    }
}
