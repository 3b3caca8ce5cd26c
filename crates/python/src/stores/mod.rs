//! The Rust stores, with the seeds' Python names.
//!
//! Each Python store wraps the Rust store of the same name, so the key layout (`keys.rs`) is
//! the same whichever language wrote a record: a session created by the Rust gateway is read
//! by a Python service and the reverse, and a token revoked in Python is revoked for Rust.
//! Records are JSON in Redis; Python sees dicts.
//!
//! - `factory`: `RedisFactory`, `UserContext`, `UserClient`.
//! - `session`: `SessionStore`, `TokenBlacklist`, `RateLimiter`.
//! - `cache`: `Cache`, `UserCache`, `Analytics`.
//! - `agent`: `AgentStateStore`.

pub(crate) mod agent;
pub(crate) mod cache;
pub(crate) mod factory;
pub(crate) mod session;

use std::future::Future;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use redis_ssot::{RedisManager, UserId};

use crate::bridge::{self, Mode, Outcome, Reply};
use crate::client::Client;
use crate::core::Core;
use crate::errors;
use crate::runtime::Local;

/// What every store handle holds: the manager's core and how calls return.
#[derive(Clone)]
pub(crate) struct Handle {
    core: Arc<Core>,
    mode: Mode,
    /// The manager handle's `decode_responses` (for the stores that return raw values).
    pub(crate) decode: bool,
}

impl Handle {
    /// The handle of `manager` (a `RedisManager` or `redis_ssot.sync` manager).
    pub(crate) fn of(manager: &Bound<'_, PyAny>) -> PyResult<Handle> {
        let client = manager
            .cast::<Client>()
            .map_err(|_| {
                errors::type_error("expected a redis_ssot manager (from redis_ssot.init())")
            })?
            .get();
        Ok(Handle {
            core: client.core.clone(),
            mode: client.mode(),
            decode: client.decode,
        })
    }

    /// This process's manager.
    pub(crate) fn manager(&self, py: Python<'_>) -> PyResult<RedisManager> {
        Ok(self.core.lease(py)?.manager)
    }

    /// Runs a store call and returns it as the handle returns values.
    pub(crate) fn spawn<Fut>(&self, py: Python<'_>, fut: Fut) -> PyResult<Py<PyAny>>
    where
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let lease = self.core.lease(py)?;
        bridge::submit(py, self.mode, lease.rt, fut)
    }
}

/// A store with state of its own (the factory's user table, a cache's counters), rebuilt
/// from the manager in a forked child (the parent's is leaked, see `runtime`).
pub(crate) struct PerProcess<T: Clone> {
    cell: Mutex<Option<Local<T>>>,
    build: Box<dyn Fn(RedisManager) -> redis_ssot::Result<T> + Send + Sync>,
}

impl<T: Clone> PerProcess<T> {
    /// Builds the first one now, so a bad argument fails at construction.
    pub(crate) fn new(
        py: Python<'_>,
        handle: &Handle,
        build: impl Fn(RedisManager) -> redis_ssot::Result<T> + Send + Sync + 'static,
    ) -> PyResult<PerProcess<T>> {
        let first = build(handle.manager(py)?).map_err(|e| errors::to_py(py, e))?;
        Ok(PerProcess {
            cell: Mutex::new(Some(Local::new(first))),
            build: Box::new(build),
        })
    }

    /// This process's store.
    pub(crate) fn get(&self, py: Python<'_>, handle: &Handle) -> PyResult<T> {
        let mut cell = self.cell.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cell.as_ref().and_then(Local::get) {
            return Ok(v.clone());
        }
        let fresh = (self.build)(handle.manager(py)?).map_err(|e| errors::to_py(py, e))?;
        *cell = Some(Local::new(fresh.clone()));
        Ok(fresh)
    }
}

/// A user id from Python (`str` or `bytes`), validated and escaped (`InvalidKey` if empty or
/// too long).
pub(crate) fn user_id(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<UserId> {
    let raw: Vec<u8> = if let Ok(s) = v.cast::<PyString>() {
        s.encode_utf8()?.as_bytes().to_vec()
    } else if let Ok(b) = v.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else {
        return Err(errors::type_error(format!(
            "user_id must be str or bytes, not {}",
            crate::args::type_name(v)
        )));
    };
    UserId::new(raw).map_err(|e| errors::to_py(py, e))
}

/// A user id for Python: the original text, or bytes when it is not UTF-8.
pub(crate) fn user_id_py(py: Python<'_>, id: &UserId) -> Py<PyAny> {
    let raw = id.raw();
    match String::from_utf8(raw) {
        Ok(s) => PyString::new(py, &s).into_any().unbind(),
        Err(e) => PyBytes::new(py, e.as_bytes()).into_any().unbind(),
    }
}

/// A reply built on the Python side from a value computed in Rust.
pub(crate) fn later<T: Send + 'static>(
    value: T,
    f: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
) -> Reply {
    Reply::Later(Box::new(move |py| f(py, value)))
}

/// `bool` as a Python object.
pub(crate) fn py_bool(py: Python<'_>, b: bool) -> PyResult<Py<PyAny>> {
    Ok(pyo3::types::PyBool::new(py, b)
        .to_owned()
        .into_any()
        .unbind())
}

/// An unsigned count as a Python int.
pub(crate) fn py_u64(py: Python<'_>, n: u64) -> PyResult<Py<PyAny>> {
    Ok(n.into_pyobject(py)?.into_any().unbind())
}

/// `None`.
pub(crate) fn py_none(py: Python<'_>, _: ()) -> PyResult<Py<PyAny>> {
    Ok(py.None())
}

/// A JSON value as a Python object, `None` for a missing record.
pub(crate) fn py_json(py: Python<'_>, v: Option<serde_json::Value>) -> PyResult<Py<PyAny>> {
    match v {
        Some(v) => crate::json::to_py(py, &v),
        None => Ok(py.None()),
    }
}
