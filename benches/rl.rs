//! DQN throughput (issue 11), on the bundled BTC/USDT hourly bars (`datasets/BTCUSDT_1h.csv`):
//!
//! - `dqn_learning_5k` / `leverage_learning_5k`: environment steps per second **with
//!   learning**: the learning strategy driven through the engine (`learn_window`, as
//!   `train-rl` runs an episode: a wiped-out account is re-funded) over 5 000 bars, one gradient step (batch 64, Adam, Huber, target sync every 100) per environment
//!   step once 64 transitions are stored: 18 → 128 → 64 → 32 → 3 and 35 → 128 → 64 → 32 → 11.
//!   This is the configuration of the Stable-Baselines3 anchor in `scripts/bench_sb3.py`
//!   (`train_freq = 1`, `gradient_steps = 1`, one torch thread), which measured ~600 steps/s.
//! - `dqn_inference_5k` / `leverage_inference_5k`: a trained-shape model acting greedily
//!   through the engine (features + one forward pass per bar), no learning.
//! - `grad_step_dqn` / `grad_step_leverage`: one gradient step alone (sample 64 from a full
//!   replay buffer, target and online forward, backward, Adam).
//!
//! Run: `cargo bench --bench rl -- --warm-up-time 1 --measurement-time 5`, or
//! `ALGOLAB_BENCH_BEST=3 cargo bench --bench rl` for the best of 3 runs of each workload by
//! the thread's CPU time (everything here is single-threaded)

use std::path::Path;

use algolab::ai::dqn::{AgentKind, DqnAgent, DqnConfig, ModelSpec, Transition};
use algolab::app::train_rl::learn_window;
use algolab::data::Bars;
use algolab::engine::{BacktestConfig, run_backtest};
use algolab::features::{Normaliser, market_rows};
use algolab::strategy::dqn::{DqnStrategy, Learner};
use criterion::{Criterion, Throughput, criterion_group};

// the `algolab` binary's allocator (src/main.rs), so the figures are the shipped program's
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const STEPS: usize = 5_000;

/// Environment steps per learning and inference run: [`STEPS`], or `ALGOLAB_BENCH_STEPS`
/// in the best-of mode (a shorter run for `valgrind --tool=callgrind`).
fn n_steps() -> usize {
    std::env::var("ALGOLAB_BENCH_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(STEPS)
}

fn bars() -> Bars {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/BTCUSDT_1h.csv");
    match algolab::data::load(&p) {
        Ok(b) => b.slice(0..n_steps() + 200),
        Err(e) => panic!("{}: {e}", p.display()),
    }
}

fn spec(kind: AgentKind, bars: &Bars, config: DqnConfig) -> ModelSpec {
    let interval = bars.interval_ms().unwrap_or(3_600_000);
    let rows = match market_rows(bars, interval) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let features = kind.features();
    let n_actions = kind.actions().len();
    ModelSpec {
        kind,
        features,
        normaliser: Normaliser::fit(features, &rows),
        interval_ms: interval,
        leverage: if kind == AgentKind::Dqn { 1.0 } else { 10.0 },
        config,
        sizes: vec![features.width(), 128, 64, 32, n_actions],
    }
}

fn config() -> DqnConfig {
    DqnConfig {
        learning_starts: 64,
        eps_decay_steps: n_steps() as u64 / 2,
        ..DqnConfig::default()
    }
}

fn engine(kind: AgentKind, bars: &Bars) -> BacktestConfig {
    BacktestConfig {
        fractional: true,
        commission: 0.0004,
        leverage: if kind == AgentKind::Dqn { 1.0 } else { 10.0 },
        from_ts_ms: Some(bars.ts_ms()[200]),
        ..BacktestConfig::default()
    }
}

fn bench_rl(c: &mut Criterion) {
    let bars = bars();
    let mut group = c.benchmark_group("rl");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n_steps() as u64));
    for (kind, label) in [
        (AgentKind::Dqn, "dqn"),
        (AgentKind::LeverageDqn, "leverage"),
    ] {
        let spec = spec(kind, &bars, config());
        let cfg = engine(kind, &bars);
        group.bench_function(format!("{label}_learning_5k"), |b| {
            b.iter(|| {
                let agent = match DqnAgent::new(
                    spec.config,
                    spec.sizes[0],
                    *spec.sizes.last().unwrap_or(&3),
                    7,
                ) {
                    Ok(a) => a,
                    Err(e) => panic!("{e}"),
                };
                let learner = match Learner::new(spec.clone(), agent, 200, bars.len()) {
                    Ok(l) => l,
                    Err(e) => panic!("{e}"),
                };
                match learn_window(&bars, learner, &cfg, bars.len()) {
                    Ok((a, st)) => (a.grad_steps(), st.steps),
                    Err(e) => panic!("{e}"),
                }
            });
        });
        let net = match DqnAgent::new(
            spec.config,
            spec.sizes[0],
            *spec.sizes.last().unwrap_or(&3),
            7,
        ) {
            Ok(a) => a.online().clone(),
            Err(e) => panic!("{e}"),
        };
        group.bench_function(format!("{label}_inference_5k"), |b| {
            b.iter(|| {
                let mut s = match DqnStrategy::new(spec.clone(), net.clone()) {
                    Ok(s) => s,
                    Err(e) => panic!("{e}"),
                };
                match run_backtest(&bars, &mut s, &cfg) {
                    Ok(r) => r.equity.len(),
                    Err(e) => panic!("{e}"),
                }
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("rl_grad_step");
    group.throughput(Throughput::Elements(1));
    for (kind, label) in [
        (AgentKind::Dqn, "dqn"),
        (AgentKind::LeverageDqn, "leverage"),
    ] {
        let n_in = kind.features().width();
        let n_out = kind.actions().len();
        let mut agent = match DqnAgent::new(config(), n_in, n_out, 1) {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        for i in 0..10_000usize {
            let s: Vec<f32> = (0..n_in)
                .map(|k| ((i * 31 + k * 7) % 97) as f32 / 48.0 - 1.0)
                .collect();
            agent.observe(&Transition {
                state: &s,
                action: i % n_out,
                reward: ((i % 13) as f32 - 6.0) / 6.0,
                next_state: &s,
                done: i % 500 == 0,
            });
        }
        group.bench_function(format!("grad_step_{label}"), |b| {
            b.iter(|| match agent.train_step() {
                Ok(l) => l,
                Err(e) => panic!("{e}"),
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_rl);

/// The shortest of `reps` runs of `f` by the thread's CPU time, in seconds.
fn best_cpu(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps.max(1))
        .map(|_| {
            let t0 = cpu_time::ThreadTime::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// `ALGOLAB_BENCH_BEST=N`: env steps per second (best of `N`) for each workload;
/// `ALGOLAB_BENCH_ONLY=dqn` (or `leverage`) runs one agent's workloads only (e.g. under
/// `valgrind --tool=callgrind`).
fn best_of(reps: usize) {
    let bars = bars();
    let only = std::env::var("ALGOLAB_BENCH_ONLY").ok();
    for (kind, label) in [
        (AgentKind::Dqn, "dqn"),
        (AgentKind::LeverageDqn, "leverage"),
    ] {
        if only.as_deref().is_some_and(|o| o != label) {
            continue;
        }
        let spec = spec(kind, &bars, config());
        let cfg = engine(kind, &bars);
        let n_out = *spec.sizes.last().unwrap_or(&3);
        let mut learned = (0, 0, 0);
        let learn = best_cpu(reps, || {
            let agent = DqnAgent::new(spec.config, spec.sizes[0], n_out, 7)
                .unwrap_or_else(|e| panic!("{e}"));
            let learner = Learner::new(spec.clone(), agent, 200, bars.len())
                .unwrap_or_else(|e| panic!("{e}"));
            let (a, st) =
                learn_window(&bars, learner, &cfg, bars.len()).unwrap_or_else(|e| panic!("{e}"));
            learned = (st.steps, a.grad_steps(), st.refunds);
        });
        let (steps, grads, refunds) = learned;
        let net = DqnAgent::new(spec.config, spec.sizes[0], n_out, 7)
            .unwrap_or_else(|e| panic!("{e}"))
            .online()
            .clone();
        let infer = best_cpu(reps, || {
            let mut s =
                DqnStrategy::new(spec.clone(), net.clone()).unwrap_or_else(|e| panic!("{e}"));
            std::hint::black_box(run_backtest(&bars, &mut s, &cfg).is_ok());
        });
        println!(
            "{label}_learning_5k   {:9.0} env steps/s (one gradient step per env step, batch 64; {steps} env steps, {grads} gradient steps, {refunds} re-fundings)",
            steps as f64 / learn
        );
        println!(
            "{label}_inference_5k  {:9.0} env steps/s",
            n_steps() as f64 / infer
        );
        let (n_in, n_out) = (kind.features().width(), kind.actions().len());
        let mut agent = DqnAgent::new(config(), n_in, n_out, 1).unwrap_or_else(|e| panic!("{e}"));
        fill(&mut agent, n_in, n_out);
        let n_grad = (n_steps() / 5).max(1);
        let grad = best_cpu(reps, || {
            for _ in 0..n_grad {
                std::hint::black_box(agent.train_step().is_ok());
            }
        });
        println!(
            "grad_step_{label}     {:9.1} µs per gradient step",
            grad / n_grad as f64 * 1e6
        );
    }
}

/// 10 000 made-up transitions into the replay buffer.
fn fill(agent: &mut DqnAgent, n_in: usize, n_out: usize) {
    for i in 0..10_000usize {
        let s: Vec<f32> = (0..n_in)
            .map(|k| ((i * 31 + k * 7) % 97) as f32 / 48.0 - 1.0)
            .collect();
        agent.observe(&Transition {
            state: &s,
            action: i % n_out,
            reward: ((i % 13) as f32 - 6.0) / 6.0,
            next_state: &s,
            done: i % 500 == 0,
        });
    }
}

fn main() {
    match std::env::var("ALGOLAB_BENCH_BEST")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(reps) => best_of(reps),
        None => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
