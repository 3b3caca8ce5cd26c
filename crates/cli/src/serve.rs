//! `redis-ssot serve`: the chat gateway on the process's one manager.
//!
//! With no `--redis-url` and no `REDIS_URL`, it starts its own `redis-server` on a unix
//! socket in a private directory, and the page gets a "simulate outage" control that pauses
//! that child for a few seconds (SIGSTOP/SIGCONT). A child that exits is logged and started
//! again (see `embedded`). Ctrl-C or SIGTERM stops the gateway, drains the manager and stops
//! the child; the child also dies with this process (PDEATHSIG).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gateway::{AuthMode, GatewayConfig};

use crate::embedded::{ChildPid, Listen};
use crate::target::RedisTarget;

/// Arguments of `redis-ssot serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Redis URL (default: $REDIS_URL, else an embedded redis-server).
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Data directory of the embedded redis-server (persisted with AOF). Default: a private
    /// temp dir, nothing persisted.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Logins allowed per client IP per minute (the load benchmark raises it: all its users
    /// come from one address).
    #[arg(long, default_value_t = 60)]
    pub login_limit_per_ip: u32,
    /// Chat messages each user may send per second (each starts an agent run).
    #[arg(long, default_value_t = 5)]
    pub messages_per_second: u32,
    /// Agent runs each user may have in progress at once.
    #[arg(long, default_value_t = 3)]
    pub runs_in_flight: u32,
    /// Verify HS256 JWTs with this secret instead of the demo username login.
    #[arg(long, env = "REDIS_SSOT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Enables the admin routes (`POST /api/admin/reconnect`, `/api/admin/breaker/reset`, and
    /// in JWT mode `/api/simulate-outage`) for this token (at least 16 characters), sent as
    /// `Authorization: Bearer <token>`.
    #[arg(long, env = "REDIS_SSOT_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

/// Runs the gateway until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<i32, String> {
    let admin_token = match args.admin_token.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            Some(gateway::admin::AdminToken::new(t).map_err(|e| format!("--admin-token: {e}"))?)
        }
    };
    // Installed before the manager exists, so its first state change and its metric
    // descriptions reach /metrics.
    gateway::metrics::install();
    let target = RedisTarget::resolve(args.redis_url, Listen::Unix, args.data_dir.as_deref())?;
    // REDIS_SSOT_* tunables come from the environment; the URL from the flag or the child.
    let config = target.config()?;
    eprintln!(
        "redis: {} ({})",
        config.redacted_url(),
        if target.is_embedded() {
            "embedded"
        } else {
            "external"
        }
    );
    let manager = redis_ssot::init(config).map_err(|e| e.to_string())?;

    let mut gw = GatewayConfig::new(args.listen);
    gw.login_limit.per_ip = args.login_limit_per_ip;
    gw.message_limit.per_second = args.messages_per_second;
    gw.message_limit.in_flight = args.runs_in_flight;
    gw.admin_token = admin_token;
    if let Some(secret) = args.jwt_secret.filter(|s| !s.is_empty()) {
        gw.auth = AuthMode::Jwt {
            secret: secret.into_bytes(),
            issuer: None,
            audience: None,
        };
    }
    if let RedisTarget::Embedded(child) = &target {
        let pid = child.pid();
        gw.outage = Some(Arc::new(move |pause: Duration| {
            simulate_outage(&pid, pause)
        }));
    }
    println!(
        "redis-ssot gateway: open http://{}/ in a browser (Ctrl-C stops it)",
        args.listen
    );
    let served = gateway::serve(gw, manager.clone(), shutdown_signal()).await;
    manager.shutdown(Duration::from_secs(2)).await;
    drop(target);
    served.map_err(|e| e.to_string())?;
    Ok(0)
}

/// Pauses the embedded server (SIGSTOP) and resumes it after `pause` (SIGCONT), unless it was
/// restarted meanwhile (its pid then belongs to nobody of ours).
fn simulate_outage(child: &ChildPid, pause: Duration) {
    let paused = child.get();
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(paused as libc::pid_t, libc::SIGSTOP);
    }
    let child = child.clone();
    std::thread::spawn(move || {
        std::thread::sleep(pause);
        if child.get() == paused {
            // SAFETY: as above.
            unsafe {
                libc::kill(paused as libc::pid_t, libc::SIGCONT);
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
    eprintln!("shutting down");
}
