//! Pub/sub whose channels and patterns change while it runs, on one dedicated connection.
//!
//! [`RedisManager::subscribe`](crate::RedisManager::subscribe) fixes its channels when it is
//! made; a caller that subscribes and unsubscribes as it goes (redis-py's `PubSub`, a gateway
//! following the users it serves) would need one connection per change. A
//! [`DynamicSubscription`] keeps one connection for any number of channels and patterns, says
//! which pattern a message matched, and follows readiness like the fixed kind: when its
//! connection is lost it waits for the manager to be ready, reconnects, subscribes to the
//! same channels and patterns, and then delivers exactly one [`PubSubMessage::Gap`].
//!
//! Subscribing is a command: while the manager cannot serve it (not ready, or the connection
//! cannot be made) it fails with the outage's error kind rather than queueing silently.
//! Unsubscribing never needs the server to be up.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::manager::RedisManager;
use crate::state::ConnState;

/// What a [`DynamicSubscription`] receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubSubMessage {
    /// A published message.
    Message {
        /// The channel it was published on.
        channel: Vec<u8>,
        /// The pattern it matched, for a pattern subscription.
        pattern: Option<Vec<u8>>,
        /// The payload.
        payload: Vec<u8>,
    },
    /// The connection was lost and every channel and pattern subscribed again; messages
    /// published in between may be missing.
    Gap,
}

enum Control {
    Subscribe {
        names: Vec<Vec<u8>>,
        pattern: bool,
        reply: oneshot::Sender<Result<usize>>,
    },
    Unsubscribe {
        /// Empty: all of this kind.
        names: Vec<Vec<u8>>,
        pattern: bool,
        reply: oneshot::Sender<Result<usize>>,
    },
}

/// Changes the channels of a [`DynamicSubscription`]; cheap to clone, usable while another
/// task waits in [`DynamicSubscription::recv`].
#[derive(Debug, Clone)]
pub struct PubSubControl {
    tx: mpsc::UnboundedSender<Control>,
}

impl PubSubControl {
    async fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<usize>>) -> Control,
    ) -> Result<usize> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Subscribes to `channels`; returns once the server confirmed, with the number of
    /// channels and patterns now subscribed.
    pub async fn subscribe(&self, channels: &[&[u8]]) -> Result<usize> {
        let names = checked(channels)?;
        self.ask(|reply| Control::Subscribe {
            names,
            pattern: false,
            reply,
        })
        .await
    }

    /// Subscribes to `patterns` (PSUBSCRIBE), as [`PubSubControl::subscribe`].
    pub async fn psubscribe(&self, patterns: &[&[u8]]) -> Result<usize> {
        let names = checked(patterns)?;
        self.ask(|reply| Control::Subscribe {
            names,
            pattern: true,
            reply,
        })
        .await
    }

    /// Unsubscribes from `channels` (all channels when empty); returns how many channels and
    /// patterns are left.
    pub async fn unsubscribe(&self, channels: &[&[u8]]) -> Result<usize> {
        let names = channels.iter().map(|c| c.to_vec()).collect();
        self.ask(|reply| Control::Unsubscribe {
            names,
            pattern: false,
            reply,
        })
        .await
    }

    /// Unsubscribes from `patterns` (all patterns when empty), as
    /// [`PubSubControl::unsubscribe`].
    pub async fn punsubscribe(&self, patterns: &[&[u8]]) -> Result<usize> {
        let names = patterns.iter().map(|c| c.to_vec()).collect();
        self.ask(|reply| Control::Unsubscribe {
            names,
            pattern: true,
            reply,
        })
        .await
    }
}

fn checked(names: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
    if names.is_empty() {
        return Err(Error::InvalidKey(
            "subscribe needs a channel or a pattern".into(),
        ));
    }
    for n in names {
        if n.len() > crate::commands::MAX_KEY_LEN {
            return Err(Error::InvalidKey(format!(
                "channel name of {} bytes is too long",
                n.len()
            )));
        }
    }
    Ok(names.iter().map(|n| n.to_vec()).collect())
}

/// A subscription whose channels change as it runs (see the module docs). Dropping it
/// closes its connection.
pub struct DynamicSubscription {
    control: PubSubControl,
    rx: mpsc::Receiver<PubSubMessage>,
    task: tokio::task::JoinHandle<()>,
}

impl DynamicSubscription {
    /// A handle that changes the channels (while another task waits in `recv`).
    pub fn control(&self) -> PubSubControl {
        self.control.clone()
    }

    /// The next message, or `None` once the manager has shut down.
    pub async fn recv(&mut self) -> Option<PubSubMessage> {
        self.rx.recv().await
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Option<PubSubMessage> {
        self.rx.try_recv().ok()
    }
}

impl Drop for DynamicSubscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RedisManager {
    /// A subscription with no channels yet; add them with its [`PubSubControl`]. Opens no
    /// connection until the first subscribe. Must be called inside the manager's runtime.
    pub fn dynamic_subscription(&self) -> DynamicSubscription {
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let (tx, rx) = mpsc::channel(1024);
        let mgr = RedisManager::from_inner(self.inner.clone());
        let mut stop = self.inner.lifecycle.subscribe();
        let task = tokio::spawn(async move {
            // Ends with the manager: its connection closes, `recv` returns `None` and every
            // later change is `Err(Closed)`.
            tokio::select! {
                biased;
                _ = stop.wait_for(|stopping| *stopping) => {}
                _ = follow(mgr, ctl_rx, tx) => {}
            }
        });
        DynamicSubscription {
            control: PubSubControl { tx: ctl_tx },
            rx,
            task,
        }
    }
}

#[derive(Default)]
struct Wanted {
    channels: BTreeSet<Vec<u8>>,
    patterns: BTreeSet<Vec<u8>>,
}

impl Wanted {
    fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    fn set(&mut self, pattern: bool) -> &mut BTreeSet<Vec<u8>> {
        if pattern {
            &mut self.patterns
        } else {
            &mut self.channels
        }
    }

    /// Removes `names` (all of the kind when empty) and returns them.
    fn remove(&mut self, names: Vec<Vec<u8>>, pattern: bool) -> Vec<Vec<u8>> {
        let set = self.set(pattern);
        if names.is_empty() {
            return std::mem::take(set).into_iter().collect();
        }
        names.into_iter().filter(|n| set.remove(n)).collect()
    }
}

async fn follow(
    mgr: RedisManager,
    mut control: mpsc::UnboundedReceiver<Control>,
    tx: mpsc::Sender<PubSubMessage>,
) {
    let mut wanted = Wanted::default();
    let mut backoff = Backoff::new(mgr.inner.config.backoff_base, mgr.inner.config.backoff_cap);
    let mut pending: Option<Control> = None;
    let mut connected_before = false;
    loop {
        // Nothing to listen to: hold no connection until somebody subscribes.
        if wanted.count() == 0 && pending.is_none() {
            match control.recv().await {
                Some(c) => pending = Some(c),
                None => return,
            }
        }
        if matches!(pending, Some(Control::Unsubscribe { .. }))
            && let Some(Control::Unsubscribe {
                names,
                pattern,
                reply,
            }) = pending.take()
        {
            wanted.remove(names, pattern);
            let _ = reply.send(Ok(wanted.count()));
            continue;
        }
        let state = mgr.state();
        if state == ConnState::Closed {
            refuse(pending.take(), Error::Closed);
            return;
        }
        let addr = match (state, mgr.current_addr()) {
            (ConnState::Ready, Some(addr)) => addr,
            (state, _) => {
                // Not servable now: a subscribe fails at once; a resubscription waits.
                refuse(pending.take(), Error::NotReady { state });
                let mut states = mgr.watch_state();
                tokio::select! {
                    _ = states.wait_for(|s| matches!(s, ConnState::Ready | ConnState::Closed)) => {}
                    c = control.recv() => match c { Some(c) => pending = Some(c), None => return },
                }
                continue;
            }
        };
        let connect = async {
            let mut ps = mgr.inner.connector.pubsub(&addr).await?;
            if !wanted.channels.is_empty() {
                ps.subscribe(wanted.channels.iter().collect::<Vec<_>>())
                    .await?;
            }
            if !wanted.patterns.is_empty() {
                ps.psubscribe(wanted.patterns.iter().collect::<Vec<_>>())
                    .await?;
            }
            Ok::<_, Error>(ps)
        };
        let ps = match tokio::time::timeout(mgr.inner.config.connect_timeout, connect).await {
            Ok(Ok(ps)) => ps,
            Ok(Err(e)) => {
                tracing::warn!(error = %mgr.inner.redact(e.to_string()), "pub/sub connect failed");
                refuse(pending.take(), e);
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
            Err(_) => {
                refuse(
                    pending.take(),
                    Error::Timeout {
                        op: "SUBSCRIBE",
                        after: mgr.inner.config.connect_timeout,
                    },
                );
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        backoff.reset();
        if connected_before && wanted.count() > 0 && tx.send(PubSubMessage::Gap).await.is_err() {
            return;
        }
        connected_before = true;
        let (mut sink, mut stream) = ps.split();
        let deadline = mgr.inner.config.command_timeout;
        loop {
            if let Some(c) = pending.take() {
                // A change asked for as the manager shuts down is refused as closed, not
                // with whatever error the closing connection gives.
                if mgr.state() == ConnState::Closed {
                    refuse(Some(c), Error::Closed);
                    return;
                }
                if !apply(&mut sink, &mut wanted, c, deadline).await {
                    break;
                }
                continue;
            }
            tokio::select! {
                c = control.recv() => match c {
                    Some(c) => pending = Some(c),
                    None => return,
                },
                msg = stream.next() => match msg {
                    Some(msg) => {
                        let message = PubSubMessage::Message {
                            channel: msg.get_channel::<Vec<u8>>().unwrap_or_default(),
                            pattern: msg.get_pattern::<Option<Vec<u8>>>().unwrap_or_default(),
                            payload: msg.get_payload_bytes().to_vec(),
                        };
                        if tx.send(message).await.is_err() {
                            return;
                        }
                    }
                    None => break,
                },
            }
        }
        if wanted.count() > 0 {
            tracing::warn!("pub/sub connection lost; resubscribing");
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
}

fn refuse(pending: Option<Control>, err: Error) {
    match pending {
        Some(Control::Subscribe { reply, .. }) | Some(Control::Unsubscribe { reply, .. }) => {
            let _ = reply.send(Err(err));
        }
        None => {}
    }
}

/// Applies one change on the live connection; false when the connection failed (the change
/// is then refused, or for an unsubscribe done locally, and the caller reconnects).
async fn apply(
    sink: &mut redis::aio::PubSubSink,
    wanted: &mut Wanted,
    c: Control,
    deadline: Duration,
) -> bool {
    let timed_out = |op| Error::Timeout {
        op,
        after: deadline,
    };
    match c {
        Control::Subscribe {
            names,
            pattern,
            reply,
        } => {
            let fresh: Vec<&Vec<u8>> = names
                .iter()
                .filter(|n| !wanted.set(pattern).contains(*n))
                .collect();
            let sent = if fresh.is_empty() {
                Ok(Ok(()))
            } else if pattern {
                tokio::time::timeout(deadline, sink.psubscribe(fresh)).await
            } else {
                tokio::time::timeout(deadline, sink.subscribe(fresh)).await
            };
            match sent {
                Ok(Ok(())) => {
                    wanted.set(pattern).extend(names);
                    let _ = reply.send(Ok(wanted.count()));
                    true
                }
                Ok(Err(e)) => {
                    let _ = reply.send(Err(Error::from(e)));
                    false
                }
                Err(_) => {
                    let _ = reply.send(Err(timed_out(if pattern {
                        "PSUBSCRIBE"
                    } else {
                        "SUBSCRIBE"
                    })));
                    false
                }
            }
        }
        Control::Unsubscribe {
            names,
            pattern,
            reply,
        } => {
            let gone = wanted.remove(names, pattern);
            let count = wanted.count();
            if gone.is_empty() {
                let _ = reply.send(Ok(count));
                return true;
            }
            let sent = if pattern {
                tokio::time::timeout(deadline, sink.punsubscribe(&gone)).await
            } else {
                tokio::time::timeout(deadline, sink.unsubscribe(&gone)).await
            };
            // Forgotten locally either way: a reconnect will not subscribe them again.
            let _ = reply.send(Ok(count));
            matches!(sent, Ok(Ok(())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Wanted;

    #[test]
    fn unsubscribing_with_no_names_removes_every_name_of_that_kind_only() {
        let mut w = Wanted::default();
        w.set(false).extend([b"a".to_vec(), b"b".to_vec()]);
        w.set(true).insert(b"p*".to_vec());
        assert_eq!(
            w.remove(Vec::new(), false),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(w.count(), 1);
        assert_eq!(
            w.remove(vec![b"nope".to_vec(), b"p*".to_vec()], true),
            vec![b"p*".to_vec()]
        );
        assert_eq!(w.count(), 0);
    }
}
