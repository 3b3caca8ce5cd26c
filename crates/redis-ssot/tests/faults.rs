//! The breaker, timeouts, half-open sockets and overload, against real faults.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{eventually, fast_config, ready_manager};
use redis_ssot::{BreakerState, Error};
use testkit::{FaultProxy, RedisServer};

/// Records every breaker transition the manager publishes, in order.
fn breaker_log(m: &redis_ssot::RedisManager) -> Arc<std::sync::Mutex<Vec<BreakerState>>> {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut rx = m.watch_breaker();
    let out = log.clone();
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let s = *rx.borrow_and_update();
            out.lock().unwrap().push(s);
        }
    });
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_server_times_out_opens_the_breaker_fails_fast_then_half_opens_and_closes() {
    let server = RedisServer::start().unwrap();
    let mut config = fast_config(&server.url());
    config.command_timeout = Duration::from_millis(200);
    config.breaker_cooldown = Duration::from_millis(500);
    let m = ready_manager(config).await;
    m.set("k", "v").await.unwrap();
    let log = breaker_log(&m);
    let mut states = m.watch_state();
    states.borrow_and_update();

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
    let status = m.status();
    assert_eq!(status.breaker.state, BreakerState::Open);
    // The third timeout made the supervisor check the connection; the check's dial cannot
    // complete against a hung server, so the connection stays and the state stays Ready:
    // callers see CircuitOpen, not NotReady.
    assert_eq!(status.state, redis_ssot::ConnState::Ready);
    assert!(!status.ready, "an open breaker is not ready");
    assert_eq!(status.not_ready.as_ref().unwrap().reason, "breaker_open");

    // Fail fast: refused without waiting for the network (well under the 200 ms deadline).
    let started = Instant::now();
    let err = m.get::<String>("k").await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err:?}");
    assert!(took < Duration::from_millis(100), "fail-fast took {took:?}");
    eprintln!("fail-fast CircuitOpen took {took:?}");

    // While open, the health PING runs every probe_interval: its success after the resume
    // moves the breaker to half-open, the next one closes it. No caller needed.
    server.resume();
    eventually("breaker closed", Duration::from_secs(10), || async {
        (m.breaker_state() == BreakerState::Closed).then_some(())
    })
    .await;
    assert_eq!(m.get::<String>("k").await.unwrap().as_deref(), Some("v"));
    let seen = log.lock().unwrap().clone();
    let tail: Vec<_> = seen.iter().rev().take(2).rev().copied().collect();
    assert_eq!(
        tail,
        [BreakerState::HalfOpen, BreakerState::Closed],
        "transitions: {seen:?}"
    );
    assert_eq!(seen.first(), Some(&BreakerState::Open), "{seen:?}");
    let totals = m.status().totals;
    assert!(totals["timeout"] >= 5, "{totals:?}");
    assert!(totals["circuit_open"] >= 1, "{totals:?}");
    // The check's dial may have completed after the resume and been swapped in; either way
    // the connection was never dropped.
    assert!(!states.has_changed().unwrap(), "the state never left Ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_under_traffic_opens_the_breaker_then_half_open_then_closed() {
    let server = RedisServer::start().unwrap();
    let mut config = fast_config(&server.url());
    config.command_timeout = Duration::from_millis(200);
    config.breaker_cooldown = Duration::from_millis(500);
    let m = ready_manager(config).await;
    let log = breaker_log(&m);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (m, stop) = (m.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut other = Vec::new();
            let mut ok = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match m.set(&format!("w{w}"), "v").await {
                    Ok(()) => ok += 1,
                    Err(e) => {
                        if !e.is_unavailable() {
                            other.push(e.to_string());
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
            }
            (ok, other)
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.pause();
    let paused = Instant::now();
    eventually("breaker open", Duration::from_secs(5), || async {
        (m.breaker_state() == BreakerState::Open).then_some(())
    })
    .await;
    eprintln!("breaker open {:?} after the pause", paused.elapsed());
    assert_eq!(m.state(), redis_ssot::ConnState::Ready, "connection kept");
    let mut worst = Duration::ZERO;
    for _ in 0..100 {
        let t = Instant::now();
        let e = m.get::<String>("k").await.unwrap_err();
        worst = worst.max(t.elapsed());
        assert!(matches!(e, Error::CircuitOpen { .. }), "{e:?}");
    }
    eprintln!("slowest of 100 CircuitOpen refusals: {worst:?}");
    assert!(
        worst < Duration::from_millis(50),
        "fail-fast took {worst:?}"
    );

    server.resume();
    eventually("breaker closed", Duration::from_secs(10), || async {
        (m.breaker_state() == BreakerState::Closed).then_some(())
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        let (ok, other) = w.await.unwrap();
        assert!(ok > 0);
        assert!(other.is_empty(), "only outage errors: {other:?}");
    }
    let seen = log.lock().unwrap().clone();
    let open = seen.iter().position(|s| *s == BreakerState::Open);
    let half = seen.iter().rposition(|s| *s == BreakerState::HalfOpen);
    assert!(
        open.is_some() && half.is_some() && open < half,
        "open, then half-open: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&BreakerState::Closed), "{seen:?}");
    m.set("after", "1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_socket_is_swapped_for_a_new_connection_without_a_readiness_gap() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr().unwrap()).unwrap();
    let m = ready_manager(fast_config(&proxy.url())).await;
    m.set("k", "v").await.unwrap();
    let mut states = m.watch_state();
    states.borrow_and_update();

    // The peer of the current socket vanishes; new connections work.
    proxy.silence();
    for _ in 0..3 {
        match m.get::<String>("k").await {
            Err(Error::Timeout { .. }) => {}
            other => panic!("expected a timeout on a half-open socket, got {other:?}"),
        }
    }
    // The check dials a new connection, which answers its PING, and swaps it in.
    let v = eventually("served again", Duration::from_secs(5), || async {
        m.get::<String>("k").await.ok().flatten()
    })
    .await;
    assert_eq!(v, "v");
    assert_eq!(m.status().reconnects, 1);
    assert_eq!(proxy.connection_count(), 2);
    assert!(
        !states.has_changed().unwrap(),
        "make before break: the state never left Ready"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_link_is_checked_kept_and_serves_again_when_healed() {
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
    // The check dials a replacement; through the blackhole it does not answer either.
    eventually(
        "a replacement connection is dialled",
        Duration::from_secs(5),
        || async { (proxy.connection_count() >= 2).then_some(()) },
    )
    .await;
    proxy.heal();
    let v = eventually(
        "reads work again after the heal",
        Duration::from_secs(10),
        || async { m.get::<String>("k").await.ok().flatten() },
    )
    .await;
    assert_eq!(v, "v");
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
