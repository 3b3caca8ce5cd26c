//! Redis outages: refused before the upgrade, survived after it.

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use testkit::RedisServer;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_is_refused_with_503_before_the_upgrade_while_redis_is_down() {
    let port = testkit::free_port();
    let gw = start_gateway(&format!("redis://127.0.0.1:{port}"), |_| {}).await;
    // Nothing listens there: the manager never becomes ready.
    let ready = eventually("gateway answering", Duration::from_secs(5), || async {
        gw.client.get("/readyz", None).await.ok()
    })
    .await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["error"], "redis_unavailable");

    let token = "0".repeat(64);
    let r = loadgen::request(
        gw.client.addr(),
        "GET",
        &format!("/ws?token={token}"),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());
    let err = gw.client.connect(&token, &[]).await.unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(gw.client.get("/healthz", None).await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_mid_session_sends_an_error_event_keeps_the_socket_and_recovers() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (_, mut ws, _) = login_and_connect(&gw, "olga").await;
    ask(&mut ws, "t", "before").await;
    until_type(&mut ws, "agent_completed", |_| true).await;

    server.pause();
    ask(&mut ws, "t", "during the outage").await;
    let error = until_type(&mut ws, "error", |_| true).await;
    let error = error.last().unwrap();
    assert_eq!(error["code"], "redis_unavailable");
    // The socket is still open and served locally.
    ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    until_type(&mut ws, "pong", |_| true).await;

    server.resume();
    eventually("manager ready again", Duration::from_secs(30), || async {
        gw.manager.is_ready().then_some(())
    })
    .await;
    // Service resumes on the same socket: a new message completes (retrying while the
    // breaker finishes closing).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no run completed after recovery"
        );
        ask(&mut ws, "t", "after the outage").await;
        let mut outcome = None;
        while outcome.is_none() {
            let v = next_json(&mut ws, Duration::from_secs(20))
                .await
                .expect("an answer");
            match v["type"].as_str() {
                Some("agent_completed")
                    if v["text"].as_str().is_some_and(|t| t.contains("3 word")) =>
                {
                    outcome = Some(true)
                }
                Some("error") if v["run_id"].is_null() => outcome = Some(false),
                _ => {}
            }
        }
        if outcome == Some(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
