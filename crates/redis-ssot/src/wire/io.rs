//! The socket side of [`super::Wire`]: the shared write buffer and reply queue, the combining
//! write, and the reader and writer tasks.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::{RedisError, RedisResult, Value};
use tokio::sync::{Notify, oneshot};

use super::lock;
use super::resp::{self, Scanner};
use crate::coalesce::BatchStats;
use crate::config::ServerAddr;
use crate::error::{ConnectionKind, Error, Result};

/// The socket, shared by the reader task and every writer (tokio sockets read and write
/// through `&self`).
pub(super) enum Stream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

impl Stream {
    pub(super) async fn connect(addr: &ServerAddr) -> Result<Stream> {
        let connected = match addr {
            ServerAddr::Tcp { host, port } => {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), *port)).await;
                tcp.and_then(|s| {
                    // Replies are latency-bound and writes are already coalesced.
                    s.set_nodelay(true)?;
                    Ok(Stream::Tcp(s))
                })
            }
            ServerAddr::Unix(path) => tokio::net::UnixStream::connect(path)
                .await
                .map(Stream::Unix),
        };
        connected.map_err(|e| Error::from(RedisError::from(e)))
    }

    async fn readable(&self) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.readable().await,
            Stream::Unix(s) => s.readable().await,
        }
    }

    async fn writable(&self) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.writable().await,
            Stream::Unix(s) => s.writable().await,
        }
    }

    fn try_read(&self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.try_read_buf(buf),
            Stream::Unix(s) => s.try_read_buf(buf),
        }
    }

    fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.try_write(buf),
            Stream::Unix(s) => s.try_write(buf),
        }
    }
}

/// Who waits for what.
pub(super) enum Expect {
    /// One command's reply.
    One(oneshot::Sender<RedisResult<Value>>),
    /// A pipeline's replies.
    Many(Box<Many>),
}

/// A pipeline in flight: which of its replies the caller wants.
pub(super) struct Many {
    /// Replies before the wanted ones (MULTI's and the QUEUED ones of a transaction).
    skip: usize,
    /// Replies wanted.
    take: usize,
    transaction: bool,
    seen: usize,
    values: Vec<Value>,
    /// Error replies among the skipped ones (a transaction's refused commands), by position.
    refused: Vec<(usize, Value)>,
    tx: oneshot::Sender<RedisResult<Vec<Value>>>,
}

impl Many {
    pub(super) fn new(
        skip: usize,
        take: usize,
        transaction: bool,
        tx: oneshot::Sender<RedisResult<Vec<Value>>>,
    ) -> Many {
        Many {
            skip,
            take,
            transaction,
            seen: 0,
            values: Vec::with_capacity(take),
            refused: Vec::new(),
            tx,
        }
    }

    /// Takes one reply; true once all of them are in.
    fn push(&mut self, v: Value) -> bool {
        if self.seen < self.skip {
            if self.transaction && matches!(v, Value::ServerError(_)) {
                self.refused.push((self.seen, v));
            }
        } else {
            self.values.push(v);
        }
        self.seen += 1;
        self.seen == self.skip + self.take
    }

    fn finish(self) {
        let outcome = if self.refused.is_empty() {
            Ok(self.values)
        } else {
            Err(crate::error::transaction_refused(self.refused))
        };
        let _ = self.tx.send(outcome);
    }
}

/// What the write buffer and the reply queue hold, under one lock.
#[derive(Default)]
struct State {
    /// Encoded commands not written yet.
    buf: Vec<u8>,
    /// An emptied buffer kept for its capacity.
    spare: Vec<u8>,
    /// One entry per request written or waiting to be, in order.
    queue: VecDeque<Expect>,
    /// Somebody is writing `buf`; others only append.
    writing: bool,
    /// Why the connection is dead, once it is.
    broken: Option<(ErrorKind, String)>,
    /// The last handle is gone: stop once the queue is empty.
    closing: bool,
    /// A flush that would have blocked left the rest to the writer task (which then holds
    /// `writing`).
    handoff: bool,
    /// The writer task was asked to write what accumulated.
    scheduled: bool,
    /// Requests in `buf` (for the batch counts).
    unwritten: usize,
}

/// The connection's shared core.
pub(super) struct Core {
    stream: Stream,
    state: Mutex<State>,
    /// Wakes the connection's task: there is something to write.
    kick: Notify,
    /// Wakes the reader when the connection is closing.
    closed: Notify,
    db: i64,
    stats: Arc<BatchStats>,
}

/// How a flush ended.
enum Flushed {
    Done,
    Blocked,
    Failed,
}

impl Core {
    pub(super) fn new(stream: Stream, db: i64, stats: Arc<BatchStats>) -> Core {
        Core {
            stats,
            stream,
            state: Mutex::new(State::default()),
            kick: Notify::new(),
            closed: Notify::new(),
            db,
        }
    }

    pub(super) fn db(&self) -> i64 {
        self.db
    }

    /// Appends a request and its expectation, in order. On an idle connection the caller
    /// writes it at once itself; while other requests are in flight the writer task writes
    /// everything that accumulated, in one go, when it next runs.
    pub(super) fn submit(
        &self,
        encode: impl FnOnce(&mut Vec<u8>),
        expect: Expect,
    ) -> RedisResult<()> {
        {
            let mut st = lock(&self.state);
            if let Some((kind, message)) = &st.broken {
                return Err(RedisError::from(std::io::Error::new(
                    *kind,
                    message.clone(),
                )));
            }
            let idle = st.queue.is_empty();
            encode(&mut st.buf);
            st.queue.push_back(expect);
            st.unwritten += 1;
            if st.writing {
                return Ok(());
            }
            if !idle {
                if !st.scheduled {
                    st.scheduled = true;
                    drop(st);
                    self.kick.notify_one();
                }
                return Ok(());
            }
            st.writing = true;
        }
        if let Flushed::Blocked = self.flush() {
            self.kick.notify_one();
        }
        Ok(())
    }

    /// Writes the buffer until it is empty (more may be appended meanwhile), the socket is
    /// full, or it fails. Only the holder of `writing` calls it.
    fn flush(&self) -> Flushed {
        loop {
            let mut out = {
                let mut st = lock(&self.state);
                if st.buf.is_empty() {
                    st.writing = false;
                    return Flushed::Done;
                }
                let spare = std::mem::take(&mut st.spare);
                self.stats.wrote(std::mem::take(&mut st.unwritten));
                std::mem::replace(&mut st.buf, spare)
            };
            let mut sent = 0;
            while sent < out.len() {
                match self.stream.try_write(&out[sent..]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        // Put the rest back in front of whatever was appended meanwhile.
                        let mut st = lock(&self.state);
                        out.drain(..sent);
                        out.extend_from_slice(&st.buf);
                        st.buf = out;
                        st.handoff = true;
                        return Flushed::Blocked;
                    }
                    Err(e) => {
                        self.fail(e.kind(), e.to_string());
                        return Flushed::Failed;
                    }
                }
            }
            out.clear();
            let mut st = lock(&self.state);
            if st.spare.capacity() < out.capacity() {
                st.spare = out;
            }
        }
    }

    /// Hands replies to their callers, in order.
    fn deliver(&self, values: Vec<Value>) -> std::result::Result<(), String> {
        let mut done_one: Vec<(oneshot::Sender<RedisResult<Value>>, Value)> =
            Vec::with_capacity(values.len());
        let mut done_many: Vec<Box<Many>> = Vec::new();
        {
            let mut st = lock(&self.state);
            for v in values {
                match st.queue.front_mut() {
                    None => return Err("a reply nobody asked for".into()),
                    Some(Expect::One(_)) => {
                        if let Some(Expect::One(tx)) = st.queue.pop_front() {
                            done_one.push((tx, v));
                        }
                    }
                    Some(Expect::Many(many)) => {
                        if many.push(v)
                            && let Some(Expect::Many(many)) = st.queue.pop_front()
                        {
                            done_many.push(many);
                        }
                    }
                }
            }
        }
        for (tx, v) in done_one {
            let _ = tx.send(Ok(v));
        }
        done_many.into_iter().for_each(|m| m.finish());
        Ok(())
    }

    /// The connection is dead: every waiting caller and every later one gets the error.
    fn fail(&self, kind: ErrorKind, message: String) {
        let queued = {
            let mut st = lock(&self.state);
            if st.broken.is_none() {
                st.broken = Some((kind, message.clone()));
            }
            st.buf.clear();
            std::mem::take(&mut st.queue)
        };
        let err = || RedisError::from(std::io::Error::new(kind, message.clone()));
        for expect in queued {
            match expect {
                Expect::One(tx) => {
                    let _ = tx.send(Err(err()));
                }
                Expect::Many(m) => {
                    let _ = m.tx.send(Err(err()));
                }
            }
        }
        self.closed.notify_one();
        self.kick.notify_one();
    }

    /// No handle is left: stop once the replies owed have come, or after `linger`.
    pub(super) fn close(self: &Arc<Self>, linger: Duration) {
        lock(&self.state).closing = true;
        self.closed.notify_one();
        self.kick.notify_one();
        let core = Arc::downgrade(self);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                tokio::time::sleep(linger).await;
                if let Some(core) = core.upgrade() {
                    core.fail(ErrorKind::TimedOut, "the connection was closed".into());
                }
            });
        }
    }

    /// Writes what callers appended while requests were in flight, or the rest of a write
    /// that blocked, unless somebody is writing already.
    fn write_pending(&self) -> Flushed {
        let owned = {
            let mut st = lock(&self.state);
            st.scheduled = false;
            if std::mem::take(&mut st.handoff) {
                // A flush that blocked left `writing` to this task.
                true
            } else if st.writing || st.buf.is_empty() {
                false
            } else {
                st.writing = true;
                true
            }
        };
        if owned { self.flush() } else { Flushed::Done }
    }

    fn finished(&self) -> bool {
        let st = lock(&self.state);
        st.broken.is_some() || (st.closing && st.queue.is_empty())
    }
}

/// The error of a reply channel dropped without an answer (the connection went away).
pub(super) fn closed() -> RedisError {
    RedisError::from(std::io::Error::new(
        ErrorKind::BrokenPipe,
        "the connection closed before the reply came",
    ))
}

/// Starts the task that drives `core`'s socket.
pub(super) fn start(core: &Arc<Core>) {
    tokio::spawn(drive(core.clone()));
}

/// The connection's one task: reads replies and hands them out, then writes what callers
/// appended meanwhile (so a write carries everything that accumulated while replies were being
/// read), and finishes writes that would have blocked; until the connection fails or closes.
async fn drive(core: Arc<Core>) {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut scanner = Scanner::default();
    let mut blocked = false;
    loop {
        if core.finished() {
            return;
        }
        tokio::select! {
            biased;
            ready = core.stream.readable() => {
                if let Err(e) = ready {
                    core.fail(e.kind(), e.to_string());
                    return;
                }
                if !read(&core, &mut buf, &mut scanner) {
                    return;
                }
            }
            ready = core.stream.writable(), if blocked => {
                if let Err(e) = ready {
                    core.fail(e.kind(), e.to_string());
                    return;
                }
            }
            _ = core.kick.notified() => {}
            _ = core.closed.notified() => {}
        }
        match core.write_pending() {
            Flushed::Done => blocked = false,
            Flushed::Blocked => blocked = true,
            Flushed::Failed => return,
        }
    }
}

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

/// Reads what is there and delivers every whole reply; false once the connection is dead.
fn read(core: &Core, buf: &mut Vec<u8>, scanner: &mut Scanner) -> bool {
    if buf.capacity() - buf.len() < READ_CHUNK / 4 {
        buf.reserve(READ_CHUNK);
    }
    match core.stream.try_read(buf) {
        Ok(0) => {
            core.fail(
                ErrorKind::UnexpectedEof,
                "the server closed the connection".into(),
            );
            return false;
        }
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
        Err(e) => {
            core.fail(e.kind(), e.to_string());
            return false;
        }
    }
    let mut values = Vec::new();
    let mut start = 0;
    let parsed = loop {
        match scanner.scan(&buf[start..]) {
            Ok(Some(len)) => match resp::parse(&buf[start..start + len]) {
                Ok(v) => {
                    values.push(v);
                    start += len;
                }
                Err(e) => break Err(e.0),
            },
            Ok(None) => break Ok(()),
            Err(e) => break Err(e.0),
        }
    };
    buf.drain(..start);
    if let Err(message) = parsed.and_then(|()| core.deliver(values)) {
        let kind = ConnectionKind::Protocol;
        core.fail(ErrorKind::InvalidData, format!("{kind}: {message}"));
        return false;
    }
    true
}
