//! [`AppState`]: what every handler shares, built once per gateway instance.

use std::sync::Arc;

use redis_ssot::RedisManager;

use crate::access::{Access, RunStates};
use crate::agent::Agent;
use crate::auth::Authenticator;
use crate::auth::demo::DemoAuthenticator;
use crate::auth::jwt::JwtAuthenticator;
use crate::config::{AuthMode, GatewayConfig};
use crate::eventlog::EventLog;
use crate::history::Threads;
use crate::hub::Hub;
use crate::outage::OutageGate;

struct Shared {
    config: GatewayConfig,
    manager: RedisManager,
    auth: Arc<dyn Authenticator>,
    access: Access,
    runs: RunStates,
    log: EventLog,
    threads: Threads,
    hub: Hub,
    outage: OutageGate,
    instance: String,
}

/// The gateway's shared state (cheap to clone: one `Arc`).
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

impl AppState {
    /// Builds the state and starts the instance's notification subscription. Must run inside
    /// a Tokio runtime.
    pub fn new(config: GatewayConfig, manager: RedisManager) -> AppState {
        let auth: Arc<dyn Authenticator> = match &config.auth {
            AuthMode::Demo => Arc::new(DemoAuthenticator),
            AuthMode::Jwt {
                secret,
                issuer,
                audience,
            } => Arc::new(JwtAuthenticator::new(
                secret.clone(),
                issuer.clone(),
                audience.clone(),
            )),
        };
        AppState {
            shared: Arc::new(Shared {
                access: Access::new(&manager, &config),
                runs: RunStates::new(&manager),
                log: EventLog::new(
                    manager.clone(),
                    config.user_log_max_len,
                    config.thread_log_max_len,
                ),
                threads: Threads::new(manager.clone()),
                hub: Hub::start(manager.clone()),
                outage: OutageGate::new(config.outage_cooldown),
                instance: crate::token::random_hex(4),
                auth,
                config,
                manager,
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &GatewayConfig {
        &self.shared.config
    }

    /// The one Redis manager.
    pub fn manager(&self) -> &RedisManager {
        &self.shared.manager
    }

    /// The login verifier.
    pub fn authenticator(&self) -> &dyn Authenticator {
        self.shared.auth.as_ref()
    }

    /// Sessions, blacklist and rate limits.
    pub fn access(&self) -> &Access {
        &self.shared.access
    }

    /// Agent run state.
    pub fn run_states(&self) -> &RunStates {
        &self.shared.runs
    }

    /// The event log.
    pub fn log(&self) -> &EventLog {
        &self.shared.log
    }

    /// The users' threads and their history.
    pub fn threads(&self) -> &Threads {
        &self.shared.threads
    }

    /// This instance's sockets.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// The one-outage-at-a-time gate of `POST /api/simulate-outage`.
    pub fn outage_gate(&self) -> &OutageGate {
        &self.shared.outage
    }

    /// Whether `POST /api/simulate-outage` exists: an outage hook, and someone allowed to
    /// use it (any session in demo mode; the admin token otherwise).
    pub fn outage_routed(&self) -> bool {
        let c = &self.shared.config;
        c.outage.is_some() && (matches!(c.auth, AuthMode::Demo) || c.admin_token.is_some())
    }

    /// Whether the page's "Simulate outage" control works for a logged-in user: demo mode
    /// with an outage hook (with a real authenticator it needs the admin token, which the
    /// page never has).
    pub fn outage_for_sessions(&self) -> bool {
        let c = &self.shared.config;
        c.outage.is_some() && matches!(c.auth, AuthMode::Demo)
    }

    /// The agent.
    pub fn agent(&self) -> &dyn Agent {
        self.shared.config.agent.as_ref()
    }

    /// A random id naming this gateway instance in `/api/status` and logs.
    pub fn instance(&self) -> &str {
        &self.shared.instance
    }

    /// Whether new sockets can be served: the manager is ready and this instance's
    /// notification subscription is confirmed.
    pub fn accepting(&self) -> bool {
        self.shared.manager.is_ready() && self.shared.hub.is_subscribed()
    }
}
