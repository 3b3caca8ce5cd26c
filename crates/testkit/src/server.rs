//! [`RedisServer`]: one real `redis-server` process owned by a test.
//!
//! The handle owns a private temp dir (config, log, data, socket) and the child process.
//! All controls take `&self` (the child sits behind a mutex) so a test can share one
//! server through an `Arc` between the code under test and the fault-injecting test body.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::cli;
use crate::config::{self, Listen};
use crate::endpoint::{Endpoint, Probe};
use crate::options::ServerOptions;
use crate::ports::free_port;
use crate::resp::RespClient;
use crate::spawn;
use crate::tls::TlsFiles;

/// How long a server may take to answer after being spawned. Generous because CI
/// machines under parallel `cargo test` load can be slow to schedule a new process.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `stop()` waits for a graceful exit before escalating to `SIGKILL`.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline for one `cli()` call, so a paused server can't hang the test run.
const CLI_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts with a fresh port when another process grabbed ours first.
const PORT_ATTEMPTS: usize = 5;

struct State {
    child: Option<Child>,
    paused: bool,
}

/// A real `redis-server` process, killed (and its temp dir removed) on drop.
pub struct RedisServer {
    endpoint: Endpoint,
    conf: PathBuf,
    sentinel: bool,
    state: Mutex<State>,
    // Declared last: dropped after the process is gone.
    dir: TempDir,
}

fn signal(child: &Child, sig: libc::c_int) {
    // The child is not reaped yet (we hold it), so its pid cannot have been reused.
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: plain kill(2) on a pid we own; no memory is involved.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Whether `/proc/<pid>/stat` says the process is stopped (`T`).
fn is_stopped(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            after.split_whitespace().next().map(|st| st == "T")
        })
        .unwrap_or(false)
}

/// The tail of a file from `offset`, at most 4 KiB, for error messages.
fn tail(path: &Path, offset: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = offset.max(len.saturating_sub(4096));
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(start)).is_ok() {
        let _ = f.read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Spawns the process and waits until it answers; retries while the port is taken if
/// `retry_bind` (restarts must come back on the same port, which may be briefly busy).
/// When a launched server counts as up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Up {
    /// It answers commands (its dataset is loaded).
    Answers,
    /// It accepts connections, perhaps still answering `LOADING`.
    Listens,
}

fn launch(
    conf: &Path,
    sentinel: bool,
    endpoint: &Endpoint,
    dir: &Path,
    retry_bind: bool,
) -> io::Result<Child> {
    launch_until(conf, sentinel, endpoint, dir, retry_bind, Up::Answers)
}

fn launch_until(
    conf: &Path,
    sentinel: bool,
    endpoint: &Endpoint,
    dir: &Path,
    retry_bind: bool,
    up: Up,
) -> io::Result<Child> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let log = dir.join("redis.log");
    let stdio = dir.join("stdio.log");
    loop {
        let offset = file_len(&log);
        let out = File::create(&stdio)?;
        let mut cmd = Command::new(cli::redis_server_bin());
        cmd.arg(conf)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        if sentinel {
            cmd.arg("--sentinel");
        }
        let child = spawn::spawn(cmd)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot spawn redis-server: {e}")))?;
        match wait_ready(child, endpoint, deadline, up, &|| {
            format!("{}{}", tail(&stdio, 0), tail(&log, offset))
        }) {
            Err(e)
                if retry_bind
                    && e.kind() == io::ErrorKind::AddrInUse
                    && Instant::now() < deadline =>
            {
                thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn wait_ready(
    mut child: Child,
    endpoint: &Endpoint,
    deadline: Instant,
    up: Up,
    logs: &dyn Fn() -> String,
) -> io::Result<Child> {
    let place = endpoint.url_with(None, None);
    let mut last;
    loop {
        if let Some(status) = child.try_wait()? {
            let log = logs();
            let kind = if log.contains("Address already in use") {
                io::ErrorKind::AddrInUse
            } else {
                io::ErrorKind::Other
            };
            return Err(io::Error::new(
                kind,
                format!(
                    "redis-server for {place} exited ({status}) before it was ready; log:\n{log}"
                ),
            ));
        }
        match endpoint.probe(child.id()) {
            Probe::Ready => return Ok(child),
            Probe::Loading if up == Up::Listens => return Ok(child),
            Probe::Loading => last = "loading its dataset".into(),
            Probe::NotYet(why) => last = why,
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "redis-server for {place} not ready within {READY_TIMEOUT:?} (last probe: {last}); log:\n{}",
                    logs()
                ),
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

impl RedisServer {
    /// Starts a server on a free 127.0.0.1 port and waits until it answers.
    pub fn start() -> io::Result<RedisServer> {
        Self::start_with(ServerOptions::new())
    }

    /// Starts a server configured by `opts` and waits until it answers (10 s deadline;
    /// the error then contains the server's log).
    pub fn start_with(opts: ServerOptions) -> io::Result<RedisServer> {
        if opts.unix_socket && (opts.tls || opts.port.is_some() || opts.cluster) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "unix_socket cannot be combined with tls, port or cluster",
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("testkit-redis-")
            .tempdir()?;
        let tls = if opts.tls {
            Some(TlsFiles::generate(dir.path())?)
        } else {
            None
        };
        let conf = dir.path().join(if opts.sentinel {
            "sentinel.conf"
        } else {
            "redis.conf"
        });
        let fixed = opts.port.is_some() || opts.unix_socket;
        let attempts = if fixed { 1 } else { PORT_ATTEMPTS };
        let mut last_err = None;
        for _ in 0..attempts {
            let listen = if opts.unix_socket {
                Listen::Unix(dir.path().join("redis.sock"))
            } else {
                let port = opts.port.unwrap_or_else(free_port);
                if opts.tls {
                    Listen::Tls { port }
                } else {
                    Listen::Tcp { port }
                }
            };
            let bus = opts.cluster.then(free_port);
            fs::write(
                &conf,
                config::render(&opts, &listen, bus, dir.path(), tls.as_ref()),
            )?;
            let endpoint = Endpoint {
                listen,
                password: opts.requirepass.clone(),
                tls: tls.clone(),
            };
            match launch(&conf, opts.sentinel, &endpoint, dir.path(), false) {
                Ok(child) => {
                    return Ok(RedisServer {
                        endpoint,
                        conf,
                        sentinel: opts.sentinel,
                        state: Mutex::new(State {
                            child: Some(child),
                            paused: false,
                        }),
                        dir,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no start attempt was made")))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // Forget a child that exited by itself (crash, SHUTDOWN from a test), so
        // `pid()`/`is_running()` tell the truth.
        if let Some(child) = st.child.as_mut()
            && matches!(child.try_wait(), Ok(Some(_)))
        {
            st.child = None;
            st.paused = false;
        }
        st
    }

    /// `redis://127.0.0.1:PORT`, `rediss://127.0.0.1:PORT` (TLS) or
    /// `redis+unix:///path/to/sock`, without credentials.
    pub fn url(&self) -> String {
        self.endpoint.url_with(None, None)
    }

    /// Like [`RedisServer::url`] with the `requirepass` password:
    /// `redis://:PW@127.0.0.1:PORT` or `redis+unix:///path?pass=PW` (percent-encoded).
    pub fn url_with_password(&self) -> String {
        self.endpoint
            .url_with(None, self.endpoint.password.as_deref())
    }

    /// A URL that logs in as an ACL user: `redis://USER:PW@127.0.0.1:PORT` or
    /// `redis+unix:///path?user=USER&pass=PW`.
    pub fn url_for_user(&self, user: &str, password: &str) -> String {
        self.endpoint.url_with(Some(user), Some(password))
    }

    /// The TCP (or TLS) address; `None` for a unix-socket server.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.endpoint.addr()
    }

    /// The TCP (or TLS) port; `None` for a unix-socket server.
    pub fn port(&self) -> Option<u16> {
        self.addr().map(|a| a.port())
    }

    /// The unix socket path; `None` for a TCP server.
    pub fn socket_path(&self) -> Option<PathBuf> {
        self.endpoint.socket_path()
    }

    /// The process id, `None` while stopped or killed.
    pub fn pid(&self) -> Option<u32> {
        self.state().child.as_ref().map(Child::id)
    }

    /// Whether the process exists (a paused server counts as running).
    pub fn is_running(&self) -> bool {
        self.state().child.is_some()
    }

    /// The private temp dir holding config, log, data (AOF) and socket; it survives
    /// restarts and is removed on drop.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The certificate files of a TLS server, `None` otherwise.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.endpoint.tls.as_ref()
    }

    /// The server's log so far, for diagnosing a failing test.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// Graceful stop: `SIGTERM` (which, with persistence off, is `SHUTDOWN NOSAVE`; with
    /// `aof_always` it flushes the AOF), then wait; `SIGKILL` after 10 s. No-op if stopped.
    pub fn stop(&self) {
        let mut st = self.state();
        if let Some(mut child) = st.child.take() {
            if st.paused {
                signal(&child, libc::SIGCONT);
            }
            signal(&child, libc::SIGTERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        st.paused = false;
    }

    /// Crash: `SIGKILL`, then wait until the process is gone. No-op if stopped.
    pub fn kill(&self) {
        let mut st = self.state();
        if let Some(mut child) = st.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        st.paused = false;
    }

    /// Starts the server again on the same address, socket and data dir (so AOF data and
    /// cluster/sentinel state survive) and waits until it answers. A running server is
    /// stopped gracefully first. Retries for a while if the port is briefly busy.
    pub fn restart(&self) -> io::Result<()> {
        self.stop();
        let mut st = self.state();
        let child = launch(
            &self.conf,
            self.sentinel,
            &self.endpoint,
            self.dir.path(),
            true,
        )?;
        st.child = Some(child);
        st.paused = false;
        Ok(())
    }

    /// Like [`RedisServer::restart`], but returns as soon as the server accepts connections,
    /// while it may still be loading its dataset from disk (answering `LOADING`).
    pub fn restart_loading(&self) -> io::Result<()> {
        self.stop();
        let mut st = self.state();
        let child = launch_until(
            &self.conf,
            self.sentinel,
            &self.endpoint,
            self.dir.path(),
            true,
            Up::Listens,
        )?;
        st.child = Some(child);
        st.paused = false;
        Ok(())
    }

    /// `SIGSTOP`: the process keeps its sockets but answers nothing, like a hung server.
    /// Returns once the kernel reports the process as stopped.
    pub fn pause(&self) {
        let mut st = self.state();
        if let Some(child) = st.child.as_ref() {
            signal(child, libc::SIGSTOP);
            let deadline = Instant::now() + Duration::from_secs(2);
            while !is_stopped(child.id()) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
            st.paused = true;
        }
    }

    /// `SIGCONT`: undo [`RedisServer::pause`].
    pub fn resume(&self) {
        let mut st = self.state();
        if let Some(child) = st.child.as_ref() {
            signal(child, libc::SIGCONT);
        }
        st.paused = false;
    }

    /// Runs `redis-cli <args>` against this server (authenticated with `requirepass`, with
    /// TLS certificates if any) and returns stdout, trimmed. Redis error replies are
    /// stdout text (e.g. `"NOPERM ..."`), not errors; a non-zero exit (no connection) or
    /// a 30 s timeout is an error.
    pub fn cli(&self, args: &[&str]) -> io::Result<String> {
        self.endpoint.cli(None, None, args, CLI_TIMEOUT)
    }

    /// Like [`RedisServer::cli`] but logged in as an ACL user.
    pub fn cli_as(&self, user: &str, password: &str, args: &[&str]) -> io::Result<String> {
        self.endpoint
            .cli(Some(user), Some(password), args, CLI_TIMEOUT)
    }

    /// A raw blocking RESP connection (authenticated with `requirepass`) whose reads and
    /// writes time out after `timeout`. Not available for TLS servers.
    pub fn connect(&self, timeout: Duration) -> io::Result<RespClient> {
        self.endpoint.connect(timeout)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(mut child) = st.child.take() {
            if st.paused {
                signal(&child, libc::SIGCONT);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("url", &self.url())
            .field("dir", &self.dir.path())
            .finish()
    }
}
