//! `AgentStateStore` details the lifecycle test in `stores_data.rs` does not reach: versions
//! past one digit, and how the thread index stays bounded. Each `on_both_backends!` test runs
//! as `<name>::standalone` and `<name>::cluster` (see `common/backend.rs`), each with its own
//! user ids.

mod common;

use std::time::Duration;

use common::backend::Fixture;
use redis_ssot::{AgentState, AgentStateStore, Error, UserId};
use serde_json::json;

on_both_backends!(compare_and_set_holds_past_version_nine);
async fn compare_and_set_holds_past_version_nine(fx: &Fixture) {
    let store = AgentStateStore::new(fx.manager().clone());
    let user = UserId::new("vera").unwrap();
    let mut state = AgentState::new("r", user.clone(), "t", json!(0));
    for expected in 1..=12 {
        state = store.save(&user, &state).await.unwrap();
        assert_eq!(state.version, expected);
    }
    let mut stale = state.clone();
    stale.version = 10;
    match store.save(&user, &stale).await {
        Err(Error::Conflict(msg)) => assert!(msg.contains("stored version is 12"), "{msg}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(store.load(&user, "r").await.unwrap().version, 12);
}

on_both_backends!(a_save_that_adds_a_thread_drops_the_expired_ones_from_the_index);
async fn a_save_that_adds_a_thread_drops_the_expired_ones_from_the_index(fx: &Fixture) {
    let store = AgentStateStore::new(fx.manager().clone()).with_thread_ttl(Duration::from_secs(2));
    let user = UserId::new("tess").unwrap();
    let index = "{u:tess}:threads";
    let save = |run: &'static str, thread: &'static str| {
        let (store, user) = (store.clone(), user.clone());
        async move {
            let state = AgentState::new(run, user.clone(), thread, json!(0));
            store.save(&user, &state).await.unwrap();
        }
    };
    save("r1", "t1").await;
    save("r2", "t2").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    save("r3", "t1").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // t2 has expired; saving into a thread already listed leaves the index as it is (it
    // never holds more than the threads that were live when one was last added)...
    save("r4", "t1").await;
    assert_eq!(fx.cli(&["ZCARD", index]), "2");
    // ...and the next save that adds a thread trims it.
    save("r5", "t3").await;
    assert_eq!(fx.cli(&["ZRANGE", index, "0", "-1"]), "t1\nt3");
    let mut listed = store.list_threads(&user).await.unwrap();
    listed.sort();
    assert_eq!(listed, ["t1", "t3"]);
}
