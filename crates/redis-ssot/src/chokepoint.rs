//! The one choke point every Redis command passes through.
//!
//! ```text
//! ready ─▶ gate (breaker, in-flight limit) ─▶ deadline(I/O) ─▶ classify ─▶ gate/supervisor/metrics
//! ```
//!
//! * **ready**: an atomic load; not ready (connecting, reconnecting, loading) is `NotReady` at
//!   once, never a wait.
//! * **gate** ([`crate::gate`]): one atomic load while the breaker is closed; open is
//!   `CircuitOpen` without any I/O; past `max_in_flight` is `Overloaded` at once (no queue).
//! * **deadline**: every call has one ([`Deadline`]). Ordinary commands on the shared
//!   connection share a coarse epoch ring instead of a timer each (see [`crate::deadline`]);
//!   anything with a deadline of its own, and dedicated connections, get Tokio's timer.
//! * **classify**: redis-rs errors become [`Error`] kinds ([`crate::error`]); the gate's
//!   permit records the outcome and says what the connection needs (replace it, check it, it
//!   is loading), which goes to the supervisor's inbox tagged with the connection's
//!   generation. Metrics and the outcome totals are recorded last.
//!
//! The hot path allocates nothing and takes no lock.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use redis::{Cmd, FromRedisValue};

use crate::config::Topology;
use crate::connection::Conn;
use crate::deadline::Deadline;
use crate::error::{Error, Outcome, Result};
use crate::gate::{Admit, FollowUp};
use crate::manager::RedisManager;
use crate::metrics::Op;
use crate::slot::Request;
use crate::state::ConnState;

/// A reply as the type the caller asked for.
fn decode<T: FromRedisValue>(v: redis::Value) -> Result<T> {
    redis::from_redis_value(v).map_err(|e| Error::from(redis::RedisError::from(e)))
}

/// Where a call gets its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The shared multiplexed connection.
    Shared,
    /// A dedicated connection from the small pool (blocking commands, WATCH).
    Dedicated,
}

impl RedisManager {
    /// Runs `f` on the shared connection through the whole pipeline.
    #[inline]
    pub(crate) fn run<T, F, Fut>(
        &self,
        op: Op,
        deadline: Deadline,
        f: F,
    ) -> impl Future<Output = Result<T>>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = (Conn, redis::RedisResult<T>)>,
    {
        self.run_on(Source::Shared, Admit::Normal, op, deadline, f)
    }

    /// Runs `f` through the whole pipeline on the chosen connection source.
    pub(crate) async fn run_on<T, F, Fut>(
        &self,
        source: Source,
        admit: Admit,
        op: Op,
        deadline: Deadline,
        f: F,
    ) -> Result<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = (Conn, redis::RedisResult<T>)>,
    {
        let inner = &*self.inner;
        let started = Instant::now();

        // 1. ready
        let (conn, generation) = match self.ready(source) {
            Ok(c) => c,
            Err(e) => return Err(self.refuse(op, e, started)),
        };
        // 2. breaker and in-flight limit
        let permit = match inner.gate.admit(admit) {
            Ok(p) => p,
            Err(e) => return Err(self.refuse(op, e, started)),
        };

        // 3. deadline around the I/O
        // A span per command when DEBUG is on; otherwise not even the callsite is consulted.
        let span = tracing::level_enabled!(tracing::Level::DEBUG)
            .then(|| tracing::debug_span!("redis.command", db.operation.name = op.name()));
        let length = deadline.length(inner.deadlines.timeout());
        let timed_out = || Error::Timeout {
            op: op.name(),
            after: length,
        };
        let result = if source == Source::Shared && deadline == Deadline::Default {
            // The common case: the shared connection's ordinary commands share the coarse
            // deadline ring (no timer per command; see `deadline`), and redis-rs's future is
            // wrapped once, not three times.
            match inner.deadlines.guard_in(span, f(conn)).await {
                Some((conn, result)) => {
                    inner.slot.put(generation, conn);
                    result.map_err(Error::from)
                }
                None => Err(timed_out()),
            }
        } else {
            // Anything with its own deadline gets Tokio's timer. Boxed, so that this rarer
            // path (and a dedicated lease's connection handshake, kilobytes of future) does not
            // make every ordinary command's future as big.
            let io = Box::pin(self.with_timer(source, generation, conn, length, span, f));
            io.await.unwrap_or_else(|| Err(timed_out()))
        };

        // 4. classify and account
        self.settle(op, permit, generation, result, started)
    }

    /// A single command on the shared connection with the default deadline, the common case:
    /// the same pipeline, with the I/O coalesced with concurrent neighbours into one packed
    /// pipeline (see [`crate::coalesce`]). On a cluster it is sent on its own.
    pub(crate) async fn run_single<T: FromRedisValue>(&self, op: Op, cmd: Cmd) -> Result<T> {
        let inner = &*self.inner;
        if matches!(inner.config.topology, Topology::Cluster(_)) {
            return self
                .run(op, Deadline::Default, move |mut conn| async move {
                    let r = cmd.query_async(&mut conn).await;
                    (conn, r)
                })
                .await;
        }
        let started = Instant::now();
        // 1. ready
        let state = inner.state.get();
        if state != ConnState::Ready {
            let e = match state {
                ConnState::Closed => Error::Closed,
                s => Error::NotReady { state: s },
            };
            return Err(self.refuse(op, e, started));
        }
        // 2. breaker and in-flight limit
        let permit = match inner.gate.admit(Admit::Normal) {
            Ok(p) => p,
            Err(e) => return Err(self.refuse(op, e, started)),
        };
        // 3. deadline around the I/O (the shared ring)
        let span = tracing::level_enabled!(tracing::Level::DEBUG)
            .then(|| tracing::debug_span!("redis.command", db.operation.name = op.name()));
        let timeout = inner.deadlines.timeout();
        let timed_out = || Error::Timeout {
            op: op.name(),
            after: timeout,
        };
        // The coalescer: sent at once when fewer than two sends are in flight, otherwise
        // packed with the other waiting commands into one pipeline.
        let send = inner.coalescer.send(&inner.slot, timeout, cmd);
        let (result, generation) = match inner.deadlines.guard_in(span, send).await {
            Some((sent, generation)) => (sent.and_then(decode::<T>), generation),
            None => (Err(timed_out()), None),
        };
        let generation = generation.or_else(|| inner.slot.generation()).unwrap_or(0);
        // 4. classify and account
        self.settle(op, permit, generation, result, started)
    }

    /// Step 4 of every call: the gate's verdict, the supervisor's follow-up, the last error,
    /// the outcome totals and the duration metric.
    #[inline]
    fn settle<T>(
        &self,
        op: Op,
        permit: crate::gate::Permit<'_>,
        generation: u64,
        result: Result<T>,
        started: Instant,
    ) -> Result<T> {
        let inner = &*self.inner;
        let follow_up = permit.finish(&result);
        self.follow_up(follow_up, generation);
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(e) => {
                if !matches!(e, Error::Redis { .. } | Error::CrossSlot(_)) {
                    inner.notes.command_failed(e);
                }
                e.outcome()
            }
        };
        inner.counters.by_outcome.bump(outcome);
        inner
            .metrics
            .record(op, outcome, started.elapsed().as_secs_f64());
        result
    }

    /// Step 1: a connection, if the manager is ready.
    #[inline]
    fn ready(&self, source: Source) -> Result<(Conn, u64)> {
        let state = self.inner.state.get();
        if state != ConnState::Ready {
            return Err(match state {
                ConnState::Closed => Error::Closed,
                s => Error::NotReady { state: s },
            });
        }
        let slot = &self.inner.slot;
        let conn = match source {
            Source::Shared => slot.checkout(),
            Source::Dedicated => slot.current(),
        };
        conn.ok_or(Error::NotReady {
            state: ConnState::Reconnecting,
        })
    }

    /// Passes what the connection needs on to the supervisor.
    #[inline]
    fn follow_up(&self, follow_up: FollowUp, generation: u64) {
        let (request, why) = match follow_up {
            FollowUp::None => return,
            FollowUp::Replace => (Request::Replace, "connection error"),
            FollowUp::Check => (Request::Check, "timeouts or a failed health check"),
            FollowUp::Loading => (Request::Loading, "the server is loading its dataset"),
        };
        self.inner.slot.request(request, generation, why);
    }

    /// A read on a replica connection: the in-flight limit, the deadline, metrics and error
    /// kinds as for any command. Readiness and the breaker are the primary's and do not gate
    /// it, and its failures never touch them: the caller falls back to the primary.
    pub(crate) async fn run_on_replica<T: redis::FromRedisValue>(
        &self,
        op: Op,
        mut conn: Conn,
        cmd: &redis::Cmd,
    ) -> Result<T> {
        let inner = &*self.inner;
        let started = Instant::now();
        if inner.state.get() == ConnState::Closed {
            return Err(self.refuse(op, Error::Closed, started));
        }
        let permit = match inner.gate.admit(Admit::LimitOnly) {
            Ok(p) => p,
            Err(e) => return Err(self.refuse(op, e, started)),
        };
        let timeout = inner.config.command_timeout;
        let result = match tokio::time::timeout(timeout, cmd.query_async(&mut conn)).await {
            // On the primary READONLY means "this is no longer the primary"; here it means the
            // caller sent a write to a replica: a plain reply error, not an outage.
            Ok(Err(e))
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly) =>
            {
                Err(Error::Redis {
                    code: "READONLY".into(),
                    message: format!(
                        "replica_reads() is for reads only: {}",
                        e.detail().unwrap_or_default()
                    ),
                })
            }
            Ok(r) => r.map_err(Error::from),
            Err(_) => Err(Error::Timeout {
                op: op.name(),
                after: timeout,
            }),
        };
        permit.finish(&result);
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(e) => e.outcome(),
        };
        inner.counters.by_outcome.bump(outcome);
        inner
            .metrics
            .record(op, outcome, started.elapsed().as_secs_f64());
        result
    }

    /// The I/O of a call under Tokio's timer; `None` when the deadline passed.
    async fn with_timer<T, F, Fut>(
        &self,
        source: Source,
        generation: u64,
        conn: Conn,
        timeout: std::time::Duration,
        span: Option<tracing::Span>,
        f: F,
    ) -> Option<Result<T>>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = (Conn, redis::RedisResult<T>)>,
    {
        // Set once a dedicated call holds its lease: a deadline that passes before that is
        // the pool being full, not the server being slow.
        let leased = AtomicBool::new(source == Source::Shared);
        let io = async {
            match source {
                Source::Shared => {
                    let (conn, result) = f(conn).await;
                    self.inner.slot.put(generation, conn);
                    result.map_err(Error::from)
                }
                Source::Dedicated => self.on_dedicated(&leased, f).await,
            }
        };
        match tokio::time::timeout(timeout, Traced::new(span, io)).await {
            Ok(result) => Some(result),
            Err(_) if !leased.load(Ordering::Relaxed) => Some(Err(Error::PoolExhausted {
                size: self.inner.config.dedicated_pool_size,
                waited: timeout,
            })),
            Err(_) => None,
        }
    }

    async fn on_dedicated<T, F, Fut>(&self, leased: &AtomicBool, f: F) -> Result<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = (Conn, redis::RedisResult<T>)>,
    {
        let lease = self
            .inner
            .slot
            .pool()
            .acquire(&self.inner.connector, leased)
            .await?;
        let (_, result) = f(lease.conn()).await;
        let result = result.map_err(Error::from);
        match &result {
            Err(e) if e.is_unavailable() || matches!(e, Error::Decode(_)) => lease.discard(),
            _ => lease.release(),
        }
        result
    }

    /// Accounts for a call refused before any I/O and returns its error.
    #[cold]
    fn refuse(&self, op: Op, err: Error, started: Instant) -> Error {
        let outcome = err.outcome();
        let inner = &*self.inner;
        inner.counters.by_outcome.bump(outcome);
        inner
            .metrics
            .record(op, outcome, started.elapsed().as_secs_f64());
        err
    }
}

pin_project_lite::pin_project! {
    /// Enters `span` around each poll of `inner`, but only if the span is enabled: tracing's
    /// own `Instrumented` pays for a disabled span on every poll of every command.
    struct Traced<F> {
        span: Option<tracing::Span>,
        #[pin]
        inner: F,
    }
}

impl<F> Traced<F> {
    fn new(span: Option<tracing::Span>, inner: F) -> Self {
        let span = span.filter(|s| !s.is_disabled());
        Traced { span, inner }
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        match this.span {
            Some(span) => {
                let _entered = span.enter();
                this.inner.poll(cx)
            }
            None => this.inner.poll(cx),
        }
    }
}
