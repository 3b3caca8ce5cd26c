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
    /// Connected, but the server is loading its dataset (after a restart or a full resync)
    /// and answers `LOADING`; the supervisor polls it until it has loaded.
    Loading,
    /// `shutdown()` ran; nothing will be sent again.
    Closed,
}

impl ConnState {
    /// Every state, in gauge order.
    pub const ALL: [ConnState; 5] = [
        ConnState::Connecting,
        ConnState::Ready,
        ConnState::Reconnecting,
        ConnState::Loading,
        ConnState::Closed,
    ];

    fn to_u8(self) -> u8 {
        match self {
            ConnState::Connecting => 0,
            ConnState::Ready => 1,
            ConnState::Reconnecting => 2,
            ConnState::Loading => 3,
            ConnState::Closed => 4,
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => ConnState::Connecting,
            1 => ConnState::Ready,
            2 => ConnState::Reconnecting,
            3 => ConnState::Loading,
            _ => ConnState::Closed,
        }
    }

    /// The label used in metrics and `status()`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Ready => "ready",
            ConnState::Reconnecting => "reconnecting",
            ConnState::Loading => "loading",
            ConnState::Closed => "closed",
        }
    }
}

impl fmt::Display for ConnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
        crate::metrics::set_connection_state(ConnState::Connecting);
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

    /// Publishes a new state (setting the current one again publishes nothing). `Closed` is
    /// final: later sets are ignored.
    pub(crate) fn set(&self, state: ConnState) {
        if self.get() == ConnState::Closed {
            return;
        }
        let before = self.fast.swap(state.to_u8(), Ordering::AcqRel);
        if before == state.to_u8() {
            return;
        }
        self.tx.send_replace(state);
        crate::metrics::set_connection_state(state);
    }

    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<ConnState> {
        self.tx.subscribe()
    }
}
