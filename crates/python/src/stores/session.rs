//! `SessionStore`, `TokenBlacklist` and `RateLimiter`: the security stores.
//!
//! They fail closed by default: while Redis is unreachable, `is_revoked` and `check` raise an
//! `Unavailable` error rather than answering "not revoked" or "allowed". `fail_open=True`
//! trades that for availability, as in the Rust stores.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use redis_ssot::{FailMode, RateDecision, Session, SessionToken};

use super::{Handle, later, py_bool, py_none, py_u64, user_id_py};
use crate::args::to_text;
use crate::client::duration;
use crate::errors;

/// A session as a dict: `id`, `user_id`, `data`, `created_at_ms`, `expires_at_ms`.
fn session_dict(py: Python<'_>, s: &Session) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("id", &s.id)?;
    d.set_item("user_id", user_id_py(py, &s.user))?;
    d.set_item("data", crate::json::to_py(py, &s.data)?)?;
    d.set_item("created_at_ms", s.created_at_ms)?;
    d.set_item("expires_at_ms", s.expires_at_ms)?;
    Ok(d.into_any().unbind())
}

fn maybe_session(py: Python<'_>, s: Option<Session>) -> PyResult<Py<PyAny>> {
    match s {
        Some(s) => session_dict(py, &s),
        None => Ok(py.None()),
    }
}

/// The token in `v`, or `None` when the text cannot be a session token at all (a forged,
/// truncated or old-system cookie): no session has it, which is what `get`, `touch` and
/// `delete` then say, as redis-py code reading `session:<token>` got `None`. Not text at all
/// is a `TypeError`.
fn token(v: &Bound<'_, PyAny>) -> PyResult<Option<SessionToken>> {
    Ok(SessionToken::parse(&to_text(v, "token")?).ok())
}

/// Sessions behind opaque tokens; Redis holds only the token's SHA-256.
#[pyclass(frozen, module = "redis_ssot._native", name = "SessionStore")]
pub(crate) struct SessionStore {
    handle: Handle,
    ttl: Duration,
}

impl SessionStore {
    fn store(&self, py: Python<'_>) -> PyResult<redis_ssot::SessionStore> {
        Ok(redis_ssot::SessionStore::new(self.handle.manager(py)?).with_ttl(self.ttl))
    }
}

#[pymethods]
impl SessionStore {
    /// Sessions on `manager` that live `ttl` seconds after creation or the last `touch`.
    #[new]
    #[pyo3(signature = (manager, ttl = 3600.0))]
    fn new(manager: &Bound<'_, PyAny>, ttl: f64) -> PyResult<SessionStore> {
        let ttl = duration(ttl, "ttl")?;
        if ttl.is_zero() {
            return Err(errors::value_error("ttl must be positive"));
        }
        Ok(SessionStore {
            handle: Handle::of(manager)?,
            ttl,
        })
    }

    /// The session lifetime in seconds.
    #[getter]
    fn ttl(&self) -> f64 {
        self.ttl.as_secs_f64()
    }

    /// A new session for `user_id` holding `data` (JSON): `(token, session)`. The token is
    /// the only way back to it; give it to the client.
    #[pyo3(signature = (user_id, data = None))]
    fn create(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        data: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user) = (self.store(py)?, super::user_id(py, user_id)?);
        let data = match data {
            Some(d) => crate::json::from_py(d, "data")?,
            None => serde_json::Value::Object(Default::default()),
        };
        self.handle.spawn(py, async move {
            let (token, session) = store.create(&user, data).await?;
            let token = token.as_str().to_string();
            Ok(later((token, session), |py, (token, session)| {
                Ok(PyTuple::new(
                    py,
                    [
                        token.into_pyobject(py)?.into_any().unbind(),
                        session_dict(py, &session)?,
                    ],
                )?
                .into_any()
                .unbind())
            }))
        })
    }

    /// The session of `token`, or `None` if it expired, never existed, or `token` is not a
    /// session token at all.
    fn get(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (store, t) = (self.store(py)?, self::token(token)?);
        self.handle.spawn(py, async move {
            let session = match t {
                Some(t) => store.get(&t).await?,
                None => None,
            };
            Ok(later(session, maybe_session))
        })
    }

    /// Extends the session's life by `ttl`: the session, or `None` if it is gone (or `token`
    /// is not a session token).
    fn touch(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (store, t) = (self.store(py)?, self::token(token)?);
        self.handle.spawn(py, async move {
            let session = match t {
                Some(t) => store.touch(&t).await?,
                None => None,
            };
            Ok(later(session, maybe_session))
        })
    }

    /// Ends the session of `token` (log out): whether there was one.
    fn delete(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (store, t) = (self.store(py)?, self::token(token)?);
        self.handle.spawn(py, async move {
            let existed = match t {
                Some(t) => store.delete(&t).await?,
                None => false,
            };
            Ok(later(existed, py_bool))
        })
    }

    /// Ends one of `user_id`'s sessions by its id (the `id` of the session dict).
    fn revoke(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        session_id: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, id) = (
            self.store(py)?,
            super::user_id(py, user_id)?,
            to_text(session_id, "session_id")?,
        );
        self.handle.spawn(py, async move {
            Ok(later(store.revoke(&user, &id).await?, py_bool))
        })
    }

    /// `user_id`'s live sessions, oldest first.
    fn list_sessions(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (store, user) = (self.store(py)?, super::user_id(py, user_id)?);
        self.handle.spawn(py, async move {
            Ok(later(store.list_sessions(&user).await?, |py, all| {
                let list = PyList::empty(py);
                for s in &all {
                    list.append(session_dict(py, s)?)?;
                }
                Ok(list.into_any().unbind())
            }))
        })
    }

    /// Ends every session of `user_id`: how many there were.
    fn revoke_all(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (store, user) = (self.store(py)?, super::user_id(py, user_id)?);
        self.handle.spawn(py, async move {
            Ok(later(store.revoke_all(&user).await?, py_u64))
        })
    }
}

fn fail_mode(fail_open: bool) -> FailMode {
    if fail_open {
        FailMode::Open
    } else {
        FailMode::Closed
    }
}

/// Revoked access tokens, kept (as SHA-256) exactly as long as they would be valid.
#[pyclass(frozen, module = "redis_ssot._native", name = "TokenBlacklist")]
pub(crate) struct TokenBlacklist {
    handle: Handle,
    fail_mode: FailMode,
}

impl TokenBlacklist {
    fn store(&self, py: Python<'_>) -> PyResult<redis_ssot::TokenBlacklist> {
        Ok(
            redis_ssot::TokenBlacklist::new(self.handle.manager(py)?)
                .with_fail_mode(self.fail_mode),
        )
    }
}

#[pymethods]
impl TokenBlacklist {
    /// A blacklist on `manager`; `fail_open=True` answers "not revoked" during an outage
    /// instead of raising.
    #[new]
    #[pyo3(signature = (manager, *, fail_open = false))]
    fn new(manager: &Bound<'_, PyAny>, fail_open: bool) -> PyResult<TokenBlacklist> {
        Ok(TokenBlacklist {
            handle: Handle::of(manager)?,
            fail_mode: fail_mode(fail_open),
        })
    }

    /// Revokes `token` for the `remaining` seconds of its life (0: nothing to do).
    fn revoke(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        remaining: f64,
    ) -> PyResult<Py<PyAny>> {
        let (store, t, d) = (
            self.store(py)?,
            to_text(token, "token")?,
            duration(remaining, "remaining")?,
        );
        self.handle.spawn(py, async move {
            store.revoke(&t, d).await?;
            Ok(later((), py_none))
        })
    }

    /// Whether `token` is revoked.
    fn is_revoked(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (store, t) = (self.store(py)?, to_text(token, "token")?);
        self.handle.spawn(py, async move {
            Ok(later(store.is_revoked(&t).await?, py_bool))
        })
    }

    /// Lifts a revocation early: whether there was one.
    fn unrevoke(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (store, t) = (self.store(py)?, to_text(token, "token")?);
        self.handle.spawn(
            py,
            async move { Ok(later(store.unrevoke(&t).await?, py_bool)) },
        )
    }
}

/// A rate window: a positive number of seconds.
fn window_of(window: f64) -> PyResult<std::time::Duration> {
    if window.is_nan() || window <= 0.0 {
        return Err(crate::errors::value_error(format!(
            "window must be a positive number of seconds, got {}",
            crate::args::number_text(window)
        )));
    }
    duration(window, "window")
}

fn decision_dict(py: Python<'_>, d: RateDecision) -> PyResult<Py<PyAny>> {
    let out = PyDict::new(py);
    out.set_item("allowed", d.allowed)?;
    out.set_item("remaining", d.remaining)?;
    out.set_item("retry_after", d.retry_after.as_secs_f64())?;
    Ok(out.into_any().unbind())
}

/// Exact sliding-window rate limits shared by every process on the same Redis.
#[pyclass(frozen, module = "redis_ssot._native", name = "RateLimiter")]
pub(crate) struct RateLimiter {
    handle: Handle,
    fail_mode: FailMode,
}

impl RateLimiter {
    fn store(&self, py: Python<'_>) -> PyResult<redis_ssot::RateLimiter> {
        Ok(redis_ssot::RateLimiter::new(self.handle.manager(py)?).with_fail_mode(self.fail_mode))
    }
}

#[pymethods]
impl RateLimiter {
    /// A limiter on `manager`; `fail_open=True` allows calls during an outage instead of
    /// raising.
    #[new]
    #[pyo3(signature = (manager, *, fail_open = false))]
    fn new(manager: &Bound<'_, PyAny>, fail_open: bool) -> PyResult<RateLimiter> {
        Ok(RateLimiter {
            handle: Handle::of(manager)?,
            fail_mode: fail_mode(fail_open),
        })
    }

    /// Counts one call against `key` (at most `limit` per `window` seconds): a dict with
    /// `allowed`, `remaining` and `retry_after` (seconds). A refused call is not counted.
    fn check(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        limit: u32,
        window: f64,
    ) -> PyResult<Py<PyAny>> {
        let (store, k, w) = (self.store(py)?, to_text(key, "key")?, window_of(window)?);
        self.handle.spawn(py, async move {
            Ok(later(store.check(&k, limit, w).await?, decision_dict))
        })
    }

    /// Like `check`, but a refusal raises `RateLimited` (with `retry_after`).
    fn enforce(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        limit: u32,
        window: f64,
    ) -> PyResult<Py<PyAny>> {
        let (store, k, w) = (self.store(py)?, to_text(key, "key")?, window_of(window)?);
        self.handle.spawn(py, async move {
            Ok(later(store.enforce(&k, limit, w).await?, decision_dict))
        })
    }

    /// Forgets every call counted against `key`.
    fn reset(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (store, k) = (self.store(py)?, to_text(key, "key")?);
        self.handle.spawn(py, async move {
            store.reset(&k).await?;
            Ok(later((), py_none))
        })
    }
}
