//! The drift detectors against Python `river`'s `PageHinkley` and `ADWIN` on the streams of
//! `scripts/drift_golden.py` (golden files `tests/it/golden/drift_*.json`): the same update
//! indexes report a drift, and ADWIN's window has the same width after every update and the
//! same mean (to 1e-9 relative) where sampled.

use algolab::ai::online::drift::{Adwin, AdwinConfig, PageHinkley, PageHinkleyConfig, PhMode};
use serde_json::Value;

fn golden(name: &str) -> Value {
    let p = crate::util::repo_root()
        .join("tests/it/golden")
        .join(format!("drift_{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).expect("golden file")).expect("json")
}

fn values(doc: &Value, stream: &str) -> Vec<f64> {
    doc["streams"][stream]["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v.as_f64().expect("f64"))
        .collect()
}

fn ints(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("int") as usize)
        .collect()
}

#[test]
fn page_hinkley_matches_river() {
    let doc = golden("page_hinkley");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20);
    for case in cases {
        let stream = case["stream"].as_str().expect("stream");
        let p = &case["params"];
        let cfg = PageHinkleyConfig {
            min_instances: p["min_instances"].as_u64().expect("min") as usize,
            delta: p["delta"].as_f64().expect("delta"),
            threshold: p["threshold"].as_f64().expect("threshold"),
            alpha: p["alpha"].as_f64().expect("alpha"),
            mode: match p["mode"].as_str().expect("mode") {
                "up" => PhMode::Up,
                "down" => PhMode::Down,
                _ => PhMode::Both,
            },
        };
        let mut ph = PageHinkley::new(cfg);
        let got: Vec<usize> = values(&doc, stream)
            .into_iter()
            .enumerate()
            .filter_map(|(i, x)| ph.update(x).then_some(i))
            .collect();
        assert_eq!(got, ints(&case["detections"]), "{stream} {p}");
    }
}

#[test]
fn adwin_matches_river() {
    let doc = golden("adwin");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 15);
    for case in cases {
        let stream = case["stream"].as_str().expect("stream");
        let p = &case["params"];
        let cfg = AdwinConfig {
            delta: p["delta"].as_f64().expect("delta"),
            clock: p["clock"].as_u64().expect("clock") as u32,
            max_buckets: p["max_buckets"].as_u64().expect("mb") as usize,
            min_window_length: p["min_window_length"].as_u64().expect("mwl") as usize,
            grace_period: p["grace_period"].as_u64().expect("grace") as usize,
        };
        let want_width = ints(&case["width"]);
        let sampled: Vec<(usize, f64)> = case["estimation"]
            .as_array()
            .expect("estimation")
            .iter()
            .map(|r| {
                (
                    r[0].as_u64().expect("i") as usize,
                    r[1].as_f64().expect("e"),
                )
            })
            .collect();
        let mut a = Adwin::new(cfg);
        let mut hits = Vec::new();
        let mut est = Vec::new();
        for (i, x) in values(&doc, stream).into_iter().enumerate() {
            if a.update(x) {
                hits.push(i);
            }
            assert_eq!(a.width(), want_width[i], "{stream} {p}: width at {i}");
            est.push(a.estimation());
        }
        assert_eq!(hits, ints(&case["detections"]), "{stream} {p}");
        for (i, e) in sampled {
            let tol = 1e-9 * e.abs().max(1.0);
            assert!(
                (est[i] - e).abs() <= tol,
                "{stream} {p}: estimation at {i}: {} vs river {e}",
                est[i]
            );
        }
    }
}

#[test]
fn goldens_have_detections_near_the_known_change_points() {
    // the files are not trivial: river finds the trade-return decay and the win-rate drop
    let doc = golden("adwin");
    let win = doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["stream"] == "win_rate_down_up")
        .expect("case");
    let d = ints(&win["detections"]);
    assert!(d.iter().any(|&i| (500..700).contains(&i)), "{d:?}");
    let doc = golden("page_hinkley");
    let trade = doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["stream"] == "trade_returns_decay" && c["params"]["threshold"] == 0.15)
        .expect("case");
    let d = ints(&trade["detections"]);
    assert!(d.first().is_some_and(|&i| (400..500).contains(&i)), "{d:?}");
}
