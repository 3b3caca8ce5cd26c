//! JWT mode: a session never outlives the token it came from, and neither does its socket.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use testkit::RedisServer;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &[u8] = b"jwt-tests-secret";

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn jwt_gateway(server: &RedisServer) -> Gateway {
    start_gateway(&server.url(), |c| {
        c.auth = gateway::AuthMode::Jwt {
            secret: SECRET.to_vec(),
            issuer: None,
            audience: None,
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_a_jwt_ends_with_the_jwts_exp_not_after_the_gateways_24_hours() {
    let server = RedisServer::start().unwrap();
    let gw = jwt_gateway(&server).await;
    wait_ready(&gw).await;
    let jwt = gateway::auth::jwt::sign_hs256(&json!({"sub": "kai", "exp": now_s() + 600}), SECRET);
    let r = gw
        .client
        .post("/api/login", None, &json!({"token": jwt}))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let expires_in = r.json()["expires_in"].as_u64().unwrap();
    assert!((595..=600).contains(&expires_in), "expires_in {expires_in}");
    let token = r.json()["token"].as_str().unwrap().to_string();
    let id = redis_ssot::SessionToken::parse(&token)
        .unwrap()
        .session_id();
    let pttl: i64 = server
        .cli(&["PTTL", &redis_ssot::keys::session(&id)])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        (590_000..=600_000).contains(&pttl),
        "the session key lives {pttl} ms"
    );

    let missing = gw
        .client
        .post("/api/login", None, &json!({}))
        .await
        .unwrap();
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.json(),
        json!({"error": "bad_request", "field": "token", "message": "token is required: the JWT from your sign-in"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_socket_is_closed_with_1008_when_its_jwt_expires() {
    let server = RedisServer::start().unwrap();
    let gw = jwt_gateway(&server).await;
    wait_ready(&gw).await;
    let jwt = gateway::auth::jwt::sign_hs256(&json!({"sub": "brief", "exp": now_s() + 2}), SECRET);
    let token = gw.client.login_with(&json!({"token": jwt})).await.unwrap();
    let mut ws = gw.client.connect(&token, &[]).await.unwrap();
    let close = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => return f,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("the socket is closed at the token's expiry")
    .expect("with a close frame");
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(close.reason.as_str(), "session expired");
    let after = gw.client.get("/api/threads", Some(&token)).await.unwrap();
    assert_eq!(after.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_jwt_until_its_exp_so_it_cannot_log_in_again() {
    let server = RedisServer::start().unwrap();
    let gw = jwt_gateway(&server).await;
    wait_ready(&gw).await;
    let exp = now_s() + 600;
    let with_jti = gateway::auth::jwt::sign_hs256(
        &json!({"sub": "lea", "exp": exp, "jti": "jti-logout-1"}),
        SECRET,
    );
    let without_jti = gateway::auth::jwt::sign_hs256(&json!({"sub": "lea", "exp": exp}), SECRET);
    for (jwt, credential) in [
        (&with_jti, "jti-logout-1".to_string()),
        (&without_jti, gateway::token::fingerprint(&without_jti)),
    ] {
        let token = gw.client.login_with(&json!({"token": jwt})).await.unwrap();
        let out = gw
            .client
            .post("/api/logout", Some(&token), &json!({}))
            .await
            .unwrap();
        assert_eq!(out.status, 200, "{}", out.body);
        let again = gw
            .client
            .post("/api/login", None, &json!({"token": jwt}))
            .await
            .unwrap();
        assert_eq!(again.status, 401);
        assert_eq!(
            again.json(),
            json!({"error": "unauthorized", "message": "this token has been revoked"})
        );
        // On the blacklist by its jti (or fingerprint), hashed, for what is left of its life.
        let pttl: i64 = server
            .cli(&["PTTL", &redis_ssot::keys::blacklist(&credential)])
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            (590_000..=600_000).contains(&pttl),
            "the revocation lives {pttl} ms"
        );
    }
    // The raw JWT is nowhere in Redis, neither as a key nor inside a value.
    let keys = server.cli(&["--scan"]).unwrap();
    for key in keys.lines().filter(|k| !k.is_empty()) {
        assert!(
            !key.contains(&with_jti) && !key.contains(&without_jti),
            "{key}"
        );
        if server.cli(&["TYPE", key]).unwrap().trim() == "string" {
            let v = server.cli(&["GET", key]).unwrap();
            assert!(
                !v.contains(&with_jti) && !v.contains(&without_jti),
                "{key}: {v}"
            );
        }
    }
    // Another JWT of the same user still logs in.
    let fresh = gateway::auth::jwt::sign_hs256(
        &json!({"sub": "lea", "exp": exp, "jti": "jti-logout-2"}),
        SECRET,
    );
    let r = gw
        .client
        .post("/api/login", None, &json!({"token": fresh}))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_whose_exp_is_not_whole_seconds_is_refused_saying_so() {
    let server = RedisServer::start().unwrap();
    let gw = jwt_gateway(&server).await;
    wait_ready(&gw).await;
    for exp in [json!(1e30), json!("soon")] {
        let jwt = gateway::auth::jwt::sign_hs256(&json!({"sub": "kai", "exp": exp}), SECRET);
        let r = gw
            .client
            .post("/api/login", None, &json!({"token": jwt}))
            .await
            .unwrap();
        assert_eq!(r.status, 401, "exp {exp}");
        assert_eq!(
            r.json(),
            json!({"error": "unauthorized", "message": "invalid token: exp must be a whole number of seconds since 1970"})
        );
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"redis-ssot\"")
        );
    }
}
