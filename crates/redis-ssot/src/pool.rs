//! A small pool of dedicated connections for commands that must not share the multiplexed
//! one: blocking commands (BLPOP, XREAD BLOCK) would stall every other caller's replies behind
//! them, and WATCH state belongs to one connection.
//!
//! Connections are opened lazily, at most `size` exist at once, and a caller that finds them
//! all leased waits (inside its own command deadline) rather than opening more: the point of
//! the one manager is a bounded number of connections. If none frees up before the deadline,
//! the call fails with `Error::PoolExhausted`, which is the client's saturation, not an
//! outage: the circuit breaker does not count it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::connection::{Conn, Connector};
use crate::error::{Error, Result};

/// The dedicated-connection pool of one manager.
pub(crate) struct DedicatedPool {
    idle: Mutex<Vec<Conn>>,
    permits: std::sync::Arc<Semaphore>,
    open: AtomicUsize,
}

/// One leased dedicated connection; give it back with `release` or drop it with `discard`.
pub(crate) struct Lease<'a> {
    pool: &'a DedicatedPool,
    conn: Conn,
    returned: bool,
    _permit: OwnedSemaphorePermit,
}

impl DedicatedPool {
    pub(crate) fn new(size: usize) -> Self {
        DedicatedPool {
            idle: Mutex::new(Vec::new()),
            permits: std::sync::Arc::new(Semaphore::new(size)),
            open: AtomicUsize::new(0),
        }
    }

    /// Leases a connection, opening one if none is idle; sets `leased` once one of the pool's
    /// places is this caller's (opening the connection counts as the call's own I/O).
    pub(crate) async fn acquire(
        &self,
        connector: &Connector,
        leased: &AtomicBool,
    ) -> Result<Lease<'_>> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Closed)?;
        leased.store(true, Ordering::Relaxed);
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => {
                let (c, _) = connector.connect().await?;
                self.open.fetch_add(1, Ordering::Relaxed);
                c
            }
        };
        Ok(Lease {
            pool: self,
            conn,
            returned: false,
            _permit: permit,
        })
    }

    /// Drops every idle connection (after a reconnect they may point at a dead server).
    pub(crate) fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            let n = idle.len();
            idle.clear();
            self.open.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Dedicated connections open now (idle or leased).
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

impl Lease<'_> {
    /// A handle to the leased connection.
    pub(crate) fn conn(&self) -> Conn {
        self.conn.clone()
    }

    /// Returns the connection to the pool for reuse.
    pub(crate) fn release(mut self) {
        if let Ok(mut idle) = self.pool.idle.lock() {
            idle.push(self.conn.clone());
            self.returned = true;
        }
    }

    /// Closes the connection (it failed or timed out; its state is unknown).
    pub(crate) fn discard(self) {}
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // Not released (failed, or the caller's future was cancelled by its deadline): the
        // connection may still have a reply in flight, so it is closed, not reused.
        if !self.returned {
            self.pool.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
