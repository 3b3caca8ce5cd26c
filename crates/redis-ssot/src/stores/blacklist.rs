//! `TokenBlacklist`: revoked access tokens, kept exactly as long as they would be valid.
//!
//! Why SHA-256 keys: a dump of Redis must not hand out usable tokens. Why TTL = remaining
//! lifetime: once the token would have expired anyway, the entry is dead weight, and Redis
//! deletes it for us. Why fail closed by default: a blacklist that says "not revoked" during an
//! outage lets a stolen token back in; `FailMode::Open` is there for callers that accept that.

use std::time::Duration;

use super::{FailMode, ttl_ms};
use crate::SetOptions;
use crate::error::{Error, Result};
use crate::keys;
use crate::manager::RedisManager;

/// Revoked tokens, by SHA-256, until their natural expiry.
#[derive(Debug, Clone)]
pub struct TokenBlacklist {
    manager: RedisManager,
    fail_mode: FailMode,
}

impl TokenBlacklist {
    /// A blacklist that fails closed: `is_revoked` is `Err` while Redis is unreachable.
    pub fn new(manager: RedisManager) -> TokenBlacklist {
        TokenBlacklist {
            manager,
            fail_mode: FailMode::Closed,
        }
    }

    /// Chooses what an outage means; see [`FailMode`].
    pub fn with_fail_mode(mut self, fail_mode: FailMode) -> TokenBlacklist {
        self.fail_mode = fail_mode;
        self
    }

    /// The configured fail mode.
    pub fn fail_mode(&self) -> FailMode {
        self.fail_mode
    }

    /// Revokes `token` for its `remaining` lifetime. A token with no life left needs no entry,
    /// so `remaining == 0` writes nothing. Revoking again replaces the TTL with the new
    /// `remaining`. An empty token is `InvalidKey`: it names no credential, so revoking it
    /// is a caller's bug (a missing header read as ""), not a revocation.
    pub async fn revoke(&self, token: &str, remaining: Duration) -> Result<()> {
        if token.is_empty() {
            return Err(Error::InvalidKey(
                "the token to revoke is empty; pass the token itself".into(),
            ));
        }
        if remaining.is_zero() {
            return Ok(());
        }
        let opts = SetOptions {
            ttl: Some(Duration::from_millis(ttl_ms(remaining))),
            ..SetOptions::default()
        };
        self.manager
            .set_with(&keys::blacklist(token), 1, opts)
            .await
            .map(|_| ())
    }

    /// Whether `token` is revoked. While Redis is unreachable this is `Err` (fail closed) or
    /// `Ok(false)` (fail open, logged).
    pub async fn is_revoked(&self, token: &str) -> Result<bool> {
        match self.manager.exists(&[&keys::blacklist(token)]).await {
            Ok(n) => Ok(n > 0),
            Err(e) if e.is_unavailable() && self.fail_mode == FailMode::Open => {
                tracing::warn!(error = %e, "token blacklist failing open");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// The Redis key that marks `token` as revoked (`blacklist:<sha256(token)>`), for stores
    /// that check revocation in a pipeline of their own ([`super::SessionStore::check`]).
    pub(crate) fn key_of(&self, token: &str) -> String {
        keys::blacklist(token)
    }

    /// Lifts a revocation early; returns whether there was one.
    pub async fn unrevoke(&self, token: &str) -> Result<bool> {
        Ok(self.manager.del(&[&keys::blacklist(token)]).await? > 0)
    }
}
