//! `gateway_logins_total` counts every login attempt by outcome, not only the successes. One
//! test in this binary: the recorder is process-wide, so exact values need no other logins.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::json;
use testkit::RedisServer;

const SECRET: &[u8] = b"logins-metric-secret";

/// `gateway_logins_total{outcome=..}` for each outcome, in [`LoginOutcome::ALL`] order.
async fn logins(gw: &Gateway) -> Vec<(String, u64)> {
    let body = gw.client.get("/metrics", None).await.unwrap().body;
    assert!(
        body.contains("# HELP gateway_logins_total Login attempts, every one, by outcome"),
        "{body}"
    );
    gateway::metrics::LoginOutcome::ALL
        .iter()
        .map(|o| {
            let series = format!("gateway_logins_total{{outcome=\"{}\"}} ", o.label());
            let n = body
                .lines()
                .find_map(|l| l.strip_prefix(&series))
                .unwrap_or_else(|| panic!("no series {series}"))
                .trim()
                .parse()
                .unwrap();
            (o.label().to_string(), n)
        })
        .collect()
}

fn expect(
    ok: u64,
    invalid: u64,
    unauth: u64,
    revoked: u64,
    limited: u64,
    down: u64,
) -> Vec<(String, u64)> {
    [
        ("ok", ok),
        ("invalid_request", invalid),
        ("unauthorized", unauth),
        ("revoked", revoked),
        ("rate_limited", limited),
        ("unavailable", down),
        ("error", 0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_login_attempt_is_counted_with_its_outcome() {
    gateway::metrics::install().expect("the Prometheus recorder");
    let server = RedisServer::start().unwrap();
    let demo = start_gateway(&server.url(), |c| c.login_limit.per_user = 2).await;
    wait_ready(&demo).await;
    assert_eq!(logins(&demo).await, expect(0, 0, 0, 0, 0, 0));

    let post = |gw: &Gateway, body: serde_json::Value| {
        let client = gw.client.clone();
        async move { client.post("/api/login", None, &body).await.unwrap() }
    };
    assert_eq!(post(&demo, json!({"username": "ana"})).await.status, 200);
    assert_eq!(post(&demo, json!({})).await.status, 400);
    assert_eq!(
        post(&demo, json!({"username": "ana", "x": 1})).await.status,
        400
    );
    let not_json = loadgen::request(demo.client.addr(), "POST", "/api/login", None, None)
        .await
        .unwrap();
    assert_eq!(not_json.status, 415);
    assert_eq!(post(&demo, json!({"username": "ana"})).await.status, 200);
    assert_eq!(post(&demo, json!({"username": "ana"})).await.status, 429);
    assert_eq!(logins(&demo).await, expect(2, 3, 0, 0, 1, 0));

    let jwt = start_gateway(&server.url(), |c| {
        c.auth = gateway::AuthMode::Jwt {
            secret: SECRET.to_vec(),
            issuer: None,
            audience: None,
        }
    })
    .await;
    wait_ready(&jwt).await;
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let good = gateway::auth::jwt::sign_hs256(&json!({"sub": "jo", "exp": exp}), SECRET);
    let forged = gateway::auth::jwt::sign_hs256(&json!({"sub": "jo", "exp": exp}), b"other");
    assert_eq!(post(&jwt, json!({"token": forged})).await.status, 401);
    let r = post(&jwt, json!({"token": good})).await;
    assert_eq!(r.status, 200);
    let session = r.json()["token"].as_str().unwrap().to_string();
    let out = jwt
        .client
        .post("/api/logout", Some(&session), &json!({}))
        .await
        .unwrap();
    assert_eq!(out.status, 200);
    assert_eq!(post(&jwt, json!({"token": good})).await.status, 401);
    assert_eq!(logins(&jwt).await, expect(3, 3, 1, 1, 1, 0));

    // Nothing listens there: the rate limit cannot be checked, the login is a 503.
    let down = start_gateway(
        &format!("redis://127.0.0.1:{}", testkit::free_port()),
        |_| {},
    )
    .await;
    let r = eventually("gateway answering", Duration::from_secs(5), || async {
        down.client
            .post("/api/login", None, &json!({"username": "ana"}))
            .await
            .ok()
    })
    .await;
    assert_eq!(r.status, 503);
    assert_eq!(logins(&down).await, expect(3, 3, 1, 1, 1, 1));
}
