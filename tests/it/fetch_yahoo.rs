//! `algolab fetch` against a loopback Yahoo chart API: daily bars stamped with the exchange
//! date, null rows skipped, `--adjusted`, windowed 1m paging, an empty range, an unknown
//! symbol. Bodies are in tests/fixtures/http/.

use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fetch_support::{fetch_run, fixture, json_fixture, ok_json, read_cache};
use crate::util::{TestDir, texts};

const DAY: i64 = 86_400_000;
/// 2024-02-07T00:00:00Z in ms.
const FEB7: i64 = 1_707_264_000_000;

async fn mount_chart(
    server: &MockServer,
    symbol: &str,
    p1: i64,
    p2: i64,
    interval: &str,
    body: &str,
) {
    Mock::given(path(format!("/v8/finance/chart/{symbol}")))
        .and(query_param("period1", p1.to_string()))
        .and(query_param("period2", p2.to_string()))
        .and(query_param("interval", interval))
        .and(query_param("includeAdjustedClose", "true"))
        .and(query_param("events", "div,splits"))
        .respond_with(json_fixture(body))
        .mount(server)
        .await;
}

const AAPL_ARGS: [&str; 12] = [
    "fetch",
    "--symbol",
    "AAPL",
    "--interval",
    "1d",
    "--start",
    "2024-02-07",
    "--end",
    "2024-02-13",
    "--now",
    "2024-03-01",
    "--json",
];

#[tokio::test]
async fn daily_bars_are_stamped_with_the_exchange_date() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    mount_chart(
        &server,
        "AAPL",
        1_707_264_000,
        1_707_782_400,
        "1d",
        "yahoo_chart_aapl_1d.json",
    )
    .await;
    let js = ok_json(&fetch_run(&td, &server, &AAPL_ARGS));
    assert_eq!(js[0]["source"], "yahoo");
    assert_eq!(js[0]["bars_total"], 4);
    assert_eq!(js[0]["gaps"], 0, "a weekend is not a gap");
    let bars = read_cache(&td.path().join("data/bars/yahoo/AAPL_1d.parquet"));
    assert_eq!(
        bars.ts_ms(),
        &[FEB7, FEB7 + DAY, FEB7 + 2 * DAY, FEB7 + 5 * DAY]
    );
    assert_eq!(bars.close()[0], 189.41000366210938);
    assert_eq!(bars.volume()[3], 41_781_900.0);
    assert!(bars.extra("adj_factor").is_none());
    let reqs = server.received_requests().await.unwrap();
    let ua = reqs[0]
        .headers
        .get("user-agent")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(
        ua.is_some_and(|u| u.contains("algolab")),
        "a User-Agent is sent"
    );
}

#[tokio::test]
async fn adjusted_scales_ohlc_by_adjclose_over_close() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    mount_chart(
        &server,
        "AAPL",
        1_707_264_000,
        1_707_782_400,
        "1d",
        "yahoo_chart_aapl_1d.json",
    )
    .await;
    let mut args = AAPL_ARGS.to_vec();
    args.push("--adjusted");
    ok_json(&fetch_run(&td, &server, &args));
    let bars = read_cache(&td.path().join("data/bars/yahoo/AAPL_1d.parquet"));
    let body: serde_json::Value =
        serde_json::from_str(&fixture("yahoo_chart_aapl_1d.json")).unwrap();
    let r = &body["chart"]["result"][0]["indicators"];
    for i in 0..4 {
        let adj = r["adjclose"][0]["adjclose"][i].as_f64().unwrap();
        let close = r["quote"][0]["close"][i].as_f64().unwrap();
        let open = r["quote"][0]["open"][i].as_f64().unwrap();
        assert!((bars.close()[i] - adj).abs() < 1e-9, "bar {i}");
        assert!(
            (bars.open()[i] - open * adj / close).abs() < 1e-9,
            "bar {i}"
        );
        assert!((bars.extra("adj_factor").unwrap()[i] - adj / close).abs() < 1e-12);
    }
    // the unadjusted cache cannot silently receive adjusted bars, nor the reverse
    let out = fetch_run(&td, &server, &AAPL_ARGS);
    assert_eq!(out.status.code(), Some(2), "{}", texts(&out).1);
}

#[tokio::test]
async fn futures_symbol_skips_null_rows_and_keeps_its_name() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    mount_chart(
        &server,
        "GC=F",
        1_704_067_200,
        1_704_412_800,
        "1d",
        "yahoo_chart_gc=f_1d.json",
    )
    .await;
    let out = fetch_run(
        &td,
        &server,
        &[
            "fetch",
            "--symbol",
            "GC=F",
            "--interval",
            "1d",
            "--start",
            "2024-01-01",
            "--end",
            "2024-01-05",
            "--now",
            "2024-02-01",
            "--json",
        ],
    );
    let js = ok_json(&out);
    assert_eq!(js[0]["skipped"], 1, "the holiday row is all null");
    assert!(texts(&out).1.contains("1 rows skipped"));
    let bars = read_cache(&td.path().join("data/bars/yahoo/GC=F_1d.parquet"));
    // stamped at local midnight (05:00 UTC) → the same date at 00:00 UTC
    let jan2 = 1_704_153_600_000;
    assert_eq!(bars.ts_ms(), &[jan2, jan2 + DAY, jan2 + 2 * DAY]);
    assert_eq!(bars.close()[2], 2042.800048828125);
}

#[tokio::test]
async fn one_minute_range_is_paged_in_seven_day_windows() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    let (mar1, mar8, mar10) = (1_709_251_200, 1_709_856_000, 1_710_028_800);
    mount_chart(
        &server,
        "BTC-USD",
        mar1,
        mar8,
        "1m",
        "yahoo_chart_btc-usd_1m_w1.json",
    )
    .await;
    mount_chart(
        &server,
        "BTC-USD",
        mar8,
        mar10,
        "1m",
        "yahoo_chart_btc-usd_1m_w2.json",
    )
    .await;
    let out = fetch_run(
        &td,
        &server,
        &[
            "fetch",
            "--symbol",
            "BTC-USD",
            "--interval",
            "1m",
            "--start",
            "2024-03-01",
            "--end",
            "2024-03-10",
            "--now",
            "2024-03-15",
            "--json",
        ],
    );
    let js = ok_json(&out);
    assert_eq!(js[0]["bars_total"], 5);
    assert_eq!(js[0]["skipped"], 1);
    assert_eq!(js[0]["gaps"], 1);
    assert_eq!(js[0]["gap_ranges"][0][0], "2024-03-01T00:03:00Z");
    assert_eq!(js[0]["gap_ranges"][0][1], "2024-03-08T00:00:00Z");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let bars = read_cache(&td.path().join("data/bars/yahoo/BTC-USD_1m.parquet"));
    let t = mar1 * 1000;
    assert_eq!(bars.ts_ms()[..2], [t, t + 60_000]);
    assert_eq!(bars.ts_ms()[4], mar8 * 1000 + 60_000);
}

#[tokio::test]
async fn an_empty_range_succeeds_and_writes_nothing() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    mount_chart(
        &server,
        "AAPL",
        1_707_523_200,
        1_707_696_000,
        "1d",
        "yahoo_chart_aapl_1d_empty.json",
    )
    .await;
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
            "2024-02-10",
            "--end",
            "2024-02-12",
            "--now",
            "2024-03-01",
            "--json",
        ],
    );
    let js = ok_json(&out);
    assert_eq!(js[0]["bars_added"], 0);
    assert_eq!(js[0]["bars_total"], 0);
    assert!(js[0]["start"].is_null());
    assert!(!td.path().join("data/bars/yahoo/AAPL_1d.parquet").exists());
}

#[tokio::test]
async fn unknown_yahoo_symbol_exits_2_naming_it() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    Mock::given(path("/v8/finance/chart/NOPE123"))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            fixture("yahoo_error_not_found.json").into_bytes(),
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
            "NOPE123",
            "--interval",
            "1d",
            "--start",
            "2024-01-01",
            "--now",
            "2024-02-01",
        ],
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("NOPE123") && stderr.contains("symbol may be delisted"),
        "{stderr}"
    );
}
