//! Coalescing: single commands issued on the shared connection while others are in flight go
//! to redis-rs together, as one packed pipeline.
//!
//! redis-rs sends each command as its own message to the connection's driver task, with its
//! own reply channel, its own boxed future and its own packed buffer; that per-command work,
//! not Redis, is what a client spends its CPU on. Here a command goes out on its own at once
//! while fewer than [`MAX_IN_FLIGHT`] sends are under way; past that it waits in a queue, and
//! whatever is queued leaves as one pipeline as soon as a send completes. So:
//!
//! * a lone command is never delayed: no timer, no extra task, one uncontended lock each way;
//! * under load the batch grows with the load (everything that arrived during one round trip),
//!   and each batch costs one redis-rs message, one write and one reply channel;
//! * every command still passes the choke point on its own (deadline, breaker, in-flight
//!   limit, metrics, error kind): a reply error in a pipeline comes back in its own slot, so it
//!   fails only its own command.
//!
//! A queued batch is sent by its first waiter (woken with [`Wake::Lead`] instead of a reply),
//! not by a task of its own. If that waiter is cancelled (its deadline passed, its caller went
//! away) while the batch is in flight, the batch is handed to a spawned task that finishes it
//! for the others. A waiter whose caller is gone by the time its batch is built is left out:
//! its caller already has its error.
//!
//! Only standalone and Sentinel connections coalesce; on a cluster a batch could mix slots, so
//! every command goes out on its own there.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Cmd, Value};
use tokio::sync::oneshot;

use crate::connection::Conn;
use crate::error::{ConnectionKind, Error, Result};
use crate::slot::ConnSlot;
use crate::state::ConnState;

/// Sends in flight at once before commands queue. One keeps a single batch in flight and
/// batches the most; more lets a few concurrent callers go without waiting for each other.
pub(crate) const MAX_IN_FLIGHT: usize = 2;

/// The coalescer's pipelines of more than one command, and the commands in them: for
/// `status()` and the bench.
#[derive(Debug, Default)]
pub(crate) struct BatchStats {
    batches: AtomicU64,
    commands: AtomicU64,
}

impl BatchStats {
    /// One write of `commands` commands (only counted when more than one).
    #[inline]
    pub(crate) fn wrote(&self, commands: usize) {
        if commands > 1 {
            self.batches.fetch_add(1, Ordering::Relaxed);
            self.commands.fetch_add(commands as u64, Ordering::Relaxed);
        }
    }

    /// Writes that carried several commands, and those commands.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.commands.load(Ordering::Relaxed),
        )
    }
}

/// Queued commands and the sends in flight.
pub(crate) struct Coalescer {
    state: Mutex<State>,
    stats: Arc<BatchStats>,
}

#[derive(Default)]
struct State {
    waiting: Vec<Waiting>,
    in_flight: usize,
}

/// A queued command and how to reach its caller.
struct Waiting {
    cmd: Cmd,
    tx: oneshot::Sender<Wake>,
}

/// A waiter whose command has gone into the pipeline.
struct Sending {
    tx: oneshot::Sender<Wake>,
}

/// What a queued caller is woken with.
enum Wake {
    /// Its reply (or the batch's failure).
    Reply(Result<Value>),
    /// Its turn to send: its own command and the others queued with it.
    Lead(Cmd, Vec<Waiting>),
}

/// A reply and the generation of the connection it came from.
pub(crate) type Sent = (Result<Value>, Option<u64>);

impl Coalescer {
    /// Sends `cmd` on the shared connection of `slot`, on its own or in a batch.
    pub(crate) async fn send(&self, slot: &ConnSlot, timeout: Duration, cmd: Cmd) -> Sent {
        let queued = {
            let mut st = self.lock();
            if st.in_flight < MAX_IN_FLIGHT && st.waiting.is_empty() {
                st.in_flight += 1;
                Err(cmd)
            } else {
                let (tx, rx) = oneshot::channel();
                st.waiting.push(Waiting { cmd, tx });
                Ok(rx)
            }
        };
        let rx = match queued {
            Ok(rx) => rx,
            Err(cmd) => {
                let turn = Turn(self);
                let sent = alone(slot, &cmd).await;
                drop(turn);
                return sent;
            }
        };
        match rx.await {
            Ok(Wake::Reply(r)) => (r, slot.generation()),
            // Boxed: the lead's state (a pipeline, the hand-off) would otherwise make every
            // command's future as big; a lead happens once per batch.
            Ok(Wake::Lead(own, others)) => {
                let turn = Turn(self);
                Box::pin(lead(slot, timeout, own, others, turn)).await
            }
            // The batch was dropped without an answer: only when the runtime shuts down.
            Err(_) => (Err(Error::Closed), None),
        }
    }

    /// A coalescer that counts its pipelines in `stats`.
    pub(crate) fn new(stats: Arc<BatchStats>) -> Coalescer {
        Coalescer {
            state: Mutex::new(State::default()),
            stats,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A send completed: the next batch (everything queued) leaves, led by its first waiter
    /// whose caller is still there.
    fn finish(&self) {
        let mut batch = {
            let mut st = self.lock();
            if st.waiting.is_empty() {
                st.in_flight -= 1;
                return;
            }
            std::mem::take(&mut st.waiting)
        };
        while !batch.is_empty() {
            // The first to arrive leads (the last takes its place: order within a batch of
            // concurrent callers carries no meaning, and this moves one entry, not all).
            let Waiting { cmd, tx } = batch.swap_remove(0);
            match tx.send(Wake::Lead(cmd, batch)) {
                Ok(()) => return,
                // That caller is gone; the next one leads.
                Err(Wake::Lead(_, back)) => batch = back,
                Err(Wake::Reply(_)) => break,
            }
        }
        self.lock().in_flight -= 1;
    }
}

/// One send in flight; finishing (or dropping) it lets the next batch go.
struct Turn<'a>(&'a Coalescer);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// A handle of the installed connection, or why there is none.
fn connection(slot: &ConnSlot) -> Result<(Conn, u64)> {
    slot.checkout().ok_or(Error::NotReady {
        state: ConnState::Reconnecting,
    })
}

/// One command on its own.
async fn alone(slot: &ConnSlot, cmd: &Cmd) -> Sent {
    let (mut conn, generation) = match connection(slot) {
        Ok(c) => c,
        Err(e) => return (Err(e), None),
    };
    let sent = conn.req_packed_command(cmd).await;
    slot.put(generation, conn);
    (sent.map_err(Error::from).and_then(reply), Some(generation))
}

/// The batch's I/O: its own future, so it can be handed to another task.
type Io = Pin<Box<dyn Future<Output = redis::RedisResult<Vec<Value>>> + Send>>;

/// Sends `own` and `others` as one pipeline and answers everyone; `own`'s reply is returned.
async fn lead(
    slot: &ConnSlot,
    timeout: Duration,
    own: Cmd,
    others: Vec<Waiting>,
    turn: Turn<'_>,
) -> Sent {
    let mut pipe = redis::Pipeline::with_capacity(others.len() + 1);
    pipe.add_command(own);
    let mut waiting = Vec::with_capacity(others.len());
    for w in others {
        if !w.tx.is_closed() {
            pipe.add_command(w.cmd);
            waiting.push(Sending { tx: w.tx });
        }
    }
    if waiting.is_empty() {
        let own = pipe
            .cmd_iter()
            .next()
            .cloned()
            .unwrap_or_else(|| redis::cmd("PING"));
        let sent = alone(slot, &own).await;
        drop(turn);
        return sent;
    }
    let (conn, generation) = match connection(slot) {
        Ok(c) => c,
        Err(e) => {
            answer(&mut waiting, &Err(e.clone()));
            drop(turn);
            return (Err(e), None);
        }
    };
    let count = waiting.len() + 1;
    turn.0.stats.wrote(count);
    let io: Io = Box::pin(async move {
        let mut conn = conn;
        conn.req_packed_commands(&pipe, 0, count).await
    });
    let mut handoff = Handoff {
        io: Some(io),
        others: waiting,
        timeout,
    };
    let replies = handoff.io.as_mut().expect("set above").await;
    handoff.io = None;
    let own = handoff.deliver(replies);
    drop(turn);
    (own, Some(generation))
}

/// A batch being sent by its leader; dropped before the replies came (the leader was
/// cancelled), it finishes in a task of its own.
struct Handoff {
    io: Option<Io>,
    others: Vec<Sending>,
    timeout: Duration,
}

impl Handoff {
    /// Answers the others; returns the leader's reply.
    fn deliver(&mut self, replies: redis::RedisResult<Vec<Value>>) -> Result<Value> {
        match replies {
            Ok(values) if values.len() == self.others.len() + 1 => {
                let mut values = values.into_iter();
                let own = values.next().map(reply).unwrap_or(Err(Error::Closed));
                for (w, v) in std::mem::take(&mut self.others).into_iter().zip(values) {
                    let _ = w.tx.send(Wake::Reply(reply(v)));
                }
                own
            }
            Ok(values) => {
                let e = Error::connection(
                    ConnectionKind::Protocol,
                    format!(
                        "a pipeline of {} commands got {} replies",
                        self.others.len() + 1,
                        values.len()
                    ),
                );
                answer(&mut self.others, &Err(e.clone()));
                Err(e)
            }
            Err(e) => {
                let e = Error::from(e);
                answer(&mut self.others, &Err(e.clone()));
                Err(e)
            }
        }
    }
}

impl Drop for Handoff {
    fn drop(&mut self) {
        let Some(io) = self.io.take() else {
            return;
        };
        let mut rest = Handoff {
            io: None,
            others: std::mem::take(&mut self.others),
            timeout: self.timeout,
        };
        let timeout = self.timeout;
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let replies = match tokio::time::timeout(timeout, io).await {
                    Ok(r) => r,
                    Err(_) => Err(redis::RedisError::from(std::io::Error::from(
                        std::io::ErrorKind::TimedOut,
                    ))),
                };
                let _ = rest.deliver(replies);
            });
        }
    }
}

/// One slot of a pipeline's replies as one command's result (an error reply fails only it).
fn reply(v: Value) -> Result<Value> {
    v.extract_error().map_err(Error::from)
}

fn answer(others: &mut Vec<Sending>, outcome: &Result<Value>) {
    for w in others.drain(..) {
        let _ = w.tx.send(Wake::Reply(outcome.clone()));
    }
}

#[cfg(test)]
mod tests;
