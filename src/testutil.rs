//! Test fixtures shared by unit tests: seeded random-walk bars and bars from closes.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{Bar, Bars};

/// `n` valid hourly bars of a seeded multiplicative random walk starting at 100: each close
/// moves by up to ±2 %, high/low extend up to 1 % beyond open/close, volume in [0, 1000)
/// with some zero-volume bars and some flat bars.
pub(crate) fn random_walk(n: usize, seed: u64) -> Bars {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut close = 100.0_f64;
    let bars = (0..n).map(|i| {
        let open = close;
        let r: f64 = rng.random::<f64>() * 0.04 - 0.02;
        // every 17th bar is flat, to exercise the equal-close and zero-range branches
        close = if i % 17 == 5 { open } else { open * (1.0 + r) };
        let hi_ext: f64 = rng.random::<f64>() * 0.01;
        let lo_ext: f64 = rng.random::<f64>() * 0.01;
        let (high, low) = if i % 17 == 5 {
            (open, open)
        } else {
            (
                open.max(close) * (1.0 + hi_ext),
                open.min(close) * (1.0 - lo_ext),
            )
        };
        let volume = if i % 11 == 3 {
            0.0
        } else {
            (rng.random::<f64>() * 1000.0).floor()
        };
        Bar {
            ts_ms: i as i64 * 3_600_000,
            open,
            high,
            low,
            close,
            volume,
        }
    });
    Bars::from_bars(bars.collect::<Vec<_>>()).unwrap_or_else(|e| panic!("random walk: {e}"))
}

/// Bars with the given closes: open = close, high = close + 1, low = close - 1, volume 1.
pub(crate) fn bars_from_closes(closes: &[f64]) -> Bars {
    let bars: Vec<Bar> = closes
        .iter()
        .enumerate()
        .map(|(i, &c)| Bar {
            ts_ms: i as i64 * 60_000,
            open: c,
            high: c + 1.0,
            low: c - 1.0,
            close: c,
            volume: 1.0,
        })
        .collect();
    Bars::from_bars(bars).unwrap_or_else(|e| panic!("bars_from_closes: {e}"))
}
