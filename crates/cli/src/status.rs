//! `redis-ssot status`: connect, wait briefly for readiness, print the manager's status.

use std::time::Duration;

use redis_ssot::{Config, RedisManager};

use crate::target::RedisTarget;

/// Arguments of `redis-ssot status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Redis URL (default: $REDIS_URL, else an embedded redis-server).
    #[arg(long)]
    pub redis_url: Option<String>,
    /// How long to wait for readiness, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub wait_ms: u64,
}

/// Prints the status as JSON; exit code 0 when ready, 1 otherwise.
pub async fn run(args: StatusArgs) -> Result<i32, String> {
    let target = RedisTarget::resolve(args.redis_url, crate::embedded::Listen::Unix, None)?;
    let config = Config::from_url(target.url()).map_err(|e| e.to_string())?;
    let manager = RedisManager::connect(config).map_err(|e| e.to_string())?;
    let ready = manager
        .wait_ready(Duration::from_millis(args.wait_ms))
        .await
        .is_ok();
    if ready {
        // One round trip so the status shows a live command and a PING latency.
        let _ = manager.ping().await;
    }
    let status = manager.status();
    let json = serde_json::to_string_pretty(&status).map_err(|e| e.to_string())?;
    println!("{json}");
    if target.is_embedded() {
        eprintln!("(embedded redis-server; it stops now)");
    }
    manager.shutdown(Duration::from_secs(1)).await;
    Ok(if ready { 0 } else { 1 })
}
