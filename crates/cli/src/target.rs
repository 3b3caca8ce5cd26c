//! Where the binary's Redis comes from: a URL (flag or `REDIS_URL`) or an embedded child.

use std::path::Path;

use crate::embedded::{EmbeddedRedis, Listen};

/// The Redis a command talks to; owns the embedded child when there is one.
pub enum RedisTarget {
    /// An external server.
    External(String),
    /// Our own child, stopped when this value is dropped.
    Embedded(EmbeddedRedis),
}

impl RedisTarget {
    /// `--redis-url`, else `REDIS_URL`, else a new embedded server.
    pub fn resolve(
        flag: Option<String>,
        listen: Listen,
        data_dir: Option<&Path>,
    ) -> Result<RedisTarget, String> {
        if let Some(url) = flag
            .or_else(|| std::env::var("REDIS_URL").ok())
            .filter(|u| !u.is_empty())
        {
            return Ok(RedisTarget::External(url));
        }
        EmbeddedRedis::start(listen, data_dir).map(RedisTarget::Embedded)
    }

    /// The URL to connect to.
    pub fn url(&self) -> &str {
        match self {
            RedisTarget::External(u) => u,
            RedisTarget::Embedded(e) => e.url(),
        }
    }

    /// The manager's configuration: the URL from here, everything else (`REDIS_PASSWORD`,
    /// `REDIS_SSOT_TLS_CA_FILE`, every `REDIS_SSOT_*` tunable) from the environment, exactly
    /// as a service reads it with `Config::from_env`.
    pub fn config(&self) -> Result<redis_ssot::Config, String> {
        let url = self.url().to_string();
        redis_ssot::Config::check_environment().map_err(|e| e.to_string())?;
        redis_ssot::Config::from_lookup(|name| {
            if name == "REDIS_URL" {
                Some(url.clone())
            } else {
                std::env::var(name).ok()
            }
        })
        .map_err(|e| e.to_string())
    }

    /// Whether this is our own child server.
    pub fn is_embedded(&self) -> bool {
        matches!(self, RedisTarget::Embedded(_))
    }
}
