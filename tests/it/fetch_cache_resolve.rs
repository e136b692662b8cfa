//! What `algolab fetch` writes is what `--symbol` finds: a real fetch (loopback Binance) is
//! resolved by `resolve_symbol` in its pair, bare and lower-case spellings, and `backtest
//! --symbol` reads cache files saved at the paths fetch writes (spot, `:PERP` futures) rather
//! than the bundled dataset. Paths are written out literally (as the fetch tests assert them),
//! not computed with the function under test.

use std::path::Path;

use algolab::data::{
    Bars, DataError, SymbolSource, SynthSpec, resolve_symbol, resolve_symbol_interval, save, synth,
};
use wiremock::MockServer;

use crate::fetch_support::{H, T0, fetch_run, mount_btcusdt_1h_first_run, ok_json};
use crate::util::{TestDir, texts};

/// `n` seeded random-walk bars, hourly from 2024-01-01, saved at `dir/rel`.
fn cache_file(dir: &Path, rel: &str, n: usize, seed: u64) -> Bars {
    let bars = synth(&SynthSpec {
        bars: n,
        seed,
        start_ms: T0,
        interval_ms: H,
        ..SynthSpec::default()
    })
    .unwrap();
    save(&bars, &dir.join(rel)).unwrap();
    bars
}

fn backtest_json(td: &TestDir, symbol: &str) -> (serde_json::Value, String) {
    let out = td.run(&["backtest", "--symbol", symbol, "--json", "--no-record"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{symbol}: {stderr}");
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (v, stderr)
}

#[tokio::test]
async fn a_fetched_series_is_resolved_in_every_spelling() {
    let server = MockServer::start().await;
    let td = TestDir::new();
    mount_btcusdt_1h_first_run(&server).await;
    // lower case on purpose: the file name is upper case whatever the spelling
    let args = [
        "fetch",
        "--symbol",
        "btc/usdt",
        "--interval",
        "1h",
        "--start",
        "2024-01-01",
        "--json",
    ];
    let js = ok_json(&fetch_run(&td, &server, &args));
    let file = td.path().join("data/bars/binance/BTCUSDT_1h.parquet");
    assert_eq!(js[0]["path"], file.display().to_string());
    assert_eq!(js[0]["bars_total"], 5);

    let data_dir = td.path().join("data");
    for sym in ["BTC/USDT", "btc/usdt", "BTCUSDT", "btcusdt"] {
        let r = resolve_symbol(sym, &data_dir).unwrap();
        assert_eq!(r.source, SymbolSource::Cache, "{sym}");
        assert_eq!(r.path, file, "{sym}");
        let r = resolve_symbol_interval(sym, Some("1h"), &data_dir).unwrap();
        assert_eq!(r.path, file, "{sym}");
    }
    let bars = algolab::data::load(&file).unwrap();
    assert_eq!(bars.len(), 5);

    // no 4h series was fetched: the error names the file that fetch would write
    let e = resolve_symbol_interval("BTC/USDT", Some("4h"), &data_dir).unwrap_err();
    assert!(matches!(e, DataError::File { .. }), "{e}");
    assert!(e.to_string().contains("BTCUSDT_4h.parquet"), "{e}");
    let h4 = cache_file(td.path(), "data/bars/binance/BTCUSDT_4h.parquet", 7, 1);
    let r = resolve_symbol_interval("BTC/USDT", Some("4h"), &data_dir).unwrap();
    assert_eq!(
        r.path,
        td.path().join("data/bars/binance/BTCUSDT_4h.parquet")
    );
    assert_eq!(algolab::data::load(&r.path).unwrap(), h4);
}

#[test]
fn backtest_symbol_uses_the_spot_cache_over_the_bundled_dataset() {
    let td = TestDir::new();
    let rel = "data/bars/binance/BTCUSDT_1h.parquet";
    cache_file(td.path(), rel, 300, 7);
    for sym in ["BTC/USDT", "BTCUSDT"] {
        let (v, stderr) = backtest_json(&td, sym);
        assert!(
            stderr.contains("using fetched cache") && stderr.contains(rel),
            "{sym}: {stderr}"
        );
        assert!(stderr.contains("(300 bars"), "{sym}: {stderr}");
        assert_eq!(v["bars"], 300, "{sym}");
    }
    // without the cache file the bundled dataset (thousands of bars) is used
    std::fs::remove_file(td.path().join(rel)).unwrap();
    let (v, stderr) = backtest_json(&td, "BTC/USDT");
    assert!(stderr.contains("using bundled dataset"), "{stderr}");
    assert_ne!(v["bars"], 300);
}

#[test]
fn backtest_perp_symbol_uses_the_futures_cache() {
    let td = TestDir::new();
    cache_file(td.path(), "data/bars/binance/BTCUSDT_1h.parquet", 300, 7);
    let fut = "data/bars/binance-futures/BTCUSDT_1h.parquet";
    cache_file(td.path(), fut, 250, 8);
    for sym in ["BTC/USDT:PERP", "BTC/USDT:USDT"] {
        let (v, stderr) = backtest_json(&td, sym);
        assert!(
            stderr.contains("using fetched cache") && stderr.contains(fut),
            "{sym}: {stderr}"
        );
        assert_eq!(v["bars"], 250, "{sym}");
    }
    // a futures symbol never falls back to the spot bundled data
    std::fs::remove_file(td.path().join(fut)).unwrap();
    let out = td.run(&["backtest", "--symbol", "BTC/USDT:PERP", "--json"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--futures"), "{stderr}");
}
