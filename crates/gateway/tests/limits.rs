//! The per-user message limits (runs per second, runs in flight) and the other refusals of
//! a `user_message`: answered with an `error` event carrying the message's `client_ref`,
//! nothing stored, the socket kept open. Real gateway, real redis-server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use serde_json::{Value, json};
use testkit::RedisServer;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

async fn send(ws: &mut loadgen::WsStream, frame: Value) {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .expect("send");
}

fn message(thread: &str, text: &str, client_ref: &str) -> Value {
    json!({"type": "user_message", "thread_id": thread, "text": text, "client_ref": client_ref})
}

/// Reads until `n` answers (`accepted` or `error`) arrived; returns them in order.
async fn answers(ws: &mut loadgen::WsStream, n: usize) -> Vec<Value> {
    let mut got = Vec::new();
    while got.len() < n {
        let v = next_json(ws, Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("{} of {n} answers; got {got:#?}", got.len()));
        if v["type"] == "accepted" || v["type"] == "error" {
            got.push(v);
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_300_messages_runs_five_and_refuses_the_rest_with_retry_after() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |c| {
        c.message_limit.per_second = 5;
        c.message_limit.in_flight = 1000;
    })
    .await;
    wait_ready(&gw).await;
    let (token, mut ws, _) = login_and_connect(&gw, "burst").await;
    for i in 0..300 {
        send(
            &mut ws,
            message("t", &format!("what is {i}+1"), &format!("m{i}")),
        )
        .await;
    }
    let got = answers(&mut ws, 300).await;
    let accepted: Vec<&str> = got
        .iter()
        .filter(|v| v["type"] == "accepted")
        .map(|v| v["client_ref"].as_str().unwrap())
        .collect();
    assert_eq!(accepted, ["m0", "m1", "m2", "m3", "m4"]);
    let refused: Vec<&Value> = got.iter().filter(|v| v["type"] == "error").collect();
    assert_eq!(refused.len(), 295);
    for (i, e) in refused.iter().enumerate() {
        assert_eq!(e["code"], "rate_limited");
        assert_eq!(e["client_ref"], format!("m{}", i + 5));
        assert_eq!(e["retry_after"], 1);
        let ms = e["retry_after_ms"].as_u64().unwrap();
        assert!((1..=1000).contains(&ms), "retry_after_ms {ms}");
        assert!(
            e["message"].as_str().unwrap().starts_with(
                "you are sending more than 5 messages per second; send this one again in "
            ),
            "{e}"
        );
    }

    // The socket is still open, and after the wait a message runs again.
    send(&mut ws, json!({"type": "ping"})).await;
    until_type(&mut ws, "pong", |_| true).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    send(&mut ws, message("t", "what is 1+1", "again")).await;
    let again = until_type(&mut ws, "agent_completed", |e| e["text"] == "1+1 = 2").await;
    assert!(
        again
            .iter()
            .any(|v| v["type"] == "accepted" && v["client_ref"] == "again")
    );

    // Nothing of a refused message was stored: the thread holds six runs.
    let page = gw
        .client
        .get("/api/threads/t/events?limit=500", Some(&token))
        .await
        .unwrap()
        .json();
    assert_eq!(page["events"].as_array().unwrap().len(), 6 * RUN.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_in_flight_are_limited_per_user_until_one_finishes() {
    let server = RedisServer::start().unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let agent = gate.clone();
    let gw = start_gateway(&server.url(), move |c| {
        c.agent = Arc::new(Held(agent));
        c.message_limit.in_flight = 2;
    })
    .await;
    wait_ready(&gw).await;
    let (_, mut ws, _) = login_and_connect(&gw, "patient").await;
    for i in 0..3 {
        send(&mut ws, message("t", &format!("job {i}"), &format!("j{i}"))).await;
    }
    let got = answers(&mut ws, 3).await;
    assert_eq!(got[0]["type"], "accepted");
    assert_eq!(got[1]["type"], "accepted");
    assert_eq!(got[2]["type"], "error");
    assert_eq!(got[2]["code"], "rate_limited");
    assert_eq!(got[2]["client_ref"], "j2");
    assert_eq!(
        got[2]["message"],
        "you already have 2 runs in progress; send this one when one has finished"
    );

    gate.add_permits(1);
    until_type(&mut ws, "agent_completed", |_| true).await;
    // The finished run gave its place back.
    // The finished run gave its place back (its release follows the outcome's save).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let again = loop {
        send(&mut ws, message("t", "job 3", "j3")).await;
        let a = answers(&mut ws, 1).await.remove(0);
        if a["type"] == "accepted" {
            break a;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no place in flight: {a}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(again["client_ref"], "j3");
    gate.add_permits(10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_to_an_unknown_thread_gets_the_same_answer_as_rest_and_stores_nothing() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (token, mut ws, _) = login_and_connect(&gw, "lost").await;
    send(&mut ws, message("elsewhere", "hello?", "r1")).await;
    let e = answers(&mut ws, 1).await.remove(0);
    let rest = gw
        .client
        .get("/api/threads/elsewhere/events", Some(&token))
        .await
        .unwrap();
    assert_eq!(rest.status, 404);
    assert_eq!(e["type"], "error");
    assert_eq!(e["code"], rest.json()["error"]);
    assert_eq!(e["message"], rest.json()["message"]);
    assert_eq!(e["field"], "thread_id");
    assert_eq!(e["client_ref"], "r1");
    let threads = gw
        .client
        .get("/api/threads", Some(&token))
        .await
        .unwrap()
        .json();
    let ids: Vec<&str> = threads["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["t"], "no thread was created by the message");

    // Creating it explicitly makes the same message work.
    gw.client.create_thread(&token, "elsewhere").await.unwrap();
    send(&mut ws, message("elsewhere", "hello?", "r2")).await;
    let events = stored(&until_type(&mut ws, "agent_completed", |_| true).await);
    assert_eq!(types(&events), RUN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_frame_is_refused_with_its_client_ref_and_the_field_named() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (_, mut ws, _) = login_and_connect(&gw, "typo").await;
    send(
        &mut ws,
        message("t", "right-to-left \u{202E}override", "x1"),
    )
    .await;
    let e = answers(&mut ws, 1).await.remove(0);
    assert_eq!(
        (
            e["code"].as_str(),
            e["field"].as_str(),
            e["client_ref"].as_str()
        ),
        (Some("invalid_message"), Some("text"), Some("x1"))
    );
    assert_eq!(
        e["message"],
        "text contains U+202E (right-to-left override), an invisible character that reorders how the text is displayed"
    );
    send(&mut ws, json!({"type": "user_message", "thread_id": "t"})).await;
    let e = answers(&mut ws, 1).await.remove(0);
    assert_eq!(e["message"], "text is required");
    assert_eq!(e["field"], "text");
}

/// The value of `gateway_ws_closes_total{code}` on `/metrics`, 0 when absent.
async fn closes(gw: &Gateway, code: &str) -> u64 {
    let body = gw.client.get("/metrics", None).await.unwrap().body;
    let series = format!("gateway_ws_closes_total{{code=\"{code}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_past_one_mib_is_closed_with_1009_and_a_reason_not_dropped() {
    // Counted only with the recorder in place (as `serve` installs it first).
    gateway::metrics::install().expect("the Prometheus recorder");
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let token = gw.client.login("bulky").await.unwrap();
    assert_eq!(closes(&gw, "1009").await, 0);
    for (i, size) in [(1 << 20) + 10, 4 << 20].into_iter().enumerate() {
        let mut ws = gw.client.connect(&token, &[]).await.unwrap();
        let welcome = next_json(&mut ws, Duration::from_secs(10)).await.unwrap();
        assert_eq!(welcome["type"], "welcome");
        // The send itself may fail once the gateway has closed: what counts is what comes back.
        let _ = ws.send(Message::Text("x".repeat(size).into())).await;
        let close = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match futures_util::StreamExt::next(&mut ws).await {
                    Some(Ok(Message::Close(f))) => return f,
                    Some(Ok(_)) => continue,
                    other => panic!("{size} bytes: expected a close frame, got {other:?}"),
                }
            }
        })
        .await
        .expect("closed within 10 s")
        .expect("with a close frame");
        assert_eq!(u16::from(close.code), 1009, "{size} bytes");
        assert_eq!(close.reason.as_str(), "message larger than 1 MiB");
        assert_eq!(closes(&gw, "1009").await, i as u64 + 1);
    }
}
