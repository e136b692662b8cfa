//! The report pages run in a real browser: a synthetic backtest report is loaded in headless
//! Chromium (`--dump-dom`, no network) and the DOM after the scripts ran must hold every
//! interactive chart (canvases and a hover legend each), the first page of the trades table
//! and the pager, and the first page of the AI decisions table with its pager. Skips, saying
//! why, when no Chromium is installed (`apt-get install -y chromium`; set `CHROMIUM` to use
//! another binary).

#![allow(clippy::unwrap_used, reason = "test code")]

use std::process::Command;

use crate::report_files::{report_data, synthetic, write_synthetic_ai};

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
    let ai = write_synthetic_ai(dir.path(), &s);
    assert!(ai.rows.len() > 25, "two pages of decisions");
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
    // the AI decisions table shows its first page, escaped, and its pager
    assert!(dom.contains("data-d=\"0\"") && !dom.contains("data-d=\"25\""));
    assert!(
        dom.contains(&format!("decisions 1–25 of {}", ai.rows.len())),
        "ai pager"
    );
    // the LLM's text is shown as text, never parsed as markup
    assert!(dom.contains("vetoed &lt;b"), "escaped LLM text");
    assert!(!dom.contains("<b>twice</b>"), "escaped LLM text");
    assert!(dom.contains("technical BUY 80 % × 1.00"), "opinions");
}
