//! [`run`]: many users against one gateway, in phases, with the processes under load
//! measured between them.
//!
//! The coordinator and every user meet at a barrier after connecting (the idle sockets'
//! memory is read then) and around each phase (CPU times are read at its start and end), so
//! each figure covers exactly one phase and nothing of the ramp.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{Barrier, Semaphore};

use crate::client::GatewayClient;
use crate::procfs;
use crate::report::{
    ConnectReport, CpuPerRun, LoadReport, PhaseReport, capacity, merge, percentile,
};
use crate::user::{self, Shared, UserResult};

/// The p99 under which a phase counts towards [`LoadReport::capacity_runs_per_s`].
pub const CAPACITY_P99: Duration = Duration::from_millis(50);

/// One phase of messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Messages each user sends in the phase, one after another.
    pub messages: usize,
    /// Mean pause before each message (drawn from 0.5–1.5 ×, the first from 0–1 ×). Zero: a
    /// closed loop, every user always waiting for a run.
    pub think: Duration,
}

impl Phase {
    /// A phase in which `users` users together offer about `rate` runs per second.
    pub fn at_rate(users: usize, rate: f64, messages: usize) -> Phase {
        Phase {
            messages,
            think: Duration::from_secs_f64(users as f64 / rate.max(0.001)),
        }
    }
}

/// The processes whose memory and CPU the run reports (by pid).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watched {
    /// The gateway.
    pub gateway: Option<u32>,
    /// Its redis-server.
    pub redis: Option<u32>,
}

/// What to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadConfig {
    /// The gateway (`http://host:port` or `host:port`).
    pub url: String,
    /// Concurrent users, two sockets each.
    pub users: usize,
    /// The phases, in order.
    pub phases: Vec<Phase>,
    /// Logins and handshakes in flight at once during the ramp.
    pub connect_concurrency: usize,
    /// How long the sockets sit idle before their memory is read (lets the allocator give
    /// back what the ramp's HTTP connections used).
    pub idle_settle: Duration,
    /// The processes to measure.
    pub watched: Watched,
}

impl LoadConfig {
    /// `users` users sending `messages` messages each, in one closed-loop phase.
    pub fn closed_loop(url: &str, users: usize, messages: usize) -> LoadConfig {
        LoadConfig {
            url: url.to_string(),
            users,
            phases: vec![Phase {
                messages,
                think: Duration::ZERO,
            }],
            connect_concurrency: 256,
            idle_settle: Duration::ZERO,
            watched: Watched::default(),
        }
    }
}

/// Runs the load and reports; failures are counted in the report, never panics.
pub async fn run(config: LoadConfig) -> LoadReport {
    let started = Instant::now();
    let tag = random_tag();
    let shared = Arc::new(Shared {
        client: GatewayClient::new(&config.url),
        phases: config.phases.clone(),
        barrier: Barrier::new(config.users + 1),
        connecting: Semaphore::new(config.connect_concurrency.max(1)),
    });
    let mut report = LoadReport::default();
    let w = config.watched;
    report.connect.gateway_rss_before_kib = w.gateway.and_then(procfs::rss_kib);
    report.connect.kernel_before = procfs::kernel_sockets();

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..config.users {
        let shared = shared.clone();
        tasks.spawn(user::run(shared, format!("load-{tag}-{i}")));
    }
    shared.barrier.wait().await;
    report.connect.elapsed_ms = started.elapsed().as_millis() as u64;
    tokio::time::sleep(config.idle_settle).await;
    measure_idle(&mut report.connect, w, config.users as u64 * 2);

    let mut windows = Vec::new();
    for _ in &config.phases {
        let before = cpu_now(w);
        shared.barrier.wait().await;
        let t0 = Instant::now();
        shared.barrier.wait().await;
        windows.push((t0.elapsed(), before, cpu_now(w)));
    }

    let mut results = Vec::with_capacity(config.users);
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.unwrap_or_else(|_| {
            let mut r = UserResult::default();
            r.errors.insert("task_panicked".into(), 1);
            r
        }));
    }
    summarize(&mut report, &config, results, &windows);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report
}

/// CPU time of (gateway, redis, this process) now, in µs.
type Cpu = (Option<u64>, Option<u64>, Option<u64>);

fn cpu_now(w: Watched) -> Cpu {
    (
        w.gateway.and_then(procfs::cpu_us),
        w.redis.and_then(procfs::cpu_us),
        procfs::cpu_us(procfs::own_pid()),
    )
}

fn measure_idle(c: &mut ConnectReport, w: Watched, sockets: u64) {
    c.gateway_rss_idle_kib = w.gateway.and_then(procfs::rss_kib);
    c.kernel_idle = procfs::kernel_sockets();
    if let (Some(before), Some(idle)) = (c.gateway_rss_before_kib, c.gateway_rss_idle_kib)
        && sockets > 0
    {
        c.gateway_rss_per_idle_socket_bytes = Some(idle.saturating_sub(before) * 1024 / sockets);
    }
    let new_tcp = c
        .kernel_idle
        .tcp_inuse
        .saturating_sub(c.kernel_before.tcp_inuse);
    if let (Some(before), Some(idle)) = (c.kernel_before.slab_bytes, c.kernel_idle.slab_bytes)
        && new_tcp > 0
    {
        c.kernel_slab_bytes_per_tcp_socket = Some(idle.saturating_sub(before) / new_tcp);
    }
}

fn summarize(
    report: &mut LoadReport,
    config: &LoadConfig,
    results: Vec<UserResult>,
    windows: &[(Duration, Cpu, Cpu)],
) {
    let mut per_phase: Vec<(u64, Vec<u64>)> = vec![(0, Vec::new()); config.phases.len()];
    for r in results {
        report.users += usize::from(r.ok);
        report.sockets_opened += r.sockets;
        report.lost_events += r.lost;
        report.duplicated_events += r.duplicated;
        merge(&mut report.close_codes, r.close_codes);
        merge(&mut report.errors, r.errors);
        for (i, (sent, lat)) in r.phases.into_iter().enumerate() {
            per_phase[i].0 += sent;
            per_phase[i].1.extend(lat);
        }
    }
    let mut all = Vec::new();
    for ((phase, (sent, mut lat)), (wall, before, after)) in
        config.phases.iter().zip(per_phase).zip(windows)
    {
        lat.sort_unstable();
        let runs = lat.len() as u64;
        let per_run = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) if runs > 0 => Some(b.saturating_sub(a) as f64 / runs as f64),
            _ => None,
        };
        let (gateway, redis, load_generator) = (
            per_run(before.0, after.0),
            per_run(before.1, after.1),
            per_run(before.2, after.2),
        );
        let total = match (gateway, redis, load_generator) {
            (Some(g), Some(r), Some(l)) => Some(g + r + l),
            _ => None,
        };
        let think = phase.think.as_secs_f64();
        report.phases.push(PhaseReport {
            think_ms: phase.think.as_millis() as u64,
            offered_runs_per_s: if think > 0.0 {
                config.users as f64 / think
            } else {
                0.0
            },
            achieved_runs_per_s: runs as f64 / wall.as_secs_f64().max(1e-9),
            messages_sent: sent,
            runs_completed: runs,
            p50_us: percentile(&lat, 0.50),
            p99_us: percentile(&lat, 0.99),
            p999_us: percentile(&lat, 0.999),
            max_us: lat.last().copied().unwrap_or(0),
            elapsed_ms: wall.as_millis() as u64,
            cpu_us_per_run: CpuPerRun {
                gateway,
                redis,
                load_generator,
                total,
            },
        });
        report.messages_sent += sent;
        report.runs_completed += runs;
        all.extend(lat);
    }
    all.sort_unstable();
    report.p50_us = percentile(&all, 0.50);
    report.p99_us = percentile(&all, 0.99);
    report.max_us = all.last().copied().unwrap_or(0);
    report.capacity_runs_per_s = capacity(&report.phases, CAPACITY_P99.as_micros() as u64);
}

/// Eight hex digits naming this run's users, so two runs against one gateway do not share.
fn random_tag() -> String {
    format!("{:08x}", rand::random::<u32>())
}
