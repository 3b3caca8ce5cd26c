//! The embedded `redis-server` child used when no Redis URL is given.
//!
//! `make run` must work on a fresh machine with nothing configured, so the binary starts its
//! own server: on a unix socket in a private directory (or loopback TCP for the benchmark, to
//! match the published figures), waits until it answers PING, starts it again if it exits,
//! and kills it when dropped. The child also gets `PR_SET_PDEATHSIG`, so even a SIGKILLed
//! `redis-ssot` does not leave it running.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where the embedded server listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// A unix socket in the private directory.
    Unix,
    /// A free loopback TCP port.
    Tcp,
}

/// A running `redis-server` child, restarted if it exits; killed on drop.
///
/// A child that dies (killed, out of memory, a crash) would otherwise leave the gateway
/// "reconnecting" forever with nothing in its log: a watcher thread notices the exit within
/// 200 ms, logs it with the exit status, and starts the server again on the same socket and
/// data directory (with `--data-dir`, the AOF brings the data back), waiting 1 s, 2 s, … up to
/// 30 s between attempts while it keeps failing. The manager reconnects on its own.
pub struct EmbeddedRedis {
    shared: Arc<Shared>,
    url: String,
    watcher: Option<JoinHandle<()>>,
    _tmp: Option<tempfile::TempDir>,
}

/// The current child's pid, for SIGSTOP/SIGCONT outage simulation; follows restarts.
#[derive(Clone)]
pub struct ChildPid(Arc<Shared>);

impl ChildPid {
    /// The pid of the server running now.
    pub fn get(&self) -> u32 {
        self.0.child().id()
    }
}

struct Shared {
    child: Mutex<Child>,
    stopping: AtomicBool,
    args: Vec<OsString>,
    probe: Probe,
    /// Started with `--data-dir` (AOF): a restart brings the data back.
    persisted: bool,
}

impl Shared {
    fn child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EmbeddedRedis {
    /// Starts the server. With `data_dir`, data lives there and is persisted with AOF;
    /// without, everything is in a private temp dir and nothing is persisted.
    pub fn start(listen: Listen, data_dir: Option<&Path>) -> Result<EmbeddedRedis, String> {
        let tmp = tempfile::Builder::new()
            .prefix("redis-ssot-")
            .tempdir()
            .map_err(|e| format!("cannot create a private temp dir: {e}"))?;
        let dir: PathBuf = match data_dir {
            Some(d) => {
                std::fs::create_dir_all(d)
                    .map_err(|e| format!("cannot create data dir {}: {e}", d.display()))?;
                d.to_path_buf()
            }
            None => tmp.path().to_path_buf(),
        };
        let socket = tmp.path().join("redis.sock");
        let mut args: Vec<OsString> = vec![
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            dir.into_os_string(),
            "--save".into(),
            "".into(),
            "--appendonly".into(),
            if data_dir.is_some() { "yes" } else { "no" }.into(),
            "--daemonize".into(),
            "no".into(),
            "--loglevel".into(),
            "warning".into(),
            "--logfile".into(),
            tmp.path().join("redis.log").into_os_string(),
        ];
        let (url, probe) = match listen {
            Listen::Unix => {
                args.extend(["--port".into(), "0".into(), "--unixsocket".into()]);
                args.push(socket.clone().into_os_string());
                args.extend(["--unixsocketperm".into(), "700".into()]);
                (
                    format!("redis+unix://{}", socket.display()),
                    Probe::Unix(socket.clone()),
                )
            }
            Listen::Tcp => {
                let port = free_port().map_err(|e| format!("no free port: {e}"))?;
                args.extend(["--port".into(), port.to_string().into()]);
                (format!("redis://127.0.0.1:{port}"), Probe::Tcp(port))
            }
        };
        let mut child = spawn(&args)?;
        wait_ready(&mut child, &probe, Duration::from_secs(10))?;
        let shared = Arc::new(Shared {
            child: Mutex::new(child),
            stopping: AtomicBool::new(false),
            args,
            probe,
            persisted: data_dir.is_some(),
        });
        let watcher = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("embedded-redis".into())
                .spawn(move || watch(&shared))
                .map_err(|e| format!("cannot start the thread that watches redis-server: {e}"))?
        };
        Ok(EmbeddedRedis {
            shared,
            url,
            watcher: Some(watcher),
            _tmp: Some(tmp),
        })
    }

    /// The URL to hand to the manager.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The running child's pid, now and after any restart.
    pub fn pid(&self) -> ChildPid {
        ChildPid(self.shared.clone())
    }
}

/// Starts `redis-server` with `args`; it dies with this process (PDEATHSIG).
fn spawn(args: &[OsString]) -> Result<Child, String> {
    let mut cmd = Command::new("redis-server");
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "redis-server is not installed. Install it with \
            `sudo apt-get install redis-server` (Debian/Ubuntu), or point at a server with \
            --redis-url / REDIS_URL."
            .to_string(),
        _ => format!("cannot start redis-server: {e}"),
    })
}

fn wait_ready(child: &mut Child, probe: &Probe, within: Duration) -> Result<(), String> {
    let until = Instant::now() + within;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("redis-server exited during start-up ({status})"));
        }
        if probe.pong() {
            return Ok(());
        }
        if Instant::now() > until {
            return Err("redis-server did not answer PING within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Restarts the child whenever it exits, until the server is being stopped.
fn watch(shared: &Shared) {
    let mut backoff = Duration::from_secs(1);
    let mut restarts = 0u32;
    while !shared.stopping.load(Ordering::Acquire) {
        std::thread::park_timeout(Duration::from_millis(200));
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        let status = match shared.child().try_wait() {
            Ok(Some(status)) => status,
            _ => continue,
        };
        tracing::error!(
            %status,
            data = if shared.persisted {
                "kept (AOF in --data-dir)"
            } else {
                "lost: nothing is persisted without --data-dir, so every session, thread and \
                 limit is gone and users must log in again"
            },
            "the embedded redis-server exited; starting it again on the same socket"
        );
        loop {
            let started = spawn(&shared.args).and_then(|mut c| {
                wait_ready(&mut c, &shared.probe, Duration::from_secs(10)).map(|()| c)
            });
            match started {
                Ok(child) => {
                    restarts += 1;
                    *shared.child() = child;
                    tracing::warn!(restarts, "the embedded redis-server is running again");
                    backoff = Duration::from_secs(1);
                    break;
                }
                Err(e) => {
                    tracing::error!(
                        error = %e,
                        retry_in_s = backoff.as_secs(),
                        "the embedded redis-server did not start again"
                    );
                    std::thread::park_timeout(backoff);
                    if shared.stopping.load(Ordering::Acquire) {
                        return;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

impl Drop for EmbeddedRedis {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        if let Some(w) = self.watcher.take() {
            w.thread().unpark();
            let _ = w.join();
        }
        let mut child = self.shared.child();
        // SIGCONT first: a paused (outage-simulation) server ignores SIGTERM until resumed.
        let pid = child.id() as libc::pid_t;
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid, libc::SIGCONT);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

enum Probe {
    Unix(PathBuf),
    Tcp(u16),
}

impl Probe {
    fn pong(&self) -> bool {
        fn ask(mut s: impl Read + Write) -> bool {
            let mut buf = [0u8; 7];
            s.write_all(b"PING\r\n").is_ok()
                && s.read_exact(&mut buf).is_ok()
                && &buf == b"+PONG\r\n"
        }
        let t = Some(Duration::from_millis(500));
        match self {
            Probe::Unix(p) => std::os::unix::net::UnixStream::connect(p)
                .map(|s| {
                    let _ = s.set_read_timeout(t);
                    ask(s)
                })
                .unwrap_or(false),
            Probe::Tcp(port) => std::net::TcpStream::connect(("127.0.0.1", *port))
                .map(|s| {
                    let _ = s.set_read_timeout(t);
                    ask(s)
                })
                .unwrap_or(false),
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
