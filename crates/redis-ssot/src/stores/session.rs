//! `SessionStore`: login sessions behind opaque tokens.
//!
//! The token is 256 random bits handed to the client and never written anywhere: Redis holds
//! `session:<sha256(token)>`, so a database dump or a `MONITOR` reveals no usable token. The
//! hash doubles as the session id shown in listings (it cannot be turned back into a token).
//!
//! Each user has an index, `{u:<uid>}:sessions`, a sorted set of session id → expiry (ms).
//! The index is kept consistent by one script per update: add or re-score, prune expired
//! entries, and set the index's own TTL to the latest expiry, so a user who stops logging in
//! leaves nothing behind. Reads prune entries whose session has gone.
//!
//! Session keys and index keys are on different cluster slots (a lookup by token cannot know
//! the user), so they are written by separate commands: the session first, then the index.
//! A failed index write deletes the session again, so every live session is listed.
//!
//! "Is this token's session valid?" has one answer, [`SessionStore::check`]: the session
//! exists (not expired, not deleted) and neither the token nor the credential it came from
//! (a JWT's `jti`) is in the [`TokenBlacklist`]. [`SessionStore::still_live`] asks the same
//! of a session the caller already holds (an open socket, before each message) without
//! reading it back. Both send their commands as one pipeline.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use serde_json::Value;

use super::{TokenBlacklist, now_ms, ttl_ms};
use crate::commands::{SetCondition, SetOptions};
use crate::error::{Error, Result};
use crate::keys::{self, UserId};
use crate::manager::RedisManager;

/// Extra life of the index past its latest entry, so client/server clock skew cannot expire
/// the index before the session it lists.
const INDEX_SLACK_MS: u64 = 60_000;

/// Adds (`add`) or re-scores an existing (`xx`) index entry, prunes, and sets the index TTL.
static INDEX_PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local idx = KEYS[1]
if ARGV[4] == 'xx' and not redis.call('ZSCORE', idx, ARGV[1]) then return 0 end
redis.call('ZADD', idx, ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', idx, '-inf', ARGV[3])
local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
if top[2] then
  local ttl = tonumber(top[2]) - tonumber(ARGV[3]) + tonumber(ARGV[5])
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', idx, ttl)
end
return 1
",
    )
});

/// Takes every id out of the index and deletes it, atomically.
static INDEX_TAKE_ALL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('UNLINK', KEYS[1])
return ids
",
    )
});

/// An opaque session token: 256 random bits as 64 lower-case hex characters.
///
/// Its `Debug` prints `SessionToken(***)` so it cannot leak into logs; call
/// [`SessionToken::as_str`] only to hand it to the client.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// A fresh token from the thread-local CSPRNG.
    pub fn generate() -> SessionToken {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        SessionToken(keys::hex_lower(&bytes))
    }

    /// Accepts a token from a client; anything but 64 lower-case hex characters is
    /// `Error::InvalidKey` (and is never sent to Redis).
    pub fn parse(token: &str) -> Result<SessionToken> {
        let ok = token.len() == 64
            && token
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(SessionToken(token.to_string()))
        } else {
            Err(Error::InvalidKey("malformed session token".into()))
        }
    }

    /// The token text, for the client (cookie, header).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The session id: SHA-256 of the token, the only form Redis ever sees.
    pub fn session_id(&self) -> String {
        keys::sha256_hex(&self.0)
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// One session as stored (JSON) and returned.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// SHA-256 hex of the token; safe to show, usable with [`SessionStore::revoke`].
    pub id: String,
    /// The owner.
    pub user: UserId,
    /// Application data given at creation.
    pub data: Value,
    /// Creation time, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// Expiry time, ms since the Unix epoch (moved forward by `touch`).
    pub expires_at_ms: u64,
    /// The credential the session was created from (a JWT's `jti`), if any: revoking it in
    /// the [`TokenBlacklist`] ends the session too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// The session never lives past this (ms since the Unix epoch), whatever `touch` does:
    /// the expiry of the credential it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after_ms: Option<u64>,
}

/// What a new session carries beyond its user (see [`SessionStore::create_with`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSession {
    /// Application data.
    pub data: Value,
    /// The credential it comes from (a JWT's `jti`); checked against the blacklist by
    /// every [`SessionStore::check`].
    pub credential: Option<String>,
    /// The session ends within this time at the latest (what is left of the credential's
    /// life): its TTL is the smaller of this and the store's, and `touch` never extends it
    /// past that point. `Duration::ZERO` is refused: the credential has already expired.
    pub expires_within: Option<Duration>,
}

/// Sessions with a per-user index; see the module docs for the layout.
#[derive(Debug, Clone)]
pub struct SessionStore {
    manager: RedisManager,
    ttl: Duration,
}

impl SessionStore {
    /// The default session lifetime (one hour).
    pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

    /// A store with the default TTL of one hour.
    pub fn new(manager: RedisManager) -> SessionStore {
        SessionStore {
            manager,
            ttl: Self::DEFAULT_TTL,
        }
    }

    /// Sets the lifetime given by `create` and `touch`.
    pub fn with_ttl(mut self, ttl: Duration) -> SessionStore {
        self.ttl = ttl;
        self
    }

    /// The configured lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Creates a session for `user`. The token is returned once and never stored.
    pub async fn create(&self, user: &UserId, data: Value) -> Result<(SessionToken, Session)> {
        let new = NewSession {
            data,
            ..NewSession::default()
        };
        self.create_with(user, new).await
    }

    /// Creates a session for `user` with a credential and a lifetime cap (see
    /// [`NewSession`]). The token is returned once and never stored.
    pub async fn create_with(
        &self,
        user: &UserId,
        new: NewSession,
    ) -> Result<(SessionToken, Session)> {
        let ttl = match new.expires_within {
            Some(d) if d.is_zero() => {
                return Err(Error::InvalidKey(
                    "the credential has expired: no session can be made from it".into(),
                ));
            }
            Some(d) => d.min(self.ttl),
            None => self.ttl,
        };
        let token = SessionToken::generate();
        let now = now_ms();
        let session = Session {
            id: token.session_id(),
            user: user.clone(),
            data: new.data,
            created_at_ms: now,
            expires_at_ms: now.saturating_add(ttl_ms(ttl)),
            credential: new.credential,
            not_after_ms: new.expires_within.map(|d| now.saturating_add(ttl_ms(d))),
        };
        let key = keys::session(&session.id);
        let json = serde_json::to_string(&session)?;
        let opts = SetOptions {
            ttl: Some(ttl),
            condition: SetCondition::IfAbsent,
        };
        if !self.manager.set_with(&key, json, opts).await? {
            return Err(Error::Conflict("session id collision".into()));
        }
        if let Err(e) = self.index_put(user, &session, "add").await {
            // Best effort: an unlisted session must not outlive a failed create.
            let _ = self.manager.unlink(&[&key]).await;
            return Err(e);
        }
        Ok((token, session))
    }

    /// The session behind `token`, `None` if it does not exist or has expired.
    pub async fn get(&self, token: &SessionToken) -> Result<Option<Session>> {
        self.get_by_id(&token.session_id()).await
    }

    /// The one validity check of a token: its session, if the session exists (not expired,
    /// not deleted) and neither the token nor the session's credential is blacklisted.
    ///
    /// The session's `GET` and the token's blacklist `EXISTS` go out as one pipeline; a
    /// session that names a credential costs one more `EXISTS` (its name is only known once
    /// the session is read). Fails closed whatever the blacklist's [`FailMode`](super::FailMode):
    /// the session itself has to be read.
    pub async fn check(
        &self,
        token: &SessionToken,
        blacklist: &TokenBlacklist,
    ) -> Result<Option<Session>> {
        let mut pipe = redis::pipe();
        pipe.get(keys::session(&token.session_id()))
            .exists(blacklist.key_of(token.as_str()));
        let (json, revoked): (Option<String>, bool) = self.manager.pipeline(&pipe).await?;
        let Some(json) = json.filter(|_| !revoked) else {
            return Ok(None);
        };
        let session: Session = serde_json::from_str(&json)?;
        if let Some(cred) = &session.credential
            && self.manager.exists(&[&blacklist.key_of(cred)]).await? > 0
        {
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// [`SessionStore::check`] for a session the caller already holds (an open socket,
    /// before each message): still there, and neither the token nor its `credential` (the
    /// session's, as [`SessionStore::check`] returned it) revoked, as one pipeline of
    /// `EXISTS` without reading the session back. Fails closed.
    pub async fn still_live(
        &self,
        token: &SessionToken,
        credential: Option<&str>,
        blacklist: &TokenBlacklist,
    ) -> Result<bool> {
        let mut pipe = redis::pipe();
        pipe.exists(keys::session(&token.session_id()))
            .exists(blacklist.key_of(token.as_str()));
        if let Some(cred) = credential {
            pipe.exists(blacklist.key_of(cred));
        }
        let counts: Vec<u64> = self.manager.pipeline(&pipe).await?;
        Ok(counts.first() == Some(&1) && counts.iter().skip(1).all(|&n| n == 0))
    }

    /// Ends `token`'s session for good: blacklists the token for the rest of the session's
    /// life, then deletes the session. In that order: if the delete fails, every check
    /// already refuses the token. Returns whether the session still existed.
    pub async fn end(
        &self,
        token: &SessionToken,
        session: &Session,
        blacklist: &TokenBlacklist,
    ) -> Result<bool> {
        let left = session.expires_at_ms.saturating_sub(now_ms()).max(1000);
        blacklist
            .revoke(token.as_str(), Duration::from_millis(left))
            .await?;
        self.remove(&session.user, &session.id).await
    }

    /// Extends the session to a full TTL from now (never past its `not_after_ms`); `None` if
    /// it is gone (never resurrects a deleted session).
    pub async fn touch(&self, token: &SessionToken) -> Result<Option<Session>> {
        let id = token.session_id();
        let Some(mut session) = self.get_by_id(&id).await? else {
            return Ok(None);
        };
        let now = now_ms();
        let until = now
            .saturating_add(ttl_ms(self.ttl))
            .min(session.not_after_ms.unwrap_or(u64::MAX));
        if until <= now {
            return Ok(None);
        }
        session.expires_at_ms = until;
        let opts = SetOptions {
            ttl: Some(Duration::from_millis(until - now)),
            condition: SetCondition::IfPresent,
        };
        let json = serde_json::to_string(&session)?;
        if !self
            .manager
            .set_with(&keys::session(&id), json, opts)
            .await?
        {
            return Ok(None);
        }
        self.index_put(&session.user, &session, "xx").await?;
        Ok(Some(session))
    }

    /// Deletes the session behind `token`; returns whether it existed.
    pub async fn delete(&self, token: &SessionToken) -> Result<bool> {
        let id = token.session_id();
        match self.get_by_id(&id).await? {
            Some(session) => self.remove(&session.user, &id).await,
            None => Ok(false),
        }
    }

    /// Deletes one of `user`'s sessions by id (from [`SessionStore::list_sessions`]). A
    /// session of another user is left alone and reported as `false`.
    pub async fn revoke(&self, user: &UserId, session_id: &str) -> Result<bool> {
        keys::check_segment("session id", session_id)?;
        let listed: Option<f64> = self
            .manager
            .zscore(&keys::session_index(user), session_id)
            .await?;
        if listed.is_none() {
            return Ok(false);
        }
        match self.get_by_id(session_id).await? {
            Some(s) if s.user == *user => self.remove(user, session_id).await,
            _ => Ok(false),
        }
    }

    /// `user`'s live sessions, oldest first. Prunes index entries whose session expired or
    /// was deleted.
    pub async fn list_sessions(&self, user: &UserId) -> Result<Vec<Session>> {
        let index = keys::session_index(user);
        self.manager
            .zrem_range_by_score(&index, f64::NEG_INFINITY, now_ms() as f64)
            .await?;
        let ids: Vec<String> = self.manager.zrange(&index, 0, -1).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.get(keys::session(id));
        }
        let values: Vec<Option<String>> = self.manager.pipeline(&pipe).await?;
        let mut live = Vec::with_capacity(ids.len());
        let mut gone = Vec::new();
        for (id, value) in ids.iter().zip(values) {
            match value {
                Some(json) => {
                    let s: Session = serde_json::from_str(&json)?;
                    if s.user == *user {
                        live.push(s);
                    }
                }
                None => gone.push(id.as_str()),
            }
        }
        if !gone.is_empty() {
            self.manager.zrem(&index, gone).await?;
        }
        live.sort_by_key(|s| (s.created_at_ms, s.id.clone()));
        Ok(live)
    }

    /// Deletes every session of `user`; returns how many existed. Sessions created while
    /// this runs may survive (they are then listed normally).
    pub async fn revoke_all(&self, user: &UserId) -> Result<u64> {
        let index = keys::session_index(user);
        let ids: Vec<String> = self.manager.invoke(&INDEX_TAKE_ALL.key(&index)).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        // One UNLINK per key: session keys sit on different cluster slots.
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("UNLINK").arg(keys::session(id));
        }
        let removed: Vec<u64> = self.manager.pipeline(&pipe).await?;
        Ok(removed.iter().sum())
    }

    async fn get_by_id(&self, id: &str) -> Result<Option<Session>> {
        let json: Option<String> = self.manager.get(&keys::session(id)).await?;
        json.map(|j| serde_json::from_str(&j).map_err(Error::from))
            .transpose()
    }

    async fn remove(&self, user: &UserId, id: &str) -> Result<bool> {
        let existed = self.manager.unlink(&[&keys::session(id)]).await? > 0;
        self.manager.zrem(&keys::session_index(user), id).await?;
        Ok(existed)
    }

    async fn index_put(&self, user: &UserId, session: &Session, mode: &str) -> Result<()> {
        let mut inv = INDEX_PUT.key(keys::session_index(user));
        inv.arg(&session.id)
            .arg(session.expires_at_ms)
            .arg(now_ms())
            .arg(mode)
            .arg(INDEX_SLACK_MS);
        self.manager.invoke::<i64>(&inv).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (testkit::RedisServer, RedisManager) {
        crate::stores::test_manager().await
    }

    #[tokio::test]
    async fn check_finds_a_live_session_and_refuses_a_revoked_token_or_credential() {
        let (_server, m) = store().await;
        let (sessions, blacklist) = (SessionStore::new(m.clone()), TokenBlacklist::new(m));
        let user = UserId::new("rita").expect("user");
        let new = NewSession {
            data: serde_json::json!({"k": 1}),
            credential: Some("jti-1".into()),
            expires_within: None,
        };
        let (token, created) = sessions.create_with(&user, new).await.expect("create");
        let found = sessions.check(&token, &blacklist).await.expect("check");
        assert_eq!(found.as_ref(), Some(&created));
        assert!(
            sessions
                .still_live(&token, Some("jti-1"), &blacklist)
                .await
                .expect("recheck")
        );

        blacklist
            .revoke("jti-1", Duration::from_secs(60))
            .await
            .expect("revoke the credential");
        assert_eq!(
            sessions.check(&token, &blacklist).await.expect("check"),
            None
        );
        assert!(
            !sessions
                .still_live(&token, Some("jti-1"), &blacklist)
                .await
                .expect("recheck")
        );
        blacklist.unrevoke("jti-1").await.expect("unrevoke");

        assert!(
            sessions
                .end(&token, &created, &blacklist)
                .await
                .expect("end")
        );
        assert_eq!(
            sessions.check(&token, &blacklist).await.expect("check"),
            None
        );
        assert!(blacklist.is_revoked(token.as_str()).await.expect("revoked"));
        assert!(
            !sessions
                .still_live(&token, None, &blacklist)
                .await
                .expect("recheck"),
            "an ended session is not live"
        );
    }

    #[tokio::test]
    async fn a_session_from_a_credential_never_outlives_it_even_when_touched() {
        let (_server, m) = store().await;
        let sessions = SessionStore::new(m.clone()).with_ttl(Duration::from_secs(3600));
        let user = UserId::new("sam").expect("user");
        let new = NewSession {
            expires_within: Some(Duration::from_secs(600)),
            ..NewSession::default()
        };
        let (token, s) = sessions.create_with(&user, new).await.expect("create");
        assert_eq!(s.expires_at_ms - s.created_at_ms, 600_000);
        assert_eq!(s.not_after_ms, Some(s.expires_at_ms));
        let ttl: i64 = m
            .cmd(redis::cmd("PTTL").arg(keys::session(&s.id)))
            .await
            .expect("pttl");
        assert!((590_000..=600_000).contains(&ttl), "{ttl}");
        let touched = sessions.touch(&token).await.expect("touch").expect("live");
        assert_eq!(touched.expires_at_ms, s.expires_at_ms);

        let expired = NewSession {
            expires_within: Some(Duration::ZERO),
            ..NewSession::default()
        };
        let refused = sessions.create_with(&user, expired).await.unwrap_err();
        assert_eq!(
            refused.to_string(),
            Error::InvalidKey("the credential has expired: no session can be made from it".into())
                .to_string()
        );
    }
}
