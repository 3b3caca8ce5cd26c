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

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use serde_json::Value;

use super::{now_ms, ttl_ms};
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
        let token = SessionToken::generate();
        let now = now_ms();
        let session = Session {
            id: token.session_id(),
            user: user.clone(),
            data,
            created_at_ms: now,
            expires_at_ms: now.saturating_add(ttl_ms(self.ttl)),
        };
        let key = keys::session(&session.id);
        let json = serde_json::to_string(&session)?;
        let opts = SetOptions {
            ttl: Some(self.ttl),
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

    /// Extends the session to a full TTL from now; `None` if it is gone (never resurrects a
    /// deleted session).
    pub async fn touch(&self, token: &SessionToken) -> Result<Option<Session>> {
        let id = token.session_id();
        let Some(mut session) = self.get_by_id(&id).await? else {
            return Ok(None);
        };
        session.expires_at_ms = now_ms().saturating_add(ttl_ms(self.ttl));
        let opts = SetOptions {
            ttl: Some(self.ttl),
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
