//! The connection state machine's states, shared by the supervisor, the choke point and
//! `status()`.
//!
//! The authoritative value lives in a `tokio::sync::watch` channel so that anyone can await a
//! change (`wait_ready`, the gateway's readiness probe). The hot path reads an atomic mirror
//! instead, because borrowing a `watch` takes a lock and every command checks readiness.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

/// Where the manager's shared connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnState {
    /// Never connected yet; the first attempt is under way.
    Connecting,
    /// A connection is installed and serving commands.
    Ready,
    /// The connection was lost or is being replaced; the supervisor is retrying.
    Reconnecting,
    /// `shutdown()` ran; nothing will be sent again.
    Closed,
}

impl ConnState {
    fn to_u8(self) -> u8 {
        match self {
            ConnState::Connecting => 0,
            ConnState::Ready => 1,
            ConnState::Reconnecting => 2,
            ConnState::Closed => 3,
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => ConnState::Connecting,
            1 => ConnState::Ready,
            2 => ConnState::Reconnecting,
            _ => ConnState::Closed,
        }
    }

    /// The gauge value exported as `db.client.connection.state`.
    pub fn gauge_value(self) -> f64 {
        f64::from(self.to_u8())
    }
}

impl fmt::Display for ConnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnState::Connecting => "connecting",
            ConnState::Ready => "ready",
            ConnState::Reconnecting => "reconnecting",
            ConnState::Closed => "closed",
        })
    }
}

/// The state, published twice: a `watch` for waiters and an atomic for the hot path.
#[derive(Debug)]
pub(crate) struct StateCell {
    fast: AtomicU8,
    tx: tokio::sync::watch::Sender<ConnState>,
}

impl StateCell {
    pub(crate) fn new() -> Self {
        let (tx, _rx) = tokio::sync::watch::channel(ConnState::Connecting);
        StateCell {
            fast: AtomicU8::new(ConnState::Connecting.to_u8()),
            tx,
        }
    }

    /// Current state from the atomic mirror (no lock).
    #[inline]
    pub(crate) fn get(&self) -> ConnState {
        ConnState::from_u8(self.fast.load(Ordering::Acquire))
    }

    /// Publishes a new state. `Closed` is final: later sets are ignored.
    pub(crate) fn set(&self, state: ConnState) {
        if self.get() == ConnState::Closed {
            return;
        }
        self.fast.store(state.to_u8(), Ordering::Release);
        self.tx.send_replace(state);
        metrics::gauge!("db.client.connection.state").set(state.gauge_value());
    }

    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<ConnState> {
        self.tx.subscribe()
    }
}
