//! The Binance trading client against the fake exchange on 127.0.0.1: signatures, filters,
//! never a doubled order (lost answers, lost requests, 5xx, replays, duplicates), 429/418,
//! `-1021`, USD-M margin/leverage and algo stops reconciled.

use std::sync::Arc;
use std::time::Duration;

use algolab::net::{HttpClient, HttpConfig};
use algolab::venues::VenueError;
use algolab::venues::binance::{
    Ack, Cancelled, Credentials, Market, NewOrder, OrderKind, OrderSide, OrderStatus, Rest,
    RestConfig, Trader, WeightBudget,
};

use crate::fake_binance::{API_KEY, FakeBinance, Fault, SECRET, Venue};

fn http() -> Arc<HttpClient> {
    Arc::new(
        HttpClient::new(HttpConfig {
            timeout: Duration::from_secs(30),
            max_tries: 3,
            backoff_base: Duration::from_millis(1),
            max_wait: Duration::from_secs(2),
            seed: 7,
        })
        .unwrap(),
    )
}

fn trader_with(
    fake: &FakeBinance,
    market: Market,
    secret: &str,
    budget: Arc<WeightBudget>,
) -> Trader {
    let creds = Credentials::new(API_KEY, secret).unwrap();
    Trader::new(Rest::new(
        http(),
        fake.url(),
        market,
        Some(creds),
        budget,
        RestConfig::default(),
    ))
}

fn trader(fake: &FakeBinance, market: Market) -> Trader {
    trader_with(fake, market, SECRET, Arc::new(WeightBudget::new(6000)))
}

fn market_buy(id: &str, qty: f64) -> NewOrder {
    NewOrder {
        symbol: "BTCUSDT".into(),
        side: OrderSide::Buy,
        kind: OrderKind::Market {
            reference: 50_000.0,
        },
        qty,
        client_id: id.into(),
        reduce_only: false,
    }
}

fn accepted(ack: &Ack) -> (algolab::venues::binance::OrderReport, bool) {
    match ack {
        Ack::Accepted {
            order,
            already_placed,
        } => (order.clone(), *already_placed),
        other => panic!("expected Accepted, got {other:?}"),
    }
}

const ORDER: &str = "/api/v3/order";

#[tokio::test]
async fn spot_market_buy_is_signed_rounded_down_and_filled() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::Spot);
    let rules = t.rules("BTCUSDT").await.unwrap();
    let ack = t
        .place(&market_buy("b1_1_e0", 0.0123456), &rules)
        .await
        .unwrap();
    let (o, again) = accepted(&ack);
    assert!(!again);
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.executed_qty, 0.01234, "rounded down to the 0.00001 step");
    assert_eq!(o.avg_price, 50_000.0);
    let sent = fake.requests();
    let post = sent.iter().find(|r| r.method == "POST").unwrap();
    let names: Vec<&str> = post.params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names.last(), Some(&"signature"), "{names:?}");
    assert!(names.contains(&"timestamp") && names.contains(&"recvWindow"));
    assert_eq!(fake.orders_with_client_id("b1_1_e0"), 1);
    let fills = t.fills_since("BTCUSDT", 0).await.unwrap();
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].qty, 0.01234);
}

#[tokio::test]
async fn a_lost_answer_is_resolved_by_a_query_never_by_a_resend() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::Spot);
    let rules = t.rules("BTCUSDT").await.unwrap();
    fake.fail_next("POST", ORDER, Fault::DropAnswer);
    let ack = t.place(&market_buy("b1_2_e0", 0.01), &rules).await.unwrap();
    let (o, _) = accepted(&ack);
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(
        fake.count("POST", ORDER),
        1,
        "the order must not be sent twice"
    );
    assert_eq!(fake.orders_with_client_id("b1_2_e0"), 1);
}

#[tokio::test]
async fn a_lost_request_is_resent_only_after_order_does_not_exist() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::Spot);
    let rules = t.rules("BTCUSDT").await.unwrap();
    fake.fail_next("POST", ORDER, Fault::DropRequest);
    let ack = t.place(&market_buy("b1_3_e0", 0.01), &rules).await.unwrap();
    accepted(&ack);
    assert_eq!(fake.count("POST", ORDER), 2);
    // query first, query after the lost answer (-2013), then the resend succeeded
    assert_eq!(fake.count("GET", ORDER), 2);
    assert_eq!(fake.orders_with_client_id("b1_3_e0"), 1);
}

#[tokio::test]
async fn a_5xx_on_submit_is_unknown_until_queried() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::Spot);
    let rules = t.rules("BTCUSDT").await.unwrap();
    for code in [None, Some(-1007)] {
        let id = format!("b1_5xx_{}", code.is_some());
        fake.fail_next(
            "POST",
            ORDER,
            Fault::Error {
                status: if code.is_some() { 408 } else { 503 },
                code,
                msg: "Timeout waiting for response from backend server.".into(),
                retry_after_s: None,
            },
        );
        let ack = t.place(&market_buy(&id, 0.01), &rules).await.unwrap();
        accepted(&ack);
        assert_eq!(fake.orders_with_client_id(&id), 1);
    }
    assert_eq!(fake.count("POST", ORDER), 4);
}

#[tokio::test]
async fn replaying_a_filled_market_order_after_a_crash_does_not_double_it() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::Spot);
    let rules = t.rules("BTCUSDT").await.unwrap();
    let order = market_buy("b1_4_e0", 0.01);
    let (_, first) = accepted(&t.place(&order, &rules).await.unwrap());
    // a fresh process (new client) replays the same intent
    let t2 = trader(&fake, Market::Spot);
    let (o, again) = accepted(&t2.place(&order, &rules).await.unwrap());
    assert!(!first && again);
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(fake.count("POST", ORDER), 1);
    assert_eq!(fake.orders_with_client_id("b1_4_e0"), 1);
}

#[tokio::test]
async fn a_duplicate_of_an_open_order_counts_as_already_placed() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::Spot);
    let rules = t.rules("BTCUSDT").await.unwrap();
    let limit = NewOrder {
        kind: OrderKind::Limit { price: 40_000.0 },
        ..market_buy("b1_6_e0", 0.01)
    };
    accepted(&t.place(&limit, &rules).await.unwrap());
    // a stale query says "does not exist", so the send goes out and hits -2010
    fake.fail_next(
        "GET",
        ORDER,
        Fault::Error {
            status: 400,
            code: Some(-2013),
            msg: "Order does not exist.".into(),
            retry_after_s: None,
        },
    );
    let (o, again) = accepted(&t.place(&limit, &rules).await.unwrap());
    assert!(again);
    assert_eq!(o.status, OrderStatus::New);
    assert_eq!(fake.count("POST", ORDER), 2);
    assert_eq!(fake.orders_with_client_id("b1_6_e0"), 1);
}

#[tokio::test]
async fn orders_below_the_minimum_are_not_sent() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::Spot);
    let rules = t.rules("BTCUSDT").await.unwrap();
    // 0.00005 × 50 000 = 2.5 USDT < 5
    let ack = t
        .place(&market_buy("b1_7_e0", 0.00005), &rules)
        .await
        .unwrap();
    let Ack::NotSent { reason } = ack else {
        panic!("expected NotSent, got {ack:?}")
    };
    assert!(reason.contains("notional"), "{reason}");
    assert_eq!(fake.count("POST", ORDER), 0);
}

#[tokio::test]
async fn a_429_waits_retry_after_then_succeeds() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::Spot);
    fake.fail_next(
        "GET",
        "/api/v3/openOrders",
        Fault::Error {
            status: 429,
            code: Some(-1003),
            msg: "Too much request weight used.".into(),
            retry_after_s: Some(1),
        },
    );
    let open = t.open_orders("BTCUSDT").await.unwrap();
    assert!(open.is_empty());
    assert_eq!(fake.count("GET", "/api/v3/openOrders"), 2);
}

#[tokio::test]
async fn a_418_ban_holds_back_every_client_sharing_the_budget() {
    let fake = FakeBinance::start();
    let budget = Arc::new(WeightBudget::new(6000));
    let a = trader_with(&fake, Market::Spot, SECRET, Arc::clone(&budget));
    let b = trader_with(&fake, Market::Spot, SECRET, Arc::clone(&budget));
    a.open_orders("BTCUSDT").await.unwrap();
    fake.fail_next(
        "GET",
        "/api/v3/openOrders",
        Fault::Error {
            status: 418,
            code: Some(-1003),
            msg: "Way too much request weight used; IP banned.".into(),
            retry_after_s: Some(300),
        },
    );
    let e = a.open_orders("BTCUSDT").await.unwrap_err();
    assert!(e.to_string().contains("rate limited"), "{e}");
    let before = fake.requests().len();
    let e = b.open_orders("BTCUSDT").await.unwrap_err();
    assert!(e.to_string().contains("rate limited"), "{e}");
    assert_eq!(
        fake.requests().len(),
        before,
        "nothing is sent during a ban"
    );
}

#[tokio::test]
async fn a_stale_timestamp_resyncs_the_clock_and_retries_once() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::Spot);
    t.open_orders("BTCUSDT").await.unwrap();
    assert_eq!(fake.count("GET", "/api/v3/time"), 1);
    // the server clock falls 30 s behind ours: our timestamps are now in its future
    fake.exchange().skew_ms -= 30_000;
    t.open_orders("BTCUSDT").await.unwrap();
    assert_eq!(fake.count("GET", "/api/v3/time"), 2);
    let rejected = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v3/openOrders" && r.status == 400)
        .count();
    assert_eq!(rejected, 1);
    assert!(
        (t.rest().offset_ms() + 30_000).abs() < 2_000,
        "{}",
        t.rest().offset_ms()
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_never_echoed() {
    let fake = FakeBinance::start();
    let wrong = "wrongSecretValueThatMustNeverAppear0123456789";
    let t = trader_with(
        &fake,
        Market::Spot,
        wrong,
        Arc::new(WeightBudget::new(6000)),
    );
    let e = t.open_orders("BTCUSDT").await.unwrap_err();
    assert_eq!(e.code(), Some(-1022));
    let shown = format!("{e} {e:?} {:?}", t.rest());
    assert!(!shown.contains(wrong), "{shown}");
    assert!(!shown.contains("signature="), "{shown}");
}

#[tokio::test]
async fn spot_stop_is_a_stop_loss_limit_that_can_be_cancelled_once() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::Spot);
    let rules = t.rules("BTCUSDT").await.unwrap();
    accepted(&t.place(&market_buy("b1_8_e0", 0.01), &rules).await.unwrap());
    let stop = NewOrder {
        side: OrderSide::Sell,
        kind: OrderKind::Stop { stop: 48_000.0 },
        ..market_buy("b1_8_p0", 0.01)
    };
    let (o, _) = accepted(&t.place(&stop, &rules).await.unwrap());
    assert_eq!(o.order_type, "STOP_LOSS_LIMIT");
    assert_eq!(o.stop_price, 48_000.0);
    assert_eq!(o.price, 47_760.0, "0.5 % below the trigger");
    let open = t.open_orders("BTCUSDT").await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        t.cancel("BTCUSDT", "b1_8_p0").await.unwrap(),
        Cancelled::Done
    );
    assert_eq!(
        t.cancel("BTCUSDT", "b1_8_p0").await.unwrap(),
        Cancelled::NotOpen
    );
}

#[tokio::test]
async fn futures_position_with_an_algo_stop_is_reconciled_before_and_after_the_trigger() {
    let fake = FakeBinance::start();
    let t = trader(&fake, Market::UsdM);
    t.set_margin_type("BTCUSDT", true).await.unwrap();
    t.set_margin_type("BTCUSDT", true).await.unwrap(); // -4046 is success
    assert_eq!(t.set_leverage("BTCUSDT", 5).await.unwrap(), 5);
    let rules = t.rules("BTCUSDT").await.unwrap();
    assert_eq!(rules.min_notional, 100.0);
    accepted(
        &t.place(&market_buy("b2_1_e0", 0.0109), &rules)
            .await
            .unwrap(),
    );
    let stop = NewOrder {
        side: OrderSide::Sell,
        kind: OrderKind::Stop { stop: 48_000.0 },
        reduce_only: true,
        ..market_buy("b2_1_p0", 0.01)
    };
    fake.fail_next("POST", "/fapi/v1/algoOrder", Fault::DropAnswer);
    let ack = t.place(&stop, &rules).await.unwrap();
    assert!(matches!(ack, Ack::AcceptedAlgo { .. }), "{ack:?}");
    let ack = t.place(&stop, &rules).await.unwrap();
    assert!(
        matches!(
            ack,
            Ack::AcceptedAlgo {
                already_placed: true,
                ..
            }
        ),
        "{ack:?}"
    );
    assert_eq!(fake.algo_orders().len(), 1);
    assert_eq!(
        fake.count("POST", "/fapi/v1/order"),
        1,
        "no stop on the plain order endpoint"
    );

    let r = t.reconcile("BTCUSDT", 0).await.unwrap();
    assert_eq!(r.position.as_ref().map(|p| p.amt), Some(0.01));
    assert!(
        r.open_orders.is_empty(),
        "algo orders are not in openOrders"
    );
    assert_eq!(r.open_algo_orders.len(), 1);
    assert_eq!(r.open_algo_orders[0].trigger_price, 48_000.0);
    assert_eq!(r.fills.len(), 1);
    assert!(r.unknown_orders(|id| id.starts_with("b2_")).is_empty());

    fake.set_price(Venue::Futures, 47_500.0);
    let r = t.reconcile("BTCUSDT", 0).await.unwrap();
    assert!(
        r.position.is_none(),
        "the stop closed the position on the exchange"
    );
    assert!(r.open_algo_orders.is_empty());
    assert_eq!(r.fills.len(), 2);
    assert_eq!(r.fills[1].side, OrderSide::Sell);
    assert!((r.fills[1].realized_pnl - 0.01 * (47_500.0 - 50_000.0)).abs() < 1e-9);
    assert_eq!(t.cancel_algo("b2_1_p0").await.unwrap(), Cancelled::NotOpen);
}

#[tokio::test]
async fn signed_calls_without_credentials_fail_with_a_usage_error() {
    let fake = FakeBinance::start();
    let rest = Rest::new(
        http(),
        fake.url(),
        Market::Spot,
        None,
        Arc::new(WeightBudget::new(6000)),
        RestConfig::default(),
    );
    let e = Trader::new(rest).open_orders("BTCUSDT").await.unwrap_err();
    assert!(matches!(e, VenueError::Auth(_)), "{e:?}");
    assert_eq!(e.exit_code(), 2);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn funding_payments_are_read_signed_by_time_and_paged_each_once() {
    use crate::fake_binance::FUNDING_PERIOD_MS;
    let fake = FakeBinance::start();
    // a clock just after a funding time, then a long position of 0.1 BTC
    let start = 1_700_006_400_000 - 1_700_006_400_000 % FUNDING_PERIOD_MS + 1_000;
    fake.exchange().set_time(start);
    fake.exchange().funding_rate = 0.0001;
    let t = trader(&fake, Market::UsdM);
    let rules = t.rules("BTCUSDT").await.unwrap();
    accepted(&t.place(&market_buy("f1_1_e0", 0.1), &rules).await.unwrap());
    // ten funding times pass
    fake.exchange().set_time(start + 10 * FUNDING_PERIOD_MS);
    let wallet_before = fake.exchange().wallet;
    let all = t.funding_since("BTCUSDT", start, 3).await.unwrap();
    assert_eq!(all.len(), 10, "{all:#?}");
    let paid = 0.1 * 50_000.0 * 0.0001;
    for (k, f) in all.iter().enumerate() {
        assert_eq!(
            f.time_ms,
            start - 1_000 + (k as i64 + 1) * FUNDING_PERIOD_MS
        );
        assert!(
            (f.paid - paid).abs() < 1e-9,
            "a long pays a positive rate: {f:?}"
        );
        assert_eq!(f.asset, "USDT");
    }
    let mut ids: Vec<i64> = all.iter().map(|f| f.tran_id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 10, "each payment once across the pages");
    assert!((wallet_before - fake.exchange().wallet - 10.0 * paid).abs() < 1e-6);
    // filtered by time: from the sixth payment on
    let later = t
        .funding_since("BTCUSDT", all[5].time_ms, 1000)
        .await
        .unwrap();
    assert_eq!(later, all[5..].to_vec());
    // every income request was signed (the fake refuses bad signatures; the first one after
    // the clock jump met -1021 and was resent after a resync)
    let income: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/fapi/v1/income")
        .collect();
    assert!(
        income
            .iter()
            .all(|r| r.params.iter().any(|(k, _)| k == "signature"))
    );
    assert!(
        income.iter().filter(|r| r.status == 200).count() >= 5,
        "{income:#?}"
    );
    // spot has no funding: nothing is asked
    let spot = trader(&fake, Market::Spot);
    let before = fake.count("GET", "/fapi/v1/income");
    assert!(
        spot.funding_since("BTCUSDT", 0, 1000)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(fake.count("GET", "/fapi/v1/income"), before);
}
