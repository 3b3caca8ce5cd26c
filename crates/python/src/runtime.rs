//! The process's Tokio runtime and what `fork()` does to it.
//!
//! The manager lives on a Tokio runtime whose worker threads this module starts. `fork()`
//! copies the memory of a process but only the thread that called it: in the child the
//! runtime's workers do not exist, and any lock one of them held at the fork stays locked
//! forever. So the child must never touch the parent's runtime, connections or queues, not
//! even to drop them (a drop can take such a lock, or close a socket the parent still uses).
//!
//! Every value tied to one process is wrapped in [`Local`], tagged with the fork
//! *generation* it was made in. A `pthread_atfork` child handler bumps the generation, so a
//! check costs one atomic load instead of a `getpid()` system call per command. A stale
//! `Local` refuses to hand out its value and leaks it instead of dropping it.

use std::mem::ManuallyDrop;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::runtime::Runtime;

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current fork generation: 0 in the process that imported the module, +1 in each
/// forked child (and grandchild) from then on.
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

extern "C" fn after_fork_in_child() {
    // Async-signal-safe: one atomic add, nothing else.
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Installs the fork handler; called once from the module's init.
pub(crate) fn install_fork_handler() -> std::io::Result<()> {
    // SAFETY: registers a plain `extern "C"` function with no captured state.
    let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(rc))
    }
}

/// A value that belongs to the process (fork generation) that made it.
pub(crate) struct Local<T> {
    generation: u64,
    value: ManuallyDrop<T>,
}

impl<T> Local<T> {
    /// Tags `value` with the current generation.
    pub(crate) fn new(value: T) -> Local<T> {
        Local {
            generation: generation(),
            value: ManuallyDrop::new(value),
        }
    }

    /// The value, if it was made in this process.
    pub(crate) fn get(&self) -> Option<&T> {
        (self.generation == generation()).then_some(&*self.value)
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        if self.generation == generation() {
            // SAFETY: dropped exactly once, here; `value` is never used again.
            unsafe { ManuallyDrop::drop(&mut self.value) }
        }
        // Otherwise the value belongs to the parent process: leak it (see the module docs).
    }
}

/// How many worker threads the runtime gets: `REDIS_SSOT_PY_WORKERS`, default 1. One thread
/// drives the shared connection and runs every command; the Python thread is the other busy
/// one, and on a small machine a second worker only competes with them and with Redis.
fn worker_threads() -> usize {
    std::env::var("REDIS_SSOT_PY_WORKERS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

static RUNTIME: Mutex<Option<(u64, &'static Runtime)>> = Mutex::new(None);

/// This process's runtime, started on first use (and again, fresh, in a forked child). It is
/// never dropped: it lives until the process exits.
///
/// Called only by Python threads holding the GIL, and CPython's `os.fork()` holds the GIL
/// while it forks, so no thread of the parent can be inside this lock at the fork.
pub(crate) fn runtime() -> std::io::Result<&'static Runtime> {
    let now = generation();
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((g, rt)) = *slot
        && g == now
    {
        return Ok(rt);
    }
    let rt: &'static Runtime = Box::leak(Box::new(build()?));
    *slot = Some((now, rt));
    Ok(rt)
}

fn build() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("redis-ssot")
        .enable_all()
        .build()
}
