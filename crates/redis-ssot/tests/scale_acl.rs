//! ACL users: credentials from the URL and from the environment; a missing permission is a
//! reply error (`NOPERM`) that leaves the breaker and the connection alone.

mod common;

use std::time::Duration;

use common::{connected_manager, eventually, fast_config};
use redis_ssot::{BreakerState, Config, Error, RedisManager};
use testkit::{RedisServer, ServerOptions};

/// `writer` may do everything; `reader` may do everything except SET.
fn acl_server() -> RedisServer {
    RedisServer::start_with(
        ServerOptions::new()
            .acl_user("writer", "w-pass", "+@all ~*")
            .acl_user("reader", "r-pass", "+@all ~* -set"),
    )
    .unwrap()
}

fn port(server: &RedisServer) -> u16 {
    server.port().expect("TCP server")
}

#[tokio::test]
async fn a_command_the_acl_forbids_is_noperm_and_neither_trips_the_breaker_nor_reconnects() {
    let server = acl_server();
    let writer = connected_manager(fast_config(&format!(
        "redis://writer:w-pass@127.0.0.1:{}",
        port(&server)
    )))
    .await;
    writer.set("acl:k", "from-writer").await.unwrap();

    let reader = connected_manager(fast_config(&format!(
        "redis://reader:r-pass@127.0.0.1:{}",
        port(&server)
    )))
    .await;
    // More refusals than the breaker threshold: none of them may count as a failure.
    for _ in 0..reader.config().breaker_failure_threshold + 2 {
        match reader.set("acl:k", "from-reader").await {
            Err(Error::Redis { code, .. }) => assert_eq!(code, "NOPERM"),
            other => panic!("expected NOPERM, got {other:?}"),
        }
    }
    assert_eq!(
        reader.get::<String>("acl:k").await.unwrap().as_deref(),
        Some("from-writer"),
        "reads still work and the refused SET changed nothing"
    );
    let status = reader.status();
    assert_eq!(status.breaker.state, BreakerState::Closed);
    assert_eq!(status.breaker.consecutive_failures, 0);
    assert_eq!(status.reconnects, 0);
    assert_eq!(status.connections_opened, 1);
    assert!(status.ready);
}

#[tokio::test]
async fn acl_credentials_come_from_redis_username_and_redis_password() {
    let server = acl_server();
    let url = format!("redis://127.0.0.1:{}", port(&server));
    let config = Config::from_lookup(|name| match name {
        "REDIS_URL" => Some(url.clone()),
        "REDIS_USERNAME" => Some("writer".into()),
        "REDIS_PASSWORD" => Some("w-pass".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.username.as_deref(), Some("writer"));
    assert!(
        !format!("{config:?}").contains("w-pass"),
        "the password is never printed"
    );
    let m = connected_manager(config).await;
    m.set("acl:env", "v").await.unwrap();
    let who: String = m
        .cmd(redis_ssot::redis::cmd("ACL").arg("WHOAMI"))
        .await
        .unwrap();
    assert_eq!(who, "writer");
}

#[tokio::test]
async fn a_wrong_acl_password_never_becomes_ready_and_reports_an_auth_error() {
    let server = acl_server();
    let m = RedisManager::connect(fast_config(&format!(
        "redis://writer:wrong@127.0.0.1:{}",
        port(&server)
    )))
    .unwrap();
    let error = eventually("a connect error", Duration::from_secs(5), || async {
        m.status().last_connect_error
    })
    .await;
    let lower = error.to_ascii_lowercase();
    assert!(
        lower.contains("auth") || lower.contains("wrongpass"),
        "the error names the auth failure: {error}"
    );
    assert!(
        !error.contains("wrong@"),
        "no credential in the error: {error}"
    );
    assert!(!m.is_ready());
}
