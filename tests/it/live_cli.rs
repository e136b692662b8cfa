//! `algolab live` end to end against the fake Binance on 127.0.0.1 (the real binary as a
//! subprocess): flags and keys, ticks on new closed klines with the exchange clock, kill -9
//! at random points of many ticks — including while the exchange holds back the answer to
//! an order — after which positions, orders and state files agree and every client order
//! id produced at most one order; a lost submit answer, 429 and 418 with `Retry-After`,
//! `-1021`, orders the bot did not place, and no secret in any file or output.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use algolab::runner::PaperState;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::fake_binance::{API_KEY, FakeBinance, Fault, SECRET, Venue};
use crate::util::{TestDir, texts};

const H: i64 = 3_600_000;
/// An hour boundary.
const T0: i64 = 1_700_002_800_000;

/// A bot of one test: the fake exchange, a DATA_DIR and a price path.
struct Rig {
    fake: FakeBinance,
    dir: TestDir,
    bars: Vec<(i64, [f64; 5])>,
    outputs: Vec<String>,
    /// Fills land this fraction above the bar's close (slippage against the backtest).
    slip: f64,
    /// Configure Telegram (at a dead loopback port: every send fails).
    telegram: bool,
    /// Trade USD-M futures instead of spot.
    futures: bool,
}

/// A Telegram token that must never be shown.
const TG_TOKEN: &str = "777:TG-TOKEN-never-shown";

impl Rig {
    fn new(n: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut bars = Vec::with_capacity(n);
        let mut prev = 50_000.0;
        for k in 0..n {
            let wave = (k as f64 * std::f64::consts::TAU / 9.0).sin();
            let close: f64 = 50_000.0 * (1.0 + 0.04 * wave) + rng.random_range(-50.0..50.0);
            let close = (close * 100.0).round() / 100.0;
            let open: f64 = prev;
            bars.push((
                T0 + k as i64 * H,
                [
                    open,
                    open.max(close) + 20.0,
                    open.min(close) - 20.0,
                    close,
                    10.0,
                ],
            ));
            prev = close;
        }
        Rig {
            fake: FakeBinance::start(),
            dir: TestDir::new(),
            bars,
            outputs: Vec::new(),
            slip: 0.0,
            telegram: false,
            futures: false,
        }
    }

    /// Make bar `k` the latest closed one: klines up to it, the clock just after its close,
    /// the price at its close.
    fn show(&self, k: usize) {
        let venue = if self.futures {
            Venue::Futures
        } else {
            Venue::Spot
        };
        self.fake.set_klines(venue, "1h", self.bars[..=k].to_vec());
        let mut ex = self.fake.exchange();
        ex.set_time(self.bars[k].0 + H + 5_000);
        ex.set_price(venue, self.bars[k].1[3] * (1.0 + self.slip));
    }

    fn cmd(&self, extra: &[&str]) -> std::process::Command {
        let mut args = vec![
            "live",
            "--symbol",
            "BTC/USDT",
            "--interval",
            "1h",
            "--strategy",
            "sma-cross",
            "--param",
            "fast=3",
            "--param",
            "slow=8",
            "--param",
            "long_only=true",
            "--fractional",
            "--commission",
            "0.001",
            "--warmup",
            "20",
            "--json",
            "-q",
        ];
        if !extra.contains(&"--bot") {
            args.extend_from_slice(&["--bot", "b1"]);
        }
        if self.futures {
            args.extend_from_slice(&["--futures", "--leverage", "2"]);
        }
        args.extend_from_slice(extra);
        let mut c = self.dir.cmd(&args);
        c.env("BINANCE_API_KEY", API_KEY)
            .env("BINANCE_SECRET", SECRET)
            .env("ALGOLAB_BINANCE_URL", self.fake.url())
            .env("ALGOLAB_BINANCE_FUTURES_URL", self.fake.url())
            .env("ALGOLAB_HTTP_BACKOFF_MS", "1")
            .env("ALGOLAB_HTTP_MAX_WAIT_MS", "3000")
            // the test ticks far more often than a bot does; the ban still holds
            .env("ALGOLAB_BINANCE_WEIGHT_LIMIT", "1000000")
            .env_remove("TELEGRAM_BOT_TOKEN")
            .env_remove("TELEGRAM_CHAT_ID");
        if self.telegram {
            c.env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
                .env("TELEGRAM_CHAT_ID", "1")
                .env("ALGOLAB_TELEGRAM_URL", "http://127.0.0.1:9");
        }
        c
    }

    fn run(&mut self) -> Output {
        let out = self.cmd(&[]).output().unwrap();
        let (o, e) = texts(&out);
        self.outputs.push(o);
        self.outputs.push(e);
        out
    }

    fn tick(&mut self) -> serde_json::Value {
        let out = self.run();
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "live tick failed: {stderr}");
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    fn state(&self) -> PaperState {
        let p = self.dir.path().join("data/bots/b1/state.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    fn btc(&self) -> f64 {
        self.fake
            .exchange()
            .balances
            .get("BTC")
            .map_or(0.0, |b| b.0 + b.1)
    }

    /// Positions, orders and state agree; every client id produced at most one order.
    fn check_agree(&self, when: &str) {
        let orders = self.fake.orders();
        for o in &orders {
            assert_eq!(
                self.fake.orders_with_client_id(&o.client_id),
                1,
                "{when}: client id {} placed twice: {orders:#?}",
                o.client_id
            );
        }
        let s = self.state();
        let booked = s.position.as_ref().map_or(0.0, |p| p.qty);
        assert!(
            (booked - self.btc()).abs() < 1e-9,
            "{when}: state says {booked} BTC, the exchange {}",
            self.btc()
        );
        let live = s.live.as_ref().expect("live info");
        assert!(
            live.last_check.unknown_orders.is_empty(),
            "{when}: {live:?}"
        );
        assert!(orders.iter().all(|o| !o.is_open()), "{when}: {orders:#?}");
        // bars.csv, appended to by every tick: whole rows, each bar once, up to the last
        let bars = algolab::data::load(&self.dir.path().join("data/bots/b1/bars.csv"))
            .unwrap_or_else(|e| panic!("{when}: bars.csv: {e}"));
        assert_eq!(bars.ts_ms().last(), Some(&s.last_bar_ts_ms), "{when}");
    }
}

fn scan_for_secret(root: &Path, found: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            scan_for_secret(&p, found);
        } else if let Ok(bytes) = std::fs::read(&p) {
            let text = String::from_utf8_lossy(&bytes);
            if text.contains(SECRET) || text.contains(TG_TOKEN) {
                found.push(p.display().to_string());
            }
        }
    }
}

fn assert_no_secret(rig: &Rig) {
    let mut found = Vec::new();
    scan_for_secret(rig.dir.path(), &mut found);
    assert!(found.is_empty(), "the secret is in {found:?}");
    for (i, o) in rig.outputs.iter().enumerate() {
        assert!(!o.contains(SECRET), "the secret is in output {i}: {o}");
        assert!(!o.contains(TG_TOKEN), "the bot token is in output {i}: {o}");
    }
}

#[test]
fn live_flags_and_keys_are_checked_before_anything_runs() {
    let rig = Rig::new(1, 1);
    let run = |extra: &[&str], keys: bool| {
        let mut c = rig.cmd(extra);
        if !keys {
            c.env_remove("BINANCE_API_KEY").env_remove("BINANCE_SECRET");
        }
        c.output().unwrap()
    };
    let out = run(&["--live"], true);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        texts(&out).1.contains("--i-understand-real-money"),
        "{:?}",
        texts(&out)
    );
    let out = run(&["--i-understand-real-money"], true);
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("--live"), "{:?}", texts(&out));
    let out = run(&[], false);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        texts(&out).1.contains("BINANCE_API_KEY"),
        "{:?}",
        texts(&out)
    );
    assert!(rig.fake.requests().is_empty(), "nothing may be sent");
}

#[test]
fn live_ticks_on_closed_exchange_bars_and_survive_kill_9_anywhere() {
    let n = 80;
    let mut rig = Rig::new(n, 13);
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let first = 30;
    rig.show(first);
    let v = rig.tick();
    assert_eq!(v["bars_acted"], 1, "{v}");
    assert_eq!(v["bars_warmup"], 20, "--warmup 20: {v}");
    assert_eq!(rig.state().last_bar_ts_ms, rig.bars[first].0);
    rig.check_agree("first tick");
    // a tick with nothing new: reconciles, records the check, sends no order
    let v = rig.tick();
    assert_eq!(v["status"], "idle", "{v}");
    let (mut kills, mut mid_order) = (0, 0);
    let mut tick_ms = Vec::new();
    for k in first + 1..n {
        rig.show(k);
        let orders_before = rig.fake.orders().len();
        match rng.random_range(0..4u32) {
            1 => {
                // kill at a random moment of the tick
                let mut child = rig
                    .cmd(&[])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                std::thread::sleep(Duration::from_millis(rng.random_range(0..250)));
                let _ = child.kill();
                let _ = child.wait();
                kills += 1;
                // cron runs it again (same bar: the redo must not double anything)
                rig.tick();
            }
            _ => {
                // kill while the exchange holds back the answer to an order submit (when
                // this bar trades; otherwise the tick runs through)
                rig.fake.fail_next(
                    "POST",
                    "/api/v3/order",
                    Fault::DelayAnswer(Duration::from_secs(3)),
                );
                let mut child = rig
                    .cmd(&[])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let start = Instant::now();
                let placed = loop {
                    if rig.fake.orders().len() > orders_before {
                        break true;
                    }
                    if child.try_wait().unwrap().is_some() || start.elapsed().as_secs() > 10 {
                        break false;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                };
                if placed {
                    mid_order += 1;
                    kills += 1;
                } else {
                    tick_ms.push(start.elapsed().as_millis());
                }
                let _ = child.kill();
                let _ = child.wait();
                rig.fake.clear_faults();
                rig.tick();
            }
        }
        rig.check_agree(&format!("bar {k}"));
        assert_eq!(rig.state().last_bar_ts_ms, rig.bars[k].0);
    }
    let orders = rig.fake.orders();
    assert!(orders.len() >= 6, "the strategy should trade: {orders:#?}");
    assert!(kills >= 15, "{kills} kills");
    assert!(
        kills - mid_order >= 8,
        "{kills} kills, {mid_order} mid-order"
    );
    assert!(
        mid_order >= 3,
        "{mid_order} kills between submit and answer"
    );
    // the state's trade list matches the exchange's round trips (long only: sells close)
    let sells = orders.iter().filter(|o| o.side == "SELL").count();
    assert_eq!(rig.state().trades.len(), sells);
    // the learning DB holds the bot once, and each of its trades once, despite the kills
    let store = algolab::store::Store::open(&rig.dir.path().join("data/ai_learning.db")).unwrap();
    let runs: Vec<_> = store
        .list_runs(100)
        .unwrap()
        .into_iter()
        .filter(|r| r.record.command == "testnet")
        .collect();
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let stored = store.load_trades(runs[0].id).unwrap();
    assert_eq!(stored.len(), sells);
    let exits: Vec<i64> = rig.state().trades.iter().map(|t| t.exit_ts_ms).collect();
    assert_eq!(
        stored.iter().map(|t| t.exit_ts_ms).collect::<Vec<_>>(),
        exits
    );
    assert_no_secret(&rig);
    tick_ms.sort_unstable();
    eprintln!(
        "live tick (debug build, fake exchange): median {} ms over {} ticks; {kills} kills, {mid_order} mid-order",
        tick_ms.get(tick_ms.len() / 2).copied().unwrap_or(0),
        tick_ms.len()
    );
}

/// Tick bar after bar until the exchange has `n` orders (at most `max` bars).
fn tick_until_orders(rig: &mut Rig, from: usize, n: usize, max: usize) -> usize {
    for k in from..from + max {
        rig.show(k);
        rig.tick();
        if rig.fake.orders().len() >= n {
            return k;
        }
    }
    panic!("no order after {max} bars");
}

#[test]
fn a_lost_submit_answer_is_queried_never_resent() {
    let mut rig = Rig::new(60, 5);
    rig.show(30);
    rig.tick();
    rig.fake
        .fail_next("POST", "/api/v3/order", Fault::DropAnswer);
    let k = tick_until_orders(&mut rig, 31, 1, 25);
    assert_eq!(rig.fake.count("POST", "/api/v3/order"), 1, "sent once");
    let id = rig.fake.orders()[0].client_id.clone();
    // the next tick resolves it by client id and books the fill
    rig.show(k + 1);
    rig.tick();
    assert_eq!(rig.fake.orders_with_client_id(&id), 1);
    assert!(
        rig.fake.requests().iter().any(|r| r.method == "GET"
            && r.path == "/api/v3/order"
            && r.params
                .iter()
                .any(|(k, v)| k == "origClientOrderId" && *v == id)),
        "queried by origClientOrderId"
    );
    rig.check_agree("after the lost answer");
}

#[test]
fn rate_limits_and_clock_skew_through_the_live_command() {
    let mut rig = Rig::new(60, 7);
    // a dead Telegram: every tick tries to tell it (trades, the 418 error) and goes on
    rig.telegram = true;
    rig.show(30);
    rig.tick();
    // 429 with a short Retry-After: waited out, the tick succeeds
    rig.fake.fail_next(
        "GET",
        "/api/v3/account",
        Fault::Error {
            status: 429,
            code: Some(-1003),
            msg: "Too many requests.".into(),
            retry_after_s: Some(1),
        },
    );
    rig.show(31);
    rig.tick();
    assert_eq!(rig.state().last_bar_ts_ms, rig.bars[31].0);
    // -1021 on the order: resync the clock, send once more, one order
    rig.fake.fail_next(
        "POST",
        "/api/v3/order",
        Fault::Error {
            status: 400,
            code: Some(-1021),
            msg: "Timestamp for this request is outside of the recvWindow.".into(),
            retry_after_s: None,
        },
    );
    let k = tick_until_orders(&mut rig, 32, 1, 25);
    let posts = rig.fake.count("POST", "/api/v3/order");
    assert_eq!(posts, 2, "one refused for the clock, one placed");
    assert_eq!(rig.fake.orders().len(), 1);
    rig.show(k + 1);
    rig.tick();
    rig.check_agree("after -1021");
    // 418 (IP ban) for two minutes: the tick fails (exit 1) without touching the state
    rig.fake.fail_next(
        "GET",
        "/api/v3/account",
        Fault::Error {
            status: 418,
            code: Some(-1003),
            msg: "Way too many requests; IP banned until later.".into(),
            retry_after_s: Some(120),
        },
    );
    rig.show(k + 2);
    let before = rig.state();
    let out = rig.run();
    assert_eq!(out.status.code(), Some(1), "{:?}", texts(&out));
    assert!(texts(&out).1.contains("rate limit"), "{:?}", texts(&out));
    assert_eq!(rig.state(), before, "a failed tick changes nothing");
    // another bot process of this machine respects the ban: it sends nothing at all
    let sent = rig.fake.requests().len();
    let out = rig.cmd(&["--bot", "b2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", texts(&out));
    assert!(texts(&out).1.contains("rate limit"), "{:?}", texts(&out));
    assert_eq!(
        rig.fake.requests().len(),
        sent,
        "nothing sent during the ban"
    );
    let (o, e) = texts(&out);
    rig.outputs.extend([o, e]);
    assert_no_secret(&rig);
}

#[test]
fn orders_the_bot_did_not_place_are_reported_and_left_alone() {
    let mut rig = Rig::new(40, 9);
    rig.show(30);
    rig.tick();
    rig.fake
        .exchange()
        .place_foreign_limit("manual-1", "BUY", 0.001, 40_000.0);
    rig.show(31);
    let v = rig.tick();
    let live = &v["state"]["live"];
    assert_eq!(live["last_check"]["unknown_orders"][0], "manual-1", "{v}");
    assert!(
        live["alerts"][0]
            .as_str()
            .unwrap_or_default()
            .contains("manual-1"),
        "{v}"
    );
    let o = rig.fake.orders();
    assert!(o.iter().any(|o| o.client_id == "manual-1" && o.is_open()));
}

#[test]
fn reconcile_shows_what_the_exchange_cost_against_the_backtest() {
    let mut rig = Rig::new(70, 21);
    // below the close, so an all-cash buy still fits the balance
    rig.slip = -0.001;
    for k in 30..70 {
        rig.show(k);
        rig.tick();
    }
    let out = rig.dir.run(&["reconcile", "b1", "--json"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["mode"], "testnet");
    let matched = v["matched"].as_u64().unwrap();
    assert!(matched >= 3, "{v}");
    // fills 10 bps below the close: longs buy 10 bps cheaper (a gain, -10) and sell 10 bps
    // cheaper (a cost, +10) than the backtest's fills at the next open (= this close)
    let entry = v["mean_entry_gap_bps"].as_f64().unwrap();
    let exit = v["mean_exit_gap_bps"].as_f64().unwrap();
    assert!((entry + 10.0).abs() < 0.01, "{v}");
    assert!((exit - 10.0).abs() < 0.01, "{v}");
    assert!(
        v["funding_bot"].is_null(),
        "spot funding is not tracked: {v}"
    );
    assert_ne!(v["pnl_bot"], v["pnl_backtest"], "{v}");
}

#[test]
fn a_futures_bot_sets_isolated_margin_and_leverage_and_agrees_with_the_exchange() {
    let mut rig = Rig::new(60, 17);
    rig.futures = true;
    for k in 30..60 {
        rig.show(k);
        rig.tick();
        let s = rig.state();
        let booked = s.position.as_ref().map_or(0.0, |p| p.qty);
        let amt = rig.fake.exchange().position_amt;
        assert!(
            (booked - amt).abs() < 1e-9,
            "bar {k}: state {booked}, exchange {amt}"
        );
    }
    let ex = rig.fake.exchange().clone();
    assert_eq!(ex.margin_type, "isolated");
    assert_eq!(ex.leverage, 2);
    let orders = ex.orders;
    assert!(orders.len() >= 4, "the strategy should trade: {orders:#?}");
    for o in &orders {
        assert_eq!(rig.fake.orders_with_client_id(&o.client_id), 1, "{o:?}");
    }
    assert_eq!(rig.state().live.unwrap().market, "usdm");
}

#[test]
fn a_futures_bot_books_the_exchanges_funding_and_reconcile_compares_it_per_trade() {
    let mut rig = Rig::new(70, 17);
    rig.futures = true;
    rig.fake.exchange().funding_rate = 0.0001;
    for k in 30..70 {
        rig.show(k);
        rig.tick();
    }
    let incomes = rig.fake.exchange().incomes.clone();
    assert!(
        incomes.len() >= 2,
        "the bot must hold positions over funding times: {incomes:?}"
    );
    let s = rig.state();
    let live = s.live.as_ref().unwrap();
    // the ledger: every payment of the exchange, once, paid = -income
    let mut ids: Vec<i64> = live.funding.iter().map(|f| f.tran_id).collect();
    ids.sort_unstable();
    let mut want: Vec<i64> = incomes.iter().map(|i| i.tran_id).collect();
    want.sort_unstable();
    assert_eq!(ids, want);
    let total: f64 = -incomes.iter().map(|i| i.income).sum::<f64>();
    assert!(
        (s.funding_paid - total).abs() < 1e-6,
        "{} vs {total}",
        s.funding_paid
    );
    // attributed to the trades (and the open position) that held the position then
    let attributed: f64 = s.trades.iter().filter_map(|t| t.funding).sum::<f64>()
        + s.position.as_ref().and_then(|p| p.funding).unwrap_or(0.0);
    assert!((attributed - total).abs() < 1e-6, "{attributed} vs {total}");
    assert!(s.trades.iter().any(|t| t.funding.is_some_and(|f| f != 0.0)));
    // the learning DB keeps each payment once
    let store = algolab::store::Store::open(&rig.dir.path().join("data/ai_learning.db")).unwrap();
    let run = store
        .list_runs(10)
        .unwrap()
        .into_iter()
        .find(|r| r.record.command == "testnet")
        .expect("the bot's run");
    assert_eq!(store.load_bot_funding(run.id).unwrap().len(), incomes.len());

    // reconcile: the bot's funding next to the backtest's, trade by trade
    let out = rig.dir.run(&["reconcile", "b1", "--json"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(
        (v["funding_bot"].as_f64().unwrap() - total).abs() < 1e-6,
        "{v}"
    );
    let bt_total = v["funding_backtest"].as_f64().unwrap();
    assert!(
        (bt_total - total).abs() <= 0.02 * total.abs(),
        "the backtest charges the same rates on about the same size: {v}"
    );
    let mut compared = 0;
    for r in v["rows"].as_array().unwrap() {
        if r["agree"] != true {
            continue;
        }
        let (b, t) = (
            r["bot_funding"].as_f64().unwrap(),
            r["backtest_funding"].as_f64().unwrap(),
        );
        assert!((b - t).abs() <= 0.02 * t.abs() + 1e-9, "{r}");
        compared += usize::from(t != 0.0);
    }
    assert!(compared >= 1, "some matched trade paid funding: {v}");
}

#[test]
fn a_futures_stop_left_behind_by_a_closed_position_is_cancelled_by_the_next_tick() {
    let mut rig = Rig::new(70, 17);
    rig.futures = true;
    let tick = |rig: &mut Rig| {
        let out = rig.cmd(&["--risk", "standard"]).output().unwrap();
        let (o, e) = texts(&out);
        assert!(out.status.success(), "live tick failed: {e}");
        rig.outputs.push(o);
        rig.outputs.push(e);
    };
    // tick until the bot holds a position protected by a stop on the exchange
    let mut k = 30;
    loop {
        rig.show(k);
        tick(&mut rig);
        let open_stops = rig
            .fake
            .algo_orders()
            .iter()
            .filter(|a| a.status == "NEW")
            .count();
        if rig.fake.exchange().position_amt != 0.0 && open_stops > 0 {
            break;
        }
        k += 1;
        assert!(
            k < 70,
            "no protected position: {:#?}",
            rig.fake.algo_orders()
        );
    }
    // the position is closed on the exchange by hand; its stop stays behind
    {
        let mut ex = rig.fake.exchange();
        ex.position_amt = 0.0;
        ex.entry_price = 0.0;
    }
    tick(&mut rig);
    let left: Vec<_> = rig
        .fake
        .algo_orders()
        .into_iter()
        .filter(|a| a.status == "NEW")
        .collect();
    assert!(
        left.is_empty(),
        "the stop left behind is cancelled: {left:#?}"
    );
    let s = rig.state();
    assert!(s.position.is_none(), "{:?}", s.position);
    let live = s.live.unwrap();
    assert!(
        !live.last_check.cancelled.is_empty(),
        "{:?}",
        live.last_check
    );
    assert!(
        live.alerts.iter().any(|a| a.contains("position mismatch")),
        "{:?}",
        live.alerts
    );
}

/// `live --strategy ai` (issue 12 item 8): the orchestrator saves its state, so a live bot
/// resumes it tick after tick instead of being refused; each tick stores its learning state
/// in the bot's `ai_orchestrator_state.json` and its decisions under the bot's run.
#[test]
fn an_ai_live_bot_resumes_its_orchestrator_tick_after_tick() {
    let rig = Rig::new(420, 9);
    let tick = |rig: &Rig| -> serde_json::Value {
        let out = rig
            .dir
            .cmd(&[
                "live",
                "--symbol",
                "BTC/USDT",
                "--interval",
                "1h",
                "--strategy",
                "ai",
                "--llm",
                "off",
                "--fractional",
                "--commission",
                "0.001",
                "--warmup",
                "300",
                "--bot",
                "ai1",
                "--json",
                "-q",
            ])
            .env("BINANCE_API_KEY", API_KEY)
            .env("BINANCE_SECRET", SECRET)
            .env("ALGOLAB_BINANCE_URL", rig.fake.url())
            .env("ALGOLAB_HTTP_BACKOFF_MS", "1")
            .env("ALGOLAB_BINANCE_WEIGHT_LIMIT", "1000000")
            .env_remove("TELEGRAM_BOT_TOKEN")
            .env_remove("TELEGRAM_CHAT_ID")
            .output()
            .unwrap();
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "ai live tick failed: {stderr}");
        serde_json::from_str(stdout.trim()).unwrap()
    };
    rig.show(320);
    assert_eq!(tick(&rig)["status"], "done");
    for k in [340, 370, 419] {
        rig.show(k);
        let v = tick(&rig);
        assert_eq!(v["status"], "done", "{v}");
    }
    let dir = rig.dir.path().join("data/bots/ai1");
    let state: PaperState =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    let saved = state.engine.as_ref().expect("a saved engine");
    assert_eq!(saved.strategy, "ai");
    assert!(saved.strategy_state["online"].is_object());
    assert_eq!(state.bars_processed, 100);
    assert_eq!(state.settings["ai"]["learn"], true);
    let orch: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("ai_orchestrator_state.json")).unwrap())
            .unwrap();
    assert_eq!(orch["ai"]["learn"], true);
    let store = algolab::store::Store::open(&rig.dir.path().join("data/ai_learning.db")).unwrap();
    let run = store
        .find_bot_run("testnet", &dir.display().to_string())
        .unwrap()
        .expect("the bot's run");
    let decisions = store.load_decisions(run, None).unwrap();
    assert!(decisions.windows(2).all(|w| w[1].seq == w[0].seq + 1));
}
