//! `RedisManager`: the cheap-clone handle, its shared state, and its life cycle.
//!
//! The handle owns nothing but an `Arc` to [`Inner`]. `Inner` is a handful of owner types,
//! each keeping its own invariants behind methods: [`ConnSlot`] (the installed connection, its
//! generation and the supervisor's inbox), [`Gate`] (breaker, in-flight limit, timeout
//! streak), [`StateCell`], [`Lifecycle`], [`Notes`]. Background tasks (the supervisor, the
//! health monitor, the deadline watchdog, the topology refresh) hold `Arc<Inner>` too, but
//! not the [`Owner`] token: when the last user handle is dropped, the owner token's `Drop`
//! tells them to stop, so a forgotten manager does not keep reconnecting forever.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::breaker::{BreakerConfig, BreakerState};
use crate::config::{Config, ServerAddr};
use crate::connection::Connector;
use crate::deadline::Deadlines;
use crate::error::{Error, Result};
use crate::gate::Gate;
use crate::health::HealthState;
use crate::lifecycle::Lifecycle;
use crate::metrics::OperationMetrics;
use crate::notes::Notes;
use crate::shard::OutcomeCounters;
use crate::slot::ConnSlot;
use crate::state::{ConnState, StateCell};
use crate::status::Status;

/// Totals by outcome and connection counters, for `status()`. Each is a plain monotonic
/// count with no rule tying it to another.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) by_outcome: OutcomeCounters,
    pub(crate) connections_opened: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) not_replicated: AtomicU64,
    pub(crate) topology_changes: AtomicU64,
}

/// Everything one manager shares between its handles and its background tasks.
pub(crate) struct Inner {
    pub(crate) config: Arc<Config>,
    pub(crate) connector: Connector,
    pub(crate) slot: ConnSlot,
    pub(crate) state: StateCell,
    pub(crate) gate: Gate,
    /// Deadlines of the shared connection's ordinary commands (no timer per command).
    pub(crate) deadlines: Deadlines,
    /// Single commands on a redis-rs shared connection (TLS), coalesced under load.
    pub(crate) coalescer: crate::coalesce::Coalescer,
    /// The coalescer's pipelines, counted for `status()`.
    pub(crate) batches: Arc<crate::coalesce::BatchStats>,
    pub(crate) counters: Counters,
    pub(crate) metrics: OperationMetrics,
    pub(crate) health: HealthState,
    pub(crate) notes: Notes,
    pub(crate) replica: crate::replica::ReplicaState,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) created: Instant,
}

impl Inner {
    /// `message` with every configured secret replaced by `***`.
    pub(crate) fn redact(&self, message: String) -> String {
        self.notes.redact(message)
    }

    /// Whether a command sent now can succeed: a connection is installed and answering
    /// (`Ready`) and the breaker is not refusing calls.
    pub(crate) fn is_ready(&self) -> bool {
        self.state.get() == ConnState::Ready && !self.gate.breaker().is_refusing()
    }
}

/// Signals the background tasks to stop when the last user handle goes away.
struct Owner {
    inner: Arc<Inner>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.inner.lifecycle.begin_shutdown();
        self.inner.state.set(ConnState::Closed);
        self.inner.slot.wake();
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
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        crate::metrics::describe();
        let config = Arc::new(config);
        let batches = Arc::new(crate::coalesce::BatchStats::default());
        let connector = Connector::new(config.clone())?;
        let inner = Arc::new(Inner {
            gate: Gate::new(
                BreakerConfig {
                    failure_threshold: config.breaker_failure_threshold,
                    cooldown: config.breaker_cooldown,
                    half_open_probes: config.breaker_half_open_probes,
                    success_threshold: config.breaker_success_threshold,
                },
                config.max_in_flight,
                config.timeouts_before_reconnect,
            ),
            slot: ConnSlot::new(config.dedicated_pool_size),
            replica: Default::default(),
            connector,
            state: StateCell::new(),
            deadlines: Deadlines::new(config.command_timeout),
            coalescer: crate::coalesce::Coalescer::new(batches.clone()),
            batches,
            counters: Counters::default(),
            metrics: OperationMetrics::default(),
            health: HealthState::default(),
            notes: Notes::new(&config),
            lifecycle: Lifecycle::new(),
            created: Instant::now(),
            config,
        });
        let tasks = &inner.lifecycle;
        tasks.spawn(&runtime, crate::supervisor::run(inner.clone()));
        tasks.spawn(&runtime, crate::health::run(inner.clone()));
        tasks.spawn(&runtime, crate::topology::run(inner.clone()));
        let ring = inner.clone();
        let stop = inner.lifecycle.subscribe();
        tasks.spawn(&runtime, async move {
            crate::deadline::watchdog(&ring.deadlines, stop).await
        });
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

    /// Whether a command sent now can succeed: a connection is installed and answering (state
    /// `Ready`: not connecting, not loading) and the circuit breaker is not refusing calls.
    pub fn is_ready(&self) -> bool {
        self.inner.is_ready()
    }

    /// A `watch` receiver that sees every connection-state change (the breaker's are not in
    /// it; [`RedisManager::wait_ready`] waits for both).
    pub fn watch_state(&self) -> watch::Receiver<ConnState> {
        self.inner.state.subscribe()
    }

    /// Waits until [`RedisManager::is_ready`], for at most `timeout`. On timeout the error
    /// says why: `StillNotReady` with the state and the status verdict (the last connection
    /// error in plain words: a wrong password, a refused port), or `CircuitOpen` while the
    /// breaker refuses.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let until = tokio::time::Instant::now() + timeout;
        let mut states = self.watch_state();
        let mut breaker = self.inner.gate.breaker().subscribe();
        loop {
            if self.is_ready() {
                return Ok(());
            }
            let state = self.state();
            if state == ConnState::Closed {
                return Err(Error::Closed);
            }
            // An open breaker turns admitting when its cool-down ends, without a transition.
            let cooled = self.inner.gate.breaker().retry_after();
            let wake = cooled.map_or(until, |d| until.min(tokio::time::Instant::now() + d));
            tokio::select! {
                _ = states.changed() => {}
                _ = breaker.changed() => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
            if tokio::time::Instant::now() >= until && !self.is_ready() {
                return Err(match self.inner.gate.breaker().retry_after() {
                    Some(retry_after) if self.state() == ConnState::Ready => {
                        Error::CircuitOpen { retry_after }
                    }
                    _ => Error::StillNotReady {
                        state: self.state(),
                        waited: timeout,
                        why: self.status().verdict(),
                    },
                });
            }
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

    /// Replaces the connection, make-before-break: a new connection is dialled and checked
    /// with a PING while the current one keeps serving; then it is installed, and commands in
    /// flight on the old one finish there. Callers see no error. Returns once the new
    /// connection serves, or the error that kept it from being made (the current connection
    /// then stays). While reconnecting, it cuts the backoff short and waits for the next
    /// connection.
    pub async fn force_reconnect(&self) -> Result<()> {
        if self.state() == ConnState::Closed {
            return Err(Error::Closed);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.inner.slot.request_swap(Some(tx));
        tracing::warn!("reconnect requested by the operator");
        let wait = self.inner.config.connect_timeout * 2 + self.inner.config.backoff_cap;
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(Error::Closed),
            Err(_) => Err(Error::Timeout {
                op: "RECONNECT",
                after: wait,
            }),
        }
    }

    /// Closes the circuit breaker and clears its counts (logged). For an operator who knows
    /// the server is back before the breaker does.
    pub fn reset_circuit_breaker(&self) {
        self.inner.gate.breaker().reset();
    }

    /// The breaker's position now.
    pub fn breaker_state(&self) -> BreakerState {
        self.inner.gate.breaker().state()
    }

    /// A `watch` receiver that sees every breaker transition.
    pub fn watch_breaker(&self) -> watch::Receiver<BreakerState> {
        self.inner.gate.breaker().subscribe()
    }

    /// Stops accepting commands, waits up to `deadline` for in-flight ones to finish, then
    /// stops the background tasks and drops the connections.
    pub async fn shutdown(&self, deadline: Duration) {
        let inner = &self.inner;
        inner.lifecycle.begin_shutdown();
        inner.state.set(ConnState::Closed);
        inner.slot.wake();
        inner.gate.drain(deadline).await;
        inner.lifecycle.stop_tasks().await;
        inner.deadlines.expire_all();
        inner.slot.clear();
        inner.replica.clear();
        tracing::info!("redis manager shut down");
    }

    /// The address of the server currently connected (primary for Sentinel, seed for cluster).
    pub(crate) fn current_addr(&self) -> Option<ServerAddr> {
        self.inner.slot.addr()
    }

    /// Sets the gauges that change with every command (in flight) to their values now; a
    /// `/metrics` handler calls it before rendering. The state gauges are kept current as
    /// they change.
    pub fn refresh_gauges(&self) {
        crate::metrics::set_in_flight(self.inner.gate.in_flight());
    }
}
