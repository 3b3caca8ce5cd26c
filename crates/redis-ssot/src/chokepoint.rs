//! The one choke point every Redis command passes through.
//!
//! ```text
//! ready ─▶ breaker ─▶ in-flight limit ─▶ timeout(I/O) ─▶ classify ─▶ breaker/supervisor/metrics
//! ```
//!
//! * **ready**: an atomic load; not ready is `NotReady` at once, never a wait.
//! * **breaker**: one atomic load while closed; open is `CircuitOpen` without any I/O.
//! * **limit**: an atomic counter; past `max_in_flight` is `Overloaded` at once (no queue).
//! * **timeout**: every call has a deadline (a blocking command: its block time plus a margin).
//!   Ordinary commands on the shared connection share a coarse epoch ring instead of a timer
//!   each (see [`crate::deadline`]).
//! * **classify**: redis-rs errors become [`Error`] kinds. Connection errors ask the supervisor
//!   to replace the connection; `timeouts_before_reconnect` consecutive timeouts do too (that
//!   is how a half-open socket is caught). Reply errors touch neither.
//!
//! The hot path allocates nothing and takes no lock.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::breaker::{Admission, Verdict};
use crate::connection::Conn;
use crate::error::{Error, Outcome, Result};
use crate::manager::{Inner, RedisManager};
use crate::metrics::Op;

/// Where a call gets its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The shared multiplexed connection.
    Shared,
    /// A dedicated connection from the small pool (blocking commands, WATCH).
    Dedicated,
}

struct InFlight<'a>(&'a Inner);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl RedisManager {
    /// Runs `f` on the shared connection through the whole pipeline.
    #[inline]
    pub(crate) fn run<T, F, Fut>(
        &self,
        op: Op,
        timeout: Duration,
        f: F,
    ) -> impl Future<Output = Result<T>>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = (Conn, redis::RedisResult<T>)>,
    {
        self.run_on(Source::Shared, op, timeout, f)
    }

    /// Runs `f` through the whole pipeline on the chosen connection source.
    pub(crate) async fn run_on<T, F, Fut>(
        &self,
        source: Source,
        op: Op,
        timeout: Duration,
        f: F,
    ) -> Result<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = (Conn, redis::RedisResult<T>)>,
    {
        let inner = &*self.inner;
        let started = Instant::now();

        // 1. ready
        let checked_out = match source {
            Source::Shared => self.checkout(),
            Source::Dedicated => self.current(),
        };
        let (conn, generation) = match checked_out {
            Ok(c) => c,
            Err(e) => return Err(self.refuse(op, e, started)),
        };
        // 2. breaker
        let admission = match inner.breaker.admit() {
            Ok(a) => a,
            Err(retry_after) => {
                return Err(self.refuse(op, Error::CircuitOpen { retry_after }, started));
            }
        };
        // 3. in-flight limit
        let limit = inner.config.max_in_flight;
        if inner.in_flight.fetch_add(1, Ordering::AcqRel) >= limit {
            inner.in_flight.fetch_sub(1, Ordering::AcqRel);
            inner.breaker.record(admission, Verdict::Ignore);
            return Err(self.refuse(op, Error::Overloaded { limit }, started));
        }
        let _in_flight = InFlight(inner);

        // 4. deadline around the I/O
        // A span per command when DEBUG is on; otherwise not even the callsite is consulted.
        let span = tracing::level_enabled!(tracing::Level::DEBUG)
            .then(|| tracing::debug_span!("redis.command", db.operation.name = op.name()));
        let timed_out = || Error::Timeout {
            op: op.name(),
            after: timeout,
        };
        let result = if source == Source::Shared && timeout == inner.deadlines.timeout() {
            // The common case: the shared connection's ordinary commands share the coarse
            // deadline ring (no timer per command; see `deadline`), and redis-rs's future is
            // wrapped once, not three times.
            match inner.deadlines.guard_in(span, f(conn)).await {
                Some((conn, result)) => {
                    inner.conns.put(generation, conn);
                    result.map_err(Error::from)
                }
                None => Err(timed_out()),
            }
        } else {
            // Anything with its own deadline gets Tokio's timer. Boxed, so that this rarer
            // path (and a dedicated lease's connection handshake, kilobytes of future) does not
            // make every ordinary command's future as big.
            let io = Box::pin(self.with_timer(source, generation, conn, timeout, span, f));
            io.await.unwrap_or_else(|| Err(timed_out()))
        };

        // 5. classify and account
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(e) => e.outcome(),
        };
        self.account(admission, generation, op, outcome, &result, started);
        result
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
        if inner.state.get() == crate::state::ConnState::Closed {
            return Err(self.refuse(op, Error::Closed, started));
        }
        let limit = inner.config.max_in_flight;
        if inner.in_flight.fetch_add(1, Ordering::AcqRel) >= limit {
            inner.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(self.refuse(op, Error::Overloaded { limit }, started));
        }
        let _in_flight = InFlight(inner);
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
        timeout: Duration,
        span: Option<tracing::Span>,
        f: F,
    ) -> Option<Result<T>>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = (Conn, redis::RedisResult<T>)>,
    {
        let io = async {
            match source {
                Source::Shared => {
                    let (conn, result) = f(conn).await;
                    self.inner.conns.put(generation, conn);
                    result.map_err(Error::from)
                }
                Source::Dedicated => self.on_dedicated(f).await,
            }
        };
        tokio::time::timeout(timeout, Traced::new(span, io))
            .await
            .ok()
    }

    async fn on_dedicated<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = (Conn, redis::RedisResult<T>)>,
    {
        let lease = self.inner.pool.acquire(&self.inner.connector).await?;
        let (_, result) = f(lease.conn()).await;
        let result = result.map_err(Error::from);
        match &result {
            Err(e) if e.is_unavailable() || matches!(e, Error::Decode(_)) => lease.discard(),
            _ => lease.release(),
        }
        result
    }

    #[inline]
    fn account<T>(
        &self,
        admission: Admission,
        generation: u64,
        op: Op,
        outcome: Outcome,
        result: &Result<T>,
        started: Instant,
    ) {
        let inner = &*self.inner;
        let verdict = if outcome.is_breaker_failure() {
            Verdict::Failure
        } else {
            Verdict::Success
        };
        inner.breaker.record(admission, verdict);
        match outcome {
            Outcome::Timeout => {
                let n = inner.consecutive_timeouts.fetch_add(1, Ordering::AcqRel) + 1;
                if n >= inner.config.timeouts_before_reconnect {
                    inner.consecutive_timeouts.store(0, Ordering::Release);
                    inner.request_replace(generation, "consecutive timeouts");
                }
            }
            Outcome::ConnectionError => inner.request_replace(generation, "connection error"),
            _ => {
                if inner.consecutive_timeouts.load(Ordering::Relaxed) != 0 {
                    inner.consecutive_timeouts.store(0, Ordering::Relaxed);
                }
            }
        }
        if let Err(e) = result
            && outcome != Outcome::ReplyError
        {
            inner.set_last_error(&inner.last_error, e.to_string());
        }
        inner.counters.by_outcome.bump(outcome);
        inner
            .metrics
            .record(op, outcome, started.elapsed().as_secs_f64());
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
