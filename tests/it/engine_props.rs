//! Property tests of the engine on seeded random walks driven by a seeded random-decision
//! strategy: no look-ahead, the equity identity on every bar, fees on both sides,
//! determinism, finite equity.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use algolab::core::order::{Entry, ExitReason, Intent, OrderKind, PositionView, Side, Sizing};
use algolab::data::{Bar, Bars};
use algolab::engine::{BacktestConfig, BacktestResult, Event, Fill, run_backtest};
use algolab::risk::RiskConfig;
use algolab::strategy::{History, Strategy};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const H: i64 = 3_600_000;

/// An hourly random walk from 00:00 UTC with a `funding_rate` column; bars after `from`
/// come from `tail_seed` instead of `seed` (to test look-ahead).
pub fn random_walk(n: usize, seed: u64, from: usize, tail_seed: u64) -> Bars {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tail = ChaCha8Rng::seed_from_u64(tail_seed);
    let mut p = 100.0f64;
    let mut out = Vec::with_capacity(n);
    let mut rates = Vec::with_capacity(n);
    for i in 0..n {
        let r: &mut ChaCha8Rng = if i > from { &mut tail } else { &mut rng };
        let open = p * (1.0 + 0.01 * (r.random::<f64>() - 0.5));
        let close = open * (1.0 + 0.06 * (r.random::<f64>() - 0.5));
        let high = open.max(close) * (1.0 + 0.02 * r.random::<f64>());
        let low = open.min(close) * (1.0 - 0.02 * r.random::<f64>());
        rates.push(0.0004 * (r.random::<f64>() - 0.4));
        out.push(Bar {
            ts_ms: i as i64 * H,
            open,
            high,
            low,
            close,
            volume: 1.0,
        });
        p = close;
    }
    Bars::from_bars(out)
        .unwrap()
        .with_extra("funding_rate", rates)
        .unwrap()
}

/// Random decisions from its own seeded generator (one draw sequence per bar, so the
/// decision at `t` depends only on bars `..=t`).
struct RandomStrategy {
    seed: u64,
    rng: ChaCha8Rng,
}

impl RandomStrategy {
    fn new(seed: u64) -> Self {
        RandomStrategy {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

impl Strategy for RandomStrategy {
    fn name(&self) -> &str {
        "random"
    }
    fn on_bar(&mut self, hist: &History<'_>, _pos: &PositionView) -> Intent {
        let r = &mut self.rng;
        let u: f64 = r.random();
        let side = if r.random_bool(0.5) {
            Side::Long
        } else {
            Side::Short
        };
        let close = hist.last().close;
        let s = side.sign();
        let sizing = match r.random_range(0..4u8) {
            0 => Sizing::AllCash,
            1 => Sizing::EquityFrac(r.random_range(0.05..1.0)),
            2 => Sizing::Qty(r.random_range(1.0..50.0)),
            _ => Sizing::Risk {
                confidence: r.random(),
                regime_mult: r.random_range(0.3..1.2),
            },
        };
        let stop = r
            .random_bool(0.5)
            .then(|| close * (1.0 - s * r.random_range(0.005..0.05)));
        let take_profit = r
            .random_bool(0.3)
            .then(|| close * (1.0 + s * r.random_range(0.005..0.08)));
        let kind = match r.random_range(0..6u8) {
            0 => OrderKind::Limit(close * (1.0 - s * 0.005)),
            1 => OrderKind::Stop(close * (1.0 + s * 0.005)),
            _ => OrderKind::Market,
        };
        let atr = r.random_bool(0.5).then_some(close * 0.01);
        let frac = r.random_range(0.1..1.0);
        if u < 0.08 {
            Intent::Enter(Entry {
                side,
                sizing,
                kind,
                stop,
                take_profit,
                atr,
            })
        } else if u < 0.12 {
            Intent::Exit { frac }
        } else {
            Intent::Hold
        }
    }
    fn reset(&mut self) {
        self.rng = ChaCha8Rng::seed_from_u64(self.seed);
    }
}

/// A config chosen by `pick` (0..48): leverage, commission, slippage, fractional, risk, fill.
fn config(pick: u8) -> BacktestConfig {
    BacktestConfig {
        leverage: [1.0, 5.0, 20.0][usize::from(pick % 3)],
        commission: [0.0, 0.001][usize::from((pick / 3) % 2)],
        slippage: [0.0, 0.0005][usize::from((pick / 6) % 2)],
        fractional: (pick / 12) % 2 == 1,
        risk: if (pick / 24) % 2 == 1 {
            RiskConfig::standard()
        } else {
            RiskConfig::passthrough()
        },
        close_at_end: pick.is_multiple_of(2),
        ..BacktestConfig::default()
    }
}

fn run(bars: &Bars, seed: u64, cfg: &BacktestConfig) -> BacktestResult {
    run_backtest(bars, &mut RandomStrategy::new(seed), cfg).unwrap()
}

/// The part of a result decided by bar `t` (fills and events at bars ≤ t, equity ..=t).
fn prefix(res: &BacktestResult, t: usize) -> (Vec<f64>, Vec<Event>) {
    let event_t = |e: &Event| match e {
        Event::Fill(f) => f.t,
        Event::Protection { t, .. }
        | Event::Funding { t, .. }
        | Event::Refused { t, .. }
        | Event::OrdersRejected { t, .. }
        | Event::Bankrupt { t } => *t,
    };
    (
        res.equity[..=t].to_vec(),
        res.events
            .iter()
            .filter(|e| event_t(e) <= t)
            .cloned()
            .collect(),
    )
}

mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn prop_no_look_ahead(seed in any::<u64>(), n in 30usize..200, cut in 0.2f64..0.9, pick in 0u8..48) {
            let t = ((n as f64) * cut) as usize;
            let cfg = config(pick);
            let a = run(&random_walk(n, seed, t, seed ^ 1), seed, &cfg);
            let b = run(&random_walk(n, seed, t, seed ^ 2), seed, &cfg);
            let t = t.min(a.equity.len() - 1).min(b.equity.len() - 1);
            // the last bar's equity may differ when close_at_end changes the last bar only
            prop_assert_eq!(prefix(&a, t), prefix(&b, t));
        }

        #[test]
        fn prop_books_balance_fees_both_sides_and_determinism(seed in any::<u64>(), n in 10usize..300, pick in 0u8..48) {
            let cfg = config(pick);
            let bars = random_walk(n, seed, n, 0);
            let res = run(&bars, seed, &cfg);
            prop_assert_eq!(res.equity.len(), n);
            for t in 0..n {
                let (e, c, v) = (res.equity[t], res.cash[t], res.position_value[t]);
                prop_assert!(e.is_finite() && c.is_finite() && v.is_finite(), "bar {}", t);
                prop_assert!(e >= 0.0, "bar {}: equity {}", t, e);
                prop_assert!((c + v - e).abs() <= 1e-9 * e.abs().max(1.0), "bar {}: {} + {} != {}", t, c, v, e);
            }
            prop_assert!(res.fees_paid >= 0.0);
            for tr in &res.trades {
                prop_assert!(tr.fees >= 0.0);
                let both = cfg.commission * tr.qty * (tr.entry_price + tr.exit_price);
                let entry_only = cfg.commission * tr.qty * tr.entry_price;
                match tr.exit_reason {
                    ExitReason::Open => prop_assert!((tr.fees - entry_only).abs() <= 1e-9 * entry_only.max(1.0)),
                    // liquidation charges the liquidation fee, not commission, on exit
                    ExitReason::Liquidation => prop_assert!(tr.fees >= entry_only - 1e-9),
                    _ => prop_assert!((tr.fees - both).abs() <= 1e-9 * both.max(1.0), "{:?}", tr),
                }
            }
            // fees paid add up over the trades (the open one included)
            let sum: f64 = res.trades.iter().map(|t| t.fees).sum();
            prop_assert!((sum - res.fees_paid).abs() <= 1e-6 * res.fees_paid.max(1.0));
            // same input → identical output
            let again = run(&bars, seed, &cfg);
            prop_assert_eq!(&res, &again);
        }

        #[test]
        fn prop_fill_close_never_fills_before_the_decision_bar(seed in any::<u64>(), n in 10usize..150) {
            let cfg = BacktestConfig { fill: Fill::Close, ..config(0) };
            let res = run(&random_walk(n, seed, n, 0), seed, &cfg);
            for tr in &res.trades {
                prop_assert!(tr.entry_bar <= tr.exit_bar);
            }
            for t in 0..n {
                let (e, c, v) = (res.equity[t], res.cash[t], res.position_value[t]);
                prop_assert!((c + v - e).abs() <= 1e-9 * e.abs().max(1.0));
            }
        }
    }
}

#[test]
fn market_fills_come_one_bar_after_the_decision() {
    // record decision bars, check each market entry fill lands on decision + 1
    struct Every10;
    impl Strategy for Every10 {
        fn name(&self) -> &str {
            "every10"
        }
        fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
            match (hist.index() % 10, pos.is_flat()) {
                (0, true) => Intent::Enter(Entry::market(Side::Long)),
                (5, false) => Intent::Exit { frac: 1.0 },
                _ => Intent::Hold,
            }
        }
        fn reset(&mut self) {}
    }
    let bars = random_walk(100, 7, 100, 0);
    let res = run_backtest(&bars, &mut Every10, &BacktestConfig::default()).unwrap();
    assert!(!res.trades.is_empty());
    for t in &res.trades {
        assert_eq!(t.entry_bar % 10, 1, "{t:?}");
        assert_eq!(t.exit_bar % 10, 6, "{t:?}");
    }
}
