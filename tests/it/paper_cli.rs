//! `algolab paper` end to end: replay equivalence with `backtest` in any chunking, the
//! first tick's warm-up, the tick lock (busy, stale takeover, concurrent ticks), a refused
//! change of settings, and Telegram notifications that never fail a tick.

use std::path::Path;
use std::process::{Output, Stdio};

use algolab::core::order::ExitReason;
use algolab::runner::paper::{EquityPoint, SignalRecord};
use algolab::runner::{LockOutcome, PaperState, TickLock};
use algolab::store::Store;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::util::{TestDir, dataset, texts};

const STRAT: [&str; 6] = [
    "--strategy",
    "sma-cross",
    "--param",
    "fast=5",
    "--param",
    "slow=15",
];

/// The header and the first `n` bar lines of GOOG.csv.
fn goog_lines(n: usize) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(dataset("GOOG.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    (header, lines.take(n).map(str::to_string).collect())
}

fn write_bars(path: &Path, header: &str, lines: &[String]) {
    let mut s = format!("{header}\n");
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

fn paper(t: &TestDir, bot: &str, extra: &[&str]) -> Output {
    paper_with(t, bot, &STRAT, extra)
}

fn paper_with(t: &TestDir, bot: &str, strat: &[&str], extra: &[&str]) -> Output {
    let mut args = vec!["paper", "--data", "bars.csv", "--bot", bot, "--json", "-q"];
    args.extend_from_slice(strat);
    args.extend_from_slice(extra);
    t.run(&args)
}

fn ok(out: &Output) -> serde_json::Value {
    let (stdout, stderr) = texts(out);
    assert!(out.status.success(), "paper failed: {stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn state(t: &TestDir, bot: &str) -> PaperState {
    let p = t.path().join("data/bots").join(bot).join("state.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn equity_history(t: &TestDir, bot: &str) -> Vec<EquityPoint> {
    let p = t
        .path()
        .join("data/bots")
        .join(bot)
        .join("equity_history.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Backtest the whole file from `from` and return (closed trades, equity points).
fn backtest_reference(
    t: &TestDir,
    from: &str,
) -> (Vec<algolab::core::order::Trade>, Vec<i64>, Vec<f64>) {
    backtest_reference_with(t, &STRAT, from)
}

/// [`backtest_reference`] for strategy arguments `strat`.
fn backtest_reference_with(
    t: &TestDir,
    strat: &[&str],
    from: &str,
) -> (Vec<algolab::core::order::Trade>, Vec<i64>, Vec<f64>) {
    let mut args = vec![
        "backtest", "--data", "bars.csv", "--from", from, "--json", "-q",
    ];
    args.extend_from_slice(strat);
    let v = ok(&t.run(&args));
    let id = v["run_id"].as_i64().unwrap();
    let store = Store::open(&t.path().join("data/ai_learning.db")).unwrap();
    let trades = store
        .load_trades(id)
        .unwrap()
        .into_iter()
        .filter(|t| t.exit_reason != ExitReason::Open)
        .collect();
    let (ts, eq) = store.load_equity(id).unwrap();
    (trades, ts, eq)
}

/// Tick bot `bot` through the first `n` bars of GOOG in chunks of the given sizes, then
/// check its trades and equity equal `backtest --from FROM` on the whole file, exactly.
fn check_replay(chunks: &[usize], from: Option<&str>) {
    check_replay_with(&STRAT, chunks, from);
}

fn check_replay_with(strat: &[&str], chunks: &[usize], from: Option<&str>) {
    let t = TestDir::new();
    let n: usize = chunks.iter().sum();
    let (header, lines) = goog_lines(n);
    let file = t.path().join("bars.csv");
    let mut done = 0;
    for (i, &c) in chunks.iter().enumerate() {
        done += c;
        write_bars(&file, &header, &lines[..done]);
        let extra: Vec<&str> = match (i, from) {
            (0, Some(f)) => vec!["--from", f],
            _ => vec![],
        };
        let v = ok(&paper_with(&t, "replay", strat, &extra));
        assert_eq!(v["status"], "done", "chunk {i}");
        let expected_acted = if i == 0 && from.is_none() { 1 } else { c };
        assert_eq!(v["bars_acted"], expected_acted, "chunk {i}");
    }
    let s = state(&t, "replay");
    assert!(
        s.engine.is_some(),
        "the bot continues from its saved engine"
    );
    // the bot's first acting bar: the given --from, or the last bar of the first chunk
    let first_act = from.map_or_else(
        || lines[chunks[0] - 1].split(',').next().unwrap().to_string(),
        str::to_string,
    );
    let (trades, ts, eq) = backtest_reference_with(&t, strat, &first_act);
    assert!(
        !trades.is_empty(),
        "the reference must trade for the test to mean anything"
    );
    assert_eq!(s.trades.len(), trades.len());
    for (a, b) in s.trades.iter().zip(&trades) {
        assert_eq!(
            (a.side, a.entry_ts_ms, a.exit_ts_ms, a.exit_reason),
            (b.side, b.entry_ts_ms, b.exit_ts_ms, b.exit_reason)
        );
        assert_eq!(a.qty.to_bits(), b.qty.to_bits());
        assert_eq!(a.entry_price.to_bits(), b.entry_price.to_bits());
        assert_eq!(a.exit_price.to_bits(), b.exit_price.to_bits());
        assert_eq!(a.pnl.map(f64::to_bits), Some(b.pnl.to_bits()));
    }
    let hist = equity_history(&t, "replay");
    assert_eq!(hist.iter().map(|p| p.ts_ms).collect::<Vec<_>>(), ts);
    let got: Vec<u64> = hist.iter().map(|p| p.equity.to_bits()).collect();
    let want: Vec<u64> = eq.iter().map(|e| e.to_bits()).collect();
    assert_eq!(got, want, "equity differs from the backtest's");
    assert_eq!(s.equity.to_bits(), eq.last().unwrap().to_bits());
}

#[test]
fn ticking_a_file_in_any_chunking_equals_backtest_on_the_whole_file() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut random = vec![20];
    while random.iter().sum::<usize>() < 400 {
        random.push(rng.random_range(1..40));
    }
    check_replay(&random, Some("2004-08-19"));
    check_replay(&[400], Some("2004-08-19"));
    check_replay(&[1, 399], Some("2004-08-19"));
}

#[test]
fn technical_with_managed_stops_replays_exactly_across_ticks() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut chunks = vec![250];
    while chunks.iter().sum::<usize>() < 2000 {
        chunks.push(rng.random_range(1..300));
    }
    let n: usize = chunks.iter().sum();
    if let Some(last) = chunks.last_mut() {
        *last -= n - 2000;
    }
    check_replay_with(&["--strategy", "technical"], &chunks, Some("2004-08-19"));
}

#[test]
fn a_first_tick_without_from_acts_only_from_the_latest_closed_bar() {
    check_replay(&[60, 1, 1, 90, 7, 150], None);
}

#[test]
fn a_tick_with_nothing_new_is_idle_and_writes_nothing() {
    let t = TestDir::new();
    let (header, lines) = goog_lines(100);
    write_bars(&t.path().join("bars.csv"), &header, &lines);
    ok(&paper(&t, "idle", &["--from", "2004-08-19"]));
    let before = std::fs::read(t.path().join("data/bots/idle/state.json")).unwrap();
    let v = ok(&paper(&t, "idle", &[]));
    assert_eq!(v["status"], "idle");
    assert_eq!(v["bars_acted"], 0);
    let after = std::fs::read(t.path().join("data/bots/idle/state.json")).unwrap();
    assert_eq!(before, after);
}

#[test]
fn a_busy_lock_exits_0_and_a_stale_one_is_taken_over() {
    let t = TestDir::new();
    let (header, lines) = goog_lines(50);
    write_bars(&t.path().join("bars.csv"), &header, &lines);
    let dir = t.path().join("data/bots/locked");
    std::fs::create_dir_all(&dir).unwrap();
    let LockOutcome::Acquired { lock, .. } = TickLock::acquire(&dir.join("tick.lock")).unwrap()
    else {
        panic!("test could not take the lock");
    };
    let out = t.run(&["paper", "--data", "bars.csv", "--bot", "locked"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("another tick is running"), "{stderr}");
    assert!(
        !dir.join("state.json").exists(),
        "a busy tick must not write state"
    );
    drop(lock);

    // what a kill -9 leaves behind: an unlocked file naming a dead pid
    std::fs::write(dir.join("tick.lock"), "3999999\n").unwrap();
    let out = t.run(&["paper", "--data", "bars.csv", "--bot", "locked"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("took over the lock") && stderr.contains("3999999"),
        "{stderr}"
    );
    assert!(dir.join("state.json").exists());
}

#[test]
fn concurrent_ticks_of_one_bot_never_double_a_bar() {
    let t = TestDir::new();
    let (header, lines) = goog_lines(300);
    let file = t.path().join("bars.csv");
    write_bars(&file, &header, &lines[..100]);
    ok(&paper(&t, "race", &["--from", "2004-08-19"]));
    for end in [180, 300] {
        write_bars(&file, &header, &lines[..end]);
        let children: Vec<_> = (0..4)
            .map(|_| {
                let mut args = vec![
                    "paper", "--data", "bars.csv", "--bot", "race", "--json", "-q",
                ];
                args.extend_from_slice(&STRAT);
                t.cmd(&args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", texts(&out).1);
        }
    }
    let hist = equity_history(&t, "race");
    assert_eq!(hist.len(), 300, "every bar once");
    assert!(hist.windows(2).all(|w| w[0].ts_ms < w[1].ts_ms));
    let sigs: Vec<SignalRecord> = serde_json::from_slice(
        &std::fs::read(t.path().join("data/bots/race/signals.json")).unwrap(),
    )
    .unwrap();
    assert!(sigs.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
    let s = state(&t, "race");
    assert_eq!(s.bars_processed, 300);
    let (trades, _, eq) = backtest_reference(&t, "2004-08-19");
    assert_eq!(s.trades.len(), trades.len());
    assert_eq!(s.equity.to_bits(), eq.last().unwrap().to_bits());
}

#[test]
fn changed_settings_are_refused_with_exit_2() {
    let t = TestDir::new();
    let (header, lines) = goog_lines(60);
    write_bars(&t.path().join("bars.csv"), &header, &lines);
    ok(&paper(&t, "fixed", &[]));
    let out = t.run(&[
        "paper",
        "--data",
        "bars.csv",
        "--bot",
        "fixed",
        "--strategy",
        "sma-cross",
        "--param",
        "fast=6",
        "--param",
        "slow=15",
    ]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("fixed") && stderr.contains("params"),
        "{stderr}"
    );
    let out = t.run(&["paper", "--data", "bars.csv", "--bot", "../evil"]);
    assert_eq!(out.status.code(), Some(2));
    let out = t.run(&["paper", "--data", "bars.csv", "--to", "2005-01-01"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn paper_on_the_bundled_btc_data_runs_without_network() {
    let t = TestDir::new();
    let out = t.run(&["paper", "--symbol", "BTC/USDT", "--json", "-q"]);
    let v = ok(&out);
    assert_eq!(v["bot"], "btc-usdt-sma-cross");
    assert_eq!(v["bars_acted"], 1);
    let dir = t.path().join("data/bots/btc-usdt-sma-cross");
    for f in [
        "state.json",
        "signals.json",
        "equity_history.json",
        "ai_orchestrator_state.json",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
}

/// Telegram hears about the trades of a tick; a Telegram that fails does not fail the tick,
/// and the token never reaches a file or the output.
#[tokio::test]
async fn telegram_gets_the_tick_s_trades_and_its_failure_never_fails_the_tick() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    const TOKEN: &str = "555:TOKEN-never-shown";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{TOKEN}/sendMessage")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true, "result": {}})),
        )
        .up_to_n_times(1000)
        .with_priority(2)
        .mount(&server)
        .await;
    let t = TestDir::new();
    let (header, lines) = goog_lines(200);
    write_bars(&t.path().join("bars.csv"), &header, &lines);
    let run = |t: &TestDir| {
        let mut args = vec!["paper", "--data", "bars.csv", "--bot", "tg", "--json"];
        args.extend_from_slice(&STRAT);
        t.cmd(&args)
            .env("TELEGRAM_BOT_TOKEN", TOKEN)
            .env("TELEGRAM_CHAT_ID", "77")
            .env("ALGOLAB_TELEGRAM_URL", server.uri())
            .output()
            .unwrap()
    };
    let mut cmd_args = vec![
        "paper",
        "--data",
        "bars.csv",
        "--bot",
        "tg",
        "--json",
        "--from",
        "2004-08-19",
    ];
    cmd_args.extend_from_slice(&STRAT);
    let out = t
        .cmd(&cmd_args)
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_CHAT_ID", "77")
        .env("ALGOLAB_TELEGRAM_URL", server.uri())
        .output()
        .unwrap();
    let v = ok(&out);
    let signals = v["new_signals"].as_array().unwrap().len();
    let closed = v["new_trades"].as_array().unwrap().len();
    assert!(signals > 0 && closed > 0);
    let sent = server.received_requests().await.unwrap();
    let opened = v["new_signals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "open")
        .count();
    assert_eq!(sent.len(), opened + closed);
    assert_eq!(v["notified"].as_u64().unwrap() as usize, sent.len());
    let first: serde_json::Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(first["chat_id"], "77");
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .starts_with("tg: opened long"),
        "{first}"
    );

    // Telegram now fails: the next tick still succeeds and says why it could not notify
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let (_, more) = goog_lines(400);
    write_bars(&t.path().join("bars.csv"), &header, &more);
    let out = run(&t);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["status"], "done");
    assert!(stderr.contains("warning: telegram"), "{stderr}");
    assert!(!stdout.contains("TOKEN-never-shown") && !stderr.contains("TOKEN-never-shown"));
    crate::paper_cli::assert_no_file_contains(t.path(), "TOKEN-never-shown");
}

/// Fail if any file under `dir` contains `secret`.
pub fn assert_no_file_contains(dir: &Path, secret: &str) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                let hit = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
                assert!(!hit, "{} contains the secret", p.display());
            }
        }
    }
}

/// A tick that fails (here: a torn state file) exits 1 with the file named, leaves the
/// state file as it was, and tells the chat.
#[tokio::test]
async fn a_failed_tick_exits_1_and_tells_telegram() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true, "result": {}})),
        )
        .mount(&server)
        .await;
    let t = TestDir::new();
    let (header, lines) = goog_lines(60);
    write_bars(&t.path().join("bars.csv"), &header, &lines);
    let state = t.write("data/bots/torn/state.json", "{ torn");
    let out = t
        .cmd(&["paper", "--data", "bars.csv", "--bot", "torn"])
        .env("TELEGRAM_BOT_TOKEN", "1:abc")
        .env("TELEGRAM_CHAT_ID", "5")
        .env("ALGOLAB_TELEGRAM_URL", server.uri())
        .output()
        .unwrap();
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("state.json"), "{stderr}");
    assert_eq!(std::fs::read(&state).unwrap(), b"{ torn");
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("torn: tick failed"),
        "{body}"
    );
}

/// `paper --strategy ai` resumes from its saved state (the orchestrator, its components and
/// their indicator state) and replays `backtest --strategy ai` exactly in any chunking.
#[test]
fn ai_replays_exactly_across_ticks() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut chunks = vec![300];
    while chunks.iter().sum::<usize>() < 1600 {
        chunks.push(rng.random_range(1..250));
    }
    let n: usize = chunks.iter().sum();
    if let Some(last) = chunks.last_mut() {
        *last -= n - 1600;
    }
    check_replay_with(
        &["--strategy", "ai", "--no-learn", "--llm", "off"],
        &chunks,
        Some("2004-08-19"),
    );
}

/// Write the first `n` bundled BTC/USDT bars as the fetch cache of `DATA_DIR`, so
/// `--symbol BTC/USDT` reads them (and the shipped default models apply).
fn btc_cache(t: &TestDir, n: usize) -> Vec<i64> {
    let all = algolab::data::load(&dataset("BTCUSDT_1h.csv")).unwrap();
    let path = algolab::data::cache_path(&t.path().join("data"), "binance", "BTC/USDT", "1h");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    algolab::data::write_parquet(&all.slice(0..n), &path).unwrap();
    all.ts_ms()[..n].to_vec()
}

fn ai_tick(t: &TestDir, bot: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "paper",
        "--symbol",
        "BTC/USDT",
        "--strategy",
        "ai",
        "--llm",
        "off",
        "--bot",
        bot,
        "--json",
        "-q",
    ];
    args.extend_from_slice(extra);
    ok(&t.run(&args))
}

/// Paper bots learn by default (issue 12 item 6): after a tick in which trades closed the
/// DQN has trained, its new version is stored as a child of the model it started from, and
/// the next tick continues from those weights; `--no-learn` stores nothing. Every tick
/// stores its AI decisions under the bot's run, numbered on from the last tick's and linked
/// to the trades they caused, so `explain` and `/api/bots/{bot}/decisions` show them.
#[test]
fn ai_paper_ticks_learn_store_decisions_and_resume_from_learned_weights() {
    let t = TestDir::new();
    let ts = btc_cache(&t, 3200);
    let from = algolab::data::fmt_ts(ts[1200]);
    let v = ai_tick(&t, "learner", &["--from", &from]);
    assert_eq!(v["status"], "done");
    let db = t.path().join("data/ai_learning.db");
    let dir = t.path().join("data/bots/learner");
    let run = {
        let store = Store::open(&db).unwrap();
        store
            .find_bot_run("paper", &dir.display().to_string())
            .unwrap()
            .expect("the bot's run")
    };
    let models = |store: &Store| {
        store
            .list_models(Some("BTC/USDT"), Some("dqn"), 50)
            .unwrap()
    };
    let store = Store::open(&db).unwrap();
    let first = models(&store);
    assert_eq!(first.len(), 1, "one learned version after tick 1");
    let m1 = store.load_model(first[0].id).unwrap().unwrap();
    assert_eq!(m1.run_id, Some(run));
    assert_eq!(m1.parent_id, None, "a child of the shipped default");
    let metrics: serde_json::Value = serde_json::from_str(&m1.metrics_json).unwrap();
    let v1 = metrics["version"].as_i64().unwrap();
    assert!(v1 > 0);
    assert!(
        metrics["online"]["from"]
            .as_str()
            .unwrap()
            .starts_with("default:")
    );
    // the saved state acts with the learned weights
    let s = state(&t, "learner");
    let saved = &s.engine.as_ref().unwrap().strategy_state;
    assert_eq!(
        saved["dqn"]["net"].as_str().unwrap(),
        algolab::persist::to_hex(&m1.weights)
    );
    assert_eq!(s.settings["ai"]["learn"], true);
    // decisions of tick 1, numbered from 0, some linked to trades
    let d1 = store.load_decisions(run, None).unwrap();
    assert!(!d1.is_empty());
    assert!(d1.iter().enumerate().all(|(i, d)| d.seq == i as i64));
    assert!(d1.iter().any(|d| d.trade_seq.is_some()));
    drop(store);
    let orch: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("ai_orchestrator_state.json")).unwrap())
            .unwrap();
    assert_eq!(orch["ai"]["learn"], true);
    assert_eq!(orch["ai"]["model_versions"]["dqn"].as_i64(), Some(v1));
    assert!(
        !orch["ai"]["online"]["health"]
            .as_object()
            .unwrap()
            .is_empty()
    );

    // tick 2: 600 more bars; trades close, the DQN learns on from version v1
    btc_cache(&t, 3800);
    let v = ai_tick(&t, "learner", &[]);
    assert_eq!(v["bars_acted"], 600);
    assert!(!v["new_trades"].as_array().unwrap().is_empty());
    let store = Store::open(&db).unwrap();
    let second = models(&store);
    assert_eq!(second.len(), 2);
    let m2 = store.load_model(second[0].id).unwrap().unwrap();
    assert_eq!(m2.parent_id, Some(m1.id));
    let metrics: serde_json::Value = serde_json::from_str(&m2.metrics_json).unwrap();
    assert_eq!(metrics["online"]["from_version"].as_i64(), Some(v1));
    assert_eq!(
        metrics["online"]["from"].as_str(),
        Some(format!("db:model {}", m1.id).as_str())
    );
    assert!(metrics["version"].as_i64().unwrap() > v1);
    // decisions continue the numbering; trades closed in tick 2 are labelled
    let d2 = store.load_decisions(run, None).unwrap();
    assert!(d2.len() > d1.len());
    assert!(d2.iter().enumerate().all(|(i, d)| d.seq == i as i64));
    let labels = store.trade_labels(run).unwrap();
    assert!(labels.iter().any(|l| l.strategy_id == "ai"));
    drop(store);
    // explain names the components behind the bot's trades
    let out = t.run(&["explain", &run.to_string(), "--json"]);
    let (so, se) = texts(&out);
    assert!(out.status.success(), "{se}");
    let e: serde_json::Value = serde_json::from_str(&so).unwrap();
    assert_eq!(e["strategy"], "ai");
    assert!(so.contains("technical"));
    // and so does the API: the bot's stored decisions, explained, newest first
    let env = crate::serve_api::Env {
        upstream: None,
        telegram: false,
        extra_args: Vec::new(),
    };
    let server = crate::serve_api::serve(&t.path().join("data"), &env);
    let r = crate::serve_api::get(server.addr, "/api/bots/learner/decisions?limit=5000");
    assert_eq!(r.status, 200);
    let page = r.json();
    assert_eq!(page["total"].as_u64(), Some(d2.len() as u64));
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["seq"].as_i64(), Some(d2.len() as i64 - 1));
    assert!(
        items
            .iter()
            .all(|d| d["why"].is_string() && d["votes"].is_array())
    );
    assert!(items.iter().any(|d| d["trade"]["seq"].is_i64()));
    drop(server);

    // --no-learn: the same bars, nothing learned or stored as a model
    let v = ai_tick(&t, "still", &["--from", &from, "--no-learn"]);
    assert_eq!(v["status"], "done");
    let store = Store::open(&db).unwrap();
    assert_eq!(models(&store).len(), 2);
    assert_eq!(state(&t, "still").settings["ai"]["learn"], false);
    // and a changed --no-learn is refused for a bot
    let out = t.run(&[
        "paper",
        "--symbol",
        "BTC/USDT",
        "--strategy",
        "ai",
        "--llm",
        "off",
        "--bot",
        "still",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", texts(&out).1);
}

#[test]
fn bars_csv_grows_by_appends_and_survives_torn_writes_and_redone_ticks() {
    use std::os::unix::fs::MetadataExt;
    let t = TestDir::new();
    let (header, lines) = goog_lines(320);
    let file = t.path().join("bars.csv");
    let dir = t.path().join("data/bots/a1");
    let (bars_csv, state_json) = (dir.join("bars.csv"), dir.join("state.json"));
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut inode = None;
    let mut torn = 0;
    for (i, upto) in [200, 212, 224, 236, 248, 260, 272, 284, 296, 308, 320]
        .into_iter()
        .enumerate()
    {
        write_bars(&file, &header, &lines[..upto]);
        let before = std::fs::read(&state_json).ok();
        let extra: &[&str] = if i == 0 {
            &["--from", "2005-01-01"]
        } else {
            &[]
        };
        ok(&paper(&t, "a1", extra));
        // appended in place, never replaced by a new file
        let ino = std::fs::metadata(&bars_csv).unwrap().ino();
        assert_eq!(*inode.get_or_insert(ino), ino, "tick {i} rewrote bars.csv");
        let Some(before) = before else { continue };
        match i % 3 {
            // kill -9 while appending: a torn last row, and state.json not written
            0 => {
                let bytes = std::fs::read(&bars_csv).unwrap();
                let cut = bytes.len() - rng.random_range(1..30usize);
                std::fs::write(&bars_csv, &bytes[..cut]).unwrap();
                std::fs::write(&state_json, &before).unwrap();
                torn += 1;
            }
            // kill -9 after bars.csv, before state.json: the next tick redoes the bars
            1 => std::fs::write(&state_json, &before).unwrap(),
            _ => {}
        }
    }
    assert!(torn >= 3);
    // the last simulated kill left a torn row or an old state: one more tick redoes it
    ok(&paper(&t, "a1", &[]));
    // every bar of the file once, in order, exactly as given
    let seen = algolab::data::load(&bars_csv).unwrap();
    let given = algolab::data::load(&file).unwrap();
    assert_eq!(seen.ts_ms(), given.ts_ms());
    assert_eq!(seen.close(), given.close());
    assert_eq!(
        state(&t, "a1").last_bar_ts_ms,
        *given.ts_ms().last().unwrap()
    );
    // and the bot still agrees with the backtest over them, trade for trade
    let out = t.run(&["reconcile", "a1", "--json"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["signal_agreement_pct"], 100.0, "{v}");
    assert_eq!(v["pnl_bot"], v["pnl_backtest"], "{v}");
}

#[test]
fn paper_fetch_from_trades_new_binance_bars_tick_after_tick() {
    use crate::fake_binance::{FakeBinance, Venue};
    const H: i64 = 3_600_000;
    const T0: i64 = 1_704_067_200_000; // 2024-01-01
    let fake = FakeBinance::start();
    let bars: Vec<(i64, [f64; 5])> = (0..160)
        .map(|k| {
            let c = 100.0 + 10.0 * (k as f64 * std::f64::consts::TAU / 30.0).sin();
            (T0 + k as i64 * H, [c, c + 1.0, c - 1.0, c, 10.0])
        })
        .collect();
    let show = |k: usize| {
        fake.set_klines(Venue::Spot, "1h", bars[..=k].to_vec());
        fake.exchange().set_time(bars[k].0 + H + 5_000);
    };
    let t = TestDir::new();
    let url = fake.url().to_string();
    let tick = || {
        let mut args = vec![
            "paper",
            "--symbol",
            "BTC/USDT",
            "--interval",
            "1h",
            "--fetch-from",
            "2024-01-01",
            "--bot",
            "fb",
            "--json",
        ];
        args.extend_from_slice(&STRAT);
        t.cmd(&args)
            .env("ALGOLAB_BINANCE_URL", &url)
            .env("ALGOLAB_HTTP_BACKOFF_MS", "1")
            .output()
            .unwrap()
    };
    show(100);
    let v = ok(&tick());
    assert_eq!(v["bars_acted"], 1, "{v}");
    assert_eq!(state(&t, "fb").last_bar_ts_ms, bars[100].0);
    for k in [110, 135, 159] {
        show(k);
        let before = state(&t, "fb").last_bar_ts_ms;
        let v = ok(&tick());
        assert_eq!(state(&t, "fb").last_bar_ts_ms, bars[k].0, "{v}");
        assert_eq!(
            v["bars_acted"].as_u64().unwrap() as i64,
            (bars[k].0 - before) / H,
            "{v}"
        );
        // only the missing bars were asked for
        let starts: Vec<i64> = fake
            .requests()
            .iter()
            .filter(|r| r.path == "/api/v3/klines")
            .filter_map(|r| r.params.iter().find(|(k, _)| k == "startTime"))
            .map(|(_, v)| v.parse().unwrap())
            .collect();
        assert!(starts.contains(&(before + 1)), "{starts:?}");
    }
    assert!(
        !state(&t, "fb").trades.is_empty(),
        "the strategy should trade"
    );
    // the exchange gone: a warning, and the tick runs on the cached bars (nothing new)
    drop(fake);
    let out = tick();
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("warning: fetch:"), "{stderr}");
    assert!(stdout.contains("\"idle\""), "{stdout}");
}
