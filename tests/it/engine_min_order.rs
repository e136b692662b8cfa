//! Issue 10 item 3: orders below the instrument's minimums are not placed, and a run whose
//! equity falls below one minimum order (a liquidated leveraged run) stops trading and
//! says so, instead of trading dust.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use algolab::core::order::ExitReason;
use algolab::engine::{BacktestConfig, run_backtest};
use algolab::strategy::{self, Params};

use crate::engine_props::random_walk;
use crate::util::{TestDir, texts};

fn sma(fast: i64, slow: i64) -> Box<dyn algolab::strategy::Strategy + Send> {
    let mut p = Params::default();
    p.0.insert("fast".into(), strategy::ParamValue::Int(fast));
    p.0.insert("slow".into(), strategy::ParamValue::Int(slow));
    strategy::build("sma-cross", &p).unwrap()
}

#[test]
fn issue_10_liquidated_run_halts_instead_of_trading_dust() {
    let bars = random_walk(3_000, 5, 3_000, 5);
    let base = BacktestConfig {
        fractional: true,
        leverage: 50.0,
        commission: 0.001,
        ..BacktestConfig::default()
    };
    // without a minimum the run is liquidated and keeps trading tiny positions
    let loose = run_backtest(&bars, &mut *sma(3, 8), &base).unwrap();
    let liq = loose
        .trades
        .iter()
        .position(|t| t.exit_reason == ExitReason::Liquidation)
        .expect("the walk liquidates a 50x run");
    assert!(
        loose.trades.len() > liq + 1,
        "keeps trading after liquidation"
    );
    assert!(loose.halted.is_none());

    let strict = BacktestConfig {
        min_notional: 5.0,
        ..base
    };
    let res = run_backtest(&bars, &mut *sma(3, 8), &strict).unwrap();
    let halt = res.halted.expect("halted");
    assert!(halt.equity < halt.min_order);
    assert_eq!(halt.min_order, 5.0 / 50.0 + 5.0 * 0.001);
    for t in &res.trades {
        assert!(t.qty * t.entry_price >= 5.0, "dust entry {t:?}");
        assert!(t.entry_bar <= halt.t);
    }
    // equity is frozen from the halt on, and nothing trades after it
    let i = halt.t - res.first_bar;
    assert!(
        res.equity[i..]
            .iter()
            .all(|e| e.to_bits() == halt.equity.to_bits())
    );
    assert!(res.exposure[i..].iter().all(|x| !x));
}

#[test]
fn entries_below_the_minimums_are_rejected_not_placed() {
    let bars = random_walk(600, 9, 600, 9);
    let cfg = BacktestConfig {
        cash: 1_000.0,
        min_qty: 20.0, // all cash buys about 10 units at ~100
        ..BacktestConfig::default()
    };
    let res = run_backtest(&bars, &mut *sma(3, 8), &cfg).unwrap();
    assert!(res.trades.is_empty(), "{:?}", res.trades.first());
    assert!(
        res.events
            .iter()
            .any(|e| matches!(e, algolab::engine::Event::OrdersRejected { .. }))
    );
}

#[test]
fn issue_10_btc_leverage_5_backtest_stops_after_liquidation_and_says_so() {
    let dir = TestDir::new();
    let out = dir.run(&[
        "backtest",
        "--symbol",
        "BTC/USDT",
        "--leverage",
        "5",
        "--no-record",
        "--json",
    ]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["halted"].is_object(), "{v}");
    // one minimum order at 5x and no commission: 5 / 5 = 1 USDT of margin
    assert!(v["halted"]["equity"].as_f64().unwrap() < 1.0);
    assert_eq!(v["halted"]["min_order"].as_f64(), Some(1.0));
    assert!(stderr.contains("trading stopped"), "{stderr}");
}
