//! The bridge between asyncio and the manager's Tokio runtime.
//!
//! Measured on this project's 2-core machine, the cost of a Python Redis client is not
//! Redis: it is crossing into Python and waking the event loop. So the bridge is built to do
//! each of those once per *batch* of commands, not once per command:
//!
//! - **No GIL on the I/O threads.** A finished command does not call into Python. It pushes
//!   its reply (plain Rust data) onto its event loop's queue, and only the first push since
//!   the loop last looked writes one byte to a socket pair the loop watches
//!   (`loop.add_reader`). A Tokio thread never waits for the GIL, so a busy event loop
//!   never stalls the I/O.
//! - **One wake-up per batch.** The loop's reader callback ([`LoopBridge::__call__`]) takes
//!   the whole queue at once and resolves every future in it, converting replies to Python
//!   objects there, on the loop's thread, with the GIL it already holds.
//! - **The GIL is released while a command waits**, trivially: the Python side only creates
//!   an asyncio future and returns; the blocking API ([`Mode::Blocking`]) waits with the GIL
//!   released.
//!
//! - **Cancelling a long wait aborts it.** BLPOP, pub/sub waits and `wait_ready` register a
//!   done-callback that aborts their Tokio task when the asyncio future is cancelled, so a
//!   cancelled BLPOP gives its dedicated connection back at once ([`submit_abortable`]).
//!
//! Futures are kept in a per-loop table on the Python side (a Tokio task carries only an
//! index), so no Python object ever crosses to, or is dropped on, a Tokio thread.

use std::cell::RefCell;
use std::future::Future;
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use redis_ssot::redis::Value;
use tokio::runtime::Runtime;

use crate::errors;
use crate::reply::{self, Shape};
use crate::runtime::generation;

/// A converter run on the loop's thread, with the GIL, for replies that are not a plain
/// `redis::Value` (store records, pipelines).
pub(crate) type Later = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// What a command hands back.
pub(crate) enum Reply {
    /// A Redis reply, converted as `shape` says.
    Value {
        /// The reply.
        value: Value,
        /// Its Python shape.
        shape: Shape,
        /// `str` instead of `bytes`.
        decode: bool,
    },
    /// Anything else, converted by the closure.
    Later(Later),
}

impl Reply {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Reply::Value {
                value,
                shape,
                decode,
            } => reply::to_py(py, value, shape, decode),
            Reply::Later(f) => f(py),
        }
    }
}

/// A command's outcome.
pub(crate) type Outcome = Result<Reply, redis_ssot::Error>;

/// Converts an outcome on the Python side: the value, or the exception for its error kind.
pub(crate) fn resolve(py: Python<'_>, outcome: Outcome) -> PyResult<Py<PyAny>> {
    match outcome {
        Ok(reply) => reply.into_py(py),
        Err(e) => Err(errors::to_py(py, e)),
    }
}

struct Done {
    slot: u32,
    outcome: Outcome,
}

/// The part of a loop's bridge the Tokio threads see.
struct Shared {
    queue: Mutex<Vec<Done>>,
    /// A wake-up byte is on its way; later completions need not send another.
    armed: AtomicBool,
    wake: UnixStream,
}

impl Shared {
    fn push(&self, done: Done) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(done);
        if !self.armed.swap(true, Ordering::SeqCst) {
            let byte = [1u8];
            // SAFETY: `wake` owns the socket for as long as `self` lives, and `byte` is a valid
            // one-byte buffer. MSG_NOSIGNAL: a closed peer must not kill an embedding process
            // that does not ignore SIGPIPE.
            let sent = unsafe {
                libc::send(
                    self.wake.as_raw_fd(),
                    byte.as_ptr().cast(),
                    1,
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
            // Not sent: either the socket already holds unread bytes (EAGAIN, the loop will
            // wake anyway), or the loop's end is closed because the loop is gone, and then
            // there is nobody left to deliver to.
            let _ = sent;
        }
    }
}

/// The asyncio futures of one event loop that wait for a command.
#[derive(Default)]
struct Pending {
    slots: Vec<Option<Py<PyAny>>>,
    free: Vec<u32>,
}

impl Pending {
    fn insert(&mut self, fut: Py<PyAny>) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(fut);
                i
            }
            None => {
                self.slots.push(Some(fut));
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn take(&mut self, slot: u32) -> Option<Py<PyAny>> {
        let fut = self.slots.get_mut(slot as usize)?.take();
        if fut.is_some() {
            self.free.push(slot);
        }
        fut
    }
}

/// One event loop's end of the bridge; also the callable the loop runs when woken.
#[pyclass(frozen, module = "redis_ssot._native")]
pub(crate) struct LoopBridge {
    event_loop: Py<PyAny>,
    shared: Arc<Shared>,
    pending: Mutex<Pending>,
    wake_rx: UnixStream,
    generation: u64,
}

#[pymethods]
impl LoopBridge {
    /// Resolves every future whose command has finished (the loop calls this when the wake
    /// socket is readable).
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let mut buf = [0u8; 64];
        loop {
            match (&self.wake_rx).read(&mut buf) {
                Ok(n) if n == buf.len() => continue,
                Ok(_) => break,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(errors::os_error(format!(
                        "redis_ssot wake-up socket failed: {e}"
                    )));
                }
            }
        }
        self.shared.armed.store(false, Ordering::SeqCst);
        let batch =
            std::mem::take(&mut *self.shared.queue.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return Ok(());
        }
        let futures: Vec<(Option<Py<PyAny>>, Outcome)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            batch
                .into_iter()
                .map(|d| (pending.take(d.slot), d.outcome))
                .collect()
        };
        // Every future of the batch is resolved even if one of them fails to be (a future
        // left unresolved would hang its caller); the first such failure is reported after.
        let mut first_error = None;
        for (fut, outcome) in futures {
            let Some(fut) = fut else { continue };
            if let Err(e) = settle(py, fut.bind(py), outcome) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Resolves one future with its outcome, unless its caller cancelled it (the only way a
/// future we created can already be done).
fn settle(py: Python<'_>, fut: &Bound<'_, PyAny>, outcome: Outcome) -> PyResult<()> {
    if fut.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    match resolve(py, outcome) {
        Ok(v) => fut.call_method1(intern!(py, "set_result"), (v,))?,
        Err(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),))?,
    };
    Ok(())
}

impl LoopBridge {
    fn open(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Py<LoopBridge>> {
        let io = |e: std::io::Error| {
            errors::os_error(format!("redis_ssot cannot create its wake-up socket: {e}"))
        };
        let (rx, tx) = UnixStream::pair().map_err(io)?;
        rx.set_nonblocking(true).map_err(io)?;
        tx.set_nonblocking(true).map_err(io)?;
        let fd = rx.as_raw_fd();
        let bridge = Py::new(
            py,
            LoopBridge {
                event_loop: event_loop.clone().unbind(),
                shared: Arc::new(Shared {
                    queue: Mutex::new(Vec::new()),
                    armed: AtomicBool::new(false),
                    wake: tx,
                }),
                pending: Mutex::new(Pending::default()),
                wake_rx: rx,
                generation: generation(),
            },
        )?;
        event_loop.call_method1(intern!(py, "add_reader"), (fd, bridge.clone_ref(py)))?;
        Ok(bridge)
    }
}

thread_local! {
    /// This thread's bridges, one per event loop it has run commands on (most threads: one).
    static BRIDGES: RefCell<Vec<Py<LoopBridge>>> = const { RefCell::new(Vec::new()) };
}

/// The running loop of this thread, or `NoEventLoop`.
fn running_loop<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    static GET: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let get = GET.import(py, "asyncio.events", "_get_running_loop")?;
    let lp = get.call0()?;
    if lp.is_none() {
        return Err(errors::no_event_loop(py));
    }
    Ok(lp)
}

/// The bridge of the loop running in this thread, opened on first use.
fn current_bridge(py: Python<'_>) -> PyResult<Py<LoopBridge>> {
    let lp = running_loop(py)?;
    let now = generation();
    let found = BRIDGES.with(|b| {
        b.borrow()
            .iter()
            .find(|br| br.get().event_loop.as_ptr() == lp.as_ptr() && br.get().generation == now)
            .map(|br| br.clone_ref(py))
    });
    if let Some(b) = found {
        return Ok(b);
    }
    // A new loop (pytest-asyncio makes one per test, asyncio.run one per call): forget the
    // bridges of loops that are closed or of a parent process, then open one for this loop.
    let mut all = BRIDGES.with(|b| std::mem::take(&mut *b.borrow_mut()));
    let mut keep = Vec::with_capacity(all.len() + 1);
    for br in all.drain(..) {
        let lp_old = br.get().event_loop.bind(py);
        let closed = lp_old.call_method0(intern!(py, "is_closed"))?.is_truthy()?;
        if br.get().generation == now && !closed {
            keep.push(br);
            continue;
        }
        if !closed {
            // A parent's bridge on a loop the child still runs: unhook its wake socket.
            lp_old.call_method1(
                intern!(py, "remove_reader"),
                (br.get().wake_rx.as_raw_fd(),),
            )?;
        }
    }
    BRIDGES.with(|b| *b.borrow_mut() = keep);
    let bridge = LoopBridge::open(py, &lp)?;
    BRIDGES.with(|b| b.borrow_mut().push(bridge.clone_ref(py)));
    Ok(bridge)
}

/// How a handle's commands return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// As an asyncio future of the running loop.
    Async,
    /// As the value itself, the calling thread waiting with the GIL released.
    Blocking,
}

/// Runs `fut` on the runtime and returns an asyncio future of its outcome (or, blocking, the
/// outcome itself).
pub(crate) fn submit<F>(
    py: Python<'_>,
    mode: Mode,
    rt: &'static Runtime,
    fut: F,
) -> PyResult<Py<PyAny>>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    run(py, mode, rt, fut, false)
}

/// As [`submit`], for a command that may wait long (BLPOP, a pub/sub wait): cancelling its
/// asyncio future aborts the Tokio task, which drops what the task holds (a dedicated
/// connection, the subscription's lock) at once instead of when the wait ends.
///
/// Only these get it: the abort needs a done-callback on the future, which costs every
/// command one more event-loop callback, and an ordinary command ends within its deadline
/// anyway.
pub(crate) fn submit_abortable<F>(
    py: Python<'_>,
    mode: Mode,
    rt: &'static Runtime,
    fut: F,
) -> PyResult<Py<PyAny>>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    run(py, mode, rt, fut, true)
}

/// Hands a task's outcome to its loop when dropped, however the task ended: finished, or
/// aborted because its caller cancelled (then with a placeholder the loop ignores, since the
/// future is already done). Either way the loop frees the slot exactly once, and only after
/// the task can no longer deliver to it.
struct Delivery {
    shared: Arc<Shared>,
    slot: u32,
    outcome: Option<Outcome>,
}

impl Drop for Delivery {
    fn drop(&mut self) {
        let outcome = self
            .outcome
            .take()
            .unwrap_or(Err(redis_ssot::Error::Closed));
        self.shared.push(Done {
            slot: self.slot,
            outcome,
        });
    }
}

/// The done-callback of an abortable command's future: aborts its task if it was cancelled.
#[pyclass(frozen, module = "redis_ssot._native")]
struct AbortOnCancel(tokio::task::AbortHandle);

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut
            .call_method0(intern!(fut.py(), "cancelled"))?
            .is_truthy()?
        {
            self.0.abort();
        }
        Ok(())
    }
}

fn run<F>(
    py: Python<'_>,
    mode: Mode,
    rt: &'static Runtime,
    fut: F,
    abortable: bool,
) -> PyResult<Py<PyAny>>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    match mode {
        Mode::Async => {
            let bridge = current_bridge(py)?;
            let b = bridge.get();
            let py_fut = b
                .event_loop
                .bind(py)
                .call_method0(intern!(py, "create_future"))?;
            let slot = b
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(py_fut.clone().unbind());
            let delivery = Delivery {
                shared: b.shared.clone(),
                slot,
                outcome: None,
            };
            let task = rt.spawn(async move {
                // Moved in whole (not just its field), so that it is dropped with the task.
                let mut delivery = delivery;
                delivery.outcome = Some(fut.await);
            });
            if abortable {
                let callback = Py::new(py, AbortOnCancel(task.abort_handle()))?;
                py_fut.call_method1(intern!(py, "add_done_callback"), (callback,))?;
            }
            Ok(py_fut.unbind())
        }
        Mode::Blocking => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            rt.spawn(async move {
                // The caller may have gone (interpreter shutting down); nothing to deliver then.
                let _ = tx.send(fut.await);
            });
            let outcome = py.detach(|| rx.blocking_recv());
            match outcome {
                Ok(outcome) => resolve(py, outcome),
                Err(_) => Err(errors::to_py(py, redis_ssot::Error::Closed)),
            }
        }
    }
}

/// A value already known, returned as `mode` returns values: a finished asyncio future, or
/// the value itself.
pub(crate) fn done(py: Python<'_>, mode: Mode, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
    match mode {
        Mode::Blocking => Ok(value),
        Mode::Async => {
            let lp = running_loop(py)?;
            let fut = lp.call_method0(intern!(py, "create_future"))?;
            fut.call_method1(intern!(py, "set_result"), (value,))?;
            Ok(fut.unbind())
        }
    }
}
