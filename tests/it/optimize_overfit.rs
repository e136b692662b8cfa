//! Overfitting statistics against independent computations (scipy/numpy, written by
//! `scripts/golden_overfit.py` into `tests/it/golden/overfit_*.json`) and on constructed cases
//! whose PBO is known.

#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

use algolab::optimize::normal::{norm_cdf, norm_ppf};
use algolab::optimize::overfit::deflated_sharpe_from;
use algolab::optimize::{deflated_sharpe, pbo_cscv};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

fn golden(name: &str) -> Value {
    let path = format!("{}/tests/it/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn normal_cdf_and_ppf_match_scipy() {
    let g = golden("overfit_dsr.json");
    for row in g["cdf"].as_array().unwrap() {
        let (x, want) = (f(&row[0]), f(&row[1]));
        let got = norm_cdf(x);
        assert!(
            (got - want).abs() <= 1e-300 + 1e-12 * want,
            "cdf({x}): {got} vs {want}"
        );
    }
    for row in g["ppf"].as_array().unwrap() {
        let (p, want) = (f(&row[0]), f(&row[1]));
        let got = norm_ppf(p);
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "ppf({p}): {got} vs {want}"
        );
    }
}

#[test]
fn deflated_sharpe_matches_scipy() {
    let g = golden("overfit_dsr.json");
    for (i, c) in g["dsr"].as_array().unwrap().iter().enumerate() {
        let (sr, t) = (f(&c["sr_hat"]), c["n_obs"].as_u64().unwrap() as usize);
        let (skew, kurt) = (f(&c["skew"]), f(&c["kurt"]));
        let got = match c.get("sr_trials") {
            Some(tr) => {
                let trials: Vec<f64> = tr.as_array().unwrap().iter().map(f).collect();
                deflated_sharpe(sr, t, skew, kurt, &trials).unwrap()
            }
            None => {
                let n = c["n_trials"].as_u64().unwrap() as usize;
                deflated_sharpe_from(sr, t, skew, kurt, n, f(&c["var_trials"])).unwrap()
            }
        };
        let e = &c["expected"];
        for (name, a, b) in [
            ("dsr", got.dsr, f(&e["dsr"])),
            ("sr0", got.sr0, f(&e["sr0"])),
            ("psr", got.psr, f(&e["psr"])),
        ] {
            assert!((a - b).abs() <= 1e-9, "case {i} {name}: {a} vs {b}");
        }
    }
}

#[test]
fn pbo_matches_numpy_cscv() {
    let g = golden("overfit_pbo.json");
    for c in g["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let m: Vec<Vec<f64>> = c["matrix_e8"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap() as f64 / 1e8)
                    .collect()
            })
            .collect();
        let r = pbo_cscv(&m, c["splits"].as_u64().unwrap() as usize).unwrap();
        assert_eq!(
            r.n_combinations as u64,
            c["n_combinations"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(r.pbo, f(&c["pbo"]), "{name}");
        let sum: f64 = r.logits.iter().sum();
        assert!((sum - f(&c["logit_sum"])).abs() < 1e-9, "{name}: sum {sum}");
        let pairs: Vec<(usize, f64)> = match c.get("logits") {
            Some(l) => l.as_array().unwrap().iter().map(f).enumerate().collect(),
            None => c["logit_samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_u64().unwrap() as usize, f(&p[1])))
                .collect(),
        };
        for (i, want) in pairs {
            assert!(
                (r.logits[i] - want).abs() <= 1e-12,
                "{name} logit {i}: {} vs {want}",
                r.logits[i]
            );
        }
    }
}

/// Standard normal draws (Box–Muller) scaled to returns.
fn noise(rng: &mut ChaCha8Rng, t: usize, n: usize, mean: &[f64]) -> Vec<Vec<f64>> {
    (0..t)
        .map(|_| {
            (0..n)
                .map(|j| {
                    let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
                    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                    mean[j] + 0.01 * z
                })
                .collect()
        })
        .collect()
}

#[test]
fn pbo_of_pure_noise_is_near_one_half() {
    // 16 seeds of 20 i.i.d. noise strategies: the in-sample winner is a coin flip out of
    // sample, so the mean PBO is near 0.5 (each run varies: combinations share blocks).
    let mut pbos = Vec::new();
    for seed in 0..16 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let m = noise(&mut rng, 480, 20, &[0.0; 20]);
        pbos.push(pbo_cscv(&m, 12).unwrap().pbo);
    }
    let mean = pbos.iter().sum::<f64>() / pbos.len() as f64;
    assert!((mean - 0.5).abs() < 0.1, "mean pbo {mean}: {pbos:?}");
}

#[test]
fn pbo_is_zero_when_one_strategy_dominates_every_block() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut mean = vec![0.0; 10];
    mean[3] = 0.05; // Sharpe 5 per period against noise: best in every half.
    let m = noise(&mut rng, 320, 10, &mean);
    let r = pbo_cscv(&m, 16).unwrap();
    assert_eq!(r.pbo, 0.0);
    // Always ranked N = 10 of 10: ω = 10/11, λ = ln 10.
    assert!(r.logits.iter().all(|l| (l - 10f64.ln()).abs() < 1e-12));
}

#[test]
fn pbo_is_the_same_on_one_and_two_threads() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let m = noise(&mut rng, 200, 7, &[0.0; 7]);
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| pbo_cscv(&m, 10).unwrap())
    };
    let (a, b) = (on(1), on(2));
    assert_eq!(a.pbo.to_bits(), b.pbo.to_bits());
    assert!(
        a.logits
            .iter()
            .zip(&b.logits)
            .all(|(x, y)| x.to_bits() == y.to_bits())
    );
}
