//! The per-user client, the caches, analytics and agent state, on a real redis-server and on
//! a real Redis Cluster: each `on_both_backends!` test runs as `<name>::standalone` and
//! `<name>::cluster` (see `common/backend.rs`).
//!
//! The cluster tests of this binary share one cluster and run concurrently, so each uses its
//! own user ids, cache namespaces, limiter and analytics keys.
//!
//! Standalone only:
//! - `per_user_concurrency_limit_refuses_with_overloaded_at_once` holds calls in flight by
//!   pausing the server (SIGSTOP). Pausing a master of the shared cluster would stall every
//!   other test of the binary, and past `cluster-node-timeout` (1 s) get it marked failed.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::backend::Fixture;
use common::{connected_manager, fast_config};
use redis_ssot::{
    AgentState, AgentStateStore, Analytics, Cache, CacheStats, Error, RedisFactory, RunStatus,
    UserCache, UserContext, UserId, UserLimits, UserStats,
};
use serde_json::{Value, json};
use testkit::RedisServer;

on_both_backends!(user_client_names_are_relative_to_the_users_space);
async fn user_client_names_are_relative_to_the_users_space(fx: &Fixture) {
    let m = fx.manager();
    let factory = RedisFactory::new(m.clone());
    let nora = factory.user_client(&UserContext::new("nora").unwrap().with_request_id("r-1"));
    assert_eq!(nora.request_id(), Some("r-1"));

    nora.set("greeting", "hi").await.unwrap();
    nora.set_ex("temp", 1, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(nora.hset("profile", "lang", "fr").await.unwrap());
    assert_eq!(nora.lpush("inbox", &["a", "b"]).await.unwrap(), 2);
    assert_eq!(nora.incr("visits").await.unwrap(), 1);
    nora.set_json("prefs", &json!({"dark": true}), None)
        .await
        .unwrap();

    assert_eq!(fx.cli(&["GET", "{u:nora}:d:greeting"]), "hi");
    assert_eq!(
        nora.get::<String>("greeting").await.unwrap().as_deref(),
        Some("hi")
    );
    assert_eq!(
        nora.hget::<String>("profile", "lang")
            .await
            .unwrap()
            .as_deref(),
        Some("fr")
    );
    assert_eq!(
        nora.lrange::<String>("inbox", 0, -1).await.unwrap(),
        vec!["b", "a"]
    );
    assert_eq!(
        nora.get_json::<Value>("prefs").await.unwrap(),
        Some(json!({"dark": true}))
    );
    assert_eq!(
        nora.names().await.unwrap(),
        vec!["greeting", "inbox", "prefs", "profile", "temp", "visits"]
    );

    for bad in ["", "a*", "x?", "[a]", "{u:bob}:d:x", "with space"] {
        assert!(
            matches!(nora.get::<String>(bad).await, Err(Error::InvalidKey(_))),
            "{bad:?}"
        );
    }
    assert_eq!(
        nora.stats(),
        UserStats {
            ops: 17,
            errors: 6,
            rejected: 0,
            in_flight: 0
        }
    );
    // Another client of the same user shares the counters.
    let again = factory.user_client(&UserContext::new("nora").unwrap());
    assert_eq!(again.stats().ops, 17);
}

on_both_backends!(clear_removes_only_that_users_keys_even_with_glob_characters_in_ids);
async fn clear_removes_only_that_users_keys_even_with_glob_characters_in_ids(fx: &Fixture) {
    let m = fx.manager();
    let factory = RedisFactory::new(m.clone());
    let ids = ["alice", "alice*", "ali?e", "[a]lice", "alice:x", "alice}"];
    let clients: Vec<_> = ids
        .iter()
        .map(|id| factory.user_client(&UserContext::new(id).unwrap()))
        .collect();
    for c in &clients {
        for n in 0..30 {
            c.set(&format!("k{n}"), n).await.unwrap();
        }
    }
    m.set("clear:unrelated", "x").await.unwrap();

    assert_eq!(clients[1].clear().await.unwrap(), 30);
    assert!(clients[1].names().await.unwrap().is_empty());
    for (i, c) in clients.iter().enumerate().filter(|(i, _)| *i != 1) {
        assert_eq!(c.names().await.unwrap().len(), 30, "user {:?}", ids[i]);
    }
    // Seen from the servers, not through the library: exactly the other five users' keys and
    // the unrelated key are left (and, when the deployment is ours alone, nothing else).
    let mut expected: BTreeSet<String> = clients
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .flat_map(|(_, c)| (0..30).map(|n| c.key_of(&format!("k{n}")).unwrap()))
        .collect();
    expected.insert("clear:unrelated".to_string());
    let mut present = fx.keys("clear:unrelated");
    for c in &clients {
        present.extend(fx.keys(&c.user_id().space_pattern()));
    }
    assert_eq!(present, expected);
    if let Some(all) = fx.whole_keyspace() {
        assert_eq!(all, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_user_concurrency_limit_refuses_with_overloaded_at_once() {
    let server = RedisServer::start().unwrap();
    let mut config = fast_config(&server.url());
    // Long enough that the held calls are still in flight when the server resumes, whatever
    // the machine's load: the test is about admission, not timing.
    config.command_timeout = Duration::from_secs(10);
    config.timeouts_before_reconnect = 10_000;
    let m = connected_manager(config).await;
    let limits = UserLimits {
        max_concurrent: Some(2),
        ops_per_sec: None,
    };
    let factory = RedisFactory::with_limits(m.clone(), limits);
    let dave = factory.user_client(&UserContext::new("dave").unwrap());
    let erin = factory.user_client(&UserContext::new("erin").unwrap());

    server.pause();
    let stuck: Vec<_> = (0..2)
        .map(|_| {
            let c = dave.clone();
            tokio::spawn(async move { c.get::<String>("x").await })
        })
        .collect();
    common::eventually("two calls in flight", Duration::from_secs(5), || async {
        (dave.stats().in_flight == 2).then_some(())
    })
    .await;
    match dave.get::<String>("x").await {
        Err(Error::Overloaded { limit }) => assert_eq!(limit, 2),
        other => panic!("expected Overloaded, got {other:?}"),
    }
    // Erin has her own budget: her call is admitted (it waits on the paused server).
    let erin_call = {
        let e = erin.clone();
        tokio::spawn(async move { e.get::<String>("x").await })
    };
    common::eventually("erin's call in flight", Duration::from_secs(5), || async {
        (erin.stats().in_flight == 1).then_some(())
    })
    .await;
    server.resume();
    for t in stuck {
        assert_eq!(t.await.unwrap().unwrap(), None);
    }
    assert_eq!(erin_call.await.unwrap().unwrap(), None);
    let stats = dave.stats();
    assert_eq!(
        (stats.ops, stats.errors, stats.rejected, stats.in_flight),
        (3, 1, 1, 0)
    );
    assert_eq!(erin.stats().rejected, 0);
}

on_both_backends!(per_user_ops_per_second_go_through_the_rate_limiter);
async fn per_user_ops_per_second_go_through_the_rate_limiter(fx: &Fixture) {
    let m = fx.manager();
    let limits = UserLimits {
        max_concurrent: None,
        ops_per_sec: Some(5),
    };
    let factory = RedisFactory::with_limits(m.clone(), limits);
    let frank = factory.user_client(&UserContext::new("frank").unwrap());
    let mut ok = 0;
    let mut limited = 0;
    for _ in 0..8 {
        match frank.incr("n").await {
            Ok(_) => ok += 1,
            Err(Error::RateLimited { retry_after }) => {
                assert!(retry_after <= Duration::from_secs(1));
                limited += 1;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((ok, limited), (5, 3));
    assert_eq!(
        frank.get::<i64>("n").await.ok(),
        None,
        "limited calls do not run"
    );
    assert_eq!(fx.cli(&["GET", "{u:frank}:d:n"]), "5");
    assert_eq!(frank.stats().rejected, 4);
}

on_both_backends!(cache_round_trips_json_and_counts_hits_misses_and_errors);
async fn cache_round_trips_json_and_counts_hits_misses_and_errors(fx: &Fixture) {
    let m = fx.manager();
    let cache = Cache::new(m.clone(), "profiles").unwrap();
    assert!(matches!(
        Cache::new(m.clone(), "a:b"),
        Err(Error::InvalidKey(_))
    ));

    cache
        .set("u1", &json!({"name": "Ann"}), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        cache.get::<Value>("u1").await.unwrap(),
        Some(json!({"name": "Ann"}))
    );
    assert_eq!(cache.get::<Value>("u2").await.unwrap(), None);
    let ttl: u64 = fx.cli(&["TTL", "cache:profiles:u1"]).parse().unwrap();
    assert!((59..=60).contains(&ttl));

    cache
        .mset(&[("a", 1), ("b", 2)], Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        cache.mget::<i32>(&["a", "missing", "b"]).await.unwrap(),
        vec![Some(1), None, Some(2)]
    );

    assert_eq!(fx.cli(&["SET", "cache:profiles:bad", "{not json"]), "OK");
    match cache.get::<Value>("bad").await {
        Err(Error::Decode(m)) => assert_eq!(
            m,
            "cache namespace profiles, key \"bad\": the stored value is not valid JSON (line 1, column 2)"
        ),
        other => panic!("expected Decode, got {other:?}"),
    }
    let computed = AtomicUsize::new(0);
    let r = cache
        .get_or_compute("bad", Duration::from_secs(60), || async {
            computed.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Error>(json!(1))
        })
        .await;
    assert!(matches!(r, Err(Error::Decode(_))), "{r:?}");
    assert_eq!(
        computed.load(Ordering::SeqCst),
        0,
        "a corrupt value is not a miss"
    );
    // A value of the wrong type is a decode error too.
    match cache.get::<u32>("u1").await {
        Err(Error::Decode(m)) => assert!(
            m.starts_with(
                "cache namespace profiles, key \"u1\": the stored value is JSON of another shape than the one expected here (line 1, column "
            ),
            "{m}"
        ),
        other => panic!("expected Decode, got {other:?}"),
    }

    assert_eq!(
        cache.stats(),
        CacheStats {
            hits: 6,
            misses: 2,
            errors: 3
        }
    );
}

on_both_backends!(fifty_concurrent_misses_compute_once);
async fn fifty_concurrent_misses_compute_once(fx: &Fixture) {
    let m = fx.manager();
    let cache = Cache::new(m.clone(), "reports").unwrap();
    let computed = Arc::new(AtomicUsize::new(0));

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let cache = cache.clone();
        let computed = computed.clone();
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_compute("monthly", Duration::from_secs(60), || async move {
                    computed.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, Error>(vec![1u32, 2, 3])
                })
                .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), vec![1, 2, 3]);
    }
    assert_eq!(computed.load(Ordering::SeqCst), 1);
    let again: Vec<u32> = cache
        .get_or_compute("monthly", Duration::from_secs(60), || async {
            Err::<Vec<u32>, Error>(Error::NotFound("must not run".into()))
        })
        .await
        .unwrap();
    assert_eq!(again, vec![1, 2, 3]);
}

on_both_backends!(invalidate_namespace_leaves_other_namespaces_alone);
async fn invalidate_namespace_leaves_other_namespaces_alone(fx: &Fixture) {
    let m = fx.manager();
    let a = Cache::new(m.clone(), "a").unwrap();
    let ab = Cache::new(m.clone(), "ab").unwrap();
    for i in 0..700 {
        a.set(&format!("k{i}"), &i, Duration::from_secs(60))
            .await
            .unwrap();
    }
    ab.set("k", &1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(a.invalidate_namespace().await.unwrap(), 700);
    assert_eq!(a.get::<i32>("k1").await.unwrap(), None);
    assert_eq!(ab.get::<i32>("k").await.unwrap(), Some(1));
}

on_both_backends!(user_data_and_permission_caches_hold_entries_for_thirty_minutes);
async fn user_data_and_permission_caches_hold_entries_for_thirty_minutes(fx: &Fixture) {
    let m = fx.manager();
    let data = UserCache::user_data(m.clone()).unwrap();
    let perms = UserCache::permissions(m.clone()).unwrap();
    let user = UserId::new("gus:1").unwrap();

    data.set(&user, &json!({"name": "Gus"})).await.unwrap();
    perms.set(&user, &vec!["read"]).await.unwrap();
    assert_eq!(
        perms.get::<Vec<String>>(&user).await.unwrap(),
        Some(vec!["read".into()])
    );
    let ttl: u64 = fx
        .cli(&["TTL", "cache:permissions:gus%3A1"])
        .parse()
        .unwrap();
    assert!((1799..=1800).contains(&ttl), "{ttl}");
    assert!(perms.invalidate(&user).await.unwrap());
    assert_eq!(perms.get::<Vec<String>>(&user).await.unwrap(), None);
    assert_eq!(
        data.get::<Value>(&user).await.unwrap(),
        Some(json!({"name": "Gus"}))
    );
}

on_both_backends!(analytics_events_are_capped_expiring_and_paginated_newest_first);
async fn analytics_events_are_capped_expiring_and_paginated_newest_first(fx: &Fixture) {
    let m = fx.manager();
    let analytics = Analytics::new(m.clone())
        .with_event_cap(5)
        .with_event_ttl(Duration::from_secs(3600));

    analytics
        .cache_analytics_data(
            "dashboard:daily",
            &json!({"users": 3}),
            Duration::from_secs(120),
        )
        .await
        .unwrap();
    assert_eq!(
        analytics
            .get_analytics_data::<Value>("dashboard:daily")
            .await
            .unwrap(),
        Some(json!({"users": 3}))
    );
    let ttl: u64 = fx
        .cli(&["TTL", "analytics:dashboard:daily"])
        .parse()
        .unwrap();
    assert!((119..=120).contains(&ttl));
    assert!(matches!(
        analytics
            .cache_analytics_data("x*", &1, Duration::from_secs(1))
            .await,
        Err(Error::InvalidKey(_))
    ));

    for i in 0..8 {
        let len = analytics
            .record_event_on("logins", "2025-01-02", &json!({ "i": i }))
            .await
            .unwrap();
        assert_eq!(len, (i + 1).min(5));
    }
    assert_eq!(
        analytics.event_count("logins", "2025-01-02").await.unwrap(),
        5
    );
    let page0: Vec<Value> = analytics
        .events("logins", "2025-01-02", 0, 2)
        .await
        .unwrap();
    let page2: Vec<Value> = analytics
        .events("logins", "2025-01-02", 2, 2)
        .await
        .unwrap();
    assert_eq!(page0, vec![json!({"i": 7}), json!({"i": 6})]);
    assert_eq!(page2, vec![json!({"i": 3})]);
    let ttl: u64 = fx
        .cli(&["TTL", "analytics:events:logins:2025-01-02"])
        .parse()
        .unwrap();
    assert!((3599..=3600).contains(&ttl));

    analytics
        .record_event("logins", &json!({"today": true}))
        .await
        .unwrap();
    let today = redis_ssot::stores::utc_day(std::time::SystemTime::now());
    assert_eq!(analytics.event_count("logins", &today).await.unwrap(), 1);
}

on_both_backends!(agent_state_lifecycle_with_compare_and_set);
async fn agent_state_lifecycle_with_compare_and_set(fx: &Fixture) {
    let m = fx.manager();
    let store = AgentStateStore::new(m.clone());
    let ada = UserId::new("ada").unwrap();
    let ben = UserId::new("ben").unwrap();

    let fresh = AgentState::new("run-1", ada.clone(), "t-1", json!({"step": 0}));
    let v1 = store.save(&ada, &fresh).await.unwrap();
    assert_eq!(v1.version, 1);
    assert!(v1.created_at_ms > 0 && v1.updated_at_ms == v1.created_at_ms);
    assert_eq!(store.load(&ada, "run-1").await.unwrap(), v1);
    let ttl: u64 = fx.cli(&["TTL", "{u:ada}:run:run-1"]).parse().unwrap();
    assert!((86_399..=86_400).contains(&ttl));
    assert_eq!(
        store.thread_context(&ada, "t-1").await.unwrap().as_deref(),
        Some("run-1")
    );
    assert!(matches!(
        store.save(&ada, &fresh).await,
        Err(Error::Conflict(_))
    ));

    // Ben can neither read, overwrite nor delete Ada's run.
    assert!(matches!(
        store.load(&ben, "run-1").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.save(&ben, &v1).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        store.delete(&ben, "run-1").await,
        Err(Error::NotFound(_))
    ));

    let mut running = v1.clone();
    running.status = RunStatus::Running;
    running.data = json!({"step": 1});
    let v2 = store.save(&ada, &running).await.unwrap();
    assert_eq!(v2.version, 2);
    // A writer still holding version 1 loses.
    match store.save(&ada, &running).await {
        Err(Error::Conflict(msg)) => assert!(msg.contains("stored version is 2"), "{msg}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert!(matches!(
        store
            .update_status(&ada, "run-1", 1, RunStatus::Completed)
            .await,
        Err(Error::Conflict(_))
    ));
    let done = store
        .update_status(&ada, "run-1", 2, RunStatus::Completed)
        .await
        .unwrap();
    assert_eq!((done.version, done.status), (3, RunStatus::Completed));
    assert_eq!(
        store.load(&ada, "run-1").await.unwrap().data,
        json!({"step": 1})
    );

    let mut moved = done.clone();
    moved.thread_id = "t-2".into();
    assert!(matches!(
        store.save(&ada, &moved).await,
        Err(Error::Conflict(_))
    ));

    store.delete(&ada, "run-1").await.unwrap();
    assert!(matches!(
        store.load(&ada, "run-1").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.delete(&ada, "run-1").await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.thread_context(&ada, "t-1").await.unwrap(), None);
    assert!(matches!(
        store.load(&ada, "run:*").await,
        Err(Error::InvalidKey(_))
    ));
}

on_both_backends!(concurrent_writers_from_one_version_have_exactly_one_winner);
async fn concurrent_writers_from_one_version_have_exactly_one_winner(fx: &Fixture) {
    let m = fx.manager();
    let store = AgentStateStore::new(m.clone());
    let user = UserId::new("hal").unwrap();
    let v1 = store
        .save(&user, &AgentState::new("r", user.clone(), "t", json!(0)))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (store, user, mut s) = (store.clone(), user.clone(), v1.clone());
        tasks.push(tokio::spawn(async move {
            s.data = json!(i);
            store.save(&user, &s).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(s) => {
                assert_eq!(s.version, 2);
                wins += 1;
            }
            Err(Error::Conflict(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(wins, 1);
}

on_both_backends!(thread_history_appends_atomically_is_capped_and_reads_without_changing);
async fn thread_history_appends_atomically_is_capped_and_reads_without_changing(fx: &Fixture) {
    let m = fx.manager();
    let store = AgentStateStore::new(m.clone()).with_history_cap(30);
    let user = UserId::new("ivy").unwrap();

    let mut tasks = Vec::new();
    for i in 0..50 {
        let (store, user) = (store.clone(), user.clone());
        tasks.push(tokio::spawn(async move {
            store
                .append_message(&user, "chat", &json!({ "i": i }))
                .await
        }));
    }
    for t in tasks {
        let len = t.await.unwrap().unwrap();
        assert!((1..=30).contains(&len));
    }
    assert_eq!(store.message_count(&user, "chat").await.unwrap(), 30);
    let all: Vec<Value> = store.messages(&user, "chat", 0, -1).await.unwrap();
    let again: Vec<Value> = store.messages(&user, "chat", 0, -1).await.unwrap();
    assert_eq!(all.len(), 30);
    assert_eq!(all, again);
    let last_two: Vec<Value> = store.messages(&user, "chat", -2, -1).await.unwrap();
    assert_eq!(last_two, all[28..].to_vec());

    store
        .append_message(&user, "other", &json!("x"))
        .await
        .unwrap();
    // Both threads are listed; two appends in the same millisecond have no defined order.
    let mut threads = store.list_threads(&user).await.unwrap();
    threads.sort();
    assert_eq!(threads, vec!["chat", "other"]);
    store
        .set_thread_context(&user, "chat", "run-9")
        .await
        .unwrap();
    assert_eq!(
        store
            .thread_context(&user, "chat")
            .await
            .unwrap()
            .as_deref(),
        Some("run-9")
    );
    store.delete_thread(&user, "chat").await.unwrap();
    assert_eq!(store.list_threads(&user).await.unwrap(), vec!["other"]);
    assert_eq!(store.message_count(&user, "chat").await.unwrap(), 0);
    assert_eq!(store.thread_context(&user, "chat").await.unwrap(), None);
}
