//! The health monitor: a PING (and a ROLE) on an interval, never per command.
//!
//! The PING goes through the choke point with its own short deadline (`health_timeout`,
//! default 500 ms) every `health_interval` (default 1 s), so an idle manager notices a hung or
//! dead server within about 1.5 s. It is admitted even while the breaker is open
//! ([`crate::gate::Admit::Health`]): a failed one opens the breaker at once and asks the
//! supervisor to check the connection; a good one while open starts the recovery. While the
//! breaker is not closed it runs every `probe_interval` instead, so recovery is noticed as
//! fast as failure. ROLE tells whether the server is still a primary: for a Sentinel
//! topology, a demoted primary gets the connection replaced (the supervisor then asks the
//! sentinels again). For Sentinel, a `+switch-master` listener moves the connection as soon
//! as the sentinels announce a new primary.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;

use crate::breaker::BreakerState;
use crate::chokepoint::Source;
use crate::config::{ServerAddr, Topology};
use crate::deadline::Deadline;
use crate::error::Result;
use crate::gate::Admit;
use crate::handshake::LoadProgress;
use crate::manager::{Inner, RedisManager};
use crate::metrics::op;
use crate::slot::Request;
use crate::state::ConnState;

/// Weight of the newest sample in the latency average.
const EWMA_ALPHA: f64 = 0.2;

/// What the monitor has seen, for `status()`.
#[derive(Debug, Default, Clone)]
pub(crate) struct HealthSnapshot {
    pub(crate) ping_latency_ewma_us: Option<f64>,
    pub(crate) last_ping_us: Option<u64>,
    pub(crate) last_success_unix_ms: Option<u64>,
    pub(crate) last_error: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) checks: u64,
    pub(crate) failed_checks: u64,
    pub(crate) loading: Option<LoadProgress>,
}

/// Shared, lock-protected health data (touched once per interval, never per command).
#[derive(Default)]
pub(crate) struct HealthState(Mutex<HealthSnapshot>);

impl HealthState {
    pub(crate) fn snapshot(&self) -> HealthSnapshot {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut HealthSnapshot)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }

    /// The load progress of a loading server (`None` once it has loaded).
    pub(crate) fn set_loading(&self, progress: Option<LoadProgress>) {
        self.update(|s| s.loading = progress);
    }
}

pub(crate) async fn run(inner: Arc<Inner>) {
    match &inner.config.topology {
        Topology::Sentinel {
            sentinels,
            master_name,
        } => {
            let follow =
                follow_switch_master(inner.clone(), sentinels.clone(), master_name.clone());
            // `monitor` returns on shutdown and ends the follower with it.
            tokio::select! {
                _ = monitor(inner.clone()) => {}
                _ = follow => {}
            }
        }
        _ => monitor(inner).await,
    }
}

async fn monitor(inner: Arc<Inner>) {
    let mut shutdown = inner.lifecycle.subscribe();
    let mut state = inner.state.subscribe();
    let mut breaker = inner.gate.breaker().subscribe();
    // The supervisor may have connected before this task subscribed: treat the current
    // state as a change so a ready manager is checked at once.
    state.mark_changed();
    loop {
        let interval = if inner.gate.breaker().state() == BreakerState::Closed {
            inner.config.health_interval
        } else {
            inner.config.probe_interval
        };
        // Check right after every (re)connect, then on the interval.
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = state.changed() => {
                if *state.borrow_and_update() != ConnState::Ready {
                    continue;
                }
            }
            // The breaker moved: the interval changes (an opened breaker is probed at once).
            _ = breaker.changed() => {
                if *breaker.borrow_and_update() == BreakerState::Closed {
                    continue;
                }
            }
            _ = shutdown.changed() => return,
        }
        if inner.lifecycle.is_shutting_down() {
            return;
        }
        if inner.state.get() == ConnState::Ready {
            check_once(&inner).await;
        }
    }
}

impl RedisManager {
    /// The health PING: through the choke point, admitted while the breaker is open, with its
    /// own short deadline.
    async fn health_ping(&self, timeout: Duration) -> Result<()> {
        let ping = redis::cmd("PING");
        self.run_on(
            Source::Shared,
            Admit::Health,
            op!("PING"),
            Deadline::Custom(timeout),
            |mut c| async move {
                let r: redis::RedisResult<String> = ping.query_async(&mut c).await;
                (c, r.map(|_| ()))
            },
        )
        .await
    }
}

async fn check_once(inner: &Arc<Inner>) {
    let manager = RedisManager::from_inner(inner.clone());
    let started = std::time::Instant::now();
    let ping = manager.health_ping(inner.config.health_timeout).await;
    let elapsed_us = started.elapsed().as_micros() as u64;
    match ping {
        Ok(()) => {
            crate::metrics::set_ping_latency(elapsed_us as f64 / 1e6);
            inner.health.update(|s| {
                s.checks += 1;
                s.last_ping_us = Some(elapsed_us);
                s.ping_latency_ewma_us = Some(match s.ping_latency_ewma_us {
                    None => elapsed_us as f64,
                    Some(prev) => prev + EWMA_ALPHA * (elapsed_us as f64 - prev),
                });
                s.last_success_unix_ms = Some(now_unix_ms());
            })
        }
        Err(e) => {
            crate::metrics::count_failed_health_check();
            let message = inner.redact(e.to_string());
            inner.health.update(|s| {
                s.checks += 1;
                s.failed_checks += 1;
                s.last_error = Some(message);
            });
            return;
        }
    }
    if inner.gate.breaker().is_refusing() {
        return;
    }
    match manager.role().await {
        Ok(role) => {
            let demoted = role != "master";
            inner.health.update(|s| s.role = Some(role));
            if demoted
                && matches!(inner.config.topology, Topology::Sentinel { .. })
                && let Some(generation) = inner.slot.generation()
            {
                inner
                    .slot
                    .request(Request::Replace, generation, "primary was demoted");
            }
        }
        Err(e) => {
            let message = inner.redact(e.to_string());
            inner.health.update(|s| s.last_error = Some(message));
        }
    }
}

/// Listens for `+switch-master` on one sentinel at a time and, when the sentinels move the
/// primary elsewhere, replaces the connection at once. Without this, a graceful failover
/// (`SENTINEL FAILOVER`) would leave writes going to the old primary until the sentinels
/// demote it, which can take ten seconds; the health check's ROLE only sees the demotion.
async fn follow_switch_master(inner: Arc<Inner>, sentinels: Vec<ServerAddr>, master_name: String) {
    for sentinel in sentinels.iter().cycle() {
        let subscribed = async {
            let mut pubsub = inner.connector.sentinel_pubsub(sentinel).await.ok()?;
            pubsub.subscribe("+switch-master").await.ok()?;
            Some(pubsub)
        };
        let subscribed = tokio::time::timeout(inner.config.connect_timeout, subscribed).await;
        if let Ok(Some(pubsub)) = subscribed {
            let mut messages = pubsub.into_on_message();
            while let Some(msg) = messages.next().await {
                let payload: String = msg.get_payload().unwrap_or_default();
                if let Some(primary) = switched_to(&payload, &master_name) {
                    on_switch(&inner, primary);
                }
            }
        }
        // The sentinel went away (or never answered): try the next one after a pause.
        tokio::time::sleep(inner.config.backoff_cap).await;
    }
    // No sentinels at all (a hand-built config): never end, or the monitor would end too.
    std::future::pending::<()>().await
}

/// The new primary in a `+switch-master` payload (`<name> <old ip> <old port> <new ip>
/// <new port>`) for `master_name`.
fn switched_to(payload: &str, master_name: &str) -> Option<ServerAddr> {
    let parts: Vec<&str> = payload.split_whitespace().collect();
    match parts.as_slice() {
        [name, _, _, host, port] if *name == master_name => Some(ServerAddr::Tcp {
            host: (*host).to_string(),
            port: port.parse().ok()?,
        }),
        _ => None,
    }
}

fn on_switch(inner: &Inner, primary: ServerAddr) {
    tracing::info!(%primary, "sentinels switched the primary");
    if inner.slot.addr().is_some_and(|a| a == primary) {
        return;
    }
    inner.connector.hint_primary(primary);
    // While reconnecting there is nothing to replace: the next attempt uses the hint.
    if let Some(generation) = inner.slot.generation() {
        inner.slot.request(
            Request::Replace,
            generation,
            "sentinels switched the primary",
        );
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How long ago, in milliseconds, the last successful check was (None if never).
pub(crate) fn since_ms(unix_ms: Option<u64>) -> Option<u64> {
    unix_ms.map(|t| now_unix_ms().saturating_sub(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switch_master_payload_names_the_new_primary_of_our_master_only() {
        assert_eq!(
            switched_to("mymaster 127.0.0.1 7000 127.0.0.1 7001", "mymaster"),
            Some(ServerAddr::Tcp {
                host: "127.0.0.1".into(),
                port: 7001
            })
        );
        assert_eq!(switched_to("other 1.2.3.4 1 5.6.7.8 2", "mymaster"), None);
        assert_eq!(switched_to("mymaster garbage", "mymaster"), None);
    }
}
