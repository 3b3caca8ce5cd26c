//! The operator controls: `force_reconnect` and `reset_circuit_breaker`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{fast_config, ready_manager};
use redis_ssot::{BreakerState, ConnState, Error};
use testkit::RedisServer;

/// The server-side id of the manager's shared connection.
async fn client_id(m: &redis_ssot::RedisManager) -> i64 {
    m.cmd(redis_ssot::redis::cmd("CLIENT").arg("ID"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_reconnect_under_eight_writers_changes_the_connection_with_no_errors() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    let before = client_id(&m).await;
    let mut states = m.watch_state();
    states.borrow_and_update();

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (m, stop) = (m.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut ok, mut errors) = (0u64, Vec::new());
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    match m.set(&format!("w{w}"), i).await {
                        Ok(()) => ok += 1,
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                (ok, errors, i)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        m.force_reconnect().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for (w, h) in writers.into_iter().enumerate() {
        let (ok, errors, last) = h.await.unwrap();
        assert!(errors.is_empty(), "writer {w} saw errors: {errors:?}");
        total += ok;
        let stored: u64 = m.get(&format!("w{w}")).await.unwrap().unwrap();
        assert_eq!(stored, last, "writer {w}'s last write landed");
    }
    let after = client_id(&m).await;
    assert_ne!(before, after, "a new server-side connection");
    let status = m.status();
    assert_eq!(status.connections_opened, 4);
    assert_eq!(
        status.reconnects, 0,
        "nothing was lost: three swaps, not reconnects"
    );
    assert!(status.totals["ok"] >= total);
    assert!(
        !states.has_changed().unwrap(),
        "make before break: never left Ready"
    );
    eprintln!("{total} writes across 3 forced reconnects, 0 errors");
    // The old connections are closed once their commands are done. (`client_count` skips
    // connections whose last command was CLIENT, like our CLIENT ID: write once more.)
    m.set("last", "1").await.unwrap();
    common::eventually("old connections closed", Duration::from_secs(5), || async {
        (common::client_count(&server) == 1).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_circuit_breaker_closes_an_open_breaker_and_clears_its_counts() {
    let server = RedisServer::start().unwrap();
    let mut config = fast_config(&server.url());
    config.command_timeout = Duration::from_millis(150);
    config.breaker_cooldown = Duration::from_secs(60);
    let m = ready_manager(config).await;
    server.pause();
    for _ in 0..5 {
        assert!(matches!(
            m.get::<String>("k").await,
            Err(Error::Timeout { .. })
        ));
    }
    assert_eq!(m.breaker_state(), BreakerState::Open);
    server.resume();
    // The operator knows the server is back before the breaker does.
    m.reset_circuit_breaker();
    let s = m.status();
    assert_eq!(s.breaker.state, BreakerState::Closed);
    assert_eq!(s.breaker.consecutive_failures, 0);
    assert_eq!(s.breaker.opened_total, 1, "history is kept");
    m.wait_ready(Duration::from_secs(5)).await.unwrap();
    m.set("k", "v").await.unwrap();
}

#[tokio::test]
async fn force_reconnect_on_a_closed_manager_is_closed() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    m.shutdown(Duration::from_secs(1)).await;
    assert_eq!(m.state(), ConnState::Closed);
    assert!(matches!(m.force_reconnect().await, Err(Error::Closed)));
}
