//! Scenario tests: synthetic flat → ramp → crash series with exact expected trades, and an
//! event-by-event engine transcript (after barter-rs's audit test). Every expected number
//! is worked out by hand in the comments.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use algolab::core::order::{Entry, ExitReason, Intent, PositionView, Side};
use algolab::data::{Bar, Bars};
use algolab::engine::{BacktestConfig, Event, FillEvent, FillKind, run_backtest};
use algolab::risk::{Protection, RiskConfig, StopLevel, TpLeg};
use algolab::strategy::sma_cross::SmaCross;
use algolab::strategy::{History, Strategy};

const H: i64 = 3_600_000;

/// Bars an hour apart with open = high = low = close (also the quiet-stretch tests).
pub(crate) fn flat_bars(closes: &[f64]) -> Bars {
    Bars::from_bars(closes.iter().enumerate().map(|(i, &c)| Bar {
        ts_ms: i as i64 * H,
        open: c,
        high: c,
        low: c,
        close: c,
        volume: 1.0,
    }))
    .unwrap()
}

fn ohlc_bars(rows: &[(f64, f64, f64, f64)]) -> Bars {
    Bars::from_bars(rows.iter().enumerate().map(|(i, &(o, h, l, c))| Bar {
        ts_ms: i as i64 * H,
        open: o,
        high: h,
        low: l,
        close: c,
        volume: 1.0,
    }))
    .unwrap()
}

fn fill_of(e: &Event) -> FillEvent {
    match e {
        Event::Fill(f) => *f,
        other => panic!("expected a fill, got {other:?}"),
    }
}

/// flat 100 (bars 0–7), a dip to 99 (8–9), a ramp 101…110 (10–19), a crash
/// 105, 100, …, 80 (20–25); every bar has open = high = low = close.
fn flat_ramp_crash() -> Vec<f64> {
    let mut c = vec![100.0; 8];
    c.extend([99.0, 99.0]);
    c.extend((1..=10).map(|k| 100.0 + f64::from(k)));
    c.extend([105.0, 100.0, 95.0, 90.0, 85.0, 80.0]);
    c
}

#[test]
fn sma_cross_on_flat_ramp_crash_gives_the_expected_trades_and_transcript() {
    let closes = flat_ramp_crash();
    let bars = flat_bars(&closes);
    // SMA 2/4. t=9: fast 99 < slow 99.5; t=10: fast 100 > slow 99.75 → buy, filled at the
    // open of bar 11 (102): floor(10 000·(1−ε)/102) = 98 units.
    // t=19: fast 109.5 > slow 108.5; t=20: fast 107.5 < slow 108 → sell: at the open of
    // bar 21 (100) the long closes (98·(100−102) = −196), then a short of
    // floor(9 804·(1−ε)/100) = 98 units opens, still open at the end (close 80).
    let mut s = SmaCross::new(2, 4, false).unwrap();
    let res = run_backtest(&bars, &mut s, &BacktestConfig::default()).unwrap();

    assert_eq!(res.trades.len(), 2);
    let (a, b) = (res.trades[0], res.trades[1]);
    assert_eq!(
        (a.side, a.qty, a.entry_bar, a.exit_bar),
        (Side::Long, 98.0, 11, 21)
    );
    assert_eq!((a.entry_price, a.exit_price, a.pnl), (102.0, 100.0, -196.0));
    assert_eq!(a.exit_reason, ExitReason::Flip);
    assert_eq!(
        (b.side, b.qty, b.entry_bar, b.exit_bar),
        (Side::Short, 98.0, 21, 25)
    );
    assert_eq!((b.entry_price, b.exit_price, b.pnl), (100.0, 80.0, 1_960.0));
    assert_eq!(b.exit_reason, ExitReason::Open);

    // equity: 10 000 until the entry, 10 000 + 98·(close − 102) while long,
    // 9 804 + 98·(100 − close) while short
    for (t, &c) in closes.iter().enumerate() {
        let want = match t {
            0..=10 => 10_000.0,
            11..=20 => 10_000.0 + 98.0 * (c - 102.0),
            _ => 9_804.0 + 98.0 * (100.0 - c),
        };
        assert!(
            (res.equity[t] - want).abs() < 1e-9,
            "bar {t}: {} vs {want}",
            res.equity[t]
        );
        assert!((res.cash[t] + res.position_value[t] - res.equity[t]).abs() < 1e-9);
        assert_eq!(res.exposure[t], t >= 11);
    }
    assert!((res.equity[25] - 11_764.0).abs() < 1e-9);

    // the transcript, event by event
    assert_eq!(res.events.len(), 3, "{:#?}", res.events);
    let f0 = fill_of(&res.events[0]);
    assert_eq!(
        (f0.t, f0.side, f0.qty, f0.price, f0.fee),
        (11, Side::Long, 98.0, 102.0, 0.0)
    );
    assert_eq!(f0.action, FillKind::Open);
    assert_eq!(f0.trade_index(), None);
    let f1 = fill_of(&res.events[1]);
    assert_eq!(
        (f1.t, f1.side, f1.qty, f1.price),
        (21, Side::Short, 98.0, 100.0)
    );
    assert_eq!(f1.exit_reason(), Some(ExitReason::Flip));
    // the closing fill refers to its trade instead of carrying a copy
    assert_eq!(f1.trade_index(), Some(0));
    assert_eq!(res.trades[0].exit_price, f1.price);
    let f2 = fill_of(&res.events[2]);
    assert_eq!(
        (f2.t, f2.side, f2.qty, f2.price),
        (21, Side::Short, 98.0, 100.0)
    );
    assert_eq!(f2.action, FillKind::Open);
    assert_eq!(res.fees_paid, 0.0);
}

#[test]
fn close_at_end_closes_the_open_short_at_the_last_close() {
    let bars = flat_bars(&flat_ramp_crash());
    let mut s = SmaCross::new(2, 4, false).unwrap();
    let cfg = BacktestConfig {
        close_at_end: true,
        commission: 0.001,
        ..BacktestConfig::default()
    };
    let res = run_backtest(&bars, &mut s, &cfg).unwrap();
    let last = *res.trades.last().unwrap();
    assert_eq!(
        (last.exit_reason, last.exit_price),
        (ExitReason::EndOfData, 80.0)
    );
    assert!(!res.exposure[25]);
    assert_eq!(res.position_value[25], 0.0);
    // every trade paid commission on both sides
    for t in &res.trades {
        let both = 0.001 * t.qty * (t.entry_price + t.exit_price);
        assert!((t.fees - both).abs() < 1e-9, "{t:?}");
    }
    let total: f64 = res.trades.iter().map(|t| t.fees).sum();
    assert!((res.fees_paid - total).abs() < 1e-9);
    assert!(
        (res.equity[25] - (10_000.0 + res.trades.iter().map(|t| t.pnl).sum::<f64>())).abs() < 1e-9
    );
}

/// Plays a fixed list of (bar, intent) decisions.
struct Scripted(Vec<(usize, Intent)>);

impl Strategy for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn on_bar(&mut self, hist: &History<'_>, _pos: &PositionView) -> Intent {
        self.0
            .iter()
            .find(|(t, _)| *t == hist.index())
            .map_or(Intent::Hold, |(_, i)| *i)
    }
    fn reset(&mut self) {}
}

#[test]
fn standard_risk_transcript_break_even_partial_then_trailing_exit() {
    // bars 0–2 flat at 100; the strategy buys at bar 2 with a stop at 95.
    let bars = ohlc_bars(&[
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.6, 99.8, 100.5), // 3: fill 25 @ 100 (25 % of 10 000); best +0.6 %
        (100.5, 105.5, 100.4, 105.0), // 4: 1R leg 105 fills 6; best +5.5 % → trailing
        (105.0, 105.2, 104.5, 104.8), // 5: low 104.5 hits the trailing stop 104.9725
        (104.8, 104.8, 104.8, 104.8),
    ]);
    let entry = Intent::Enter(Entry {
        stop: Some(95.0),
        ..Entry::market(Side::Long)
    });
    let mut s = Scripted(vec![(2, entry)]);
    let cfg = BacktestConfig {
        risk: RiskConfig::standard(),
        ..BacktestConfig::default()
    };
    let res = run_backtest(&bars, &mut s, &cfg).unwrap();
    let ev = &res.events;
    assert_eq!(ev.len(), 5, "{ev:#?}");

    // 1. entry: all cash capped at 25 % of equity → 2 500 / 100 = 25 units at the open of 3
    let f = fill_of(&ev[0]);
    assert_eq!(
        (f.t, f.qty, f.price, f.action),
        (3, 25.0, 100.0, FillKind::Open)
    );
    // 2. close of 3: best 100.6 = +0.6 % ≥ 0.5 % → break-even stop 100 × 1.0005; legs at
    //    1R/2R/3R (R = 5) of floor(25/4) = 6 units; no fixed take-profit
    let leg = |price| Some(TpLeg { price, qty: 6.0 });
    match ev[1] {
        Event::Protection { t, ref protection } => {
            assert_eq!(t, 3);
            let st = protection.stop.unwrap();
            assert_eq!(st.reason, ExitReason::BreakEven);
            assert!((st.price - 100.05).abs() < 1e-9);
            assert_eq!(protection.legs, [leg(105.0), leg(110.0), leg(115.0)]);
        }
        ref e => panic!("{e:?}"),
    }
    // 3. bar 4: the 1R leg fills 6 @ 105 (+30)
    let f = fill_of(&ev[2]);
    assert_eq!((f.t, f.qty, f.price), (4, 6.0, 105.0));
    assert_eq!(f.exit_reason(), Some(ExitReason::PartialTakeProfit));
    // 4. close of 4: best 105.5 = +5.5 % → trailing stop 105.5 − 0.5 % × 105.5 = 104.9725
    match ev[3] {
        Event::Protection { t, ref protection } => {
            assert_eq!(t, 4);
            assert_eq!(
                **protection,
                Protection {
                    stop: Some(StopLevel {
                        price: 105.5 - 0.005 * 105.5,
                        reason: ExitReason::TrailingStop
                    }),
                    take_profit: None,
                    legs: [leg(110.0), leg(115.0), None],
                }
            );
        }
        ref e => panic!("{e:?}"),
    }
    // 5. bar 5: low 104.5 reaches the trailing stop; the remaining 19 exit at 104.9725
    let f = fill_of(&ev[4]);
    assert_eq!((f.t, f.qty), (5, 19.0));
    assert!((f.price - 104.9725).abs() < 1e-9);
    assert_eq!(f.exit_reason(), Some(ExitReason::TrailingStop));
    // each closing fill (the partial one too) refers to its own trade
    let closes: Vec<usize> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Fill(f) => f.trade_index(),
            _ => None,
        })
        .collect();
    assert_eq!(closes, [0, 1]);
    assert_eq!(res.trades[0].exit_reason, ExitReason::PartialTakeProfit);
    assert_eq!(
        (res.trades[1].qty, res.trades[1].exit_price),
        (19.0, f.price)
    );

    // equity: 10 000, 10 000, 10 000, 10 012.5, 10 125 (30 realised + 19·5), then
    // 10 000 + 30 + 19 × 4.9725 = 10 124.4775
    let want = [
        10_000.0,
        10_000.0,
        10_000.0,
        10_012.5,
        10_125.0,
        10_124.477_5,
        10_124.477_5,
    ];
    for (t, w) in want.iter().enumerate() {
        assert!(
            (res.equity[t] - w).abs() < 1e-9,
            "bar {t}: {}",
            res.equity[t]
        );
    }
    assert_eq!(res.trades.len(), 2);
    assert!((res.trades[0].pnl - 30.0).abs() < 1e-9);
    assert!((res.trades[1].pnl - 19.0 * 4.9725).abs() < 1e-9);
}

#[test]
fn leveraged_long_is_liquidated_by_the_engine_and_loses_only_its_margin() {
    // 10× long, all cash 1 000 → floor(1 000·(1−ε) / 10) = 99 units at 100 (margin 990);
    // tier 1: LP = (990 − 9 900) / (99·0.004 − 99) = 100·0.9/0.996 = 90.3614…
    let bars = ohlc_bars(&[
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 100.0, 91.0, 92.0),
        (92.0, 92.0, 90.0, 91.0),
        (91.0, 95.0, 91.0, 95.0),
    ]);
    let mut s = Scripted(vec![(0, Intent::Enter(Entry::market(Side::Long)))]);
    let cfg = BacktestConfig {
        cash: 1_000.0,
        leverage: 10.0,
        ..BacktestConfig::default()
    };
    let res = run_backtest(&bars, &mut s, &cfg).unwrap();
    let t = res.trades[0];
    assert_eq!(
        (t.qty, t.exit_bar, t.exit_reason),
        (99.0, 3, ExitReason::Liquidation)
    );
    assert!((t.exit_price - 90.0 / 0.996).abs() < 1e-9);
    assert!((t.pnl + 990.0).abs() < 1e-9);
    assert!((res.equity[3] - 10.0).abs() < 1e-9);
    assert!((res.equity[4] - 10.0).abs() < 1e-9);
    // before the liquidation, bar 2 at close 92: 10 + 990 + 99·(92 − 100) = 208
    assert!((res.equity[2] - 208.0).abs() < 1e-9);
}

#[test]
fn from_and_to_limit_the_traded_bars_and_bad_settings_are_refused() {
    use algolab::engine::EngineError;
    let bars = flat_bars(&flat_ramp_crash());
    let cfg = BacktestConfig {
        from_ts_ms: Some(5 * H),
        to_ts_ms: Some(22 * H),
        ..BacktestConfig::default()
    };
    let mut s = SmaCross::new(2, 4, false).unwrap();
    let res = run_backtest(&bars, &mut s, &cfg).unwrap();
    // bars 5..=22; the strategy warmed up on 0..5, so the same trades happen
    assert_eq!((res.first_bar, res.equity.len()), (5, 18));
    assert_eq!(res.trades[0].entry_bar, 11);
    assert_eq!(res.trades.last().unwrap().exit_bar, 22);

    let empty = BacktestConfig {
        from_ts_ms: Some(100 * H),
        ..BacktestConfig::default()
    };
    assert!(matches!(
        run_backtest(&bars, &mut s, &empty),
        Err(EngineError::EmptyRange { .. })
    ));
    let bad = BacktestConfig {
        leverage: 200.0,
        ..BacktestConfig::default()
    };
    let e = run_backtest(&bars, &mut s, &bad).unwrap_err();
    assert_eq!(e.to_string(), "leverage = 200 is out of range: 1..=125");
}
