//! Property tests of the data layer: resampling keeps the OHLCV aggregates of each bucket,
//! and CSV ⇄ Parquet round trips are exact (every f64 bit and timestamp, extras included).

use proptest::prelude::*;

use super::{
    Bar, Bars, Columns, bucket_start, read_csv, read_parquet, resample, write_csv, write_parquet,
};

/// Valid bars from arbitrary steps, prices and extras (NaN allowed in extras).
fn arb_bars() -> impl Strategy<Value = Bars> {
    let row = (
        1i64..10_000_000,
        1e-6f64..1e9,
        0f64..1.0,
        0f64..1.0,
        0f64..1.0,
        prop_oneof![Just(0.0), 0f64..1e12],
        prop_oneof![Just(f64::NAN), -1.0f64..1.0],
    );
    (
        -2_000_000_000_000i64..4_000_000_000_000,
        prop::collection::vec(row, 1..60),
        any::<bool>(),
    )
        .prop_map(|(start, rows, with_extra)| {
            let mut cols = Columns::default();
            let mut ts = start;
            let mut extra = Vec::new();
            for (step, base, a, b, c, vol, x) in rows {
                ts += step;
                let open = base * (1.0 + a);
                let close = base * (1.0 + b);
                let high = open.max(close) * (1.0 + c);
                let low = open.min(close) * (1.0 - c / 2.0);
                cols.push(Bar {
                    ts_ms: ts,
                    open,
                    high,
                    low,
                    close,
                    volume: vol,
                });
                extra.push(x);
            }
            if with_extra {
                cols.extra.insert("funding_rate".into(), extra);
            }
            Bars::new(cols).expect("generated bars are valid")
        })
}

fn bits(b: &Bars) -> Vec<u64> {
    let mut v: Vec<u64> = b.ts_ms().iter().map(|&t| t as u64).collect();
    for col in [b.open(), b.high(), b.low(), b.close(), b.volume()] {
        v.extend(col.iter().map(|x| x.to_bits()));
    }
    for (k, col) in b.extras() {
        v.extend(k.bytes().map(u64::from));
        v.extend(col.iter().map(|x| x.to_bits()));
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prop_resample_keeps_bucket_aggregates(bars in arb_bars(), k in 0usize..4) {
        let interval = [60_000i64, 3_600_000, 86_400_000, 604_800_000][k];
        let r = resample(&bars, interval).unwrap();
        let mut j = 0;
        for out in r.iter() {
            let members: Vec<Bar> = bars
                .iter()
                .filter(|b| bucket_start(b.ts_ms, interval) == out.ts_ms)
                .collect();
            prop_assert!(!members.is_empty());
            prop_assert_eq!(out.open, members[0].open);
            prop_assert_eq!(out.close, members[members.len() - 1].close);
            prop_assert_eq!(out.high, members.iter().map(|b| b.high).fold(f64::MIN, f64::max));
            prop_assert_eq!(out.low, members.iter().map(|b| b.low).fold(f64::MAX, f64::min));
            let vol: f64 = members.iter().map(|b| b.volume).sum();
            prop_assert_eq!(out.volume, vol);
            j += members.len();
        }
        prop_assert_eq!(j, bars.len());
    }

    #[test]
    fn prop_load_and_check_never_panic(
        body in prop_oneof![
            "[-0-9a-zT:.,Z+ \n]{0,200}",
            prop::collection::vec(any::<u8>(), 0..200).prop_map(|v| String::from_utf8_lossy(&v).into_owned()),
        ],
        header in prop_oneof![
            Just("timestamp,open,high,low,close,volume\n"),
            Just("Price,Close,High,Low,Open,Volume\nTicker,X,X,X,X,X\nDate,,,,,\n"),
            Just(""),
        ],
    ) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.csv");
        std::fs::write(&p, format!("{header}{body}")).unwrap();
        let loaded = super::load(&p);
        let report = super::check(&p);
        // a file that loads has no problems, and the other way round
        prop_assert_eq!(loaded.is_ok(), report.is_ok(), "{:?} vs {:?}", loaded.err(), report.problems);
    }

    #[test]
    fn prop_fast_float_parse_equals_std(digits in "-?[0-9]{1,20}", dot in 0usize..22) {
        let mut t = digits.clone();
        if dot < t.len() && !t[dot..].starts_with('-') && !t[..dot].ends_with('-') {
            t.insert(dot, '.');
        }
        let want = t.parse::<f64>().ok().map(f64::to_bits);
        prop_assert_eq!(super::csv::parse_f64(t.as_bytes()).map(f64::to_bits), want, "{}", t);
    }

    #[test]
    fn prop_csv_parquet_round_trip_is_exact(bars in arb_bars()) {
        let d = tempfile::tempdir().unwrap();
        let csv = d.path().join("a.csv");
        let pq = d.path().join("a.parquet");
        write_csv(&bars, &csv).unwrap();
        let from_csv = read_csv(&csv).unwrap();
        prop_assert_eq!(bits(&from_csv), bits(&bars));
        write_parquet(&from_csv, &pq).unwrap();
        let from_pq = read_parquet(&pq).unwrap();
        prop_assert_eq!(bits(&from_pq), bits(&bars));
        let csv2 = d.path().join("b.csv");
        write_csv(&from_pq, &csv2).unwrap();
        prop_assert_eq!(std::fs::read(&csv).unwrap(), std::fs::read(&csv2).unwrap());
    }
}
