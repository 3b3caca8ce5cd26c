//! The supervisor: the one task that connects, and reconnects forever.
//!
//! It installs a connection, marks the manager Ready, then sleeps until somebody asks for the
//! connection to be replaced (a connection error, consecutive timeouts, a failed health check,
//! a demoted primary) or the manager shuts down. Between failed attempts it backs off with
//! capped exponential backoff and full jitter. While the server refuses connections outright,
//! a cheap probe runs every `probe_interval` and cuts the backoff short as soon as the port
//! accepts again (for Sentinel: as soon as the sentinels name a primary whose port accepts,
//! which is how a failover is followed): recovery then takes one probe interval plus one
//! handshake, not a backoff step of up to `backoff_cap`. Failures that are not "port closed" (auth errors, a hung
//! server) get the plain backoff, so a wrong password does not become a hammering loop.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::FutureExt;

use crate::backoff::Backoff;
use crate::error::Error;
use crate::manager::{Inner, Installed};
use crate::state::ConnState;

pub(crate) async fn run(inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown_tx.subscribe();
    let mut backoff = Backoff::new(inner.config.backoff_base, inner.config.backoff_cap);
    let mut generation = 0u64;
    loop {
        if inner.is_shutting_down() {
            return;
        }
        // A panic inside redis-rs while connecting (rustls without a crypto provider is one)
        // must not kill this task: the manager would stay `Connecting` forever with no error.
        let connect = AssertUnwindSafe(inner.connector.connect())
            .catch_unwind()
            .map(|r| r.unwrap_or_else(|panic| Err(Error::Connection(panic_message(&panic)))));
        let attempt = tokio::time::timeout(inner.config.connect_timeout, connect);
        let failure = match attempt.await {
            Ok(Ok((conn, addr))) => {
                generation += 1;
                inner.conn.store(Some(Arc::new(Installed {
                    conn,
                    generation,
                    addr,
                })));
                inner.conns.install(generation);
                let opened = inner
                    .counters
                    .connections_opened
                    .fetch_add(1, Ordering::AcqRel);
                if opened > 0 {
                    inner.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(crate::metrics::RECONNECTS).increment(1);
                }
                if let Ok(mut e) = inner.last_connect_error.lock() {
                    *e = None;
                }
                backoff.reset();
                inner.consecutive_timeouts.store(0, Ordering::Release);
                inner.breaker.on_reconnected();
                inner.pool.clear();
                inner.state.set(ConnState::Ready);
                tracing::info!(generation, "redis connection ready");

                // Wait for a reason to replace this connection.
                loop {
                    if inner.replace_generation.load(Ordering::Acquire) >= generation {
                        break;
                    }
                    tokio::select! {
                        _ = inner.replace_wakeup.notified() => {}
                        _ = inner.swap_wakeup.notified() => {
                            swap(&inner, &mut generation).await;
                        }
                        _ = shutdown.changed() => {}
                    }
                    if inner.is_shutting_down() {
                        return;
                    }
                }
                inner.state.set(ConnState::Reconnecting);
                inner.conn.store(None);
                inner.conns.install(0);
                continue;
            }
            Ok(Err(e)) => e,
            Err(_) => Error::Timeout {
                op: "CONNECT",
                after: inner.config.connect_timeout,
            },
        };

        let port_closed = matches!(&failure, Error::Connection(m) if is_refusal(m));
        tracing::warn!(error = %inner.redact(failure.to_string()), "redis connect failed");
        inner.set_last_error(&inner.last_connect_error, failure.to_string());
        if inner.state.get() == ConnState::Ready {
            inner.state.set(ConnState::Reconnecting);
        }
        let delay = backoff.next_delay();
        let probe = port_closed && inner.connector.can_probe();
        tokio::select! {
            _ = wait_or_probe(&inner, delay, probe) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Builds a new connection and installs it in place of the current one, which keeps serving
/// until then: the manager stays `Ready`. On failure the current connection stays.
async fn swap(inner: &Inner, generation: &mut u64) {
    let connect = AssertUnwindSafe(inner.connector.connect())
        .catch_unwind()
        .map(|r| r.unwrap_or_else(|panic| Err(Error::Connection(panic_message(&panic)))));
    match tokio::time::timeout(inner.config.connect_timeout, connect).await {
        Ok(Ok((conn, addr))) => {
            *generation += 1;
            inner.conn.store(Some(Arc::new(Installed {
                conn,
                generation: *generation,
                addr,
            })));
            inner.conns.install(*generation);
            inner
                .counters
                .connections_opened
                .fetch_add(1, Ordering::AcqRel);
            inner
                .counters
                .topology_changes
                .fetch_add(1, Ordering::Relaxed);
            inner.pool.clear();
            tracing::info!(
                generation = *generation,
                "redis connection swapped (topology changed)"
            );
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %inner.redact(e.to_string()), "topology swap: connect failed; keeping the current connection");
        }
        Err(_) => {
            tracing::warn!("topology swap: connect timed out; keeping the current connection");
        }
    }
}

/// Sleeps `delay`, or less if the connector's probe says a server is there again.
async fn wait_or_probe(inner: &Inner, delay: Duration, probe: bool) {
    if !probe {
        tokio::time::sleep(delay).await;
        return;
    }
    let deadline = tokio::time::Instant::now() + delay;
    let step = inner.config.probe_interval;
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return;
        }
        tokio::time::sleep(step.min(deadline - now)).await;
        if inner.connector.probe(step).await {
            return;
        }
    }
}

fn is_refusal(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("refused")
        || m.contains("no such file")
        || m.contains("not found")
        || m.contains("reset")
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
