//! `RateLimiter`: an exact sliding-window log, one Lua script per check.
//!
//! Why a log in a sorted set rather than a fixed-window counter: a fixed window lets a client
//! send twice the limit across a window boundary. Why one script: the prune, the count and the
//! insert must be one atomic step, or 100 concurrent callers all see "9 used" and all pass.
//! The script reads the server's clock (`TIME`), so several processes with skewed clocks still
//! share one timeline. Cost: one sorted-set entry per admitted call within the window.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::{FailMode, ttl_ms};
use crate::error::{Error, Result};
use crate::keys;
use crate::manager::RedisManager;

/// Prune, count, admit or refuse; returns `{allowed, remaining, retry_after_ms}`.
static CHECK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1, 0}
end
local retry = window
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then retry = tonumber(oldest[2]) + window - now end
if retry < 1 then retry = 1 end
return {0, 0, retry}
",
    )
});

/// The answer of one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RateDecision {
    /// Whether this call is admitted (and was counted).
    pub allowed: bool,
    /// Calls left in the current window after this one.
    pub remaining: u32,
    /// When a refused caller may try again (zero when allowed).
    pub retry_after: Duration,
}

/// Exact per-key rate limiting shared by every process using the same Redis.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    manager: RedisManager,
    fail_mode: FailMode,
}

impl RateLimiter {
    /// A limiter that fails closed (an outage is an `Err`, never a free pass).
    pub fn new(manager: RedisManager) -> RateLimiter {
        RateLimiter {
            manager,
            fail_mode: FailMode::Closed,
        }
    }

    /// Chooses what an outage means; see [`FailMode`].
    pub fn with_fail_mode(mut self, fail_mode: FailMode) -> RateLimiter {
        self.fail_mode = fail_mode;
        self
    }

    /// The configured fail mode.
    pub fn fail_mode(&self) -> FailMode {
        self.fail_mode
    }

    /// Counts one call against `key` (at most `limit` calls per `window`) and says whether it
    /// is admitted. A refused call is not counted. `key` is a relative name
    /// ([`keys::check_name`]); the Redis key is `ratelimit:<key>`.
    pub async fn check(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision> {
        let redis_key = keys::rate_limit(key)?;
        if window.is_zero() {
            return Err(Error::InvalidKey(
                "rate limit window must be positive".into(),
            ));
        }
        let mut nonce = [0u8; 16];
        rand::fill(&mut nonce);
        let mut inv = CHECK.key(&redis_key);
        inv.arg(limit)
            .arg(ttl_ms(window))
            .arg(keys::hex_lower(&nonce));
        match self.manager.invoke::<(i64, i64, i64)>(&inv).await {
            Ok((allowed, remaining, retry_ms)) => Ok(RateDecision {
                allowed: allowed == 1,
                remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
                retry_after: Duration::from_millis(u64::try_from(retry_ms.max(0)).unwrap_or(0)),
            }),
            Err(e) if e.is_unavailable() && self.fail_mode == FailMode::Open => {
                tracing::warn!(error = %e, "rate limiter failing open");
                Ok(RateDecision {
                    allowed: true,
                    remaining: limit,
                    retry_after: Duration::ZERO,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Like [`RateLimiter::check`], but a refusal is `Err(Error::RateLimited)`: for call
    /// sites that just want `?`.
    pub async fn enforce(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision> {
        let decision = self.check(key, limit, window).await?;
        if decision.allowed {
            Ok(decision)
        } else {
            Err(Error::RateLimited {
                retry_after: decision.retry_after,
            })
        }
    }

    /// Forgets every call counted against `key`.
    pub async fn reset(&self, key: &str) -> Result<()> {
        let redis_key = keys::rate_limit(key)?;
        self.manager.unlink(&[&redis_key]).await.map(|_| ())
    }
}
