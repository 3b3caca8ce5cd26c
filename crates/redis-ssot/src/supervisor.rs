//! The supervisor: the one task that connects, and reconnects forever.
//!
//! A connection is *dialled* (redis-rs's connect, then the PING of [`crate::handshake`]) under
//! `connect_timeout`, installed, and the manager turns `Ready`, or `Loading` while the server
//! loads its dataset: then the supervisor keeps the connection and polls it every
//! `probe_interval` until the dataset is in, rather than churning connections. It then serves
//! the requests of its inbox ([`crate::slot`]), each about one connection generation:
//!
//! * **Replace** (a connection error): the connection is dropped at once and the manager is
//!   `Reconnecting` (callers get `NotReady`) until a new one is dialled.
//! * **Loading** (a `LOADING` reply): the manager turns `Loading` and polls, as above.
//! * **Swap** (`force_reconnect`, a changed cluster slot map): make before break. A new
//!   connection is dialled while the current one serves; once installed, commands in flight
//!   on the old one finish there. If the dial fails, the current connection stays.
//! * **Check** (timeouts, a failed health PING): the same dial. If it succeeds the new
//!   connection is swapped in (a half-open socket is cured); if not, the server itself does not
//!   answer, the current connection is kept (it will work again when the server does) and the
//!   check is repeated after a backoff step for as long as the evidence lasts (the breaker is
//!   not closed, or timeouts keep coming). See [`crate::gate`] for how this meets the breaker.
//!
//! Between failed connects it backs off with capped exponential backoff and full jitter. While
//! nothing listens (refused, no socket file, reset), a cheap probe runs every `probe_interval`
//! and cuts the backoff short as soon as the port accepts again (for Sentinel: as soon as the
//! sentinels name a primary whose port accepts): recovery then takes one probe interval plus
//! one handshake. Failures that are not "nothing listens" (authentication, a hung server) get
//! the plain backoff, so a wrong password does not become a hammering loop.
//!
//! The handshake PING and the loading polls go straight to the connection being made ready:
//! they are part of connecting, not commands, and the choke point would refuse them anyway.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::breaker::BreakerState;
use crate::config::ServerAddr;
use crate::connection::Conn;
use crate::error::{ConnectionKind, Error, Result};
use crate::handshake::{self, Greeting};
use crate::manager::Inner;
use crate::slot::{Request, answer};
use crate::state::ConnState;

/// How serving one connection ended.
enum Ended {
    /// It broke (or was replaced by force): connect again.
    Broken,
    /// The manager is shutting down.
    Shutdown,
}

pub(crate) async fn run(inner: Arc<Inner>) {
    let mut shutdown = inner.lifecycle.subscribe();
    let mut backoff = Backoff::new(inner.config.backoff_base, inner.config.backoff_cap);
    loop {
        if inner.lifecycle.is_shutting_down() {
            return;
        }
        let failure = match dial(&inner).await {
            Ok((conn, addr, greeting)) => {
                let generation = install(&inner, conn, addr, true);
                backoff.reset();
                match serve(&inner, generation, greeting, &mut shutdown).await {
                    Ended::Shutdown => return,
                    Ended::Broken => {
                        inner.slot.clear();
                        inner.state.set(ConnState::Reconnecting);
                        continue;
                    }
                }
            }
            Err(e) => e,
        };
        tracing::warn!(error = %inner.redact(failure.to_string()), "redis connect failed");
        inner.notes.connect_failed(&failure);
        // A `force_reconnect` made while disconnected hears how this attempt went.
        inner.slot.fail_swaps(&failure);
        let delay = backoff.next_delay();
        let refusal = failure
            .connection_kind()
            .is_some_and(ConnectionKind::is_refusal);
        let probe = refusal && inner.connector.can_probe();
        tokio::select! {
            _ = wait_or_probe(&inner, delay, probe) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Connects and PINGs, under `connect_timeout`. A panic inside redis-rs while connecting
/// (rustls without a crypto provider is one) is caught: it must not kill this task, or the
/// manager would stay `Connecting` forever with no error.
async fn dial(inner: &Inner) -> Result<(Conn, ServerAddr, Greeting)> {
    let attempt = async {
        let (mut conn, addr) = inner
            .connector
            .connect()
            .await
            .map_err(handshake::refused)?;
        let greeting = handshake::greet(&mut conn)
            .await
            .map_err(handshake::refused)?;
        Ok((conn, addr, greeting))
    };
    let attempt = AssertUnwindSafe(attempt).catch_unwind().map(|r| {
        r.unwrap_or_else(|panic| {
            Err(Error::connection(
                ConnectionKind::Panicked,
                panic_message(&panic),
            ))
        })
    });
    match tokio::time::timeout(inner.config.connect_timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            op: "CONNECT",
            after: inner.config.connect_timeout,
        }),
    }
}

/// Installs a dialled connection and counts it; returns its generation. `replaces_lost`: it
/// stands in for one that broke or stopped answering (counted in `reconnects`), rather than a
/// swap asked for while the old one worked.
fn install(inner: &Inner, conn: Conn, addr: ServerAddr, replaces_lost: bool) -> u64 {
    let generation = inner.slot.install(conn, addr);
    let opened = inner
        .counters
        .connections_opened
        .fetch_add(1, Ordering::AcqRel);
    if opened > 0 && replaces_lost {
        inner.counters.reconnects.fetch_add(1, Ordering::Relaxed);
        crate::metrics::count_reconnect();
    }
    inner.notes.connected();
    inner.gate.on_reconnected();
    tracing::info!(generation, "redis connection installed");
    generation
}

/// Serves connection `generation` until it must go.
async fn serve(
    inner: &Inner,
    mut generation: u64,
    greeting: Greeting,
    shutdown: &mut watch::Receiver<bool>,
) -> Ended {
    let mut backoff = Backoff::new(inner.config.backoff_base, inner.config.backoff_cap);
    if let Greeting::Loading(progress) = greeting
        && let Some(ended) = wait_loaded(inner, generation, progress, shutdown).await
    {
        return ended;
    }
    inner.state.set(ConnState::Ready);
    // Whoever asked for a new connection while there was none has one now.
    if let Some((Request::Swap, waiting)) = inner.slot.take_request(generation) {
        answer(waiting, Ok(()));
    }
    // When a failed check is due to be repeated.
    let mut recheck: Option<tokio::time::Instant> = None;
    loop {
        let Some((request, waiting)) = inner.slot.take_request(generation) else {
            let due = recheck.unwrap_or_else(far_future);
            tokio::select! {
                _ = inner.slot.requested() => {}
                _ = tokio::time::sleep_until(due), if recheck.is_some() => {
                    recheck = None;
                    if still_suspect(inner) {
                        inner.slot.request(Request::Check, generation, "the connection still does not answer");
                    }
                }
                _ = shutdown.changed() => {}
            }
            if inner.lifecycle.is_shutting_down() {
                return Ended::Shutdown;
            }
            continue;
        };
        match request {
            Request::Replace => return Ended::Broken,
            Request::Loading => {
                if let Some(ended) =
                    wait_loaded(inner, generation, Default::default(), shutdown).await
                {
                    return ended;
                }
                inner.state.set(ConnState::Ready);
            }
            Request::Swap | Request::Check => {
                let dialled = tokio::select! {
                    r = dial(inner) => r,
                    _ = replaced(inner, generation) => {
                        answer(waiting, Err(Error::NotReady { state: ConnState::Reconnecting }));
                        return Ended::Broken;
                    }
                    _ = shutdown.changed() => {
                        answer(waiting, Err(Error::Closed));
                        return Ended::Shutdown;
                    }
                };
                match dialled {
                    Ok((conn, addr, greeting)) => {
                        generation = install(inner, conn, addr, request == Request::Check);
                        recheck = None;
                        backoff.reset();
                        if let Greeting::Loading(progress) = greeting
                            && let Some(ended) =
                                wait_loaded(inner, generation, progress, shutdown).await
                        {
                            answer(
                                waiting,
                                Err(Error::NotReady {
                                    state: inner.state.get(),
                                }),
                            );
                            return ended;
                        }
                        inner.state.set(ConnState::Ready);
                        answer(waiting, Ok(()));
                    }
                    Err(e) => {
                        tracing::warn!(
                            error = %inner.redact(e.to_string()),
                            request = ?request,
                            "could not dial a new redis connection; keeping the current one"
                        );
                        inner.notes.connect_failed(&e);
                        answer(waiting, Err(e));
                        if request == Request::Check {
                            recheck = Some(tokio::time::Instant::now() + backoff.next_delay());
                        }
                    }
                }
            }
        }
    }
}

/// Whether a connection that failed its check still shows no sign of life.
fn still_suspect(inner: &Inner) -> bool {
    inner.gate.breaker().state() != BreakerState::Closed || inner.gate.timeout_streak() > 0
}

/// Resolves once connection `generation` is asked to be replaced.
async fn replaced(inner: &Inner, generation: u64) {
    while !inner.slot.replace_requested(generation) {
        inner.slot.requested().await;
    }
}

/// Keeps the manager `Loading` and polls connection `generation` every `probe_interval` until
/// the server answers PING. `None` when it did; otherwise how serving ended.
async fn wait_loaded(
    inner: &Inner,
    generation: u64,
    progress: handshake::LoadProgress,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Ended> {
    tracing::info!(percent = ?progress.percent, "redis is loading its dataset; waiting");
    inner.health.set_loading(Some(progress));
    inner.state.set(ConnState::Loading);
    let ended = loop {
        tokio::select! {
            _ = tokio::time::sleep(inner.config.probe_interval) => {}
            _ = shutdown.changed() => {}
        }
        if inner.lifecycle.is_shutting_down() {
            break Some(Ended::Shutdown);
        }
        if inner.slot.replace_requested(generation) {
            break Some(Ended::Broken);
        }
        let Some((mut conn, current)) = inner.slot.current() else {
            break Some(Ended::Broken);
        };
        if current != generation {
            break Some(Ended::Broken);
        }
        let poll = tokio::time::timeout(inner.config.connect_timeout, handshake::greet(&mut conn));
        match poll.await {
            Ok(Ok(Greeting::Ready)) => break None,
            Ok(Ok(Greeting::Loading(p))) => inner.health.set_loading(Some(p)),
            Ok(Err(e)) => {
                tracing::warn!(error = %inner.redact(e.to_string()), "lost the loading server");
                inner.notes.connect_failed(&e);
                break Some(Ended::Broken);
            }
            Err(_) => {
                inner.notes.connect_failed(&Error::Timeout {
                    op: "PING",
                    after: inner.config.connect_timeout,
                });
                break Some(Ended::Broken);
            }
        }
    };
    inner.health.set_loading(None);
    if ended.is_none() {
        tracing::info!(generation, "redis finished loading");
    }
    ended
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400)
}

/// Sleeps `delay`, or less if the connector's probe says a server is there again, or if
/// somebody asks for a connection now (`force_reconnect`).
async fn wait_or_probe(inner: &Inner, delay: Duration, probe: bool) {
    let deadline = tokio::time::Instant::now() + delay;
    let step = inner.config.probe_interval;
    let waited = async {
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return;
            }
            if !probe {
                tokio::time::sleep_until(deadline).await;
                return;
            }
            tokio::time::sleep(step.min(deadline - now)).await;
            if inner.connector.probe(step).await {
                return;
            }
        }
    };
    tokio::select! {
        _ = waited => {}
        _ = swap_requested(inner) => {}
    }
}

/// Resolves when somebody asks for a swap (checked without taking it out of the inbox).
async fn swap_requested(inner: &Inner) {
    loop {
        if inner.slot.swap_pending() {
            return;
        }
        inner.slot.requested().await;
    }
}

/// The text of a panic payload, for `last_connect_error`.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    format!("connect panicked: {}", text.trim())
}
