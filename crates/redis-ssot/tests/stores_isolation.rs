//! Users never see each other's data: concurrent interleaving, hostile ids (proptest), and
//! data that survives reconnects, on a real redis-server and on a real Redis Cluster: each
//! test named `<name>::standalone` has a `<name>::cluster` twin (see `common/backend.rs`).
//!
//! The cluster tests of this binary share one cluster and run concurrently: each uses its own
//! user ids, and the property test cleans its two users' data between cases instead of
//! `FLUSHALL`.
//!
//! Standalone only:
//! - `stored_state_survives_a_killed_connection_and_a_server_restart` kills every client
//!   connection and then kills and restarts the server. On the shared cluster that would break
//!   the other tests' connections; a master's death on a cluster is
//!   `scale_cluster_failover.rs`'s subject.

mod common;

use std::time::Duration;

use common::backend::{Backend, Fixture};
use common::{connected_manager, fast_config};
use futures_util::StreamExt;
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestRunner};
use redis_ssot::{
    AgentState, AgentStateStore, Cache, Error, RedisFactory, RedisManager, RunStatus, SessionStore,
    UserContext, UserId,
};
use serde_json::{Value, json};
use testkit::{RedisServer, ServerOptions};

on_both_backends!(three_users_interleaving_sessions_and_agent_events_each_see_only_their_own);
async fn three_users_interleaving_sessions_and_agent_events_each_see_only_their_own(fx: &Fixture) {
    let m = fx.manager();
    let sessions = SessionStore::new(m.clone());
    let agents = AgentStateStore::new(m.clone());
    let users: Vec<UserId> = ["ann", "ann:1", "ann*"]
        .iter()
        .map(|u| UserId::new(u).unwrap())
        .collect();

    let mut tasks = Vec::new();
    for user in &users {
        for worker in 0..4 {
            let (sessions, agents, user) = (sessions.clone(), agents.clone(), user.clone());
            tasks.push(tokio::spawn(async move {
                let (_, s) = sessions
                    .create(&user, json!({ "worker": worker }))
                    .await
                    .unwrap();
                let run = format!("run-{worker}");
                let mut state = agents
                    .save(
                        &user,
                        &AgentState::new(&run, user.clone(), "main", json!({})),
                    )
                    .await
                    .unwrap();
                for i in 0..10 {
                    let event = json!({ "user": user.encoded(), "worker": worker, "i": i });
                    agents.append_message(&user, "main", &event).await.unwrap();
                    tokio::task::yield_now().await;
                }
                state.status = RunStatus::Completed;
                agents.save(&user, &state).await.unwrap();
                s.id
            }));
        }
    }
    let mut created = Vec::new();
    for t in tasks {
        created.push(t.await.unwrap());
    }

    for (u, user) in users.iter().enumerate() {
        let listed = sessions.list_sessions(user).await.unwrap();
        assert_eq!(listed.len(), 4, "{user:?}");
        assert!(listed.iter().all(|s| s.user == *user));
        for s in &listed {
            let owner_index = created.iter().position(|id| *id == s.id).unwrap() / 4;
            assert_eq!(owner_index, u);
        }
        assert_eq!(agents.list_threads(user).await.unwrap(), vec!["main"]);
        let events: Vec<Value> = agents.messages(user, "main", 0, -1).await.unwrap();
        assert_eq!(events.len(), 40);
        assert!(events.iter().all(|e| e["user"] == user.encoded()));
        for worker in 0..4 {
            let mine: Vec<i64> = events
                .iter()
                .filter(|e| e["worker"] == worker)
                .map(|e| e["i"].as_i64().unwrap())
                .collect();
            assert_eq!(mine, (0..10).collect::<Vec<_>>(), "per-writer order kept");
            let run = agents.load(user, &format!("run-{worker}")).await.unwrap();
            assert_eq!((run.version, run.status), (2, RunStatus::Completed));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_state_survives_a_killed_connection_and_a_server_restart() {
    let server = RedisServer::start_with(ServerOptions::new().aof_always(true)).unwrap();
    let m = connected_manager(fast_config(&server.url())).await;
    let sessions = SessionStore::new(m.clone());
    let agents = AgentStateStore::new(m.clone());
    let cache = Cache::new(m.clone(), "profiles").unwrap();
    let user = UserId::new("jo").unwrap();
    let client = RedisFactory::new(m.clone()).user_client(&UserContext::for_user(user.clone()));

    let (token, session) = sessions.create(&user, json!({"k": 1})).await.unwrap();
    let run = agents
        .save(
            &user,
            &AgentState::new("r1", user.clone(), "t1", json!({"x": 1})),
        )
        .await
        .unwrap();
    agents
        .append_message(&user, "t1", &json!("hello"))
        .await
        .unwrap();
    cache
        .set("jo", &json!({"n": 1}), Duration::from_secs(600))
        .await
        .unwrap();
    client.set("note", "kept").await.unwrap();

    let check = |m: RedisManager| {
        let (sessions, agents, cache, client, token, session, run, user) = (
            sessions.clone(),
            agents.clone(),
            cache.clone(),
            client.clone(),
            token.clone(),
            session.clone(),
            run.clone(),
            user.clone(),
        );
        async move {
            common::eventually("stores answer again", Duration::from_secs(10), || async {
                m.ping().await.ok()
            })
            .await;
            assert_eq!(sessions.get(&token).await.unwrap(), Some(session.clone()));
            assert_eq!(sessions.list_sessions(&user).await.unwrap(), vec![session]);
            assert_eq!(agents.load(&user, "r1").await.unwrap(), run);
            let history: Vec<String> = agents.messages(&user, "t1", 0, -1).await.unwrap();
            assert_eq!(history, vec!["hello"]);
            assert_eq!(
                cache.get::<Value>("jo").await.unwrap(),
                Some(json!({"n": 1}))
            );
            assert_eq!(
                client.get::<String>("note").await.unwrap().as_deref(),
                Some("kept")
            );
        }
    };

    let killed = server.cli(&["CLIENT", "KILL", "TYPE", "normal"]).unwrap();
    assert!(killed.trim().parse::<u32>().unwrap() >= 1, "{killed}");
    check(m.clone()).await;
    assert!(m.status().reconnects >= 1);

    server.kill();
    server.restart().unwrap();
    check(m.clone()).await;
    assert!(m.status().reconnects >= 2);
}

/// A user id made of arbitrary bytes, biased towards separators and glob characters.
fn hostile_id() -> impl Strategy<Value = Vec<u8>> {
    let special = prop::sample::select(b":*?[]\\{}% \n\x00\xffu".to_vec());
    prop::collection::vec(prop_oneof![any::<u8>(), special.clone(), special], 1..24)
}

/// Two different ids; half the time one is a prefix of the other.
fn id_pair() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    prop_oneof![
        (hostile_id(), hostile_id()).prop_filter("distinct", |(a, b)| a != b),
        (hostile_id(), hostile_id()).prop_map(|(a, tail)| {
            let mut b = a.clone();
            b.extend(tail);
            (a, b)
        }),
    ]
}

/// The property test drives its own runtime (proptest's runner is synchronous), so it gets
/// its two backends by hand rather than from `on_both_backends!`.
mod no_key_of_one_user_is_read_listed_deleted_or_cleared_through_another {
    use super::Backend;

    #[test]
    fn standalone() {
        super::no_key_of_one_user_is_read_listed_deleted_or_cleared_through_another(
            Backend::Standalone,
        );
    }

    #[test]
    fn cluster() {
        super::no_key_of_one_user_is_read_listed_deleted_or_cleared_through_another(
            Backend::Cluster,
        );
    }
}

fn no_key_of_one_user_is_read_listed_deleted_or_cleared_through_another(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fx = rt.block_on(Fixture::start(backend));
    let m = fx.manager();
    let factory = RedisFactory::new(m.clone());
    let sessions = SessionStore::new(m.clone());
    let agents = AgentStateStore::new(m.clone());

    let mut runner = TestRunner::new(PropConfig {
        cases: 64,
        failure_persistence: None,
        ..PropConfig::default()
    });
    runner
        .run(&id_pair(), |(a_raw, b_raw)| {
            rt.block_on(async {
                let a = UserId::new(&a_raw).unwrap();
                let b = UserId::new(&b_raw).unwrap();
                prop_assert_ne!(&a, &b);
                // A shared cluster cannot be flushed: remove what an earlier case (or a
                // shrinking run) left under these two ids.
                for user in [&a, &b] {
                    sessions.revoke_all(user).await.unwrap();
                    m.unlink_matching(&user.space_pattern(), 100).await.unwrap();
                }
                let ca = factory.user_client(&UserContext::for_user(a.clone()));
                let cb = factory.user_client(&UserContext::for_user(b.clone()));
                for (x, y) in [(&ca, &cb), (&cb, &ca)] {
                    x.set("k", "secret").await.unwrap();
                    x.hset("h", "f", 1).await.unwrap();
                    prop_assert_eq!(y.get::<String>("k").await.unwrap(), None);
                    prop_assert!(y.names().await.unwrap().is_empty());
                    prop_assert!(!y.del("k").await.unwrap());
                    prop_assert_eq!(y.clear().await.unwrap(), 0);
                    prop_assert_eq!(x.names().await.unwrap(), vec!["h", "k"]);
                    prop_assert_eq!(x.clear().await.unwrap(), 2);
                }

                let (_, sa) = sessions.create(&a, json!(null)).await.unwrap();
                agents
                    .save(&a, &AgentState::new("r", a.clone(), "t", json!(1)))
                    .await
                    .unwrap();
                agents.append_message(&a, "t", &json!("m")).await.unwrap();
                prop_assert!(sessions.list_sessions(&b).await.unwrap().is_empty());
                prop_assert!(!sessions.revoke(&b, &sa.id).await.unwrap());
                prop_assert_eq!(sessions.revoke_all(&b).await.unwrap(), 0);
                prop_assert!(matches!(
                    agents.load(&b, "r").await,
                    Err(Error::NotFound(_))
                ));
                prop_assert!(matches!(
                    agents.delete(&b, "r").await,
                    Err(Error::NotFound(_))
                ));
                prop_assert!(agents.list_threads(&b).await.unwrap().is_empty());
                prop_assert_eq!(agents.message_count(&b, "t").await.unwrap(), 0);

                // SCAN over B's space finds nothing of A's (A's keys do exist).
                let in_b: Vec<String> = m
                    .scan_match(&b.space_pattern(), 100)
                    .map(|k| k.unwrap())
                    .collect()
                    .await;
                prop_assert!(in_b.is_empty(), "B's space holds {:?}", in_b);
                let in_a: Vec<String> = m
                    .scan_match(&a.space_pattern(), 100)
                    .map(|k| k.unwrap())
                    .collect()
                    .await;
                prop_assert_eq!(in_a.len(), 5, "{:?}", in_a);
                prop_assert!(in_a.iter().all(|k| k.starts_with(&a.space_prefix())));

                prop_assert_eq!(sessions.list_sessions(&a).await.unwrap(), vec![sa]);
                prop_assert_eq!(agents.load(&a, "r").await.unwrap().version, 1);
                Ok(())
            })
        })
        .unwrap();
}
