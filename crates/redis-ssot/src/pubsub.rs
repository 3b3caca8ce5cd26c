//! Pub/sub that survives reconnects.
//!
//! A subscription owns a dedicated pub/sub connection (pub/sub mode takes a connection over, so
//! it cannot be the shared one). A background task follows the manager's state: when the
//! connection is lost it waits for the manager to be ready again, reconnects, subscribes to the
//! same channels and patterns, and then sends [`PubSubEvent::Gap`]: Redis pub/sub is
//! fire-and-forget, so whatever was published in between is gone, and the subscriber is told
//! rather than left to guess. Dropping the [`Subscription`] stops the task.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::manager::RedisManager;
use crate::state::ConnState;

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubSubEvent {
    /// A published message.
    Message {
        /// The channel it was published on.
        channel: String,
        /// The payload bytes.
        payload: Vec<u8>,
    },
    /// The subscription was re-established after a connection loss; messages published
    /// during the loss may have been missed.
    Gap,
}

/// A live subscription; receive with [`Subscription::recv`].
pub struct Subscription {
    rx: mpsc::Receiver<PubSubEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Subscription {
    /// The next event, or `None` once the manager has shut down.
    pub async fn recv(&mut self) -> Option<PubSubEvent> {
        self.rx.recv().await
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RedisManager {
    /// Subscribes to `channels` and `patterns` (PSUBSCRIBE) and returns at once; the first
    /// connection is made in the background, once the manager is ready. Use
    /// [`RedisManager::subscribe_ready`] to wait until the server has confirmed it.
    pub fn subscribe(&self, channels: &[&str], patterns: &[&str]) -> Result<Subscription> {
        self.start_subscription(channels, patterns, None)
    }

    /// Like [`RedisManager::subscribe`], but returns only after the server confirmed the
    /// subscription, so a message published afterwards is guaranteed to be delivered.
    pub async fn subscribe_ready(
        &self,
        channels: &[&str],
        patterns: &[&str],
        timeout: Duration,
    ) -> Result<Subscription> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sub = self.start_subscription(channels, patterns, Some(tx))?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(())) => Ok(sub),
            _ => Err(Error::Timeout {
                op: "SUBSCRIBE",
                after: timeout,
            }),
        }
    }

    fn start_subscription(
        &self,
        channels: &[&str],
        patterns: &[&str],
        confirmed: Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Result<Subscription> {
        if channels.is_empty() && patterns.is_empty() {
            return Err(Error::InvalidKey(
                "subscribe needs a channel or a pattern".into(),
            ));
        }
        for c in channels.iter().chain(patterns) {
            crate::commands::check_key(c)?;
        }
        let (tx, rx) = mpsc::channel(1024);
        let mgr = self.clone_weak();
        let channels: Vec<String> = channels.iter().map(|s| s.to_string()).collect();
        let patterns: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        let task = tokio::spawn(follow(mgr, channels, patterns, tx, confirmed));
        Ok(Subscription { rx, task })
    }

    /// A handle that does not keep the manager alive (for background tasks).
    fn clone_weak(&self) -> RedisManager {
        RedisManager::from_inner(self.inner.clone())
    }
}

async fn follow(
    mgr: RedisManager,
    channels: Vec<String>,
    patterns: Vec<String>,
    tx: mpsc::Sender<PubSubEvent>,
    mut confirmed: Option<tokio::sync::oneshot::Sender<()>>,
) {
    let mut state = mgr.watch_state();
    let mut backoff = Backoff::new(mgr.inner.config.backoff_base, mgr.inner.config.backoff_cap);
    let mut subscribed_before = false;
    loop {
        if state
            .wait_for(|s| matches!(s, ConnState::Ready | ConnState::Closed))
            .await
            .is_err()
            || mgr.state() == ConnState::Closed
        {
            return;
        }
        let Some(addr) = mgr.current_addr() else {
            tokio::time::sleep(backoff.next_delay()).await;
            continue;
        };
        let attempt = async {
            let mut ps = mgr.inner.connector.pubsub(&addr).await?;
            for c in &channels {
                ps.subscribe(c).await?;
            }
            for p in &patterns {
                ps.psubscribe(p).await?;
            }
            Ok::<_, Error>(ps)
        };
        let ps = match tokio::time::timeout(mgr.inner.config.connect_timeout, attempt).await {
            Ok(Ok(ps)) => ps,
            Ok(Err(e)) => {
                tracing::warn!(error = %mgr.inner.redact(e.to_string()), "resubscribe failed");
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
            Err(_) => {
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        backoff.reset();
        if let Some(c) = confirmed.take() {
            let _ = c.send(());
        }
        if subscribed_before && tx.send(PubSubEvent::Gap).await.is_err() {
            return;
        }
        subscribed_before = true;
        let mut messages = ps.into_on_message();
        while let Some(msg) = messages.next().await {
            let event = PubSubEvent::Message {
                channel: msg.get_channel_name().to_string(),
                payload: msg.get_payload_bytes().to_vec(),
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
        tracing::warn!("pub/sub connection lost; resubscribing");
        tokio::time::sleep(backoff.next_delay()).await;
    }
}
