//! `Cache`, `UserCache` and `Analytics`: JSON values with TTLs.
//!
//! A stored value that is not valid JSON raises `DecodeError`, never a silent miss (which
//! would hide a schema bug behind recomputation). `get_or_compute` / `get_or_load` live in
//! the Python classes, because the computation is a Python coroutine.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value as Json;

use super::{Handle, PerProcess, later, py_bool, py_json, py_none, py_u64};
use crate::args::to_text;
use crate::client::duration;
use crate::errors;

fn positive(secs: f64, what: &str) -> PyResult<Duration> {
    let d = duration(secs, what)?;
    if d.is_zero() {
        return Err(errors::value_error(format!("{what} must be positive")));
    }
    Ok(d)
}

/// A day as the event lists name it (`YYYY-MM-DD`): a `datetime.date` (or `datetime`), or
/// text in that form. Anything else would name a list that never exists and read as empty.
fn day_of(v: &Bound<'_, PyAny>) -> PyResult<String> {
    if v.hasattr(pyo3::intern!(v.py(), "strftime"))? && !v.is_instance_of::<pyo3::types::PyString>()
    {
        return v
            .call_method1(pyo3::intern!(v.py(), "strftime"), ("%Y-%m-%d",))?
            .extract();
    }
    let text = to_text(v, "day")?;
    let b = text.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    let month = text.get(5..7).and_then(|m| m.parse::<u8>().ok());
    let day = text.get(8..10).and_then(|d| d.parse::<u8>().ok());
    if !shaped || !matches!(month, Some(1..=12)) || !matches!(day, Some(1..=31)) {
        return Err(crate::errors::value_error(format!(
            "day must be a datetime.date or text like '2024-05-31' (YYYY-MM-DD), got {text:?}"
        )));
    }
    Ok(text)
}

fn stats_dict(py: Python<'_>, s: redis_ssot::CacheStats) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("hits", s.hits)?;
    d.set_item("misses", s.misses)?;
    d.set_item("errors", s.errors)?;
    Ok(d.into_any().unbind())
}

fn json_list(py: Python<'_>, items: Vec<Option<Json>>) -> PyResult<Py<PyAny>> {
    let list = PyList::empty(py);
    for v in items {
        list.append(py_json(py, v)?)?;
    }
    Ok(list.into_any().unbind())
}

/// A namespace of JSON values: keys are `cache:<namespace>:<key>`.
#[pyclass(frozen, module = "redis_ssot._native", name = "Cache", subclass)]
pub(crate) struct Cache {
    handle: Handle,
    cache: PerProcess<redis_ssot::Cache>,
}

#[pymethods]
impl Cache {
    /// A cache over `namespace` (`[A-Za-z0-9_.@-]`, no `:`; `InvalidKey` otherwise).
    #[new]
    fn new(
        py: Python<'_>,
        manager: &Bound<'_, PyAny>,
        namespace: &Bound<'_, PyAny>,
    ) -> PyResult<Cache> {
        let handle = Handle::of(manager)?;
        let ns = to_text(namespace, "namespace")?;
        let cache = PerProcess::new(py, &handle, move |m| redis_ssot::Cache::new(m, &ns))?;
        Ok(Cache { handle, cache })
    }

    /// The namespace.
    #[getter]
    fn namespace(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.cache.get(py, &self.handle)?.namespace().to_string())
    }

    /// Hits, misses and errors of this cache in this process.
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        stats_dict(py, self.cache.get(py, &self.handle)?.stats())
    }

    /// The Redis key of `key`.
    fn key_of(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<String> {
        let cache = self.cache.get(py, &self.handle)?;
        cache
            .key_of(&to_text(key, "key")?)
            .map_err(|e| errors::to_py(py, e))
    }

    /// The value under `key`, or `None` on a miss.
    fn get(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, k) = (self.cache.get(py, &self.handle)?, to_text(key, "key")?);
        self.handle.spawn(
            py,
            async move { Ok(later(c.get::<Json>(&k).await?, py_json)) },
        )
    }

    /// Stores `value` as JSON for `ttl` seconds.
    fn set(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: f64,
    ) -> PyResult<Py<PyAny>> {
        let (c, k) = (self.cache.get(py, &self.handle)?, to_text(key, "key")?);
        let (v, ttl) = (crate::json::from_py(value, "value")?, positive(ttl, "ttl")?);
        self.handle.spawn(py, async move {
            c.set(&k, &v, ttl).await?;
            Ok(later((), py_none))
        })
    }

    /// Deletes `key`: whether it existed.
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, k) = (self.cache.get(py, &self.handle)?, to_text(key, "key")?);
        self.handle
            .spawn(py, async move { Ok(later(c.delete(&k).await?, py_bool)) })
    }

    /// Several values in one round trip, in order (`None` for each miss).
    fn mget(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let c = self.cache.get(py, &self.handle)?;
        let keys: Vec<String> = keys
            .try_iter()?
            .map(|k| to_text(&k?, "key"))
            .collect::<PyResult<_>>()?;
        self.handle.spawn(py, async move {
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            Ok(later(c.mget::<Json>(&refs).await?, json_list))
        })
    }

    /// Several values from a dict, all for `ttl` seconds, in one round trip.
    fn mset(&self, py: Python<'_>, mapping: &Bound<'_, PyAny>, ttl: f64) -> PyResult<Py<PyAny>> {
        let c = self.cache.get(py, &self.handle)?;
        let mapping = mapping
            .cast::<PyDict>()
            .map_err(|_| errors::type_error("mset takes a dict of key -> value"))?;
        let mut entries = Vec::with_capacity(mapping.len());
        for (k, v) in mapping.iter() {
            entries.push((to_text(&k, "key")?, crate::json::from_py(&v, "value")?));
        }
        let ttl = positive(ttl, "ttl")?;
        self.handle.spawn(py, async move {
            let refs: Vec<(&str, &Json)> = entries.iter().map(|(k, v)| (k.as_str(), v)).collect();
            c.mset(&refs, ttl).await?;
            Ok(later((), py_none))
        })
    }

    /// Deletes every key of this namespace (SCAN + UNLINK): how many were removed.
    fn invalidate_namespace(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let c = self.cache.get(py, &self.handle)?;
        self.handle.spawn(py, async move {
            Ok(later(c.invalidate_namespace().await?, py_u64))
        })
    }
}

/// A per-user JSON cache: `cache:user_data:<uid>`, `cache:permissions:<uid>`, 30 minutes.
#[pyclass(frozen, module = "redis_ssot._native", name = "UserCache", subclass)]
pub(crate) struct UserCache {
    handle: Handle,
    cache: PerProcess<redis_ssot::UserCache>,
}

#[pymethods]
impl UserCache {
    /// A per-user cache over `namespace` (`user_data` and `permissions` are the seeds'),
    /// entries living `ttl` seconds.
    #[new]
    #[pyo3(signature = (manager, namespace = None, ttl = 1800.0))]
    fn new(
        py: Python<'_>,
        manager: &Bound<'_, PyAny>,
        namespace: Option<&Bound<'_, PyAny>>,
        ttl: f64,
    ) -> PyResult<UserCache> {
        let handle = Handle::of(manager)?;
        let ns = match namespace {
            Some(n) => to_text(n, "namespace")?,
            None => "user_data".to_string(),
        };
        let ttl = positive(ttl, "ttl")?;
        let cache = PerProcess::new(py, &handle, move |m| {
            Ok(redis_ssot::UserCache::with_namespace(m, &ns)?.with_ttl(ttl))
        })?;
        Ok(UserCache { handle, cache })
    }

    /// Hits, misses and errors in this process.
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        stats_dict(py, self.cache.get(py, &self.handle)?.stats())
    }

    /// The entry lifetime in seconds.
    #[getter]
    fn ttl(&self, py: Python<'_>) -> PyResult<f64> {
        Ok(self.cache.get(py, &self.handle)?.ttl().as_secs_f64())
    }

    /// The cached value for `user_id`, or `None`.
    fn get(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, u) = (
            self.cache.get(py, &self.handle)?,
            super::user_id(py, user_id)?,
        );
        self.handle.spawn(
            py,
            async move { Ok(later(c.get::<Json>(&u).await?, py_json)) },
        )
    }

    /// Caches `value` for `user_id`.
    fn set(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (c, u) = (
            self.cache.get(py, &self.handle)?,
            super::user_id(py, user_id)?,
        );
        let v = crate::json::from_py(value, "value")?;
        self.handle.spawn(py, async move {
            c.set(&u, &v).await?;
            Ok(later((), py_none))
        })
    }

    /// Drops `user_id`'s entry: whether there was one.
    fn invalidate(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, u) = (
            self.cache.get(py, &self.handle)?,
            super::user_id(py, user_id)?,
        );
        self.handle.spawn(
            py,
            async move { Ok(later(c.invalidate(&u).await?, py_bool)) },
        )
    }
}

/// Cached analytics JSON and capped daily event lists.
#[pyclass(frozen, module = "redis_ssot._native", name = "Analytics")]
pub(crate) struct Analytics {
    handle: Handle,
    event_cap: u32,
    event_ttl: Duration,
}

impl Analytics {
    fn store(&self, py: Python<'_>) -> PyResult<redis_ssot::Analytics> {
        Ok(redis_ssot::Analytics::new(self.handle.manager(py)?)
            .with_event_cap(self.event_cap)
            .with_event_ttl(self.event_ttl))
    }
}

#[pymethods]
impl Analytics {
    /// Analytics on `manager`: at most `event_cap` newest events per stream and day, a day's
    /// list living `event_ttl` seconds after its last push (7 days).
    #[new]
    #[pyo3(signature = (manager, *, event_cap = 1000, event_ttl = 604800.0))]
    fn new(manager: &Bound<'_, PyAny>, event_cap: u32, event_ttl: f64) -> PyResult<Analytics> {
        Ok(Analytics {
            handle: Handle::of(manager)?,
            event_cap: event_cap.max(1),
            event_ttl: positive(event_ttl, "event_ttl")?,
        })
    }

    /// Stores `data` as JSON at `analytics:<key>` for `ttl` seconds.
    #[pyo3(signature = (key, data, ttl = 3600.0))]
    fn cache_analytics_data(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        ttl: f64,
    ) -> PyResult<Py<PyAny>> {
        let (a, k) = (self.store(py)?, to_text(key, "key")?);
        let (v, ttl) = (crate::json::from_py(data, "data")?, positive(ttl, "ttl")?);
        self.handle.spawn(py, async move {
            a.cache_analytics_data(&k, &v, ttl).await?;
            Ok(later((), py_none))
        })
    }

    /// The JSON at `analytics:<key>`, or `None`.
    fn get_analytics_data(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (a, k) = (self.store(py)?, to_text(key, "key")?);
        self.handle.spawn(py, async move {
            Ok(later(a.get_analytics_data::<Json>(&k).await?, py_json))
        })
    }

    /// Appends `event` to today's (UTC) list of `stream`: the list's length.
    fn record_event(
        &self,
        py: Python<'_>,
        stream: &Bound<'_, PyAny>,
        event: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (a, s) = (self.store(py)?, to_text(stream, "stream")?);
        let e = crate::json::from_py(event, "event")?;
        self.handle.spawn(py, async move {
            Ok(later(a.record_event(&s, &e).await?, py_u64))
        })
    }

    /// One page of `stream`'s events for `day` (`YYYY-MM-DD`), newest first.
    #[pyo3(signature = (stream, day, page = 0, per_page = 100))]
    fn events(
        &self,
        py: Python<'_>,
        stream: &Bound<'_, PyAny>,
        day: &Bound<'_, PyAny>,
        page: u32,
        per_page: u32,
    ) -> PyResult<Py<PyAny>> {
        let (a, s, d) = (self.store(py)?, to_text(stream, "stream")?, day_of(day)?);
        self.handle.spawn(py, async move {
            let events: Vec<Json> = a.events(&s, &d, page, per_page).await?;
            Ok(later(events, |py, events| {
                json_list(py, events.into_iter().map(Some).collect())
            }))
        })
    }

    /// How many events `stream` holds for `day`.
    fn event_count(
        &self,
        py: Python<'_>,
        stream: &Bound<'_, PyAny>,
        day: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (a, s, d) = (self.store(py)?, to_text(stream, "stream")?, day_of(day)?);
        self.handle.spawn(py, async move {
            Ok(later(a.event_count(&s, &d).await?, py_u64))
        })
    }
}
