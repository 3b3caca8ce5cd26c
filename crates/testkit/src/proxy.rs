//! [`FaultProxy`]: a loopback TCP proxy that injects network faults.
//!
//! It runs on its own plain threads (one acceptor, two per connection), so it works
//! whatever runtime the test uses, or none, and a test blocked in `block_on` cannot
//! starve it. The fault mode is shared atomics consulted by every relay for every chunk.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::relay::{self, Faults, Link};

struct Shared {
    upstream: SocketAddr,
    faults: Arc<Faults>,
    links: Mutex<Vec<Arc<Link>>>,
    accepted: AtomicUsize,
}

impl Shared {
    fn links(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Link>>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A loopback TCP proxy in front of `upstream` whose faults a test switches at will:
/// [`cut`](FaultProxy::cut), [`blackhole`](FaultProxy::blackhole),
/// [`silence`](FaultProxy::silence), [`delay`](FaultProxy::delay), [`heal`](FaultProxy::heal).
///
/// The upstream may be down or restarted; each accepted connection dials it afresh, and
/// a failed dial closes the client connection (like a refused connection), except while
/// blackholed, when the client just sees silence.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on a free 127.0.0.1 port and forwards every connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        // Non-blocking accept so the acceptor can notice `stop` without a wake-up dial.
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            upstream,
            faults: Arc::new(Faults::default()),
            links: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
        });
        let acceptor = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("testkit-proxy-accept".into())
                .spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(FaultProxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The proxy's own listening address (what clients should dial).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `redis://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Closes both sides of every current connection now (clients read EOF). New
    /// connections are still accepted and forwarded, in the current mode.
    pub fn cut(&self) {
        for link in self.shared.links().iter() {
            link.cut();
        }
    }

    /// A half-open peer: all sockets, existing and new, stay open but nothing is relayed
    /// either way. Bytes are held (clients' writes keep succeeding) and delivered on
    /// [`heal`](FaultProxy::heal), like a partition that heals.
    pub fn blackhole(&self) {
        self.shared.faults.blackhole.store(true, Ordering::SeqCst);
    }

    /// Half-open sockets: the connections open now go silent for good (their bytes are held
    /// and never delivered, their sockets stay open), as when a peer vanished without a FIN
    /// or a NAT forgot the flow. New connections are relayed normally, so a client that dials
    /// again is served. [`heal`](FaultProxy::heal) does not revive them.
    pub fn silence(&self) {
        for link in self.shared.links().iter() {
            link.silence();
        }
    }

    /// Adds latency `d` to each forwarded chunk, in both directions (so a request and
    /// its reply take at least `2 * d`).
    pub fn delay(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.shared
            .faults
            .delay_micros
            .store(micros, Ordering::SeqCst);
    }

    /// Back to normal forwarding: no delay, no blackhole (held bytes are delivered).
    pub fn heal(&self) {
        self.shared.faults.delay_micros.store(0, Ordering::SeqCst);
        self.shared.faults.blackhole.store(false, Ordering::SeqCst);
    }

    /// Connections accepted so far, so a test can assert a client reconnected.
    pub fn connection_count(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections currently open through the proxy.
    pub fn open_connections(&self) -> usize {
        self.shared.links().len()
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    while !shared.faults.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                if stream.set_nonblocking(false).is_err() {
                    continue;
                }
                let link = Arc::new(Link::new(stream));
                shared.links().push(link.clone());
                let sh = shared.clone();
                let worker = thread::Builder::new()
                    .name("testkit-proxy-conn".into())
                    .spawn({
                        let link = link.clone();
                        move || {
                            relay::serve(link.clone(), sh.upstream, sh.faults.clone());
                            sh.links().retain(|l| !Arc::ptr_eq(l, &link));
                        }
                    });
                match worker {
                    Ok(w) => workers.push(w),
                    Err(_) => {
                        link.cut();
                        shared.links().retain(|l| !Arc::ptr_eq(l, &link));
                    }
                }
            }
            Err(_) => thread::sleep(Duration::from_millis(2)),
        }
        workers.retain(|w| !w.is_finished());
    }
    for link in shared.links().iter() {
        link.cut();
    }
    for w in workers {
        let _ = w.join();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.faults.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}
