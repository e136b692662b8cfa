//! Shared helpers of the `fetch_*` tests: fixtures, a command wired to a loopback mock
//! server, and JSON / cache readers. No test here reaches any address but 127.0.0.1.

#![allow(dead_code, reason = "each fetch test module uses a different subset")]

use std::path::Path;
use std::process::Output;

use algolab::data::Bars;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::{TestDir, repo_root, texts};

/// 2024-01-01T00:00:00Z in ms.
pub const T0: i64 = 1_704_067_200_000;
/// One hour in ms.
pub const H: i64 = 3_600_000;

/// A recorded response body from tests/fixtures/http/.
pub fn fixture(name: &str) -> String {
    let p = repo_root().join("tests/fixtures/http").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// 200 with a JSON body.
pub fn json_body(body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into().into_bytes(), "application/json")
}

/// 200 with a fixture file as JSON body.
pub fn json_fixture(name: &str) -> ResponseTemplate {
    json_body(fixture(name))
}

/// Run `algolab <args>` with every base URL pointing at `server` and fast retries.
pub fn fetch_run(td: &TestDir, server: &MockServer, args: &[&str]) -> Output {
    td.cmd(args)
        .env("ALGOLAB_BINANCE_URL", server.uri())
        .env("ALGOLAB_BINANCE_FUTURES_URL", server.uri())
        .env("ALGOLAB_YAHOO_URL", server.uri())
        .env("ALGOLAB_HTTP_BACKOFF_MS", "1")
        .env("ALGOLAB_HTTP_MAX_WAIT_MS", "5000")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .output()
        .expect("run algolab")
}

/// Assert success and parse the `--json` array on stdout.
pub fn ok_json(out: &Output) -> Vec<serde_json::Value> {
    let (stdout, stderr) = texts(out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {stderr}\nstdout: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Read a cache file back through the library.
pub fn read_cache(path: &Path) -> Bars {
    algolab::data::read_parquet(path).unwrap_or_else(|e| panic!("{e}"))
}

/// How many requests the server saw on `path`.
pub async fn hits(server: &MockServer, path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == path)
        .count()
}

/// A loopback Binance spot for a first `BTC/USDT 1h` fetch from 2024-01-01 at 05:30: two
/// kline pages (00:00–02:00, 03:00–05:00; the 05:00 bar is still open), then empty pages.
pub async fn mount_btcusdt_1h_first_run(server: &MockServer) {
    Mock::given(path("/api/v3/time"))
        .respond_with(json_fixture("binance_time_0530.json"))
        .mount(server)
        .await;
    for (start, body) in [
        (T0, "binance_klines_btcusdt_1h_page1.json"),
        (T0 + 2 * H + 1, "binance_klines_btcusdt_1h_page2.json"),
    ] {
        Mock::given(path("/api/v3/klines"))
            .and(query_param("startTime", start.to_string()))
            .respond_with(json_fixture(body))
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(path("/api/v3/klines"))
        .respond_with(json_body("[]"))
        .with_priority(10)
        .mount(server)
        .await;
}
