//! Split-and-restore property (issue 9 item 1): running bars `[0, k)`, saving the engine
//! and the strategy to JSON text, restoring both into freshly built objects and running
//! `[k, n)` gives bit for bit the events, trades and equity of an uninterrupted run, for
//! `sma-cross`, `technical`, `evolved`, `dqn`, `leverage-dqn` and `ai` (with its evolved,
//! DQN and — when leveraged — leverage-DQN components, learning after every trade or not),
//! with and without leverage and funding.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use algolab::ai::dqn::DqnAgent;
use algolab::ai::dqn::{AgentKind, DqnConfig, ModelSpec};
use algolab::ai::evolver::ops::random_genome;
use algolab::ai::evolver::{FeatureRanges, FeatureTable};
use algolab::ai::nn::Mlp;
use algolab::broker::SimBroker;
use algolab::data::Bars;
use algolab::engine::{
    BacktestConfig, BarInput, Engine, EngineEvent, EventKind, SavedRun, run_backtest,
};
use algolab::features::Normaliser;
use algolab::risk::RiskConfig;
use algolab::strategy::ai::AiStrategy;
use algolab::strategy::dqn::DqnStrategy;
use algolab::strategy::evolved::Evolved;
use algolab::strategy::{self, ParamValue, Params, Strategy};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::engine_props::random_walk;

type Make = Box<dyn Fn() -> Box<dyn Strategy + Send>>;

/// An untrained (seeded) DQN model of `kind` on `bars`' interval.
fn dqn_model(kind: AgentKind, bars: &Bars, seed: u64) -> (ModelSpec, Mlp) {
    let features = kind.features();
    let cols = features.market().len();
    let ts = bars.ts_ms();
    let spec = ModelSpec {
        kind,
        features,
        normaliser: Normaliser {
            mean: vec![0.0; cols],
            std: vec![1.0; cols],
        },
        interval_ms: ts[1] - ts[0],
        leverage: if kind == AgentKind::Dqn { 1.0 } else { 3.0 },
        config: DqnConfig::default(),
        sizes: vec![features.width(), 16, 8, kind.actions().len()],
    };
    let net = Mlp::new(&spec.sizes, seed).unwrap();
    (spec, net)
}

/// The `ai` strategy with every component a model can fill: a random evolved genome, an
/// untrained DQN (learning after every trade when `learn`; a low threshold and a near
/// take-profit make many short trades), and at engine
/// leverage > 1 per-trade leverage with an untrained leverage DQN.
fn ai_maker(bars: &Bars, seed: u64, leverage: f64, learn: bool) -> impl Fn() -> AiStrategy + use<> {
    let table = FeatureTable::new(bars).unwrap();
    let ranges = FeatureRanges::measure(table.rows());
    let genome = random_genome(&mut ChaCha8Rng::seed_from_u64(seed), &ranges);
    let (spec, net) = dqn_model(AgentKind::Dqn, bars, seed);
    let (lspec, lnet) = dqn_model(AgentKind::LeverageDqn, bars, seed ^ 1);
    move || {
        let dqn = DqnStrategy::new(spec.clone(), net.clone()).unwrap();
        let lev = DqnStrategy::new(lspec.clone(), lnet.clone()).unwrap();
        // a low threshold and a near take-profit: many short trades to learn from
        let mut p = Params::default();
        p.0.insert("threshold".into(), ParamValue::Float(0.05));
        p.0.insert("take_profit_r".into(), ParamValue::Float(0.5));
        let mut s = AiStrategy::new(&p)
            .unwrap()
            .with_evolved(Evolved::from_genome(genome.clone()).unwrap())
            .with_dqn(dqn)
            .with_leverage(leverage, Some((Box::new(lev), 3.0)));
        if learn {
            let cfg = DqnConfig {
                batch: 1,
                learning_starts: 1,
                target_sync: 3,
                ..spec.config
            };
            let agent = DqnAgent::from_parts(cfg, net.clone(), None, seed).unwrap();
            s = s.with_dqn_learning(agent, 0);
        }
        s
    }
}

fn maker(kind: u8, bars: &Bars, seed: u64, leveraged: bool) -> Make {
    match kind {
        5 | 6 => {
            let lev = config(kind, leveraged).leverage;
            let make = ai_maker(bars, seed, lev, kind == 6);
            Box::new(move || Box::new(make()))
        }
        0 => {
            let mut p = Params::default();
            p.0.insert("fast".into(), ParamValue::Int(3 + (seed % 5) as i64));
            p.0.insert("slow".into(), ParamValue::Int(12 + (seed % 7) as i64));
            Box::new(move || strategy::build("sma-cross", &p).unwrap())
        }
        1 => {
            let p = Params::resolve(strategy::param_specs("technical").unwrap(), &[]).unwrap();
            Box::new(move || strategy::build("technical", &p).unwrap())
        }
        3 | 4 => {
            // an untrained network (seeded weights) acts on the real feature state: what is
            // restored is the feature builder, not the network
            let kind = if kind == 3 {
                AgentKind::Dqn
            } else {
                AgentKind::LeverageDqn
            };
            let (spec, net) = dqn_model(kind, bars, seed);
            Box::new(move || Box::new(DqnStrategy::new(spec.clone(), net.clone()).unwrap()))
        }
        _ => {
            let table = FeatureTable::new(bars).unwrap();
            let ranges = FeatureRanges::measure(table.rows());
            let genome = random_genome(&mut ChaCha8Rng::seed_from_u64(seed), &ranges);
            Box::new(move || Box::new(Evolved::from_genome(genome.clone()).unwrap()))
        }
    }
}

fn config(kind: u8, leveraged: bool) -> BacktestConfig {
    BacktestConfig {
        commission: 0.001,
        slippage: 0.0005,
        fractional: true,
        leverage: if leveraged { 5.0 } else { 1.0 },
        risk: if matches!(kind, 1 | 5 | 6) {
            RiskConfig::standard()
        } else {
            RiskConfig::passthrough()
        },
        ..BacktestConfig::default()
    }
}

/// Events and per-bar equity bits of a run, saved and restored after `split` bars when
/// given (through JSON text, into a newly built strategy and engine).
fn drive(
    bars: &Bars,
    make: &Make,
    cfg: &BacktestConfig,
    split: Option<usize>,
) -> (Vec<EngineEvent>, Vec<u64>) {
    let mut strat = make();
    strat.reset();
    let mut engine = Engine::backtest(cfg).unwrap();
    let mut events = Vec::new();
    let mut equity = Vec::new();
    for t in 0..bars.len() {
        if split == Some(t) {
            let text = serde_json::to_string(&engine.save(&*strat).unwrap()).unwrap();
            drop(engine);
            let saved: SavedRun = serde_json::from_str(&text).unwrap();
            strat = make();
            engine = Engine::<SimBroker>::restore(&saved, &mut *strat).unwrap();
        }
        let input = BarInput::new(bars, t);
        events.extend_from_slice(engine.step(&mut *strat, &input).unwrap());
        equity.push(engine.mark().equity.to_bits());
    }
    (events, equity)
}

fn without_funding(bars: &Bars) -> Bars {
    Bars::from_bars(bars.iter().collect::<Vec<_>>()).unwrap()
}

fn check(kind: u8, seed: u64, n: usize, k: usize, leveraged: bool, funding: bool) {
    let walk = random_walk(n, seed, n, seed);
    let bars = if funding {
        walk
    } else {
        without_funding(&walk)
    };
    let make = maker(kind, &bars, seed, leveraged);
    let cfg = config(kind, leveraged);
    let (ev_a, eq_a) = drive(&bars, &make, &cfg, None);
    let (ev_b, eq_b) = drive(&bars, &make, &cfg, Some(k));
    assert_eq!(eq_a, eq_b, "equity differs (kind {kind}, split {k})");
    assert_eq!(ev_a, ev_b, "events differ (kind {kind}, split {k})");
    // the stepped run is the backtest
    let res = run_backtest(&bars, &mut *make(), &cfg).unwrap();
    let bits: Vec<u64> = res.equity.iter().map(|x| x.to_bits()).collect();
    assert_eq!(bits, eq_a);
    let closed = ev_a
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Fill(f) if f.exit_reason().is_some()))
        .count();
    let open_at_end = res
        .trades
        .last()
        .is_some_and(|t| t.exit_reason == algolab::core::order::ExitReason::Open);
    assert_eq!(closed + usize::from(open_at_end), res.trades.len());
}

#[test]
fn split_runs_trade_and_decide_at_all() {
    // guard against a vacuous property: the technical run on this walk decides and fills
    let bars = random_walk(400, 7, 400, 7);
    let make = maker(1, &bars, 7, false);
    let (ev, _) = drive(&bars, &make, &config(1, false), Some(200));
    assert!(
        ev.iter()
            .any(|e| matches!(e.kind, EventKind::Decision { .. }))
    );
    assert!(ev.iter().any(|e| matches!(e.kind, EventKind::Fill(_))));
    assert!(ev.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    // and both DQN kinds act and fill on it (their feature state is what gets restored)
    for kind in [3, 4] {
        let make = maker(kind, &bars, 7, kind == 4);
        let (ev, _) = drive(&bars, &make, &config(kind, kind == 4), Some(200));
        assert!(
            ev.iter().any(|e| matches!(e.kind, EventKind::Fill(_))),
            "dqn kind {kind} never filled"
        );
    }
    // and `ai` trades on it with every component voting, learning after its trades
    for leveraged in [false, true] {
        let make = maker(6, &bars, 7, leveraged);
        let (ev, _) = drive(&bars, &make, &config(6, leveraged), Some(200));
        assert!(ev.iter().any(|e| matches!(e.kind, EventKind::Fill(_))));
        let mut s = ai_maker(&bars, 7, config(6, leveraged).leverage, true)();
        let res = run_backtest(&bars, &mut s, &config(6, leveraged)).unwrap();
        let warnings = s.take_warnings();
        let online = s.dqn_online().expect("still learning");
        assert!(
            online.grad_steps > 0 && online.version > 0,
            "the DQN never trained: {} trades, {} learned, {warnings:?}",
            res.trades.len(),
            online.trades,
        );
        let recs = s.take_decision_records();
        for c in ["technical", "dqn", "evolved"] {
            assert!(
                recs.iter().any(|r| r
                    .decision
                    .votes
                    .iter()
                    .any(|v| v.component.to_string() == c && v.opinion.is_some())),
                "{c} never voted"
            );
        }
    }
}

#[test]
fn ai_learning_splits_bit_for_bit_at_ten_points() {
    // the learning run's agent (weights, Adam, replay, RNG) crosses many splits
    let bars = random_walk(1500, 11, 1500, 11);
    for leveraged in [false, true] {
        let make = maker(6, &bars, 11, leveraged);
        let cfg = config(6, leveraged);
        let (ev_a, eq_a) = drive(&bars, &make, &cfg, None);
        let fills = ev_a
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Fill(_)))
            .count();
        assert!(fills >= 6, "only {fills} fills");
        for k in (0..1500).step_by(150) {
            let (ev_b, eq_b) = drive(&bars, &make, &cfg, Some(k));
            assert_eq!(eq_a, eq_b, "equity differs at split {k}");
            assert_eq!(ev_a, ev_b, "events differ at split {k}");
        }
    }
}

mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn prop_split_and_restore_is_bit_for_bit(
            seed in any::<u64>(),
            kind in 0u8..7,
            n in 260usize..420,
            cut in 0.0f64..1.0,
            leveraged in any::<bool>(),
            funding in any::<bool>(),
        ) {
            let k = ((n as f64) * cut) as usize;
            check(kind, seed, n, k, leveraged, funding);
        }
    }
}
