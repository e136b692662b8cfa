//! TPE against random search on known functions: over 20 seeds, 60 trials each, TPE's
//! median best value beats random search's by a clear margin; and a seed fixes the whole
//! trial sequence.

#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

use algolab::optimize::{Candidate, RandomSearch, Sampler, Tpe, TpeConfig, parse_grid};

fn run(s: &mut dyn Sampler, f: &dyn Fn(&Candidate) -> f64, trials: usize) -> f64 {
    for _ in 0..trials {
        let c = s.ask();
        let v = f(&c);
        s.tell(c, v);
    }
    s.best().map_or(f64::NEG_INFINITY, |b| b.1)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    (v[n / 2 - 1] + v[n / 2]) / 2.0
}

/// Median best value of TPE and of random search over seeds 0..20.
fn medians(specs: &[&str], f: &dyn Fn(&Candidate) -> f64) -> (f64, f64) {
    let space: Vec<_> = specs.iter().map(|s| parse_grid(s).unwrap()).collect();
    let (mut tpe, mut rnd) = (Vec::new(), Vec::new());
    for seed in 0..20 {
        let mut t = Tpe::new(space.clone(), seed, TpeConfig::default()).unwrap();
        tpe.push(run(&mut t, f, 60));
        let mut r = RandomSearch::new(space.clone(), seed).unwrap();
        rnd.push(run(&mut r, f, 60));
    }
    (median(tpe), median(rnd))
}

#[test]
fn tpe_beats_random_on_a_2d_quadratic() {
    let f = |c: &Candidate| {
        let (x, y) = (c["x"].as_f64(), c["y"].as_f64());
        -(x - 3.0).powi(2) - (y + 1.0).powi(2)
    };
    let (tpe, rnd) = medians(&["x=-10.0..10.0", "y=-10.0..10.0"], &f);
    // Measured: TPE −0.102, random −1.408.
    assert!(tpe > -0.3, "tpe median {tpe}");
    assert!(tpe - rnd > 0.8, "tpe median {tpe}, random median {rnd}");
}

#[test]
fn tpe_beats_random_on_a_1d_integer_function() {
    let f = |c: &Candidate| -((c["n"].as_i64() - 737) as f64).abs();
    let (tpe, rnd) = medians(&["n=0..1000"], &f);
    // Measured: TPE −1, random −6.5.
    assert!(tpe >= -2.0, "tpe median {tpe}");
    assert!(tpe - rnd >= 3.0, "tpe median {tpe}, random median {rnd}");
}

#[test]
fn same_seed_gives_the_same_trial_sequence() {
    let space: Vec<_> = ["x=-5.0..5.0", "k=1..20", "b=true,false", "l=0.001..1:log"]
        .iter()
        .map(|s| parse_grid(s).unwrap())
        .collect();
    let f = |c: &Candidate| -c["x"].as_f64().powi(2) - c["k"].as_f64() + c["l"].as_f64();
    let seq = |seed: u64| {
        let mut t = Tpe::new(space.clone(), seed, TpeConfig::default()).unwrap();
        run(&mut t, &f, 40);
        t.history().to_vec()
    };
    let a = seq(11);
    let b = seq(11);
    assert_eq!(a.len(), 40);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0);
        assert_eq!(x.1.to_bits(), y.1.to_bits());
    }
    assert_ne!(seq(12)[0].0, a[0].0, "another seed, another sequence");
}
