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
//!
//! What a socket holds here is kept small on purpose (a gateway holds thousands of idle
//! sockets): one queue for everything addressed to it (notified batches and the messages of
//! its runs, [`Delivery`]), and one [`Signal`] (a wake-up permit and a "logged out" flag)
//! instead of a watch channel, whose eight-way notifier alone is larger than both.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis_ssot::{PubSubEvent, RedisManager};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::keys;
use crate::notice::{self, Batch, Notice};

/// Batches queued per socket before it is woken to read the log instead.
const QUEUE: usize = 32;

/// Something for one socket to send.
#[derive(Debug)]
pub enum Delivery {
    /// Events one append wrote, as notified (shared by every socket of the user).
    Batch(Arc<Batch>),
    /// A message of one of this socket's runs (an error only it should see); boxed, so a
    /// queue slot is two words.
    Control(Box<Value>),
}

/// Where a run sends what only its socket should see.
#[derive(Debug, Clone)]
pub struct ControlSender(mpsc::Sender<Delivery>);

impl ControlSender {
    /// Queues `v` for the socket; `Err` once the socket is gone.
    pub async fn send(&self, v: Value) -> Result<(), Value> {
        self.0
            .send(Delivery::Control(Box::new(v)))
            .await
            .map_err(|e| match e.0 {
                Delivery::Control(v) => *v,
                Delivery::Batch(_) => Value::Null,
            })
    }
}

/// A socket's wake-up permit and its "logged out" flag, set together by the hub.
#[derive(Debug, Default)]
pub struct Signal {
    /// Woken when the user's log may have grown by more than the queued batches say, or
    /// when the session was logged out.
    pub wake: Notify,
    closed: AtomicBool,
}

impl Signal {
    /// Whether the socket's session was logged out.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

struct Slot {
    signal: Arc<Signal>,
    queue: mpsc::Sender<Delivery>,
    session: Arc<str>,
}

#[derive(Default)]
struct HubInner {
    sockets: Mutex<HashMap<Arc<str>, HashMap<u64, Slot>>>,
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
    user: Arc<str>,
    id: u64,
    /// Wake-ups and the logged-out flag.
    pub signal: Arc<Signal>,
    /// The user's appended events, as notified, and the messages of the socket's runs.
    pub queue: mpsc::Receiver<Delivery>,
    /// The sending side of `queue`, for the socket's runs.
    pub control: ControlSender,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.hub.with_sockets(|map| {
            if let Some(user) = map.get_mut(&*self.user) {
                user.remove(&self.id);
                if user.is_empty() {
                    map.remove(&*self.user);
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

    fn with_sockets<T>(
        &self,
        f: impl FnOnce(&mut HashMap<Arc<str>, HashMap<u64, Slot>>) -> T,
    ) -> T {
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
        let signal = Arc::new(Signal::default());
        let (queue, rx) = mpsc::channel(QUEUE);
        let session: Arc<str> = Arc::from(session);
        let user = self.with_sockets(|map| {
            let key = match map.get_key_value(user) {
                Some((k, _)) => k.clone(),
                None => Arc::from(user),
            };
            map.entry(key.clone()).or_default().insert(
                id,
                Slot {
                    signal: signal.clone(),
                    queue: queue.clone(),
                    session,
                },
            );
            key
        });
        metrics::gauge!(crate::metrics::WS_CONNECTIONS).increment(1.0);
        SocketGuard {
            hub: self.clone(),
            user,
            id,
            signal,
            queue: rx,
            control: ControlSender(queue),
        }
    }

    /// Wakes every socket of `user` on this instance.
    pub fn wake_user(&self, user: &str) {
        self.with_sockets(|map| {
            for slot in map.get(user).into_iter().flat_map(|m| m.values()) {
                slot.signal.wake.notify_one();
            }
        });
    }

    /// Queues `batch` to every socket of `user` on this instance (waking those whose queue is
    /// full, so they read the log instead).
    pub fn deliver_user(&self, user: &str, batch: &Arc<Batch>) {
        self.with_sockets(|map| {
            for slot in map.get(user).into_iter().flat_map(|m| m.values()) {
                if let Err(mpsc::error::TrySendError::Full(_)) =
                    slot.queue.try_send(Delivery::Batch(batch.clone()))
                {
                    slot.signal.wake.notify_one();
                }
            }
        });
    }

    /// Wakes every socket on this instance.
    pub fn wake_all(&self) {
        self.with_sockets(|map| {
            for slot in map.values().flat_map(|m| m.values()) {
                slot.signal.wake.notify_one();
            }
        });
    }

    /// Closes this instance's sockets of `user` opened with session `session`; returns how many.
    pub fn close_session(&self, user: &str, session: &str) -> usize {
        self.with_sockets(|map| {
            let mut closed = 0;
            for slot in map.get(user).into_iter().flat_map(|m| m.values()) {
                if &*slot.session == session {
                    slot.signal.closed.store(true, Ordering::Release);
                    slot.signal.wake.notify_one();
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
