//! Redis outages: refused before the upgrade, survived after it.

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use serde_json::json;
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

/// A hook that really pauses `server` (SIGSTOP) for the pause, as `serve`'s does.
fn pausing(server: &std::sync::Arc<RedisServer>) -> gateway::OutageHook {
    let frozen = server.clone();
    std::sync::Arc::new(move |pause| {
        let server = frozen.clone();
        std::thread::spawn(move || {
            server.pause();
            std::thread::sleep(pause);
            server.resume();
        });
    })
}

async fn simulate(gw: &Gateway, bearer: Option<&str>) -> loadgen::HttpResponse {
    loadgen::request(
        gw.client.addr(),
        "POST",
        "/api/simulate-outage",
        bearer,
        None,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_simulated_outage_at_a_time_for_everyone_then_a_cooldown_and_no_body() {
    let server = std::sync::Arc::new(RedisServer::start().unwrap());
    let gw = start_gateway(&server.url(), |c| {
        c.outage = Some(pausing(&server));
        c.outage_duration = Duration::from_secs(1);
        c.outage_cooldown = Duration::from_secs(2);
    })
    .await;
    wait_ready(&gw).await;
    let status = gw.client.get("/api/status", None).await.unwrap();
    assert_eq!(status.json()["gateway"]["outage_control"], true);
    let ann = gw.client.login("ann").await.unwrap();
    let bob = gw.client.login("bob").await.unwrap();

    let anonymous = simulate(&gw, None).await;
    assert_eq!(anonymous.status, 401);
    let duration = gw
        .client
        .post(
            "/api/simulate-outage",
            Some(&ann),
            &json!({"seconds": 99999}),
        )
        .await
        .unwrap();
    assert_eq!(duration.status, 400);
    assert_eq!(
        duration.json(),
        json!({"error": "bad_request", "message": "unknown field \"seconds\"; the body takes no fields"})
    );

    let first = simulate(&gw, Some(&ann)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.json(),
        json!({"paused_ms": 1000, "cooldown_ms": 2000})
    );
    // Another user, while it runs: refused before the session is even checked (Redis is
    // paused), with when to come back.
    let running = simulate(&gw, Some(&bob)).await;
    assert_eq!(running.status, 429, "{}", running.body);
    assert_eq!(running.header("retry-after"), Some("3"));
    assert_eq!(
        running.json(),
        json!({"error": "outage_running", "message": "a simulated outage is already running (Redis resumes in 1 s); the next one can start in 3 s"})
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let cooling = simulate(&gw, Some(&ann)).await;
    assert_eq!(cooling.status, 429, "{}", cooling.body);
    assert_eq!(cooling.header("retry-after"), Some("2"));
    assert_eq!(
        cooling.json(),
        json!({"error": "outage_cooldown", "message": "a simulated outage ended a moment ago; the next one can start in 2 s"})
    );
    tokio::time::sleep(Duration::from_millis(1900)).await;
    wait_ready(&gw).await;
    let again = simulate(&gw, Some(&bob)).await;
    assert_eq!(again.status, 200, "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_jwt_mode_only_the_admin_token_simulates_an_outage_and_without_one_there_is_no_route() {
    const SECRET: &[u8] = b"outage-jwt-secret";
    const ADMIN: &str = "outage-admin-token-0123456789";
    let server = std::sync::Arc::new(RedisServer::start().unwrap());
    let jwt_mode = |c: &mut gateway::GatewayConfig| {
        c.auth = gateway::AuthMode::Jwt {
            secret: SECRET.to_vec(),
            issuer: None,
            audience: None,
        };
        c.outage = Some(pausing(&server));
        c.outage_duration = Duration::from_millis(500);
    };
    let bare = start_gateway(&server.url(), jwt_mode).await;
    wait_ready(&bare).await;
    let none = simulate(&bare, None).await;
    assert_eq!(none.status, 404);
    assert_eq!(
        none.json(),
        json!({"error": "not_found", "message": "there is no POST /api/simulate-outage"})
    );

    let gw = start_gateway(&server.url(), |c| {
        jwt_mode(c);
        c.admin_token = Some(gateway::admin::AdminToken::new(ADMIN).unwrap());
    })
    .await;
    wait_ready(&gw).await;
    let status = gw.client.get("/api/status", None).await.unwrap();
    assert_eq!(status.json()["gateway"]["outage_control"], false);
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let jwt = gateway::auth::jwt::sign_hs256(&json!({"sub": "uma", "exp": exp}), SECRET);
    let session = gw.client.login_with(&json!({"token": jwt})).await.unwrap();
    let user = simulate(&gw, Some(&session)).await;
    assert_eq!(user.status, 401);
    assert_eq!(
        user.json(),
        json!({"error": "unauthorized", "message": "admin token required: send Authorization: Bearer <admin token>"})
    );
    let admin = simulate(&gw, Some(ADMIN)).await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert_eq!(admin.json()["paused_ms"], 500);
    tokio::time::sleep(Duration::from_millis(700)).await;
}
