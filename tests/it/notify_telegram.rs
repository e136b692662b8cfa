//! The Telegram client against a loopback Bot API: sendMessage bodies (plain and HTML),
//! splitting under 4 096 characters, 429 `retry_after` waited out or refused when too long,
//! getUpdates commands with the offset, and no token in any error.

use std::time::{Duration, Instant};

use algolab::notify::commands::commands_from;
use algolab::notify::{BotCommand, Event, Format, NotifyError, TelegramClient, TelegramConfig};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "987654:SECRET-token_value";
const SEND: &str = "/bot987654:SECRET-token_value/sendMessage";
const UPDATES: &str = "/bot987654:SECRET-token_value/getUpdates";

fn client(server: &MockServer, format: Format) -> TelegramClient {
    let mut c = TelegramConfig::new(TOKEN, "4242").unwrap();
    c.base_url = server.uri();
    c.format = format;
    c.max_wait = Duration::from_secs(2);
    TelegramClient::new(c).unwrap()
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(serde_json::json!({"ok": true, "result": {"message_id": 1}}))
}

async fn bodies(server: &MockServer) -> Vec<serde_json::Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn an_event_is_sent_as_html_to_the_configured_chat() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .and(body_partial_json(
            serde_json::json!({"chat_id": "4242", "parse_mode": "HTML"}),
        ))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, Format::Html);
    let n = c
        .send_event(&Event::StopHit {
            bot: "b<1>".into(),
            symbol: "BTC/USDT".into(),
            price: 20000.0,
            pnl: -12.5,
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    let b = bodies(&server).await;
    assert_eq!(
        b[0]["text"],
        "<b>b&lt;1&gt;: stop hit on BTC/USDT</b>\nfilled at 20000.00, P&amp;L -12.50"
    );
}

#[tokio::test]
async fn a_long_text_goes_out_as_several_messages_under_the_limit_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ok())
        .mount(&server)
        .await;
    let c = client(&server, Format::Plain);
    let lines: Vec<String> = (0..600)
        .map(|i| format!("line {i:04} of the report"))
        .collect();
    let text = lines.join("\n");
    let n = c.send_text(&text).await.unwrap();
    let b = bodies(&server).await;
    assert_eq!(n, b.len());
    assert!(n >= 3, "{} chars in {n} messages", text.len());
    let texts: Vec<&str> = b.iter().map(|v| v["text"].as_str().unwrap()).collect();
    assert!(texts.iter().all(|t| t.chars().count() <= 4096));
    assert!(b.iter().all(|v| v.get("parse_mode").is_none()));
    // cut at line breaks: joining the pieces with newlines gives the text back
    assert_eq!(texts.join("\n"), text);
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after_then_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ResponseTemplate::new(429).set_body_json(serde_json::json!({
            "ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1}
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ok())
        .with_priority(2)
        .mount(&server)
        .await;
    let c = client(&server, Format::Plain);
    let t0 = Instant::now();
    assert_eq!(c.send_text("hello").await.unwrap(), 1);
    assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn a_long_429_fails_at_once_instead_of_blocking_the_tick() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ResponseTemplate::new(429).set_body_json(serde_json::json!({
            "ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 600",
            "parameters": {"retry_after": 600}
        })))
        .mount(&server)
        .await;
    let c = client(&server, Format::Plain);
    let t0 = Instant::now();
    let e = c.send_text("hello").await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(
            e,
            NotifyError::RateLimited {
                retry_after_s: 600,
                ..
            }
        ),
        "{e}"
    );
    assert!(!e.to_string().contains("SECRET"), "{e}");
    assert_eq!(bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn an_api_error_names_the_method_and_never_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "ok": false, "error_code": 400, "description": "Bad Request: chat not found"
        })))
        .mount(&server)
        .await;
    let e = client(&server, Format::Plain)
        .send_text("x")
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("sendMessage") && msg.contains("chat not found"),
        "{msg}"
    );
    assert!(!msg.contains("SECRET") && !format!("{e:?}").contains("SECRET"));
}

#[tokio::test]
async fn get_updates_sends_the_offset_and_yields_commands_of_our_chat() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(UPDATES))
        .and(body_partial_json(serde_json::json!({"offset": 7})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "ok": true,
            "result": [
                {"update_id": 7, "message": {"message_id": 1, "chat": {"id": 4242}, "text": "/status"}},
                {"update_id": 8, "message": {"message_id": 2, "chat": {"id": 1}, "text": "/stop"}},
                {"update_id": 9, "message": {"message_id": 3, "chat": {"id": 4242}, "text": "/profit@algobot"}}
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, Format::Plain);
    let ups = c.get_updates(7).await.unwrap();
    let (cmds, next) = commands_from(&ups, &c.config().chat_id, 7);
    assert_eq!(cmds, vec![BotCommand::Status, BotCommand::Profit]);
    assert_eq!(next, 10);
}
