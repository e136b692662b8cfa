//! Unit tests of the simulated broker on hand-built bars with hand-worked outcomes:
//! fills, gaps, stop-before-take-profit, slippage and commission, liquidation at Binance's
//! isolated liquidation price for 10×, 20×, 50×, 125× long and short, funding.

use super::sim::{Fill, SimBroker, SimConfig};
use super::{Broker, BrokerError, FillAction, MaintenanceMargin, MarketBar, OrderFill};
use crate::core::order::ClientOrderId;
use crate::core::order::{Entry, ExitReason, Intent, OrderKind, Side, Sizing, Trade};
use crate::data::Bar;
use crate::risk::{RiskConfig, RiskContext, RiskManager};

const H: i64 = 3_600_000;

/// The broker's per-bar call as these tests use it: bar `t`, without or with a rate column.
trait SyncExt {
    fn sync(&mut self, bar: &Bar, t: usize) -> Result<Vec<OrderFill>, BrokerError>;
    fn sync_rated(&mut self, bar: &Bar, t: usize, rates: &[f64]) -> Vec<OrderFill>;
    fn sync_close(&mut self, bar: &Bar, t: usize) -> Result<Vec<OrderFill>, BrokerError>;
}

impl SyncExt for SimBroker {
    fn sync(&mut self, bar: &Bar, t: usize) -> Result<Vec<OrderFill>, BrokerError> {
        self.poll(&MarketBar {
            t,
            bar: *bar,
            funding_rate: None,
        })
    }
    fn sync_rated(&mut self, bar: &Bar, t: usize, rates: &[f64]) -> Vec<OrderFill> {
        self.poll(&MarketBar {
            t,
            bar: *bar,
            funding_rate: Some(rates.get(t).copied().unwrap_or(f64::NAN)),
        })
        .unwrap()
    }
    fn sync_close(&mut self, bar: &Bar, t: usize) -> Result<Vec<OrderFill>, BrokerError> {
        self.poll_close(&MarketBar {
            t,
            bar: *bar,
            funding_rate: None,
        })
    }
}

fn bar(ts_ms: i64, open: f64, high: f64, low: f64, close: f64) -> Bar {
    Bar {
        ts_ms,
        open,
        high,
        low,
        close,
        volume: 1.0,
    }
}

fn cfg(cash: f64) -> SimConfig {
    SimConfig {
        cash,
        fractional: true,
        ..SimConfig::default()
    }
}

/// Approve `intent` as decided at the close of bar `t` and submit it.
fn submit(b: &mut SimBroker, intent: Intent, t: usize, close: f64, leverage: f64) {
    let mut rm = RiskManager::new(RiskConfig::passthrough(), true);
    let ctx = RiskContext {
        t,
        ts_ms: 0,
        close,
        equity: b.equity(),
        position: b.position().map(|p| p.side),
        leverage,
    };
    let order = rm.approve(&intent, &ctx).unwrap().unwrap();
    let id = ClientOrderId::derive("test", t as i64, b.open_orders().len() as u64);
    b.submit(&id, &order).unwrap();
}

fn entry(side: Side, qty: f64) -> Intent {
    Intent::Enter(Entry {
        sizing: Sizing::Qty(qty),
        ..Entry::market(side)
    })
}

fn closed_trade(fills: &[super::OrderFill]) -> Trade {
    fills
        .iter()
        .find_map(|f| match f.action {
            FillAction::Close { trade } => Some(trade),
            _ => None,
        })
        .unwrap()
}

#[test]
fn market_order_fills_at_next_open_with_slippage_and_commission_on_both_sides() {
    let mut b = SimBroker::new(SimConfig {
        commission: 0.001,
        slippage: 0.01,
        ..cfg(1_000.0)
    });
    b.sync(&bar(0, 100.0, 100.0, 100.0, 100.0), 0).unwrap();
    submit(&mut b, entry(Side::Long, 2.0), 0, 100.0, 1.0);
    let f = b.sync(&bar(H, 110.0, 112.0, 108.0, 111.0), 1).unwrap();
    // buy 2 at 110 × 1.01 = 111.1, fee 2 × 111.1 × 0.001 = 0.2222
    assert_eq!(f.len(), 1);
    assert!((f[0].price - 111.1).abs() < 1e-9);
    assert!((f[0].fee - 0.2222).abs() < 1e-9);
    // cash 1000 − 222.2 − 0.2222; equity = cash + 222.2 + 2 × (111 − 111.1)
    assert!((b.cash() - 777.5778).abs() < 1e-9);
    assert!((b.equity() - (1_000.0 - 0.2222 - 0.2)).abs() < 1e-9);
    submit(&mut b, Intent::Exit { frac: 1.0 }, 1, 111.0, 1.0);
    let f = b.sync(&bar(2 * H, 120.0, 120.0, 120.0, 120.0), 2).unwrap();
    // sell 2 at 120 × 0.99 = 118.8, fee 0.2376
    let t = closed_trade(&f);
    assert!((t.exit_price - 118.8).abs() < 1e-9);
    assert!((t.fees - (0.2222 + 0.2376)).abs() < 1e-9);
    assert!((t.pnl - (2.0 * (118.8 - 111.1) - 0.2222 - 0.2376)).abs() < 1e-9);
    assert_eq!(t.exit_reason, ExitReason::Signal);
    assert!((b.account().fees_paid - 0.4598).abs() < 1e-12);
    assert!((b.equity() - (1_000.0 + t.pnl)).abs() < 1e-9);
}

#[test]
fn fill_close_mode_fills_at_the_decision_bars_close() {
    let mut b = SimBroker::new(SimConfig {
        fill: Fill::Close,
        ..cfg(1_000.0)
    });
    b.sync(&bar(0, 100.0, 101.0, 99.0, 100.5), 0).unwrap();
    submit(&mut b, entry(Side::Short, 1.0), 0, 100.5, 1.0);
    // sync at the next open does not fill it; sync_close on the same bar does
    let f = b.sync_close(&bar(0, 100.0, 101.0, 99.0, 100.5), 0).unwrap();
    assert_eq!(f[0].price, 100.5);
    assert_eq!(f[0].action, FillAction::Open);
}

#[test]
fn stop_gap_fills_at_the_open_and_stop_beats_take_profit_in_one_bar() {
    let mut b = SimBroker::new(cfg(1_000.0));
    let long = Intent::Enter(Entry {
        sizing: Sizing::Qty(1.0),
        stop: Some(95.0),
        take_profit: Some(110.0),
        ..Entry::market(Side::Long)
    });
    submit(&mut b, long, 0, 100.0, 1.0);
    b.sync(&bar(H, 100.0, 101.0, 99.0, 100.0), 1).unwrap();
    // the next bar gaps down through the stop: fill at the open 90
    let f = b.sync(&bar(2 * H, 90.0, 91.0, 89.0, 90.0), 2).unwrap();
    let t = closed_trade(&f);
    assert_eq!((t.exit_price, t.exit_reason), (90.0, ExitReason::StopLoss));

    submit(&mut b, long, 2, 100.0, 1.0);
    b.sync(&bar(3 * H, 100.0, 101.0, 99.0, 100.0), 3).unwrap();
    // both 95 and 110 touched: the stop fills first, at its level
    let f = b.sync(&bar(4 * H, 100.0, 111.0, 94.0, 105.0), 4).unwrap();
    let t = closed_trade(&f);
    assert_eq!((t.exit_price, t.exit_reason), (95.0, ExitReason::StopLoss));

    submit(&mut b, long, 4, 100.0, 1.0);
    b.sync(&bar(5 * H, 100.0, 101.0, 99.0, 100.0), 5).unwrap();
    // take-profit alone: filled at its level
    let f = b.sync(&bar(6 * H, 105.0, 111.0, 104.0, 109.0), 6).unwrap();
    let t = closed_trade(&f);
    assert_eq!(
        (t.exit_price, t.exit_reason),
        (110.0, ExitReason::TakeProfit)
    );
}

#[test]
fn limit_and_stop_entries_fill_at_their_level_or_the_open() {
    let mut b = SimBroker::new(cfg(1_000.0));
    let limit = Intent::Enter(Entry {
        sizing: Sizing::Qty(1.0),
        kind: OrderKind::Limit(95.0),
        ..Entry::market(Side::Long)
    });
    submit(&mut b, limit, 0, 100.0, 1.0);
    assert!(
        b.sync(&bar(H, 100.0, 101.0, 96.0, 100.0), 1)
            .unwrap()
            .is_empty()
    );
    let f = b.sync(&bar(2 * H, 98.0, 99.0, 94.0, 97.0), 2).unwrap();
    assert_eq!(f[0].price, 95.0);
    submit(&mut b, Intent::Exit { frac: 1.0 }, 2, 97.0, 1.0);
    b.sync(&bar(3 * H, 97.0, 97.0, 97.0, 97.0), 3).unwrap();
    let stop = Intent::Enter(Entry {
        sizing: Sizing::Qty(1.0),
        kind: OrderKind::Stop(105.0),
        ..Entry::market(Side::Long)
    });
    submit(&mut b, stop, 3, 97.0, 1.0);
    // gaps up over the stop: fills at the open
    let f = b.sync(&bar(4 * H, 107.0, 108.0, 106.0, 107.0), 4).unwrap();
    assert_eq!(f[0].price, 107.0);
}

/// Long and short at leverage `lev`: 1 unit at 100 on 100 cash, tier-1 brackets
/// (MMR 0.4 %, cum 0). Binance: LP = (WB + cum − side·q·EP) / (q·MMR − side·q), WB = 100/lev.
fn liquidation_case(side: Side, lev: f64) {
    let mut b = SimBroker::new(SimConfig {
        leverage: lev,
        maintenance: MaintenanceMargin::BinanceBtcUsdt,
        ..cfg(100.0)
    });
    submit(&mut b, entry(side, 1.0), 0, 100.0, lev);
    b.sync(&bar(H, 100.0, 100.0, 100.0, 100.0), 1).unwrap();
    let s = side.sign();
    let wb = 100.0 / lev;
    let want = (wb + 0.0 - s * 100.0) / (0.004 - s);
    let lp = b.position().unwrap().liquidation_price.unwrap();
    assert!(
        (lp - want).abs() < 1e-9,
        "{side:?} {lev}×: lp {lp} want {want}"
    );
    // a bar that comes within 0.01 of it does not liquidate
    let near = bar(
        2 * H,
        100.0,
        100.0f64.max(lp + 0.01),
        100.0f64.min(lp + 0.01),
        100.0,
    );
    let near = if s > 0.0 {
        near
    } else {
        bar(2 * H, 100.0, lp - 0.01, 100.0f64.min(lp - 0.01), 100.0)
    };
    assert!(b.sync(&near, 2).unwrap().is_empty(), "{side:?} {lev}×");
    // the bar whose low (long) / high (short) reaches it liquidates at LP
    let touch = if s > 0.0 {
        bar(3 * H, 100.0, 100.0, lp - 0.01, 100.0)
    } else {
        bar(3 * H, 100.0, lp + 0.01, 100.0, 100.0)
    };
    let f = b.sync(&touch, 3).unwrap();
    let t = closed_trade(&f);
    assert_eq!(t.exit_reason, ExitReason::Liquidation);
    assert!((t.exit_price - lp).abs() < 1e-12);
    // what is left at LP is the maintenance margin 0.4 % × LP, below the 0.5 % fee:
    // the whole isolated margin is lost, nothing more
    assert!((t.pnl + wb).abs() < 1e-9, "pnl {}", t.pnl);
    assert!((b.equity() - (100.0 - wb)).abs() < 1e-9);
    assert!(b.position().is_none());
}

#[test]
fn liquidation_at_binance_price_long_and_short_for_10_20_50_125x() {
    for lev in [10.0, 20.0, 50.0, 125.0] {
        liquidation_case(Side::Long, lev);
        liquidation_case(Side::Short, lev);
    }
}

#[test]
fn leverage_above_the_bracket_maximum_is_rejected() {
    // 125× on 1 000 notional is fine; 125× on 100 000 notional (tier 2, max 100×) is not
    let mut b = SimBroker::new(SimConfig {
        leverage: 125.0,
        ..cfg(10_000.0)
    });
    submit(&mut b, entry(Side::Long, 1_000.0), 0, 100.0, 125.0);
    assert!(
        b.sync(&bar(H, 100.0, 100.0, 100.0, 100.0), 1)
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.account().orders_rejected, 1);
}

#[test]
fn funding_every_eight_hours_longs_pay_positive_rates() {
    // 4-hour bars from 00:00; rates on every bar, but only 08:00 and 16:00 count
    let rates = [0.0001, 0.0001, 0.0001, 0.0001, -0.0002, f64::NAN];
    let mut b = SimBroker::new(cfg(1_000.0));
    b.sync_rated(&bar(0, 100.0, 100.0, 100.0, 100.0), 0, &rates);
    submit(&mut b, entry(Side::Long, 2.0), 0, 100.0, 1.0);
    b.sync_rated(&bar(4 * H, 100.0, 100.0, 100.0, 100.0), 1, &rates); // fill; 04:00: no funding
    b.sync_rated(&bar(8 * H, 110.0, 110.0, 110.0, 110.0), 2, &rates); // 08:00: 2 × 110 × 1e-4
    assert!((b.account().funding_paid - 0.022).abs() < 1e-12);
    b.sync_rated(&bar(12 * H, 110.0, 110.0, 110.0, 110.0), 3, &rates); // 12:00: none
    b.sync_rated(&bar(16 * H, 100.0, 100.0, 100.0, 100.0), 4, &rates); // 16:00: receives 0.04
    let paid = 0.022 - 0.04;
    assert!((b.account().funding_paid - paid).abs() < 1e-12);
    // equity = cash + margin + upnl; funding came out of the margin
    assert!((b.equity() - (1_000.0 - paid)).abs() < 1e-9);
    submit(&mut b, Intent::Exit { frac: 1.0 }, 4, 100.0, 1.0);
    let f = b.sync_rated(&bar(20 * H, 100.0, 100.0, 100.0, 100.0), 5, &rates);
    let t = closed_trade(&f);
    assert!(
        (t.pnl + paid).abs() < 1e-12,
        "funding is part of the trade's pnl"
    );

    // a short receives a positive rate
    let mut b = SimBroker::new(cfg(1_000.0));
    submit(&mut b, entry(Side::Short, 1.0), 0, 100.0, 1.0);
    b.sync_rated(&bar(4 * H, 100.0, 100.0, 100.0, 100.0), 1, &rates);
    b.sync_rated(&bar(8 * H, 100.0, 100.0, 100.0, 100.0), 2, &rates);
    assert!((b.account().funding_paid + 0.01).abs() < 1e-12);
}

#[test]
fn unleveraged_short_blowup_ends_in_bankruptcy_with_zero_equity() {
    let mut b = SimBroker::new(cfg(100.0));
    submit(&mut b, entry(Side::Short, 1.0), 0, 100.0, 1.0);
    b.sync(&bar(H, 100.0, 100.0, 100.0, 100.0), 1).unwrap();
    // equity = 0 + 100 + (100 − 205) = −5 at the close → bankrupt
    let f = b.sync(&bar(2 * H, 150.0, 210.0, 150.0, 205.0), 2).unwrap();
    assert_eq!(closed_trade(&f).exit_reason, ExitReason::Liquidation);
    assert!(b.is_bankrupt());
    assert_eq!(b.equity(), 0.0);
    assert!(
        b.sync(&bar(3 * H, 1.0, 1.0, 1.0, 1.0), 3)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn all_cash_sizing_uses_whole_units_net_of_commission() {
    let mut b = SimBroker::new(SimConfig {
        commission: 0.002,
        fractional: false,
        ..SimConfig::default()
    });
    submit(
        &mut b,
        Intent::Enter(Entry::market(Side::Long)),
        0,
        100.0,
        1.0,
    );
    let f = b.sync(&bar(H, 169.02, 170.0, 168.0, 169.0), 1).unwrap();
    // floor(10 000 / (169.02 × 1.002)) = floor(59.05) = 59
    assert_eq!(f[0].qty, 59.0);
}

/// The simulator's `totals` and `position_view` (read from its fields, on every engine
/// step) must say what its `account` says.
fn check_views(b: &SimBroker, t: usize) {
    let a = b.account();
    assert_eq!(Broker::totals(b), super::Totals::of(&a));
    let v = Broker::position_view(b, t);
    assert_eq!(v.equity.to_bits(), a.equity.to_bits());
    match a.position {
        None => {
            assert_eq!(v.side, None);
            assert_eq!(v.qty, 0.0);
            assert_eq!(v.bars_held, 0);
        }
        Some(p) => {
            assert_eq!(v.side, Some(p.side));
            assert_eq!(v.qty.to_bits(), p.qty.to_bits());
            assert_eq!(v.entry_price.to_bits(), p.entry_price.to_bits());
            assert_eq!(v.entry_ts_ms, p.entry_ts_ms);
            assert_eq!(v.bars_held, t.saturating_sub(p.entry_bar));
        }
    }
}

#[test]
fn cheap_views_agree_with_the_account_in_every_state() {
    let mut b = SimBroker::new(SimConfig {
        commission: 0.001,
        ..cfg(100.0)
    });
    check_views(&b, 0);
    submit(&mut b, entry(Side::Long, 0.5), 0, 100.0, 1.0);
    check_views(&b, 0); // a resting order
    b.sync(&bar(H, 101.0, 103.0, 100.0, 102.0), 1).unwrap();
    check_views(&b, 1); // long
    check_views(&b, 7);
    submit(&mut b, entry(Side::Short, 0.5), 1, 102.0, 1.0);
    b.sync(&bar(2 * H, 102.0, 104.0, 101.0, 103.0), 2).unwrap();
    assert_eq!(b.position().map(|p| p.side), Some(Side::Short));
    check_views(&b, 3); // flipped short
    // equity ≈ 49.4 + 51 + 0.5 × (102 − 350) < 0 at the close → bankrupt
    b.sync(&bar(3 * H, 150.0, 400.0, 150.0, 350.0), 3).unwrap();
    assert!(b.is_bankrupt());
    check_views(&b, 3);
}
