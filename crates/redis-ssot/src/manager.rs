//! `RedisManager`: the cheap-clone handle, its shared state, and its life cycle.
//!
//! The handle owns nothing but an `Arc` to [`Inner`], which holds the one shared connection,
//! the state machine, the breaker and the counters. Background tasks (the supervisor, the health
//! monitor) hold `Arc<Inner>` too, but not the [`Owner`] token: when the last user handle is
//! dropped, the owner token's `Drop` tells them to stop, so a forgotten manager does not keep
//! reconnecting forever.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::breaker::{BreakerConfig, CircuitBreaker};
use crate::config::{Config, ServerAddr};
use crate::connection::{Conn, Connector};
use crate::error::{Error, Result};
use crate::health::HealthState;
use crate::metrics::OperationMetrics;
use crate::pool::DedicatedPool;
use crate::shard::{OutcomeCounters, Padded};
use crate::state::{ConnState, StateCell};
use crate::status::Status;

/// The connection currently installed by the supervisor.
pub(crate) struct Installed {
    pub(crate) conn: Conn,
    /// Increases with every new connection, so a late error from an old connection cannot
    /// make the supervisor replace a fresh one.
    pub(crate) generation: u64,
    pub(crate) addr: ServerAddr,
}

/// Totals by outcome and connection counters, for `status()`.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) by_outcome: OutcomeCounters,
    pub(crate) connections_opened: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) replacements_requested: AtomicU64,
    pub(crate) not_replicated: AtomicU64,
    pub(crate) topology_changes: AtomicU64,
}

/// Everything one manager shares between its handles and its background tasks.
pub(crate) struct Inner {
    pub(crate) config: Arc<Config>,
    pub(crate) connector: Connector,
    pub(crate) conn: ArcSwapOption<Installed>,
    /// Spare handles of `conn`, per thread, so a command need not clone one.
    pub(crate) conns: crate::conn_cache::ConnCache,
    pub(crate) state: StateCell,
    pub(crate) breaker: CircuitBreaker,
    /// Written twice per command by every core: padded so it does not share a cache line
    /// with the read-mostly fields checked on the same path.
    pub(crate) in_flight: Padded<AtomicUsize>,
    /// Deadlines of the shared connection's ordinary commands (no timer per command).
    pub(crate) deadlines: crate::deadline::Deadlines,
    pub(crate) consecutive_timeouts: AtomicU32,
    /// Highest connection generation somebody asked to replace.
    pub(crate) replace_generation: AtomicU64,
    pub(crate) replace_wakeup: Notify,
    /// Asks the supervisor to build a new connection and swap it in while the current one
    /// keeps serving (a changed cluster slot map; see `topology`).
    pub(crate) swap_wakeup: Notify,
    pub(crate) counters: Counters,
    pub(crate) metrics: OperationMetrics,
    pub(crate) health: HealthState,
    pub(crate) last_error: Mutex<Option<String>>,
    pub(crate) last_connect_error: Mutex<Option<String>>,
    pub(crate) pool: DedicatedPool,
    pub(crate) replica: crate::replica::ReplicaState,
    pub(crate) shutdown_tx: watch::Sender<bool>,
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) created: Instant,
}

impl Inner {
    /// Asks the supervisor to replace connection `generation` (no-op if already replaced).
    pub(crate) fn request_replace(&self, generation: u64, why: &str) {
        let previous = self
            .replace_generation
            .fetch_max(generation, Ordering::AcqRel);
        if previous < generation {
            self.counters
                .replacements_requested
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(generation, reason = why, "replacing the redis connection");
            self.replace_wakeup.notify_one();
        }
    }

    /// Asks the supervisor for a make-before-break swap of the connection.
    pub(crate) fn request_swap(&self) {
        self.swap_wakeup.notify_one();
    }

    /// Stores an error message for `status()`, with any credential scrubbed out.
    pub(crate) fn set_last_error(&self, slot: &Mutex<Option<String>>, message: String) {
        let clean = self.redact(message);
        if let Ok(mut guard) = slot.lock() {
            *guard = Some(clean);
        }
    }

    pub(crate) fn redact(&self, mut message: String) -> String {
        for pass in [&self.config.password, &self.config.sentinel_password]
            .into_iter()
            .flatten()
        {
            if !pass.expose().is_empty() {
                message = message.replace(pass.expose(), "***");
            }
        }
        message
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.shutdown_tx.borrow()
    }
}

/// Advances the deadline ring in step with the clock (catching up after a stall, so a busy
/// runtime makes deadlines fire late by at most the stall, never drift).
async fn deadline_watchdog(inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown_tx.subscribe();
    let tick = inner.deadlines.tick();
    let started = tokio::time::Instant::now();
    let mut done = 0u128;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => {}
        }
        if inner.is_shutting_down() {
            return;
        }
        let due = started.elapsed().as_nanos() / tick.as_nanos().max(1);
        while done < due {
            inner.deadlines.advance();
            done += 1;
        }
    }
}

/// Signals the background tasks to stop when the last user handle goes away.
struct Owner {
    inner: Arc<Inner>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.inner.shutdown_tx.send_replace(true);
        self.inner.state.set(ConnState::Closed);
    }
}

/// The one Redis manager of a process: a cheap-clone handle to one shared, supervised
/// connection. Every command goes through its choke point (ready → breaker → limit → timeout →
/// metrics → error kind).
#[derive(Clone)]
pub struct RedisManager {
    pub(crate) inner: Arc<Inner>,
    /// `None` only for the internal handles of background tasks, which must not keep the
    /// manager alive or shut it down when they drop.
    _owner: Option<Arc<Owner>>,
}

impl std::fmt::Debug for RedisManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisManager")
            .field("url", &self.inner.config.redacted_url())
            .field("state", &self.inner.state.get())
            .finish()
    }
}

impl RedisManager {
    /// Creates a manager and starts connecting in the background. Returns at once, even if
    /// Redis is down; fails only on bad configuration or outside a Tokio runtime.
    pub fn connect(config: Config) -> Result<RedisManager> {
        config.validate()?;
        let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let config = Arc::new(config);
        let connector = Connector::new(config.clone())?;
        let (shutdown_tx, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            breaker: CircuitBreaker::new(BreakerConfig {
                failure_threshold: config.breaker_failure_threshold,
                cooldown: config.breaker_cooldown,
                half_open_probes: config.breaker_half_open_probes,
                success_threshold: config.breaker_success_threshold,
            }),
            pool: DedicatedPool::new(config.dedicated_pool_size),
            replica: Default::default(),
            connector,
            conn: ArcSwapOption::empty(),
            conns: Default::default(),
            state: StateCell::new(),
            in_flight: Padded(AtomicUsize::new(0)),
            deadlines: crate::deadline::Deadlines::new(config.command_timeout),
            consecutive_timeouts: AtomicU32::new(0),
            replace_generation: AtomicU64::new(0),
            replace_wakeup: Notify::new(),
            swap_wakeup: Notify::new(),
            counters: Counters::default(),
            metrics: OperationMetrics::default(),
            health: HealthState::default(),
            last_error: Mutex::new(None),
            last_connect_error: Mutex::new(None),
            shutdown_tx,
            tasks: Mutex::new(Vec::new()),
            created: Instant::now(),
            config,
        });
        let supervisor = handle.spawn(crate::supervisor::run(inner.clone()));
        let health = handle.spawn(crate::health::run(inner.clone()));
        let topology = handle.spawn(crate::topology::run(inner.clone()));
        let watchdog = handle.spawn(deadline_watchdog(inner.clone()));
        if let Ok(mut tasks) = inner.tasks.lock() {
            tasks.push(supervisor);
            tasks.push(health);
            tasks.push(topology);
            tasks.push(watchdog);
        }
        tracing::info!(url = %inner.config.redacted_url(), "redis manager created");
        Ok(RedisManager {
            _owner: Some(Arc::new(Owner {
                inner: inner.clone(),
            })),
            inner,
        })
    }

    /// A handle for background tasks: shares the state but does not own the manager.
    pub(crate) fn from_inner(inner: Arc<Inner>) -> RedisManager {
        RedisManager {
            inner,
            _owner: None,
        }
    }

    /// The configuration this manager was created with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The current connection state.
    pub fn state(&self) -> ConnState {
        self.inner.state.get()
    }

    /// Whether commands can be sent now.
    pub fn is_ready(&self) -> bool {
        self.inner.state.get() == ConnState::Ready
    }

    /// A `watch` receiver that sees every state change.
    pub fn watch_state(&self) -> watch::Receiver<ConnState> {
        self.inner.state.subscribe()
    }

    /// Waits until the manager is ready, for at most `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let mut rx = self.watch_state();
        let wait = rx.wait_for(|s| matches!(s, ConnState::Ready | ConnState::Closed));
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(state)) if *state == ConnState::Ready => Ok(()),
            Ok(_) => Err(Error::Closed),
            Err(_) => Err(Error::NotReady {
                state: self.state(),
            }),
        }
    }

    /// Whether two handles point at the same manager.
    pub fn same_as(&self, other: &RedisManager) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// A plain, serializable snapshot of the manager's health and counters.
    pub fn status(&self) -> Status {
        Status::collect(&self.inner)
    }

    /// Stops accepting commands, waits up to `deadline` for in-flight ones to finish, then
    /// stops the background tasks and drops the connections.
    pub async fn shutdown(&self, deadline: Duration) {
        let inner = &self.inner;
        inner.shutdown_tx.send_replace(true);
        inner.state.set(ConnState::Closed);
        let until = Instant::now() + deadline;
        while inner.in_flight.load(Ordering::Acquire) > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let tasks = inner
            .tasks
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        inner.deadlines.expire_all();
        inner.conn.store(None);
        inner.conns.install(0);
        inner.replica.current.store(None);
        inner.pool.clear();
        tracing::info!("redis manager shut down");
    }

    /// A handle of the installed connection and its generation, if ready: a spare one from
    /// this thread's shard of the cache when there is one (give it back with
    /// `inner.conns.put`), else a fresh clone.
    #[inline]
    pub(crate) fn checkout(&self) -> Result<(Conn, u64)> {
        if self.inner.state.get() == ConnState::Ready
            && let Some(spare) = self.inner.conns.take()
        {
            return Ok(spare);
        }
        self.current()
    }

    /// The installed connection (a clone) and its generation, if ready.
    #[inline]
    pub(crate) fn current(&self) -> Result<(Conn, u64)> {
        let state = self.inner.state.get();
        if state != ConnState::Ready {
            return Err(match state {
                ConnState::Closed => Error::Closed,
                s => Error::NotReady { state: s },
            });
        }
        let guard = self.inner.conn.load();
        match guard.as_ref() {
            Some(installed) => Ok((installed.conn.clone(), installed.generation)),
            None => Err(Error::NotReady {
                state: ConnState::Reconnecting,
            }),
        }
    }

    /// The address of the server currently connected (primary for Sentinel, seed for cluster).
    pub(crate) fn current_addr(&self) -> Option<ServerAddr> {
        self.inner.conn.load().as_ref().map(|i| i.addr.clone())
    }
}
