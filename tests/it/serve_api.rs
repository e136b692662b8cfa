//! `algolab serve` end to end (issue 14): the real binary on a free loopback port over
//! fixture state made by real commands (three `paper --data` bots over recent-looking hourly
//! bars, an `ai` and an `sma-cross` backtest in the learning DB), with one fake server on
//! 127.0.0.1 playing Binance's `/api/v3/time` and Ollama's `/api/tags` and `/api/chat`.
//! Every endpoint: status codes, JSON shapes, auth (401), bad bodies and queries (400),
//! oversize bodies (413), readiness 200 and 503, and no secret in any answer.

#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(
    clippy::disallowed_methods,
    reason = "the fixture's bars end at the wall clock's last hour"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{dataset, repo_root};

pub const TOKEN: &str = "test-api-token-5f0c2a9e71";
pub const BINANCE_SECRET: &str = "binance-secret-value-8d1e4b";
pub const BINANCE_KEY: &str = "binance-key-value-3c7a90";
pub const TELEGRAM_TOKEN: &str = "123456789:AAtelegramSecretToken_xyz";
const HOUR: i64 = 3_600_000;

/// The answer the fake Ollama gives.
pub const LLM_ANSWER: &str = r#"{"action":"HOLD","confidence":0.61,"veto":false,"risk_warning":"volatility is elevated","explanation":"the trend is intact but stretched"}"#;

// ---- a minimal HTTP/1.1 client and fake upstream --------------------------------------

/// An answer: status, headers (lower-case names), body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {}", &self.body[..self.body.len().min(300)])
        })
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(n) = get("content-length") {
        body.resize(n.parse().unwrap(), 0);
        r.read_exact(&mut body).unwrap();
    } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        r.read_to_end(&mut body).unwrap();
    }
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Send one request to `addr` and read the answer.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        head += &format!("Authorization: Bearer {t}\r\n");
    }
    if let Some(b) = body {
        head += &format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        );
    }
    head += "\r\n";
    s.write_all(head.as_bytes()).unwrap();
    if let Some(b) = body {
        // a server may answer (413) and close before reading a large body
        let _ = s.write_all(b);
    }
    read_answer(&mut s)
}

pub fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path, None, None)
}

pub fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: &str) -> Answer {
    request(addr, "POST", path, token, Some(body.as_bytes()))
}

#[allow(clippy::disallowed_methods, reason = "the fake exchange's clock")]
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// One fake upstream on 127.0.0.1: Binance's server time and Ollama's tags and chat.
/// Serves until the test process ends.
pub fn fake_upstream() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                let answer = if path.starts_with("/api/v3/time") {
                    json!({"serverTime": now_ms()})
                } else if path.starts_with("/api/tags") {
                    json!({"models": [{"name": "qwen2.5:7b"}]})
                } else if path.starts_with("/api/chat") {
                    json!({"model": "qwen2.5:7b", "message": {"role": "assistant", "content": LLM_ANSWER}, "done": true})
                } else {
                    json!({"error": "not found"})
                };
                let text = answer.to_string();
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            });
        }
    });
    addr
}

/// A port nothing listens on (bound, then closed).
pub fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---- the fixture ----------------------------------------------------------------------

/// The fixture's data dir (built once per test process, under the target dir).
pub struct Fixture {
    pub root: PathBuf,
    pub ai_run: i64,
}

impl Fixture {
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }
}

fn algolab(root: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_algolab"))
        .args(args)
        .current_dir(root)
        .env("DATA_DIR", root.join("data"))
        .env("ALGOLAB_DATASETS", repo_root().join("datasets"))
        .env("OLLAMA_HOST", "http://127.0.0.1:9")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env_remove("BINANCE_SECRET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "algolab {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// Hourly bars: `n` bars of BTCUSDT_1h from line `from`, re-timed so the last one opened
/// an hour before the current hour (a bot that is up to date).
fn recent_bars(path: &Path, from: usize, n: usize) {
    let text = std::fs::read_to_string(dataset("BTCUSDT_1h.csv")).unwrap();
    let rows: Vec<&str> = text.lines().skip(1 + from).take(n).collect();
    let last_open = (now_ms() / HOUR) * HOUR - HOUR;
    let mut out = String::from("timestamp,open,high,low,close,volume\n");
    for (i, r) in rows.iter().enumerate() {
        let f: Vec<&str> = r.split(',').collect();
        let ts = last_open - (n - 1 - i) as i64 * HOUR;
        let t = chrono::DateTime::from_timestamp_millis(ts)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ");
        out += &format!("{t},{},{},{},{},{}\n", f[1], f[2], f[3], f[4], f[5]);
    }
    std::fs::write(path, out).unwrap();
}

fn build_fixture() -> Fixture {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("serve-fixture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    // fixtures of earlier test processes that are gone
    if let Ok(rd) = std::fs::read_dir(env!("CARGO_TARGET_TMPDIR")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("serve-fixture-")
                && !Path::new("/proc").join(pid).exists()
                && Path::new("/proc/self").exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    std::fs::create_dir_all(root.join("bars")).unwrap();
    let bots: [(&str, &str, usize, &[&str]); 3] = [
        (
            "btc-trend",
            "BTCUSDT",
            39_000,
            &[
                "--strategy",
                "sma-cross",
                "--param",
                "fast=5",
                "--param",
                "slow=20",
                "--cash",
                "25000",
            ],
        ),
        (
            "btc-2021",
            "BTCUSDT_2021",
            30_000,
            &["--strategy", "technical"],
        ),
        (
            "btc-2019",
            "BTCUSDT_2019",
            14_000,
            &[
                "--strategy",
                "sma-cross",
                "--param",
                "fast=8",
                "--param",
                "slow=30",
                "--cash",
                "5000",
            ],
        ),
    ];
    for (bot, stem, from, strat) in bots {
        let file = root.join("bars").join(format!("{stem}.csv"));
        recent_bars(&file, from, 600);
        // the first tick acts from bar 100 on, a second tick finds nothing new
        let first = chrono::DateTime::from_timestamp_millis((now_ms() / HOUR) * HOUR - 500 * HOUR)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let f = file.display().to_string();
        let mut args = vec![
            "paper",
            "--data",
            f.as_str(),
            "--bot",
            bot,
            "--from",
            first.as_str(),
            "--fractional",
            "--commission",
            "0.001",
            "-q",
        ];
        args.extend_from_slice(strat);
        algolab(&root, &args);
        algolab(&root, &args);
    }
    let v = algolab(
        &root,
        &[
            "backtest",
            "--symbol",
            "BTC/USDT",
            "--strategy",
            "ai",
            "--from",
            "2021-01-01",
            "--to",
            "2021-07-01",
            "--json",
            "-q",
        ],
    );
    let ai_run = v["run_id"].as_i64().unwrap();
    algolab(
        &root,
        &[
            "backtest",
            "--symbol",
            "BTC/USDT",
            "--strategy",
            "sma-cross",
            "--from",
            "2021-01-01",
            "--to",
            "2021-07-01",
            "--json",
            "-q",
        ],
    );
    Fixture { root, ai_run }
}

/// The shared fixture.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build_fixture)
}

// ---- the server -----------------------------------------------------------------------

/// A running `algolab serve`, killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the upstreams look to the server.
pub struct Env {
    /// Binance and Ollama base URL (`None`: a dead port).
    pub upstream: Option<SocketAddr>,
    /// Telegram configured.
    pub telegram: bool,
    pub extra_args: Vec<&'static str>,
}

impl Default for Env {
    fn default() -> Self {
        Env {
            upstream: Some(fake_upstream()),
            telegram: true,
            extra_args: Vec::new(),
        }
    }
}

/// `algolab ARGS` over `data_dir` with the secrets and upstreams of `env`.
pub fn algolab_cmd(data_dir: &Path, env: &Env, args: &[&str]) -> Command {
    let base = match env.upstream {
        Some(a) => format!("http://{a}"),
        None => format!("http://127.0.0.1:{}", dead_port()),
    };
    let mut c = Command::new(env!("CARGO_BIN_EXE_algolab"));
    c.args(args)
        .args(&env.extra_args)
        .env("DATA_DIR", data_dir)
        .env("ALGOLAB_DATASETS", repo_root().join("datasets"))
        .env("ALGOLAB_API_TOKEN", TOKEN)
        .env("ALGOLAB_BINANCE_URL", &base)
        .env("OLLAMA_HOST", &base)
        .env("AI_TIMEOUT", "20")
        .env("BINANCE_SECRET", BINANCE_SECRET)
        .env("BINANCE_API_KEY", BINANCE_KEY);
    if env.telegram {
        c.env("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
            .env("TELEGRAM_CHAT_ID", "4242")
            .env("ALGOLAB_TELEGRAM_URL", &base);
    } else {
        c.env_remove("TELEGRAM_BOT_TOKEN")
            .env_remove("TELEGRAM_CHAT_ID");
    }
    c
}

/// Start `algolab serve --port 0` over `data_dir` and wait for its address.
pub fn serve(data_dir: &Path, env: &Env) -> Server {
    let mut c = algolab_cmd(data_dir, env, &["serve", "--port", "0"]);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .parse()
        .unwrap();
    // keep draining stderr so the server never blocks on it
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = err.read_to_string(&mut sink);
    });
    Server { child, addr }
}

/// No answer may carry a secret.
pub fn assert_no_secret(what: &str, text: &str) {
    for s in [TOKEN, BINANCE_SECRET, BINANCE_KEY, TELEGRAM_TOKEN] {
        assert!(!text.contains(s), "{what} leaks a secret");
    }
}

fn keys(v: &Value, want: &[&str], what: &str) {
    for k in want {
        assert!(v.get(k).is_some(), "{what} has no {k:?}: {v}");
    }
}

// ---- tests ----------------------------------------------------------------------------

#[test]
fn every_endpoint_answers_with_its_shape_and_no_secret() {
    let f = fixture();
    let srv = serve(&f.data_dir(), &Env::default());
    let a = srv.addr;
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut keep = |path: &str, r: &Answer| seen.push((path.to_string(), r.body.clone()));

    // status: three bots, totals add up
    let r = get(a, "/api/status");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-security-policy"),
        Some("default-src 'self' 'unsafe-inline'")
    );
    let st = r.json();
    keys(
        &st,
        &[
            "total_value",
            "total_pnl",
            "today_pnl",
            "initial_cash",
            "unhealthy",
            "bots",
        ],
        "status",
    );
    let bots = st["bots"].as_array().unwrap();
    assert_eq!(bots.len(), 3);
    let sum: f64 = bots.iter().map(|b| b["equity"].as_f64().unwrap()).sum();
    assert!((sum - st["total_value"].as_f64().unwrap()).abs() < 1e-6);
    for b in bots {
        keys(
            b,
            &[
                "name",
                "symbol",
                "mode",
                "strategy",
                "equity",
                "total_pnl",
                "today_pnl",
                "unrealized_pnl",
                "position",
                "last_bar",
                "health",
                "trades",
            ],
            "bot",
        );
        assert_eq!(b["mode"], "paper");
    }
    keep("/api/status", &r);

    // per bot: equity, trades, decisions, paginated newest first
    let r = get(a, "/api/bots/btc-trend/equity?limit=10");
    assert_eq!(r.status, 200, "{}", r.body);
    let p = r.json();
    assert_eq!(p["limit"], 10);
    assert!(p["total"].as_u64().unwrap() >= 490, "{}", p["total"]);
    let items = p["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert!(
        items[0]["ts_ms"].as_i64() > items[1]["ts_ms"].as_i64(),
        "newest first"
    );
    let r2 = get(a, "/api/bots/btc-trend/equity?offset=1&limit=1");
    assert_eq!(
        r2.json()["items"][0],
        items[1],
        "offset skips from the newest"
    );
    keep("equity", &r);
    let r = get(a, "/api/bots/btc-trend/trades");
    assert_eq!(r.status, 200);
    let t = r.json();
    assert!(
        t["total"].as_u64().unwrap() > 0,
        "the fixture bot traded: {t}"
    );
    keys(
        &t["items"][0],
        &[
            "side",
            "qty",
            "entry_ts_ms",
            "exit_ts_ms",
            "entry_price",
            "exit_price",
            "pnl",
            "return_pct",
            "exit_reason",
        ],
        "trade",
    );
    keep("trades", &r);
    let r = get(a, "/api/bots/btc-trend/decisions?limit=5");
    assert_eq!(r.status, 200);
    let d = r.json();
    keys(
        &d["items"][0],
        &["ts_ms", "action", "side", "qty", "price", "why"],
        "bot decision",
    );
    keep("bot decisions", &r);

    // runs and the explained decisions of the ai run
    let r = get(a, "/api/runs?limit=10");
    assert_eq!(r.status, 200);
    let runs = r.json();
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == f.ai_run && x["strategy"] == "ai")
    );
    keep("runs", &r);
    let r = get(
        a,
        &format!("/api/runs/{}/decisions?trades_only=true&limit=3", f.ai_run),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let d = r.json();
    let first = &d["items"][0];
    keys(
        first,
        &[
            "seq",
            "ts_ms",
            "intent",
            "action",
            "confidence",
            "votes",
            "without",
            "why",
            "trade",
        ],
        "explained decision",
    );
    assert!(
        first["trade"].is_object(),
        "trades_only keeps decisions linked to a trade"
    );
    assert!(
        first["why"].as_str().unwrap().contains("technical"),
        "{}",
        first["why"]
    );
    keep("run decisions", &r);

    // AI status, learning
    let r = get(a, "/api/ai/status");
    assert_eq!(r.status, 200, "{}", r.body);
    let s = r.json();
    keys(
        &s,
        &[
            "components",
            "weights",
            "llm",
            "models",
            "model_versions",
            "health",
            "blocked",
        ],
        "ai status",
    );
    assert_eq!(
        s["llm"]["reachable"], true,
        "the fake Ollama answers: {}",
        s["llm"]
    );
    assert!(
        s["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["component"] == "technical" && c["available"] == true)
    );
    let health = s["health"].as_array().unwrap();
    assert!(
        !health.is_empty(),
        "the ai run left the online learner's health"
    );
    keys(
        &health[0],
        &[
            "key",
            "status",
            "trades",
            "win_rate",
            "expectancy",
            "drifts",
        ],
        "health",
    );
    keep("ai status", &r);
    let r = get(a, "/api/ai/learning");
    assert_eq!(r.status, 200);
    let l = r.json();
    keys(
        &l,
        &["counts", "models", "win_rate", "evolver", "dqn_rewards"],
        "learning",
    );
    assert!(l["counts"]["labelled_trades"].as_u64().unwrap() > 0);
    let strategies: Vec<&str> = l["win_rate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(strategies, vec!["ai", "sma-cross"]);
    keep("learning", &r);

    // POSTs with the token
    let r = post(
        a,
        "/api/ai/decision",
        Some(TOKEN),
        r#"{"symbol":"BTC/USDT"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let d = r.json();
    keys(
        &d,
        &[
            "symbol",
            "bar_ts_ms",
            "bar_time",
            "close",
            "components",
            "action",
            "why",
            "decision",
            "recent",
            "bars_seen",
        ],
        "decision",
    );
    assert_eq!(d["bars_seen"], 2000);
    assert!(["BUY", "SELL", "HOLD"].contains(&d["action"].as_str().unwrap()));
    let recent = d["recent"].as_array().unwrap();
    assert!(!recent.is_empty(), "2000 bars give some non-HOLD opinion");
    assert!(
        recent[0]["votes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["component"] == "technical")
    );
    keep("decision", &r);
    let r = post(
        a,
        "/api/ai/advice",
        Some(TOKEN),
        r#"{"symbol":"BTC/USDT","bar_time":"2021-03-01"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["bar_time"], "2021-03-01T00:00:00Z");
    assert_eq!(
        v["answer"]["explanation"],
        "the trend is intact but stretched"
    );
    assert_eq!(v["answer"]["action"], "HOLD");
    keep("advice", &r);

    // the OpenAPI document lists every endpoint, and the router knows each one
    let r = get(a, "/api/openapi.json");
    assert_eq!(r.status, 200);
    let doc = r.json();
    let paths = doc["paths"].as_object().unwrap();
    for want in [
        "/api/status",
        "/api/ai/status",
        "/api/ai/advice",
        "/api/ai/decision",
        "/api/ai/learning",
        "/api/unified/readiness-check",
        "/dashboard",
        "/api/openapi.json",
        "/api/bots/{bot}/equity",
        "/api/bots/{bot}/trades",
        "/api/bots/{bot}/decisions",
        "/api/runs",
        "/api/runs/{id}/decisions",
    ] {
        assert!(paths.contains_key(want), "openapi lacks {want}");
    }
    for (p, ops) in paths {
        let concrete = p
            .replace("{bot}", "btc-trend")
            .replace("{id}", &f.ai_run.to_string());
        for m in ops.as_object().unwrap().keys() {
            let r = request(
                a,
                &m.to_uppercase(),
                &concrete,
                Some(TOKEN),
                (m == "post").then_some(br#"{"symbol":"BTC/USDT"}"#.as_slice()),
            );
            assert_ne!(r.status, 404, "{m} {p} is documented but not routed");
            assert_ne!(r.status, 405, "{m} {p}");
            keep(&concrete, &r);
        }
    }

    // the dashboard
    let r = get(a, "/dashboard");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.body.contains("LightweightCharts"));
    keep("dashboard", &r);

    for (what, body) in &seen {
        assert_no_secret(what, body);
    }
}

#[test]
fn auth_bad_bodies_and_unknown_things_get_json_errors() {
    let f = fixture();
    let srv = serve(&f.data_dir(), &Env::default());
    let a = srv.addr;
    let body = r#"{"symbol":"BTC/USDT"}"#;
    // 401: no token, a wrong one, another scheme
    for tok in [None, Some("wrong-token"), Some("")] {
        let r = post(a, "/api/ai/decision", tok, body);
        assert_eq!(r.status, 401, "{tok:?}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert!(r.json()["error"].as_str().unwrap().contains("token"));
        assert_no_secret("401", &r.body);
    }
    let r = request(a, "POST", "/api/ai/advice", None, Some(body.as_bytes()));
    assert_eq!(r.status, 401);
    // GETs on loopback need none
    assert_eq!(get(a, "/api/status").status, 200);
    // 400 with a JSON message for every bad body
    for bad in [
        "",
        "{",
        "[]",
        "{}",
        r#"{"symbol":1}"#,
        r#"{"symbol":"BTC/USDT","extra":1}"#,
        r#"{"symbol":"../../etc/passwd"}"#,
        r#"{"symbol":"BTC/USDT","bar_time":"yesterday"}"#,
        r#"{"symbol":"BTC/USDT","bar_time":"1990-01-01"}"#,
        r#"{"symbol":"NOSUCHCOIN"}"#,
    ] {
        let r = post(a, "/api/ai/decision", Some(TOKEN), bad);
        assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
        let e = r.json();
        assert!(
            e["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{bad:?}: {e}"
        );
        assert_eq!(e["status"], 400);
    }
    // 413 for a body over the limit
    let big = format!(r#"{{"symbol":"{}"}}"#, "X".repeat(64 * 1024));
    let r = post(a, "/api/ai/decision", Some(TOKEN), &big);
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.json()["error"].is_string());
    // 400 for bad queries and names, 404 for unknown things, 405 for a wrong method
    for (path, want) in [
        ("/api/bots/btc-trend/trades?limit=0", 400),
        ("/api/bots/btc-trend/trades?limit=abc", 400),
        ("/api/bots/btc-trend/trades?limit=100000", 400),
        ("/api/bots/btc-trend/trades?color=red", 400),
        ("/api/bots/.hidden/trades", 400),
        ("/api/bots/no-such-bot/equity", 404),
        ("/api/runs/99999/decisions", 404),
        ("/api/runs/abc/decisions", 400),
        ("/api/nothing", 404),
    ] {
        let r = get(a, path);
        assert_eq!(r.status, want, "{path}: {}", r.body);
        assert_eq!(r.json()["status"], want, "{path}");
    }
    let r = request(a, "DELETE", "/api/status", Some(TOKEN), None);
    assert_eq!(r.status, 405);
    let r = get(a, "/api/ai/decision");
    assert_eq!(r.status, 405);
}

#[test]
fn readiness_is_200_when_every_check_passes_and_503_naming_the_failures() {
    let f = fixture();
    let srv = serve(&f.data_dir(), &Env::default());
    let r = get(srv.addr, "/api/unified/readiness-check");
    let v = r.json();
    assert_eq!(r.status, 200, "{v:#}");
    assert_eq!(v["ready"], true);
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for want in [
        "db",
        "data:btc-trend",
        "data:btc-2021",
        "data:btc-2019",
        "exchange",
        "ollama",
        "telegram",
        "bots",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let ex = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "exchange")
        .unwrap();
    assert!(
        ex["detail"].as_str().unwrap().contains("clock offset"),
        "{ex}"
    );
    assert_no_secret("readiness", &r.body);
    drop(srv);

    // exchange and Ollama down, no Telegram, data older than 0 minutes
    let srv = serve(
        &f.data_dir(),
        &Env {
            upstream: None,
            telegram: false,
            extra_args: vec!["--max-data-age-min", "0"],
        },
    );
    let r = get(srv.addr, "/api/unified/readiness-check");
    let v = r.json();
    assert_eq!(r.status, 503, "{v:#}");
    assert_eq!(v["ready"], false);
    let failing: Vec<&str> = v["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        failing,
        vec![
            "data:btc-2019",
            "data:btc-2021",
            "data:btc-trend",
            "exchange",
            "ollama",
            "telegram"
        ]
    );
    drop(srv);

    // no DB, no bots
    let empty = tempfile::tempdir().unwrap();
    let srv = serve(&empty.path().join("data"), &Env::default());
    let r = get(srv.addr, "/api/unified/readiness-check");
    assert_eq!(r.status, 503);
    let failing = r.json()["failing"].clone();
    assert_eq!(failing, json!(["db", "bots"]));
    assert!(
        !empty.path().join("data/ai_learning.db").exists(),
        "the check created no DB"
    );
    // the other endpoints still answer over an empty data dir
    for p in [
        "/api/status",
        "/api/ai/status",
        "/api/ai/learning",
        "/api/runs",
    ] {
        assert_eq!(get(srv.addr, p).status, 200, "{p}");
    }
}

#[test]
fn with_auth_all_every_request_needs_the_token() {
    let empty = tempfile::tempdir().unwrap();
    let srv = serve(
        &empty.path().join("data"),
        &Env {
            extra_args: vec!["--auth-all"],
            ..Env::default()
        },
    );
    for p in [
        "/api/status",
        "/dashboard",
        "/api/openapi.json",
        "/api/unified/readiness-check",
    ] {
        let r = get(srv.addr, p);
        assert_eq!(r.status, 401, "{p}");
        assert_eq!(r.json()["status"], 401);
        let r = request(srv.addr, "GET", p, Some("wrong"), None);
        assert_eq!(r.status, 401, "{p}");
    }
    assert_eq!(
        request(srv.addr, "GET", "/api/status", Some(TOKEN), None).status,
        200
    );
    assert_eq!(
        request(srv.addr, "GET", "/dashboard", Some(TOKEN), None).status,
        200
    );
    // and without a token it does not start
    let t = crate::util::TestDir::new();
    let out = t
        .cmd(&["serve", "--auth-all", "--port", "0"])
        .env_remove("ALGOLAB_API_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_non_loopback_address_without_a_token_is_refused_with_exit_2() {
    let t = crate::util::TestDir::new();
    let out = t
        .cmd(&["serve", "--bind", "0.0.0.0", "--port", "0"])
        .env_remove("ALGOLAB_API_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ALGOLAB_API_TOKEN"), "{err}");
    let out = t.run(&["serve", "--bind", "not-an-ip"]);
    assert_eq!(out.status.code(), Some(2));
}
