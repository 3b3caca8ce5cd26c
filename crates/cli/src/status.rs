//! `redis-ssot status`: is Redis ready for a service configured like this one?
//!
//! Without `--gateway` it builds the manager's configuration exactly as a service does
//! (`Config::from_env`: `REDIS_URL` or `--redis-url`, `REDIS_PASSWORD`, TLS files, every
//! `REDIS_SSOT_*` setting), connects, and waits up to `--wait-ms` for readiness, giving up at
//! once on what waiting cannot cure (wrong credentials, a missing unix socket, a database
//! index the server refuses, bad TLS files). With `--gateway URL` it asks a running gateway
//! for its manager's status instead of starting a manager of its own.
//!
//! It prints one line (`ready: ...` or `not ready (reason): ...`), or the whole status as
//! JSON with `--json`, and exits 0 only if ready (1 if not, 2 on bad arguments).

use std::time::Duration;

use redis_ssot::RedisManager;

use crate::target::RedisTarget;

/// Arguments of `redis-ssot status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Redis URL (default: $REDIS_URL, else an embedded redis-server).
    #[arg(long, conflicts_with = "gateway")]
    pub redis_url: Option<String>,
    /// Ask a running gateway (http://host:port) for its manager's status instead.
    #[arg(long)]
    pub gateway: Option<String>,
    /// The gateway's admin token (shows the server's address too).
    #[arg(long, env = "REDIS_SSOT_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// How long to wait for readiness, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub wait_ms: u64,
    /// Print the whole status as JSON instead of one line.
    #[arg(long)]
    pub json: bool,
}

/// Prints the verdict (or JSON); exit code 0 when ready, 1 otherwise.
pub async fn run(args: StatusArgs) -> Result<i32, String> {
    if let Some(gw) = &args.gateway {
        return of_gateway(gw, args.admin_token.as_deref(), args.json).await;
    }
    let target = RedisTarget::resolve(args.redis_url, crate::embedded::Listen::Unix, None)?;
    let config = target.config()?;
    let manager = RedisManager::connect(config).map_err(|e| e.to_string())?;
    let until = tokio::time::Instant::now() + Duration::from_millis(args.wait_ms);
    loop {
        if manager.is_ready() {
            // One round trip, so the verdict carries a live PING latency.
            let _ = manager.ping().await;
            break;
        }
        let gave_up = manager
            .status()
            .not_ready
            .is_some_and(|r| r.permanent && r.reason != "closed");
        if gave_up || tokio::time::Instant::now() >= until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = manager.status();
    if args.json {
        let json = serde_json::to_string_pretty(&status).map_err(|e| e.to_string())?;
        crate::say(&json);
    } else {
        crate::say(&status.verdict());
    }
    if target.is_embedded() {
        eprintln!("(embedded redis-server; it stops now)");
    }
    manager.shutdown(Duration::from_secs(1)).await;
    Ok(if status.ready { 0 } else { 1 })
}

async fn of_gateway(base: &str, token: Option<&str>, json: bool) -> Result<i32, String> {
    let answer = crate::http::call("GET", base, "/api/status", token).await?;
    if answer.status != 200 {
        return Err(format!(
            "the gateway at {base} answered {}: {}",
            answer.status,
            answer.message()
        ));
    }
    let ready = answer.json["ready"].as_bool().unwrap_or(false);
    if json {
        let text = serde_json::to_string_pretty(&answer.json).map_err(|e| e.to_string())?;
        crate::say(&text);
    } else {
        let verdict = answer.json["verdict"]
            .as_str()
            .unwrap_or("no verdict in the answer");
        crate::say(verdict);
    }
    Ok(if ready { 0 } else { 1 })
}
