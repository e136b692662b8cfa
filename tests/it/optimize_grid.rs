//! The grid path end to end without the engine: `--grid` text → constrained grid →
//! parallel evaluation → best trial, identical on one and two rayon threads.

#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

use algolab::optimize::{
    Candidate, Constraint, Grid, MetricMap, Trial, best, parse_grid, run_grid, task_seed,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A stand-in backtest: a noisy function of the parameters whose noise is seeded by the
/// parameters themselves, with uneven work so threads finish out of order.
fn fake_backtest(c: &Candidate) -> Option<MetricMap> {
    let (fast, slow, k) = (c["fast"].as_i64(), c["slow"].as_i64(), c["k"].as_f64());
    if fast == 7 {
        return None; // a failed evaluation
    }
    let mut rng = ChaCha8Rng::seed_from_u64(task_seed(42, (fast * 1000 + slow) as u64));
    let mut acc = 0.0;
    for _ in 0..(slow * 4) {
        acc += rng.random::<f64>() - 0.5;
    }
    let sharpe = -((fast - 12) as f64).powi(2) / 50.0 - ((slow - 40) as f64).powi(2) / 400.0
        + (k - 1.0) * 0.1
        + acc * 3e-3;
    Some(
        [
            ("sharpe".to_string(), sharpe),
            ("trades".to_string(), (slow - fast) as f64),
        ]
        .into(),
    )
}

fn grid() -> Vec<Candidate> {
    let dims: Vec<_> = ["fast=5..29", "slow=10..68:2", "k=0.5..2.0:0.25"]
        .iter()
        .map(|s| parse_grid(s).unwrap())
        .collect();
    let lt = Constraint::parse("fast<slow").unwrap();
    Grid::new(&dims).unwrap().feasible(&[lt])
}

fn on_threads(n: usize, cands: &[Candidate]) -> Vec<Trial> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap();
    pool.install(|| run_grid(cands, "sharpe", fake_backtest))
}

#[test]
fn grid_results_are_identical_on_one_and_two_threads() {
    let cands = grid();
    // 25 × 30 × 7 = 5250 points, minus fast >= slow: fast 10..=29 against slow ≤ fast.
    let dropped: usize = (5..=29)
        .map(|f: i64| (10..=68).step_by(2).filter(|s| *s <= f).count())
        .sum();
    assert_eq!(cands.len(), (750 - dropped) * 7);
    let (a, b) = (on_threads(1, &cands), on_threads(2, &cands));
    assert_eq!(a.len(), cands.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.index, y.index);
        assert_eq!(x.params, y.params);
        assert_eq!(x.value.to_bits(), y.value.to_bits());
        assert_eq!(x.metrics, y.metrics);
    }
    assert!(
        a.iter()
            .enumerate()
            .all(|(i, t)| t.index == i && t.params == cands[i])
    );
    let (ba, bb) = (
        best(&a, "sharpe", 10).unwrap(),
        best(&b, "sharpe", 10).unwrap(),
    );
    assert_eq!(ba.index, bb.index);
    assert_eq!(ba.params["fast"].as_i64(), 12);
    assert!(
        a.iter()
            .filter(|t| t.params["fast"].as_i64() == 7)
            .all(|t| t.value == f64::NEG_INFINITY)
    );
}
