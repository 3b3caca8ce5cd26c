//! `Core`: one Rust `RedisManager` behind every Python handle, and the process-wide `init`.
//!
//! A Python handle never holds a `RedisManager` itself; it holds the `Core`, which holds
//! the live manager of *this* process. After `fork()` the parent's manager is dead weight in
//! the child (its runtime threads are gone), so the child's first use of a `Core` builds a new
//! manager from the same configuration on a fresh runtime, and the parent's is leaked (see
//! [`crate::runtime`]). A handle made before the fork therefore keeps working in the child.
//!
//! The Python package keeps its own process-wide slot rather than the Rust crate's
//! `redis_ssot::init`: that one cannot be emptied, and in a forked child it would keep
//! handing out the parent's dead manager.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use redis_ssot::{Config, ConnState, RedisManager};
use tokio::runtime::Runtime;

use crate::errors;
use crate::runtime::{Local, runtime};

/// The manager of one process generation, and the runtime it runs on.
struct Live {
    manager: RedisManager,
    rt: &'static Runtime,
}

/// What every Python handle of one manager shares.
pub(crate) struct Core {
    config: Config,
    /// The `decode_responses` of the `init` that made this manager: what
    /// `get_redis_manager()` hands out unless asked otherwise.
    decode: bool,
    live: Mutex<Arc<Local<Live>>>,
}

/// A manager and runtime ready for one command.
pub(crate) struct Lease {
    /// The manager (a cheap clone).
    pub(crate) manager: RedisManager,
    /// The runtime to spawn the command on.
    pub(crate) rt: &'static Runtime,
}

impl Core {
    /// Starts a manager for `config` (connecting in the background).
    pub(crate) fn start(py: Python<'_>, config: Config, decode: bool) -> PyResult<Arc<Core>> {
        let live = Self::connect(py, &config)?;
        Ok(Arc::new(Core {
            config,
            decode,
            live: Mutex::new(Arc::new(Local::new(live))),
        }))
    }

    fn connect(py: Python<'_>, config: &Config) -> PyResult<Live> {
        let rt = runtime().map_err(|e| {
            errors::to_py(
                py,
                redis_ssot::Error::config("runtime", format!("cannot start the I/O threads: {e}")),
            )
        })?;
        let _entered = rt.enter();
        let manager = RedisManager::connect(config.clone()).map_err(|e| errors::to_py(py, e))?;
        Ok(Live { manager, rt })
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The decoding chosen by the `init` that made this manager.
    pub(crate) fn decode(&self) -> bool {
        self.decode
    }

    /// The manager of this process, re-created first if this is a forked child's first use.
    /// Called with the GIL held (see [`crate::runtime::runtime`] on why that matters).
    #[inline]
    pub(crate) fn lease(&self, py: Python<'_>) -> PyResult<Lease> {
        let mut slot = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(live) = slot.get() {
            return Ok(Lease {
                manager: live.manager.clone(),
                rt: live.rt,
            });
        }
        let fresh = Arc::new(Local::new(Self::connect(py, &self.config)?));
        // The old value is the parent's: `Local` leaks it instead of dropping it.
        *slot = fresh.clone();
        drop(slot);
        let live = fresh.get().ok_or_else(|| {
            errors::runtime_error("the process forked again while its manager was starting")
        })?;
        // A forked child's first command should not fail only because its new connection is
        // still being made: wait up to the connect timeout, with the GIL released and no lock
        // held. If Redis is down the wait ends and the command gets the honest NotReady.
        let (manager, rt, wait) = (live.manager.clone(), live.rt, self.config.connect_timeout);
        // Not ready in time means Redis is down: the command that follows says so itself.
        let _ = py.detach(|| rt.block_on(manager.wait_ready(wait)));
        Ok(Lease { manager, rt })
    }

    /// Whether the manager has been shut down (`aclose`).
    pub(crate) fn is_closed(&self, py: Python<'_>) -> bool {
        self.lease(py)
            .map(|l| l.manager.state() == ConnState::Closed)
            .unwrap_or(true)
    }
}

static GLOBAL: Mutex<Option<Arc<Core>>> = Mutex::new(None);

/// The process-wide core: the existing one when `config` equals its configuration, a new one
/// (remembering `decode`) when there is none or the old one was closed, `ConfigError` naming
/// the first setting that differs otherwise.
pub(crate) fn init(py: Python<'_>, config: Config, decode: bool) -> PyResult<Arc<Core>> {
    let mut slot = GLOBAL.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(existing) = slot.as_ref()
        && !existing.is_closed(py)
    {
        let Some((field, now, asked)) = crate::config::difference(existing.config(), &config)
        else {
            return Ok(existing.clone());
        };
        return Err(errors::config_error(
            py,
            field,
            format!(
                "the process-wide manager already exists with {field} {now}, and this init() \
                 asks for {asked}; one manager per process: call get_redis_manager() to use \
                 it, or aclose() it first to replace it"
            ),
        ));
    }
    let core = Core::start(py, config, decode)?;
    *slot = Some(core.clone());
    Ok(core)
}

/// The process-wide core, or `NotInitialized`.
pub(crate) fn global(py: Python<'_>) -> PyResult<Arc<Core>> {
    GLOBAL
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or_else(|| errors::to_py(py, redis_ssot::Error::NotInitialized))
}

/// How long `aclose` waits for commands in flight by default.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(5);
