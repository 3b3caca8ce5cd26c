//! Opt-in replica reads (`RedisManager::replica_reads`) on Sentinel, Cluster and standalone:
//! reads land on a replica, never fail because the replica is gone (they fall back to the
//! primary), and a write sent there is a reply error rather than a silent primary write.

mod common;

use std::time::Duration;

use common::{connected_manager, fast_config};
use redis_ssot::{Config, Error};
use testkit::{RedisCluster, RedisServer, SentinelSetup, key_slot};

/// `calls` of `cmdstat_<command>` in `INFO commandstats`, 0 when absent.
fn calls(server: &RedisServer, command: &str) -> u64 {
    let stats = server.cli(&["INFO", "commandstats"]).unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn sentinel_reads_go_to_the_replica_and_fall_back_to_the_primary_when_it_dies() {
    let setup = tokio::task::spawn_blocking(|| SentinelSetup::start().expect("sentinels start"))
        .await
        .unwrap();
    let m = connected_manager(fast_config(&setup.url())).await;
    let d = m.durable(1, Duration::from_secs(2)).unwrap();
    d.set("r:k", "v").await.unwrap();
    d.cmd::<i64>(redis_ssot::redis::cmd("HSET").arg("r:h").arg("f").arg("x"))
        .await
        .unwrap();
    setup.primary().cli(&["CONFIG", "RESETSTAT"]).unwrap();
    setup.replica().cli(&["CONFIG", "RESETSTAT"]).unwrap();

    let rr = m.replica_reads();
    for _ in 0..5 {
        assert_eq!(rr.get::<String>("r:k").await.unwrap().as_deref(), Some("v"));
    }
    assert_eq!(
        rr.mget::<String>(&["r:k", "r:missing"]).await.unwrap(),
        vec![Some("v".to_string()), None]
    );
    let field: Option<String> = rr
        .cmd(redis_ssot::redis::cmd("HGET").arg("r:h").arg("f"))
        .await
        .unwrap();
    assert_eq!(field.as_deref(), Some("x"));
    assert_eq!(calls(setup.replica(), "get"), 5);
    assert_eq!(
        calls(setup.primary(), "get"),
        0,
        "no read reached the primary"
    );
    assert_eq!(
        rr.replica(),
        setup.replica().addr().map(|a| a.to_string()),
        "reading from the replica"
    );
    let status = m.status();
    assert_eq!((status.replica_reads, status.replica_fallbacks), (7, 0));

    // A write sent to the replica is the caller's mistake: a reply error, and nothing was
    // written anywhere.
    match rr
        .cmd::<()>(redis_ssot::redis::cmd("SET").arg("r:w").arg("x"))
        .await
    {
        Err(Error::Redis { code, .. }) => assert_eq!(code, "READONLY"),
        other => panic!("expected READONLY, got {other:?}"),
    }
    assert_eq!(m.get::<String>("r:w").await.unwrap(), None);
    assert!(m.is_ready(), "the primary connection was not disturbed");

    // The replica dies: opted-in reads keep working, on the primary.
    setup.replica().kill();
    let before = calls(setup.primary(), "get");
    assert_eq!(rr.get::<String>("r:k").await.unwrap().as_deref(), Some("v"));
    assert_eq!(rr.get::<String>("r:k").await.unwrap().as_deref(), Some("v"));
    assert!(m.status().replica_fallbacks >= 2);
    assert_eq!(calls(setup.primary(), "get"), before + 2);
    assert_eq!(m.status().reconnects, 0, "the primary connection stayed");
}

#[tokio::test]
async fn cluster_reads_go_to_the_replica_of_the_keys_shard() {
    let cluster = tokio::task::spawn_blocking(|| {
        let c = RedisCluster::start(3, 1).expect("cluster starts");
        c.wait_replicas_synced(Duration::from_secs(30))
            .expect("replicas sync");
        c
    })
    .await
    .unwrap();
    let m = connected_manager(Config::from_url(&cluster.seed_url()).unwrap()).await;
    let key = "{rr}:k";
    m.durable(1, Duration::from_secs(2))
        .unwrap()
        .set(key, "v")
        .await
        .unwrap();
    let master = cluster.master_for_slot(key_slot(key.as_bytes())).unwrap();
    let replica = cluster.replicas_of(master).unwrap()[0];
    let rr = m.replica_reads();
    // redis-rs connects to replicas in the background: until it has, reads go to the primary
    // of the shard (never an error). If the node that answered CLUSTER SLOTS at connect time
    // did not list the replica yet, the periodic topology refresh (10 s) rebuilds both
    // connections, hence the generous deadline.
    common::eventually(
        "redis-rs to connect to the replica",
        Duration::from_secs(40),
        || async {
            assert_eq!(rr.get::<String>(key).await.unwrap().as_deref(), Some("v"));
            (calls(cluster.node(replica), "get") > 0).then_some(())
        },
    )
    .await;
    cluster.node(master).cli(&["CONFIG", "RESETSTAT"]).unwrap();
    cluster.node(replica).cli(&["CONFIG", "RESETSTAT"]).unwrap();
    let served_before = m.status().replica_reads;
    for _ in 0..3 {
        assert_eq!(rr.get::<String>(key).await.unwrap().as_deref(), Some("v"));
    }
    assert_eq!(calls(cluster.node(replica), "get"), 3);
    assert_eq!(calls(cluster.node(master), "get"), 0);
    assert_eq!(m.status().replica_reads, served_before + 3);
}

#[tokio::test]
async fn standalone_replica_reads_are_served_by_the_server() {
    let server = tokio::task::spawn_blocking(|| RedisServer::start().unwrap())
        .await
        .unwrap();
    let m = connected_manager(fast_config(&server.url())).await;
    m.set("s:k", "v").await.unwrap();
    let rr = m.replica_reads();
    assert_eq!(rr.get::<String>("s:k").await.unwrap().as_deref(), Some("v"));
    assert_eq!(rr.replica(), None);
    let status = m.status();
    assert_eq!((status.replica_reads, status.replica_fallbacks), (0, 0));
    assert!(matches!(
        rr.get::<String>(&"k".repeat(redis_ssot::MAX_KEY_LEN + 1))
            .await,
        Err(Error::InvalidKey(_))
    ));
}
