//! # redis-ssot: one Redis manager per process
//!
//! Every part of a service talks to Redis through one [`RedisManager`]: one shared
//! multiplexed connection, supervised, with readiness, a circuit breaker, timeouts,
//! backpressure, health checks and metrics in one choke point.
//!
//! ## Map
//! - [`config`]: URLs (`redis://`, `rediss://`, `redis+unix://`, `redis+sentinel://`,
//!   `redis+cluster://`), environment, validation, secret redaction.
//! - [`error`]: the [`Error`] enum callers match on, and how redis-rs errors are classified.
//! - `manager`: the [`RedisManager`] handle, its shared state, `connect`, `status`, `shutdown`.
//! - `chokepoint`: the one pipeline every command runs through.
//! - `connection`: turns a config into a live standalone, Sentinel or cluster connection.
//! - `supervisor`: connects and reconnects forever, with backoff and a fast recovery probe.
//! - [`breaker`]: the circuit breaker.
//! - `backoff`: capped exponential backoff with full jitter.
//! - `health`: the PING/ROLE monitor.
//! - `pool`: dedicated connections for blocking commands and WATCH.
//! - `commands`: the typed command surface (strings, lists, hashes, sets, sorted sets,
//!   streams, pipelines, scripts, SCAN, `cmd()`).
//! - [`pubsub`]: subscriptions that resubscribe after a reconnect and report gaps.
//! - [`status`]: the serializable [`Status`] snapshot.
//! - [`state`]: the connection states.
//! - [`metrics`]: metric names.
//! - `global`: the process-wide [`init`] / [`get_redis_manager`].
//! - [`keys`]: every key the stores use, built from typed parts ([`UserId`]); the key layout.
//! - [`stores`]: the domain stores on top of the manager: [`RedisFactory`] / [`UserClient`],
//!   [`SessionStore`], [`TokenBlacklist`], [`RateLimiter`], [`Cache`], [`UserCache`],
//!   [`Analytics`], [`AgentStateStore`].
//!
//! ## Example
//! ```no_run
//! # async fn demo() -> redis_ssot::Result<()> {
//! let manager = redis_ssot::init(redis_ssot::Config::from_env()?)?;
//! manager.wait_ready(std::time::Duration::from_secs(5)).await?;
//! manager.set("greeting", "hello").await?;
//! let v: Option<String> = manager.get("greeting").await?;
//! assert_eq!(v.as_deref(), Some("hello"));
//! # Ok(()) }
//! ```

mod backoff;
pub mod breaker;
mod chokepoint;
mod commands;
pub mod config;
mod conn_cache;
mod connection;
mod deadline;
pub mod error;
mod global;
mod health;
pub mod keys;
mod manager;
pub mod metrics;
mod pool;
pub mod pubsub;
mod replica;
mod shard;
pub mod state;
pub mod status;
pub mod stores;
mod supervisor;
mod topology;

pub use breaker::BreakerState;
pub use commands::{
    Durability, DurableWrites, MAX_KEY_LEN, ScanStream, SetCondition, SetOptions, StreamEntry, Ttl,
};
pub use config::{Config, Secret, ServerAddr, TlsConfig, Topology};
pub use connection::Conn;
pub use error::{Error, Outcome, Result};
pub use global::{get_redis_manager, init};
pub use manager::RedisManager;
pub use pubsub::{PubSubEvent, Subscription};
pub use replica::ReplicaReads;
pub use state::ConnState;
pub use status::Status;

pub use keys::UserId;
pub use stores::{
    AgentState, AgentStateStore, Analytics, Cache, CacheStats, FailMode, RateDecision, RateLimiter,
    RedisFactory, RunStatus, Session, SessionStore, SessionToken, TokenBlacklist, UserCache,
    UserClient, UserContext, UserLimits, UserStats,
};

/// Re-exported so callers can build `Cmd`, `Pipeline` and `Script` values for the escape
/// hatches without depending on redis-rs themselves.
pub use redis;
