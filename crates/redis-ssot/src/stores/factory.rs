//! `RedisFactory` hands out per-user clients that share the manager's one connection.
//!
//! Why a factory and not one client per user connection: a gateway may serve 100,000 users
//! at once; a connection each would exhaust the server. A [`UserClient`] is two pointers and
//! an optional request id; all clients of one user share one small record (their counters and
//! limits), held weakly by the factory so idle users cost nothing.
//!
//! Why relative names: a client method never takes a raw key. It takes a name checked by
//! [`keys::check_name`] and prefixes it with the user's space (`{u:<uid>}:d:`), so a handler
//! bug cannot read another user's data, and `clear()` can sweep exactly one user.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::{FromRedisValue, ToRedisArgs};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::rate_limit::RateLimiter;
use crate::commands::Ttl;
use crate::error::{Error, Result};
use crate::keys::{self, UserId};
use crate::manager::RedisManager;

/// SCAN/UNLINK batch size for `clear()` and `names()`.
const SWEEP_BATCH: usize = 500;

/// Optional per-user limits, enforced before a command reaches the manager.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserLimits {
    /// Most commands one user may have in flight at once; past it, `Error::Overloaded`
    /// at once (per user, across all of that user's clients in this process).
    pub max_concurrent: Option<u32>,
    /// Most commands per second per user, across processes (via [`RateLimiter`], one extra
    /// round trip per command); past it, `Error::RateLimited`.
    pub ops_per_sec: Option<u32>,
}

/// Who a request acts for. Built once per request by the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserContext {
    /// The user whose key space the client is confined to.
    pub user_id: UserId,
    /// A correlation id for logs.
    pub request_id: Option<String>,
}

impl UserContext {
    /// A context for `user_id` (validated and escaped by [`UserId::new`]).
    pub fn new(user_id: &str) -> Result<UserContext> {
        Ok(UserContext {
            user_id: UserId::new(user_id)?,
            request_id: None,
        })
    }

    /// A context for an already validated id.
    pub fn for_user(user_id: UserId) -> UserContext {
        UserContext {
            user_id,
            request_id: None,
        }
    }

    /// Attaches a correlation id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> UserContext {
        self.request_id = Some(request_id.into());
        self
    }
}

/// A snapshot of one user's counters in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct UserStats {
    /// Calls made through this user's clients.
    pub ops: u64,
    /// Calls that returned an error (limit refusals included).
    pub errors: u64,
    /// Calls refused by the per-user limits.
    pub rejected: u64,
    /// Calls in flight now.
    pub in_flight: u32,
}

/// Creates [`UserClient`]s; cheap to clone, one per process is enough.
#[derive(Debug, Clone)]
pub struct RedisFactory {
    inner: Arc<FactoryInner>,
}

#[derive(Debug)]
struct FactoryInner {
    manager: RedisManager,
    limits: UserLimits,
    limiter: RateLimiter,
    users: Mutex<UserTable>,
}

/// Live per-user records; dead weak entries are pruned when the table doubles.
#[derive(Debug, Default)]
struct UserTable {
    map: HashMap<UserId, Weak<UserShared>>,
    prune_at: usize,
}

/// What all clients of one user share.
#[derive(Debug)]
struct UserShared {
    factory: Arc<FactoryInner>,
    user: UserId,
    data_prefix: Box<str>,
    ops: AtomicU64,
    errors: AtomicU64,
    rejected: AtomicU64,
    in_flight: AtomicU32,
}

impl RedisFactory {
    /// A factory without per-user limits.
    pub fn new(manager: RedisManager) -> RedisFactory {
        RedisFactory::with_limits(manager, UserLimits::default())
    }

    /// A factory whose clients enforce `limits`.
    pub fn with_limits(manager: RedisManager, limits: UserLimits) -> RedisFactory {
        RedisFactory {
            inner: Arc::new(FactoryInner {
                limiter: RateLimiter::new(manager.clone()),
                manager,
                limits,
                users: Mutex::new(UserTable::default()),
            }),
        }
    }

    /// The manager behind every client.
    pub fn manager(&self) -> &RedisManager {
        &self.inner.manager
    }

    /// The limits every client enforces.
    pub fn limits(&self) -> UserLimits {
        self.inner.limits
    }

    /// A client confined to `ctx.user_id`'s space. Opens no connection and sends nothing.
    pub fn user_client(&self, ctx: &UserContext) -> UserClient {
        UserClient {
            shared: self.shared_for(&ctx.user_id),
            request_id: ctx.request_id.as_deref().map(Arc::from),
        }
    }

    /// How many users have a live client record (for tests and status pages).
    pub fn live_users(&self) -> usize {
        self.inner
            .users
            .lock()
            .map(|t| t.map.values().filter(|w| w.strong_count() > 0).count())
            .unwrap_or(0)
    }

    fn shared_for(&self, user: &UserId) -> Arc<UserShared> {
        let fresh = || {
            Arc::new(UserShared {
                factory: self.inner.clone(),
                user: user.clone(),
                data_prefix: keys::user_data_prefix(user).into_boxed_str(),
                ops: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                in_flight: AtomicU32::new(0),
            })
        };
        // A poisoned lock only means another thread panicked mid-insert; the table is still
        // a valid map, so keep using it.
        let mut table = match self.inner.users.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(live) = table.map.get(user).and_then(Weak::upgrade) {
            return live;
        }
        let shared = fresh();
        table.map.insert(user.clone(), Arc::downgrade(&shared));
        if table.map.len() >= table.prune_at {
            table.map.retain(|_, w| w.strong_count() > 0);
            table.prune_at = (table.map.len() * 2).max(1024);
        }
        shared
    }
}

/// One user's view of Redis: every name is relative to the user's space.
///
/// Cheap to create and clone (no I/O, no connection); all clients share the manager's
/// connection and every command passes its choke point.
#[derive(Debug, Clone)]
pub struct UserClient {
    shared: Arc<UserShared>,
    request_id: Option<Arc<str>>,
}

/// Releases a per-user concurrency slot.
struct Slot<'a>(&'a AtomicU32);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl UserClient {
    /// The user this client is confined to.
    pub fn user_id(&self) -> &UserId {
        &self.shared.user
    }

    /// The request id from the context, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// This user's counters (shared by all of the user's clients in this process).
    pub fn stats(&self) -> UserStats {
        let s = &*self.shared;
        UserStats {
            ops: s.ops.load(Ordering::Relaxed),
            errors: s.errors.load(Ordering::Relaxed),
            rejected: s.rejected.load(Ordering::Relaxed),
            in_flight: s.in_flight.load(Ordering::Relaxed),
        }
    }

    /// The full Redis key of a relative name (for logs and tests; no method takes it back).
    pub fn key_of(&self, name: &str) -> Result<String> {
        keys::check_name("name", name)?;
        Ok(format!("{}{name}", self.shared.data_prefix))
    }

    fn manager(&self) -> &RedisManager {
        &self.shared.factory.manager
    }

    /// Counts the call, applies the limits, then runs `op` (lazy until awaited here).
    async fn guarded<T>(&self, op: impl Future<Output = Result<T>>) -> Result<T> {
        let s = &*self.shared;
        s.ops.fetch_add(1, Ordering::Relaxed);
        let result = match self.admit().await {
            Ok(_slot) => op.await,
            Err(e) => {
                s.rejected.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        };
        if let Err(e) = &result {
            s.errors.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(user = %s.user, request_id = ?self.request_id, error = %e, "user op failed");
        }
        result
    }

    async fn admit(&self) -> Result<Option<Slot<'_>>> {
        let s = &*self.shared;
        let limits = s.factory.limits;
        let slot = match limits.max_concurrent {
            Some(max) => {
                if s.in_flight.fetch_add(1, Ordering::AcqRel) >= max {
                    s.in_flight.fetch_sub(1, Ordering::AcqRel);
                    return Err(Error::Overloaded {
                        limit: usize::try_from(max).unwrap_or(usize::MAX),
                    });
                }
                Some(Slot(&s.in_flight))
            }
            None => None,
        };
        if let Some(per_sec) = limits.ops_per_sec {
            let key = format!("user:{}", s.user.encoded());
            s.factory
                .limiter
                .enforce(&key, per_sec, Duration::from_secs(1))
                .await?;
        }
        Ok(slot)
    }

    /// GET; `None` when missing.
    pub async fn get<T: FromRedisValue>(&self, name: &str) -> Result<Option<T>> {
        self.guarded(async { self.manager().get(&self.key_of(name)?).await })
            .await
    }

    /// SET without TTL.
    pub async fn set<V: ToRedisArgs>(&self, name: &str, value: V) -> Result<()> {
        self.guarded(async { self.manager().set(&self.key_of(name)?, value).await })
            .await
    }

    /// SET with a TTL.
    pub async fn set_ex<V: ToRedisArgs>(&self, name: &str, value: V, ttl: Duration) -> Result<()> {
        self.guarded(async { self.manager().set_ex(&self.key_of(name)?, value, ttl).await })
            .await
    }

    /// GET and decode JSON; a value that is not valid JSON for `T` is `Error::Decode`.
    pub async fn get_json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        let raw: Option<String> = self.get(name).await?;
        raw.map(|j| serde_json::from_str(&j).map_err(Error::from))
            .transpose()
    }

    /// SET of a JSON encoding, with an optional TTL.
    pub async fn set_json<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<()> {
        let json = serde_json::to_string(value)?;
        match ttl {
            Some(ttl) => self.set_ex(name, json, ttl).await,
            None => self.set(name, json).await,
        }
    }

    /// DEL; returns whether the key existed.
    pub async fn del(&self, name: &str) -> Result<bool> {
        self.guarded(async { Ok(self.manager().del(&[&self.key_of(name)?]).await? > 0) })
            .await
    }

    /// EXISTS.
    pub async fn exists(&self, name: &str) -> Result<bool> {
        self.guarded(async { Ok(self.manager().exists(&[&self.key_of(name)?]).await? > 0) })
            .await
    }

    /// INCR.
    pub async fn incr(&self, name: &str) -> Result<i64> {
        self.guarded(async { self.manager().incr(&self.key_of(name)?).await })
            .await
    }

    /// INCRBY.
    pub async fn incr_by(&self, name: &str, by: i64) -> Result<i64> {
        self.guarded(async { self.manager().incr_by(&self.key_of(name)?, by).await })
            .await
    }

    /// PEXPIRE; false if the key does not exist.
    pub async fn expire(&self, name: &str, ttl: Duration) -> Result<bool> {
        self.guarded(async { self.manager().expire(&self.key_of(name)?, ttl).await })
            .await
    }

    /// PTTL.
    pub async fn ttl(&self, name: &str) -> Result<Ttl> {
        self.guarded(async { self.manager().ttl(&self.key_of(name)?).await })
            .await
    }

    /// HSET of one field; returns whether the field is new.
    pub async fn hset<V: ToRedisArgs>(&self, name: &str, field: &str, value: V) -> Result<bool> {
        self.guarded(async { self.manager().hset(&self.key_of(name)?, field, value).await })
            .await
    }

    /// HGET.
    pub async fn hget<T: FromRedisValue>(&self, name: &str, field: &str) -> Result<Option<T>> {
        self.guarded(async { self.manager().hget(&self.key_of(name)?, field).await })
            .await
    }

    /// HGETALL; empty when missing.
    pub async fn hgetall<T: FromRedisValue>(&self, name: &str) -> Result<HashMap<String, T>> {
        self.guarded(async { self.manager().hgetall(&self.key_of(name)?).await })
            .await
    }

    /// HDEL; returns how many fields were removed.
    pub async fn hdel(&self, name: &str, fields: &[&str]) -> Result<u64> {
        self.guarded(async { self.manager().hdel(&self.key_of(name)?, fields).await })
            .await
    }

    /// LPUSH; returns the new length.
    pub async fn lpush<V: ToRedisArgs>(&self, name: &str, values: V) -> Result<u64> {
        self.guarded(async { self.manager().lpush(&self.key_of(name)?, values).await })
            .await
    }

    /// RPUSH; returns the new length.
    pub async fn rpush<V: ToRedisArgs>(&self, name: &str, values: V) -> Result<u64> {
        self.guarded(async { self.manager().rpush(&self.key_of(name)?, values).await })
            .await
    }

    /// LRANGE (inclusive, negative from the end); reads without changing the list.
    pub async fn lrange<T: FromRedisValue>(
        &self,
        name: &str,
        start: i64,
        stop: i64,
    ) -> Result<Vec<T>> {
        self.guarded(async {
            self.manager()
                .lrange(&self.key_of(name)?, start, stop)
                .await
        })
        .await
    }

    /// LLEN.
    pub async fn llen(&self, name: &str) -> Result<u64> {
        self.guarded(async { self.manager().llen(&self.key_of(name)?).await })
            .await
    }

    /// The relative names of all of this user's client keys (SCAN, never KEYS), sorted.
    pub async fn names(&self) -> Result<Vec<String>> {
        self.guarded(async {
            let prefix = &*self.shared.data_prefix;
            let pattern = format!("{}*", keys::escape_glob(prefix));
            let mut scan = self.manager().scan_match(&pattern, SWEEP_BATCH);
            let mut out = Vec::new();
            while let Some(key) = scan.next().await {
                let key = key?;
                if let Some(name) = key.strip_prefix(prefix) {
                    out.push(name.to_string());
                }
            }
            out.sort();
            out.dedup();
            Ok(out)
        })
        .await
    }

    /// Deletes every client key of this user, and nothing else (SCAN + UNLINK in batches);
    /// returns how many were removed. Sessions and agent state have their own deletes.
    pub async fn clear(&self) -> Result<u64> {
        self.guarded(async {
            let pattern = format!("{}*", keys::escape_glob(&self.shared.data_prefix));
            self.manager().unlink_matching(&pattern, SWEEP_BATCH).await
        })
        .await
    }
}
