//! `RedisFactory`, `UserContext` and `UserClient`: per-user key spaces on the one manager.
//!
//! A `UserClient` never takes a raw key: every name is relative to the user's space
//! `{u:<escaped id>}:d:`, so a handler bug cannot read another user's data, whatever the
//! user id contains (`a:b`, `*`, `{u:a}`, non-ASCII bytes: all are escaped by the Rust
//! `UserId`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use redis_ssot::redis::Value;
use redis_ssot::{Ttl, UserLimits};

use super::{Handle, PerProcess, later, py_bool, py_none, py_u64, user_id_py};
use crate::args::{to_bytes, to_text};
use crate::errors;
use crate::reply::{raw, string};
use crate::runtime::Local;

/// Who a request acts for: a validated user id and an optional correlation id.
#[pyclass(frozen, module = "redis_ssot._native", name = "UserContext")]
pub(crate) struct UserContext {
    ctx: redis_ssot::UserContext,
}

#[pymethods]
impl UserContext {
    /// A context for `user_id` (str or bytes; escaped, so any id is safe). `InvalidKey` for
    /// an empty id or one over 256 bytes.
    #[new]
    #[pyo3(signature = (user_id, request_id = None))]
    fn new(
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        request_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<UserContext> {
        let mut ctx = redis_ssot::UserContext::for_user(super::user_id(py, user_id)?);
        if let Some(r) = request_id {
            ctx = ctx.with_request_id(to_text(r, "request_id")?);
        }
        Ok(UserContext { ctx })
    }

    /// The user id as given.
    #[getter]
    fn user_id(&self, py: Python<'_>) -> Py<PyAny> {
        user_id_py(py, &self.ctx.user_id)
    }

    /// The correlation id, if any.
    #[getter]
    fn request_id(&self) -> Option<String> {
        self.ctx.request_id.clone()
    }

    /// `UserContext(user_id='alice', request_id='req-1')`, as Python would write it.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let request_id = match &self.ctx.request_id {
            Some(r) => pyo3::types::PyString::new(py, r).repr()?.to_string(),
            None => "None".into(),
        };
        Ok(format!(
            "UserContext(user_id={}, request_id={request_id})",
            self.user_id(py).bind(py).repr()?
        ))
    }
}

/// Hands out `UserClient`s that share the manager's one connection.
#[pyclass(frozen, subclass, module = "redis_ssot._native", name = "RedisFactory")]
pub(crate) struct RedisFactory {
    handle: Handle,
    decode: bool,
    factory: Arc<PerProcess<redis_ssot::RedisFactory>>,
}

#[pymethods]
impl RedisFactory {
    /// A factory on `manager`; optional per-user limits: `max_concurrent` commands in flight
    /// (past it `Overloaded`), `ops_per_sec` across processes (past it `RateLimited`).
    #[new]
    #[pyo3(signature = (manager, *, max_concurrent = None, ops_per_sec = None))]
    fn new(
        py: Python<'_>,
        manager: &Bound<'_, PyAny>,
        max_concurrent: Option<u32>,
        ops_per_sec: Option<u32>,
    ) -> PyResult<RedisFactory> {
        let handle = Handle::of(manager)?;
        let decode = handle.decode;
        let limits = UserLimits {
            max_concurrent,
            ops_per_sec,
        };
        let factory = PerProcess::new(py, &handle, move |m| {
            Ok(redis_ssot::RedisFactory::with_limits(m, limits))
        })?;
        Ok(RedisFactory {
            handle,
            decode,
            factory: Arc::new(factory),
        })
    }

    /// A client confined to `ctx`'s user. Opens no connection and sends nothing.
    fn user_client(&self, py: Python<'_>, ctx: &Bound<'_, UserContext>) -> PyResult<UserClient> {
        let ctx = ctx.get().ctx.clone();
        let client = self.factory.get(py, &self.handle)?.user_client(&ctx);
        Ok(UserClient {
            handle: self.handle.clone(),
            decode: self.decode,
            factory: self.factory.clone(),
            ctx,
            client: Mutex::new(Local::new(client)),
        })
    }

    /// How many users have a live client in this process.
    fn live_users(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.factory.get(py, &self.handle)?.live_users())
    }
}

/// One user's view of Redis: every name is relative to the user's space.
#[pyclass(frozen, module = "redis_ssot._native", name = "UserClient")]
pub(crate) struct UserClient {
    handle: Handle,
    decode: bool,
    factory: Arc<PerProcess<redis_ssot::RedisFactory>>,
    ctx: redis_ssot::UserContext,
    /// Rebuilt from the factory in a forked child: the parent's holds the parent's manager.
    client: Mutex<Local<redis_ssot::UserClient>>,
}

fn secs_ttl(ttl: Ttl) -> i64 {
    match ttl {
        Ttl::Missing => -2,
        Ttl::Persistent => -1,
        Ttl::Expires(d) => ((d.as_millis() + 500) / 1000) as i64,
    }
}

fn name(v: &Bound<'_, PyAny>) -> PyResult<String> {
    to_text(v, "name")
}

#[pymethods]
impl UserClient {
    /// The user id as given.
    #[getter]
    fn user_id(&self, py: Python<'_>) -> Py<PyAny> {
        user_id_py(py, &self.ctx.user_id)
    }

    /// The correlation id of the context, if any.
    #[getter]
    fn request_id(&self) -> Option<String> {
        self.ctx.request_id.clone()
    }

    /// The full Redis key of a relative name (for logs and tests).
    fn key_of(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<String> {
        self.c(py)?
            .key_of(&self::name(name)?)
            .map_err(|e| errors::to_py(py, e))
    }

    /// This user's counters in this process: ops, errors, rejected, in_flight.
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let s = self.c(py)?.stats();
        let d = PyDict::new(py);
        d.set_item("ops", s.ops)?;
        d.set_item("errors", s.errors)?;
        d.set_item("rejected", s.rejected)?;
        d.set_item("in_flight", s.in_flight)?;
        Ok(d.into_any().unbind())
    }

    /// GET: the value, or `None`.
    fn get(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, n, decode) = (self.c(py)?, self::name(name)?, self.decode);
        self.handle.spawn(py, async move {
            let v: Option<Value> = c.get(&n).await?;
            Ok(later(v, move |py, v| match v {
                Some(v) => raw(py, v, decode),
                None => Ok(py.None()),
            }))
        })
    }

    /// SET, with an optional TTL `ex` in seconds: `True`.
    #[pyo3(signature = (name, value, ex = None))]
    fn set(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ex: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let (c, n, v) = (self.c(py)?, self::name(name)?, to_bytes(value, "value")?);
        let ttl = ex.map(|s| crate::client::duration(s, "ex")).transpose()?;
        self.handle.spawn(py, async move {
            match ttl {
                Some(t) => c.set_ex(&n, v, t).await?,
                None => c.set(&n, v).await?,
            }
            Ok(later((), |py, ()| py_bool(py, true)))
        })
    }

    /// DEL: whether the key existed.
    fn delete(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, n) = (self.c(py)?, self::name(name)?);
        self.handle
            .spawn(py, async move { Ok(later(c.del(&n).await?, py_bool)) })
    }

    /// EXISTS: whether the key exists.
    fn exists(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, n) = (self.c(py)?, self::name(name)?);
        self.handle
            .spawn(py, async move { Ok(later(c.exists(&n).await?, py_bool)) })
    }

    /// INCRBY `amount`: the new value.
    #[pyo3(signature = (name, amount = 1))]
    fn incr(&self, py: Python<'_>, name: &Bound<'_, PyAny>, amount: i64) -> PyResult<Py<PyAny>> {
        let (c, n) = (self.c(py)?, self::name(name)?);
        self.handle.spawn(py, async move {
            Ok(later(c.incr_by(&n, amount).await?, |py, v| {
                Ok(v.into_pyobject(py)?.into_any().unbind())
            }))
        })
    }

    /// INCRBY: the new value.
    #[pyo3(signature = (name, amount = 1))]
    fn incrby(&self, py: Python<'_>, name: &Bound<'_, PyAny>, amount: i64) -> PyResult<Py<PyAny>> {
        self.incr(py, name, amount)
    }

    /// A TTL of `time` seconds: whether the key exists.
    fn expire(&self, py: Python<'_>, name: &Bound<'_, PyAny>, time: f64) -> PyResult<Py<PyAny>> {
        let (c, n) = (self.c(py)?, self::name(name)?);
        let ttl = crate::client::duration(time, "time")?;
        self.handle.spawn(
            py,
            async move { Ok(later(c.expire(&n, ttl).await?, py_bool)) },
        )
    }

    /// TTL in seconds: -2 if missing, -1 if it never expires.
    fn ttl(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, n) = (self.c(py)?, self::name(name)?);
        self.handle.spawn(py, async move {
            let t = secs_ttl(c.ttl(&n).await?);
            Ok(later(t, |py, t| {
                Ok(t.into_pyobject(py)?.into_any().unbind())
            }))
        })
    }

    /// HSET of one field: whether it is new.
    fn hset(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (c, n, k, v) = (
            self.c(py)?,
            self::name(name)?,
            to_text(key, "key")?,
            to_bytes(value, "value")?,
        );
        self.handle.spawn(
            py,
            async move { Ok(later(c.hset(&n, &k, v).await?, py_bool)) },
        )
    }

    /// HGET: the field's value, or `None`.
    fn hget(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (c, n, k, decode) = (
            self.c(py)?,
            self::name(name)?,
            to_text(key, "key")?,
            self.decode,
        );
        self.handle.spawn(py, async move {
            let v: Option<Value> = c.hget(&n, &k).await?;
            Ok(later(v, move |py, v| match v {
                Some(v) => raw(py, v, decode),
                None => Ok(py.None()),
            }))
        })
    }

    /// HGETALL: a dict (empty when missing).
    fn hgetall(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, n, decode) = (self.c(py)?, self::name(name)?, self.decode);
        self.handle.spawn(py, async move {
            let all: HashMap<String, Value> = c.hgetall(&n).await?;
            Ok(later(all, move |py, all| {
                let d = PyDict::new(py);
                for (k, v) in all {
                    d.set_item(string(py, k.as_bytes(), decode)?, raw(py, v, decode)?)?;
                }
                Ok(d.into_any().unbind())
            }))
        })
    }

    /// HDEL: how many fields were removed.
    #[pyo3(signature = (name, *keys))]
    fn hdel(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        keys: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let (c, n) = (self.c(py)?, self::name(name)?);
        let keys: Vec<String> = keys
            .iter()
            .map(|k| to_text(&k, "key"))
            .collect::<PyResult<_>>()?;
        self.handle.spawn(py, async move {
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            Ok(later(c.hdel(&n, &refs).await?, py_u64))
        })
    }

    /// LPUSH: the new length.
    #[pyo3(signature = (name, *values))]
    fn lpush(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        values: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        self.push(py, name, values, true)
    }

    /// RPUSH: the new length.
    #[pyo3(signature = (name, *values))]
    fn rpush(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        values: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        self.push(py, name, values, false)
    }

    /// LRANGE `start..=end`.
    fn lrange(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        start: i64,
        end: i64,
    ) -> PyResult<Py<PyAny>> {
        let (c, n, decode) = (self.c(py)?, self::name(name)?, self.decode);
        self.handle.spawn(py, async move {
            let items: Vec<Value> = c.lrange(&n, start, end).await?;
            Ok(later(items, move |py, items| {
                let list = PyList::empty(py);
                for i in items {
                    list.append(raw(py, i, decode)?)?;
                }
                Ok(list.into_any().unbind())
            }))
        })
    }

    /// LLEN.
    fn llen(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, n) = (self.c(py)?, self::name(name)?);
        self.handle
            .spawn(py, async move { Ok(later(c.llen(&n).await?, py_u64)) })
    }

    /// The relative names of all of this user's keys (SCAN), sorted.
    fn names(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let c = self.c(py)?;
        self.handle.spawn(py, async move {
            Ok(later(c.names().await?, |py, names| {
                Ok(PyList::new(py, names)?.into_any().unbind())
            }))
        })
    }

    /// Deletes every key of this user, and nothing else: how many were removed.
    fn clear(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let c = self.c(py)?;
        self.handle
            .spawn(py, async move { Ok(later(c.clear().await?, py_u64)) })
    }

    /// A JSON value under `name`, or `None`.
    fn get_json(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (c, n) = (self.c(py)?, self::name(name)?);
        self.handle.spawn(py, async move {
            let v: Option<serde_json::Value> = c.get_json(&n).await?;
            Ok(later(v, super::py_json))
        })
    }

    /// Stores `value` as JSON, with an optional TTL `ex` in seconds.
    #[pyo3(signature = (name, value, ex = None))]
    fn set_json(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ex: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let (c, n) = (self.c(py)?, self::name(name)?);
        let v = crate::json::from_py(value, "value")?;
        let ttl: Option<Duration> = ex.map(|s| crate::client::duration(s, "ex")).transpose()?;
        self.handle.spawn(py, async move {
            c.set_json(&n, &v, ttl).await?;
            Ok(later((), py_none))
        })
    }
}

impl UserClient {
    /// This process's Rust client.
    fn c(&self, py: Python<'_>) -> PyResult<redis_ssot::UserClient> {
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = slot.get() {
            return Ok(c.clone());
        }
        let fresh = self.factory.get(py, &self.handle)?.user_client(&self.ctx);
        *slot = Local::new(fresh.clone());
        Ok(fresh)
    }

    fn push(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        values: &Bound<'_, PyTuple>,
        left: bool,
    ) -> PyResult<Py<PyAny>> {
        let (c, n) = (self.c(py)?, self::name(name)?);
        let values: Vec<Vec<u8>> = values
            .iter()
            .map(|v| to_bytes(&v, "value"))
            .collect::<PyResult<_>>()?;
        if values.is_empty() {
            return Err(errors::value_error(if left {
                "lpush needs a value"
            } else {
                "rpush needs a value"
            }));
        }
        self.handle.spawn(py, async move {
            let len = if left {
                c.lpush(&n, values).await?
            } else {
                c.rpush(&n, values).await?
            };
            Ok(later(len, py_u64))
        })
    }
}
