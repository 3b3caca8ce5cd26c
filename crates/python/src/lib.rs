//! # redis_ssot._native: the Python package's native part
//!
//! Python services use the same one manager per process as Rust ones: every command a Python
//! caller makes goes through the Rust `RedisManager`'s choke point. This crate is the glue;
//! the Python-facing API (names, docs, stubs) lives in `python/redis_ssot`.
//!
//! ## Map
//! - [`runtime`]: the Tokio runtime, the fork generation, and `Local` (process-owned values).
//! - [`core`]: `Core`, the manager behind every handle (re-created after `fork()`), and the
//!   process-wide `init`.
//! - [`bridge`]: asyncio futures completed in batches from the Tokio threads, one event-loop
//!   wake-up per batch, no GIL on the I/O threads; cancelled waits aborted; the blocking mode.
//! - [`client`]: `Client`, the one native class behind `RedisManager`, `Pipeline` and
//!   `redis_ssot.sync`; operator controls; pipelines.
//! - `cmd_keys`, `cmd_string`, `cmd_hash`, `cmd_coll`, `cmd_zset`: the commands, with redis-py's
//!   names and shapes. `cmd_scan`: HSCAN/SSCAN/ZSCAN steps (their `*_iter` loops are Python).
//!   `cmd_server`: TIME, FLUSHALL and the script cache.
//! - [`pubsub`]: `PubSub` over one dynamic subscription. [`script`]: `register_script`.
//! - [`stores`]: the Rust stores with the seeds' names (shared key layout).
//! - [`args`]: Python values to Redis arguments. [`reply`]: replies to Python values.
//! - [`config`]: `init()`'s options to a manager `Config`.
//! - [`errors`]: manager error kinds to the exception classes of `redis_ssot.errors`.
//! - [`json`]: Python objects to JSON and back, for the stores.

pub(crate) mod args;
pub(crate) mod bridge;
pub(crate) mod client;
mod cmd_coll;
mod cmd_hash;
pub(crate) mod cmd_keys;
mod cmd_scan;
mod cmd_server;
mod cmd_string;
mod cmd_zset;
pub(crate) mod config;
pub(crate) mod core;
pub(crate) mod errors;
pub(crate) mod json;
pub(crate) mod pubsub;
pub(crate) mod reply;
pub(crate) mod runtime;
pub(crate) mod script;
pub(crate) mod stores;

use pyo3::prelude::*;

/// The module `redis_ssot._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::install_fork_handler().map_err(|e| {
        errors::os_error(format!("redis_ssot cannot install its fork handler: {e}"))
    })?;
    m.add_class::<client::Client>()?;
    m.add_class::<bridge::LoopBridge>()?;
    m.add_class::<pubsub::PubSub>()?;
    m.add_class::<script::Script>()?;
    m.add_class::<stores::factory::RedisFactory>()?;
    m.add_class::<stores::factory::UserContext>()?;
    m.add_class::<stores::factory::UserClient>()?;
    m.add_class::<stores::session::SessionStore>()?;
    m.add_class::<stores::session::TokenBlacklist>()?;
    m.add_class::<stores::session::RateLimiter>()?;
    m.add_class::<stores::cache::Cache>()?;
    m.add_class::<stores::cache::UserCache>()?;
    m.add_class::<stores::cache::Analytics>()?;
    m.add_class::<stores::agent::AgentStateStore>()?;
    m.add_function(wrap_pyfunction!(client::init, m)?)?;
    m.add_function(wrap_pyfunction!(client::get_redis_manager, m)?)?;
    m.add("CONFIG_OPTIONS", config::OPTIONS.to_vec())?;
    Ok(())
}
