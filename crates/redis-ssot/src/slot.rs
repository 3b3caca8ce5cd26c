//! [`ConnSlot`]: the installed connection, its generation, its spare handles and the
//! dedicated pool, with the one install sequence; and the supervisor's inbox of requests.
//!
//! Every connection the supervisor installs gets a new generation. Requests about a
//! connection (replace it, check it, it is loading) name the generation they are about, so a
//! late error from an old connection can never make the supervisor replace a fresh one.
//! Installing drops the previous connection's spare handles and idle dedicated connections
//! (they may point at a dead server); commands in flight on the previous connection keep
//! their own handle and finish on it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwapOption;
use tokio::sync::{Notify, oneshot};

use crate::config::ServerAddr;
use crate::conn_cache::ConnCache;
use crate::connection::Conn;
use crate::error::Result;
use crate::pool::DedicatedPool;

/// The connection currently installed.
struct Installed {
    conn: Conn,
    generation: u64,
    addr: ServerAddr,
}

/// What somebody asked the supervisor to do, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// The connection is broken: drop it and connect again.
    Replace,
    /// The server answered LOADING: poll until it has loaded.
    Loading,
    /// Dial a new connection and swap it in, keeping the current one until then (an operator's
    /// `force_reconnect`, a changed cluster slot map).
    Swap,
    /// The connection may be dead: dial a new one; swap only if the new one answers.
    Check,
}

/// The one installed connection and everything whose life follows it.
pub(crate) struct ConnSlot {
    installed: ArcSwapOption<Installed>,
    spares: ConnCache,
    pool: DedicatedPool,
    last_generation: AtomicU64,
    inbox: Inbox,
}

/// Requests to the supervisor, per connection generation (0: none pending).
#[derive(Default)]
struct Inbox {
    replace: AtomicU64,
    loading: AtomicU64,
    check: AtomicU64,
    /// Swap requests, each with who waits for the outcome (`None`: nobody waits).
    swaps: Mutex<Vec<Option<oneshot::Sender<Result<()>>>>>,
    wakeup: Notify,
}

impl ConnSlot {
    pub(crate) fn new(pool_size: usize) -> ConnSlot {
        ConnSlot {
            installed: ArcSwapOption::empty(),
            spares: ConnCache::default(),
            pool: DedicatedPool::new(pool_size),
            last_generation: AtomicU64::new(0),
            inbox: Inbox::default(),
        }
    }

    /// Installs `conn` as the connection and returns its generation. The previous one's
    /// spare handles and idle dedicated connections are dropped.
    pub(crate) fn install(&self, conn: Conn, addr: ServerAddr) -> u64 {
        let generation = self.last_generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.installed.store(Some(std::sync::Arc::new(Installed {
            conn,
            generation,
            addr,
        })));
        self.spares.install(generation);
        self.pool.clear();
        generation
    }

    /// No connection is installed any more (it broke, or the manager shut down).
    pub(crate) fn clear(&self) {
        self.installed.store(None);
        self.spares.install(0);
        self.pool.clear();
    }

    /// A clone of the installed connection and its generation.
    #[inline]
    pub(crate) fn current(&self) -> Option<(Conn, u64)> {
        let guard = self.installed.load();
        guard.as_ref().map(|i| (i.conn.clone(), i.generation))
    }

    /// A handle of the installed connection: a spare one from this thread's shard when there
    /// is one (give it back with [`ConnSlot::put`]), else a fresh clone.
    #[inline]
    pub(crate) fn checkout(&self) -> Option<(Conn, u64)> {
        self.spares.take().or_else(|| self.current())
    }

    /// Gives back a handle of connection `generation` (dropped if that is not installed now).
    #[inline]
    pub(crate) fn put(&self, generation: u64, conn: Conn) {
        self.spares.put(generation, conn);
    }

    /// The installed connection's generation.
    pub(crate) fn generation(&self) -> Option<u64> {
        self.installed.load().as_ref().map(|i| i.generation)
    }

    /// The installed connection's server address.
    pub(crate) fn addr(&self) -> Option<ServerAddr> {
        self.installed.load().as_ref().map(|i| i.addr.clone())
    }

    /// The dedicated connections (blocking commands, WATCH).
    pub(crate) fn pool(&self) -> &DedicatedPool {
        &self.pool
    }

    /// Asks the supervisor to act on connection `generation`; `why` is logged once per
    /// generation and request. Returns whether this was a new request.
    pub(crate) fn request(&self, request: Request, generation: u64, why: &str) -> bool {
        let cell = match request {
            Request::Replace => &self.inbox.replace,
            Request::Loading => &self.inbox.loading,
            Request::Check => &self.inbox.check,
            Request::Swap => {
                self.request_swap(None);
                return true;
            }
        };
        let new = cell.fetch_max(generation, Ordering::AcqRel) < generation;
        if new {
            tracing::warn!(generation, reason = why, request = ?request, "redis connection");
            self.inbox.wakeup.notify_one();
        }
        new
    }

    /// Asks for a make-before-break swap; `done` hears how it went.
    pub(crate) fn request_swap(&self, done: Option<oneshot::Sender<Result<()>>>) {
        if let Ok(mut swaps) = self.inbox.swaps.lock() {
            swaps.push(done);
        }
        self.inbox.wakeup.notify_one();
    }

    /// The most urgent request for connection `generation`, taken out of the inbox (requests
    /// about older generations are dropped: that connection is gone). Swaps come with the
    /// senders of everyone waiting for them.
    pub(crate) fn take_request(&self, generation: u64) -> Option<(Request, Vec<Done>)> {
        let inbox = &self.inbox;
        if inbox.replace.load(Ordering::Acquire) >= generation {
            return Some((Request::Replace, Vec::new()));
        }
        if take_at(&inbox.loading, generation) {
            return Some((Request::Loading, Vec::new()));
        }
        let swaps: Vec<Done> = inbox
            .swaps
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        if !swaps.is_empty() {
            return Some((Request::Swap, swaps));
        }
        if take_at(&inbox.check, generation) {
            return Some((Request::Check, Vec::new()));
        }
        None
    }

    /// Whether somebody waits for a swap (left in the inbox).
    pub(crate) fn swap_pending(&self) -> bool {
        self.inbox
            .swaps
            .lock()
            .map(|s| !s.is_empty())
            .unwrap_or(false)
    }

    /// Whether connection `generation` was asked to be replaced.
    pub(crate) fn replace_requested(&self, generation: u64) -> bool {
        self.inbox.replace.load(Ordering::Acquire) >= generation
    }

    /// Resolves when a request may be waiting (check with [`ConnSlot::take_request`]).
    pub(crate) async fn requested(&self) {
        self.inbox.wakeup.notified().await
    }

    /// Wakes the supervisor without a request (shutdown).
    pub(crate) fn wake(&self) {
        self.inbox.wakeup.notify_one();
    }

    /// Everyone waiting for a swap when there is no connection to swap: they hear `error`.
    pub(crate) fn fail_swaps(&self, error: &crate::Error) {
        let swaps = self
            .inbox
            .swaps
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        answer(swaps, Err(error.clone()));
    }
}

/// Who waits for a swap.
pub(crate) type Done = Option<oneshot::Sender<Result<()>>>;

/// Tells everyone waiting for a swap how it went.
pub(crate) fn answer(waiting: Vec<Done>, outcome: Result<()>) {
    for tx in waiting.into_iter().flatten() {
        let _ = tx.send(outcome.clone());
    }
}

/// Takes a per-generation request: true if one is pending for exactly `generation`.
fn take_at(cell: &AtomicU64, generation: u64) -> bool {
    cell.compare_exchange(generation, 0, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}
