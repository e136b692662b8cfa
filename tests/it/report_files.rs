//! Report writer end to end on synthetic data (a seeded random walk traded by a simple SMA
//! cross in both directions): every file exists, the HTML has its sections and inline SVG,
//! the PNGs decode to 1200×600, the CSVs have their headers and one row per bar/trade; and a
//! run stored in the learning DB rebuilds the same report.
//!
//! Set `ALGOLAB_KEEP_REPORT=DIR` to also write the synthetic reports to DIR for viewing.

#![allow(clippy::unwrap_used, reason = "test code")]

use std::collections::BTreeMap;
use std::path::Path;

use algolab::core::order::{ExitReason, Side, Trade};
use algolab::data::{Bar, Bars};
use algolab::metrics::{self, StatsInput};
use algolab::report::{self, ReportInput};
use algolab::store::{RunRecord, Store};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DAY: i64 = 86_400_000;

/// A synthetic backtest: bars, equity, exposure, trades and fees.
pub struct Synthetic {
    pub bars: Bars,
    pub equity: Vec<f64>,
    pub exposure: Vec<bool>,
    pub trades: Vec<Trade>,
    pub fees: f64,
}

fn sma(xs: &[f64], i: usize, n: usize) -> Option<f64> {
    (i + 1 >= n).then(|| xs[i + 1 - n..=i].iter().sum::<f64>() / n as f64)
}

/// `n` weekday bars from 2019-01-01 of a seeded random walk, traded by SMA(10/30) cross,
/// always in the market after warm-up, all-in, 0.1 % commission per side.
pub fn synthetic(n: usize, seed: u64) -> Synthetic {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut bars = Vec::with_capacity(n);
    let (mut day, mut price) = (17_897i64, 100.0f64); // 2019-01-01 (Tuesday)
    while bars.len() < n {
        if (day + 3).rem_euclid(7) < 5 {
            let r: f64 = (rng.random::<f64>() - 0.5) * 0.04 + 0.0004;
            let open = price;
            let close = price * (1.0 + r);
            let hi = open.max(close) * (1.0 + rng.random::<f64>() * 0.01);
            let lo = open.min(close) * (1.0 - rng.random::<f64>() * 0.01);
            bars.push(Bar {
                ts_ms: day * DAY,
                open,
                high: hi,
                low: lo,
                close,
                volume: 1000.0 + rng.random::<f64>() * 500.0,
            });
            price = close;
        }
        day += 1;
    }
    let bars = Bars::from_bars(bars).unwrap();
    let close = bars.close().to_vec();
    let open = bars.open().to_vec();
    let (fee, cash0) = (0.001, 10_000.0);
    let mut cash = cash0;
    let mut pos: Option<(Side, f64, f64, usize)> = None; // side, qty, entry price, entry bar
    let (mut equity, mut exposure, mut trades, mut fees) = (vec![], vec![], vec![], 0.0);
    let mut want: Option<Side> = None;
    for i in 0..n {
        // fill yesterday's decision at today's open
        if let Some(side) = want.take() {
            if let Some((s, qty, ep, eb)) = pos.take() {
                let f = qty * open[i] * fee;
                let pnl = s.sign() * qty * (open[i] - ep) - f - qty * ep * fee;
                cash += s.sign() * qty * (open[i] - ep) + qty * ep - f;
                fees += f;
                trades.push(Trade {
                    side: s,
                    qty,
                    entry_bar: eb,
                    exit_bar: i,
                    entry_ts_ms: bars.ts_ms()[eb],
                    exit_ts_ms: bars.ts_ms()[i],
                    entry_price: ep,
                    exit_price: open[i],
                    pnl,
                    return_pct: s.sign() * (open[i] / ep - 1.0) * 100.0,
                    fees: qty * ep * fee + f,
                    mae_pct: 0.0,
                    mfe_pct: 0.0,
                    exit_reason: ExitReason::Flip,
                });
            }
            let qty = (cash / (open[i] * (1.0 + fee))).floor();
            let f = qty * open[i] * fee;
            cash -= qty * open[i] + f;
            fees += f;
            pos = Some((side, qty, open[i], i));
        }
        let value = pos.map_or(0.0, |(s, q, ep, _)| q * ep + s.sign() * q * (close[i] - ep));
        equity.push(cash + value);
        exposure.push(pos.is_some());
        if let (Some(f), Some(s), Some(fp), Some(sp)) = (
            sma(&close, i, 10),
            sma(&close, i, 30),
            i.checked_sub(1).and_then(|j| sma(&close, j, 10)),
            i.checked_sub(1).and_then(|j| sma(&close, j, 30)),
        ) {
            if f > s && fp <= sp {
                want = Some(Side::Long);
            } else if f < s && fp >= sp {
                want = Some(Side::Short);
            }
        }
    }
    if let Some((s, qty, ep, eb)) = pos {
        let last = n - 1;
        trades.push(Trade {
            side: s,
            qty,
            entry_bar: eb,
            exit_bar: last,
            entry_ts_ms: bars.ts_ms()[eb],
            exit_ts_ms: bars.ts_ms()[last],
            entry_price: ep,
            exit_price: close[last],
            pnl: s.sign() * qty * (close[last] - ep),
            return_pct: s.sign() * (close[last] / ep - 1.0) * 100.0,
            fees: qty * ep * fee,
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: ExitReason::Open,
        });
    }
    Synthetic {
        bars,
        equity,
        exposure,
        trades,
        fees,
    }
}

fn stats_of(s: &Synthetic) -> metrics::Stats {
    metrics::compute(&StatsInput {
        ts_ms: s.bars.ts_ms(),
        close: s.bars.close(),
        equity: &s.equity,
        exposure: &s.exposure,
        trades: &s.trades,
        fees_paid: s.fees,
        cash0: 10_000.0,
    })
}

/// Write the report of a synthetic run into `dir`.
/// The synthetic report with an "AI decisions" section: an entry and an exit decision per
/// trade, every third entry vetoed once before.
pub fn write_synthetic_ai(dir: &Path, s: &Synthetic) -> report::ai::AiSection {
    use report::ai::{AiDecisionRow, OpinionCell};
    let mut rows = Vec::new();
    for (i, t) in s.trades.iter().enumerate() {
        let op = |a: &str| OpinionCell {
            component: "technical".into(),
            action: a.into(),
            confidence: 0.8,
            weight: 1.0,
            blocked: false,
        };
        if i % 3 == 0 {
            rows.push(AiDecisionRow {
                ts_ms: t.entry_ts_ms,
                intent: "hold".into(),
                action: "HOLD".into(),
                confidence: 0.0,
                size_frac: 0.0,
                leverage: 1.0,
                regime: Some("bull".into()),
                opinions: vec![op("BUY")],
                veto: Some("vetoed <b>twice</b>".into()),
                llm: Some("vetoed <b>twice</b>".into()),
                trade: None,
            });
        }
        for (ts, intent, action) in [
            (t.entry_ts_ms, "enter long", "BUY"),
            (t.exit_ts_ms, "exit", "SELL"),
        ] {
            rows.push(AiDecisionRow {
                ts_ms: ts,
                intent: intent.into(),
                action: action.into(),
                confidence: 0.8,
                size_frac: 0.1,
                leverage: 1.0,
                regime: Some("bull".into()),
                opinions: vec![op(action)],
                veto: None,
                llm: None,
                trade: Some(i),
            });
        }
    }
    let section = report::ai::AiSection {
        facts: vec![("dqn".into(), "default:models/default/dqn.json".into())],
        total: rows.len() * 4,
        rows,
    };
    write(dir, s, &stats_of(s), Some(&section));
    section
}

fn write(dir: &Path, s: &Synthetic, stats: &metrics::Stats, ai: Option<&report::ai::AiSection>) {
    let b = &s.bars;
    let params = BTreeMap::from([
        ("fast".to_string(), "10".into()),
        ("slow".into(), "30".into()),
    ]);
    report::write_report(
        dir,
        &ReportInput {
            title: "SMA cross on a synthetic random walk".into(),
            symbol: "SYNTH".into(),
            strategy: "sma-cross".into(),
            params: params.clone(),
            ts_ms: b.ts_ms(),
            open: b.open(),
            high: b.high(),
            low: b.low(),
            close: b.close(),
            volume: b.volume(),
            overlays: report::overlays::for_strategy("sma-cross", &params, b.close(), 0..b.len()),
            equity: &s.equity,
            trades: &s.trades,
            stats,
            ai,
        },
    )
    .unwrap();
}

/// One self-contained file: the chart library and the report script are inline, nothing is
/// loaded from elsewhere (no script or stylesheet by URL, no imports, no remote images).
pub fn check_self_contained(html: &str) {
    assert!(
        html.contains("TradingView Lightweight Charts™ v5.2.1"),
        "the vendored chart library is inlined"
    );
    assert!(
        html.contains("id=\"report-data\""),
        "the chart data is inline"
    );
    let lower = html.to_ascii_lowercase();
    for banned in [
        "<script src",
        "<link",
        "@import",
        "url(http",
        "src=\"http",
        "src=\"//",
        "<iframe",
    ] {
        assert!(!lower.contains(banned), "report contains {banned}");
    }
    // every <script> is inline
    assert_eq!(
        lower.matches("<script").count(),
        lower.matches("<script>").count() + 1
    );
}

/// The chart data JSON of a report page.
pub fn report_data(html: &str) -> serde_json::Value {
    let start = html.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end].replace("<\\/", "</")).unwrap()
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

fn check_files(dir: &Path, s: &Synthetic) {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for needle in [
        "<!DOCTYPE html>",
        "id=\"equity\"",
        "id=\"drawdown\"",
        "id=\"price\"",
        "id=\"rolling\"",
        "id=\"distribution\"",
        "id=\"yearly\"",
        "id=\"worst-drawdowns\"",
        "id=\"excursions\"",
        "id=\"monthly\"",
        "id=\"stats\"",
        "id=\"trades\"",
        "<svg",
        "Sharpe",
        "Max drawdown",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle}");
    }
    check_self_contained(&html);
    for png in ["equity.png", "drawdown.png"] {
        assert_eq!(png_size(&dir.join(png)), report::PNG_SIZE);
    }
    let mut r = csv::Reader::from_path(dir.join("equity.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap(),
        vec!["timestamp", "equity", "drawdown_pct", "buy_hold"]
    );
    assert_eq!(r.records().count(), s.bars.len());
    let mut r = csv::Reader::from_path(dir.join("trades.csv")).unwrap();
    assert_eq!(&r.headers().unwrap()[0], "seq");
    assert_eq!(&r.headers().unwrap()[1], "round_trip");
    let ids: Vec<usize> = r
        .records()
        .map(|row| row.unwrap()[1].parse().unwrap())
        .collect();
    assert_eq!(ids.len(), s.trades.len(), "one row per exit fill");
    // the round-trip numbers count 1, 2, … without gaps, up to the trades the stats count
    assert!(ids.windows(2).all(|w| w[1] == w[0] || w[1] == w[0] + 1));
    assert_eq!(
        ids.last().copied().unwrap_or(0),
        algolab::metrics::trades::round_trips(&s.trades).len()
    );
    // no temp files left behind
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
}

#[test]
fn report_files_for_a_long_run() {
    let s = synthetic(1500, 7);
    assert!(s.trades.len() > 20, "the fixture trades");
    let stats = stats_of(&s);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &s, &stats, None);
    check_files(dir.path(), &s);
    if let Ok(keep) = std::env::var("ALGOLAB_KEEP_REPORT") {
        write(&Path::new(&keep).join("long"), &s, &stats, None);
    }
}

#[test]
fn issue_10_price_chart_has_candles_volume_overlays_and_a_marker_per_fill() {
    let s = synthetic(120, 11);
    let stats = stats_of(&s);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &s, &stats, None);
    check_files(dir.path(), &s);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let data = report_data(&html);
    let price = &data["charts"][0];
    assert_eq!(price["id"], "price");
    let kinds: Vec<&str> = price["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["candles", "line", "line", "volume"]);
    assert_eq!(price["series"][1]["name"], "SMA(10)");
    assert_eq!(price["series"][0]["data"].as_array().unwrap().len(), 120);
    let closed = s
        .trades
        .iter()
        .filter(|t| t.exit_reason != ExitReason::Open)
        .count();
    let markers = price["markers"].as_array().unwrap();
    assert_eq!(markers.len(), s.trades.len() + closed);
    // every marker sits on a candle
    let times: Vec<i64> = price["series"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect();
    assert!(
        markers
            .iter()
            .all(|m| times.contains(&m["t"].as_i64().unwrap()))
    );
    // the log-scale toggle and the charts the tearsheet promises
    assert!(html.contains("data-log=\"equity\""));
    let ids: Vec<&str> = data["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["price", "equity", "drawdown", "rolling"]);
    if let Ok(keep) = std::env::var("ALGOLAB_KEEP_REPORT") {
        write(&Path::new(&keep).join("short"), &s, &stats, None);
    }
}

#[test]
fn issue_10_huge_trade_lists_are_paged_in_the_html_and_whole_in_the_csv() {
    let mut s = synthetic(300, 3);
    let t = s.trades[0];
    s.trades = vec![t; 1000];
    let stats = stats_of(&s);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &s, &stats, None);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let data = report_data(&html);
    assert_eq!(data["trades"]["rows"].as_array().unwrap().len(), 1000);
    assert_eq!(data["trades"]["page_size"], report::TRADES_PER_PAGE);
    assert!(html.contains("id=\"trades-next\""));
    // no row is rendered into the page itself: the script shows one page at a time
    assert!(
        html.matches("<tr").count() < 100,
        "trade rows are not in the page"
    );
    let rows = csv::Reader::from_path(dir.path().join("trades.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(rows, 1000);
}

#[test]
fn an_unwritable_report_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let s = synthetic(60, 1);
    let stats = stats_of(&s);
    let b = &s.bars;
    let e = report::write_report(
        &file.join("report"),
        &ReportInput {
            title: "t".into(),
            symbol: "S".into(),
            strategy: "x".into(),
            params: BTreeMap::new(),
            ts_ms: b.ts_ms(),
            open: b.open(),
            high: b.high(),
            low: b.low(),
            close: b.close(),
            volume: b.volume(),
            overlays: Vec::new(),
            equity: &s.equity,
            trades: &s.trades,
            stats: &stats,
            ai: None,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("plain"), "{e}");
    assert_eq!(e.exit_code(), 1);
}

#[test]
fn a_stored_run_rebuilds_its_report() {
    let s = synthetic(400, 5);
    let stats = stats_of(&s);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("data/ai_learning.db")).unwrap();
    let id = store
        .begin_run(&RunRecord {
            command: "backtest".into(),
            args_json: "[]".into(),
            started_at: "2024-01-01T00:00:00Z".into(),
            symbol: Some("SYNTH".into()),
            strategy: Some("sma-cross".into()),
            params_json: Some(r#"{"fast":10,"slow":30}"#.into()),
            data_path: Some("synthetic".into()),
            ..RunRecord::default()
        })
        .unwrap();
    store.insert_equity(id, s.bars.ts_ms(), &s.equity).unwrap();
    store.insert_trades(id, &s.trades).unwrap();
    store
        .finish_run(
            id,
            &serde_json::to_string(&stats).unwrap(),
            "2024-01-01T00:00:01Z",
        )
        .unwrap();

    let out = dir.path().join("rebuilt");
    report::rebuild_report(&store, id, Some(&s.bars), &out).unwrap();
    check_files(&out, &s);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("sma-cross on SYNTH (run 1)"));
    assert!(html.contains("<b>fast</b>=10"), "parameters listed in full");

    // without bars: no price chart, still a report
    let out2 = dir.path().join("no-bars");
    report::rebuild_report(&store, id, None, &out2).unwrap();
    let html = std::fs::read_to_string(out2.join("report.html")).unwrap();
    assert!(html.contains("No price data."));

    // an unfinished run cannot be rebuilt
    let id2 = store.begin_run(&RunRecord::default()).unwrap();
    let e = report::rebuild_report(&store, id2, None, &out2).unwrap_err();
    assert!(e.to_string().contains("has no stats"), "{e}");
}
