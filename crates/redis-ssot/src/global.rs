//! The process-wide manager: `init` once, `get_redis_manager` everywhere.
//!
//! `init` is idempotent for the same configuration, so every part of a service can call it
//! with what it was configured with and all of them share one manager and one connection.
//! A second `init` with a different configuration is an error, not a silent second pool: that
//! is exactly how the system we replace ended up with four managers.

use std::sync::Mutex;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::manager::RedisManager;

static GLOBAL: Mutex<Option<RedisManager>> = Mutex::new(None);

/// Creates the process-wide manager, or returns the existing one if `config` is the same.
pub fn init(config: Config) -> Result<RedisManager> {
    let mut slot = GLOBAL
        .lock()
        .map_err(|_| Error::config("init", "the global manager lock is poisoned"))?;
    if let Some(existing) = slot.as_ref() {
        if *existing.config() == config {
            return Ok(existing.clone());
        }
        return Err(Error::config(
            "init",
            format!(
                "the process-wide manager already exists with a different config ({}); refusing a second one",
                existing.config().redacted_url()
            ),
        ));
    }
    let manager = RedisManager::connect(config)?;
    *slot = Some(manager.clone());
    Ok(manager)
}

/// The process-wide manager, or `Err(NotInitialized)` before [`init`].
pub fn get_redis_manager() -> Result<RedisManager> {
    GLOBAL
        .lock()
        .ok()
        .and_then(|slot| slot.clone())
        .ok_or(Error::NotInitialized)
}
