//! Periodic cluster topology refresh.
//!
//! redis-rs's cluster connection reloads its slot map only when a node answers MOVED or a
//! node connection fails. Until then it keeps sending to where slots *were*: every command to
//! a migrated slot pays a MOVED hop, a promoted replica that nobody has written to yet is
//! unknown, and a node added to the cluster is never used. This task re-reads `CLUSTER SLOTS`
//! every [`Config::topology_refresh`](crate::Config::topology_refresh), through the choke
//! point, and when the slot map differs from the one the current connection started with it
//! asks the supervisor to build a fresh cluster connection and swap it in. The swap is
//! make-before-break: the old connection serves commands until the new one is installed, and
//! the manager stays `Ready` throughout.

use std::sync::Arc;

use redis::Value;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};

use crate::config::Topology;
use crate::connection::Conn;
use crate::deadline::Deadline;
use crate::error::Result;
use crate::manager::{Inner, RedisManager};
use crate::metrics::op;

/// The pause after a failed refresh before the next try.
const ERROR_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// One slot range: first slot, last slot, master `host:port`, replicas' `host:port` sorted.
type Range = (i64, i64, String, Vec<String>);

/// A slot map in a canonical form, comparable between nodes and over time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotMap(Vec<Range>);

pub(crate) async fn run(inner: Arc<Inner>) {
    let interval = inner.config.topology_refresh;
    if !matches!(inner.config.topology, Topology::Cluster(_)) || interval.is_zero() {
        return;
    }
    let mut shutdown = inner.lifecycle.subscribe();
    let mut state = inner.state.subscribe();
    let manager = RedisManager::from_inner(inner.clone());
    let current = || inner.slot.generation();
    // The slot map the current connection started from, by connection generation.
    let mut baseline: Option<(u64, SlotMap)> = None;
    loop {
        if inner.lifecycle.is_shutting_down() {
            return;
        }
        let Some(generation) = current() else {
            // Not connected: wait for the supervisor.
            tokio::select! {
                _ = state.changed() => {}
                _ = shutdown.changed() => return,
            }
            continue;
        };
        // A new connection takes its baseline at once (the slot map it just loaded), so a
        // change soon after connecting is not mistaken for the starting point.
        if baseline.as_ref().map(|b| b.0) == Some(generation) {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
            if current() != Some(generation) {
                continue;
            }
        }
        // Errors are the command path's and the health monitor's business: skip this round,
        // after a pause (a refused call returns at once; without it this would spin).
        let Ok(map) = manager.cluster_slot_map().await else {
            tokio::select! {
                _ = tokio::time::sleep(interval.min(ERROR_PAUSE)) => {}
                _ = shutdown.changed() => return,
            }
            continue;
        };
        match &baseline {
            Some((g, known)) if *g == generation => {
                if *known != map {
                    tracing::info!(generation, "cluster slot map changed; rebuilding");
                    swap(&inner).await;
                }
            }
            _ => baseline = Some((generation, map)),
        }
    }
}

/// Asks the supervisor for a make-before-break swap and waits for it; a swap that installed a
/// new connection is counted as a topology change.
async fn swap(inner: &Inner) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    inner.slot.request_swap(Some(tx));
    let wait = inner.config.connect_timeout * 2;
    match tokio::time::timeout(wait, rx).await {
        Ok(Ok(Ok(()))) => {
            inner
                .counters
                .topology_changes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %inner.redact(e.to_string()), "topology swap failed; keeping the current connection");
        }
        Ok(Err(_)) | Err(_) => {}
    }
}

impl RedisManager {
    /// The cluster's slot map as one (random) node sees it, through the choke point.
    pub(crate) async fn cluster_slot_map(&self) -> Result<SlotMap> {
        self.run(op!("CLUSTER"), Deadline::Default, |c| async move {
            let r = match &c {
                Conn::Cluster(cluster) => {
                    let mut cluster = cluster.clone();
                    let slots = redis::cmd("CLUSTER").arg("SLOTS").clone();
                    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random);
                    cluster
                        .route_command(slots, route)
                        .await
                        .and_then(SlotMap::parse)
                }
                Conn::Single(_) => Ok(SlotMap(Vec::new())),
            };
            (c, r)
        })
        .await
    }
}

impl SlotMap {
    /// Parses a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id, ..], replicas..], ..]`.
    pub(crate) fn parse(reply: Value) -> redis::RedisResult<SlotMap> {
        let node = |v: Value| -> redis::RedisResult<String> {
            let fields: Vec<Value> = redis::from_redis_value(v)?;
            let mut fields = fields.into_iter();
            let host: String = fields
                .next()
                .map(redis::from_redis_value)
                .transpose()?
                .unwrap_or_default();
            let port: i64 = fields
                .next()
                .map(redis::from_redis_value)
                .transpose()?
                .unwrap_or_default();
            Ok(format!("{host}:{port}"))
        };
        let ranges: Vec<Vec<Value>> = redis::from_redis_value(reply)?;
        let mut out = Vec::with_capacity(ranges.len());
        for range in ranges {
            let mut items = range.into_iter();
            let (Some(start), Some(end), Some(master)) = (items.next(), items.next(), items.next())
            else {
                continue;
            };
            let mut replicas = items.map(node).collect::<redis::RedisResult<Vec<_>>>()?;
            replicas.sort();
            out.push((
                redis::from_redis_value(start)?,
                redis::from_redis_value(end)?,
                node(master)?,
                replicas,
            ));
        }
        out.sort();
        Ok(SlotMap(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, port: i64, id: &str) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(id.as_bytes().to_vec()),
        ])
    }

    fn range(start: i64, end: i64, nodes: Vec<Value>) -> Value {
        let mut v = vec![Value::Int(start), Value::Int(end)];
        v.extend(nodes);
        Value::Array(v)
    }

    #[test]
    fn the_same_map_listed_in_another_order_is_equal() {
        let a = Value::Array(vec![
            range(
                0,
                99,
                vec![node("h", 1, "a"), node("h", 4, "d"), node("h", 5, "e")],
            ),
            range(100, 200, vec![node("h", 2, "b")]),
        ]);
        let b = Value::Array(vec![
            range(100, 200, vec![node("h", 2, "b")]),
            range(
                0,
                99,
                vec![node("h", 1, "a"), node("h", 5, "e"), node("h", 4, "d")],
            ),
        ]);
        assert_eq!(SlotMap::parse(a).unwrap(), SlotMap::parse(b).unwrap());
    }

    #[test]
    fn a_moved_slot_or_a_new_master_is_a_different_map() {
        let before = Value::Array(vec![
            range(0, 99, vec![node("h", 1, "a")]),
            range(100, 200, vec![node("h", 2, "b")]),
        ]);
        let migrated = Value::Array(vec![
            range(0, 98, vec![node("h", 1, "a")]),
            range(99, 99, vec![node("h", 2, "b")]),
            range(100, 200, vec![node("h", 2, "b")]),
        ]);
        let failed_over = Value::Array(vec![
            range(0, 99, vec![node("h", 3, "c")]),
            range(100, 200, vec![node("h", 2, "b")]),
        ]);
        let before = SlotMap::parse(before).unwrap();
        assert_ne!(before, SlotMap::parse(migrated).unwrap());
        assert_ne!(before, SlotMap::parse(failed_over).unwrap());
    }

    #[test]
    fn a_reply_that_is_not_a_slot_list_is_an_error() {
        assert!(SlotMap::parse(Value::Int(3)).is_err());
    }
}
