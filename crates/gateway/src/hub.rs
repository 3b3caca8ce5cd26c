//! The hub: this instance's open sockets, fed by one pub/sub subscription.
//!
//! Every gateway instance subscribes once to `chat:notify:*`. A notification names a user
//! and is one of the [`Notice`]s: the events an append just wrote, "close this session's
//! sockets" (sent by logout on any instance), or a bare "look again". A batch of events is
//! parsed once here and queued, shared, to every socket of the user; the socket sends it only
//! if it starts right after its cursor (see [`crate::notice`]). "Look again" is a [`Notify`]
//! permit, not a message: the socket then reads the log from its own cursor, so a lost, late
//! or repeated notification can neither duplicate nor drop an event. A socket whose queue is
//! full is woken instead of queued (it will read the log), and when the subscription had a
//! gap (Redis reconnect), every socket is woken to catch up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis_ssot::{PubSubEvent, RedisManager};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::keys;
use crate::notice::{self, Batch, Notice};

/// Batches queued per socket before it is woken to read the log instead.
const QUEUE: usize = 32;

struct Slot {
    wake: Arc<Notify>,
    batches: mpsc::Sender<Arc<Batch>>,
    session: String,
    close: watch::Sender<bool>,
}

#[derive(Default)]
struct HubInner {
    sockets: Mutex<HashMap<String, HashMap<u64, Slot>>>,
    next_id: AtomicU64,
    subscribed: AtomicBool,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for HubInner {
    fn drop(&mut self) {
        if let Ok(mut t) = self.task.lock()
            && let Some(task) = t.take()
        {
            task.abort();
        }
    }
}

/// This instance's registry of open sockets (cheap to clone).
#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<HubInner>,
}

/// A registered socket; dropping it unregisters.
pub struct SocketGuard {
    hub: Hub,
    user: String,
    id: u64,
    /// Woken when the user's log may have grown by more than the queued batches say.
    pub wake: Arc<Notify>,
    /// The user's appended events, as notified.
    pub batches: mpsc::Receiver<Arc<Batch>>,
    /// Becomes `true` when the socket's session was logged out.
    pub closed: watch::Receiver<bool>,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.hub.with_sockets(|map| {
            if let Some(user) = map.get_mut(&self.user) {
                user.remove(&self.id);
                if user.is_empty() {
                    map.remove(&self.user);
                }
            }
        });
        metrics::gauge!(crate::metrics::WS_CONNECTIONS).decrement(1.0);
    }
}

impl Hub {
    /// Starts the instance-wide subscription in the background.
    pub fn start(manager: RedisManager) -> Hub {
        let hub = Hub::default();
        let weak = Arc::downgrade(&hub.inner);
        let task = tokio::spawn(follow(manager, weak));
        if let Ok(mut t) = hub.inner.task.lock() {
            *t = Some(task);
        }
        hub
    }

    fn with_sockets<T>(&self, f: impl FnOnce(&mut HashMap<String, HashMap<u64, Slot>>) -> T) -> T {
        let mut guard = self
            .inner
            .sockets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Whether the subscription has been confirmed at least once. Before that, a socket could
    /// miss its first notifications, so the upgrade gate waits for it.
    pub fn is_subscribed(&self) -> bool {
        self.inner.subscribed.load(Ordering::Acquire)
    }

    /// Registers a socket of `user` opened with the session whose token fingerprint is
    /// `session`.
    pub fn register(&self, user: &str, session: &str) -> SocketGuard {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let wake = Arc::new(Notify::new());
        let (close, closed) = watch::channel(false);
        let (queue, batches) = mpsc::channel(QUEUE);
        self.with_sockets(|map| {
            map.entry(user.to_string()).or_default().insert(
                id,
                Slot {
                    wake: wake.clone(),
                    batches: queue,
                    session: session.to_string(),
                    close,
                },
            );
        });
        metrics::gauge!(crate::metrics::WS_CONNECTIONS).increment(1.0);
        SocketGuard {
            hub: self.clone(),
            user: user.to_string(),
            id,
            wake,
            batches,
            closed,
        }
    }

    /// Wakes every socket of `user` on this instance.
    pub fn wake_user(&self, user: &str) {
        self.with_sockets(|map| {
            for slot in map.get(user).into_iter().flat_map(|m| m.values()) {
                slot.wake.notify_one();
            }
        });
    }

    /// Queues `batch` to every socket of `user` on this instance (waking those whose queue is
    /// full, so they read the log instead).
    pub fn deliver_user(&self, user: &str, batch: &Arc<Batch>) {
        self.with_sockets(|map| {
            for slot in map.get(user).into_iter().flat_map(|m| m.values()) {
                if let Err(mpsc::error::TrySendError::Full(_)) =
                    slot.batches.try_send(batch.clone())
                {
                    slot.wake.notify_one();
                }
            }
        });
    }

    /// Wakes every socket on this instance.
    pub fn wake_all(&self) {
        self.with_sockets(|map| {
            for slot in map.values().flat_map(|m| m.values()) {
                slot.wake.notify_one();
            }
        });
    }

    /// Closes this instance's sockets of `user` opened with session `session`; returns how many.
    pub fn close_session(&self, user: &str, session: &str) -> usize {
        self.with_sockets(|map| {
            let mut closed = 0;
            for slot in map.get(user).into_iter().flat_map(|m| m.values()) {
                if slot.session == session {
                    slot.close.send_replace(true);
                    closed += 1;
                }
            }
            closed
        })
    }

    /// Open sockets on this instance.
    pub fn socket_count(&self) -> usize {
        self.with_sockets(|map| map.values().map(HashMap::len).sum())
    }

    fn dispatch(&self, channel: &str, payload: &[u8]) {
        let Some(user) = keys::user_of_channel(channel) else {
            return;
        };
        // Most users have no socket on a given instance: do not parse their batches.
        if !payload.starts_with(b"x:") && !self.with_sockets(|map| map.contains_key(user)) {
            return;
        }
        match notice::parse(payload) {
            Notice::Close(session) => {
                self.close_session(user, &session);
            }
            Notice::Batch(batch) => self.deliver_user(user, &batch),
            Notice::Wake => self.wake_user(user),
        }
    }
}

async fn follow(manager: RedisManager, hub: Weak<HubInner>) {
    let mut sub = loop {
        match manager
            .subscribe_ready(&[], &[keys::NOTIFY_PATTERN], Duration::from_secs(5))
            .await
        {
            Ok(sub) => break sub,
            Err(e) => {
                tracing::debug!(error = %e, "notification subscription not ready yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let upgrade = || hub.upgrade().map(|inner| Hub { inner });
    match upgrade() {
        Some(h) => {
            h.inner.subscribed.store(true, Ordering::Release);
            h.wake_all();
        }
        None => return,
    }
    tracing::info!("subscribed to {}", keys::NOTIFY_PATTERN);
    while let Some(event) = sub.recv().await {
        let Some(h) = upgrade() else { return };
        match event {
            PubSubEvent::Message { channel, payload } => h.dispatch(&channel, &payload),
            PubSubEvent::Gap => {
                tracing::info!("notification gap after a reconnect; waking every socket");
                h.wake_all();
            }
        }
    }
}
