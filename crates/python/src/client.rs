//! `Client`: the one native class behind `RedisManager`, `Pipeline` and the blocking API.
//!
//! Every command method is written once and behaves by the handle's [`Kind`]: an asyncio
//! handle returns a future, a blocking handle the value, a pipeline buffers the command and
//! returns itself (so calls chain). The Python classes in `redis_ssot/__init__.py` subclass it
//! and add what is naturally Python (`scan_iter`, `pipeline()`, `pubsub()`, context managers).
//!
//! Every command goes through the manager's public API (`cmd`, `pipeline`, `invoke`,
//! `scan_step`), so through its one choke point: readiness, breaker, in-flight limit,
//! deadline, metrics and error kinds apply to Python callers exactly as to Rust ones.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use redis_ssot::redis::{self, Cmd, Value};

use crate::bridge::{self, Mode, Outcome, Reply};
use crate::core::{self, CLOSE_GRACE, Core};
use crate::errors::{self, value_error};
use crate::reply::Shape;

/// How a handle's commands run.
pub(crate) enum Kind {
    /// Sent at once.
    Direct(Mode),
    /// Buffered until `execute()`.
    Pipeline {
        /// The commands so far, with the shape of each reply.
        buffer: Mutex<Vec<(Cmd, Shape)>>,
        /// MULTI/EXEC around them.
        transaction: bool,
        /// How `execute()` returns.
        mode: Mode,
    },
}

/// A handle on the process's manager (see the module docs).
#[pyclass(frozen, subclass, module = "redis_ssot._native", name = "Client")]
pub(crate) struct Client {
    pub(crate) core: Arc<Core>,
    pub(crate) decode: bool,
    pub(crate) kind: Kind,
}

impl Client {
    /// The root handle of a core: asyncio, with the decoding chosen at `init`.
    pub(crate) fn root(core: Arc<Core>) -> Client {
        Client {
            decode: core.decode(),
            core,
            kind: Kind::Direct(Mode::Async),
        }
    }

    /// How results are returned: the pipeline's `execute()` mode for a pipeline.
    pub(crate) fn mode(&self) -> Mode {
        match &self.kind {
            Kind::Direct(m) => *m,
            Kind::Pipeline { mode, .. } => *mode,
        }
    }

    /// Sends `cmd` (or buffers it in a pipeline) and returns its reply as `shape` says.
    #[inline]
    pub(crate) fn run(slf: &Bound<'_, Self>, cmd: Cmd, shape: Shape) -> PyResult<Py<PyAny>> {
        let this = slf.get();
        match &this.kind {
            Kind::Pipeline { buffer, .. } => {
                buffer
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((cmd, shape));
                Ok(slf.clone().into_any().unbind())
            }
            Kind::Direct(mode) => {
                let py = slf.py();
                let lease = this.core.lease(py)?;
                let decode = this.decode;
                let manager = lease.manager;
                bridge::submit(py, *mode, lease.rt, async move {
                    manager.cmd::<Value>(&cmd).await.map(|value| Reply::Value {
                        value,
                        shape,
                        decode,
                    })
                })
            }
        }
    }

    /// Runs any manager future (not buffered by pipelines: callers check first).
    pub(crate) fn spawn<F, Fut>(&self, py: Python<'_>, f: F) -> PyResult<Py<PyAny>>
    where
        F: FnOnce(redis_ssot::RedisManager) -> Fut,
        Fut: std::future::Future<Output = Outcome> + Send + 'static,
    {
        let lease = self.core.lease(py)?;
        bridge::submit(py, self.mode(), lease.rt, f(lease.manager))
    }

    /// As `spawn`, for a call that may wait long: cancelling its asyncio future aborts it
    /// (see [`bridge::submit_abortable`]).
    pub(crate) fn spawn_abortable<F, Fut>(&self, py: Python<'_>, f: F) -> PyResult<Py<PyAny>>
    where
        F: FnOnce(redis_ssot::RedisManager) -> Fut,
        Fut: std::future::Future<Output = Outcome> + Send + 'static,
    {
        let lease = self.core.lease(py)?;
        bridge::submit_abortable(py, self.mode(), lease.rt, f(lease.manager))
    }

    /// A value already known, returned the way this handle returns values.
    pub(crate) fn ready(&self, py: Python<'_>, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
        bridge::done(py, self.mode(), value)
    }

    fn refuse_in_pipeline(&self, what: &str) -> PyResult<()> {
        if matches!(self.kind, Kind::Pipeline { .. }) {
            return Err(errors::type_error(format!(
                "{what} cannot be used inside a pipeline"
            )));
        }
        Ok(())
    }
}

/// A blocking or asyncio `Mode` from its Python name.
fn mode_named(name: &str) -> PyResult<Mode> {
    match name {
        "async" => Ok(Mode::Async),
        "blocking" => Ok(Mode::Blocking),
        other => Err(value_error(format!(
            "mode must be 'async' or 'blocking', not {other:?}"
        ))),
    }
}

#[pymethods]
impl Client {
    /// A handle sharing `source`'s manager: another mode, another decoding, or a pipeline.
    #[new]
    #[pyo3(signature = (source, *, mode = "async", decode_responses = None, pipeline = false, transaction = true))]
    fn new(
        source: &Bound<'_, Client>,
        mode: &str,
        decode_responses: Option<bool>,
        pipeline: bool,
        transaction: bool,
    ) -> PyResult<Client> {
        let src = source.get();
        let mode = mode_named(mode)?;
        Ok(Client {
            core: src.core.clone(),
            decode: decode_responses.unwrap_or(src.decode),
            kind: if pipeline {
                Kind::Pipeline {
                    buffer: Mutex::new(Vec::new()),
                    transaction,
                    mode,
                }
            } else {
                Kind::Direct(mode)
            },
        })
    }

    /// Whether this handle's calls block (a `redis_ssot.sync` handle) rather than return
    /// awaitables; the Python stores pick their single-flight by it.
    #[getter]
    fn _blocking(&self) -> bool {
        self.mode() == Mode::Blocking
    }

    /// Whether replies are `str` (`True`) or `bytes`.
    #[getter]
    fn decode_responses(&self) -> bool {
        self.decode
    }

    /// Whether a command sent now can succeed (connected, not loading, breaker not refusing).
    #[getter]
    fn is_ready(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.core.lease(py)?.manager.is_ready())
    }

    /// The connection state: `connecting`, `ready`, `reconnecting`, `loading` or `closed`.
    #[getter]
    fn state(&self, py: Python<'_>) -> PyResult<&'static str> {
        Ok(self.core.lease(py)?.manager.state().as_str())
    }

    /// The configured URL with the password replaced by `***`.
    #[getter]
    fn url(&self) -> String {
        self.core.config().redacted_url()
    }

    /// An identity of the manager behind this handle (equal for handles that share one).
    #[getter]
    fn _core_id(&self) -> usize {
        Arc::as_ptr(&self.core) as usize
    }

    /// Whether two handles share one manager.
    fn same_as(&self, other: &Bound<'_, Client>) -> bool {
        Arc::ptr_eq(&self.core, &other.get().core)
    }

    fn __repr__(&self) -> String {
        let what = match &self.kind {
            Kind::Pipeline { .. } => "Pipeline",
            Kind::Direct(Mode::Blocking) => "redis_ssot.sync.RedisManager",
            Kind::Direct(Mode::Async) => "RedisManager",
        };
        format!(
            "<{what} {} decode_responses={}>",
            self.core.config().redacted_url(),
            if self.decode { "True" } else { "False" }
        )
    }

    /// A snapshot of the manager's health and counters, as a dict (no secrets in it), with
    /// a one-line `verdict`.
    fn status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let status = self.core.lease(py)?.manager.status();
        let verdict = status.verdict();
        let mut json = serde_json::to_value(&status)
            .map_err(|e| errors::runtime_error(format!("status could not be built: {e}")))?;
        if let Some(map) = json.as_object_mut() {
            map.insert("verdict".into(), serde_json::Value::String(verdict));
        }
        crate::json::to_py(py, &json)
    }

    /// Waits until a command can succeed, for at most `timeout` seconds; raises `NotReady` or
    /// `CircuitOpen` (saying why) if it cannot.
    #[pyo3(signature = (timeout = 5.0))]
    fn wait_ready(&self, py: Python<'_>, timeout: f64) -> PyResult<Py<PyAny>> {
        self.refuse_in_pipeline("wait_ready")?;
        let timeout = duration(timeout, "timeout")?;
        self.spawn_abortable(py, move |m| async move {
            m.wait_ready(timeout).await?;
            Ok(Reply::Value {
                value: Value::Nil,
                shape: Shape::Nothing,
                decode: false,
            })
        })
    }

    /// Replaces the connection make-before-break; returns once the new one serves.
    fn force_reconnect(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.refuse_in_pipeline("force_reconnect")?;
        self.spawn(py, |m| async move {
            m.force_reconnect().await?;
            Ok(Reply::Value {
                value: Value::Nil,
                shape: Shape::Nothing,
                decode: false,
            })
        })
    }

    /// Closes the circuit breaker and clears its counts.
    fn reset_circuit_breaker(&self, py: Python<'_>) -> PyResult<()> {
        self.core.lease(py)?.manager.reset_circuit_breaker();
        Ok(())
    }

    /// Shuts the manager down: no new commands, up to `grace` seconds for those in flight.
    /// Every handle of this manager raises `Closed` afterwards; `init()` then makes a new one.
    #[pyo3(signature = (grace = None))]
    fn aclose(&self, py: Python<'_>, grace: Option<f64>) -> PyResult<Py<PyAny>> {
        self.refuse_in_pipeline("aclose")?;
        let grace = match grace {
            Some(g) => duration(g, "grace")?,
            None => CLOSE_GRACE,
        };
        self.spawn(py, move |m| async move {
            m.shutdown(grace).await;
            Ok(Reply::Value {
                value: Value::Nil,
                shape: Shape::Nothing,
                decode: false,
            })
        })
    }

    /// Sends the buffered commands as one pipeline (MULTI/EXEC if `transaction`); returns
    /// their replies in order, or raises for the first failure. The buffer is emptied.
    fn execute(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let Kind::Pipeline {
            buffer,
            transaction,
            ..
        } = &self.kind
        else {
            return Err(errors::type_error(
                "execute() is a pipeline method; use manager.pipeline()",
            ));
        };
        let commands = std::mem::take(&mut *buffer.lock().unwrap_or_else(|p| p.into_inner()));
        if commands.is_empty() {
            return self.ready(py, PyList::empty(py).into_any().unbind());
        }
        let mut pipe = redis::pipe();
        if *transaction {
            pipe.atomic();
        }
        let mut shapes = Vec::with_capacity(commands.len());
        for (cmd, shape) in commands {
            pipe.add_command(cmd);
            shapes.push(shape);
        }
        let decode = self.decode;
        self.spawn(py, move |m| async move {
            let values: Vec<Value> = m.pipeline(&pipe).await?;
            Ok(Reply::Later(Box::new(move |py| {
                let list = PyList::empty(py);
                for (value, shape) in values.into_iter().zip(shapes) {
                    list.append(crate::reply::to_py(py, value, shape, decode)?)?;
                }
                Ok(list.into_any().unbind())
            })))
        })
    }

    /// Drops the buffered commands.
    fn reset(&self) {
        if let Kind::Pipeline { buffer, .. } = &self.kind {
            buffer.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }

    /// How many commands are buffered.
    fn __len__(&self) -> usize {
        match &self.kind {
            Kind::Pipeline { buffer, .. } => buffer.lock().unwrap_or_else(|p| p.into_inner()).len(),
            Kind::Direct(_) => 0,
        }
    }
}

/// Seconds to a `Duration`, refusing negative, NaN and absurdly long (over about 31 years)
/// values.
pub(crate) fn duration(secs: f64, what: &str) -> PyResult<Duration> {
    let text = crate::args::number_text(secs);
    if secs.is_nan() || secs < 0.0 {
        return Err(value_error(format!(
            "{what} must be a non-negative number of seconds, got {text}"
        )));
    }
    if secs > MAX_SECONDS {
        return Err(value_error(format!(
            "{what} must be at most {MAX_SECONDS} seconds (about 31 years), got {text}"
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The longest duration any argument may give, in seconds.
pub(crate) const MAX_SECONDS: f64 = 1e9;

/// `init(url=None, options=None, decode_responses=False)`: the process-wide manager's root
/// handle (`decode_responses` is remembered only by the call that makes the manager).
#[pyfunction]
#[pyo3(signature = (url = None, options = None, decode_responses = false))]
pub(crate) fn init(
    py: Python<'_>,
    url: Option<&str>,
    options: Option<&Bound<'_, PyDict>>,
    decode_responses: bool,
) -> PyResult<Client> {
    let config = crate::config::build(py, url, options)?;
    Ok(Client::root(core::init(py, config, decode_responses)?))
}

/// `get_redis_manager()`: the process-wide manager's root handle, or `NotInitialized`.
#[pyfunction]
pub(crate) fn get_redis_manager(py: Python<'_>) -> PyResult<Client> {
    Ok(Client::root(core::global(py)?))
}
