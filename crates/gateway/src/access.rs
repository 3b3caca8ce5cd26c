//! Sessions, revocation, login rate limits and run state: the gateway's use of the
//! redis-ssot stores.
//!
//! TEMPORARY: a minimal stand-in until `redis_ssot::stores` lands; replaced by the
//! `SessionStore`, `TokenBlacklist`, `RateLimiter` and `AgentStateStore` adapters.

use std::net::IpAddr;
use std::time::Duration;

use redis_ssot::RedisManager;

use crate::auth::Identity;
use crate::config::{GatewayConfig, LoginLimit};
use crate::error::ApiError;
use crate::events::RunRef;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// The user.
    pub user: String,
    /// The token's fingerprint (names the session in logs and logout notifications).
    pub fingerprint: String,
    /// The credential the session was created from (JWT `jti`), re-checked at every upgrade.
    pub credential_id: Option<String>,
}

/// Sessions, blacklist and login limits.
#[derive(Clone)]
pub struct Access {
    manager: RedisManager,
    ttl: Duration,
    limit: LoginLimit,
}

impl Access {
    /// Builds the stores on `manager`.
    pub fn new(manager: &RedisManager, config: &GatewayConfig) -> Access {
        Access {
            manager: manager.clone(),
            ttl: config.session_ttl,
            limit: config.login_limit,
        }
    }

    /// Refuses with 429 when the username or the IP made too many attempts this window.
    pub async fn check_login_rate(&self, user: Option<&str>, ip: IpAddr) -> Result<(), ApiError> {
        let window = self.limit.window;
        let mut keys = vec![(format!("gw:tmp:rl:ip:{ip}"), self.limit.per_ip)];
        if let Some(u) = user {
            keys.push((format!("gw:tmp:rl:user:{u}"), self.limit.per_user));
        }
        for (key, max) in keys {
            let n = self.manager.incr(&key).await?;
            if n == 1 {
                self.manager.expire(&key, window).await?;
            }
            if n > i64::from(max) {
                let left = match self.manager.ttl(&key).await? {
                    redis_ssot::Ttl::Expires(d) => d,
                    _ => window,
                };
                return Err(ApiError::rate_limited(left));
            }
        }
        Ok(())
    }

    /// Creates a session for `identity`; returns the token and the session.
    pub async fn create_session(&self, identity: &Identity) -> Result<(String, Session), ApiError> {
        let token = crate::token::new_session_token();
        let session = Session {
            user: identity.user.to_string(),
            fingerprint: crate::token::fingerprint(&token),
            credential_id: identity.credential_id.clone(),
        };
        let json = serde_json::to_string(&session).map_err(ApiError::internal)?;
        self.manager
            .set_ex(
                &format!("gw:tmp:session:{}", session.fingerprint),
                json,
                self.ttl,
            )
            .await?;
        Ok((token, session))
    }

    /// The session of `token`, unless unknown, expired or revoked.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Session>, redis_ssot::Error> {
        let fp = crate::token::fingerprint(token);
        if self.is_revoked(&fp).await? {
            return Ok(None);
        }
        let raw: Option<String> = self.manager.get(&format!("gw:tmp:session:{fp}")).await?;
        let Some(session) = raw.and_then(|r| serde_json::from_str::<Session>(&r).ok()) else {
            return Ok(None);
        };
        if let Some(cred) = &session.credential_id
            && self.is_revoked(cred).await?
        {
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// Whether a credential or token fingerprint is blacklisted.
    pub async fn is_revoked(&self, id: &str) -> Result<bool, redis_ssot::Error> {
        Ok(self.manager.exists(&[&format!("gw:tmp:bl:{id}")]).await? > 0)
    }

    /// Deletes the session and blacklists its token.
    pub async fn end_session(&self, _token: &str, session: &Session) -> Result<(), ApiError> {
        self.manager
            .set_ex(&format!("gw:tmp:bl:{}", session.fingerprint), 1, self.ttl)
            .await?;
        self.manager
            .del(&[&format!("gw:tmp:session:{}", session.fingerprint)])
            .await?;
        Ok(())
    }
}

/// Agent run state.
#[derive(Clone)]
pub struct RunStates {
    manager: RedisManager,
}

impl RunStates {
    /// Builds the store on `manager`.
    pub fn new(manager: &RedisManager) -> RunStates {
        RunStates {
            manager: manager.clone(),
        }
    }

    /// Records that `run` started (best effort: run state is for observers, not delivery).
    pub async fn start(&self, run: &RunRef) {
        let _ = &self.manager;
        tracing::debug!(run_id = %run.run_id, "run started");
    }

    /// Records that `run` ended.
    pub async fn finish(&self, run: &RunRef, ok: bool) {
        tracing::debug!(run_id = %run.run_id, ok, "run finished");
    }
}
