//! `RateLimiter`: an exact sliding-window log, one Lua script per check.
//!
//! Why a log in a sorted set rather than a fixed-window counter: a fixed window lets a client
//! send twice the limit across a window boundary. Why one script: the prune, the count and the
//! insert must be one atomic step, or 100 concurrent callers all see "9 used" and all pass.
//! The script reads the server's clock (`TIME`), so several processes with skewed clocks still
//! share one timeline. Cost: one sorted-set entry per admitted call within the window.
//!
//! [`RateLimiter::admit`] adds a second limit on the same key: how many admitted calls may
//! be in flight at once (an agent run, a download). An admitted call gets a [`Lease`],
//! given back with [`RateLimiter::release`] when it ends; a lease that is never given back
//! (the process died) expires by itself. Leases live in the same sorted set as the window's
//! log, with negative scores (`-expiry`), so one key (one cluster slot) holds both and one
//! script checks both atomically: window entries are `[0, now]`, live leases `(-inf, -now)`,
//! and the stale of both kinds, `[-now, now - window]`, go in one ZREMRANGEBYSCORE.

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

/// Window log and leases in one sorted set (see the module docs); returns
/// `{allowed, reason, retry_after_ms}` with reason 0 (admitted), 1 (rate) or 2 (in flight).
static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local per_window = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local in_flight = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], -now, now - window)
local recent = redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), '+inf')
if recent >= per_window then
  local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - window), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  local retry = window
  if oldest[2] then retry = tonumber(oldest[2]) + window - now end
  if retry < 1 then retry = 1 end
  return {0, 1, retry}
end
if in_flight > 0 and redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. (-now)) >= in_flight then
  return {0, 2, window}
end
redis.call('ZADD', KEYS[1], now, 'w:' .. ARGV[5], -(now + lease), 'l:' .. ARGV[5])
local keep = window
if lease > keep then keep = lease end
redis.call('PEXPIRE', KEYS[1], keep)
return {1, 0, 0}
",
    )
});

/// Limits on one key: calls per window, and calls in flight at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls admitted per sliding window.
    pub per_window: u32,
    /// The window.
    pub window: Duration,
    /// Calls admitted and not yet released; `None`: no limit.
    pub in_flight: Option<u32>,
    /// How long an unreleased lease counts before it expires by itself (longer than the
    /// longest call).
    pub lease: Duration,
}

/// Why [`RateLimiter::admit`] refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// More than `per_window` calls in the window.
    Rate,
    /// `in_flight` calls admitted and not yet released.
    InFlight,
}

/// The answer of [`RateLimiter::admit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Admitted: counted in the window, and in flight until the lease is released.
    Admitted(Lease),
    /// Refused, not counted; try again after `retry_after` (for [`Refusal::InFlight`] the
    /// window: calls in flight end when they end).
    Refused {
        /// Which limit.
        reason: Refusal,
        /// When to try again.
        retry_after: Duration,
    },
}

/// An admitted call's place among its key's calls in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    key: String,
    member: String,
}

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

    /// Counts one call against `key` under both of `limits`: admitted only if the window has
    /// room and fewer than `in_flight` earlier calls hold a lease. One script call; a refused
    /// call is not counted. Always fails closed: a lease cannot be granted without Redis.
    pub async fn admit(&self, key: &str, limits: &Limits) -> Result<Admission> {
        let redis_key = keys::rate_limit(key)?;
        if limits.window.is_zero() || limits.lease.is_zero() {
            return Err(Error::InvalidKey(
                "rate limit window and lease must be positive".into(),
            ));
        }
        let mut nonce = [0u8; 16];
        rand::fill(&mut nonce);
        let nonce = keys::hex_lower(&nonce);
        let mut inv = ADMIT.key(&redis_key);
        inv.arg(limits.per_window)
            .arg(ttl_ms(limits.window))
            .arg(limits.in_flight.unwrap_or(0))
            .arg(ttl_ms(limits.lease))
            .arg(&nonce);
        let (allowed, reason, retry_ms): (i64, i64, i64) = self.manager.invoke(&inv).await?;
        if allowed == 1 {
            return Ok(Admission::Admitted(Lease {
                key: redis_key,
                member: format!("l:{nonce}"),
            }));
        }
        Ok(Admission::Refused {
            reason: if reason == 2 {
                Refusal::InFlight
            } else {
                Refusal::Rate
            },
            retry_after: Duration::from_millis(u64::try_from(retry_ms.max(1)).unwrap_or(1)),
        })
    }

    /// Gives back a lease of [`RateLimiter::admit`]: the call is no longer in flight.
    /// Returns whether the lease was still held (false once it expired).
    pub async fn release(&self, lease: &Lease) -> Result<bool> {
        Ok(self.manager.zrem(&lease.key, lease.member.as_str()).await? > 0)
    }

    /// Forgets every call counted against `key`.
    pub async fn reset(&self, key: &str) -> Result<()> {
        let redis_key = keys::rate_limit(key)?;
        self.manager.unlink(&[&redis_key]).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn limiter() -> (testkit::RedisServer, RateLimiter) {
        let (server, manager) = crate::stores::test_manager().await;
        (server, RateLimiter::new(manager))
    }

    fn lease(a: Admission) -> Lease {
        match a {
            Admission::Admitted(l) => l,
            refused => panic!("expected an admission, got {refused:?}"),
        }
    }

    #[tokio::test]
    async fn admit_limits_calls_per_window_and_in_flight_and_release_frees_a_place() {
        let (_server, rl) = limiter().await;
        let limits = Limits {
            per_window: 3,
            window: Duration::from_secs(10),
            in_flight: Some(2),
            lease: Duration::from_secs(60),
        };
        let first = lease(rl.admit("runs:u1", &limits).await.expect("admit"));
        let _second = lease(rl.admit("runs:u1", &limits).await.expect("admit"));
        assert_eq!(
            rl.admit("runs:u1", &limits).await.expect("admit"),
            Admission::Refused {
                reason: Refusal::InFlight,
                retry_after: Duration::from_secs(10)
            }
        );
        assert!(rl.release(&first).await.expect("release"));
        assert!(
            !rl.release(&first).await.expect("release"),
            "released once only"
        );
        let _third = lease(rl.admit("runs:u1", &limits).await.expect("admit"));
        match rl.admit("runs:u1", &limits).await.expect("admit") {
            Admission::Refused {
                reason: Refusal::Rate,
                retry_after,
            } => assert!(
                retry_after > Duration::from_secs(9) && retry_after <= Duration::from_secs(10),
                "{retry_after:?}"
            ),
            other => panic!("expected a rate refusal, got {other:?}"),
        }
        // Another key is not affected.
        lease(rl.admit("runs:u2", &limits).await.expect("admit"));
    }

    #[tokio::test]
    async fn a_lease_never_released_expires_by_itself() {
        let (_server, rl) = limiter().await;
        let limits = Limits {
            per_window: 100,
            window: Duration::from_secs(10),
            in_flight: Some(1),
            lease: Duration::from_millis(200),
        };
        lease(rl.admit("runs:u", &limits).await.expect("admit"));
        assert!(matches!(
            rl.admit("runs:u", &limits).await.expect("admit"),
            Admission::Refused {
                reason: Refusal::InFlight,
                ..
            }
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
        lease(
            rl.admit("runs:u", &limits)
                .await
                .expect("admit after expiry"),
        );
    }
}
