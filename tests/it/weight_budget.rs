//! One Binance request-weight budget for the whole machine: `fetch` and the live bots share
//! `DATA_DIR/binance_weight_*.txt`, so two downloads running at once never spend more weight
//! in a minute than the limit — counted by the fake exchange itself, which reports it in
//! `X-MBX-USED-WEIGHT-1M` like Binance — though together they need more; and a ban that
//! one process met holds back every other, `fetch` and `live` alike, before they send
//! anything.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::fake_binance::{API_KEY, FakeBinance, Fault, SECRET, Venue};
use crate::util::{TestDir, texts};

const H: i64 = 3_600_000;
/// 2023-01-01T00:00:00Z.
const START: i64 = 1_672_531_200_000;
/// Bars per series: 5 pages of 1000 and an empty tail page, 2 weight each, plus the server
/// time: 13 weight per download.
const N: usize = 5_000;
/// The machine's limit: one download fits, two do not.
const LIMIT: u32 = 20;

#[allow(
    clippy::disallowed_methods,
    reason = "the fake exchange counts wall-clock minutes"
)]
fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Start near the beginning of a minute, so a scenario of a few seconds stays inside one.
fn fresh_minute() -> i64 {
    let into = wall_ms().rem_euclid(60_000);
    if into > 40_000 {
        std::thread::sleep(Duration::from_millis((60_000 - into + 200) as u64));
    }
    wall_ms().div_euclid(60_000)
}

fn fake() -> FakeBinance {
    let f = FakeBinance::start();
    for (interval, step) in [("1h", H), ("4h", 4 * H)] {
        let rows = (0..N)
            .map(|k| {
                let c = 100.0 + (k % 50) as f64;
                (START + k as i64 * step, [c, c + 1.0, c - 1.0, c, 10.0])
            })
            .collect();
        f.set_klines(Venue::Spot, interval, rows);
    }
    f
}

fn fetch(dir: &TestDir, fake: &FakeBinance, interval: &str, step: i64) -> Command {
    let end = (START + N as i64 * step).to_string();
    let mut c = dir.cmd(&[
        "fetch",
        "--symbol",
        "BTC/USDT",
        "--interval",
        interval,
        "--start",
        "2023-01-01",
        "--end",
        &end,
        "-q",
    ]);
    c.env("ALGOLAB_BINANCE_URL", fake.url())
        .env("ALGOLAB_BINANCE_WEIGHT_LIMIT", LIMIT.to_string())
        // a download the budget holds back fails at once instead of waiting for the minute
        .env("ALGOLAB_HTTP_MAX_WAIT_MS", "300")
        .env("ALGOLAB_HTTP_BACKOFF_MS", "1");
    c
}

/// Run the two downloads at once; their outputs and whether the minute stayed the same.
fn both(a: &mut Command, b: &mut Command) -> (Output, Output, bool) {
    let minute = fresh_minute();
    let pa = a
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pb = b
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (oa, ob) = (
        pa.wait_with_output().unwrap(),
        pb.wait_with_output().unwrap(),
    );
    (oa, ob, wall_ms().div_euclid(60_000) == minute)
}

#[test]
fn concurrent_downloads_sharing_the_machine_budget_never_exceed_it() {
    // alone, one download fits the limit; two together would not
    let f = fake();
    let out = fetch(&TestDir::new(), &f, "1h", H).output().unwrap();
    assert!(out.status.success(), "{:?}", texts(&out));
    let solo = f.exchange().peak_weight;
    assert!(
        solo <= LIMIT && 2 * solo > LIMIT,
        "one download spends {solo}"
    );

    // two processes of one DATA_DIR share the budget file: the exchange never counts more
    // than the limit in a minute, and what does not fit is held back (here: fails, since
    // the longest wait allowed is shorter than the rest of the minute)
    let f = fake();
    let d = TestDir::new();
    let (oa, ob, same_minute) = both(&mut fetch(&d, &f, "1h", H), &mut fetch(&d, &f, "4h", 4 * H));
    let peak = f.exchange().peak_weight;
    assert!(peak <= LIMIT, "{peak} weight in one minute, limit {LIMIT}");
    let held: Vec<String> = [&oa, &ob]
        .into_iter()
        .filter(|o| !o.status.success())
        .map(|o| texts(o).1)
        .collect();
    if same_minute {
        assert!(!held.is_empty(), "the budget must hold a download back");
    }
    for e in &held {
        assert!(e.contains("rate limited"), "{e}");
    }
    let file = std::fs::read_to_string(d.path().join("data/binance_weight_spot.txt")).unwrap();
    assert_eq!(file.split_whitespace().count(), 3, "{file}");
}

#[test]
fn a_ban_met_by_one_process_holds_back_fetch_and_live_before_they_send_anything() {
    let f = fake();
    let d = TestDir::new();
    f.fail_next(
        "GET",
        "/api/v3/klines",
        Fault::Error {
            status: 418,
            code: None,
            msg: "banned".into(),
            retry_after_s: Some(600),
        },
    );
    let out = fetch(&d, &f, "1h", H).output().unwrap();
    let (_, e) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("rate limited (http 418)"), "{e}");
    let sent = f.requests().len();

    // another download of this machine: held back by the ban in the shared file
    let out = fetch(&d, &f, "4h", 4 * H).output().unwrap();
    let (_, e) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("rate limited"), "{e}");
    // and a live bot's tick (its trading calls and its kline download share the budget)
    let out = d
        .cmd(&["live", "--symbol", "BTC/USDT", "--bot", "b1", "-q"])
        .env("BINANCE_API_KEY", API_KEY)
        .env("BINANCE_SECRET", SECRET)
        .env("ALGOLAB_BINANCE_URL", f.url())
        .env("ALGOLAB_HTTP_MAX_WAIT_MS", "300")
        .output()
        .unwrap();
    let (_, e) = texts(&out);
    assert!(!out.status.success(), "{e}");
    assert!(e.contains("rate limited"), "{e}");
    assert_eq!(f.requests().len(), sent, "nothing is sent during a ban");
}
