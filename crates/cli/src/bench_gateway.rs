//! `redis-ssot bench gateway`: many users, two sockets each, against a running gateway.
//!
//! With `--url`, it loads that gateway (pass `--pid` to also measure its memory). Without, it
//! starts `redis-ssot serve` as a child on a free port (with its own embedded Redis), so the
//! gateway's RSS is measured apart from the load generator's.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gateway::load::{LoadConfig, LoadReport};
use serde::Serialize;

/// Arguments of `redis-ssot bench gateway`.
#[derive(Debug, clap::Args)]
pub struct GatewayBenchArgs {
    /// The gateway to load (default: start one as a child process).
    #[arg(long)]
    pub url: Option<String>,
    /// The gateway's pid, to measure its RSS per open socket (automatic for the child).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Concurrent users, one WebSocket each.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Messages per user.
    #[arg(long, default_value_t = 10)]
    pub messages: usize,
    /// Mean pause before each of a user's messages, in milliseconds, drawn from 0.5–1.5 ×
    /// (the first one 0–1 ×). 0: a closed loop, every user always waiting for a run.
    #[arg(long, default_value_t = 0)]
    pub think_ms: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    #[serde(flatten)]
    load: LoadReport,
    think_ms: u64,
    gateway_rss_baseline_kib: Option<u64>,
    gateway_rss_peak_kib: Option<u64>,
    gateway_rss_per_socket_bytes: Option<u64>,
}

struct ChildGateway(Child);

impl Drop for ChildGateway {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child; SIGTERM lets it stop its embedded redis-server.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

/// Runs the load and prints the report.
pub async fn run(args: GatewayBenchArgs) -> Result<i32, String> {
    let mut child = None;
    let (url, pid) = match args.url.clone() {
        Some(u) => (u, args.pid),
        None => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| e.to_string())?
                .port();
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let c = Command::new(exe)
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .args(["--login-limit-per-ip", "1000000"])
                .env_remove("REDIS_URL")
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start the gateway: {e}"))?;
            let pid = c.id();
            child = Some(ChildGateway(c));
            (format!("http://127.0.0.1:{port}"), Some(pid))
        }
    };
    wait_ready(&url, Duration::from_secs(20)).await?;
    let baseline = pid.and_then(rss_kib);
    // Sample the gateway's RSS while the sockets are open; keep the peak.
    let peak_kib = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(baseline.unwrap_or(0)));
    let sampler = pid.map(|p| {
        let peak = peak_kib.clone();
        tokio::spawn(async move {
            loop {
                if let Some(r) = rss_kib(p) {
                    peak.fetch_max(r, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });
    let config = LoadConfig {
        url,
        users: args.users,
        messages: args.messages,
    };
    let think = Duration::from_millis(args.think_ms);
    let load = run_load_on_own_thread(config, think).await?;
    if let Some(s) = sampler {
        s.abort();
    }
    let peak = pid.map(|_| peak_kib.load(std::sync::atomic::Ordering::Relaxed));
    let per_socket = match (baseline, peak, load.sockets_opened) {
        (Some(b), Some(p), n) if n > 0 && p > b => Some((p - b) * 1024 / n),
        _ => None,
    };
    let report = Report {
        load,
        think_ms: args.think_ms,
        gateway_rss_baseline_kib: baseline,
        gateway_rss_peak_kib: peak,
        gateway_rss_per_socket_bytes: per_socket,
    };
    drop(child);
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    }
    Ok(
        if report.load.lost_events == 0 && report.load.duplicated_events == 0 {
            0
        } else {
            1
        },
    )
}

/// Runs the load generator on a single-threaded runtime of its own. It shares the machine's
/// cores with the gateway and redis-server it measures; on one thread its tasks (a reader
/// per socket, a driver per user) hand messages to each other without cross-thread wake-ups.
async fn run_load_on_own_thread(config: LoadConfig, think: Duration) -> Result<LoadReport, String> {
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the load generator's runtime: {e}"))?;
        Ok(runtime.block_on(gateway::load::run_paced(config, think)))
    })
    .await
    .map_err(|e| format!("the load generator failed: {e}"))?
}

async fn wait_ready(url: &str, within: Duration) -> Result<(), String> {
    let hostport = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let until = Instant::now() + within;
    loop {
        if let Ok(mut s) = tokio::net::TcpStream::connect(&hostport).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let req =
                format!("GET /readyz HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n");
            let mut buf = Vec::new();
            if s.write_all(req.as_bytes()).await.is_ok()
                && s.read_to_end(&mut buf).await.is_ok()
                && buf.starts_with(b"HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        if Instant::now() > until {
            return Err(format!("the gateway at {url} did not become ready"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Resident set size of `pid` in KiB, from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
