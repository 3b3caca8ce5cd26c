//! The manager's error kinds as Python exceptions, one class per kind.
//!
//! The classes are plain Python (`redis_ssot/errors.py`), so they have docstrings, keyword
//! attributes and stubs like any other Python exception; this module only picks the class and
//! fills its attributes. Messages are the manager's own plain-words, redacted texts.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};
use redis_ssot::Error;

/// Looks a class up in `redis_ssot.errors` once per interpreter.
macro_rules! class {
    ($py:expr, $name:literal) => {{
        static CELL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        CELL.import($py, "redis_ssot.errors", $name)
    }};
}

fn raise(
    py: Python<'_>,
    class: PyResult<&Bound<'_, PyType>>,
    message: String,
    attrs: &[(&str, Py<PyAny>)],
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = class?;
        let kwargs = PyDict::new(py);
        for (k, v) in attrs {
            kwargs.set_item(*k, v)?;
        }
        let exc = class.call((message.as_str(),), Some(&kwargs))?;
        Ok(PyErr::from_value(exc))
    };
    // If the exception itself cannot be built (the package is broken), that failure is the
    // error to report: it says what is wrong with the installation.
    build().unwrap_or_else(|e| e)
}

fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

/// The Python exception for a manager error.
pub(crate) fn to_py(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    match err {
        Error::NotReady { state } => raise(
            py,
            class!(py, "NotReady"),
            message,
            &[("state", text(py, state.as_str()))],
        ),
        Error::StillNotReady { state, .. } => raise(
            py,
            class!(py, "NotReady"),
            message,
            &[("state", text(py, state.as_str()))],
        ),
        Error::Closed => raise(py, class!(py, "Closed"), message, &[]),
        Error::CircuitOpen { retry_after } => raise(
            py,
            class!(py, "CircuitOpen"),
            message,
            &[("retry_after", float(py, secs(retry_after)))],
        ),
        Error::Timeout { op, after } => raise(
            py,
            class!(py, "Timeout"),
            message,
            &[("op", text(py, op)), ("after", float(py, secs(after)))],
        ),
        Error::Overloaded { limit } => raise(
            py,
            class!(py, "Overloaded"),
            message,
            &[("limit", int(py, limit as i64))],
        ),
        Error::PoolExhausted { size, .. } => raise(
            py,
            class!(py, "Overloaded"),
            message,
            &[("limit", int(py, size as i64))],
        ),
        Error::Connection { kind, .. } => raise(
            py,
            class!(py, "ConnectionError"),
            message,
            &[("kind", text(py, kind.as_str()))],
        ),
        Error::ServerBusy { reason, .. } => raise(
            py,
            class!(py, "ServerBusy"),
            message,
            &[("reason", text(py, reason.as_str()))],
        ),
        Error::Redis { code, .. } => raise(
            py,
            class!(py, "ResponseError"),
            message,
            &[("code", text(py, &code))],
        ),
        Error::Decode(_) => raise(py, class!(py, "DecodeError"), message, &[]),
        Error::Config { field, .. } => raise(
            py,
            class!(py, "ConfigError"),
            message,
            &[("field", text(py, &field))],
        ),
        Error::InvalidKey(_) => raise(py, class!(py, "InvalidKey"), message, &[]),
        Error::CrossSlot(_) => raise(py, class!(py, "CrossSlot"), message, &[]),
        Error::NotFound(_) => raise(py, class!(py, "NotFound"), message, &[]),
        Error::Forbidden(_) => raise(py, class!(py, "Forbidden"), message, &[]),
        Error::Conflict(_) => raise(py, class!(py, "Conflict"), message, &[]),
        Error::RateLimited { retry_after } => raise(
            py,
            class!(py, "RateLimited"),
            message,
            &[("retry_after", float(py, secs(retry_after)))],
        ),
        Error::NotReplicated { acked, required } => raise(
            py,
            class!(py, "NotReplicated"),
            message,
            &[
                ("acked", int(py, i64::from(acked))),
                ("required", int(py, i64::from(required))),
            ],
        ),
        // These two name Rust calls in their Rust text; Python users get the Python names.
        Error::NotInitialized => raise(
            py,
            class!(py, "NotInitialized"),
            "the process-wide redis manager is not initialised: call redis_ssot.init() first"
                .into(),
            &[],
        ),
        Error::NoRuntime => raise(
            py,
            class!(py, "NoEventLoop"),
            "redis_ssot's I/O threads are not running in this process".into(),
            &[],
        ),
        // `Error` is non-exhaustive: a kind added later still reaches Python as the base class.
        _ => raise(py, class!(py, "RedisSSOTError"), message, &[]),
    }
}

fn text(py: Python<'_>, s: &str) -> Py<PyAny> {
    pyo3::types::PyString::new(py, s).into_any().unbind()
}

fn float(py: Python<'_>, v: f64) -> Py<PyAny> {
    pyo3::types::PyFloat::new(py, v).into_any().unbind()
}

fn int(py: Python<'_>, v: i64) -> Py<PyAny> {
    v.into_pyobject(py)
        .map(|i| i.into_any().unbind())
        .unwrap_or_else(|_| py.None())
}

/// A `DecodeError` for a reply that is not what the caller asked for.
pub(crate) fn decode_error(py: Python<'_>, message: String) -> PyErr {
    raise(py, class!(py, "DecodeError"), message, &[])
}

/// `NoEventLoop`: an asyncio call from a thread with no running event loop.
pub(crate) fn no_event_loop(py: Python<'_>) -> PyErr {
    raise(
        py,
        class!(py, "NoEventLoop"),
        "no running asyncio event loop in this thread: await redis_ssot calls from async code, \
         or use redis_ssot.sync for blocking calls from plain threads"
            .into(),
        &[],
    )
}

/// `ConfigError` for a bad argument to `init`.
pub(crate) fn config_error(py: Python<'_>, field: &str, message: String) -> PyErr {
    raise(
        py,
        class!(py, "ConfigError"),
        format!("invalid config field `{field}`: {message}"),
        &[("field", text(py, field))],
    )
}

/// A `TypeError` in plain words.
pub(crate) fn type_error(message: impl Into<String>) -> PyErr {
    PyTypeError::new_err(message.into())
}

/// An `OSError` in plain words (the package's own sockets and threads).
pub(crate) fn os_error(message: impl Into<String>) -> PyErr {
    pyo3::exceptions::PyOSError::new_err(message.into())
}

/// A `RuntimeError` in plain words (an internal invariant that did not hold).
pub(crate) fn runtime_error(message: impl Into<String>) -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err(message.into())
}

/// A `ValueError` in plain words.
pub(crate) fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// `Closed` with a message of its own (a closed or parent-process object).
pub(crate) fn closed_with(py: Python<'_>, message: &str) -> PyErr {
    raise(py, class!(py, "Closed"), message.to_string(), &[])
}
