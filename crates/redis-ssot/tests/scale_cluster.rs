//! Redis Cluster (`redis+cluster://`): routing by slot, multi-key commands across slots,
//! hash-tagged scripts, SCAN over every master, and slot migration under load.
//!
//! One three-master cluster serves every test of this binary (starting one takes seconds).

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::connected_manager;
use futures_util::StreamExt;
use redis_ssot::{Config, Error, RedisManager};
use testkit::{RedisCluster, key_in_slot, key_slot};

fn cluster() -> &'static RedisCluster {
    static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| RedisCluster::start(3, 0).expect("cluster starts"))
}

async fn manager() -> RedisManager {
    let cluster = tokio::task::spawn_blocking(cluster).await.unwrap();
    let mut config = Config::from_url(&cluster.seed_url()).unwrap();
    config.health_interval = Duration::from_secs(60);
    connected_manager(config).await
}

/// One key per master: slots 100, 8000 and 16000 are in the three ranges `--cluster create`
/// assigns (the migration test moves a different slot).
fn key_per_master(prefix: &str) -> Vec<String> {
    [100, 8000, 16000]
        .iter()
        .map(|&slot| key_in_slot(prefix, slot))
        .collect()
}

#[tokio::test]
async fn set_and_get_reach_keys_on_every_master() {
    let m = manager().await;
    let keys = key_per_master("c:sg:");
    let owners: BTreeSet<usize> = keys
        .iter()
        .map(|k| cluster().master_for_slot(key_slot(k.as_bytes())).unwrap())
        .collect();
    assert_eq!(owners.len(), 3, "the keys live on three different masters");
    for k in &keys {
        m.set(k, format!("v-{k}")).await.unwrap();
    }
    for k in &keys {
        assert_eq!(m.get::<String>(k).await.unwrap(), Some(format!("v-{k}")));
    }
}

/// redis-rs's cluster connection splits MGET, DEL, EXISTS, UNLINK and MSET by slot and
/// reassembles the replies in order, so these work across slots; the manager adds nothing.
#[tokio::test]
async fn multi_key_commands_across_slots_are_split_by_slot() {
    let m = manager().await;
    let keys = key_per_master("c:mk:");
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let pairs: Vec<(&str, String)> = refs.iter().map(|k| (*k, format!("v-{k}"))).collect();
    m.mset(&pairs).await.unwrap();
    m.del(&[refs[1]]).await.unwrap();
    let values: Vec<Option<String>> = m.mget(&refs).await.unwrap();
    assert_eq!(
        values,
        vec![
            Some(format!("v-{}", refs[0])),
            None,
            Some(format!("v-{}", refs[2]))
        ]
    );
    assert_eq!(m.exists(&refs).await.unwrap(), 2);
    assert_eq!(m.del(&refs).await.unwrap(), 2);
    assert_eq!(m.exists(&refs).await.unwrap(), 0);
}

#[tokio::test]
async fn a_script_on_hash_tagged_keys_runs_and_one_across_slots_is_cross_slot() {
    let m = manager().await;
    let script = redis_ssot::redis::Script::new(
        "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); \
         return redis.call('MGET', KEYS[1], KEYS[2])",
    );
    let mut call = script.prepare_invoke();
    call.key("{u:alice}:a").key("{u:alice}:b").arg("1").arg("2");
    let got: Vec<String> = m.invoke(&call).await.unwrap();
    assert_eq!(got, vec!["1", "2"]);

    let keys = key_per_master("c:lua:");
    let mut across = script.prepare_invoke();
    across.key(&keys[0]).key(&keys[1]).arg("1").arg("2");
    match m.invoke::<Vec<String>>(&across).await {
        Err(Error::CrossSlot(message)) => {
            assert!(message.to_ascii_lowercase().contains("slot"), "{message}")
        }
        other => panic!("expected CrossSlot, got {other:?}"),
    }
    let status = m.status();
    assert_eq!(status.breaker.consecutive_failures, 0);
    assert_eq!(status.reconnects, 0);
}

#[tokio::test]
async fn scan_match_visits_every_master_and_unlink_matching_removes_everything() {
    let m = manager().await;
    let keys: BTreeSet<String> = (0..90).map(|i| format!("c:scan:{i}")).collect();
    let masters: BTreeSet<usize> = keys
        .iter()
        .map(|k| cluster().master_for_slot(key_slot(k.as_bytes())).unwrap())
        .collect();
    assert_eq!(masters.len(), 3);
    for k in &keys {
        m.set(k, "1").await.unwrap();
    }
    m.set("c:other", "1").await.unwrap();
    let found: Vec<String> = m
        .scan_match("c:scan:*", 20)
        .map(|k| k.unwrap())
        .collect()
        .await;
    assert_eq!(found.iter().cloned().collect::<BTreeSet<_>>(), keys);
    assert_eq!(m.unlink_matching("c:scan:*", 25).await.unwrap(), 90);
    assert_eq!(m.scan_match("c:scan:*", 50).count().await, 0);
    assert_eq!(
        m.get::<String>("c:other").await.unwrap().as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn slot_migration_under_load_is_invisible_to_callers() {
    let m = manager().await;
    let slot = key_slot(b"mig");
    // Enough keys in the slot that MIGRATE takes a while and the load meets ASK and MOVED.
    let keys: Vec<String> = (0..3000).map(|i| format!("{{mig}}:{i}")).collect();
    for chunk in keys.chunks(500) {
        let pairs: Vec<(&str, &str)> = chunk.iter().map(|k| (k.as_str(), "0")).collect();
        m.mset(&pairs).await.unwrap();
    }
    let from = cluster().master_for_slot(slot).unwrap();
    let to = cluster()
        .masters()
        .unwrap()
        .into_iter()
        .find(|&i| i != from)
        .unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let load = {
        let (m, done, ops, errors) = (m.clone(), done.clone(), ops.clone(), errors.clone());
        let keys = keys.clone();
        tokio::spawn(async move {
            let mut round = 0u64;
            while !done.load(Ordering::Acquire) {
                round += 1;
                for k in &keys {
                    if done.load(Ordering::Acquire) {
                        break;
                    }
                    let value = round.to_string();
                    let outcome = match m.set(k, &value).await {
                        Ok(()) => m.get::<String>(k).await.map(|v| {
                            assert_eq!(v.as_deref(), Some(value.as_str()), "read own write")
                        }),
                        Err(e) => Err(e),
                    };
                    ops.fetch_add(2, Ordering::Relaxed);
                    if let Err(e) = outcome {
                        errors.lock().unwrap().push(e.to_string());
                    }
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let ops_before = ops.load(Ordering::Relaxed);
    tokio::task::spawn_blocking(move || cluster().migrate_slot(slot, to))
        .await
        .unwrap()
        .unwrap();
    let migration = started.elapsed();
    let ops_during = ops.load(Ordering::Relaxed) - ops_before;
    // Keep the load on a little after the owners switched, so MOVED is exercised too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, Ordering::Release);
    load.await.unwrap();
    let errors = errors.lock().unwrap().clone();
    eprintln!(
        "slot {slot} ({} keys) migrated {from} -> {to} in {migration:?}; \
         {ops_during} commands during it, {} in all, {} errors",
        keys.len(),
        ops.load(Ordering::Relaxed),
        errors.len()
    );
    assert_eq!(cluster().master_for_slot(slot).unwrap(), to);
    assert!(errors.is_empty(), "caller-visible errors: {errors:?}");
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    assert_eq!(
        m.exists(&refs).await.unwrap(),
        keys.len() as u64,
        "every key survived"
    );
}

/// redis-rs refuses a pipeline whose commands span slots; the manager splits a non-atomic
/// one by slot and keeps the replies in order, `.ignore()` included.
#[tokio::test]
async fn a_pipeline_across_slots_is_split_and_a_transaction_across_slots_is_cross_slot() {
    let m = manager().await;
    let keys = key_per_master("c:pipe:");
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut pipe = redis_ssot::redis::pipe();
    for (i, k) in refs.iter().enumerate() {
        pipe.set(k, format!("p{i}")).ignore();
        pipe.incr(format!("{k}:n"), 1);
    }
    pipe.get(refs[0]).get(refs[2]).mget(&refs);
    pipe.set(refs[1], "again").ignore().get(refs[1]);
    type Replies = (i64, i64, i64, String, String, Vec<String>, String);
    let got: Replies = m.pipeline(&pipe).await.unwrap();
    assert_eq!(
        got,
        (
            1,
            1,
            1,
            "p0".to_string(),
            "p2".to_string(),
            vec!["p0".to_string(), "p1".to_string(), "p2".to_string()],
            "again".to_string()
        )
    );

    let mut tx = redis_ssot::redis::pipe();
    tx.atomic().set(refs[0], "t").set(refs[1], "t");
    let result = m.pipeline::<()>(&tx).await;
    assert!(
        matches!(&result, Err(Error::CrossSlot(_))),
        "expected CrossSlot, got {result:?}"
    );
    assert_eq!(
        m.get::<String>(refs[0]).await.unwrap().as_deref(),
        Some("p0")
    );
    assert_eq!(m.status().reconnects, 0);
}

/// The stores run unchanged on a cluster: the cache's pipelines span slots, its namespace
/// sweep SCANs every master, and a user's session index shares the user's hash tag.
#[tokio::test]
async fn stores_work_unchanged_on_a_cluster() {
    let m = manager().await;
    let cache = redis_ssot::Cache::new(m.clone(), "c-cache").unwrap();
    let names: Vec<String> = (0..30).map(|i| format!("item{i}")).collect();
    let entries: Vec<(&str, i64)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as i64))
        .collect();
    cache.mset(&entries, Duration::from_secs(60)).await.unwrap();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let got: Vec<Option<i64>> = cache.mget(&refs).await.unwrap();
    assert_eq!(got, (0..30).map(Some).collect::<Vec<_>>());
    assert_eq!(cache.invalidate_namespace().await.unwrap(), 30);
    assert_eq!(cache.get::<i64>("item0").await.unwrap(), None);

    let sessions = redis_ssot::SessionStore::new(m.clone());
    let alice = redis_ssot::UserId::new("alice-cluster").unwrap();
    let mut tokens = Vec::new();
    for i in 0..3 {
        let (token, _) = sessions
            .create(&alice, serde_json::json!({ "n": i }))
            .await
            .unwrap();
        tokens.push(token);
    }
    assert_eq!(sessions.get(&tokens[1]).await.unwrap().unwrap().user, alice);
    assert_eq!(sessions.list_sessions(&alice).await.unwrap().len(), 3);
    assert_eq!(sessions.revoke_all(&alice).await.unwrap(), 3);
    for t in &tokens {
        assert_eq!(sessions.get(t).await.unwrap(), None);
    }
}
