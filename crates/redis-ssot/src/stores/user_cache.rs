//! `UserCache`: the user-data and permission caches, one entry per user, 30 minutes.
//!
//! Thin on purpose: it is a [`Cache`] with a fixed namespace, a fixed TTL and [`UserId`] keys,
//! so callers cannot mix up whose permissions they cache or forget the TTL. Invalidate on
//! every write to the source of truth; the TTL only bounds staleness after a missed
//! invalidation.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::{Cache, CacheStats};
use crate::error::{Error, Result};
use crate::keys::UserId;
use crate::manager::RedisManager;

/// A per-user JSON cache (`cache:user_data:<uid>` or `cache:permissions:<uid>`).
#[derive(Debug, Clone)]
pub struct UserCache {
    cache: Cache,
    ttl: Duration,
}

impl UserCache {
    /// The default entry lifetime (30 minutes).
    pub const DEFAULT_TTL: Duration = Duration::from_secs(1800);

    /// The user-data cache (namespace `user_data`).
    pub fn user_data(manager: RedisManager) -> Result<UserCache> {
        UserCache::with_namespace(manager, "user_data")
    }

    /// The permission cache (namespace `permissions`).
    pub fn permissions(manager: RedisManager) -> Result<UserCache> {
        UserCache::with_namespace(manager, "permissions")
    }

    /// A per-user cache over another namespace.
    pub fn with_namespace(manager: RedisManager, namespace: &str) -> Result<UserCache> {
        Ok(UserCache {
            cache: Cache::new(manager, namespace)?,
            ttl: Self::DEFAULT_TTL,
        })
    }

    /// Changes the entry lifetime.
    pub fn with_ttl(mut self, ttl: Duration) -> UserCache {
        self.ttl = ttl;
        self
    }

    /// The entry lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The cached value for `user`.
    pub async fn get<T: DeserializeOwned>(&self, user: &UserId) -> Result<Option<T>> {
        self.cache.get(user.encoded()).await
    }

    /// Caches `value` for `user`.
    pub async fn set<T: Serialize>(&self, user: &UserId, value: &T) -> Result<()> {
        self.cache.set(user.encoded(), value, self.ttl).await
    }

    /// Drops `user`'s entry; returns whether there was one.
    pub async fn invalidate(&self, user: &UserId) -> Result<bool> {
        self.cache.delete(user.encoded()).await
    }

    /// The cached value, or `load()`'s result cached (single-flight, see
    /// [`Cache::get_or_compute`]).
    pub async fn get_or_load<T, E, F, Fut>(&self, user: &UserId, load: F) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<Error>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.cache
            .get_or_compute(user.encoded(), self.ttl, load)
            .await
    }

    /// Hit/miss/error counts.
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// The underlying cache (for `invalidate_namespace`).
    pub fn cache(&self) -> &Cache {
        &self.cache
    }
}
