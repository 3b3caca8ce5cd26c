//! The breaker, timeouts, half-open sockets and overload, against real faults.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{eventually, fast_config, ready_manager};
use redis_ssot::{BreakerState, Error};
use testkit::{FaultProxy, RedisServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_server_times_out_opens_the_breaker_fails_fast_then_half_opens_and_closes() {
    let server = RedisServer::start().unwrap();
    let mut config = fast_config(&server.url());
    config.command_timeout = Duration::from_millis(200);
    config.breaker_cooldown = Duration::from_millis(500);
    // Keep the connection so the breaker alone is observed.
    config.timeouts_before_reconnect = 10_000;
    let m = ready_manager(config).await;
    m.set("k", "v").await.unwrap();

    server.pause();
    for i in 0..5 {
        match m.get::<String>("k").await {
            Err(Error::Timeout { op, after }) => {
                assert_eq!(op, "GET");
                assert_eq!(after, Duration::from_millis(200));
            }
            other => panic!("call {i}: expected Timeout, got {other:?}"),
        }
    }
    assert_eq!(m.status().breaker.state, BreakerState::Open);

    // Fail fast: refused without waiting for the network (well under the 200 ms deadline).
    let started = Instant::now();
    let err = m.get::<String>("k").await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err:?}");
    assert!(took < Duration::from_millis(100), "fail-fast took {took:?}");
    eprintln!("fail-fast CircuitOpen took {took:?}");

    server.resume();
    tokio::time::sleep(Duration::from_millis(600)).await; // past the cool-down
    assert_eq!(m.get::<String>("k").await.unwrap().as_deref(), Some("v"));
    assert_eq!(
        m.status().breaker.state,
        BreakerState::HalfOpen,
        "one probe is not enough"
    );
    assert_eq!(m.get::<String>("k").await.unwrap().as_deref(), Some("v"));
    assert_eq!(m.status().breaker.state, BreakerState::Closed);
    let totals = m.status().totals;
    assert_eq!(totals["timeout"], 5);
    assert_eq!(totals["circuit_open"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_server_gets_its_connection_replaced_and_recovers_after_resume() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    server.pause();
    for _ in 0..3 {
        let e = m.get::<String>("k").await.unwrap_err();
        assert!(e.is_unavailable(), "{e:?}");
    }
    // Three timeouts: the supervisor drops the connection and tries again (the handshake
    // hangs on the paused server), so calls now fail fast instead of waiting.
    eventually("connection dropped", Duration::from_secs(3), || async {
        (!m.is_ready()).then_some(())
    })
    .await;
    server.resume();
    m.wait_ready(Duration::from_secs(10)).await.unwrap();
    eventually("commands work again", Duration::from_secs(5), || async {
        m.set("k", "v").await.ok()
    })
    .await;
    assert!(m.status().reconnects >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackholed_connection_is_replaced() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr().unwrap()).unwrap();
    let m = ready_manager(fast_config(&proxy.url())).await;
    m.set("k", "v").await.unwrap();
    assert_eq!(proxy.connection_count(), 1);

    proxy.blackhole();
    for _ in 0..3 {
        match m.get::<String>("k").await {
            Err(Error::Timeout { .. }) => {}
            other => panic!("expected a timeout on a half-open socket, got {other:?}"),
        }
    }
    // The old socket is still open but silent; the supervisor dials a new one.
    eventually(
        "a replacement connection is dialled",
        Duration::from_secs(5),
        || async { (proxy.connection_count() >= 2).then_some(()) },
    )
    .await;
    proxy.heal();
    let v = eventually(
        "reads work on a new connection",
        Duration::from_secs(10),
        || async { m.get::<String>("k").await.ok().flatten() },
    )
    .await;
    assert_eq!(v, "v");
    assert!(proxy.connection_count() >= 2, "a new connection was opened");
    assert!(m.status().reconnects >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_connections_recover_without_caller_action() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr().unwrap()).unwrap();
    let m = ready_manager(fast_config(&proxy.url())).await;
    m.set("k", "v").await.unwrap();
    proxy.cut();
    let first = m.get::<String>("k").await;
    if let Err(e) = &first {
        assert!(e.is_unavailable(), "a cut is an outage, not a miss: {e:?}");
    }
    let v = eventually("reads work again", Duration::from_secs(5), || async {
        m.get::<String>("k").await.ok().flatten()
    })
    .await;
    assert_eq!(v, "v");
}

#[tokio::test]
async fn wrongtype_is_a_reply_error_and_never_opens_the_breaker() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    m.set("s", "string").await.unwrap();
    for _ in 0..20 {
        match m.lpush("s", "x").await {
            Err(Error::Redis { code, .. }) => assert_eq!(code, "WRONGTYPE"),
            other => panic!("expected WRONGTYPE, got {other:?}"),
        }
    }
    let status = m.status();
    assert_eq!(status.breaker.state, BreakerState::Closed);
    assert_eq!(status.breaker.consecutive_failures, 0);
    assert_eq!(status.reconnects, 0);
    assert_eq!(status.totals["reply_error"], 20);
    m.set("after", "ok").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_in_flight_limit_calls_get_overloaded_at_once() {
    let server = Arc::new(RedisServer::start().unwrap());
    let mut config = fast_config(&server.url());
    config.max_in_flight = 5;
    config.command_timeout = Duration::from_secs(3);
    config.timeouts_before_reconnect = 10_000;
    let m = ready_manager(config).await;

    server.pause();
    let mut stuck = Vec::new();
    for _ in 0..5 {
        let m = m.clone();
        stuck.push(tokio::spawn(async move { m.get::<String>("k").await }));
    }
    eventually("five in flight", Duration::from_secs(2), || async {
        (m.status().in_flight == 5).then_some(())
    })
    .await;
    match m.get::<String>("k").await {
        Err(Error::Overloaded { limit }) => assert_eq!(limit, 5),
        other => panic!("expected Overloaded, got {other:?}"),
    }
    server.resume();
    for h in stuck {
        h.await.unwrap().unwrap();
    }
    assert_eq!(m.status().in_flight, 0);
    assert_eq!(m.status().totals["overloaded"], 1);
}
