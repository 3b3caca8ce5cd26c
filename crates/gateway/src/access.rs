//! Sessions, revocation, login rate limits and run state: the gateway's use of the
//! redis-ssot stores (`SessionStore`, `TokenBlacklist`, `RateLimiter`, `AgentStateStore`).
//!
//! "Is this session valid?" is the stores' question, asked in one place each way:
//! [`Access::authenticate`] (a request or an upgrade: `SessionStore::check`) and
//! [`Access::still_live`] (an open socket before each message: `SessionStore::still_live`).
//! All of them fail closed: while Redis is unavailable a token is not "not revoked" and a
//! login is not "not limited"; the caller answers 503 instead.

use std::net::IpAddr;
use std::time::Duration;

use redis_ssot::stores::{Admission, Lease, Limits, NewSession};
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
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The user's key-space id.
    pub uid: UserId,
    /// The user name as the client sees it (`user_id` in events).
    pub user: String,
    /// The session id (SHA-256 of the token): names the session in the socket registry and
    /// in the logout notification, and cannot be turned back into the token.
    pub fingerprint: String,
    /// Expiry, Unix ms (never later than the expiry of the JWT it came from).
    pub expires_at_ms: u64,
    /// The credential the session came from (a JWT's `jti`, or the JWT's fingerprint when it
    /// has none; never the JWT itself), if any: re-checked against the blacklist by
    /// [`Access::still_live`], and revoked by logout.
    pub credential: Option<String>,
}

/// Sessions, blacklist and login limits.
#[derive(Clone)]
pub struct Access {
    sessions: SessionStore,
    blacklist: TokenBlacklist,
    limiter: RateLimiter,
    limit: LoginLimit,
    runs: Limits,
}

impl Access {
    /// Builds the stores on `manager`.
    pub fn new(manager: &RedisManager, config: &GatewayConfig) -> Access {
        Access {
            sessions: SessionStore::new(manager.clone()).with_ttl(config.session_ttl),
            blacklist: TokenBlacklist::new(manager.clone()),
            limiter: RateLimiter::new(manager.clone()),
            limit: config.login_limit,
            runs: Limits {
                per_window: config.message_limit.per_second,
                window: Duration::from_secs(1),
                in_flight: Some(config.message_limit.in_flight),
                lease: config.message_limit.lease,
            },
        }
    }

    /// Counts one message of `user` against the message limits: admitted with a lease to
    /// give back when its run ends ([`Access::release_run`]), or refused.
    pub async fn admit_run(&self, user: &UserId) -> Result<Admission, Error> {
        self.limiter
            .admit(&format!("chat:runs:{}", user.encoded()), &self.runs)
            .await
    }

    /// Gives back a run's lease. Best effort: a lease that cannot be given back expires
    /// after `MessageLimit::lease`; until then it counts as in flight (logged).
    pub async fn release_run(&self, lease: &Lease) {
        if let Err(e) = self.limiter.release(lease).await {
            tracing::warn!(error = %e, "a run's lease was not given back; it expires by itself");
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

    /// Creates a session for `identity`, ending no later than the identity's credential
    /// (a JWT's `exp`); returns the token (shown to the client once) and the session.
    pub async fn create_session(
        &self,
        identity: &Identity,
    ) -> Result<(SessionToken, Session), ApiError> {
        let uid = UserId::new(identity.user.as_str())?;
        let expires_within = match identity.expires_at_ms {
            None => None,
            Some(exp) => match exp.checked_sub(now_ms()).filter(|left| *left > 0) {
                Some(left) => Some(Duration::from_millis(left)),
                None => return Err(ApiError::unauthorized("invalid token: expired")),
            },
        };
        let new = NewSession {
            data: json!({ "user": identity.user.as_str() }),
            credential: identity.credential_id.clone(),
            expires_within,
        };
        let (token, stored) = self.sessions.create_with(&uid, new).await?;
        Ok((token, to_session(stored)))
    }

    /// The session of `token`, unless malformed, unknown, expired or revoked (the token or
    /// its credential).
    pub async fn authenticate(&self, token: &SessionToken) -> Result<Option<Session>, Error> {
        Ok(self
            .sessions
            .check(token, &self.blacklist)
            .await?
            .map(to_session))
    }

    /// Whether the session an open socket authenticated with is still live: not deleted or
    /// expired, and neither the token nor its credential revoked (one pipeline).
    pub async fn still_live(&self, token: &SessionToken, session: &Session) -> Result<bool, Error> {
        self.sessions
            .still_live(token, session.credential.as_deref(), &self.blacklist)
            .await
    }

    /// Whether a credential (a raw JWT or its `jti`) is blacklisted.
    pub async fn is_revoked(&self, credential: &str) -> Result<bool, Error> {
        self.blacklist.is_revoked(credential).await
    }

    /// Ends a session for good: blacklists the credential it came from (a JWT, by its `jti`
    /// or fingerprint) for the rest of that credential's life, so the same JWT cannot log in
    /// again (nor keep any other session made from it); then blacklists the session token and
    /// deletes the session (read back first: the store's `end` needs what it holds). In that
    /// order: if a later step fails, every check already refuses what the earlier one revoked.
    pub async fn end_session(&self, token: &SessionToken) -> Result<(), Error> {
        let Some(stored) = self.sessions.check(token, &self.blacklist).await? else {
            return Ok(());
        };
        if let Some(cred) = &stored.credential {
            let until = stored.not_after_ms.unwrap_or(stored.expires_at_ms);
            // At least a second: a credential in its last instant is still refused.
            let left = until.saturating_sub(now_ms()).max(1000);
            self.blacklist
                .revoke(cred, Duration::from_millis(left))
                .await?;
        }
        self.sessions
            .end(token, &stored, &self.blacklist)
            .await
            .map(|_| ())
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
        fingerprint: s.id,
        expires_at_ms: s.expires_at_ms,
        uid: s.user,
        credential: s.credential,
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
    /// Returns the saved state, for a correction with [`RunStates::finish`].
    pub async fn finished(&self, uid: &UserId, run: &RunRef, ok: bool) -> Option<AgentState> {
        self.save_new(uid, run, outcome(ok)).await
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
