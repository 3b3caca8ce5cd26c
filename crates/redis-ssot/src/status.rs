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
use crate::handshake::LoadProgress;
use crate::health::since_ms;
use crate::manager::Inner;
use crate::notes::ConnectFailure;
use crate::state::ConnState;

/// A snapshot of the manager's state, health and counters.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// The configured URL with the password replaced by `***` (`None` in a status shown to
    /// callers who may not see addresses; see [`Status::without_addresses`]).
    pub url: Option<String>,
    /// `standalone`, `cluster` or `sentinel`.
    pub topology: &'static str,
    /// Connection state.
    pub state: ConnState,
    /// Whether a command sent now can succeed: `state` is `ready` and the breaker is not
    /// refusing calls.
    pub ready: bool,
    /// Why not, when not ready.
    pub not_ready: Option<NotReadyReason>,
    /// While the server loads its dataset: how far it is.
    pub loading: Option<LoadProgress>,
    /// The server currently connected (the primary for Sentinel, a seed for cluster).
    pub server: Option<String>,
    /// The breaker's state and counts.
    pub breaker: BreakerStatus,
    /// Connections the supervisor has opened (1 after a clean start).
    pub connections_opened: u64,
    /// Connections that replaced one that broke or stopped answering (a swap asked for while
    /// the old one worked, by `force_reconnect` or a changed cluster slot map, is not one).
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
    /// Health checks run, and how many of them failed.
    pub health_checks: u64,
    /// Health checks that failed or missed their deadline.
    pub failed_health_checks: u64,
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
    /// Writes to the server that carried several commands at once (commands of concurrent
    /// callers coalesced into one packed pipeline).
    pub coalesced_batches: u64,
    /// Commands sent in those writes.
    pub coalesced_commands: u64,
    /// Seconds since the manager was created.
    pub uptime_secs: u64,
}

/// Why the manager is not ready, in a form a person and a program can both use.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NotReadyReason {
    /// A stable label: `connecting`, `unreachable`, `no_such_socket`, `auth_failed`, `tls`,
    /// `rejected`, `not_primary`, `discovery`, `no_answer`, `server_busy`, `loading`,
    /// `breaker_open`, `closed`.
    pub reason: &'static str,
    /// What happened, in plain words (redacted).
    pub message: String,
    /// Whether waiting alone will not cure it (wrong credentials, a missing socket file, bad
    /// TLS files, a database index the server refuses).
    pub permanent: bool,
}

impl Status {
    pub(crate) fn collect(inner: &Inner) -> Status {
        let state = inner.state.get();
        let health = inner.health.snapshot();
        let breaker = inner.gate.breaker();
        let ready = inner.is_ready();
        let connect = inner.notes.last_connect();
        let (replica_reads, replica_fallbacks) = inner.replica.counts();
        let (coalesced_batches, coalesced_commands) = inner.batches.counts();
        Status {
            url: Some(inner.config.redacted_url()),
            topology: match inner.config.topology {
                Topology::Standalone(_) => "standalone",
                Topology::Cluster(_) => "cluster",
                Topology::Sentinel { .. } => "sentinel",
            },
            state,
            ready,
            not_ready: (!ready)
                .then(|| reason(state, breaker, health.loading.as_ref(), connect.as_ref())),
            loading: health.loading.clone(),
            server: inner.slot.addr().map(|a| a.to_string()),
            breaker: breaker.status(),
            connections_opened: inner.counters.connections_opened.load(Ordering::Relaxed),
            reconnects: inner.counters.reconnects.load(Ordering::Relaxed),
            consecutive_timeouts: inner.gate.timeout_streak(),
            last_error: inner.notes.last_command().or(health.last_error),
            last_connect_error: connect.map(|c| c.message),
            ping_latency_us: health.ping_latency_ewma_us,
            last_ping_us: health.last_ping_us,
            ms_since_last_health_ok: since_ms(health.last_success_unix_ms),
            health_checks: health.checks,
            failed_health_checks: health.failed_checks,
            role: health.role,
            in_flight: inner.gate.in_flight(),
            max_in_flight: inner.config.max_in_flight,
            dedicated_connections: inner.slot.pool().open(),
            totals: Outcome::ALL
                .iter()
                .map(|o| (o.as_str(), inner.counters.by_outcome.total(*o)))
                .collect(),
            durable_not_replicated: inner.counters.not_replicated.load(Ordering::Relaxed),
            replica_reads,
            replica_fallbacks,
            topology_changes: inner.counters.topology_changes.load(Ordering::Relaxed),
            coalesced_batches,
            coalesced_commands,
            uptime_secs: inner.created.elapsed().as_secs(),
        }
    }

    /// The same status without the server's address or the URL, and with them scrubbed out
    /// of the error texts: for callers who may see health but not where Redis lives (the
    /// embedded server's socket path is a local file path).
    pub fn without_addresses(mut self) -> Status {
        let mut hidden: Vec<String> = Vec::new();
        if let Some(url) = self.url.take() {
            hidden.push(url);
        }
        if let Some(server) = self.server.take() {
            hidden.push(server);
        }
        let scrub = |text: &mut String| {
            for h in &hidden {
                if !h.is_empty() {
                    *text = text.replace(h.as_str(), "<server>");
                }
            }
        };
        for text in [&mut self.last_error, &mut self.last_connect_error]
            .into_iter()
            .flatten()
        {
            scrub(text);
        }
        if let Some(r) = self.not_ready.as_mut() {
            scrub(&mut r.message);
        }
        self
    }

    /// One line for a person: `ready: ...` or `not ready (reason): ...`.
    pub fn verdict(&self) -> String {
        match &self.not_ready {
            None => {
                let server = self.server.as_deref().unwrap_or("redis");
                match self.last_ping_us {
                    Some(us) => format!(
                        "ready: {server} answers ({} {}, PING {:.2} ms)",
                        self.topology,
                        self.role.as_deref().unwrap_or("server"),
                        us as f64 / 1000.0
                    ),
                    None => format!("ready: {server} answers ({})", self.topology),
                }
            }
            Some(r) => format!(
                "not ready ({}{}): {}",
                r.reason,
                if r.permanent {
                    ", will not cure itself"
                } else {
                    ""
                },
                r.message
            ),
        }
    }
}

fn reason(
    state: ConnState,
    breaker: &crate::breaker::CircuitBreaker,
    loading: Option<&LoadProgress>,
    connect: Option<&ConnectFailure>,
) -> NotReadyReason {
    let plain = |reason, message: String| NotReadyReason {
        reason,
        message,
        permanent: false,
    };
    match state {
        ConnState::Closed => NotReadyReason {
            reason: "closed",
            message: "the manager was shut down".into(),
            permanent: true,
        },
        ConnState::Loading => {
            let mut m = "the server is loading its dataset".to_string();
            if let Some(p) = loading.and_then(|p| p.percent) {
                m.push_str(&format!(" ({p:.1}% done"));
                if let Some(eta) = loading.and_then(|p| p.eta_secs) {
                    m.push_str(&format!(", about {eta} s left"));
                }
                m.push(')');
            }
            plain("loading", m)
        }
        ConnState::Ready => {
            let s = breaker.status();
            let left = breaker.retry_after().unwrap_or_default();
            plain(
                "breaker_open",
                format!(
                    "the circuit breaker is open (opened {} time(s)); probes resume in {} ms",
                    s.opened_total,
                    left.as_millis()
                ),
            )
        }
        ConnState::Connecting | ConnState::Reconnecting => match connect {
            None => plain("connecting", "a connection attempt is under way".into()),
            Some(f) => {
                let label = match (f.kind, f.busy) {
                    (Some(k), _) => connection_label(k),
                    (None, Some(_)) => "server_busy",
                    (None, None) => "no_answer",
                };
                let said = match label {
                    "unreachable" => "nothing answers at the address: ",
                    "no_such_socket" => "the unix socket file does not exist: ",
                    "auth_failed" => {
                        "the server refused our credentials, or wants some we did not send: "
                    }
                    "tls" => "the TLS handshake failed: ",
                    "not_primary" => "the server is not the primary: ",
                    "server_busy" => "the server cannot serve now: ",
                    "no_answer" => "the server did not complete the connection: ",
                    _ => "",
                };
                NotReadyReason {
                    reason: label,
                    message: format!("{said}{}", f.detail),
                    permanent: f.kind.is_some_and(|k| k.is_permanent()),
                }
            }
        },
    }
}

fn connection_label(kind: crate::error::ConnectionKind) -> &'static str {
    use crate::error::ConnectionKind as K;
    match kind {
        K::Refused | K::Dropped | K::Io => "unreachable",
        K::NoSuchSocket => "no_such_socket",
        K::Auth => "auth_failed",
        K::Tls => "tls",
        K::Rejected => "rejected",
        K::NotPrimary => "not_primary",
        K::Discovery => "discovery",
        K::Protocol | K::Panicked => "no_answer",
    }
}
