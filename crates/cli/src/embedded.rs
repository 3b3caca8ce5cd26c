//! The embedded `redis-server` child used when no Redis URL is given.
//!
//! `make run` must work on a fresh machine with nothing configured, so the binary starts its
//! own server: on a unix socket in a private directory (or loopback TCP for the benchmark, to
//! match the published figures), waits until it answers PING, and kills it when dropped. The
//! child also gets `PR_SET_PDEATHSIG`, so even a SIGKILLed `redis-ssot` does not leave it
//! running.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the embedded server listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// A unix socket in the private directory.
    Unix,
    /// A free loopback TCP port.
    Tcp,
}

/// A running `redis-server` child; killed on drop.
pub struct EmbeddedRedis {
    child: Child,
    url: String,
    _tmp: Option<tempfile::TempDir>,
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
        let mut cmd = Command::new("redis-server");
        cmd.arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&dir)
            .arg("--save")
            .arg("");
        cmd.arg("--appendonly")
            .arg(if data_dir.is_some() { "yes" } else { "no" });
        cmd.arg("--daemonize")
            .arg("no")
            .arg("--loglevel")
            .arg("warning");
        cmd.arg("--logfile").arg(tmp.path().join("redis.log"));
        let (url, probe) = match listen {
            Listen::Unix => {
                cmd.arg("--port").arg("0").arg("--unixsocket").arg(&socket);
                cmd.arg("--unixsocketperm").arg("700");
                (
                    format!("redis+unix://{}", socket.display()),
                    Probe::Unix(socket.clone()),
                )
            }
            Listen::Tcp => {
                let port = free_port().map_err(|e| format!("no free port: {e}"))?;
                cmd.arg("--port").arg(port.to_string());
                (format!("redis://127.0.0.1:{port}"), Probe::Tcp(port))
            }
        };
        cmd.stdin(Stdio::null())
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
        let child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "redis-server is not installed. Install it with \
                `sudo apt-get install redis-server` (Debian/Ubuntu), or point at a server with \
                --redis-url / REDIS_URL."
                .to_string(),
            _ => format!("cannot start redis-server: {e}"),
        })?;
        let mut me = EmbeddedRedis {
            child,
            url,
            _tmp: Some(tmp),
        };
        me.wait_ready(&probe, Duration::from_secs(10))?;
        Ok(me)
    }

    /// The URL to hand to the manager.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The child's pid (for SIGSTOP/SIGCONT outage simulation).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self, probe: &Probe, within: Duration) -> Result<(), String> {
        let until = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
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
}

impl Drop for EmbeddedRedis {
    fn drop(&mut self) {
        // SIGCONT first: a paused (outage-simulation) server ignores SIGTERM until resumed.
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid, libc::SIGCONT);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
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
