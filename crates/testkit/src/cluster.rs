//! [`RedisCluster`]: a real Redis Cluster of [`RedisServer`] nodes.
//!
//! Nodes are ordinary kit servers with `cluster-enabled yes`, so each node can be killed,
//! restarted (its `nodes.conf` survives in its temp dir), paused or resumed like any
//! server. The cluster is created with `redis-cli --cluster create`; everything after
//! that (waiting, failover, resharding) speaks RESP directly.
//!
//! `cluster-node-timeout` is 1000 ms so a failover completes in a few seconds, and
//! `cluster-replica-validity-factor 0` lets a replica take over however stale it is.

use std::io;
use std::time::{Duration, Instant};

use crate::cli;
use crate::options::ServerOptions;
use crate::resp::Value;
use crate::server::RedisServer;
use crate::slot::SLOTS;
use crate::wait::{self, info_field};

/// `cluster-node-timeout` of every node, in milliseconds.
pub const NODE_TIMEOUT_MS: u64 = 1000;
/// How long `start` waits for the new cluster to converge.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(30);

/// One line of `CLUSTER NODES`, as seen by some node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterNode {
    /// The 40-character node id.
    pub id: String,
    /// The client port.
    pub port: u16,
    /// Flags such as `myself`, `master`, `slave`, `fail?`, `fail`.
    pub flags: Vec<String>,
    /// For a replica, the id of its master.
    pub master_id: Option<String>,
    /// Slot ranges served (inclusive), excluding importing/migrating markers.
    pub slots: Vec<(u16, u16)>,
}

impl ClusterNode {
    /// Whether this node is a master in that view.
    pub fn is_master(&self) -> bool {
        self.flags.iter().any(|f| f == "master")
    }

    /// Whether the view suspects or declared this node failed (`fail?` / `fail`).
    pub fn is_failing(&self) -> bool {
        self.flags.iter().any(|f| f.starts_with("fail"))
    }

    /// Whether it serves `slot` in that view.
    pub fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
    }

    fn parse(line: &str) -> Option<ClusterNode> {
        let mut f = line.split_whitespace();
        let id = f.next()?.to_owned();
        let addr = f.next()?;
        let hostport = addr.split(['@', ',']).next()?;
        let port = hostport.rsplit(':').next()?.parse().ok()?;
        let flags = f.next()?.split(',').map(str::to_owned).collect();
        let master = f.next()?;
        let master_id = (master != "-").then(|| master.to_owned());
        let slots = f
            .skip(4) // ping-sent pong-recv config-epoch link-state
            .filter(|t| !t.starts_with('['))
            .filter_map(|t| match t.split_once('-') {
                Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                None => t.parse().ok().map(|s| (s, s)),
            })
            .collect();
        Some(ClusterNode {
            id,
            port,
            flags,
            master_id,
            slots,
        })
    }
}

/// A running Redis Cluster; dropping it kills every node.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    ids: Vec<String>,
}

/// Runs one admin command on `node` and returns the reply as text.
fn text(node: &RedisServer, args: &[&str]) -> io::Result<String> {
    let v = node.connect(Duration::from_secs(2))?.command_ok(args)?;
    v.text()
        .ok_or_else(|| io::Error::other(format!("unexpected reply to {args:?}: {v:?}")))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl RedisCluster {
    /// Starts `masters` (at least 3, as `redis-cli --cluster create` requires) masters
    /// with `replicas_per_master` replicas each, and waits until every node reports
    /// `cluster_state:ok` with all 16384 slots covered and every replica is in sync.
    pub fn start(masters: usize, replicas_per_master: usize) -> io::Result<RedisCluster> {
        if masters < 3 {
            return Err(invalid(format!(
                "a cluster needs at least 3 masters, got {masters}"
            )));
        }
        let opts = ServerOptions::new()
            .cluster(true)
            .arg("cluster-node-timeout", &NODE_TIMEOUT_MS.to_string())
            .arg("cluster-replica-validity-factor", "0")
            .arg("cluster-allow-replica-migration", "no");
        let total = masters * (1 + replicas_per_master);
        let nodes = (0..total)
            .map(|_| RedisServer::start_with(opts.clone()))
            .collect::<io::Result<Vec<_>>>()?;
        let mut args: Vec<String> = vec!["--cluster".into(), "create".into()];
        for n in &nodes {
            args.push(format!("127.0.0.1:{}", n.port().unwrap_or_default()));
        }
        args.extend([
            "--cluster-replicas".into(),
            replicas_per_master.to_string(),
            "--cluster-yes".into(),
        ]);
        cli::run_ok(&cli::redis_cli_bin(), &args, Duration::from_secs(60))?;
        let ids = nodes
            .iter()
            .map(|n| text(n, &["CLUSTER", "MYID"]))
            .collect::<io::Result<Vec<_>>>()?;
        let cluster = RedisCluster { nodes, ids };
        cluster.wait_ok(CONVERGE_TIMEOUT)?;
        cluster.wait_replicas_synced(CONVERGE_TIMEOUT)?;
        Ok(cluster)
    }

    /// All nodes, masters and replicas, in creation order. Roles change on failover;
    /// ask [`RedisCluster::masters`] or [`RedisCluster::role`] for the current ones.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// Node `index` (panics if out of range, like slice indexing).
    pub fn node(&self, index: usize) -> &RedisServer {
        &self.nodes[index]
    }

    /// The cluster node id of node `index` (stable across restarts).
    pub fn node_id(&self, index: usize) -> &str {
        &self.ids[index]
    }

    /// `redis://127.0.0.1:PORT` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...` listing every node as a seed.
    pub fn seed_url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .filter_map(RedisServer::port)
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    fn index_of_port(&self, port: u16) -> io::Result<usize> {
        self.nodes
            .iter()
            .position(|n| n.port() == Some(port))
            .ok_or_else(|| io::Error::other(format!("no node of this cluster has port {port}")))
    }

    /// The cluster as seen by node `index` (`CLUSTER NODES`).
    pub fn view_of(&self, index: usize) -> io::Result<Vec<ClusterNode>> {
        let out = text(&self.nodes[index], &["CLUSTER", "NODES"])?;
        Ok(out.lines().filter_map(ClusterNode::parse).collect())
    }

    /// The cluster as seen by the first running node that answers.
    pub fn topology(&self) -> io::Result<Vec<ClusterNode>> {
        let mut last = io::Error::other("no node is running");
        for (i, n) in self.nodes.iter().enumerate() {
            if n.is_running() {
                match self.view_of(i) {
                    Ok(v) => return Ok(v),
                    Err(e) => last = e,
                }
            }
        }
        Err(last)
    }

    /// Indexes of the nodes that currently serve slots as masters.
    pub fn masters(&self) -> io::Result<Vec<usize>> {
        self.topology()?
            .iter()
            .filter(|n| n.is_master() && !n.is_failing() && !n.slots.is_empty())
            .map(|n| self.index_of_port(n.port))
            .collect()
    }

    /// Index of the master serving `slot` (see [`crate::key_slot`]).
    pub fn master_for_slot(&self, slot: u16) -> io::Result<usize> {
        let view = self.topology()?;
        let owner = view
            .iter()
            .find(|n| n.is_master() && !n.is_failing() && n.serves(slot))
            .ok_or_else(|| io::Error::other(format!("no live master serves slot {slot}")))?;
        self.index_of_port(owner.port)
    }

    /// Indexes of the replicas of node `index`.
    pub fn replicas_of(&self, index: usize) -> io::Result<Vec<usize>> {
        let id = &self.ids[index];
        self.topology()?
            .iter()
            .filter(|n| n.master_id.as_deref() == Some(id.as_str()))
            .map(|n| self.index_of_port(n.port))
            .collect()
    }

    /// `role` from `INFO replication` of node `index`: `"master"` or `"slave"`.
    pub fn role(&self, index: usize) -> io::Result<String> {
        let info = text(&self.nodes[index], &["INFO", "replication"])?;
        info_field(&info, "role").ok_or_else(|| io::Error::other("INFO without role"))
    }

    /// Waits until every running node reports `cluster_state:ok`, sees all 16384 slots
    /// served, and in its own view every slot owner is a live, running master.
    pub fn wait_ok(&self, timeout: Duration) -> io::Result<()> {
        wait::until(timeout, "cluster_state:ok on all nodes", || {
            for (i, n) in self.nodes.iter().enumerate() {
                if !n.is_running() {
                    continue;
                }
                let info = text(n, &["CLUSTER", "INFO"])?;
                let state = info_field(&info, "cluster_state").unwrap_or_default();
                let slots_ok = info_field(&info, "cluster_slots_ok").unwrap_or_default();
                if state != "ok" || slots_ok != SLOTS.to_string() {
                    return Err(io::Error::other(format!(
                        "node {i}: cluster_state:{state} cluster_slots_ok:{slots_ok}"
                    )));
                }
                for owner in self.view_of(i)?.iter().filter(|v| !v.slots.is_empty()) {
                    let idx = self.index_of_port(owner.port)?;
                    if owner.is_failing() || !self.nodes[idx].is_running() {
                        return Err(io::Error::other(format!(
                            "node {i} still routes slots to node {idx}"
                        )));
                    }
                }
            }
            Ok(Some(()))
        })
    }

    /// Waits until every running replica has `master_link_status:up`.
    pub fn wait_replicas_synced(&self, timeout: Duration) -> io::Result<()> {
        wait::until(timeout, "replicas in sync", || {
            for (i, n) in self.nodes.iter().enumerate() {
                if !n.is_running() {
                    continue;
                }
                let info = text(n, &["INFO", "replication"])?;
                if info_field(&info, "role").as_deref() == Some("slave")
                    && info_field(&info, "master_link_status").as_deref() != Some("up")
                {
                    return Err(io::Error::other(format!("node {i}: replication link down")));
                }
            }
            Ok(Some(()))
        })
    }

    /// Kills master `index` (SIGKILL), waits until one of its replicas reports
    /// `role:master` and the cluster is `ok` again on all running nodes; returns the
    /// promoted node's index. Fails at once if the master has no replica.
    pub fn kill_master_and_wait_failover(
        &self,
        index: usize,
        timeout: Duration,
    ) -> io::Result<usize> {
        let replicas = self.replicas_of(index)?;
        if replicas.is_empty() {
            return Err(invalid(format!(
                "node {index} has no replica to fail over to"
            )));
        }
        let deadline = Instant::now() + timeout;
        self.nodes[index].kill();
        let promoted = wait::until(timeout, "a replica to be promoted", || {
            for &r in &replicas {
                if self.role(r)? == "master" {
                    return Ok(Some(r));
                }
            }
            Ok(None)
        })?;
        self.wait_ok(deadline.saturating_duration_since(Instant::now()))?;
        Ok(promoted)
    }

    /// Moves `slot` and its keys to node `to` (a master): `SETSLOT IMPORTING/MIGRATING`,
    /// `MIGRATE` in batches, `SETSLOT NODE` on every master, then waits until every
    /// running node routes the slot to `to`. Clients see `ASK`/`MOVED` along the way.
    pub fn migrate_slot(&self, slot: u16, to: usize) -> io::Result<()> {
        let from = self.master_for_slot(slot)?;
        if from == to {
            return Ok(());
        }
        let s = slot.to_string();
        let (src, dst) = (&self.nodes[from], &self.nodes[to]);
        let dst_port = dst
            .port()
            .ok_or_else(|| invalid("target node has no TCP port".into()))?
            .to_string();
        text(
            dst,
            &["CLUSTER", "SETSLOT", &s, "IMPORTING", &self.ids[from]],
        )?;
        text(src, &["CLUSTER", "SETSLOT", &s, "MIGRATING", &self.ids[to]])?;
        let mut conn = src.connect(Duration::from_secs(10))?;
        loop {
            let keys = match conn.command_ok(&["CLUSTER", "GETKEYSINSLOT", &s, "100"])? {
                Value::Array(keys) => keys,
                other => return Err(io::Error::other(format!("GETKEYSINSLOT: {other:?}"))),
            };
            if keys.is_empty() {
                break;
            }
            let mut args: Vec<Vec<u8>> =
                ["MIGRATE", "127.0.0.1", &dst_port, "", "0", "5000", "KEYS"]
                    .iter()
                    .map(|a| a.as_bytes().to_vec())
                    .collect();
            args.extend(keys.into_iter().filter_map(|k| match k {
                Value::Bulk(b) => Some(b),
                _ => None,
            }));
            conn.command_ok(&args)?;
        }
        // Target first, then source, then everyone else, as the resharding docs advise.
        let masters = self.masters()?;
        let order = [to, from]
            .into_iter()
            .chain(masters.into_iter().filter(|&m| m != to && m != from));
        for m in order {
            text(
                &self.nodes[m],
                &["CLUSTER", "SETSLOT", &s, "NODE", &self.ids[to]],
            )?;
        }
        let to_port = self.nodes[to].port();
        wait::until(
            Duration::from_secs(10),
            "all nodes to agree on the slot owner",
            || {
                for (i, n) in self.nodes.iter().enumerate() {
                    if !n.is_running() {
                        continue;
                    }
                    let owner = self
                        .view_of(i)?
                        .into_iter()
                        .find(|v| v.is_master() && v.serves(slot));
                    if owner.map(|o| o.port) != to_port {
                        return Ok(None);
                    }
                }
                Ok(Some(()))
            },
        )
    }
}

impl std::fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCluster")
            .field("seed_url", &self.seed_url())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cluster_nodes_lines() {
        let line = "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host slave \
                    e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected";
        let n = ClusterNode::parse(line).unwrap();
        assert_eq!(n.port, 30004);
        assert_eq!(
            n.master_id.as_deref(),
            Some("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")
        );
        assert!(!n.is_master());
        let m = ClusterNode::parse(
            "e7d1 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 7000 [7001->-abc]",
        )
        .unwrap();
        assert!(m.is_master() && m.serves(5460) && m.serves(7000) && !m.serves(7001));
    }
}
