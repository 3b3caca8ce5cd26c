//! Ready means a command can succeed now: a loading server, missing credentials, a frozen
//! server, and transactions refused for an outage reason, against real servers.

mod common;

use std::time::{Duration, Instant};

use common::{eventually, fast_config, ready_manager};
use redis_ssot::{BreakerState, BusyReason, ConnState, ConnectionKind, Error, RedisManager};
use testkit::{RedisServer, ServerOptions};

/// Keys in the dataset of the restart test: enough for a load that takes a second or more.
const KEYS: u64 = 3_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_a_large_dataset_is_loading_until_a_key_is_served() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    server
        .cli(&["DEBUG", "POPULATE", &KEYS.to_string(), "key", "16"])
        .unwrap();
    assert_eq!(server.cli(&["SAVE"]).unwrap(), "OK");
    assert_eq!(
        m.get::<String>("key:1")
            .await
            .unwrap()
            .as_deref()
            .map(str::len),
        Some(16)
    );

    server.kill();
    let killed = Instant::now();
    let _ = m.get::<String>("key:1").await; // notices the dead socket
    eventually(
        "the dead socket noticed",
        Duration::from_secs(5),
        || async { (m.state() != ConnState::Ready).then_some(()) },
    )
    .await;
    server.restart_loading().unwrap();
    let listening = killed.elapsed();

    // Sample until a key is served: the state, readiness, a read and an atomic pipeline.
    let mut timeline: Vec<(Duration, ConnState, bool)> = Vec::new();
    let mut loading_seen = 0;
    let mut transactions = 0;
    let served = loop {
        let at = killed.elapsed();
        let state = m.state();
        let ready = m.is_ready();
        if timeline.last().is_none_or(|l| (l.1, l.2) != (state, ready)) {
            timeline.push((at, state, ready));
        }
        if state == ConnState::Loading {
            loading_seen += 1;
            assert!(!ready, "never ready while loading");
            let loading = m.status().loading;
            assert!(loading.is_some(), "the status says how far the load is");
        }
        let mut pipe = redis_ssot::redis::pipe();
        pipe.atomic().set("during", "x").ignore().get("key:2");
        match m.pipeline::<(Option<String>,)>(&pipe).await {
            Ok(_) => {}
            Err(e) => {
                transactions += 1;
                assert!(e.is_unavailable(), "an outage, not a reply error: {e:?}");
            }
        }
        match m.get::<String>("key:1").await {
            Ok(Some(v)) => break (at, v),
            Ok(None) => panic!("the dataset was saved: key:1 cannot be missing"),
            Err(e) => {
                assert!(e.is_unavailable(), "an outage, not a reply error: {e:?}");
                assert!(
                    !ready || !m.is_ready(),
                    "ready, yet a read failed with {e:?}"
                );
            }
        }
        assert!(killed.elapsed() < Duration::from_secs(120), "{timeline:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    eprintln!(
        "restart with {KEYS} keys: listening after {listening:?}, first key served after {:?}; \
         {loading_seen} samples loading, {transactions} refused transactions; timeline {timeline:?}",
        served.0
    );
    assert_eq!(served.1.len(), 16);
    assert!(loading_seen > 0, "the load was observed: {timeline:?}");
    let status = m.status();
    assert!(status.reconnects <= 1, "no churn while loading: {status:?}");
    assert_eq!(status.totals["reply_error"], 0);
    assert_eq!(status.loading, None);
    // Ready only once: Loading, then Ready, no flapping.
    let readies = timeline.iter().filter(|t| t.2).count();
    assert_eq!(readies, 1, "{timeline:?}");
}

#[tokio::test]
async fn no_password_against_requirepass_is_not_ready_and_says_why() {
    let server = RedisServer::start_with(ServerOptions::new().requirepass("s3cret-pw")).unwrap();
    let m = RedisManager::connect(fast_config(&server.url())).unwrap();
    let started = Instant::now();
    let status = eventually(
        "the auth failure in status",
        Duration::from_secs(2),
        || async {
            let s = m.status();
            s.not_ready
                .clone()
                .filter(|r| r.reason == "auth_failed")
                .map(|r| (s, r))
        },
    )
    .await;
    eprintln!("auth failure reported after {:?}", started.elapsed());
    assert!(!m.is_ready());
    assert_eq!(status.0.state, ConnState::Connecting);
    assert!(status.1.permanent);
    assert!(status.1.message.contains("NOAUTH"), "{:?}", status.1);
    assert!(status.0.verdict().starts_with("not ready (auth_failed"));
    match m.get::<String>("k").await {
        Err(Error::NotReady { state }) => assert_eq!(state, ConnState::Connecting),
        other => panic!("expected NotReady, got {other:?}"),
    }
    // What a service does at start-up: wait_ready, whose error carries the reason.
    match m.wait_ready(Duration::from_millis(300)).await {
        Err(e @ Error::StillNotReady { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with("redis was still not ready after 300ms: not ready (auth_failed, will not cure itself): "),
                "{text}"
            );
            assert!(text.contains("NOAUTH"), "{text}");
            assert!(matches!(
                e,
                Error::StillNotReady {
                    state: ConnState::Connecting,
                    ..
                }
            ));
            assert!(e.is_unavailable());
        }
        other => panic!("expected StillNotReady, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_manager_notices_a_frozen_server_within_two_seconds_and_recovers() {
    let server = RedisServer::start().unwrap();
    // The default health settings: the PING every second, 500 ms to answer.
    let config = redis_ssot::Config::from_url(&server.url()).unwrap();
    let m = ready_manager(config).await;
    // Let a health check go by, so the pause lands anywhere in the interval.
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.pause();
    let paused = Instant::now();
    eventually("not ready", Duration::from_secs(2), || async {
        (!m.is_ready()).then_some(())
    })
    .await;
    let noticed = paused.elapsed();
    eprintln!("an idle manager noticed the frozen server after {noticed:?}");
    let status = m.status();
    assert_eq!(status.breaker.state, BreakerState::Open);
    assert_eq!(status.not_ready.unwrap().reason, "breaker_open");
    assert!(status.failed_health_checks >= 1);

    server.resume();
    eventually("ready again", Duration::from_secs(10), || async {
        m.is_ready().then_some(())
    })
    .await;
    eventually("breaker closed", Duration::from_secs(10), || async {
        (m.breaker_state() == BreakerState::Closed).then_some(())
    })
    .await;
    m.set("k", "v").await.unwrap();
}

#[tokio::test]
async fn a_transaction_refused_for_an_outage_reason_is_an_outage_not_a_reply_error() {
    let primary = RedisServer::start().unwrap();
    let replica = RedisServer::start().unwrap();
    let port = primary.port().unwrap().to_string();
    replica.cli(&["REPLICAOF", "127.0.0.1", &port]).unwrap();
    // A manager pointed at what is (now) a replica: the queued SET is refused READONLY.
    let m = ready_manager(fast_config(&replica.url())).await;
    let mut pipe = redis_ssot::redis::pipe();
    pipe.atomic().set("k", "v").ignore().get("k");
    match m.pipeline::<(Option<String>,)>(&pipe).await {
        Err(Error::Connection { kind, detail, .. }) => {
            assert_eq!(kind, ConnectionKind::NotPrimary);
            assert!(detail.starts_with("READONLY"), "{detail}");
        }
        other => panic!("expected a not-primary connection error, got {other:?}"),
    }

    // Out of memory under noeviction: the queued SET is refused OOM.
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    server
        .cli(&["CONFIG", "SET", "maxmemory-policy", "noeviction"])
        .unwrap();
    server.cli(&["CONFIG", "SET", "maxmemory", "1"]).unwrap();
    match m.pipeline::<(Option<String>,)>(&pipe).await {
        Err(Error::ServerBusy { reason, .. }) => assert_eq!(reason, BusyReason::OutOfMemory),
        other => panic!("expected ServerBusy(out_of_memory), got {other:?}"),
    }
    server.cli(&["CONFIG", "SET", "maxmemory", "0"]).unwrap();

    // A real reply error at queue time (wrong arity) stays the caller's: EXECABORT.
    let mut bad = redis_ssot::redis::pipe();
    bad.atomic().cmd("SET").arg("only-a-key").ignore().get("k");
    match m.pipeline::<(Option<String>,)>(&bad).await {
        Err(Error::Redis { code, message }) => {
            assert_eq!(code, "EXECABORT");
            assert!(message.contains("command 1"), "{message}");
            assert!(message.contains("wrong number of arguments"), "{message}");
        }
        other => panic!("expected EXECABORT, got {other:?}"),
    }
    assert_eq!(m.breaker_state(), BreakerState::Closed);
    assert!(m.is_ready());
}

#[tokio::test]
async fn a_database_index_the_server_refuses_is_a_permanent_rejection() {
    let server = RedisServer::start().unwrap();
    let url = format!("{}/99", server.url());
    let m = RedisManager::connect(fast_config(&url)).unwrap();
    let reason = eventually(
        "the rejection in status",
        Duration::from_secs(5),
        || async { m.status().not_ready.filter(|r| r.reason != "connecting") },
    )
    .await;
    assert_eq!(reason.reason, "rejected", "{reason:?}");
    assert!(reason.permanent);
    assert!(
        reason.message.contains("DB index is out of range"),
        "{reason:?}"
    );
}
