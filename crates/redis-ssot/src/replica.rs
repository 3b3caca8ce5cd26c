//! Reads from a replica, for calls that opt in ([`RedisManager::replica_reads`]).
//!
//! A replica is behind its primary by the replication lag (usually well under a millisecond,
//! unbounded during trouble), so only reads that can tolerate slightly stale data belong here.
//! In exchange they take load off the primary and keep working while the primary is down.
//!
//! * Sentinel: the first replica the sentinels list as healthy, checked with ROLE.
//! * Cluster: a second cluster connection that sends read commands to a random replica of
//!   the slot's shard (redis-rs's read routing).
//! * Standalone: there is no replica; reads go to the server.
//!
//! The replica connection is opened on first use and dropped when it fails or when the
//! primary connection is replaced (after a failover the replica may be the primary now).
//! When no replica can be reached, the read goes to the primary through the normal path and
//! `status().replica_fallbacks` counts it: opting in never makes a read fail that the primary
//! could have served. A failing replica never trips the breaker or replaces the primary's
//! connection. After a failed attempt, the next one waits a second, so a dead replica does
//! not cost a sentinel round trip per read.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use redis::{Cmd, FromRedisValue};

use crate::commands::{check_key, check_keys};
use crate::config::{ServerAddr, Topology};
use crate::connection::Conn;
use crate::error::{Error, Result};
use crate::manager::RedisManager;
use crate::metrics::{Op, op, op_of};

/// How long a failed replica connect keeps later reads on the primary before retrying.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The cached replica connection.
pub(crate) struct ReplicaConn {
    conn: Conn,
    addr: ServerAddr,
    /// The primary connection's generation when this was opened: a newer primary connection
    /// (a failover, a reconnect) retires it.
    primary_generation: u64,
}

/// Replica-side state of one manager.
#[derive(Default)]
pub(crate) struct ReplicaState {
    current: arc_swap::ArcSwapOption<ReplicaConn>,
    /// Serialises connects; holds when the last one failed.
    connecting: tokio::sync::Mutex<Option<Instant>>,
    reads: std::sync::atomic::AtomicU64,
    fallbacks: std::sync::atomic::AtomicU64,
}

impl ReplicaState {
    /// Drops the replica connection (shutdown).
    pub(crate) fn clear(&self) {
        self.current.store(None);
    }

    /// Reads served by a replica, and reads that fell back to the primary.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::Relaxed),
            self.fallbacks.load(Ordering::Relaxed),
        )
    }
}

/// Read commands that a replica may serve. Get one from [`RedisManager::replica_reads`].
#[derive(Debug, Clone)]
pub struct ReplicaReads {
    manager: RedisManager,
}

impl RedisManager {
    /// A handle whose reads go to a replica when there is one (see the module docs for what
    /// that means for freshness). Writes do not belong here: a replica refuses them.
    pub fn replica_reads(&self) -> ReplicaReads {
        ReplicaReads {
            manager: self.clone(),
        }
    }
}

impl ReplicaReads {
    /// GET from a replica: `Ok(None)` when the key is missing there.
    pub async fn get<T: FromRedisValue>(&self, key: &str) -> Result<Option<T>> {
        check_key(key)?;
        let mut cmd = redis::cmd("GET");
        cmd.arg(key);
        self.read(op!("GET"), cmd).await
    }

    /// MGET from replicas (split by slot on a cluster).
    pub async fn mget<T: FromRedisValue>(&self, keys: &[&str]) -> Result<Vec<Option<T>>> {
        check_keys(keys)?;
        let mut cmd = redis::cmd("MGET");
        cmd.arg(keys);
        self.read(op!("MGET"), cmd).await
    }

    /// Any read-only command (HGETALL, ZRANGE, XRANGE, ...). A write is refused by the
    /// replica with a `READONLY` reply error.
    pub async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.read(op_of(cmd), cmd.clone()).await
    }

    /// The replica reads are served from now, if any (`host:port`; a seed for a cluster).
    pub fn replica(&self) -> Option<String> {
        let state = &self.manager.inner.replica;
        state.current.load().as_ref().map(|r| r.addr.to_string())
    }

    async fn read<T: FromRedisValue>(&self, op: Op, cmd: Cmd) -> Result<T> {
        let m = &self.manager;
        let state = &m.inner.replica;
        if let Some(replica) = self.replica_conn().await {
            match m.run_on_replica(op, replica.conn.clone(), &cmd).await {
                Ok(v) => {
                    state.reads.fetch_add(1, Ordering::Relaxed);
                    return Ok(v);
                }
                // Refused before any I/O: the primary is no better off.
                Err(e @ Error::Overloaded { .. }) => return Err(e),
                Err(e) if !e.is_unavailable() => {
                    // A reply error from the replica: READONLY is a caller's write, and
                    // anything else would be the same on the primary.
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(replica = %replica.addr, error = %m.inner.redact(e.to_string()),
                        "replica read failed; dropping the replica connection");
                    let current = state.current.load();
                    if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &replica)) {
                        state.current.store(None);
                    }
                }
            }
        }
        if !matches!(m.inner.config.topology, Topology::Standalone(_)) {
            state.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        m.query(op, cmd).await
    }

    /// The cached replica connection, opening one if there is none and the last attempt did
    /// not fail within [`RETRY_AFTER`].
    async fn replica_conn(&self) -> Option<Arc<ReplicaConn>> {
        let inner = &self.manager.inner;
        if matches!(inner.config.topology, Topology::Standalone(_)) {
            return None;
        }
        let primary_generation = inner.slot.generation()?;
        let fresh = |r: &Arc<ReplicaConn>| r.primary_generation == primary_generation;
        if let Some(r) = inner.replica.current.load_full().filter(fresh) {
            return Some(r);
        }
        let mut last_failure = inner.replica.connecting.lock().await;
        // Somebody else may have connected while this call waited for the lock.
        if let Some(r) = inner.replica.current.load_full().filter(fresh) {
            return Some(r);
        }
        if last_failure.is_some_and(|at| at.elapsed() < RETRY_AFTER) {
            return None;
        }
        let connect = inner.connector.connect_replica();
        match tokio::time::timeout(inner.config.connect_timeout, connect).await {
            Ok(Ok(Some((conn, addr)))) => {
                *last_failure = None;
                tracing::info!(replica = %addr, "reading from a replica");
                let r = Arc::new(ReplicaConn {
                    conn,
                    addr,
                    primary_generation,
                });
                inner.replica.current.store(Some(r.clone()));
                Some(r)
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                tracing::warn!(error = %inner.redact(e.to_string()), "no replica to read from");
                *last_failure = Some(Instant::now());
                None
            }
            Err(_) => {
                *last_failure = Some(Instant::now());
                None
            }
        }
    }
}
