//! # redis-ssot: one Redis manager per process
//!
//! Every part of a service talks to Redis through one [`RedisManager`]: one shared
//! multiplexed connection, supervised, with readiness, a circuit breaker, timeouts,
//! backpressure, health checks and metrics in one choke point.
//!
//! ## Map
//! - [`config`]: URLs (`redis://`, `rediss://`, `redis+unix://`, `redis+sentinel://`,
//!   `redis+cluster://`), environment, validation, secret redaction.
//! - [`error`]: the [`Error`] enum callers match on, its kinds ([`ConnectionKind`],
//!   [`BusyReason`], [`Outcome`]), and how redis-rs errors are classified.
//! - `manager`: the [`RedisManager`] handle, its shared state (`Inner`), `connect`, `status`,
//!   the operator controls, `shutdown`.
//! - `chokepoint`: the one pipeline every command runs through.
//! - `coalesce`: single commands issued while others are in flight go out as one pipeline.
//! - `gate`: the breaker, the in-flight limit and the timeout streak, behind one permit.
//! - `slot`: the installed connection, its generation, its spare handles, and the
//!   supervisor's inbox.
//! - `conn_cache`: spare handles of the shared connection, per thread.
//! - `deadline`: the coarse deadline ring, its watchdog, and `Deadline`.
//! - `connection`: turns a config into a live standalone, Sentinel or cluster connection.
//! - `handshake`: the PING that ends every connect, and a loading server's progress.
//! - `supervisor`: connects and reconnects forever; loading, swaps and connection checks.
//! - [`breaker`]: the circuit breaker.
//! - `backoff`: capped exponential backoff with full jitter.
//! - `health`: the PING/ROLE monitor.
//! - `lifecycle`: the shutdown signal and the background tasks.
//! - `notes`: the last errors, redacted, for `status()`.
//! - `pool`: dedicated connections for blocking commands and WATCH.
//! - `replica`: opt-in reads from a replica ([`ReplicaReads`]).
//! - `topology`: the periodic cluster slot-map refresh.
//! - `shard`: per-thread counters and cache-line padding for the hot path.
//! - `commands`: the typed command surface (strings, lists, hashes, sets, sorted sets,
//!   streams, pipelines, scripts, SCAN, `cmd()`, durable writes).
//! - [`pubsub`]: subscriptions that resubscribe after a reconnect and report gaps.
//! - `pubsub_dynamic`: one subscription whose channels and patterns change as it runs
//!   ([`DynamicSubscription`], used by the Python package's `PubSub`).
//! - [`status`]: the serializable [`Status`] snapshot and its one-line verdict.
//! - [`state`]: the connection states.
//! - [`metrics`]: metric names, descriptions and buckets.
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
mod coalesce;
mod commands;
pub mod config;
mod conn_cache;
mod connection;
mod deadline;
pub mod error;
mod gate;
mod global;
mod handshake;
mod health;
pub mod keys;
mod lifecycle;
mod manager;
pub mod metrics;
mod notes;
mod pool;
pub mod pubsub;
mod pubsub_dynamic;
mod replica;
mod shard;
mod slot;
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
pub use error::{BusyReason, ConnectionKind, Error, Outcome, Result};
pub use global::{get_redis_manager, init};
pub use handshake::LoadProgress;
pub use manager::RedisManager;
pub use pubsub::{PubSubEvent, Subscription};
pub use pubsub_dynamic::{DynamicSubscription, PubSubControl, PubSubMessage};
pub use replica::ReplicaReads;
pub use state::ConnState;
pub use status::{NotReadyReason, Status};

pub use keys::UserId;
pub use stores::{
    AgentState, AgentStateStore, Analytics, Cache, CacheStats, FailMode, RateDecision, RateLimiter,
    RedisFactory, RunStatus, Session, SessionStore, SessionToken, TokenBlacklist, UserCache,
    UserClient, UserContext, UserLimits, UserStats,
};

/// Re-exported so callers can build `Cmd`, `Pipeline` and `Script` values for the escape
/// hatches without depending on redis-rs themselves.
pub use redis;
