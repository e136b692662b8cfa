//! The report pages run in a real browser: a synthetic backtest report is loaded in headless
//! Chromium (`--dump-dom`, no network) and the DOM after the scripts ran must hold every
//! interactive chart (canvases and a hover legend each), the first page of the trades table
//! and the pager. Skips, saying why, when no Chromium is installed (`apt-get install -y
//! chromium`; set `CHROMIUM` to use another binary).

#![allow(clippy::unwrap_used, reason = "test code")]

use std::process::Command;

use crate::report_files::{report_data, synthetic, write_synthetic};

fn chromium() -> Option<String> {
    let candidates = std::env::var("CHROMIUM")
        .into_iter()
        .chain(["chromium", "chromium-browser", "google-chrome"].map(String::from));
    for c in candidates {
        let ok = Command::new(&c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(c);
        }
    }
    None
}

#[test]
fn issue_10_report_charts_render_in_headless_chromium() {
    let Some(bin) = chromium() else {
        eprintln!("skipping: no chromium on PATH (apt-get install -y chromium, or set CHROMIUM)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = synthetic(400, 17);
    write_synthetic(dir.path(), &s);
    let page = dir.path().join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    let charts = report_data(&html)["charts"].as_array().unwrap().len();
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1400,2000",
            "--virtual-time-budget=4000",
            "--timeout=60000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    // every chart was built by the library: canvases and the hover legend
    assert_eq!(
        dom.matches("class=\"legend").count(),
        charts,
        "one legend per chart"
    );
    assert!(
        dom.matches("<canvas").count() >= charts * 2,
        "charts drew canvases"
    );
    assert!(
        dom.contains("Strategy: <b>"),
        "the equity legend shows a value"
    );
    // the trades table shows its first page and the pager
    assert!(dom.contains("data-i=\"0\"") && !dom.contains("data-i=\"25\""));
    assert!(dom.contains("page 1 of"), "pager");
}
