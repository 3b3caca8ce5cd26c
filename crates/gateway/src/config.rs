//! [`GatewayConfig`]: everything `serve` needs besides the manager.
//!
//! Defaults are for the demo (`make run`): bare-username login, the demo agent, limits small
//! enough to see working. The binary overrides them from flags and the environment.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::agent::Agent;
use crate::agent::demo::DemoAgent;

/// Pauses the embedded Redis for the given time (the CLI sends SIGSTOP, then SIGCONT). Only
/// the caller that started that server can provide it; against an external Redis there is
/// none, and the "simulate outage" control does not exist.
pub type OutageHook = Arc<dyn Fn(Duration) + Send + Sync>;

/// How `/api/login` decides who the caller is.
#[derive(Clone)]
pub enum AuthMode {
    /// Trust a bare username: a demo, not authentication (the README says so).
    Demo,
    /// Verify an HS256 JWT issued by an external auth service; its `sub` is the user.
    Jwt {
        /// The shared HMAC secret.
        secret: Vec<u8>,
        /// When set, the token's `iss` must equal it.
        issuer: Option<String>,
        /// When set, the token's `aud` must equal (or contain) it.
        audience: Option<String>,
    },
}

impl std::fmt::Debug for AuthMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthMode::Demo => f.write_str("Demo"),
            AuthMode::Jwt {
                issuer, audience, ..
            } => f
                .debug_struct("Jwt")
                .field("secret", &"***")
                .field("issuer", issuer)
                .field("audience", audience)
                .finish(),
        }
    }
}

/// Login attempts allowed per window, per username and per client IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimit {
    /// Attempts per username per window.
    pub per_user: u32,
    /// Attempts per client IP per window.
    pub per_ip: u32,
    /// The window.
    pub window: Duration,
}

/// Per-user limits on chat messages (each one starts an agent run), kept in Redis by
/// `RateLimiter::admit`, so they hold across gateway instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimit {
    /// Messages admitted per second (sliding window).
    pub per_second: u32,
    /// Runs admitted and not yet finished.
    pub in_flight: u32,
    /// How long a run counts as in flight if the instance that runs it dies before it ends.
    pub lease: Duration,
}

/// The gateway's settings. Build with [`GatewayConfig::new`] and adjust fields.
#[derive(Clone)]
pub struct GatewayConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Login mode.
    pub auth: AuthMode,
    /// `Some` only when the caller runs its own embedded Redis: enables
    /// `POST /api/simulate-outage`. In demo login mode any logged-in user may call it (the
    /// page's control); with a real authenticator (JWT) only the admin token may, so the
    /// route exists then only when [`GatewayConfig::admin_token`] is set.
    pub outage: Option<OutageHook>,
    /// How long one simulated outage pauses Redis.
    pub outage_duration: Duration,
    /// How long after a simulated outage ends before the next may start (one at a time,
    /// for the whole gateway, whoever asks; see [`crate::outage`]).
    pub outage_cooldown: Duration,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// Login rate limits.
    pub login_limit: LoginLimit,
    /// Chat message limits, per user.
    pub message_limit: MessageLimit,
    /// Approximate cap of each user's delivery log (XADD MAXLEN ~).
    pub user_log_max_len: u64,
    /// Approximate cap of each thread's history.
    pub thread_log_max_len: u64,
    /// Largest accepted client frame; larger ones get a `frame_too_large` error event.
    pub max_frame_bytes: usize,
    /// How long a run keeps retrying its appends while Redis is unavailable.
    pub run_retry_deadline: Duration,
    /// The agent that answers messages.
    pub agent: Arc<dyn Agent>,
    /// Trust `X-Forwarded-For` for the client IP (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// The operator's token: when set, `POST /api/admin/reconnect` and
    /// `POST /api/admin/breaker/reset` exist and accept it as `Authorization: Bearer <token>`,
    /// and `/api/status` shows addresses to it. Unset: the admin routes are 404.
    pub admin_token: Option<crate::admin::AdminToken>,
}

impl GatewayConfig {
    /// The demo defaults, listening on `listen`.
    pub fn new(listen: SocketAddr) -> GatewayConfig {
        GatewayConfig {
            listen,
            auth: AuthMode::Demo,
            outage: None,
            outage_duration: Duration::from_secs(5),
            outage_cooldown: Duration::from_secs(30),
            session_ttl: Duration::from_secs(24 * 3600),
            login_limit: LoginLimit {
                per_user: 10,
                per_ip: 60,
                window: Duration::from_secs(60),
            },
            message_limit: MessageLimit {
                per_second: 5,
                in_flight: 3,
                lease: Duration::from_secs(600),
            },
            user_log_max_len: 10_000,
            thread_log_max_len: 10_000,
            max_frame_bytes: 64 * 1024,
            run_retry_deadline: Duration::from_secs(30),
            agent: Arc::new(DemoAgent),
            trust_forwarded_for: false,
            admin_token: None,
        }
    }
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("listen", &self.listen)
            .field("auth", &self.auth)
            .field("outage", &self.outage.is_some())
            .field("admin_token", &self.admin_token.is_some())
            .field("agent", &self.agent.name())
            .finish_non_exhaustive()
    }
}
