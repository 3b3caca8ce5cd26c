//! Shared helpers for the manager's integration tests (real redis-server via testkit).
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use redis_ssot::{Config, RedisManager};

pub mod backend;

/// A config with short timeouts so fault tests finish quickly.
pub fn fast_config(url: &str) -> Config {
    let mut c = Config::from_url(url).expect("test url parses");
    c.command_timeout = Duration::from_millis(300);
    c.connect_timeout = Duration::from_millis(500);
    c.breaker_cooldown = Duration::from_millis(300);
    c.health_interval = Duration::from_secs(60);
    c
}

/// Connects, waits until ready and until the first health check (run on every connect) is
/// done, so fault tests start with no health PING in flight.
pub async fn ready_manager(config: Config) -> RedisManager {
    let m = RedisManager::connect(config).expect("valid config");
    m.wait_ready(Duration::from_secs(10))
        .await
        .expect("manager becomes ready");
    eventually("first health check", Duration::from_secs(10), || async {
        m.status().role.map(|_| ())
    })
    .await;
    m
}

/// Polls `f` until it returns `Some`, or panics after `deadline` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = Instant::now() + deadline;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < until, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How many clients the server sees (excluding the redis-cli that asks).
pub fn client_count(server: &testkit::RedisServer) -> usize {
    let list = server.cli(&["CLIENT", "LIST"]).expect("client list");
    list.lines().filter(|l| !l.contains("cmd=client")).count()
}

/// Connects and waits until ready, without waiting for the first health check (the stores'
/// tests do not depend on it, and it may not run until `health_interval` when the state turns
/// ready before the monitor subscribes).
pub async fn connected_manager(config: Config) -> RedisManager {
    let m = RedisManager::connect(config).expect("valid config");
    m.wait_ready(Duration::from_secs(10))
        .await
        .expect("manager becomes ready");
    m
}

/// Writes `key` every 20 ms until a write succeeds, asserting that every refusal in between is
/// an outage error (never a wrong answer), and panicking after 30 s. Returns the time since
/// `since` and the number of refused writes: the recovery figure of a failover test.
pub async fn write_until_ok(m: &RedisManager, key: &str, since: Instant) -> (Duration, u32) {
    let mut refused = 0u32;
    loop {
        match m.set(key, "after").await {
            Ok(()) => return (since.elapsed(), refused),
            Err(e) => {
                refused += 1;
                assert!(
                    e.is_unavailable(),
                    "only outage errors during failover: {e}"
                );
            }
        }
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "no successful write to {key} within 30 s; status: {:?}",
            m.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
