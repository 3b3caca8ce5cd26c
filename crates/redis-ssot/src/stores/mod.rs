//! Domain stores built on the manager: each file is one store, and each uses only the
//! manager's public API, so every command they send passes the choke point.
//!
//! - `factory`: [`RedisFactory`], [`UserContext`] and the per-user [`UserClient`].
//! - `session`: [`SessionStore`], opaque tokens stored only as SHA-256.
//! - `blacklist`: [`TokenBlacklist`], revoked tokens until they would have expired.
//! - `rate_limit`: [`RateLimiter`], an exact sliding-window log in one Lua script.
//! - `cache`: [`Cache`], typed JSON with single-flight `get_or_compute`.
//! - `user_cache`: [`UserCache`], the user-data and permission caches (30 min TTL).
//! - `analytics`: [`Analytics`], cached JSON and capped daily event lists.
//! - `agent_state`: [`AgentStateStore`], run state with compare-and-set, thread history.

mod agent_state;
mod analytics;
mod blacklist;
mod cache;
mod factory;
mod rate_limit;
mod session;
mod user_cache;

pub use agent_state::{AgentState, AgentStateStore, RunStatus};
pub use analytics::{Analytics, utc_day};
pub use blacklist::TokenBlacklist;
pub use cache::{Cache, CacheStats};
pub use factory::{RedisFactory, UserClient, UserContext, UserLimits, UserStats};
pub use rate_limit::{Admission, Lease, Limits, RateDecision, RateLimiter, Refusal};
pub use session::{NewSession, Session, SessionStore, SessionToken};
pub use user_cache::UserCache;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a security check does when Redis cannot be reached.
///
/// `Closed` (the default) returns the error, so an outage can never turn into "not revoked"
/// or "not limited"; `Open` answers as if the check passed, for callers that prefer
/// availability and accept the risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    /// Outage → `Err` (deny).
    #[default]
    Closed,
    /// Outage → allow.
    Open,
}

/// Milliseconds since the Unix epoch (wall clock; 0 if the clock is before 1970).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A duration in whole milliseconds, at least 1 (Redis rejects a zero TTL).
pub(crate) fn ttl_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A real server and a ready manager on it, for the stores' unit tests.
#[cfg(test)]
pub(crate) async fn test_manager() -> (testkit::RedisServer, crate::RedisManager) {
    let server = testkit::RedisServer::start().expect("redis-server starts");
    let url = server.url();
    let manager =
        crate::RedisManager::connect(crate::Config::from_url(&url).expect("url")).expect("config");
    manager
        .wait_ready(Duration::from_secs(5))
        .await
        .expect("ready");
    (server, manager)
}
