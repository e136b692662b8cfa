//! `algolab data …` end to end: one test per malformed-input class (exit code 2 and a
//! message naming file, line and cause), the yfinance and Binance dialects, conversion and
//! `data check` on every bundled dataset.

use crate::util::{TestDir, dataset, repo_root, texts};

const HEADER: &str = "timestamp,open,high,low,close,volume\n";
const GOOD: &str = "2024-01-01,1,2,0.5,1.5,10\n";

/// Run `data check` on a file with `body`, expect exit 2 and a stderr line naming the file,
/// the line and the cause.
fn expect_bad(name: &str, body: impl AsRef<[u8]>, line: Option<u64>, cause: &str) {
    let t = TestDir::new();
    t.write(name, body);
    let out = t.run(&["data", "check", name]);
    let (_, err) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    let want = match line {
        Some(l) => format!("{name}:{l}: "),
        None => format!("{name}: "),
    };
    let hit = err.lines().find(|l| l.contains(&want) && l.contains(cause));
    assert!(
        hit.is_some(),
        "{name}: want {want:?} and {cause:?} on one line in:\n{err}"
    );
    // convert (strict loading) fails the same way, with the first problem
    let out = t.run(&["data", "convert", name, "out.csv"]);
    assert_eq!(out.status.code(), Some(2), "{name}");
    assert!(!t.path().join("out.csv").exists());
}

#[test]
fn unsorted_timestamps() {
    expect_bad(
        "u.csv",
        format!("{HEADER}{GOOD}2023-12-31,1,2,0.5,1.5,10\n"),
        Some(3),
        "unsorted",
    );
}

#[test]
fn duplicate_timestamps() {
    expect_bad(
        "d.csv",
        format!("{HEADER}{GOOD}{GOOD}"),
        Some(3),
        "duplicate timestamp",
    );
}

#[test]
fn high_below_low() {
    expect_bad(
        "h.csv",
        format!("{HEADER}{GOOD}2024-01-02,1,0.4,0.5,1,1\n"),
        Some(3),
        "high 0.4 is below low 0.5",
    );
}

#[test]
fn low_above_close() {
    expect_bad(
        "l.csv",
        format!("{HEADER}2024-01-02,1,2,1.2,1.5,1\n"),
        Some(2),
        "low 1.2 is above open 1",
    );
}

#[test]
fn negative_price() {
    expect_bad(
        "n.csv",
        format!("{HEADER}2024-01-02,-1,2,-2,1,1\n"),
        Some(2),
        "open must be positive",
    );
}

#[test]
fn negative_volume() {
    expect_bad(
        "v.csv",
        format!("{HEADER}2024-01-02,1,2,0.5,1,-5\n"),
        Some(2),
        "volume must not be negative",
    );
}

#[test]
fn nan_cell() {
    expect_bad(
        "nan.csv",
        format!("{HEADER}{GOOD}2024-01-02,1,NaN,0.5,1,5\n"),
        Some(3),
        "high is not a finite number",
    );
}

#[test]
fn empty_cell() {
    expect_bad(
        "e.csv",
        format!("{HEADER}2024-01-02,1,2,,1,5\n"),
        Some(2),
        "low: empty cell",
    );
}

#[test]
fn non_numeric_cell() {
    expect_bad(
        "x.csv",
        format!("{HEADER}2024-01-02,1,2,0.5,1,lots\n"),
        Some(2),
        "volume: \"lots\" is not a number",
    );
}

#[test]
fn short_row() {
    expect_bad(
        "s.csv",
        format!("{HEADER}{GOOD}2024-01-02,1,2,0.5\n"),
        Some(3),
        "short row: expected 6 fields, found 4",
    );
}

#[test]
fn missing_column() {
    expect_bad(
        "m.csv",
        "timestamp,open,high,low,volume\n2024-01-02,1,2,0.5,5\n",
        Some(1),
        "missing column close",
    );
}

#[test]
fn bad_timestamp() {
    expect_bad(
        "t.csv",
        format!("{HEADER}{GOOD}2024-02-30,1,2,0.5,1,5\n"),
        Some(3),
        "bad timestamp \"2024-02-30\"",
    );
}

#[test]
fn empty_file() {
    expect_bad("empty.csv", "", None, "empty file");
}

#[test]
fn header_only_file() {
    expect_bad("ho.csv", HEADER, None, "no bars");
}

#[test]
fn binary_file() {
    expect_bad(
        "bin.csv",
        [0x89u8, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0xfe],
        None,
        "binary file",
    );
}

#[test]
fn check_reports_every_problem_and_json() {
    let t = TestDir::new();
    t.write(
        "many.csv",
        format!("{HEADER}{GOOD}2024-01-02,1,2,0.5,1,-1\n2024-01-03,1,2,0.5\n2024-01-04,1,0.1,0.5,1,1\n2024-01-05,1,2,0.5,1,1\n"),
    );
    let out = t.run(&["data", "check", "--json", "many.csv"]);
    assert_eq!(out.status.code(), Some(2));
    let (stdout, stderr) = texts(&out);
    let j: serde_json::Value = serde_json::from_str(&stdout).expect("json on stdout");
    assert_eq!(j["problems_total"], 3, "{stdout}");
    assert_eq!(j["bars"], 4);
    assert_eq!(j["interval_ms"], 86_400_000);
    for l in [3, 4, 5] {
        assert!(stderr.contains(&format!("many.csv:{l}: ")), "{stderr}");
    }
}

#[test]
fn yfinance_export_loads_and_converts() {
    let t = TestDir::new();
    let fixture = repo_root().join("tests/fixtures/yfinance_export_GC=F.csv");
    let out = t.run(&["--json", "data", "check", fixture.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", texts(&out).1);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["format"], "yfinance csv");
    assert_eq!(j["bars"], 2679);
    // columns are in yfinance's order (Close,High,Low,Open,Volume): compare with GOLD_1d.csv,
    // the same data converted by hand to our column order
    let out = t.run(&["data", "convert", fixture.to_str().unwrap(), "gold.csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", texts(&out).1);
    let ours = std::fs::read_to_string(t.path().join("gold.csv")).unwrap();
    let bundled = std::fs::read_to_string(dataset("GOLD_1d.csv")).unwrap();
    let first = |s: &str| s.lines().nth(2).unwrap().to_string();
    // 2015-01-05: open 1180.300048828125, close 1203.9000244140625
    assert_eq!(
        first(&ours),
        "2015-01-05,1180.300048828125,1206.9000244140625,1180.0999755859375,1203.9000244140625,470"
    );
    assert_eq!(ours.lines().count(), bundled.lines().count());
}

const KLINE: &str = "1735689600000,93576.00,93610.93,93537.50,93610.93,8.21827,1735689659999,768978.3,1755,4.6,433188.1,0\n\
                     1735689660000,93610.93,93700.00,93600.00,93650.00,5.5,1735689719999,1.0,10,1.0,1.0,0\n";
const KLINE_US: &str = "1735689600000000,93576.00,93610.93,93537.50,93610.93,8.21827,1735689659999999,768978.3,1755,4.6,433188.1,0\n\
                        1735689660000000,93610.93,93700.00,93600.00,93650.00,5.5,1735689719999999,1.0,10,1.0,1.0,0\n";

#[test]
fn binance_klines_load_with_and_without_header() {
    let t = TestDir::new();
    let header = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n";
    t.write("k.csv", KLINE);
    t.write("kh.csv", format!("{header}{KLINE}"));
    t.write("kus.csv", KLINE_US);
    for f in ["k.csv", "kh.csv", "kus.csv"] {
        let out = t.run(&["data", "convert", f, &format!("{f}.out.csv")]);
        assert_eq!(out.status.code(), Some(0), "{f}: {}", texts(&out).1);
        let s = std::fs::read_to_string(t.path().join(format!("{f}.out.csv"))).unwrap();
        assert_eq!(
            s,
            "timestamp,open,high,low,close,volume\n\
             2025-01-01T00:00:00Z,93576,93610.93,93537.5,93610.93,8.21827\n\
             2025-01-01T00:01:00Z,93610.93,93700,93600,93650,5.5\n",
            "{f}"
        );
    }
    // a bad kline row is named by its line
    t.write("kbad.csv", format!("{header}{KLINE}1735689720000,1,2,3\n"));
    let out = t.run(&["data", "check", "kbad.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        texts(&out).1.contains("kbad.csv:4: short row"),
        "{}",
        texts(&out).1
    );
}

#[test]
fn convert_resamples_to_parquet_and_back() {
    let t = TestDir::new();
    let src = dataset("BTCUSDT_1h.csv");
    let out = t.run(&[
        "data",
        "convert",
        src.to_str().unwrap(),
        "btc_4h.parquet",
        "--resample",
        "4h",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", texts(&out).1);
    let out = t.run(&["--json", "data", "check", "btc_4h.parquet"]);
    assert_eq!(out.status.code(), Some(0), "{}", texts(&out).1);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["format"], "parquet");
    assert_eq!(j["interval_ms"], 4 * 3_600_000);
    // 39937 hourly bars from 2017-08-18T00 → ceil(39937 / 4) buckets, no gaps in the source
    assert_eq!(j["bars"], 9985);
    let out = t.run(&["data", "convert", "btc_4h.parquet", "x.xlsx"]);
    assert_eq!(out.status.code(), Some(2));
    let out = t.run(&[
        "data",
        "convert",
        src.to_str().unwrap(),
        "y.csv",
        "--resample",
        "3x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("bad interval \"3x\""));
}

#[test]
fn synth_is_seeded_and_valid() {
    let t = TestDir::new();
    for name in ["a.csv", "b.csv"] {
        let out = t.run(&[
            "data",
            "synth",
            "--bars",
            "300",
            "--seed",
            "5",
            "--interval",
            "1h",
            name,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", texts(&out).1);
    }
    let a = std::fs::read(t.path().join("a.csv")).unwrap();
    assert_eq!(a, std::fs::read(t.path().join("b.csv")).unwrap());
    let out = t.run(&["data", "check", "a.csv"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn every_bundled_dataset_checks_clean() {
    let t = TestDir::new();
    let mut n = 0;
    for e in std::fs::read_dir(repo_root().join("datasets")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "csv") {
            let out = t.run(&["data", "check", p.to_str().unwrap()]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                p.display(),
                texts(&out).1
            );
            n += 1;
        }
    }
    assert_eq!(n, 8);
}
