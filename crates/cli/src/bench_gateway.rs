//! `redis-ssot bench gateway`: many users, two sockets each, against a running gateway.
//!
//! With `--url`, it loads that gateway (pass `--pid` and `--redis-pid` to also measure their
//! memory and CPU). Without, it starts `redis-ssot serve` as a child on a free port (with its
//! own embedded Redis), so the gateway's RSS is measured apart from the load generator's.
//! The load generator itself is crate `loadgen`; this file is the wiring: the child, the
//! open-file limit, the phases from the flags, the printout.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loadgen::{LoadConfig, LoadReport, Phase, Watched};
use serde::Serialize;

/// Arguments of `redis-ssot bench gateway`.
#[derive(Debug, clap::Args)]
pub struct GatewayBenchArgs {
    /// The gateway to load (default: start one as a child process).
    #[arg(long)]
    pub url: Option<String>,
    /// The gateway's pid, to measure its RSS and CPU (automatic for the child).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Its redis-server's pid, to measure its CPU (automatic for the child's embedded one).
    #[arg(long)]
    pub redis_pid: Option<u32>,
    /// Concurrent users, two WebSockets each.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Total sockets instead of users (users = sockets ÷ 2), e.g. `--sockets 10000`.
    #[arg(long)]
    pub sockets: Option<usize>,
    /// Messages per user in each phase.
    #[arg(long, default_value_t = 10)]
    pub messages: usize,
    /// Mean pause before each of a user's messages, in milliseconds, drawn from 0.5–1.5 ×
    /// (the first one 0–1 ×). 0: a closed loop, every user always waiting for a run.
    #[arg(long, default_value_t = 0, conflicts_with_all = ["rate", "sweep"])]
    pub think_ms: u64,
    /// Offered runs per second for all users together (sets the think time to users ÷ rate).
    #[arg(long, conflicts_with = "sweep")]
    pub rate: Option<f64>,
    /// Several phases on the same sockets, one per offered rate (runs/s, comma-separated);
    /// reports the capacity: the highest rate whose p99 stayed at or under 50 ms.
    #[arg(long, value_delimiter = ',')]
    pub sweep: Vec<f64>,
    /// How long the open sockets sit idle before their memory is read, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub idle_settle_ms: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    #[serde(flatten)]
    load: LoadReport,
    /// The open-file limit (soft) before and after the bench raised it.
    fd_limit_before: Option<u64>,
    fd_limit: Option<u64>,
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

/// The child's message limits: far above what a bench user sends (one message in flight,
/// back to back in a closed loop), so the limiter runs on every message but never refuses.
const CHILD_LIMITS: [&str; 4] = [
    "--messages-per-second",
    "100000",
    "--runs-in-flight",
    "1000",
];

/// Runs the load and prints the report.
pub async fn run(args: GatewayBenchArgs) -> Result<i32, String> {
    let users = args.sockets.map_or(args.users, |s| s.div_ceil(2));
    let fd_before = loadgen::procfs::fd_limit().map(|(soft, _)| soft);
    // Two sockets per user, the HTTP pool, and room for the runtime: the child inherits it.
    let fd_limit = raise_fd_limit(users as u64 * 2 + 1024)?;
    let mut child = None;
    let (url, pid) = match args.url.clone() {
        Some(u) => (u, args.pid),
        None => {
            let (c, url) = start_child()?;
            let pid = c.0.id();
            child = Some(c);
            (url, Some(pid))
        }
    };
    wait_ready(&url, Duration::from_secs(20)).await?;
    let redis = args
        .redis_pid
        .or_else(|| child.as_ref().and_then(|c| embedded_redis(c.0.id())));
    let phases = phases(&args, users);
    let config = LoadConfig {
        url,
        users,
        phases,
        connect_concurrency: 256,
        idle_settle: Duration::from_millis(args.idle_settle_ms),
        watched: Watched {
            gateway: pid,
            redis,
        },
    };
    let load = run_load_on_own_thread(config).await?;
    let report = Report {
        load,
        fd_limit_before: fd_before,
        fd_limit: Some(fd_limit),
    };
    drop(child);
    let text = if args.json {
        serde_json::to_string(&report)
    } else {
        serde_json::to_string_pretty(&report)
    };
    crate::say(&text.map_err(|e| e.to_string())?);
    let clean = report.load.lost_events == 0
        && report.load.duplicated_events == 0
        && !report.load.close_codes.contains_key("1011");
    Ok(if clean { 0 } else { 1 })
}

fn phases(args: &GatewayBenchArgs, users: usize) -> Vec<Phase> {
    if !args.sweep.is_empty() {
        return args
            .sweep
            .iter()
            .map(|&r| Phase::at_rate(users, r, args.messages))
            .collect();
    }
    match args.rate {
        Some(r) => vec![Phase::at_rate(users, r, args.messages)],
        None => vec![Phase {
            messages: args.messages,
            think: Duration::from_millis(args.think_ms),
        }],
    }
}

/// `redis-ssot serve` on a free port with its own embedded Redis.
fn start_child() -> Result<(ChildGateway, String), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let c = Command::new(exe)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--login-limit-per-ip", "1000000"])
        .args(CHILD_LIMITS)
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the gateway: {e}"))?;
    Ok((ChildGateway(c), format!("http://127.0.0.1:{port}")))
}

/// The redis-server the child gateway started (its child named `redis-server`).
fn embedded_redis(gateway: u32) -> Option<u32> {
    loadgen::procfs::children(gateway)
        .into_iter()
        .find(|&p| loadgen::procfs::comm(p).as_deref() == Some("redis-server"))
}

/// Raises this process's open-file limit to at least `need` (the soft limit up to the hard
/// one; the hard one too when we may, as root may); returns the soft limit now. The child
/// gateway inherits it.
fn raise_fd_limit(need: u64) -> Result<u64, String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err("cannot read the open-file limit".into());
        }
        if lim.rlim_cur >= need {
            return Ok(lim.rlim_cur);
        }
        let want = libc::rlimit {
            rlim_cur: need,
            rlim_max: lim.rlim_max.max(need),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
            eprintln!(
                "bench: raised the open-file limit from {} to {need}",
                lim.rlim_cur
            );
            return Ok(need);
        }
        Err(format!(
            "{need} open files are needed but the limit is {} (hard {}): raise it (ulimit -n) or run as root",
            lim.rlim_cur, lim.rlim_max
        ))
    }
}

/// Runs the load generator on a single-threaded runtime of its own. It shares the machine's
/// cores with the gateway and redis-server it measures; on one thread its tasks hand
/// messages to each other without cross-thread wake-ups.
async fn run_load_on_own_thread(config: LoadConfig) -> Result<LoadReport, String> {
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the load generator's runtime: {e}"))?;
        Ok(runtime.block_on(loadgen::run(config)))
    })
    .await
    .map_err(|e| format!("the load generator failed: {e}"))?
}

async fn wait_ready(url: &str, within: Duration) -> Result<(), String> {
    let client = loadgen::GatewayClient::new(url);
    let until = Instant::now() + within;
    loop {
        if let Ok(r) = client.get("/readyz", None).await
            && r.status == 200
        {
            return Ok(());
        }
        if Instant::now() > until {
            return Err(format!("the gateway at {url} did not become ready"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
