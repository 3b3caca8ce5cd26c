//! The process-wide manager (own test binary: the global is per process).

mod common;

use std::time::Duration;

use redis_ssot::{Config, Error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_inits_create_one_manager_and_one_connection() {
    let server = testkit::RedisServer::start().unwrap();
    assert!(matches!(
        redis_ssot::get_redis_manager(),
        Err(Error::NotInitialized)
    ));

    let url = server.url();
    let mut handles = Vec::new();
    for _ in 0..100 {
        let url = url.clone();
        handles.push(tokio::spawn(async move {
            redis_ssot::init(Config::from_url(&url).unwrap()).unwrap()
        }));
    }
    let mut managers = Vec::new();
    for h in handles {
        managers.push(h.await.unwrap());
    }
    let first = &managers[0];
    assert!(
        managers.iter().all(|m| m.same_as(first)),
        "all inits return the same manager"
    );
    first.wait_ready(Duration::from_secs(10)).await.unwrap();
    first.set("k", "v").await.unwrap();

    assert_eq!(first.status().connections_opened, 1);
    assert_eq!(
        common::client_count(&server),
        1,
        "exactly one connection reaches the server"
    );

    let global = redis_ssot::get_redis_manager().unwrap();
    assert!(global.same_as(first));

    // Same config again: same manager. Different config: an error naming init.
    let again = redis_ssot::init(Config::from_url(&url).unwrap()).unwrap();
    assert!(again.same_as(first));
    let mut other = Config::from_url(&url).unwrap();
    other.command_timeout = Duration::from_secs(9);
    match redis_ssot::init(other) {
        Err(Error::Config { field, .. }) => assert_eq!(field, "init"),
        other => panic!("expected a config error, got {other:?}"),
    }
}
