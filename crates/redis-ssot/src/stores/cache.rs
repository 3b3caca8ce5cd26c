//! `Cache`: typed JSON values with TTLs in one namespace, and single-flight loading.
//!
//! Why JSON only: every process (and a human with `redis-cli`) can read it, and a value that no
//! longer matches the type is a loud `Error::Decode`, never a silent miss that would hide a
//! schema bug behind recomputation.
//!
//! Why single-flight: when a hot key expires, a thousand requests miss at once; without
//! coordination they all run the expensive computation. Here concurrent misses on one key in
//! this process share one computation (a `tokio::sync::OnceCell` per key in flight); a late
//! arrival re-reads Redis before computing, so it finds the value the leader just wrote.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::commands::SetOptions;
use crate::error::{Error, Result};
use crate::keys;
use crate::manager::RedisManager;

/// Hit, miss and error counts of one [`Cache`] (shared by its clones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Reads that found a value.
    pub hits: u64,
    /// Reads that found nothing.
    pub misses: u64,
    /// Reads or writes that failed (Redis errors and undecodable values).
    pub errors: u64,
}

/// A namespace of JSON values: keys are `cache:<namespace>:<key>`.
#[derive(Debug, Clone)]
pub struct Cache {
    inner: Arc<CacheInner>,
}

#[derive(Debug)]
struct CacheInner {
    manager: RedisManager,
    namespace: String,
    prefix: String,
    flights: Mutex<HashMap<String, Arc<OnceCell<String>>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
}

impl Cache {
    /// A cache over `namespace` (checked by [`keys::check_segment`]: no `:`, so one
    /// namespace's sweep cannot reach another's keys).
    pub fn new(manager: RedisManager, namespace: &str) -> Result<Cache> {
        keys::check_segment("cache namespace", namespace)?;
        Ok(Cache {
            inner: Arc::new(CacheInner {
                manager,
                namespace: namespace.to_string(),
                prefix: keys::cache_prefix(namespace),
                flights: Mutex::new(HashMap::new()),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                errors: AtomicU64::new(0),
            }),
        })
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        let i = &*self.inner;
        CacheStats {
            hits: i.hits.load(Ordering::Relaxed),
            misses: i.misses.load(Ordering::Relaxed),
            errors: i.errors.load(Ordering::Relaxed),
        }
    }

    /// The Redis key of `key` (`cache:<namespace>:<key>`).
    pub fn key_of(&self, key: &str) -> Result<String> {
        keys::check_name("cache key", key)?;
        Ok(format!("{}{key}", self.inner.prefix))
    }

    /// The value under `key`; `Ok(None)` on a miss, `Err(Error::Decode)` if the stored value
    /// is not valid JSON for `T`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let full = self.key_of(key)?;
        let raw = self.counted(self.inner.manager.get::<String>(&full).await)?;
        self.count_read(raw.is_some());
        raw.map(|j| self.decode(key, &j)).transpose()
    }

    /// Stores `value` as JSON for `ttl`.
    pub async fn set<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) -> Result<()> {
        let full = self.key_of(key)?;
        let json = serde_json::to_string(value)?;
        self.counted(self.set_raw(&full, &json, ttl).await)
    }

    /// Deletes `key`; returns whether it existed.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        let full = self.key_of(key)?;
        Ok(self.counted(self.inner.manager.del(&[&full]).await)? > 0)
    }

    /// Several values in one round trip, in order (a pipeline of GETs, so it also works when
    /// the keys sit on different cluster slots). Any undecodable value fails the whole call.
    pub async fn mget<T: DeserializeOwned>(&self, keys: &[&str]) -> Result<Vec<Option<T>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.get(self.key_of(k)?);
        }
        let raws: Vec<Option<String>> = self.counted(self.inner.manager.pipeline(&pipe).await)?;
        raws.into_iter()
            .zip(keys)
            .map(|(raw, key)| {
                self.count_read(raw.is_some());
                raw.map(|j| self.decode(key, &j)).transpose()
            })
            .collect()
    }

    /// Several values in one round trip, all with `ttl` (a pipeline of SETs).
    pub async fn mset<T: Serialize>(&self, entries: &[(&str, T)], ttl: Duration) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let ms = super::ttl_ms(ttl);
        let mut pipe = redis::pipe();
        for (k, v) in entries {
            pipe.cmd("SET")
                .arg(self.key_of(k)?)
                .arg(serde_json::to_string(v)?)
                .arg("PX")
                .arg(ms)
                .ignore();
        }
        self.counted(self.inner.manager.pipeline::<()>(&pipe).await)
    }

    /// The cached value, or the result of `compute` (stored for `ttl`). Concurrent misses on
    /// the same key in this process run `compute` once and all get its value. If Redis is
    /// unreachable the value is computed and returned uncached (counted as an error); a value
    /// that does not decode is `Err(Error::Decode)`, not a reason to recompute.
    pub async fn get_or_compute<T, E, F, Fut>(
        &self,
        key: &str,
        ttl: Duration,
        compute: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<Error>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let full = self.key_of(key)?;
        match self.inner.manager.get::<String>(&full).await {
            Ok(Some(json)) => {
                self.count_read(true);
                return Ok(self.decode(key, &json)?);
            }
            Ok(None) => self.count_read(false),
            Err(e) if e.is_unavailable() => {
                self.inner.errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.inner.errors.fetch_add(1, Ordering::Relaxed);
                return Err(e.into());
            }
        }
        let cell = self.flight(&full);
        let result = cell
            .get_or_try_init(|| async {
                // A flight that finished just before ours was created has already written.
                if let Ok(Some(json)) = self.inner.manager.get::<String>(&full).await {
                    return Ok(json);
                }
                let value = compute().await?;
                let json = serde_json::to_string(&value).map_err(Error::from)?;
                if let Err(e) = self.set_raw(&full, &json, ttl).await {
                    self.inner.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(key = %full, error = %e, "computed value not cached");
                }
                Ok::<String, E>(json)
            })
            .await
            .cloned();
        self.land(&full, &cell);
        Ok(self.decode(key, &result?)?)
    }

    /// Deletes every key of this namespace (SCAN + UNLINK in batches, never KEYS); returns how
    /// many were removed.
    pub async fn invalidate_namespace(&self) -> Result<u64> {
        let pattern = format!("{}*", keys::escape_glob(&self.inner.prefix));
        self.counted(self.inner.manager.unlink_matching(&pattern, 500).await)
    }

    fn flight(&self, full: &str) -> Arc<OnceCell<String>> {
        let mut flights = match self.inner.flights.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        flights.entry(full.to_string()).or_default().clone()
    }

    /// Removes a finished flight, unless a newer one already replaced it.
    fn land(&self, full: &str, cell: &Arc<OnceCell<String>>) {
        let mut flights = match self.inner.flights.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        if flights.get(full).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            flights.remove(full);
        }
    }

    async fn set_raw(&self, full: &str, json: &str, ttl: Duration) -> Result<()> {
        let opts = SetOptions {
            ttl: Some(Duration::from_millis(super::ttl_ms(ttl))),
            ..SetOptions::default()
        };
        self.inner
            .manager
            .set_with(full, json, opts)
            .await
            .map(|_| ())
    }

    fn decode<T: DeserializeOwned>(&self, key: &str, json: &str) -> Result<T> {
        serde_json::from_str(json).map_err(|e| {
            self.inner.errors.fetch_add(1, Ordering::Relaxed);
            Error::Decode(format!(
                "cache namespace {}, key {key:?}: {}",
                self.inner.namespace,
                crate::error::json_problem(&e)
            ))
        })
    }

    fn count_read(&self, hit: bool) {
        let counter = if hit {
            &self.inner.hits
        } else {
            &self.inner.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn counted<T>(&self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.inner.errors.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}
