//! `algolab run --config bots.toml` restarts a killed bot and keeps `portfolio.json`
//! current; `algolab status` shows every bot; `paper --loop` writes its health; a bad
//! config exits 2.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{TestDir, texts};

fn portfolio(dir: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(dir.join("data/portfolio.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Poll `portfolio.json` until `ok` holds for it (the runner rewrites it every second).
fn wait_for(dir: &Path, what: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        if let Some(p) = portfolio(dir)
            && ok(&p)
        {
            return p;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_runner_restarts_a_killed_bot_and_status_shows_it() {
    let t = TestDir::new();
    t.write(
        "bots.toml",
        r#"
[[bot]]
name = "crypto-btc"
market = "crypto"
symbol = "BTC/USDT"
strategy = "sma-cross"
params = { fast = 3, slow = 8 }
args = ["--every", "1"]
"#,
    );
    let mut runner = t
        .cmd(&[
            "run",
            "--config",
            "bots.toml",
            "--status-every",
            "1",
            "--run-for",
            "90",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = wait_for(t.path(), "the bot to tick", |p| {
        p["bots"][0]["running"] == true && p["bots"][0]["equity"].is_number()
    });
    let pid = first["bots"][0]["pid"].as_u64().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let after = wait_for(t.path(), "the restart", |p| {
        p["bots"][0]["restarts"].as_u64() >= Some(1)
            && p["bots"][0]["running"] == true
            && p["bots"][0]["pid"].as_u64().is_some_and(|p2| p2 != pid)
    });
    assert_eq!(after["bots"][0]["market"], "crypto");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &runner.id().to_string()])
        .status();
    let status = runner.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(runner.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(err.contains("restarting in 1 s"), "{err}");
    // the runner stopped its bot on the way out
    let last = portfolio(t.path()).unwrap();
    assert_eq!(last["bots"][0]["running"], false);

    let out = t.run(&["status", "--json"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["bots"][0]["name"], "crypto-btc");
    assert_eq!(v["bots"][0]["symbol"], "BTC/USDT");
    assert_eq!(v["bots"][0]["restarts"].as_u64(), Some(1));
    assert_eq!(v["total_value"].as_f64(), v["bots"][0]["equity"].as_f64());
    // the restarted bot's ticks find nothing new: healthy either way
    let last = v["bots"][0]["health"]["last_status"].as_str().unwrap();
    assert!(last == "ok" || last == "idle", "{last}");
    assert_eq!(v["bots"][0]["health"]["failures"], 0);
}

#[test]
fn paper_loop_writes_health_after_each_tick() {
    let t = TestDir::new();
    let out = t.run(&[
        "paper",
        "--symbol",
        "BTC/USDT",
        "--bot",
        "looper",
        "--loop",
        "--every",
        "0",
        "--max-ticks",
        "2",
        "-q",
    ]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let h: serde_json::Value = serde_json::from_slice(
        &std::fs::read(t.path().join("data/bots/looper/health.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(h["last_status"], "idle", "the second tick had nothing new");
    assert_eq!(h["failures"], 0);
    assert!(h["last_bar_ts_ms"].is_number());
}

#[test]
fn a_bad_bots_config_exits_2_naming_the_key() {
    let t = TestDir::new();
    t.write(
        "bots.toml",
        "[[bot]]\nname = \"x\"\nsymbol = \"BTC/USDT\"\nmarket = \"fx\"\n",
    );
    let out = t.run(&["run", "--config", "bots.toml"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("market"), "{stderr}");
    let out = t.run(&["run", "--config", "missing.toml"]);
    assert_eq!(out.status.code(), Some(2));
}
