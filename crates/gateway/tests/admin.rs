//! The operator controls over HTTP: `POST /api/admin/reconnect`, `/api/admin/breaker/reset`,
//! and what `/api/status` shows to whom.

mod common;

use common::*;
use testkit::RedisServer;

#[tokio::test]
async fn admin_routes_are_404_without_a_token_401_with_a_wrong_one_and_work_with_the_right_one() {
    let server = RedisServer::start().unwrap();
    let plain = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&plain).await;
    for path in ["/api/admin/reconnect", "/api/admin/breaker/reset"] {
        let r = plain
            .client
            .post(path, Some("anything-at-all-here"), &serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 404, "{path}");
    }

    let token = "an-admin-token-for-tests-0123456789";
    let gw = start_gateway(&server.url(), |c| {
        c.admin_token = Some(gateway::admin::AdminToken::new(token).unwrap());
    })
    .await;
    wait_ready(&gw).await;
    for bad in [
        None,
        Some("wrong-token-wrong-token"),
        Some("an-admin-token-for-tests-012345678"),
    ] {
        let r = gw
            .client
            .post("/api/admin/reconnect", bad, &serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 401, "{bad:?}");
        assert_eq!(r.json()["error"], "unauthorized");
    }
    let before = gw.manager.status().connections_opened;
    let r = gw
        .client
        .post("/api/admin/reconnect", Some(token), &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["ok"], true);
    assert_eq!(gw.manager.status().connections_opened, before + 1);
    let r = gw
        .client
        .post(
            "/api/admin/breaker/reset",
            Some(token),
            &serde_json::json!({}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["breaker"]["state"], "closed");

    // The status shows where Redis lives only to the admin token.
    let public = gw.client.get("/api/status", None).await.unwrap().json();
    assert!(
        public["url"].is_null() && public["server"].is_null(),
        "{public}"
    );
    assert!(
        public["verdict"].as_str().unwrap().starts_with("ready"),
        "{public}"
    );
    let admin = gw
        .client
        .get("/api/status", Some(token))
        .await
        .unwrap()
        .json();
    assert!(
        admin["server"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{admin}"
    );
}
