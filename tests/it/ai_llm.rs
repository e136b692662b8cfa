//! The Ollama client and the LLM advisor against a loopback server replaying Ollama's
//! documented `/api/chat` shapes: a good answer (and the request it needs), a veto, and every
//! failure — 404 model not found, 500, 503 queue full, a timeout, connection refused, a
//! non-JSON body, non-JSON content, a schema-violating answer. Each failure leaves the opinion
//! absent with one warning and returns within the timeout.

use std::time::{Duration, Instant};

use algolab::ai::advisor::{Action, OpinionReason};
use algolab::ai::llm::client::OllamaClient;
use algolab::ai::llm::{LlmAdvisor, LlmConfig, LlmError, MarketContext};
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn chat_response(content: &str) -> serde_json::Value {
    json!({
        "model": "qwen2.5:7b",
        "created_at": "2026-11-30T06:00:00.000000Z",
        "message": {"role": "assistant", "content": content},
        "done": true,
        "done_reason": "stop",
        "total_duration": 4_935_886_791u64,
        "load_duration": 534_986_708u64,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 107_345_000u64,
        "eval_count": 237,
        "eval_duration": 4_289_432_000u64
    })
}

const GOOD: &str = r#"{"action":"BUY","confidence":0.72,"veto":false,"risk_warning":"funding is rising","explanation":"trend and momentum agree"}"#;

fn cfg(host: &str, timeout_ms: u64) -> LlmConfig {
    LlmConfig {
        host: host.to_string(),
        timeout: Duration::from_millis(timeout_ms),
        ..LlmConfig::default()
    }
}

fn ctx() -> MarketContext {
    MarketContext {
        symbol: "BTC/USDT".into(),
        bar_ts_ms: 1_700_000_000_000,
        proposed: Action::Buy,
        confidence: 0.6,
        closes: vec![100.0, 101.0, 102.5],
        ..MarketContext::default()
    }
}

/// Ask through the blocking advisor off the test's runtime thread.
async fn ask(
    cfg: LlmConfig,
) -> (
    Option<algolab::ai::advisor::Opinion>,
    Option<String>,
    Duration,
) {
    tokio::task::spawn_blocking(move || {
        let client = OllamaClient::new(cfg).expect("client");
        let model = client.config().model.clone();
        let mut adv = LlmAdvisor::new(Box::new(client), &model);
        let t0 = Instant::now();
        let o = adv.ask(&ctx());
        let took = t0.elapsed();
        let records = adv.take_records();
        assert_eq!(records.len(), 1, "every live call is recorded");
        assert_eq!(records[0].mode, "live");
        assert_eq!(records[0].key.symbol, "BTC/USDT");
        (o, adv.take_warning(), took)
    })
    .await
    .expect("join")
}

async fn server_with(resp: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(resp)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_good_answer_becomes_an_opinion_and_the_request_has_the_documented_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .and(body_partial_json(json!({
            "model": "qwen2.5:7b",
            "stream": false,
            "options": {"temperature": 0, "seed": 42},
            "format": {"type": "object", "required": ["action", "confidence", "veto", "risk_warning", "explanation"]}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(chat_response(GOOD)))
        .expect(1)
        .mount(&server)
        .await;
    let (o, warning, _) = ask(cfg(&server.uri(), 2000)).await;
    let o = o.expect("an opinion");
    assert_eq!(o.action, Action::Buy);
    assert_eq!(o.confidence, 0.72);
    assert!(warning.is_none());
    assert!(
        matches!(&o.reasons[0], OpinionReason::Llm { veto: false, explanation, .. } if explanation == "trend and momentum agree")
    );
    let reqs = server.received_requests().await.expect("recorded");
    let body: serde_json::Value = serde_json::from_slice(&reqs[0].body).expect("json body");
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(
        body["messages"][1]["content"]
            .as_str()
            .is_some_and(|s| s.contains("BTC/USDT"))
    );
}

#[tokio::test]
async fn a_veto_answer_carries_the_veto() {
    let veto = r#"{"action":"HOLD","confidence":0.9,"veto":true,"risk_warning":"liquidation cascade","explanation":"volume spike against the trend"}"#;
    let server = server_with(ResponseTemplate::new(200).set_body_json(chat_response(veto))).await;
    let (o, _, _) = ask(cfg(&server.uri(), 2000)).await;
    let o = o.expect("an opinion");
    assert!(matches!(
        &o.reasons[0],
        OpinionReason::Llm { veto: true, .. }
    ));
}

async fn assert_absent(resp: ResponseTemplate, want: &str) {
    let server = server_with(resp).await;
    let (o, warning, took) = ask(cfg(&server.uri(), 1500)).await;
    assert!(o.is_none(), "{want}: no opinion");
    let w = warning.expect("one warning");
    assert!(w.contains(want), "{want}: {w}");
    assert!(took < Duration::from_secs(3), "{want}: took {took:?}");
}

#[tokio::test]
async fn model_not_found_404_is_absent() {
    assert_absent(
        ResponseTemplate::new(404).set_body_json(
            json!({"error": "model \"qwen2.5:7b\" not found, try pulling it first"}),
        ),
        "http 404: model \"qwen2.5:7b\" not found",
    )
    .await;
}

#[tokio::test]
async fn server_errors_are_absent() {
    assert_absent(
        ResponseTemplate::new(500)
            .set_body_json(json!({"error": "llama runner process has terminated"})),
        "http 500",
    )
    .await;
    assert_absent(
        ResponseTemplate::new(503).set_body_json(
            json!({"error": "server busy, please try again.  maximum pending requests exceeded"}),
        ),
        "http 503",
    )
    .await;
}

#[tokio::test]
async fn a_slow_server_times_out_within_the_bound() {
    assert_absent(
        ResponseTemplate::new(200)
            .set_body_json(chat_response(GOOD))
            .set_delay(Duration::from_secs(10)),
        "did not answer within",
    )
    .await;
}

#[tokio::test]
async fn non_json_bodies_and_contents_are_absent() {
    assert_absent(
        ResponseTemplate::new(200).set_body_string("<html>proxy error</html>"),
        "not JSON",
    )
    .await;
    assert_absent(
        ResponseTemplate::new(200).set_body_json(chat_response("Sure! I would BUY here.")),
        "not JSON",
    )
    .await;
}

#[tokio::test]
async fn schema_violations_are_absent() {
    for bad in [
        r#"{"action":"LONG","confidence":0.5,"veto":false,"risk_warning":"","explanation":""}"#,
        r#"{"action":"BUY","confidence":2,"veto":false,"risk_warning":"","explanation":""}"#,
        r#"{"action":"BUY","confidence":0.5,"risk_warning":"","explanation":""}"#,
    ] {
        assert_absent(
            ResponseTemplate::new(200).set_body_json(chat_response(bad)),
            "violates the schema",
        )
        .await;
    }
    // a response without message.content
    assert_absent(
        ResponseTemplate::new(200).set_body_json(json!({"model": "x", "done": true})),
        "violates the schema",
    )
    .await;
}

#[tokio::test]
async fn connection_refused_is_absent() {
    // a port that was just free: bind, read it, drop the listener
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let (o, warning, took) = ask(cfg(&format!("http://127.0.0.1:{port}"), 1500)).await;
    assert!(o.is_none());
    assert!(warning.expect("warning").contains("unreachable"));
    assert!(took < Duration::from_secs(3));
}

#[test]
fn disabled_advisor_builds_no_client() {
    let c = LlmConfig {
        enabled: false,
        ..LlmConfig::default()
    };
    assert_eq!(OllamaClient::new(c).err(), Some(LlmError::Disabled));
}
