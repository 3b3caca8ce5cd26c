//! Readiness, recovery after kill/restart, and the supervisor.

mod common;

use std::time::{Duration, Instant};

use common::{eventually, fast_config, ready_manager};
use redis_ssot::{ConnState, Error, RedisManager};
use testkit::{RedisServer, ServerOptions};

#[tokio::test]
async fn manager_created_before_its_server_becomes_ready_when_it_starts() {
    let port = testkit::free_port();
    let m = RedisManager::connect(fast_config(&format!("redis://127.0.0.1:{port}"))).unwrap();
    assert_eq!(m.state(), ConnState::Connecting);
    assert!(!m.is_ready());
    match m.get::<String>("k").await {
        Err(Error::NotReady { state }) => assert_eq!(state, ConnState::Connecting),
        other => panic!("expected NotReady, got {other:?}"),
    }
    assert!(m.wait_ready(Duration::from_millis(200)).await.is_err());

    let _server = RedisServer::start_with(ServerOptions::new().port(port)).unwrap();
    m.wait_ready(Duration::from_secs(5)).await.unwrap();
    m.set("k", "v").await.unwrap();
    assert_eq!(m.get::<String>("k").await.unwrap().as_deref(), Some("v"));
    assert_eq!(
        m.get::<String>("missing").await.unwrap(),
        None,
        "a miss is Ok(None)"
    );
}

#[tokio::test]
async fn state_changes_are_observable_through_watch() {
    let server = RedisServer::start().unwrap();
    let m = RedisManager::connect(fast_config(&server.url())).unwrap();
    let mut rx = m.watch_state();
    rx.wait_for(|s| *s == ConnState::Ready).await.unwrap();
    server.kill();
    // The health check is slow in tests; a command notices the dead socket.
    let _ = m.get::<String>("k").await;
    tokio::time::timeout(
        Duration::from_secs(5),
        rx.wait_for(|s| *s == ConnState::Reconnecting),
    )
    .await
    .expect("reconnecting is published")
    .unwrap();
    server.restart().unwrap();
    tokio::time::timeout(
        Duration::from_secs(5),
        rx.wait_for(|s| *s == ConnState::Ready),
    )
    .await
    .expect("ready again")
    .unwrap();
}

#[tokio::test]
async fn commands_succeed_within_one_second_of_a_restart_after_kill() {
    let server = RedisServer::start().unwrap();
    // Default backoff (50 ms base, 2 s cap): the probe must beat the backoff.
    let mut config = redis_ssot::Config::from_url(&server.url()).unwrap();
    config.health_interval = Duration::from_secs(60);
    let m = ready_manager(config).await;
    m.set("k", "1").await.unwrap();

    server.kill();
    // Let the supervisor notice and climb its backoff to the cap.
    let err = m.set("k", "2").await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(m.get::<String>("k").await.unwrap_err().is_unavailable());

    server.restart().unwrap();
    let back = Instant::now();
    let recovered = eventually(
        "a command succeeds after restart",
        Duration::from_secs(5),
        || async { m.set("k", "3").await.ok().map(|_| back.elapsed()) },
    )
    .await;
    eprintln!("recovered {recovered:?} after restart");
    assert!(
        recovered < Duration::from_secs(1),
        "recovery took {recovered:?}"
    );
    assert!(m.status().reconnects >= 1);
}

#[tokio::test]
async fn auth_errors_are_retried_and_shown_in_status() {
    let server = RedisServer::start().unwrap();
    let url = server
        .url()
        .replace("redis://", "redis://late:latepass-9x@");
    let m = RedisManager::connect(fast_config(&url)).unwrap();
    let status = eventually(
        "an auth error in status",
        Duration::from_secs(5),
        || async {
            let s = m.status();
            s.last_connect_error.clone().map(|e| (s, e))
        },
    )
    .await;
    assert_eq!(status.0.state, ConnState::Connecting);
    assert!(
        !status.1.contains("latepass-9x"),
        "password leaked: {}",
        status.1
    );

    server
        .cli(&[
            "ACL",
            "SETUSER",
            "late",
            "on",
            ">latepass-9x",
            "~*",
            "+@all",
        ])
        .unwrap();
    m.wait_ready(Duration::from_secs(10)).await.unwrap();
    m.set("k", "v").await.unwrap();
    assert_eq!(m.status().last_connect_error, None);
}

#[tokio::test]
async fn shutdown_drains_then_refuses() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    m.set("k", "v").await.unwrap();
    m.shutdown(Duration::from_secs(1)).await;
    assert_eq!(m.state(), ConnState::Closed);
    assert!(matches!(m.get::<String>("k").await, Err(Error::Closed)));
}
