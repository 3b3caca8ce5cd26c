//! Pipelines, Lua scripts, SCAN (every master of a cluster), the generic `cmd()` escape hatch
//! and dedicated connections.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use futures_util::Stream;
use redis::FromRedisValue;

use redis::aio::ConnectionLike;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo, Slot};
use redis::{RedisFuture, Value};

use crate::chokepoint::Source;
use crate::config::Topology;
use crate::connection::Conn;
use crate::deadline::Deadline;
use crate::error::Result;
use crate::gate::Admit;
use crate::manager::RedisManager;
use crate::metrics::{Op, op, op_of};

/// A stream of keys from SCAN (see [`RedisManager::scan_match`]).
pub type ScanStream = std::pin::Pin<Box<dyn Stream<Item = Result<String>> + Send>>;

impl RedisManager {
    /// Runs a pipeline; `pipe.atomic()` makes it MULTI/EXEC. On `Ok` every command ran; any
    /// failure is an `Err`. For a non-atomic pipeline cut off mid-way by a connection failure
    /// the server may have applied a prefix of it: use an atomic pipeline (or a script) when
    /// that matters.
    ///
    /// On a cluster, a non-atomic pipeline whose commands live on several slots is split by
    /// slot (redis-rs refuses it whole): each slot's commands run in order as one
    /// sub-pipeline, different slots concurrently, keyless and multi-slot commands in order
    /// with the rest, and the replies come back in the original order. A failure may leave a
    /// part applied, as for any non-atomic pipeline.
    /// An atomic pipeline across slots is `Error::CrossSlot`: a transaction cannot span nodes.
    pub async fn pipeline<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T> {
        self.run(
            op!("PIPELINE"),
            Deadline::Default,
            move |mut c| async move {
                let r = match &c {
                    Conn::Cluster(cluster) if !pipe.is_transaction() => {
                        split_by_slot(cluster.clone(), pipe).await
                    }
                    _ => pipe.query_async(&mut c).await,
                };
                (c, r)
            },
        )
        .await
    }

    /// Runs a Lua script invocation (EVALSHA, falling back to EVAL on NOSCRIPT, so scripts
    /// survive a server restart that emptied the script cache).
    pub async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T> {
        self.run(op!("EVALSHA"), Deadline::Default, move |mut c| async move {
            let r = invocation.invoke_async(&mut c).await;
            (c, r)
        })
        .await
    }

    /// The generic escape hatch: any command, through the same choke point.
    pub async fn cmd<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        self.run(op_of(cmd), Deadline::Default, move |mut c| async move {
            let r = cmd.query_async(&mut c).await;
            (c, r)
        })
        .await
    }

    /// A blocking command (XREAD BLOCK, BRPOP, WAIT, ...) on a dedicated connection, with a
    /// deadline of `block` plus the configured margin.
    pub async fn cmd_blocking<T: FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        block: Duration,
    ) -> Result<T> {
        let deadline = block + self.inner.config.blocking_margin;
        self.run_on(
            Source::Dedicated,
            Admit::Normal,
            op_of(cmd),
            Deadline::Custom(deadline),
            move |mut c| async move {
                let r = cmd.query_async(&mut c).await;
                (c, r)
            },
        )
        .await
    }

    /// Runs `f` on a dedicated connection (for WATCH/MULTI/EXEC sequences), through the choke
    /// point, with the command deadline covering the whole of `f`.
    pub async fn with_dedicated<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.run_on(
            Source::Dedicated,
            Admit::Normal,
            Op::lookup(op.as_bytes()),
            Deadline::Default,
            move |c| {
                let keep = c.clone();
                async move { (keep, f(c).await) }
            },
        )
        .await
    }

    /// One SCAN step: returns the next cursor and a batch of keys.
    ///
    /// On a cluster the cursor walks every master in address order: its top 16 bits are the
    /// master's position, the low 48 bits that master's own SCAN cursor (a server cursor never
    /// comes near 2^48). The master list is read afresh each step, so a scan that spans a
    /// topology change (failover, a new master) may skip or repeat keys; a slot migration
    /// alone does not lose keys that stay put.
    pub async fn scan_step(
        &self,
        cursor: u64,
        pattern: &str,
        count: usize,
    ) -> Result<(u64, Vec<String>)> {
        super::check_key(pattern)?;
        let scan = |cursor: u64| {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(count.max(1));
            cmd
        };
        if !matches!(self.inner.config.topology, Topology::Cluster(_)) {
            return self.query(op!("SCAN"), scan(cursor)).await;
        }
        let node = (cursor >> NODE_SHIFT) as usize;
        let cmd = scan(cursor & NODE_CURSOR_MASK);
        self.run(op!("SCAN"), Deadline::Default, move |mut c| async move {
            let r = cluster_scan_step(&mut c, node, cmd).await;
            (c, r)
        })
        .await
    }

    /// SCAN with MATCH/COUNT as a stream of keys (never KEYS). A key may appear twice if the
    /// key space is resized mid-scan (SCAN's own guarantee); every key that exists for the
    /// whole scan appears at least once. An error ends the stream after yielding it.
    pub fn scan_match(&self, pattern: &str, count: usize) -> ScanStream {
        struct St {
            mgr: RedisManager,
            pattern: String,
            count: usize,
            cursor: u64,
            buf: VecDeque<String>,
            done: bool,
        }
        let start = St {
            mgr: self.clone(),
            pattern: pattern.to_string(),
            count,
            cursor: 0,
            buf: VecDeque::new(),
            done: false,
        };
        Box::pin(futures_util::stream::unfold(start, |mut st| async move {
            loop {
                if let Some(k) = st.buf.pop_front() {
                    return Some((Ok(k), st));
                }
                if st.done {
                    return None;
                }
                match st.mgr.scan_step(st.cursor, &st.pattern, st.count).await {
                    Ok((next, keys)) => {
                        st.cursor = next;
                        st.done = next == 0;
                        st.buf.extend(keys);
                    }
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
            }
        }))
    }

    /// Deletes every key matching `pattern` with SCAN + UNLINK in batches of about `batch`;
    /// returns how many keys were removed. Errors stop the sweep and are returned.
    pub async fn unlink_matching(&self, pattern: &str, batch: usize) -> Result<u64> {
        let mut cursor = 0u64;
        let mut removed = 0u64;
        loop {
            let (next, keys) = self.scan_step(cursor, pattern, batch).await?;
            if !keys.is_empty() {
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                removed += self.unlink(&refs).await?;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }
}

/// Cluster SCAN cursors: the master's position lives above this bit.
const NODE_SHIFT: u32 = 48;
const NODE_CURSOR_MASK: u64 = (1 << NODE_SHIFT) - 1;

/// SCANs master number `node` (in address order) and builds the next cluster cursor.
async fn cluster_scan_step(
    conn: &mut Conn,
    node: usize,
    scan: redis::Cmd,
) -> redis::RedisResult<(u64, Vec<String>)> {
    let Conn::Cluster(cluster) = conn else {
        return scan.query_async(conn).await;
    };
    let masters = cluster_masters(cluster).await?;
    let Some((host, port)) = masters.get(node).cloned() else {
        // The cluster shrank under the scan: nothing left to visit.
        return Ok((0, Vec::new()));
    };
    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
    let reply = cluster.route_command(scan, route).await?;
    let (next, keys): (u64, Vec<String>) = redis::from_redis_value(reply)?;
    let next = if next > NODE_CURSOR_MASK {
        return Err(redis::RedisError::from((
            redis::ErrorKind::Parse,
            "SCAN cursor does not fit the cluster cursor encoding",
        )));
    } else if next != 0 {
        ((node as u64) << NODE_SHIFT) | next
    } else if node + 1 < masters.len() {
        ((node + 1) as u64) << NODE_SHIFT
    } else {
        0
    };
    Ok((next, keys))
}

/// The masters that serve slots, as `(host, port)`, sorted, from `CLUSTER SLOTS`.
async fn cluster_masters(
    cluster: &mut redis::cluster_async::ClusterConnection,
) -> redis::RedisResult<Vec<(String, u16)>> {
    let reply = cluster
        .route_command(
            redis::cmd("CLUSTER").arg("SLOTS").clone(),
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
        )
        .await?;
    let ranges: Vec<Vec<redis::Value>> = redis::from_redis_value(reply)?;
    let mut masters: Vec<(String, u16)> = Vec::new();
    for range in ranges {
        // [start, end, [host, port, id, ...], replicas...]
        let Some(master) = range.into_iter().nth(2) else {
            continue;
        };
        let fields: Vec<redis::Value> = redis::from_redis_value(master)?;
        let mut fields = fields.into_iter();
        let (Some(host), Some(port)) = (fields.next(), fields.next()) else {
            continue;
        };
        masters.push((
            redis::from_redis_value(host)?,
            redis::from_redis_value(port)?,
        ));
    }
    masters.sort();
    masters.dedup();
    Ok(masters)
}

/// Runs a non-atomic pipeline on a cluster: as is when it stays on one slot, otherwise one
/// sub-pipeline per slot, concurrently, with the replies put back in order.
pub(super) async fn split_by_slot<T: FromRedisValue>(
    cluster: redis::cluster_async::ClusterConnection,
    pipe: &redis::Pipeline,
) -> redis::RedisResult<T> {
    let cmds: Vec<&redis::Cmd> = pipe.cmd_iter().collect();
    // Commands on the same slot share a group, in pipeline order; groups of one phase touch
    // different slots, so they commute and run concurrently. A command whose slot is unknown
    // here (no key, or keys on several slots, which redis-rs splits itself) is a phase of its
    // own, so it stays in order with everything before and after it.
    let mut phases: Vec<Vec<Vec<usize>>> = Vec::new();
    let mut current: Vec<Vec<usize>> = Vec::new();
    let mut by_slot: HashMap<Slot, usize> = HashMap::new();
    for (i, cmd) in cmds.iter().enumerate() {
        let Some(slot) = slot_of(cmd) else {
            phases.push(std::mem::take(&mut current));
            phases.push(vec![vec![i]]);
            by_slot.clear();
            continue;
        };
        let g = *by_slot.entry(slot).or_insert_with(|| {
            current.push(Vec::new());
            current.len() - 1
        });
        current[g].push(i);
    }
    phases.push(current);
    phases.retain(|p| !p.is_empty());
    let mut conn = cluster.clone();
    if phases.len() == 1 && phases[0].len() == 1 {
        return pipe.query_async(&mut conn).await;
    }
    let mut values = vec![Value::Nil; cmds.len()];
    for groups in &phases {
        let replies = futures_util::future::try_join_all(groups.iter().map(|group| {
            let mut conn = cluster.clone();
            let cmds = &cmds;
            async move {
                if let [only] = group.as_slice() {
                    let v: Value = cmds[*only].query_async(&mut conn).await?;
                    return Ok(vec![v]);
                }
                let mut sub = redis::pipe();
                for &i in group {
                    sub.add_command(cmds[i].clone());
                }
                sub.query_async::<Vec<Value>>(&mut conn).await
            }
        }))
        .await?;
        for (group, replies) in groups.iter().zip(replies) {
            for (&i, v) in group.iter().zip(replies) {
                values[i] = v;
            }
        }
    }
    // Let the pipeline itself drop `.ignore()`d replies and convert, as if it had run whole.
    pipe.query_async(&mut Replay(Some(values))).await
}

/// The one slot a command's keys live on, or `None` when it has no key, its keys span slots
/// (redis-rs then splits it itself), or this function does not know where its keys are.
fn slot_of(cmd: &redis::Cmd) -> Option<Slot> {
    let args: Vec<&[u8]> = cmd
        .args_iter()
        .filter_map(|a| match a {
            redis::Arg::Simple(b) => Some(b),
            _ => None,
        })
        .collect();
    let (name, rest) = args.split_first()?;
    let keys: Vec<&[u8]> = match name.to_ascii_uppercase().as_slice() {
        b"MGET" | b"DEL" | b"UNLINK" | b"EXISTS" | b"TOUCH" => rest.to_vec(),
        b"MSET" | b"MSETNX" => rest.iter().step_by(2).copied().collect(),
        b"EVAL" | b"EVALSHA" | b"EVAL_RO" | b"EVALSHA_RO" | b"FCALL" | b"FCALL_RO" => {
            let n: usize = std::str::from_utf8(rest.get(1)?).ok()?.parse().ok()?;
            rest.get(2..2 + n)?.to_vec()
        }
        b"PING" | b"ECHO" | b"PUBLISH" | b"SCAN" | b"INFO" | b"CLUSTER" | b"CONFIG" | b"XREAD"
        | b"XREADGROUP" | b"WATCH" | b"SCRIPT" | b"FUNCTION" | b"TIME" => return None,
        _ => vec![*rest.first()?],
    };
    let first = Slot::for_key(keys.first()?);
    keys.iter()
        .all(|k| Slot::for_key(k) == first)
        .then_some(first)
}

/// A connection that answers a pipeline with replies gathered elsewhere.
struct Replay(Option<Vec<Value>>);

impl ConnectionLike for Replay {
    fn req_packed_command<'a>(&'a mut self, _cmd: &'a redis::Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async { Ok(Value::Nil) })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        _pipeline: &'a redis::Pipeline,
        _offset: usize,
        _count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let values = self.0.take().unwrap_or_default();
        Box::pin(async move { Ok(values) })
    }

    fn get_db(&self) -> i64 {
        0
    }
}
