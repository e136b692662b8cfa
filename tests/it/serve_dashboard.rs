//! The dashboard of `algolab serve` in a real browser (issue 14): headless Chromium loads
//! `/dashboard` from a server over the fixture state of `serve_api`; the DOM after the
//! scripts ran must show the portfolio value, a trade and a decision explanation from the
//! fixtures; Chromium's network log must name no URL outside 127.0.0.1; screenshots at
//! 1400 and 420 px wide go to `docs/screenshots/` for a person to look at. Skips, saying
//! why, when no Chromium is installed (`.ci/run` installs Debian's).

#![allow(clippy::unwrap_used, reason = "test code")]

use std::path::Path;
use std::process::Command;

use crate::serve_api::{Env, fixture, get, serve};

fn chromium() -> Option<String> {
    let candidates = std::env::var("CHROMIUM")
        .into_iter()
        .chain(["chromium", "chromium-browser", "google-chrome"].map(String::from));
    candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn headless(bin: &str, profile: &Path, width: u32, height: u32) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--virtual-time-budget=15000",
        "--timeout=90000",
    ])
    .arg(format!("--window-size={width},{height}"))
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Every URL in a Chromium net log (`"url":"…"` entries).
fn urls_in_net_log(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.split("\"url\":\"").skip(1) {
        if let Some(end) = part.find('"') {
            out.push(part[..end].to_string());
        }
    }
    out
}

fn money(v: f64) -> String {
    // the page's en-US format with two decimals and thousands separators
    let cents = (v * 100.0).round() as i64;
    let (int, frac) = (cents.abs() / 100, cents.abs() % 100);
    let s = int.to_string();
    let mut grouped = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}{grouped}.{frac:02}", if cents < 0 { "-" } else { "" })
}

#[test]
fn the_dashboard_renders_fixture_state_in_headless_chromium_from_loopback_only() {
    let Some(bin) = chromium() else {
        eprintln!("skipping: no chromium on PATH (apt-get install -y chromium, or set CHROMIUM)");
        return;
    };
    let f = fixture();
    let srv = serve(&f.data_dir(), &Env::default());
    let url = format!("http://{}/dashboard?every=3", srv.addr);
    let status = get(srv.addr, "/api/status").json();
    let total = status["total_value"].as_f64().unwrap();

    let profile = tempfile::tempdir().unwrap();
    let net_log = profile.path().join("net.json");
    let out = headless(&bin, &profile.path().join("p"), 1400, 2400)
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg("--net-log-capture-mode=Default")
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);

    // the portfolio value, as the page formats it
    assert!(
        dom.contains(&money(total)),
        "portfolio value {} not in the page",
        money(total)
    );
    // a trade of the fixture bots: the trades table has rows with a bot name and a side
    let trades_body = dom.split("id=\"trades\"").nth(1).unwrap();
    assert!(
        trades_body.contains("btc-trend") || trades_body.contains("btc-2021"),
        "no trade row"
    );
    assert!(trades_body.contains("side-long") || trades_body.contains("side-short"));
    // a decision explanation of the ai run: the why sentence names the technical vote
    let decisions = dom.split("id=\"decisions\"").nth(1).unwrap();
    assert!(decisions.contains("class=\"why\""), "no decision card");
    assert!(
        decisions.contains("technical BUY") || decisions.contains("technical SELL"),
        "no explanation"
    );
    assert!(dom.contains(&format!("run {}", f.ai_run)));
    // the chart library drew, the readiness panel filled
    assert!(dom.matches("<canvas").count() >= 2, "the equity chart drew");
    assert!(dom.contains("class=\"check\""));
    assert!(dom.contains("dot ok"), "the last refresh succeeded");

    // no request left 127.0.0.1
    let log = std::fs::read_to_string(&net_log).unwrap();
    let urls = urls_in_net_log(&log);
    assert!(
        urls.iter().any(|u| u.contains("/api/status")),
        "the net log saw the API calls"
    );
    let host = format!("http://{}/", srv.addr);
    for u in &urls {
        assert!(u.starts_with(&host), "a request left the server: {u}");
    }

    // screenshots for people: laptop and phone widths
    let shots = crate::util::repo_root().join("docs/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, w, h) in [
        ("dashboard.png", 1400, 2300),
        ("dashboard-phone.png", 420, 3600),
    ] {
        let file = shots.join(name);
        let out = headless(&bin, &profile.path().join(format!("s{w}")), w, h)
            .arg(format!("--screenshot={}", file.display()))
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let png = std::fs::read(&file).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "{name}");
    }
}
