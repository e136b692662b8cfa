//! `algolab fetch` when the server misbehaves: 429 with Retry-After, a passing 5xx, 5xx until
//! the tries run out, malformed JSON. The cache is only ever written whole.

use std::time::Instant;

use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fetch_support::{H, T0, fetch_run, hits, json_body, json_fixture, ok_json, read_cache};
use crate::util::{TestDir, texts};

const KLINES: &str = "/api/v3/klines";
const ARGS: [&str; 10] = [
    "fetch",
    "--json",
    "--symbol",
    "BTC/USDT",
    "--interval",
    "1h",
    "--start",
    "2024-01-01",
    "--end",
    "2024-01-01T03:00:00Z",
];

/// Server time, page 1 for startTime=T0, and an empty page for anything else.
async fn healthy(server: &MockServer) {
    Mock::given(path("/api/v3/time"))
        .respond_with(json_fixture("binance_time_0530.json"))
        .mount(server)
        .await;
    Mock::given(path(KLINES))
        .and(query_param("startTime", T0.to_string()))
        .respond_with(json_fixture("binance_klines_btcusdt_1h_page1.json"))
        .with_priority(2)
        .mount(server)
        .await;
    Mock::given(path(KLINES))
        .respond_with(json_body("[]"))
        .with_priority(10)
        .mount(server)
        .await;
}

async fn fail_once(server: &MockServer, resp: ResponseTemplate) {
    Mock::given(path(KLINES))
        .respond_with(resp)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn rate_limit_429_waits_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    fail_once(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
    )
    .await;
    healthy(&server).await;
    let t = Instant::now();
    let js = ok_json(&fetch_run(&td, &server, &ARGS));
    assert!(
        t.elapsed().as_secs_f64() >= 1.0,
        "Retry-After: 1 was not honoured"
    );
    assert_eq!(js[0]["bars_total"], 3);
    assert_eq!(
        hits(&server, KLINES).await,
        3,
        "429, page 1, empty tail page"
    );
}

#[tokio::test]
async fn ip_ban_418_longer_than_max_wait_fails_with_exit_1() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    fail_once(
        &server,
        ResponseTemplate::new(418).insert_header("Retry-After", "7200"),
    )
    .await;
    healthy(&server).await;
    let out = fetch_run(&td, &server, &ARGS);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rate limited (http 418), retry after 7200 s"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_passing_503_is_retried() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    fail_once(&server, ResponseTemplate::new(503)).await;
    healthy(&server).await;
    let js = ok_json(&fetch_run(&td, &server, &ARGS));
    assert_eq!(js[0]["bars_total"], 3);
    let bars = read_cache(&td.path().join("data/bars/binance/BTCUSDT_1h.parquet"));
    assert_eq!(bars.ts_ms(), &[T0, T0 + H, T0 + 2 * H]);
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_five_tries_with_exit_1_and_no_file() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    Mock::given(path(KLINES))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .mount(&server)
        .await;
    healthy(&server).await;
    let out = fetch_run(&td, &server, &ARGS);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/api/v3/klines: http 500 after 5 tries"),
        "{stderr}"
    );
    assert_eq!(hits(&server, KLINES).await, 5);
    assert!(
        !td.path()
            .join("data/bars/binance/BTCUSDT_1h.parquet")
            .exists()
    );
}

#[tokio::test]
async fn malformed_json_names_the_path_not_the_query_and_keeps_the_cache() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    healthy(&server).await;
    let first = [
        "fetch",
        "--json",
        "--symbol",
        "BTC/USDT",
        "--interval",
        "1h",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-01T02:00:00Z",
    ];
    assert_eq!(
        ok_json(&fetch_run(&td, &server, &first))[0]["bars_total"],
        2
    );
    let file = td.path().join("data/bars/binance/BTCUSDT_1h.parquet");
    let before = std::fs::read(&file).unwrap();

    // the new page is truncated mid-array: nothing may be written
    server.reset().await;
    Mock::given(path(KLINES))
        .and(query_param("startTime", (T0 + H + 1).to_string()))
        .respond_with(json_body(r#"[[1704070800000,"42475.23000000","42775.0"#))
        .with_priority(1)
        .mount(&server)
        .await;
    healthy(&server).await;
    let out = fetch_run(
        &td,
        &server,
        &[
            "fetch",
            "--symbol",
            "BTC/USDT",
            "--interval",
            "1h",
            "--start",
            "2024-01-01",
        ],
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/api/v3/klines: malformed response"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("startTime") && !stderr.contains("symbol="),
        "query leaked: {stderr}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "cache must be untouched"
    );
    assert_eq!(read_cache(&file).len(), 2);
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp files left");
}
