//! The per-connection relay of [`crate::FaultProxy`]: two pumps (client → upstream and
//! upstream → client) that consult the shared fault mode for every chunk.
//!
//! Blackholed bytes are *held*, not dropped: a partition that heals behaves like TCP
//! after retransmission, so a RESP stream never loses half a frame and a client's
//! request/reply pairing stays intact. A client still sees a silent peer while the
//! blackhole lasts, and its writes keep succeeding because the pumps keep reading.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How often an idle pump re-checks the fault mode (to flush held bytes after `heal`).
const TICK: Duration = Duration::from_millis(10);
/// Held bytes per direction before the connection is dropped (a test bug, not a fault).
const MAX_HELD: usize = 64 * 1024 * 1024;

/// The fault mode shared by the proxy handle and all pumps.
#[derive(Default)]
pub(crate) struct Faults {
    pub(crate) stop: AtomicBool,
    pub(crate) blackhole: AtomicBool,
    pub(crate) delay_micros: AtomicU64,
}

impl Faults {
    fn delay(&self) -> Duration {
        Duration::from_micros(self.delay_micros.load(Ordering::SeqCst))
    }
    fn blackholed(&self) -> bool {
        self.blackhole.load(Ordering::SeqCst)
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// One accepted connection, registered so `cut()` can close both of its sockets.
pub(crate) struct Link {
    client: TcpStream,
    upstream: Mutex<Option<TcpStream>>,
    cut: AtomicBool,
    /// Silent for good: the peer of this connection vanished (see `FaultProxy::silence`).
    silenced: AtomicBool,
}

impl Link {
    pub(crate) fn new(client: TcpStream) -> Link {
        Link {
            client,
            upstream: Mutex::new(None),
            cut: AtomicBool::new(false),
            silenced: AtomicBool::new(false),
        }
    }

    /// Relays nothing more, either way, until the connection closes.
    pub(crate) fn silence(&self) {
        self.silenced.store(true, Ordering::SeqCst);
    }

    fn is_silenced(&self) -> bool {
        self.silenced.load(Ordering::SeqCst)
    }

    /// Closes both sides now; the pumps see EOF/errors and exit.
    pub(crate) fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        let _ = self.client.shutdown(Shutdown::Both);
        let upstream = self.upstream.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(u) = upstream.as_ref() {
            let _ = u.shutdown(Shutdown::Both);
        }
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

/// Serves one accepted connection until it closes, is cut, or the proxy stops.
pub(crate) fn serve(link: Arc<Link>, upstream: SocketAddr, faults: Arc<Faults>) {
    let Ok(up) = TcpStream::connect_timeout(&upstream, Duration::from_secs(1)) else {
        if faults.blackholed() {
            // A silent peer, even though nothing is behind it.
            swallow_until_healed(&link, &faults);
        }
        let _ = link.client.shutdown(Shutdown::Both);
        return;
    };
    let _ = up.set_nodelay(true);
    let _ = link.client.set_nodelay(true);
    let (Ok(up_read), Ok(up_write)) = (up.try_clone(), up.try_clone()) else {
        let _ = link.client.shutdown(Shutdown::Both);
        return;
    };
    *link.upstream.lock().unwrap_or_else(|p| p.into_inner()) = Some(up);
    // `cut()` may have run before the upstream socket was registered.
    if link.is_cut() {
        link.cut();
        return;
    }
    let back = {
        let (link, faults) = (link.clone(), faults.clone());
        thread::Builder::new()
            .name("testkit-proxy-pump".into())
            .spawn(move || pump(&up_read, &link.client, &link, &faults))
    };
    if back.is_ok() {
        pump(&link.client, &up_write, &link, &faults);
    }
    // Whichever direction ended, close both so the other pump ends too.
    link.cut();
    if let Ok(h) = back {
        let _ = h.join();
    }
}

/// Reads and discards from the client while blackholed and nothing is upstream.
fn swallow_until_healed(link: &Link, faults: &Faults) {
    let mut buf = [0u8; 4096];
    let _ = link.client.set_read_timeout(Some(TICK));
    while faults.blackholed() && !faults.stopped() && !link.is_cut() {
        match (&link.client).read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Copies `src` to `dst` chunk by chunk, applying delay and blackhole. Returns when
/// either side closes or fails, the link is cut, or the proxy stops.
fn pump(src: &TcpStream, dst: &TcpStream, link: &Link, faults: &Faults) {
    let _ = src.set_read_timeout(Some(TICK));
    let mut buf = vec![0u8; 16 * 1024];
    let mut held: Vec<u8> = Vec::new();
    let mut eof = false;
    loop {
        if faults.stopped() || link.is_cut() {
            return;
        }
        let blackholed = faults.blackholed() || link.is_silenced();
        if !blackholed && !held.is_empty() {
            if (&*dst).write_all(&held).is_err() {
                return;
            }
            held.clear();
        }
        if eof {
            // While blackholed the peer must not see the close either.
            if blackholed {
                thread::sleep(TICK);
                continue;
            }
            return;
        }
        let n = match (&*src).read(&mut buf) {
            Ok(0) => {
                eof = true;
                continue;
            }
            Ok(n) => n,
            Err(e) if is_timeout(&e) => continue,
            Err(_) => return,
        };
        let delay = faults.delay();
        if !delay.is_zero() {
            thread::sleep(delay);
        }
        if faults.blackholed() || link.is_silenced() || !held.is_empty() {
            if held.len() + n > MAX_HELD {
                return;
            }
            held.extend_from_slice(&buf[..n]);
            continue;
        }
        if (&*dst).write_all(&buf[..n]).is_err() {
            return;
        }
    }
}
