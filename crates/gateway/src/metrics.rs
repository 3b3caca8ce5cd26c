//! The Prometheus recorder behind `GET /metrics`, and the gateway's own metric families.
//!
//! The `metrics` facade has one global recorder per process. [`install`] puts a Prometheus
//! recorder in place (command durations as real histograms with
//! [`redis_ssot::metrics::DURATION_BUCKETS`]) and describes every family; call it before the
//! manager connects, so the manager's first state change and its `# HELP` lines are recorded.
//! If the embedding program installed a different recorder first, `/metrics` says so instead
//! of failing to start.
//!
//! The gateway's families, beside the manager's `db_client_*` ones:
//!
//! | family | type | labels |
//! |---|---|---|
//! | `gateway_ws_connections` | gauge: sockets open now | |
//! | `gateway_ws_upgrades_accepted_total` | counter | |
//! | `gateway_ws_upgrades_refused_total` | counter | `reason`: `not_ready` (503), `unauthorized` (401), `bad_request` (400), `rate_limited` (429) |
//! | `gateway_ws_closes_total` | counter | `code`: 1000, 1001, 1006 (no close frame), 1008, 1009 (a message past 1 MiB), 1011, ... |
//! | `gateway_agent_runs_total` | counter | `outcome`: `completed`, `failed` |
//! | `gateway_events_delivered_total` | counter: events sent to sockets | |
//! | `gateway_events_replayed_total` | counter: those of them read back from the log (on connect, resume or after a gap) rather than pushed live | |
//! | `gateway_http_requests_total` | counter | `route`, `status` |
//! | `gateway_logins_total` | counter: every login attempt | `outcome`: `ok`, `invalid_request` (400, 413, 415), `unauthorized`, `revoked`, `rate_limited`, `unavailable` (503), `error` (500) |
//! | `gateway_messages_total` | counter | `outcome`: `accepted`, `rate_limited`, `too_many_in_flight`, `unknown_thread`, `invalid`, `redis_unavailable`, `session_ended` |

use std::sync::OnceLock;

use metrics::{describe_counter, describe_gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Sockets open now.
pub const WS_CONNECTIONS: &str = "gateway_ws_connections";
/// Upgrades answered with 101.
pub const WS_UPGRADES_ACCEPTED: &str = "gateway_ws_upgrades_accepted_total";
/// Upgrades refused before the upgrade, by reason.
pub const WS_UPGRADES_REFUSED: &str = "gateway_ws_upgrades_refused_total";
/// Socket closes by close code.
pub const WS_CLOSES: &str = "gateway_ws_closes_total";
/// Agent runs by outcome.
pub const AGENT_RUNS: &str = "gateway_agent_runs_total";
/// Events sent to sockets.
pub const EVENTS_DELIVERED: &str = "gateway_events_delivered_total";
/// Events read back from the log and sent.
pub const EVENTS_REPLAYED: &str = "gateway_events_replayed_total";
/// HTTP requests by route and status.
pub const HTTP_REQUESTS: &str = "gateway_http_requests_total";
/// Logins by outcome.
pub const LOGINS: &str = "gateway_logins_total";
/// Chat messages (`user_message` frames) by outcome.
pub const MESSAGES: &str = "gateway_messages_total";

/// The outcomes of a chat message, each a series from the start.
pub const MESSAGE_OUTCOMES: [&str; 7] = [
    "accepted",
    "rate_limited",
    "too_many_in_flight",
    "unknown_thread",
    "invalid",
    "redis_unavailable",
    "session_ended",
];

/// How a login attempt ended (the `outcome` label of `gateway_logins_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// A session was made.
    Ok,
    /// The body could not be read, or a field is missing or wrong (400, 413, 415).
    InvalidRequest,
    /// The credential was refused (401).
    Unauthorized,
    /// The credential is on the blacklist (401).
    Revoked,
    /// Past the per-user or per-IP login limit (429).
    RateLimited,
    /// Redis could not serve the checks (503).
    Unavailable,
    /// Anything else (500).
    Error,
}

impl LoginOutcome {
    /// Every outcome, each a series from the start.
    pub const ALL: [LoginOutcome; 7] = [
        LoginOutcome::Ok,
        LoginOutcome::InvalidRequest,
        LoginOutcome::Unauthorized,
        LoginOutcome::Revoked,
        LoginOutcome::RateLimited,
        LoginOutcome::Unavailable,
        LoginOutcome::Error,
    ];

    /// The outcome a refusal stands for, by its status (a revocation by its own shape,
    /// [`crate::ApiError::revoked`]).
    pub fn of(e: &crate::ApiError) -> LoginOutcome {
        use axum::http::StatusCode as S;
        if *e == crate::ApiError::revoked() {
            return LoginOutcome::Revoked;
        }
        match e.status {
            S::BAD_REQUEST | S::PAYLOAD_TOO_LARGE | S::UNSUPPORTED_MEDIA_TYPE => {
                LoginOutcome::InvalidRequest
            }
            S::UNAUTHORIZED => LoginOutcome::Unauthorized,
            S::TOO_MANY_REQUESTS => LoginOutcome::RateLimited,
            S::SERVICE_UNAVAILABLE => LoginOutcome::Unavailable,
            _ => LoginOutcome::Error,
        }
    }

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::InvalidRequest => "invalid_request",
            LoginOutcome::Unauthorized => "unauthorized",
            LoginOutcome::Revoked => "revoked",
            LoginOutcome::RateLimited => "rate_limited",
            LoginOutcome::Unavailable => "unavailable",
            LoginOutcome::Error => "error",
        }
    }
}

/// Counts one login attempt.
pub fn count_login(outcome: LoginOutcome) {
    metrics::counter!(LOGINS, "outcome" => outcome.label()).increment(1);
}

/// The close codes whose series exist from the start, so a dashboard (and the test that
/// 1011 stays 0 through an outage) sees them at 0 rather than missing.
pub const WATCHED_CLOSE_CODES: [u16; 5] = [1000, 1001, 1008, 1009, 1011];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (once per process) and describes the gateway's families;
/// `None` when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    let handle = HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets_for_metric(
                Matcher::Full(redis_ssot::metrics::OPERATION_DURATION.to_string()),
                redis_ssot::metrics::DURATION_BUCKETS,
            );
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                Err(e) => {
                    tracing::warn!(error = %e, "bad histogram buckets; /metrics is empty");
                    return None;
                }
            };
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(_) => {
                    tracing::warn!("another metrics recorder is installed; /metrics is empty");
                    None
                }
            }
        })
        .as_ref();
    describe();
    handle
}

/// The process's Prometheus handle, installing the recorder on first use.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    match HANDLE.get() {
        Some(h) => h.as_ref(),
        None => install(),
    }
}

/// Gives every gateway family its `# HELP` text and creates the series that must exist
/// from the start. Idempotent.
pub fn describe() {
    describe_gauge!(WS_CONNECTIONS, "WebSockets open on this gateway instance.");
    describe_counter!(
        WS_UPGRADES_ACCEPTED,
        "WebSocket upgrades accepted (101 Switching Protocols)."
    );
    describe_counter!(
        WS_UPGRADES_REFUSED,
        "WebSocket upgrades refused before the upgrade, by reason (not_ready is a 503 while Redis cannot serve)."
    );
    describe_counter!(
        WS_CLOSES,
        "WebSocket closes by close code (1006: the connection ended without a close frame)."
    );
    describe_counter!(AGENT_RUNS, "Agent runs by outcome.");
    describe_counter!(EVENTS_DELIVERED, "Chat events sent to WebSockets.");
    describe_counter!(
        EVENTS_REPLAYED,
        "Chat events sent to WebSockets from the stored log (on connect, resume or after a gap) rather than pushed live."
    );
    describe_counter!(HTTP_REQUESTS, "HTTP requests by route and status code.");
    describe_counter!(
        LOGINS,
        "Login attempts, every one, by outcome: ok, invalid_request, unauthorized, revoked, rate_limited, unavailable, error."
    );
    describe_counter!(
        MESSAGES,
        "Chat messages (user_message frames) by outcome: accepted, or why they were refused (nothing of a refused message is stored)."
    );
    for outcome in MESSAGE_OUTCOMES {
        metrics::counter!(MESSAGES, "outcome" => outcome).increment(0);
    }
    for outcome in LoginOutcome::ALL {
        metrics::counter!(LOGINS, "outcome" => outcome.label()).increment(0);
    }
    for code in WATCHED_CLOSE_CODES {
        metrics::counter!(WS_CLOSES, "code" => code.to_string()).increment(0);
    }
    for reason in ["not_ready", "unauthorized"] {
        metrics::counter!(WS_UPGRADES_REFUSED, "reason" => reason).increment(0);
    }
    for outcome in ["completed", "failed"] {
        metrics::counter!(AGENT_RUNS, "outcome" => outcome).increment(0);
    }
    metrics::counter!(WS_UPGRADES_ACCEPTED).increment(0);
    metrics::gauge!(WS_CONNECTIONS).increment(0.0);
    metrics::counter!(EVENTS_DELIVERED).increment(0);
    metrics::counter!(EVENTS_REPLAYED).increment(0);
}

/// Counts a socket close with `code`.
pub fn count_close(code: u16) {
    metrics::counter!(WS_CLOSES, "code" => code.to_string()).increment(1);
}

/// Counts a chat message's outcome (one of [`MESSAGE_OUTCOMES`]).
pub fn count_message(outcome: &'static str) {
    metrics::counter!(MESSAGES, "outcome" => outcome).increment(1);
}

/// Counts an agent run's end.
pub fn count_run(completed: bool) {
    let outcome = if completed { "completed" } else { "failed" };
    metrics::counter!(AGENT_RUNS, "outcome" => outcome).increment(1);
}

/// Counts events sent to a socket; `replayed` when they were read back from the log.
pub fn count_events(n: usize, replayed: bool) {
    metrics::counter!(EVENTS_DELIVERED).increment(n as u64);
    if replayed {
        metrics::counter!(EVENTS_REPLAYED).increment(n as u64);
    }
}

/// Renders the Prometheus text exposition.
pub fn render() -> String {
    match prometheus() {
        Some(h) => h.render(),
        None => "# another metrics recorder is installed in this process\n".to_string(),
    }
}
