//! `redis-ssot bench --workload sessions|cache|ratelimit`: the stores' hot operations.
//!
//! Each workload runs N concurrent tasks through the one manager and reports ops/s and
//! latency percentiles, beside a plain SET/GET round through the same manager in the same
//! run, so the store's own cost shows as a ratio.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use redis_ssot::{Cache, RateLimiter, RedisManager, SessionStore, UserId};
use serde::Serialize;

/// The store workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// SET/GET of 16-byte values, manager against raw redis-rs.
    Kv,
    /// SessionStore: create then get.
    Sessions,
    /// Cache: JSON set then get.
    Cache,
    /// RateLimiter: one check (one Lua script) per op.
    Ratelimit,
}

/// One workload's figures.
#[derive(Debug, Serialize)]
pub struct WorkloadReport {
    /// The workload.
    pub workload: Workload,
    /// Concurrent tasks.
    pub clients: usize,
    /// Store operations per run.
    pub ops: usize,
    /// Store operations per second.
    pub ops_per_sec: f64,
    /// Median latency of one store operation, µs.
    pub p50_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// Plain manager SET/GET in the same run, ops/s.
    pub baseline_kv_ops_per_sec: f64,
}

/// Runs one store workload against `manager`.
pub async fn run(
    manager: RedisManager,
    workload: Workload,
    clients: usize,
    ops: usize,
) -> Result<WorkloadReport, String> {
    let per_task = ops.div_ceil(clients);
    let (rate, hist) = round(&manager, workload, clients, per_task).await?;
    let (kv_rate, _) = round(&manager, Workload::Kv, clients, per_task).await?;
    Ok(WorkloadReport {
        workload,
        clients,
        ops: per_task * clients,
        ops_per_sec: rate,
        p50_us: hist.value_at_quantile(0.5),
        p99_us: hist.value_at_quantile(0.99),
        baseline_kv_ops_per_sec: kv_rate,
    })
}

async fn round(
    m: &RedisManager,
    w: Workload,
    clients: usize,
    per_task: usize,
) -> Result<(f64, Histogram<u64>), String> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..clients {
        let m = m.clone();
        tasks.push(tokio::spawn(
            async move { one_task(m, w, t, per_task).await },
        ));
    }
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    for t in tasks {
        let h = t.await.map_err(|e| e.to_string())??;
        hist.add(&h).map_err(|e| e.to_string())?;
    }
    Ok((
        (per_task * clients) as f64 / started.elapsed().as_secs_f64(),
        hist,
    ))
}

async fn one_task(
    m: RedisManager,
    w: Workload,
    t: usize,
    n: usize,
) -> Result<Histogram<u64>, String> {
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    let e = |e: redis_ssot::Error| e.to_string();
    let sessions = SessionStore::new(m.clone());
    let cache = Cache::new(m.clone(), "bench").map_err(e)?;
    let limiter = RateLimiter::new(m.clone());
    let user = UserId::new(format!("bench-{t}")).map_err(e)?;
    let value = serde_json::json!({"task": t, "payload": "0123456789abcdef"});
    for i in 0..n {
        let start = Instant::now();
        match w {
            Workload::Kv => {
                let key = format!("bench:kv:{t}:{}", i % 100);
                if i % 2 == 0 {
                    m.set(&key, "0123456789abcdef").await.map_err(e)?;
                } else {
                    let _: Option<Vec<u8>> = m.get(&key).await.map_err(e)?;
                }
            }
            Workload::Sessions => {
                let (token, _) = sessions.create(&user, value.clone()).await.map_err(e)?;
                sessions
                    .get(&token)
                    .await
                    .map_err(e)?
                    .ok_or("a new session was not found")?;
            }
            Workload::Cache => {
                let key = format!("k{t}:{}", i % 100);
                cache
                    .set(&key, &value, Duration::from_secs(60))
                    .await
                    .map_err(e)?;
                let _: Option<serde_json::Value> = cache.get(&key).await.map_err(e)?;
            }
            Workload::Ratelimit => {
                let key = format!("bench:{}", (t * 7919 + i) % 1000);
                limiter
                    .check(&key, 100, Duration::from_secs(1))
                    .await
                    .map_err(e)?;
            }
        }
        hist.saturating_record(start.elapsed().as_micros().max(1) as u64);
    }
    Ok(hist)
}
