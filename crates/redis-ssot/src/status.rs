//! `status()`: one plain, serializable snapshot of the manager.
//!
//! It is what `/api/status`, `redis-ssot status` and the gateway's status panel show, so every
//! field is cheap to collect and nothing in it can leak a credential (errors are redacted when
//! they are stored).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use crate::breaker::BreakerStatus;
use crate::config::Topology;
use crate::error::Outcome;
use crate::health::since_ms;
use crate::manager::Inner;
use crate::state::ConnState;

/// A snapshot of the manager's state, health and counters.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// The configured URL with the password replaced by `***`.
    pub url: String,
    /// `standalone`, `cluster` or `sentinel`.
    pub topology: &'static str,
    /// Connection state.
    pub state: ConnState,
    /// `state == Ready`.
    pub ready: bool,
    /// The server currently connected (the primary for Sentinel, a seed for cluster).
    pub server: Option<String>,
    /// The breaker's state and counts.
    pub breaker: BreakerStatus,
    /// Connections the supervisor has opened (1 after a clean start).
    pub connections_opened: u64,
    /// Reconnects after the first connection.
    pub reconnects: u64,
    /// Consecutive command timeouts on the current connection.
    pub consecutive_timeouts: u32,
    /// The last command or health-check error (redacted).
    pub last_error: Option<String>,
    /// The last failed connect attempt's error (redacted); cleared on success. Auth errors
    /// show up here while the supervisor keeps retrying.
    pub last_connect_error: Option<String>,
    /// Smoothed PING latency in microseconds.
    pub ping_latency_us: Option<f64>,
    /// The most recent PING's latency in microseconds.
    pub last_ping_us: Option<u64>,
    /// Milliseconds since the last successful health check.
    pub ms_since_last_health_ok: Option<u64>,
    /// What ROLE said at the last health check (`master`, `slave`, ...).
    pub role: Option<String>,
    /// Commands in flight now.
    pub in_flight: usize,
    /// The in-flight limit.
    pub max_in_flight: usize,
    /// Dedicated connections (blocking, WATCH) open now, idle or leased.
    pub dedicated_connections: usize,
    /// Commands finished, by outcome (`ok`, `timeout`, `circuit_open`, ...).
    pub totals: BTreeMap<&'static str, u64>,
    /// Durable writes applied on the primary but not confirmed by enough replicas.
    pub durable_not_replicated: u64,
    /// Reads served by a replica (`replica_reads()`).
    pub replica_reads: u64,
    /// Opted-in reads that went to the primary because no replica could serve them.
    pub replica_fallbacks: u64,
    /// Topology refreshes that found a changed cluster slot map and rebuilt the connection.
    pub topology_changes: u64,
    /// Seconds since the manager was created.
    pub uptime_secs: u64,
}

impl Status {
    pub(crate) fn collect(inner: &Inner) -> Status {
        let state = inner.state.get();
        let health = inner.health.snapshot();
        let read =
            |slot: &std::sync::Mutex<Option<String>>| slot.lock().ok().and_then(|g| g.clone());
        Status {
            url: inner.config.redacted_url(),
            topology: match inner.config.topology {
                Topology::Standalone(_) => "standalone",
                Topology::Cluster(_) => "cluster",
                Topology::Sentinel { .. } => "sentinel",
            },
            state,
            ready: state == ConnState::Ready,
            server: inner.conn.load().as_ref().map(|i| i.addr.to_string()),
            breaker: inner.breaker.status(),
            connections_opened: inner.counters.connections_opened.load(Ordering::Relaxed),
            reconnects: inner.counters.reconnects.load(Ordering::Relaxed),
            consecutive_timeouts: inner.consecutive_timeouts.load(Ordering::Relaxed),
            last_error: read(&inner.last_error).or(health.last_error),
            last_connect_error: read(&inner.last_connect_error),
            ping_latency_us: health.ping_latency_ewma_us,
            last_ping_us: health.last_ping_us,
            ms_since_last_health_ok: since_ms(health.last_success_unix_ms),
            role: health.role,
            in_flight: inner.in_flight.load(Ordering::Relaxed),
            max_in_flight: inner.config.max_in_flight,
            dedicated_connections: inner.pool.open(),
            totals: Outcome::ALL
                .iter()
                .map(|o| (o.as_str(), inner.counters.by_outcome.total(*o)))
                .collect(),
            durable_not_replicated: inner.counters.not_replicated.load(Ordering::Relaxed),
            replica_reads: inner.replica.reads.load(Ordering::Relaxed),
            replica_fallbacks: inner.replica.fallbacks.load(Ordering::Relaxed),
            topology_changes: inner.counters.topology_changes.load(Ordering::Relaxed),
            uptime_secs: inner.created.elapsed().as_secs(),
        }
    }
}
