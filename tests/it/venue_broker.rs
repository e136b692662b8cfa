//! `Engine<BinanceBroker>` against the fake USD-M exchange: an entry with a stop fills, the
//! stop lives on the exchange as an algo order, an exit closes the position and the stop
//! left behind is cancelled; a restarted bot replaying the same bar does not double the
//! entry; an order below the minimum is not sent and says why.

use std::time::Duration;

use algolab::broker::Broker;
use algolab::core::order::{Entry, Intent, OrderKind, PositionView, Side, Sizing};
use algolab::data::{Bar, Bars};
use algolab::engine::{BacktestConfig, BarInput, Engine, EventKind};
use algolab::net::HttpConfig;
use algolab::strategy::{History, Strategy};
use algolab::venues::binance::{BinanceBroker, BrokerConfig, Credentials, Market, WeightBudget};

use crate::fake_binance::{API_KEY, FakeBinance, SECRET};

/// Acts on a script: bar index → intent.
struct Script(Vec<(usize, Intent)>);

impl Strategy for Script {
    fn name(&self) -> &str {
        "script"
    }
    fn on_bar(&mut self, hist: &History<'_>, _pos: &PositionView) -> Intent {
        let t = hist.index();
        self.0
            .iter()
            .find(|(i, _)| *i == t)
            .map_or(Intent::Hold, |(_, x)| *x)
    }
    fn reset(&mut self) {}
}

fn bars(n: usize) -> Bars {
    Bars::from_bars((0..n).map(|i| Bar {
        ts_ms: 1_700_000_000_000 + i as i64 * 3_600_000,
        open: 50_000.0,
        high: 50_100.0,
        low: 49_900.0,
        close: 50_000.0,
        volume: 1.0,
    }))
    .unwrap()
}

fn config(fake: &FakeBinance) -> BrokerConfig {
    BrokerConfig {
        market: Market::UsdM,
        symbol: "BTC/USDT".into(),
        base_url: fake.url().to_string(),
        credentials: Credentials::new(API_KEY, SECRET).unwrap(),
        leverage: 2,
        http: HttpConfig {
            timeout: Duration::from_secs(30),
            max_tries: 3,
            backoff_base: Duration::from_millis(1),
            max_wait: Duration::from_secs(2),
            seed: 3,
        },
        budget: std::sync::Arc::new(WeightBudget::new(2400)),
    }
}

fn entry(qty: f64, stop: Option<f64>) -> Intent {
    Intent::Enter(Entry {
        side: Side::Long,
        sizing: Sizing::Qty(qty),
        kind: OrderKind::Market,
        stop,
        take_profit: None,
        atr: None,
    })
}

fn engine_cfg() -> BacktestConfig {
    BacktestConfig {
        leverage: 2.0,
        fractional: true,
        ..BacktestConfig::default()
    }
}

#[test]
fn entry_stop_on_the_exchange_exit_and_the_leftover_stop_cancelled() {
    let fake = FakeBinance::start();
    let broker = BinanceBroker::connect(config(&fake)).unwrap();
    assert_eq!(fake.exchange().margin_type, "isolated");
    assert_eq!(fake.exchange().leverage, 2);
    let mut engine = Engine::new(broker, &engine_cfg(), "bot1");
    let data = bars(6);
    let mut s = Script(vec![
        (1, entry(0.01, Some(48_000.0))),
        (4, Intent::Exit { frac: 1.0 }),
    ]);
    let mut all = Vec::new();
    for t in 0..data.len() {
        let ev = engine.step(&mut s, &BarInput::new(&data, t)).unwrap();
        all.extend(ev.iter().cloned());
    }
    let kinds: Vec<String> = all
        .iter()
        .map(|e| match &e.kind {
            EventKind::Submitted { ack, .. } => format!("{}:submitted:{ack:?}", e.t),
            EventKind::Fill(f) => format!("{}:fill:{:?}", e.t, f.action)
                .chars()
                .take(24)
                .collect(),
            EventKind::BrokerFailed { op, error, .. } => format!("{}:failed:{op}:{error}", e.t),
            other => format!(
                "{}:{}",
                e.t,
                format!("{other:?}").chars().take(12).collect::<String>()
            ),
        })
        .collect();
    assert!(!kinds.iter().any(|k| k.contains("failed")), "{kinds:#?}");
    let orders = fake.orders();
    assert_eq!(orders.len(), 2, "entry and exit: {orders:#?}");
    assert_eq!(orders[0].side, "BUY");
    assert_eq!(orders[1].side, "SELL");
    assert!(orders[1].reduce_only, "exits are reduce-only");
    let algos = fake.algo_orders();
    assert_eq!(algos.len(), 1, "one stop placed on the exchange");
    assert_eq!(algos[0].trigger_price, 48_000.0);
    assert_eq!(
        algos[0].status, "CANCELED",
        "the stop of the closed position is cancelled"
    );
    assert_eq!(fake.exchange().position_amt, 0.0);
    let closes = all
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Fill(f) if matches!(f.action, algolab::broker::FillAction::Close { .. })))
        .count();
    assert_eq!(closes, 1, "{kinds:#?}");
    assert!(engine.broker().account().position.is_none());
}

#[test]
fn a_restarted_bot_replaying_its_entry_bar_does_not_double_the_order() {
    let fake = FakeBinance::start();
    let data = bars(3);
    for _run in 0..2 {
        // a fresh process each time: new broker, new engine, same bot id, same bars
        let broker = BinanceBroker::connect(config(&fake)).unwrap();
        let mut engine = Engine::new(broker, &engine_cfg(), "bot2");
        let mut s = Script(vec![(1, entry(0.01, None))]);
        for t in 0..2 {
            engine.step(&mut s, &BarInput::new(&data, t)).unwrap();
        }
    }
    assert_eq!(fake.orders().len(), 1, "{:#?}", fake.orders());
    assert_eq!(fake.exchange().position_amt, 0.01);
}

#[test]
fn an_order_below_the_minimum_is_not_sent_and_the_reason_is_kept() {
    let fake = FakeBinance::start();
    let broker = BinanceBroker::connect(config(&fake)).unwrap();
    let mut engine = Engine::new(broker, &engine_cfg(), "bot3");
    let data = bars(3);
    // 0.001 × 50 000 = 50 USDT < the 100 USDT futures minimum
    let mut s = Script(vec![(1, entry(0.001, None))]);
    let mut acks = Vec::new();
    for t in 0..3 {
        for e in engine.step(&mut s, &BarInput::new(&data, t)).unwrap() {
            if let EventKind::Submitted { ack, .. } = &e.kind {
                acks.push(ack.clone());
            }
        }
    }
    assert_eq!(acks.len(), 1);
    assert!(
        matches!(&acks[0], algolab::broker::Ack::Rejected { code: 0, msg } if msg.contains("notional")),
        "{acks:?}"
    );
    assert_eq!(fake.count("POST", "/fapi/v1/order"), 0);
}
