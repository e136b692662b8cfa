//! Unit tests of the trainer on small seeded random walks (small hidden layers, so the
//! debug build stays fast).

use super::*;
use crate::engine::BacktestConfig;

fn settings(kind: AgentKind, seed: u64) -> TrainSettings {
    TrainSettings {
        kind,
        episodes: 2,
        seed,
        dqn: DqnConfig {
            hidden: [16, 16, 8],
            learning_starts: 64,
            batch: 16,
            eps_decay_steps: 0,
            ..DqnConfig::default()
        },
        train_frac: 0.6,
        validation_frac: 0.2,
        engine: BacktestConfig {
            fractional: true,
            commission: 0.0005,
            ..BacktestConfig::default()
        },
        max_leverage: 10.0,
    }
}

fn run(bars: &Bars, s: &TrainSettings) -> TrainOutcome {
    train(bars, s, None, &mut |_| {}, None).unwrap()
}

#[test]
fn same_seed_same_weights_and_test_stats_other_seed_other_weights() {
    let bars = crate::testutil::random_walk(900, 21);
    let a = run(&bars, &settings(AgentKind::Dqn, 7));
    let b = run(&bars, &settings(AgentKind::Dqn, 7));
    let c = run(&bars, &settings(AgentKind::Dqn, 8));
    assert_eq!(a.weights_sha256, b.weights_sha256);
    assert_eq!(
        serde_json::to_string(&metrics_json(&a)).unwrap(),
        serde_json::to_string(&metrics_json(&b)).unwrap()
    );
    assert_ne!(a.weights_sha256, c.weights_sha256);
    assert_eq!(a.episodes.len(), 2);
    assert!(a.episodes.iter().any(|e| e.checkpoint));
    assert!(a.env_steps > 0);
    assert_eq!(a.split.test.bars, 180);
    assert_eq!(
        a.action_counts().values().sum::<u64>() as usize,
        a.test_actions.len()
    );
    // the test-window model keeps its decision log: every test bar after warm-up acted once
    assert!(!a.test_actions.is_empty() && a.test_actions.len() <= a.split.test.bars);
}

#[test]
fn the_stored_model_reproduces_the_test_window_exactly() {
    let bars = crate::testutil::random_walk(900, 22);
    for kind in [AgentKind::Dqn, AgentKind::LeverageDqn] {
        let out = run(&bars, &settings(kind, 3));
        // what `backtest --strategy dqn --param id=N --from … --to …` does with the stored blob
        let spec: ModelSpec =
            serde_json::from_str(&serde_json::to_string(&out.spec).unwrap()).unwrap();
        let net = Mlp::from_bytes(&spec.sizes, &out.net.to_bytes()).unwrap();
        let mut s = DqnStrategy::new(spec, net).unwrap();
        let cfg = window_cfg(
            &engine_for(kind, &settings(kind, 3).engine, 10.0),
            &bars,
            &out.windows[2],
        );
        let r = run_backtest(&bars, &mut s, &cfg).unwrap();
        assert_eq!(r.equity.len(), out.test_result.equity.len());
        assert!(
            r.equity
                .iter()
                .zip(&out.test_result.equity)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{kind:?}"
        );
        assert_eq!(r.trades, out.test_result.trades);
        // a strategy built without a decision log keeps none (a bot's state file stays small)
        assert!(s.decisions().is_empty(), "{kind:?}");
        let saved = crate::strategy::Strategy::save_state(&s).unwrap();
        assert_eq!(saved["log"], serde_json::json!([]), "{kind:?}");
    }
}

#[test]
fn a_liquidation_inside_an_episode_is_a_counted_transition_with_its_penalty() {
    let bars = crate::testutil::random_walk(900, 23);
    let mut s = settings(AgentKind::LeverageDqn, 5);
    s.max_leverage = 100.0;
    s.dqn.eps_decay_steps = 1_000_000; // act at random: 10× at 100× run leverage liquidates
    let out = run(&bars, &s);
    assert!(
        out.train_liquidations > 0,
        "no liquidation in {} steps",
        out.env_steps
    );
    assert!(
        out.experiences.iter().any(|e| e.reward <= -5.0),
        "no transition carries the −5 liquidation penalty"
    );
}

#[test]
fn a_wiped_out_account_is_re_funded_and_training_covers_the_whole_window() {
    let bars = crate::testutil::random_walk(900, 23);
    let mut s = settings(AgentKind::LeverageDqn, 5);
    s.dqn.eps_decay_steps = 1_000_000; // act at random
    let mut wild = s;
    // 10× at a 10× run commits all the equity as margin, and a minimum order of a tenth of
    // the starting cash: what a liquidation leaves is below one order, the account is done
    wild.max_leverage = 10.0;
    wild.engine.min_notional = wild.engine.cash;
    let mut calm = s;
    calm.max_leverage = 1.0;
    let a = run(&bars, &wild);
    let b = run(&bars, &calm);
    assert_eq!(b.train_refunds, 0);
    assert!(
        a.train_refunds > 0,
        "no re-funding in {} steps",
        a.env_steps
    );
    assert_eq!(
        a.train_refunds,
        a.episodes.iter().map(|e| e.refunds).sum::<u64>()
    );
    for (x, y) in a.episodes.iter().zip(&b.episodes) {
        // each wiped-out bar is the one step the engine did not show the learner; every
        // other bar of the window was learned on
        assert_eq!(x.steps + x.refunds, y.steps, "episode {}", x.episode);
    }
    let again = run(&bars, &wild);
    assert_eq!(again.weights_sha256, a.weights_sha256);
    assert_eq!(
        serde_json::to_string(&metrics_json(&again)).unwrap(),
        serde_json::to_string(&metrics_json(&a)).unwrap()
    );
}

#[test]
fn bad_inputs_are_usage_errors() {
    let bars = crate::testutil::random_walk(900, 24);
    let mut s = settings(AgentKind::LeverageDqn, 1);
    s.max_leverage = 0.5;
    let e = train(&bars, &s, None, &mut |_| {}, None).unwrap_err();
    assert!(
        matches!(&e, Error::Usage(m) if m.contains("--max-leverage")),
        "{e}"
    );
    let short = crate::testutil::random_walk(200, 24);
    let e = train(
        &short,
        &settings(AgentKind::Dqn, 1),
        None,
        &mut |_| {},
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::Usage(m) if m.contains("too few bars")),
        "{e}"
    );
    let flat: Vec<crate::data::Bar> = bars
        .iter()
        .map(|b| crate::data::Bar { volume: 0.0, ..b })
        .collect();
    let flat = Bars::from_bars(flat).unwrap();
    let e = train(&flat, &settings(AgentKind::Dqn, 1), None, &mut |_| {}, None).unwrap_err();
    assert!(matches!(&e, Error::Usage(m) if m.contains("volume")), "{e}");
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn resuming_continues_from_the_stored_weights_and_replay() {
    let bars = crate::testutil::random_walk(900, 25);
    let s = settings(AgentKind::Dqn, 9);
    let first = run(&bars, &s);
    let r = Resume {
        id: 1,
        spec: first.spec.clone(),
        net: first.net.clone(),
        optimizer: Some(first.optimizer.clone()),
        experiences: first.experiences.clone(),
        env_steps: first.total_env_steps,
    };
    let second = train(
        &bars,
        &TrainSettings { episodes: 1, ..s },
        Some(r),
        &mut |_| {},
        None,
    )
    .unwrap();
    assert_eq!(second.parent_id, Some(1));
    assert_eq!(
        second.total_env_steps,
        first.total_env_steps + second.env_steps
    );
    assert_eq!(second.spec.normaliser, first.spec.normaliser);
    assert!(second.experiences.len() > first.experiences.len());
    let wrong = Resume {
        id: 1,
        spec: first.spec.clone(),
        net: first.net.clone(),
        optimizer: None,
        experiences: Vec::new(),
        env_steps: 0,
    };
    let e = train(
        &bars,
        &settings(AgentKind::LeverageDqn, 9),
        Some(wrong),
        &mut |_| {},
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::Usage(m) if m.contains("dqn model")),
        "{e}"
    );
}
