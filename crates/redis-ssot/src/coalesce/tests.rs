//! The coalescer against a real server, over TLS (the path is the same for plain TCP, which
//! the other suites cover): replies go to their own callers, a reply error fails only its
//! own command, a lone command is never batched, and a batch whose leader is cancelled still
//! answers the others.

use std::time::Duration;

use crate::metrics::op;
use crate::{Config, Error, RedisManager};

async fn manager(server: &testkit::TlsServer) -> RedisManager {
    let url = format!(
        "{}?ca_file={}",
        server.server().url(),
        server.ca_cert_path().display()
    );
    let mut config = Config::from_url(&url).unwrap();
    config.health_interval = Duration::from_secs(60);
    let m = RedisManager::connect(config).unwrap();
    m.wait_ready(Duration::from_secs(10)).await.unwrap();
    // The health check that follows the connect is done (its PING and ROLE are counted).
    while m.status().role.is_none() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    m
}

#[tokio::test]
async fn a_lone_caller_never_waits_for_a_batch() {
    let server = testkit::TlsServer::start().unwrap();
    let m = manager(&server).await;
    for i in 0..200 {
        m.set(&format!("k{i}"), i).await.unwrap();
        assert_eq!(m.get::<i64>(&format!("k{i}")).await.unwrap(), Some(i));
    }
    let s = m.status();
    assert_eq!((s.coalesced_batches, s.coalesced_commands), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_are_batched_and_each_gets_its_own_reply() {
    let server = testkit::TlsServer::start().unwrap();
    let m = manager(&server).await;
    let ok_before = m.status().totals["ok"];
    m.set("s", "a string").await.unwrap();
    let tasks: Vec<_> = (0..200u64)
        .map(|t| {
            let m = m.clone();
            tokio::spawn(async move {
                for i in 0..50u64 {
                    let key = format!("t{t}:{i}");
                    m.set(&key, t * 1000 + i).await.unwrap();
                    assert_eq!(m.get::<u64>(&key).await.unwrap(), Some(t * 1000 + i));
                    // Every fifth task's command is refused by Redis: only it fails.
                    if t % 5 == 0 {
                        match m.lpush("s", "x").await {
                            Err(Error::Redis { code, .. }) => assert_eq!(code, "WRONGTYPE"),
                            other => panic!("expected WRONGTYPE, got {other:?}"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let s = m.status();
    assert!(s.coalesced_batches > 0, "{s:?}");
    assert!(s.coalesced_commands > 2 * s.coalesced_batches, "{s:?}");
    assert_eq!(s.totals["reply_error"], 40 * 50);
    assert_eq!(s.breaker.consecutive_failures, 0);
    assert_eq!(s.totals["ok"] - ok_before, 200 * 50 * 2 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_leader_is_cancelled_still_answers_the_others() {
    let server = testkit::TlsServer::start().unwrap();
    let m = manager(&server).await;
    m.set("k", "v").await.unwrap();
    // Two slow commands take both send slots; everything after them queues.
    let mut slow = Vec::new();
    for _ in 0..super::MAX_IN_FLIGHT {
        let m = m.clone();
        slow.push(tokio::spawn(async move {
            let sleep = crate::commands::cmd!("DEBUG", "SLEEP", "0.2");
            m.query::<()>(op!("DEBUG"), sleep).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The first queued caller will lead the next batch, with a slow command of its own, and
    // give up while that batch is in flight; the ones queued behind it only want GET k.
    let leader = {
        let m = m.clone();
        tokio::spawn(async move {
            let sleep = crate::commands::cmd!("DEBUG", "SLEEP", "0.2");
            tokio::time::timeout(
                Duration::from_millis(250),
                m.query::<()>(op!("DEBUG"), sleep),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let followers: Vec<_> = (0..5)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.get::<String>("k").await })
        })
        .collect();
    assert!(leader.await.unwrap().is_err(), "the leader gave up");
    for f in followers {
        assert_eq!(f.await.unwrap().unwrap().as_deref(), Some("v"));
    }
    for s in slow {
        s.await.unwrap().unwrap();
    }
    assert_eq!(m.status().coalesced_batches, 1);
}
