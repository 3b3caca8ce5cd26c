//! Sessions, revocation, login rate limits and run state: the gateway's use of the
//! redis-ssot stores (`SessionStore`, `TokenBlacklist`, `RateLimiter`, `AgentStateStore`).
//!
//! All of them fail closed: while Redis is unavailable a token is not "not revoked" and a
//! login is not "not limited"; the caller answers 503 instead.

use std::net::IpAddr;
use std::time::Duration;

use redis_ssot::{
    AgentState, AgentStateStore, Error, RateLimiter, RedisManager, RunStatus, SessionStore,
    SessionToken, TokenBlacklist, UserId,
};
use serde_json::json;

use crate::auth::Identity;
use crate::config::{GatewayConfig, LoginLimit};
use crate::error::ApiError;
use crate::events::{RunRef, now_ms};
use crate::ids::Username;

/// A live session, as the gateway uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user's key-space id.
    pub uid: UserId,
    /// The user name as the client sees it (`user_id` in events).
    pub user: String,
    /// The session id (SHA-256 of the token): names the session in logs and in the logout
    /// notification, and cannot be turned back into the token.
    pub fingerprint: String,
    /// The credential the session came from (a JWT's `jti`), re-checked against the
    /// blacklist at every upgrade.
    pub credential_id: Option<String>,
    /// Expiry, Unix ms.
    pub expires_at_ms: u64,
}

/// Sessions, blacklist and login limits.
#[derive(Clone)]
pub struct Access {
    manager: RedisManager,
    sessions: SessionStore,
    blacklist: TokenBlacklist,
    limiter: RateLimiter,
    limit: LoginLimit,
}

impl Access {
    /// Builds the stores on `manager`.
    pub fn new(manager: &RedisManager, config: &GatewayConfig) -> Access {
        Access {
            manager: manager.clone(),
            sessions: SessionStore::new(manager.clone()).with_ttl(config.session_ttl),
            blacklist: TokenBlacklist::new(manager.clone()),
            limiter: RateLimiter::new(manager.clone()),
            limit: config.login_limit,
        }
    }

    /// Counts a login attempt against the client IP and the claimed username; 429 with
    /// `Retry-After` when either is over its limit.
    pub async fn check_login_rate(
        &self,
        user: Option<&Username>,
        ip: IpAddr,
    ) -> Result<(), ApiError> {
        let LoginLimit {
            per_user,
            per_ip,
            window,
        } = self.limit;
        self.limiter
            .enforce(&format!("login:ip:{ip}"), per_ip, window)
            .await?;
        if let Some(u) = user {
            let uid = UserId::new(u.as_str())?;
            self.limiter
                .enforce(&format!("login:user:{}", uid.encoded()), per_user, window)
                .await?;
        }
        Ok(())
    }

    /// Creates a session for `identity`; returns the token (shown to the client once) and
    /// the session.
    pub async fn create_session(&self, identity: &Identity) -> Result<(String, Session), Error> {
        let uid = UserId::new(identity.user.as_str())?;
        let data =
            json!({ "user": identity.user.as_str(), "credential_id": identity.credential_id });
        let (token, stored) = self.sessions.create(&uid, data).await?;
        Ok((token.as_str().to_string(), to_session(stored)))
    }

    /// The session of `token`, unless malformed, unknown, expired or revoked (the token or
    /// its credential).
    pub async fn authenticate(&self, token: &str) -> Result<Option<Session>, Error> {
        let Ok(parsed) = SessionToken::parse(token) else {
            return Ok(None);
        };
        if self.blacklist.is_revoked(token).await? {
            return Ok(None);
        }
        let Some(session) = self.sessions.get(&parsed).await?.map(to_session) else {
            return Ok(None);
        };
        if let Some(cred) = &session.credential_id
            && self.blacklist.is_revoked(cred).await?
        {
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// Whether the session an open socket authenticated with is still live: not revoked
    /// (the token or its credential) and not deleted or expired. The same checks as
    /// [`Access::authenticate`], but issued together (one round trip of latency instead of
    /// two or three in a row) and as `EXISTS` rather than reading the session back: a socket
    /// already holds it. Fails closed.
    pub async fn still_valid(&self, token: &str, session: &Session) -> Result<bool, Error> {
        let session_key = redis_ssot::keys::session(&session.fingerprint);
        let session_keys = [session_key.as_str()];
        let credential = async {
            match &session.credential_id {
                Some(cred) => self.blacklist.is_revoked(cred).await,
                None => Ok(false),
            }
        };
        let (revoked, live, cred_revoked) = tokio::join!(
            self.blacklist.is_revoked(token),
            self.manager.exists(&session_keys),
            credential
        );
        Ok(!revoked? && live? == 1 && !cred_revoked?)
    }

    /// [`Access::still_valid`] and one read of the caller's, sent as one pipeline: the
    /// checks and the read cost one trip through the manager (one queued request, one
    /// reply to wait for) instead of one each. The read's result is returned whatever the
    /// checks say; an error in any of them fails the whole call (closed).
    pub async fn still_valid_with<T: redis_ssot::redis::FromRedisValue>(
        &self,
        token: &str,
        session: &Session,
        read: redis_ssot::redis::Cmd,
    ) -> Result<(bool, T), Error> {
        let mut pipe = redis_ssot::redis::pipe();
        pipe.exists(redis_ssot::keys::blacklist(token))
            .exists(redis_ssot::keys::session(&session.fingerprint));
        if let Some(cred) = &session.credential_id {
            pipe.exists(redis_ssot::keys::blacklist(cred));
        }
        pipe.add_command(read);
        let mut replies: Vec<redis_ssot::redis::Value> = self.manager.pipeline(&pipe).await?;
        let decode = |v: redis_ssot::redis::Value| -> Result<i64, Error> {
            redis_ssot::redis::from_redis_value(v).map_err(|e| Error::Decode(e.to_string()))
        };
        let expected = 3 + usize::from(session.credential_id.is_some());
        if replies.len() != expected {
            return Err(Error::Decode(format!(
                "the session check returned {} replies for {expected} commands",
                replies.len()
            )));
        }
        let last = replies
            .pop()
            .ok_or_else(|| Error::Decode("the session check returned no reply".into()))?;
        let read =
            redis_ssot::redis::from_redis_value(last).map_err(|e| Error::Decode(e.to_string()))?;
        let mut counts = replies.into_iter().map(decode);
        let revoked = counts.next().transpose()?.unwrap_or(1) > 0;
        let live = counts.next().transpose()?.unwrap_or(0) == 1;
        let cred_revoked = counts.next().transpose()?.unwrap_or(0) > 0;
        Ok((!revoked && live && !cred_revoked, read))
    }

    /// Whether a credential (a raw JWT or its `jti`) is blacklisted.
    pub async fn is_revoked(&self, credential: &str) -> Result<bool, Error> {
        self.blacklist.is_revoked(credential).await
    }

    /// Blacklists the token for the rest of its life, then deletes the session. In that
    /// order: if the delete fails, the token is already refused everywhere.
    pub async fn end_session(&self, token: &str, session: &Session) -> Result<(), Error> {
        let left = session.expires_at_ms.saturating_sub(now_ms()).max(1000);
        self.blacklist
            .revoke(token, Duration::from_millis(left))
            .await?;
        if let Ok(parsed) = SessionToken::parse(token) {
            self.sessions.delete(&parsed).await?;
        }
        Ok(())
    }

    /// The blacklist, for operators and tests that revoke credentials directly.
    pub fn blacklist(&self) -> &TokenBlacklist {
        &self.blacklist
    }
}

fn to_session(s: redis_ssot::Session) -> Session {
    let user = s.data["user"].as_str().map_or_else(
        || String::from_utf8_lossy(&s.user.raw()).into_owned(),
        str::to_string,
    );
    Session {
        credential_id: s.data["credential_id"].as_str().map(str::to_string),
        fingerprint: s.id,
        expires_at_ms: s.expires_at_ms,
        uid: s.user,
        user,
    }
}

/// Agent run state, in `AgentStateStore`.
#[derive(Clone)]
pub struct RunStates {
    store: AgentStateStore,
}

impl RunStates {
    /// Builds the store on `manager`.
    pub fn new(manager: &RedisManager) -> RunStates {
        RunStates {
            store: AgentStateStore::new(manager.clone()),
        }
    }

    /// Records that `run` is running; returns the saved state for [`RunStates::finish`].
    /// Best effort: run state is for observers, delivery does not depend on it.
    pub async fn start(&self, uid: &UserId, run: &RunRef) -> Option<AgentState> {
        self.save_new(uid, run, RunStatus::Running).await
    }

    /// Records how a run that was never saved as running ended (it finished before its
    /// events were first appended): one save instead of "running" and then the outcome.
    pub async fn finished(&self, uid: &UserId, run: &RunRef, ok: bool) {
        self.save_new(uid, run, outcome(ok)).await;
    }

    async fn save_new(&self, uid: &UserId, run: &RunRef, status: RunStatus) -> Option<AgentState> {
        let mut state = AgentState::new(
            run.run_id.clone(),
            uid.clone(),
            run.thread_id.clone(),
            json!({ "agent": run.agent_name }),
        );
        state.status = status;
        match self.store.save(uid, &state).await {
            Ok(saved) => Some(saved),
            Err(e) => {
                tracing::warn!(run_id = %run.run_id, error = %e, "run state not saved");
                None
            }
        }
    }

    /// Records how `run` ended: saves `saved` (what [`RunStates::start`] returned) with the
    /// new status, compare-and-set on its version, so it is one script call rather than a
    /// load and a save, with the same conflict check.
    pub async fn finish(&self, uid: &UserId, run: &RunRef, saved: AgentState, ok: bool) {
        let mut state = saved;
        state.status = outcome(ok);
        if let Err(e) = self.store.save(uid, &state).await {
            tracing::warn!(run_id = %run.run_id, error = %e, "run state not updated");
        }
    }
}

fn outcome(ok: bool) -> RunStatus {
    if ok {
        RunStatus::Completed
    } else {
        RunStatus::Failed
    }
}
