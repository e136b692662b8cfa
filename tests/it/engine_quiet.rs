//! Quiet stretches (docs/DESIGN.md §3): a backtest whose strategy runs ahead over the bars
//! on which it holds ([`Strategy::quiet_bars`]) gives bit for bit the result (books,
//! trades, transcript, fees) and the final strategy state of the same run stepped bar by
//! bar, for `sma-cross` long/short and long-only, with and without leverage, commission,
//! slippage, fill at the close, a date range, a minimum notional, close-at-end and a
//! bankruptcy inside a stretch; and for `technical` (regime events, the daily loss limit
//! while flat) under the standard and the plain risk rules.

use algolab::core::order::{Intent, PositionView};
use algolab::data::Bars;
use algolab::engine::{BacktestConfig, Fill, run_backtest};
use algolab::persist::StateError;
use algolab::regime::Regime;
use algolab::risk::RiskConfig;
use algolab::strategy::Params;
use algolab::strategy::sma_cross::SmaCross;
use algolab::strategy::technical::{TECHNICAL_PARAMS, Technical};
use algolab::strategy::{History, QuietGate, Strategy};
use proptest::prelude::*;

use crate::engine_props::random_walk;
use crate::engine_scenario::flat_bars;

/// A strategy (`SmaCross`, `Technical`), either stepped bar by bar (no `quiet_bars`) or
/// running ahead, counting the bars it consumed in stretches and the regime changes it
/// had the engine's gate note inside them.
struct Probe<S> {
    inner: S,
    quiet: bool,
    consumed: usize,
    noted: usize,
}

/// The engine's gate, counting the regime changes it takes note of.
struct Counting<'a> {
    gate: &'a mut dyn QuietGate,
    noted: usize,
}

impl QuietGate for Counting<'_> {
    fn hold(&mut self, from: usize, max: usize) -> usize {
        self.gate.hold(from, max)
    }
    fn regime_changed(
        &mut self,
        t: usize,
        from: algolab::regime::RegimeState,
        to: algolab::regime::RegimeState,
    ) -> bool {
        let noted = self.gate.regime_changed(t, from, to);
        self.noted += usize::from(noted);
        noted
    }
}

impl<S: Strategy> Strategy for Probe<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
        self.inner.on_bar(hist, pos)
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
    fn regime(&self) -> Option<algolab::regime::RegimeState> {
        self.inner.regime()
    }
    fn quiet_bars(
        &mut self,
        hist: &History<'_>,
        from: usize,
        pos: &PositionView,
        gate: &mut dyn QuietGate,
    ) -> usize {
        if !self.quiet {
            return 0;
        }
        let mut counting = Counting { gate, noted: 0 };
        let k = self.inner.quiet_bars(hist, from, pos, &mut counting);
        self.consumed += k;
        self.noted += counting.noted;
        k
    }
    fn save_state(&self) -> Result<serde_json::Value, StateError> {
        self.inner.save_state()
    }
}

fn without_funding(bars: &Bars) -> Bars {
    Bars::from_bars(bars.iter().collect::<Vec<_>>()).unwrap()
}

/// Runs `cfg` both ways; returns the bars consumed in stretches.
fn same_both_ways(
    bars: &Bars,
    fast: usize,
    slow: usize,
    long_only: bool,
    cfg: &BacktestConfig,
) -> usize {
    let s = SmaCross::new(fast, slow, long_only).unwrap();
    same_both_ways_with(
        bars,
        &s,
        cfg,
        &format!("{fast}/{slow}, long_only {long_only}"),
    )
}

/// Runs `s` under `cfg` both ways; returns the bars consumed in stretches.
fn same_both_ways_with<S: Strategy + Clone>(
    bars: &Bars,
    s: &S,
    cfg: &BacktestConfig,
    what: &str,
) -> usize {
    let mut stepped = Probe {
        inner: s.clone(),
        quiet: false,
        consumed: 0,
        noted: 0,
    };
    let mut quiet = Probe {
        inner: s.clone(),
        quiet: true,
        consumed: 0,
        noted: 0,
    };
    let a = run_backtest(bars, &mut stepped, cfg);
    let b = run_backtest(bars, &mut quiet, cfg);
    assert_eq!(a, b, "results differ ({what}, {cfg:?})");
    let bits = |r: &algolab::engine::BacktestResult| -> Vec<u64> {
        r.equity.iter().map(|x| x.to_bits()).collect()
    };
    if let (Ok(a), Ok(b)) = (&a, &b) {
        assert_eq!(bits(a), bits(b));
    }
    assert_eq!(
        stepped.save_state().unwrap(),
        quiet.save_state().unwrap(),
        "strategy state differs"
    );
    assert_eq!(stepped.consumed, 0);
    NOTED.with(|n| n.set(n.get() + quiet.noted));
    quiet.consumed
}

thread_local! {
    /// Regime changes noted inside stretches by `same_both_ways_with` on this thread.
    static NOTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn configs(bars: &Bars) -> Vec<BacktestConfig> {
    let ts = bars.ts_ms();
    let base = BacktestConfig::default();
    vec![
        base,
        BacktestConfig {
            commission: 0.001,
            slippage: 0.0005,
            fractional: true,
            ..base
        },
        BacktestConfig {
            fill: Fill::Close,
            close_at_end: true,
            ..base
        },
        BacktestConfig {
            leverage: 3.0,
            fractional: true,
            ..base
        },
        BacktestConfig {
            from_ts_ms: Some(ts[ts.len() / 4]),
            to_ts_ms: Some(ts[ts.len() * 3 / 4]),
            commission: 0.002,
            ..base
        },
        BacktestConfig {
            min_notional: 5_000.0,
            commission: 0.01,
            fractional: true,
            ..base
        },
    ]
}

#[test]
fn stretches_are_taken_and_change_nothing() {
    let bars = without_funding(&random_walk(3_000, 5, 3_000, 5));
    let mut consumed = 0;
    for cfg in configs(&bars) {
        for long_only in [false, true] {
            consumed += same_both_ways(&bars, 5, 17, long_only, &cfg);
        }
    }
    // guard against a vacuous check: most bars went through stretches
    assert!(
        consumed > 12 * 3_000 / 2,
        "only {consumed} bars in stretches"
    );
}

#[test]
fn funding_turns_stretches_off() {
    let bars = random_walk(600, 9, 600, 9);
    let consumed = same_both_ways(&bars, 3, 10, false, &BacktestConfig::default());
    assert_eq!(consumed, 0);
}

#[test]
fn bankruptcy_inside_a_stretch_is_stepped() {
    // a slow rise, a crash that crosses the close below its 50-bar mean (a 1× short at
    // about 105), then a climb that doubles the price while the mean stays far above it:
    // the held short reaches zero equity inside the stretch that follows its entry
    let mut closes: Vec<f64> = (0..60).map(|i| 1000.0 + 0.1 * i as f64).collect();
    closes.extend((0..40).map(|i| 100.0 * 1.05f64.powi(i)));
    let bars = flat_bars(&closes);
    let cfg = BacktestConfig::default();
    let consumed = same_both_ways(&bars, 1, 50, false, &cfg);
    assert!(consumed > 0);
    let mut s = SmaCross::new(1, 50, false).unwrap();
    let res = run_backtest(&bars, &mut s, &cfg).unwrap();
    assert!(res.bankrupt, "the short never went bankrupt");
    assert_eq!(res.trades.len(), 1, "{:?}", res.trades);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn prop_stretched_run_is_the_stepped_run(
        seed in any::<u64>(),
        n in 50usize..600,
        fast in 1usize..8,
        extra in 1usize..15,
        long_only in any::<bool>(),
        pick in 0usize..6,
    ) {
        let bars = without_funding(&random_walk(n, seed, n, seed));
        let cfg = configs(&bars)[pick];
        same_both_ways(&bars, fast, fast + extra, long_only, &cfg);
    }
}

/// Random-walk bars an hour apart with varying volume (so every confirmation of
/// `technical` can be met) and no funding column.
fn varied_walk(n: usize, seed: u64) -> Bars {
    let walk = random_walk(n, seed, n, seed);
    let mut x = seed | 1;
    Bars::from_bars(walk.iter().map(|mut b| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        b.volume = 1.0 + (x >> 40) as f64 / (1u64 << 24) as f64;
        b
    }))
    .unwrap()
}

/// `technical` built from `pairs`, with per-regime parameters when `variants`.
fn technical(pairs: &[(&str, &str)], variants: bool) -> Technical {
    let kv = |pairs: &[(&str, &str)]| {
        let kv: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Params::resolve(TECHNICAL_PARAMS, &kv).unwrap()
    };
    let s = Technical::new(&kv(pairs)).unwrap();
    if !variants {
        return s;
    }
    s.with_regime_params(vec![
        (
            Regime::Bull,
            kv(&[("ema_fast", "5"), ("min_confirmations", "1")]),
        ),
        (Regime::Sideways, kv(&[("take_profit_r", "0")])),
    ])
    .unwrap()
}

/// The `technical` configurations: the bench's (standard risk rules, commission,
/// fractional), with leverage, with plain risk and fill at the close, with a date range.
fn technical_configs(bars: &Bars) -> Vec<BacktestConfig> {
    let ts = bars.ts_ms();
    let standard = BacktestConfig {
        commission: 0.001,
        fractional: true,
        risk: RiskConfig::standard(),
        ..BacktestConfig::default()
    };
    vec![
        standard,
        BacktestConfig {
            leverage: 5.0,
            ..standard
        },
        BacktestConfig {
            fill: Fill::Close,
            close_at_end: true,
            ..BacktestConfig::default()
        },
        BacktestConfig {
            from_ts_ms: Some(ts[ts.len() / 3]),
            risk: RiskConfig {
                daily_loss_limit_frac: Some(0.005),
                ..RiskConfig::standard()
            },
            ..standard
        },
    ]
}

#[test]
fn technical_stretches_are_taken_and_change_nothing() {
    let bars = varied_walk(3_000, 11);
    let mut consumed = 0;
    let mut transitions = 0;
    for cfg in technical_configs(&bars) {
        for pairs in [
            &[][..],
            &[("min_confirmations", "1"), ("allow_short", "false")],
        ] {
            let s = technical(pairs, false);
            consumed += same_both_ways_with(&bars, &s, &cfg, &format!("{pairs:?}"));
            let r = run_backtest(&bars, &mut s.clone(), &cfg).unwrap();
            transitions += r.regime_transitions.len();
            assert!(!r.trades.is_empty(), "no trade: {cfg:?} {pairs:?}");
        }
        let v = technical(&[], true);
        assert_eq!(same_both_ways_with(&bars, &v, &cfg, "variants"), 0);
    }
    assert!(transitions > 8 * 10, "only {transitions} regime changes");
    // the stretches went on through regime changes, which the engine reported at their
    // bars (the transcripts above are the stepped runs')
    let noted = NOTED.with(std::cell::Cell::get);
    assert!(
        noted > transitions / 4,
        "only {noted} of {transitions} noted"
    );
    assert!(
        consumed > 8 * 3_000 / 3,
        "only {consumed} bars in stretches"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn prop_technical_stretched_run_is_the_stepped_run(
        seed in any::<u64>(),
        n in 1usize..800,
        confirmations in 0usize..4,
        pick in 0usize..4,
        variants in any::<bool>(),
    ) {
        let bars = varied_walk(n, seed);
        let cfg = technical_configs(&bars)[pick];
        let c = confirmations.to_string();
        let s = technical(&[("min_confirmations", c.as_str())], variants);
        same_both_ways_with(&bars, &s, &cfg, "prop");
    }
}
