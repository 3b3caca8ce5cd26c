//! Periodic cluster topology refresh: a slot moved behind the manager's back is picked up
//! without any command meeting MOVED, with no readiness gap and no caller-visible error.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::eventually;
use redis_ssot::{Config, ConnState, Error, RedisManager};
use testkit::{RedisCluster, key_slot};

fn info_field(info: &str, name: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn a_migrated_slot_is_learned_by_the_periodic_refresh_without_a_gap() {
    let cluster = Arc::new(
        tokio::task::spawn_blocking(|| RedisCluster::start(3, 0).expect("cluster starts"))
            .await
            .unwrap(),
    );
    let mut config = Config::from_url(&cluster.seed_url()).unwrap();
    config.topology_refresh = Duration::from_millis(200);
    let m = common::connected_manager(config).await;
    let mut states = m.watch_state();
    states.borrow_and_update();

    let key = "{topo}:k";
    m.set(key, "v").await.unwrap();
    let slot = key_slot(key.as_bytes());
    let from = cluster.master_for_slot(slot).unwrap();
    let to = cluster
        .masters()
        .unwrap()
        .into_iter()
        .find(|&i| i != from)
        .unwrap();

    // Load on other slots while the slot moves and the connection is swapped.
    let done = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let load = {
        let (m, done, ok) = (m.clone(), done.clone(), ok.clone());
        tokio::spawn(async move {
            let mut errors = Vec::new();
            let mut i = 0u64;
            while !done.load(Ordering::Acquire) {
                i += 1;
                match m.set(&format!("load:{}", i % 64), i).await {
                    Ok(()) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errors.push(e.to_string()),
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            errors
        })
    };

    let migrate = cluster.clone();
    tokio::task::spawn_blocking(move || migrate.migrate_slot(slot, to))
        .await
        .unwrap()
        .expect("slot migrates");
    eventually(
        "the refresh to swap in a connection with the new slot map",
        Duration::from_secs(20),
        || async { (m.status().topology_changes >= 1).then_some(()) },
    )
    .await;

    // The old owner never hears about the key again: the new connection routes straight to
    // the new owner, so no command pays a MOVED hop.
    cluster.node(from).cli(&["CONFIG", "RESETSTAT"]).unwrap();
    assert_eq!(m.get::<String>(key).await.unwrap().as_deref(), Some("v"));
    let stats = cluster.node(from).cli(&["INFO", "commandstats"]).unwrap();
    assert!(
        !stats.contains("cmdstat_get:"),
        "the old owner still received the GET: {stats}"
    );
    let errors = cluster.node(from).cli(&["INFO", "stats"]).unwrap();
    assert_eq!(info_field(&errors, "total_error_replies"), Some(0));

    done.store(true, Ordering::Release);
    let load_errors = load.await.unwrap();
    assert!(
        load_errors.is_empty(),
        "callers saw errors: {load_errors:?}"
    );
    assert!(ok.load(Ordering::Relaxed) > 0);
    // Make-before-break: the manager never left Ready.
    assert!(
        !states.has_changed().unwrap(),
        "state changed to {:?}",
        *states.borrow()
    );
    assert_eq!(m.state(), ConnState::Ready);
    assert_eq!(m.status().reconnects, 0);
}

#[tokio::test]
async fn a_durable_write_on_a_cluster_without_replicas_is_unconfirmed() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::start(3, 0).expect("cluster"))
        .await
        .unwrap();
    let m: RedisManager =
        common::connected_manager(Config::from_url(&cluster.seed_url()).unwrap()).await;
    let d = m.durable(1, Duration::from_millis(50)).unwrap();
    match d.set("{d}:k", "v").await {
        Err(Error::NotReplicated { acked, required }) => assert_eq!((acked, required), (0, 1)),
        other => panic!("expected NotReplicated, got {other:?}"),
    }
    assert_eq!(
        m.get::<String>("{d}:k").await.unwrap().as_deref(),
        Some("v")
    );
}
