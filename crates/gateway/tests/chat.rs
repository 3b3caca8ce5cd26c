//! The chat golden path and its guarantees, over real sockets on a real redis-server.

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use serde_json::json;
use testkit::RedisServer;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_path_streams_the_agents_events_in_order_and_stores_them() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (token, mut ws, welcome) = login_and_connect(&gw, "alice").await;
    assert_eq!(welcome["user_id"], "alice");
    create_threads(&gw, &token, &["t1"]).await;

    ask(&mut ws, "t1", "what is 2+3*4?").await;
    let seen = until_type(&mut ws, "agent_completed", |_| true).await;
    assert_eq!(seen[0]["type"], "accepted");
    let events = stored(&seen);
    assert_eq!(types(&events), RUN);
    let run_id = events[0]["run_id"].clone();
    for e in &events {
        assert_eq!(e["user_id"], "alice");
        assert_eq!(e["thread_id"], "t1");
        assert_eq!(e["run_id"], run_id);
        assert_eq!(e["agent_name"], "demo");
        assert!(e["timestamp"].as_u64().unwrap() > 0);
    }
    assert_eq!(events[3]["tool_name"], "calculator");
    assert_eq!(events[4]["results"]["value"], 14.0);
    assert_eq!(events[5]["text"], "2+3*4 = 14");

    let threads = gw
        .client
        .get("/api/threads", Some(&token))
        .await
        .unwrap()
        .json();
    assert_eq!(threads["threads"][0]["id"], "t1");
    assert_eq!(threads["threads"][0]["title"], "what is 2+3*4?");
    let history = gw
        .client
        .get("/api/threads/t1/events", Some(&token))
        .await
        .unwrap()
        .json();
    assert_eq!(history["events"].as_array().unwrap(), &events);
    let after = events[3]["event_id"].as_str().unwrap();
    let tail = gw
        .client
        .get(
            &format!("/api/threads/t1/events?after={after}"),
            Some(&token),
        )
        .await
        .unwrap()
        .json();
    assert_eq!(tail["events"].as_array().unwrap(), &events[4..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_thread_is_not_found_and_not_listed() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (token, mut ws, _) = login_and_connect(&gw, "alice").await;
    create_threads(&gw, &token, &["secret"]).await;
    ask(&mut ws, "secret", "hello").await;
    until_type(&mut ws, "agent_completed", |_| true).await;

    let bob = gw.client.login("bob").await.unwrap();
    let r = gw
        .client
        .get("/api/threads/secret/events", Some(&bob))
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "not_found");
    let list = gw
        .client
        .get("/api/threads", Some(&bob))
        .await
        .unwrap()
        .json();
    assert_eq!(list["threads"], json!([]));
    let anonymous = gw.client.get("/api/threads", None).await.unwrap();
    assert_eq!(anonymous.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_with_last_event_id_replays_the_missed_events_once_in_order() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (token, mut ws, _) = login_and_connect(&gw, "carol").await;
    ask(&mut ws, "t", "one two three").await;
    let first = stored(&until_type(&mut ws, "agent_completed", |_| true).await);
    let epoch = gw
        .client
        .get("/api/threads/t/events", Some(&token))
        .await
        .unwrap()
        .json()["epoch"]
        .as_str()
        .unwrap()
        .to_string();
    let resume_at = first[2]["event_id"].as_str().unwrap().to_string();
    drop(ws);

    // A second run happens while the first socket is away.
    let mut other = gw.client.connect(&token, &[]).await.unwrap();
    ask(&mut other, "t", "what did I say earlier?").await;
    let second = stored(&until_type(&mut other, "agent_completed", |_| true).await);
    assert_eq!(
        second[5]["text"],
        "You said 1 earlier message(s); the last was: \"one two three\""
    );

    let mut back = gw
        .client
        .connect(&token, &[("last_event_id", &resume_at), ("epoch", &epoch)])
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut back, Duration::from_secs(5)).await.unwrap()["type"],
        "welcome"
    );
    let replay = next_json(&mut back, Duration::from_secs(5)).await.unwrap();
    assert_eq!(replay["type"], "replay");
    assert_eq!(replay["lost"], false);
    let mut got = Vec::new();
    while let Some(v) = next_json(&mut back, Duration::from_millis(700)).await {
        got.push(v);
    }
    let expected: Vec<_> = first[3..].iter().chain(second.iter()).cloned().collect();
    assert_eq!(got, expected, "missed events, in order, exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_lost_in_a_restart_without_persistence_is_reported_as_lost() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (token, mut ws, _) = login_and_connect(&gw, "dave").await;
    ask(&mut ws, "t", "hi").await;
    let events = stored(&until_type(&mut ws, "agent_completed", |_| true).await);
    let history = gw
        .client
        .get("/api/threads/t/events", Some(&token))
        .await
        .unwrap()
        .json();
    let epoch = history["epoch"].as_str().unwrap().to_string();
    let last = events[5]["event_id"].as_str().unwrap().to_string();

    // No AOF, no RDB: the restarted server is empty, and so is the log.
    server.restart().unwrap();
    wait_ready(&gw).await;
    // The session died with the data: log in again.
    let token = eventually("login after restart", Duration::from_secs(10), || async {
        gw.client.login("dave").await.ok()
    })
    .await;
    let mut back = gw
        .client
        .connect(&token, &[("last_event_id", &last), ("epoch", &epoch)])
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut back, Duration::from_secs(5)).await.unwrap()["type"],
        "welcome"
    );
    let replay = next_json(&mut back, Duration::from_secs(5)).await.unwrap();
    assert_eq!(replay["type"], "replay");
    assert_eq!(replay["lost"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_message_sent_on_one_instance_reach_the_users_socket_on_another() {
    let server = RedisServer::start().unwrap();
    let a = start_gateway(&server.url(), |_| {}).await;
    let b = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&a).await;
    wait_ready(&b).await;
    let token = a.client.login("erin").await.unwrap();
    create_threads(&a, &token, &["t"]).await;
    let mut on_a = a.client.connect(&token, &[]).await.unwrap();
    let mut on_b = b.client.connect(&token, &[]).await.unwrap();
    let wa = next_json(&mut on_a, Duration::from_secs(5)).await.unwrap();
    let wb = next_json(&mut on_b, Duration::from_secs(5)).await.unwrap();
    assert_ne!(
        wa["instance"], wb["instance"],
        "two distinct gateway instances"
    );

    ask(&mut on_a, "t", "what is 6*7").await;
    let sent = stored(&until_type(&mut on_a, "agent_completed", |_| true).await);
    let fanned = stored(&until_type(&mut on_b, "agent_completed", |_| true).await);
    assert_eq!(types(&fanned), RUN);
    assert_eq!(fanned, sent);
    assert_eq!(fanned[5]["text"], "6*7 = 42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_frames_get_error_events_and_the_socket_stays_usable() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (_, mut ws, _) = login_and_connect(&gw, "frank").await;

    ws.send(Message::Text("{not json".into())).await.unwrap();
    let e = next_json(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("error"), Some("malformed_frame"))
    );

    let big = json!({"type": "user_message", "thread_id": "t", "text": "x".repeat(70 * 1024)});
    ws.send(Message::Text(big.to_string().into()))
        .await
        .unwrap();
    let e = next_json(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!(e["code"], "frame_too_large");
    assert_eq!(
        e["message"],
        format!(
            "the message is {} bytes long; the limit is 65536 bytes",
            big.to_string().len()
        )
    );

    ws.send(Message::Text(
        r#"{"type":"user_message","thread_id":"no{pe","text":"hi"}"#.into(),
    ))
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut ws, Duration::from_secs(5)).await.unwrap()["code"],
        "invalid_message"
    );

    ask(&mut ws, "t", "still here?").await;
    let events = stored(&until_type(&mut ws, "agent_completed", |_| true).await);
    assert_eq!(types(&events), RUN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_closes_the_tokens_open_sockets_with_1008_on_every_instance() {
    let server = RedisServer::start().unwrap();
    let a = start_gateway(&server.url(), |_| {}).await;
    let b = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&a).await;
    wait_ready(&b).await;
    let token = a.client.login("gina").await.unwrap();
    let keep = a.client.login("gina").await.unwrap();
    create_threads(&a, &keep, &["t"]).await;
    let mut s1 = a.client.connect(&token, &[]).await.unwrap();
    let mut s2 = b.client.connect(&token, &[]).await.unwrap();
    let mut other_session = a.client.connect(&keep, &[]).await.unwrap();
    for ws in [&mut s1, &mut s2, &mut other_session] {
        assert_eq!(
            next_json(ws, Duration::from_secs(5)).await.unwrap()["type"],
            "welcome"
        );
    }

    let r = a
        .client
        .post("/api/logout", Some(&token), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    for ws in [&mut s1, &mut s2] {
        let code = close_code(ws).await;
        assert_eq!(code, Some(1008));
    }
    let refused = a.client.connect(&token, &[]).await.unwrap_err();
    assert!(refused.to_string().contains("401"), "{refused}");
    assert_eq!(
        a.client
            .get("/api/threads", Some(&token))
            .await
            .unwrap()
            .status,
        401
    );
    ask(&mut other_session, "t", "the other session still works").await;
    until_type(&mut other_session, "agent_completed", |_| true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_initiated_close_completes_the_handshake_with_1000() {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (_, mut ws, _) = login_and_connect(&gw, "hana").await;
    let bye = CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    };
    ws.send(Message::Close(Some(bye))).await.unwrap();
    // The gateway's echo arrives as a Close frame (not a reset: that would be a 1006).
    assert_eq!(close_code(&mut ws).await, Some(1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_while_its_socket_is_open_is_refused_at_the_next_message_with_1008() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (token, mut ws, _) = login_and_connect(&gw, "ines").await;
    ask(&mut ws, "t", "before").await;
    until_type(&mut ws, "agent_completed", |_| true).await;
    redis_ssot::TokenBlacklist::new(gw.manager.clone())
        .revoke(&token, Duration::from_secs(600))
        .await
        .unwrap();
    ask(&mut ws, "t", "after the revocation").await;
    assert_eq!(close_code(&mut ws).await, Some(1008));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_right_after_the_upgrade_reaches_every_socket_of_the_user_whole() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    for i in 0..10 {
        let token = gw.client.login(&format!("jo{i}")).await.unwrap();
        create_threads(&gw, &token, &["t"]).await;
        let mut a = gw.client.connect(&token, &[]).await.unwrap();
        let mut b = gw.client.connect(&token, &[]).await.unwrap();
        // No waiting for `welcome`: the sockets are positioned before the `101`.
        ask(&mut a, "t", "hello at once").await;
        for ws in [&mut a, &mut b] {
            let events = stored(&until_type(ws, "agent_completed", |_| true).await);
            assert_eq!(types(&events), RUN, "user jo{i}");
        }
    }
}

async fn close_code(ws: &mut loadgen::WsStream) -> Option<u16> {
    use futures_util::StreamExt;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => return f.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_rate_limit_answers_429_with_retry_after_and_bad_requests_are_json_4xx() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |c| c.login_limit.per_user = 3).await;
    wait_ready(&gw).await;
    for _ in 0..3 {
        gw.client.login("henry").await.unwrap();
    }
    let r = gw
        .client
        .post("/api/login", None, &json!({"username": "henry"}))
        .await
        .unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"], "rate_limited");
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    gw.client
        .login("ivy")
        .await
        .expect("other users are not limited");

    let empty = gw
        .client
        .post("/api/login", None, &json!({"username": ""}))
        .await
        .unwrap();
    assert_eq!(empty.status, 400);
    assert!(
        empty.json()["message"]
            .as_str()
            .unwrap()
            .contains("username must not be empty")
    );
    let control = gw
        .client
        .post("/api/login", None, &json!({"username": "a\u{1}b"}))
        .await
        .unwrap();
    assert_eq!(control.status, 400);
    let long = gw
        .client
        .post("/api/login", None, &json!({"username": "x".repeat(65)}))
        .await
        .unwrap();
    assert!(
        long.json()["message"]
            .as_str()
            .unwrap()
            .contains("limit is 64")
    );
    let garbage = loadgen::request(gw.client.addr(), "POST", "/api/login", None, None)
        .await
        .unwrap();
    assert_eq!(garbage.status, 415);
    assert_eq!(garbage.json()["error"], "unsupported_media_type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_login_checks_the_blacklist_at_login_and_at_every_upgrade() {
    let server = RedisServer::start().unwrap();
    let secret = b"shared-secret".to_vec();
    let gw = start_gateway(&server.url(), |c| {
        c.auth = gateway::AuthMode::Jwt {
            secret: secret.clone(),
            issuer: None,
            audience: None,
        }
    })
    .await;
    wait_ready(&gw).await;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let jwt = |jti: &str| {
        gateway::auth::jwt::sign_hs256(
            &json!({"sub": "judy", "exp": exp, "jti": jti}),
            b"shared-secret",
        )
    };

    let bare = gw
        .client
        .post("/api/login", None, &json!({"username": "judy"}))
        .await
        .unwrap();
    assert_eq!(
        bare.status, 400,
        "a bare username is not enough in JWT mode"
    );
    let forged = gateway::auth::jwt::sign_hs256(&json!({"sub": "judy", "exp": exp}), b"wrong");
    let r = gw
        .client
        .post("/api/login", None, &json!({"token": forged}))
        .await
        .unwrap();
    assert_eq!(r.status, 401);

    let r = gw
        .client
        .post("/api/login", None, &json!({"token": jwt("j1")}))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["user_id"], "judy");
    let session = r.json()["token"].as_str().unwrap().to_string();
    let mut ws = gw.client.connect(&session, &[]).await.unwrap();
    assert_eq!(
        next_json(&mut ws, Duration::from_secs(5)).await.unwrap()["type"],
        "welcome"
    );

    // The auth service revokes the JWT's id: no new login with it, no new socket from the
    // session it created.
    let blacklist = redis_ssot::TokenBlacklist::new(gw.manager.clone());
    blacklist
        .revoke("j1", Duration::from_secs(600))
        .await
        .unwrap();
    let r = gw
        .client
        .post("/api/login", None, &json!({"token": jwt("j1")}))
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["message"], "this token has been revoked");
    let refused = gw.client.connect(&session, &[]).await.unwrap_err();
    assert!(refused.to_string().contains("401"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_control_exists_only_with_a_hook_and_status_and_metrics_are_served() {
    let server = RedisServer::start().unwrap();
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = calls.clone();
    let embedded = start_gateway(&server.url(), move |c| {
        c.outage = Some(std::sync::Arc::new(move |d| seen.lock().unwrap().push(d)));
    })
    .await;
    let external = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&embedded).await;
    wait_ready(&external).await;

    let token = embedded.client.login("kim").await.unwrap();
    let r = embedded
        .client
        .post("/api/simulate-outage", Some(&token), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["paused_ms"], 5000);
    assert_eq!(*calls.lock().unwrap(), vec![Duration::from_secs(5)]);
    let r = external
        .client
        .post("/api/simulate-outage", Some(&token), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 404);

    let with = embedded
        .client
        .get("/api/status", None)
        .await
        .unwrap()
        .json();
    let without = external
        .client
        .get("/api/status", None)
        .await
        .unwrap()
        .json();
    assert_eq!(with["gateway"]["outage_control"], true);
    assert_eq!(without["gateway"]["outage_control"], false);
    assert_eq!(without["ready"], true);
    assert_eq!(without["breaker"]["state"], "closed");

    let metrics = external.client.get("/metrics", None).await.unwrap();
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("gateway_http_requests"),
        "{}",
        metrics.body
    );
    let page = external.client.get("/", None).await.unwrap();
    assert!(page.body.contains("<script src=\"/app.js\"></script>"));
}
