//! [`Wire`]: the manager's own multiplexed connection for plain TCP and unix sockets.
//!
//! redis-rs's `MultiplexedConnection` sends every command as a message to a driver task, with
//! a boxed future, a packed buffer and a reply channel of its own, and decodes replies with a
//! parser combinator; measured with callgrind, that is most of what a client spends per
//! command. Here a caller encodes its command straight into the connection's shared write
//! buffer and queues its reply slot, under one lock, in the same order. Whoever finds no write
//! under way writes the whole buffer itself, at once (no task hop, no timer); callers arriving
//! meanwhile only append, so under load one `write` carries everything that accumulated: the
//! commands of concurrent callers leave as one packed pipeline, and a lone command leaves at
//! once. A reader task reads replies in chunks, finds their ends with a resumable scanner
//! ([`resp`]), and completes the queued slots in order.
//!
//! * **Order** is the protocol's: bytes and slots are appended under the same lock, so the
//!   n-th reply belongs to the n-th slot. A caller that gave up (its deadline passed) leaves
//!   its slot in the queue; the reply, when it comes, is dropped, and the ones after it still
//!   find their callers.
//! * **Failure**: a read or write error, the end of the stream, or a reply that is not RESP2
//!   fails every queued slot with that error and every later send at once, so the choke point
//!   asks the supervisor for a new connection.
//! * **Make before break**: when the last handle is dropped (the supervisor installed a new
//!   connection) the connection stays open until the replies already asked for have come, for
//!   at most [`LINGER`], so commands in flight on it finish there.
//!
//! TLS connections stay on redis-rs (with [`crate::coalesce`] in front), as do clusters.

mod io;
pub(crate) mod resp;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};
use tokio::sync::oneshot;

use crate::coalesce::BatchStats;
use crate::config::ServerAddr;
use crate::error::{Error, Result};

use io::{Core, Expect, Many, Stream};

/// How long a dropped connection waits for the replies still owed to it.
pub(crate) const LINGER: Duration = Duration::from_secs(5);

/// How to authenticate and which database to select, for the handshake.
#[derive(Clone, Default)]
pub(crate) struct Login {
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) db: i64,
}

/// A handle of one multiplexed connection (cheap to clone).
#[derive(Clone)]
pub struct Wire {
    shared: Arc<Shared>,
}

/// Closes the connection (after the owed replies) when the last handle goes.
struct Shared {
    core: Arc<Core>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.core.close(LINGER);
    }
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wire").finish_non_exhaustive()
    }
}

impl Wire {
    /// Connects to `addr` (TCP or unix socket) and runs the handshake: AUTH and SELECT as
    /// configured, and the client's name (`CLIENT SETINFO`, whose failure is ignored: older
    /// servers do not know it).
    pub(crate) async fn connect(
        addr: &ServerAddr,
        login: &Login,
        stats: Arc<BatchStats>,
    ) -> Result<Wire> {
        let stream = Stream::connect(addr).await?;
        let core = Arc::new(Core::new(stream, login.db, stats));
        io::start(&core);
        let wire = Wire {
            shared: Arc::new(Shared { core }),
        };
        wire.handshake(login).await?;
        Ok(wire)
    }

    async fn handshake(&self, login: &Login) -> Result<()> {
        let mut pipe = redis::pipe();
        if let Some(password) = &login.password {
            let auth = pipe.cmd("AUTH");
            if let Some(user) = &login.username {
                auth.arg(user);
            }
            auth.arg(password);
        }
        if login.db != 0 {
            pipe.cmd("SELECT").arg(login.db);
        }
        let checked = pipe.len();
        pipe.cmd("CLIENT")
            .arg("SETINFO")
            .arg("LIB-NAME")
            .arg("redis-ssot");
        let replies = self
            .send_pipeline(&pipe, 0, pipe.len())
            .await
            .map_err(Error::from)?;
        for reply in replies.into_iter().take(checked) {
            reply.extract_error().map_err(Error::from)?;
        }
        Ok(())
    }

    /// Queues one command (it may be written before this returns) and resolves to its reply.
    /// Error replies come back as `Ok(Value::ServerError)`, as from redis-rs.
    pub(crate) fn send(&self, cmd: &Cmd) -> Reply {
        let (tx, rx) = oneshot::channel();
        let queued = self
            .shared
            .core
            .submit(|buf| cmd.write_packed_command(buf), Expect::One(tx));
        Reply {
            refused: queued.err(),
            rx,
        }
    }

    /// Queues a pipeline and resolves to `count` of its replies from `offset` (the shape of
    /// `ConnectionLike::req_packed_commands`). A transaction whose queued commands were refused
    /// is an error naming them, as from redis-rs.
    pub(crate) fn send_pipeline(
        &self,
        pipeline: &Pipeline,
        offset: usize,
        count: usize,
    ) -> impl Future<Output = RedisResult<Vec<Value>>> + use<> {
        let (tx, rx) = oneshot::channel();
        let transaction = pipeline.is_transaction();
        let expect = Expect::Many(Box::new(Many::new(offset, count, transaction, tx)));
        let queued = self.shared.core.submit(
            |buf| {
                if transaction {
                    redis::cmd("MULTI").write_packed_command(buf);
                }
                for cmd in pipeline.cmd_iter() {
                    cmd.write_packed_command(buf);
                }
                if transaction {
                    redis::cmd("EXEC").write_packed_command(buf);
                }
            },
            expect,
        );
        async move {
            queued?;
            rx.await.unwrap_or_else(|_| Err(io::closed()))
        }
    }
}

/// The reply of one queued command (a named future, so the choke point's common path needs
/// no box).
pub(crate) struct Reply {
    /// Why the command could not even be queued (the connection is dead).
    refused: Option<redis::RedisError>,
    rx: oneshot::Receiver<RedisResult<Value>>,
}

impl Future for Reply {
    type Output = RedisResult<Value>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        if let Some(e) = self.refused.take() {
            return std::task::Poll::Ready(Err(e));
        }
        std::pin::Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(io::closed())))
    }
}

impl ConnectionLike for Wire {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(self.send(cmd))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(self.send_pipeline(pipeline, offset, count))
    }

    fn get_db(&self) -> i64 {
        self.shared.core.db()
    }
}

/// The state lock, recovered if a holder panicked (the state stays consistent: every
/// critical section either completes or changes nothing).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests;
