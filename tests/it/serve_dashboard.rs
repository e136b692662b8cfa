//! The dashboard of `algolab serve` in a real browser (issue 14): headless Chromium loads
//! `/dashboard` from a server over the fixture state of `serve_api`; the DOM after the
//! scripts ran must show the portfolio value, a trade and a decision explanation from the
//! fixtures; Chromium's network log must show that the page requested nothing outside the
//! server; whole-page screenshots at 1400 and 420 px wide go to
//! `target/tmp/screenshots/dashboard*.png` for a person to look at, or, with
//! `ALGOLAB_UPDATE_SCREENSHOTS=1`, to the tracked `docs/screenshots/` (what the README shows):
//! `ALGOLAB_UPDATE_SCREENSHOTS=1 cargo test --test it serve_dashboard`. Skips, saying why,
//! when no Chromium is installed (`.ci/run` installs Debian's).

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
        // Chromium's own background requests (network time, component updates, safe
        // browsing) are off, and any host name but 127.0.0.1 resolves to nothing, so the net
        // log shows the page's requests only and nothing could leave the machine anyway
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
        "--disable-client-side-phishing-detection",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-extensions",
        "--no-pings",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=15000",
        "--timeout=90000",
    ])
    .arg(format!("--window-size={width},{height}"))
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The URL requests of a Chromium net log (`URL_REQUEST_START_JOB` events): (url,
/// initiator), where the initiator is the requesting page's origin or `not an origin` for
/// Chromium's own requests (component updates, network time).
fn requests_in_net_log(text: &str) -> Vec<(String, String)> {
    let log: serde_json::Value = serde_json::from_str(text).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter_map(|e| {
            let p = &e["params"];
            Some((
                p["url"].as_str()?.to_string(),
                p["initiator"]
                    .as_str()
                    .unwrap_or("not an origin")
                    .to_string(),
            ))
        })
        .collect()
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

    // the page made no request outside the server: every request a page initiated went to
    // it; Chromium's own background requests (initiator "not an origin": component updates,
    // network time) cannot leave either, as every host name but 127.0.0.1 resolves to nothing
    let log = std::fs::read_to_string(&net_log).unwrap();
    let requests = requests_in_net_log(&log);
    let origin = format!("http://{}", srv.addr);
    assert!(
        requests
            .iter()
            .any(|(u, i)| u.ends_with("/api/status") && *i == origin),
        "the net log saw the page's API calls: {requests:?}"
    );
    for (u, initiator) in &requests {
        let on_server = u.starts_with(&format!("{origin}/"));
        assert!(
            on_server || initiator == "not an origin",
            "the page requested {u} (initiator {initiator})"
        );
        if initiator != "not an origin" {
            assert_eq!(initiator, &origin, "{u}");
        }
    }
    assert!(
        requests
            .iter()
            .filter(|(u, _)| u.starts_with(&format!("{origin}/api/")))
            .count()
            >= 6,
        "status, equity, trades, runs, decisions, AI status, learning, readiness"
    );

    // screenshots for people: laptop and phone widths
    // the tracked copies in docs/screenshots are rewritten only on request, so a test run
    // leaves the tree clean
    let shots = if std::env::var_os("ALGOLAB_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        crate::util::repo_root().join("docs/screenshots")
    } else {
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    };
    std::fs::create_dir_all(&shots).unwrap();
    for (name, w) in [("dashboard.png", 1400), ("dashboard-phone.png", 420)] {
        // the page's rendered height at this width, then the whole page
        let out = headless(&bin, &profile.path().join(format!("h{w}")), w, 1000)
            .arg("--dump-dom")
            .arg(&url)
            .output()
            .unwrap();
        let dom = String::from_utf8_lossy(&out.stdout);
        let h: u32 = dom
            .split("data-height=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(3000);
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
