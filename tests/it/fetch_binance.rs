//! `algolab fetch` against a loopback Binance: pagination, the still-open bar, incremental
//! appends, futures extra columns, an unknown symbol. Bodies are in tests/fixtures/http/.

use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fetch_support::{
    H, T0, fetch_run, fixture, hits, json_body, json_fixture, mount_btcusdt_1h_first_run, ok_json,
    read_cache,
};
use crate::util::{TestDir, texts};

const KLINES: &str = "/api/v3/klines";

async fn mount_klines_page(server: &MockServer, start: i64, body: &str) {
    Mock::given(method("GET"))
        .and(path(KLINES))
        .and(query_param("startTime", start.to_string()))
        .respond_with(json_fixture(body))
        .with_priority(1)
        .mount(server)
        .await;
}

async fn mount_empty(server: &MockServer, p: &str) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(json_body("[]"))
        .with_priority(10)
        .mount(server)
        .await;
}

#[tokio::test]
async fn two_pages_then_a_second_run_appends_only_new_closed_bars() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    mount_btcusdt_1h_first_run(&server).await;

    let args = [
        "fetch",
        "--symbol",
        "BTC/USDT",
        "--interval",
        "1h",
        "--start",
        "2024-01-01",
        "--json",
    ];
    let out = fetch_run(&td, &server, &args);
    let js = ok_json(&out);
    assert_eq!(js.len(), 1);
    assert_eq!(js[0]["source"], "binance");
    assert_eq!(
        js[0]["bars_added"], 5,
        "the 05:00 bar is still open at 05:30"
    );
    assert_eq!(js[0]["bars_total"], 5);
    assert_eq!(js[0]["start"], "2024-01-01T00:00:00Z");
    assert_eq!(js[0]["end"], "2024-01-01T04:00:00Z");
    assert_eq!(js[0]["gaps"], 0);
    // page 1, page 2, and one empty page past the last open bar
    assert_eq!(hits(&server, KLINES).await, 3);
    let reqs = server.received_requests().await.unwrap();
    let first = reqs.iter().find(|r| r.url.path() == KLINES).unwrap();
    let q: Vec<(String, String)> = first.url.query_pairs().into_owned().collect();
    assert!(q.contains(&("symbol".into(), "BTCUSDT".into())), "{q:?}");
    assert!(q.contains(&("limit".into(), "1000".into())), "{q:?}");
    assert!(
        q.contains(&("endTime".into(), (T0 + 5 * H + 30 * 60_000 - 1).to_string())),
        "{q:?}"
    );

    let file = td.path().join("data/bars/binance/BTCUSDT_1h.parquet");
    assert_eq!(js[0]["path"], file.display().to_string());
    let bars = read_cache(&file);
    assert_eq!(
        bars.ts_ms(),
        &[T0, T0 + H, T0 + 2 * H, T0 + 3 * H, T0 + 4 * H]
    );
    assert_eq!(bars.open()[0], 42283.58);
    assert_eq!(bars.high()[1], 42775.0);
    assert_eq!(bars.close()[4], 42399.98);
    assert_eq!(bars.volume()[2], 685.21764);

    // second run at 07:10: asks from the last cached bar + 1 ms, keeps 05:00 and 06:00
    server.reset().await;
    Mock::given(path("/api/v3/time"))
        .respond_with(json_fixture("binance_time_0710.json"))
        .mount(&server)
        .await;
    mount_klines_page(
        &server,
        T0 + 4 * H + 1,
        "binance_klines_btcusdt_1h_page3.json",
    )
    .await;
    mount_empty(&server, KLINES).await;
    let js = ok_json(&fetch_run(&td, &server, &args));
    assert_eq!(js[0]["bars_added"], 2);
    assert_eq!(js[0]["bars_total"], 7);
    let bars = read_cache(&file);
    assert_eq!(bars.len(), 7);
    assert_eq!(bars.ts_ms()[6], T0 + 6 * H);
    assert_eq!(bars.close()[5], 42352.0);
    assert_eq!(
        bars.close()[4],
        42399.98,
        "cached bars are kept as they were"
    );
}

#[tokio::test]
async fn futures_store_funding_open_interest_and_long_short_columns() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    Mock::given(path("/fapi/v1/time"))
        .respond_with(json_fixture("binance_time_0530.json"))
        .mount(&server)
        .await;
    let pages = [
        ("/fapi/v1/klines", "binance_fapi_klines_btcusdt_1h.json"),
        ("/fapi/v1/fundingRate", "binance_fapi_funding_btcusdt.json"),
        (
            "/futures/data/openInterestHist",
            "binance_fapi_open_interest_hist_btcusdt_1h.json",
        ),
        (
            "/futures/data/globalLongShortAccountRatio",
            "binance_fapi_global_long_short_btcusdt_1h.json",
        ),
    ];
    for (p, body) in pages {
        Mock::given(path(p))
            .and(query_param("startTime", T0.to_string()))
            .respond_with(json_fixture(body))
            .with_priority(1)
            .mount(&server)
            .await;
        mount_empty(&server, p).await;
    }
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
            "--futures",
            "--json",
        ],
    );
    let js = ok_json(&out);
    assert_eq!(js[0]["source"], "binance-futures");
    assert_eq!(js[0]["bars_total"], 5);
    let bars = read_cache(
        &td.path()
            .join("data/bars/binance-futures/BTCUSDT_1h.parquet"),
    );
    assert_eq!(bars.open()[0], 42283.58 + 18.4);
    let fr = bars.extra("funding_rate").unwrap();
    assert_eq!(fr[0], 0.00037409);
    assert!(fr[1..].iter().all(|v| v.is_nan()), "{fr:?}");
    let oi = bars.extra("open_interest").unwrap();
    assert_eq!(oi[0], 70126.351);
    assert_eq!(oi[1], 70379.502);
    assert!(oi[2].is_nan(), "no open-interest point at 02:00");
    assert_eq!(oi[3], 70802.12);
    assert_eq!(oi[4], 70655.843);
    let ls = bars.extra("long_short_ratio").unwrap();
    assert_eq!(&ls[..3], &[1.6931, 1.7062, 1.6812]);
    assert!(ls[3].is_nan() && ls[4].is_nan());

    let reqs = server.received_requests().await.unwrap();
    let q = |p: &str| -> Vec<(String, String)> {
        reqs.iter()
            .find(|r| r.url.path() == p)
            .unwrap()
            .url
            .query_pairs()
            .into_owned()
            .collect()
    };
    assert!(q("/fapi/v1/klines").contains(&("limit".into(), "1500".into())));
    assert!(q("/fapi/v1/fundingRate").contains(&("limit".into(), "1000".into())));
    let oi_q = q("/futures/data/openInterestHist");
    assert!(oi_q.contains(&("period".into(), "1h".into())), "{oi_q:?}");
    assert!(oi_q.contains(&("limit".into(), "500".into())), "{oi_q:?}");
    assert_eq!(
        hits(&server, "/api/v3/klines").await,
        0,
        "futures never touch spot"
    );
}

#[tokio::test]
async fn unknown_binance_symbol_exits_2_naming_it() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    Mock::given(path("/api/v3/time"))
        .respond_with(json_fixture("binance_time_0530.json"))
        .mount(&server)
        .await;
    Mock::given(path(KLINES))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            fixture("binance_error_invalid_symbol.json").into_bytes(),
            "application/json",
        ))
        .mount(&server)
        .await;
    let out = fetch_run(
        &td,
        &server,
        &[
            "fetch",
            "--symbol",
            "FOO/BAR",
            "--interval",
            "1h",
            "--start",
            "2024-01-01",
        ],
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("FOO/BAR") && stderr.contains("Invalid symbol."),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one-line cause: {stderr}");
    assert!(
        !td.path()
            .join("data/bars/binance/FOOBAR_1h.parquet")
            .exists()
    );
}

#[tokio::test]
async fn bad_interval_is_rejected_before_any_request() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    let out = fetch_run(
        &td,
        &server,
        &[
            "fetch",
            "--symbol",
            "BTC/USDT",
            "--interval",
            "7h",
            "--start",
            "2024-01-01",
        ],
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("\"7h\""), "{stderr}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn several_symbols_each_get_their_own_file_and_summary() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    Mock::given(path("/api/v3/time"))
        .respond_with(json_fixture("binance_time_0530.json"))
        .mount(&server)
        .await;
    mount_klines_page(&server, T0, "binance_klines_btcusdt_1h_page1.json").await;
    mount_empty(&server, KLINES).await;
    let out = fetch_run(
        &td,
        &server,
        &[
            "fetch",
            "--symbols",
            "BTC/USDT,ETH/USDT",
            "--interval",
            "1h",
            "--start",
            "2024-01-01",
            "--end",
            "2024-01-01T03:00:00Z",
            "--json",
        ],
    );
    let js = ok_json(&out);
    let names: Vec<_> = js.iter().map(|j| j["symbol"].as_str().unwrap()).collect();
    assert_eq!(names, ["BTC/USDT", "ETH/USDT"]);
    let stderr = texts(&out).1;
    assert!(
        stderr.contains("BTC/USDT (binance 1h): +3 bars")
            && stderr.contains("ETH/USDT (binance 1h)"),
        "{stderr}"
    );
    for f in ["BTCUSDT_1h.parquet", "ETHUSDT_1h.parquet"] {
        assert_eq!(
            read_cache(&td.path().join("data/bars/binance").join(f)).len(),
            3
        );
    }
    let reqs = server.received_requests().await.unwrap();
    assert!(
        reqs.iter()
            .any(|r| r.url.query().unwrap_or("").contains("symbol=ETHUSDT"))
    );
}

#[tokio::test]
async fn futures_flag_on_a_yahoo_symbol_is_bad_usage() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    let out = fetch_run(
        &td,
        &server,
        &[
            "fetch",
            "--symbol",
            "AAPL",
            "--interval",
            "1d",
            "--start",
            "2024-01-01",
            "--futures",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", texts(&out).1);
    assert!(server.received_requests().await.unwrap().is_empty());
}
