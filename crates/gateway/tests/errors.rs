//! Every error answer is our JSON `{error, message}` in plain words: the framework's own
//! refusals (no route, wrong method, body too large, not JSON) and every field check, over
//! HTTP and at the WebSocket's door. Exact bodies, on a real gateway and redis-server.

mod common;

use common::*;
use loadgen::{HttpResponse, RawRequest};
use serde_json::{Value, json};
use testkit::RedisServer;

/// Words that would mean a Rust or framework message reached a user.
const NOT_PLAIN: [&str; 9] = [
    "serde",
    "deserialize",
    "Failed to",
    "invalid type",
    "expected",
    "enum",
    "struct",
    "axum",
    "`",
];

/// The answer is `status` with exactly `body`, as JSON, in plain words.
fn assert_error(r: &HttpResponse, status: u16, body: Value) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{}",
        r.body
    );
    assert_eq!(r.json(), body);
    for word in NOT_PLAIN {
        assert!(!r.body.contains(word), "{word:?} in {}", r.body);
    }
}

fn raw(method: &str, path: &str, content_type: Option<&str>, body: Vec<u8>) -> RawRequest {
    RawRequest {
        method: method.into(),
        path: path.into(),
        headers: content_type
            .map(|c| vec![("content-type".to_string(), c.to_string())])
            .unwrap_or_default(),
        body,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frameworks_refusals_are_our_json_with_the_limit_and_the_allowed_methods() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;

    let r = gw.client.get("/nope", None).await.unwrap();
    assert_error(
        &r,
        404,
        json!({"error": "not_found", "message": "there is no GET /nope"}),
    );

    let r = gw.client.get("/api/login", None).await.unwrap();
    assert_error(
        &r,
        405,
        json!({"error": "method_not_allowed", "message": "/api/login does not take GET; it takes POST"}),
    );
    assert_eq!(r.header("allow"), Some("POST"));
    let r = gw
        .client
        .send(raw("DELETE", "/api/threads", None, Vec::new()))
        .await
        .unwrap();
    assert_error(
        &r,
        405,
        json!({"error": "method_not_allowed", "message": "/api/threads does not take DELETE; it takes GET, HEAD, POST"}),
    );

    let too_large = json!({"error": "payload_too_large", "message": "the request body is larger than the limit of 65536 bytes", "limit_bytes": 65536});
    for size in [65 * 1024, 10 * 1024 * 1024] {
        let r = gw
            .client
            .http()
            .send_head_only(
                raw("POST", "/api/login", Some("application/json"), Vec::new()),
                size,
            )
            .await
            .unwrap();
        assert_error(&r, 413, too_large.clone());
    }
    let not_json = json!({"error": "unsupported_media_type", "message": "send the body as JSON, with the header Content-Type: application/json"});
    let r = gw
        .client
        .send(raw(
            "POST",
            "/api/login",
            Some("text/plain"),
            b"alice".to_vec(),
        ))
        .await
        .unwrap();
    assert_error(&r, 415, not_json.clone());
    let r = gw
        .client
        .send(raw("POST", "/api/login", None, Vec::new()))
        .await
        .unwrap();
    assert_error(&r, 415, not_json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_login_body_is_refused_naming_the_field_in_plain_words() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let login = |body: &'static [u8]| {
        let client = gw.client.clone();
        async move {
            client
                .send(raw(
                    "POST",
                    "/api/login",
                    Some("application/json"),
                    body.to_vec(),
                ))
                .await
                .unwrap()
        }
    };
    let cases: [(&[u8], Value); 8] = [
        (
            b"{nope",
            json!({"error": "bad_request", "message": "the body is not valid JSON (line 1, column 2)"}),
        ),
        (
            b"",
            json!({"error": "bad_request", "message": "the body is empty; send a JSON object"}),
        ),
        (
            b"[\"alice\"]",
            json!({"error": "bad_request", "message": "the body must be a JSON object ({...}), not a list"}),
        ),
        (
            br#"{"username": 5}"#,
            json!({"error": "bad_request", "field": "username", "message": "username must be text (a JSON string), not a number"}),
        ),
        (
            br#"{"username": "alice", "admin": true}"#,
            json!({"error": "bad_request", "message": "unknown field \"admin\"; the body takes username, token"}),
        ),
        (
            "{\"username\": \"eve\u{202E}gnp\"}".as_bytes(),
            json!({"error": "bad_request", "field": "username", "message": "username contains U+202E (right-to-left override), an invisible character that reorders how the text is displayed"}),
        ),
        (
            br#"{"username": "<img src=x>"}"#,
            json!({"error": "bad_request", "field": "username", "message": "username contains \"<\", and user names cannot contain any of { } * : ? [ ] < > & \" '"}),
        ),
        (
            br#"{}"#,
            json!({"error": "bad_request", "field": "username", "message": "username is required"}),
        ),
    ];
    for (body, expected) in cases {
        assert_error(&login(body).await, 400, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_and_history_requests_check_ids_titles_and_cursors() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let token = gw.client.login("tess").await.unwrap();
    let create = |body: Value| {
        let (client, token) = (gw.client.clone(), token.clone());
        async move {
            client
                .post("/api/threads", Some(&token), &body)
                .await
                .unwrap()
        }
    };
    assert_error(
        &create(json!({"title": "line\u{7}bell"})).await,
        400,
        json!({"error": "bad_request", "field": "title", "message": "title contains U+0007, a control character"}),
    );
    assert_error(
        &create(json!({"title": "abc\u{2067}def"})).await,
        400,
        json!({"error": "bad_request", "field": "title", "message": "title contains U+2067 (right-to-left isolate), an invisible character that reorders how the text is displayed"}),
    );
    assert_error(
        &create(json!({"id": "a/b"})).await,
        400,
        json!({"error": "bad_request", "field": "id", "message": "id contains \"/\", and thread ids may only contain A-Z a-z 0-9 _ . @ -"}),
    );
    let ok = create(json!({"id": "trip", "title": "Trip to Köln"})).await;
    assert_eq!(ok.json(), json!({"id": "trip", "title": "Trip to Köln"}));

    let get = |path: &'static str| {
        let (client, token) = (gw.client.clone(), token.clone());
        async move { client.get(path, Some(&token)).await.unwrap() }
    };
    assert_error(
        &get("/api/threads/nope/events").await,
        404,
        json!({"error": "not_found", "message": "you have no thread nope; create it with POST /api/threads"}),
    );
    assert_error(
        &get("/api/threads/trip/events?limit=9000").await,
        400,
        json!({"error": "bad_request", "field": "limit", "message": "limit must be a whole number from 1 to 500, not \"9000\""}),
    );
    assert_error(
        &get("/api/threads/trip/events?before=yesterday").await,
        400,
        json!({"error": "bad_request", "field": "before", "message": "before must be an event id like 1700000000000-0, not \"yesterday\""}),
    );
    assert_error(
        &get("/api/threads/trip/events?before=1-0&after=2-0").await,
        400,
        json!({"error": "bad_request", "message": "give either before or after, not both"}),
    );
    assert_error(
        &get("/api/threads/trip/events?page=2").await,
        400,
        json!({"error": "bad_request", "message": "unknown query parameter \"page\"; this address takes before, after, limit"}),
    );
    assert_error(
        &gw.client.get("/api/threads", None).await.unwrap(),
        401,
        json!({"error": "unauthorized", "message": "missing token: send Authorization: Bearer <token>"}),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_door_refuses_with_json_before_any_upgrade() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let token = gw.client.login("uma").await.unwrap();
    let bad = "0".repeat(64);
    assert_error(
        &gw.client
            .get(&format!("/ws?token={bad}"), None)
            .await
            .unwrap(),
        401,
        json!({"error": "unauthorized", "message": "unknown, expired or revoked token"}),
    );
    assert_error(
        &gw.client
            .get(&format!("/ws?token={token}"), None)
            .await
            .unwrap(),
        400,
        json!({"error": "bad_request", "message": "/ws is a WebSocket: open it with a WebSocket client (the request asked for no upgrade to websocket)"}),
    );
    assert_error(
        &gw.client
            .get(&format!("/ws?token={token}&last_event_id=x"), None)
            .await
            .unwrap(),
        400,
        json!({"error": "bad_request", "field": "last_event_id", "message": "last_event_id must be an event id like 1700000000000-0, not \"x\""}),
    );
    assert_error(
        &gw.client
            .get(&format!("/ws?token={token}&since=1"), None)
            .await
            .unwrap(),
        400,
        json!({"error": "bad_request", "message": "unknown query parameter \"since\"; this address takes token, last_event_id, epoch"}),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_401_carries_a_bearer_challenge_naming_an_invalid_token() {
    let server = testkit::RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let missing = gw.client.get("/api/threads", None).await.unwrap();
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"redis-ssot\"")
    );
    assert_eq!(
        missing.json(),
        serde_json::json!({"error": "unauthorized", "message": "missing token: send Authorization: Bearer <token>"})
    );
    let unknown = gw
        .client
        .get("/api/threads", Some(&"0".repeat(64)))
        .await
        .unwrap();
    assert_eq!(unknown.status, 401);
    assert_eq!(
        unknown.header("www-authenticate"),
        Some("Bearer realm=\"redis-ssot\", error=\"invalid_token\"")
    );
    assert_eq!(
        unknown.json(),
        serde_json::json!({"error": "unauthorized", "message": "unknown, expired or revoked token"})
    );
    // The WebSocket upgrade too, refused before it.
    let ws = loadgen::request(gw.client.addr(), "GET", "/ws?token=nope", None, None)
        .await
        .unwrap();
    assert_eq!(ws.status, 401);
    assert_eq!(
        ws.header("www-authenticate"),
        Some("Bearer realm=\"redis-ssot\", error=\"invalid_token\"")
    );
}
