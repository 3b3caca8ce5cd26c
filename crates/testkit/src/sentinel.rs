//! [`SentinelSetup`]: one primary, one replica and three sentinels, all real processes.
//!
//! Each sentinel is a kit server in sentinel mode with its own config file in its own
//! temp dir (sentinels rewrite their config). Timeouts are short (`down-after-milliseconds
//! 1000`, `failover-timeout 3000`) so a failover completes in a few seconds.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::options::ServerOptions;
use crate::resp::Value;
use crate::server::RedisServer;
use crate::wait::{self, info_field};

/// The name the sentinels monitor the primary under.
pub const MASTER_NAME: &str = "mymaster";
/// How long `start` waits for replication and sentinel discovery.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A primary, its replica and three sentinels (quorum 2); dropping it kills them all.
pub struct SentinelSetup {
    primary: RedisServer,
    replica: RedisServer,
    sentinels: Vec<RedisServer>,
}

fn query(node: &RedisServer, args: &[&str]) -> io::Result<Value> {
    node.connect(Duration::from_secs(2))?.command_ok(args)
}

fn text(node: &RedisServer, args: &[&str]) -> io::Result<String> {
    let v = query(node, args)?;
    v.text()
        .ok_or_else(|| io::Error::other(format!("unexpected reply to {args:?}: {v:?}")))
}

/// A field of a flat `[name, value, name, value, ...]` reply (`SENTINEL MASTER`).
fn field(v: &Value, name: &str) -> Option<String> {
    let Value::Array(items) = v else {
        return None;
    };
    items
        .chunks(2)
        .find(|kv| kv[0].text().as_deref() == Some(name))
        .and_then(|kv| kv.get(1)?.text())
}

impl SentinelSetup {
    /// Starts the primary, the replica (waits until it is in sync), then three sentinels,
    /// and waits until every sentinel sees the primary, the replica and both other
    /// sentinels (needed for a quorum and a failover leader election).
    pub fn start() -> io::Result<SentinelSetup> {
        Self::start_inner(None)
    }

    /// Like [`SentinelSetup::start`], but the sentinels require `password` (`requirepass`
    /// in each sentinel's config; they use it with each other too). The data nodes stay
    /// open.
    pub fn start_with_sentinel_password(password: &str) -> io::Result<SentinelSetup> {
        Self::start_inner(Some(password))
    }

    fn start_inner(sentinel_password: Option<&str>) -> io::Result<SentinelSetup> {
        let primary = RedisServer::start()?;
        let p_port = primary
            .port()
            .ok_or_else(|| io::Error::other("primary without a TCP port"))?;
        let replica = RedisServer::start_with(
            ServerOptions::new().arg("replicaof", &format!("127.0.0.1 {p_port}")),
        )?;
        wait::until(CONVERGE_TIMEOUT, "the replica to sync", || {
            let info = text(&replica, &["INFO", "replication"])?;
            Ok((info_field(&info, "master_link_status").as_deref() == Some("up")).then_some(()))
        })?;
        let opts = ServerOptions::new()
            .sentinel(true)
            .arg(
                "sentinel",
                &format!("monitor {MASTER_NAME} 127.0.0.1 {p_port} 2"),
            )
            .arg(
                "sentinel",
                &format!("down-after-milliseconds {MASTER_NAME} 1000"),
            )
            .arg("sentinel", &format!("failover-timeout {MASTER_NAME} 3000"))
            .arg("sentinel", &format!("parallel-syncs {MASTER_NAME} 1"));
        let opts = match sentinel_password {
            Some(pw) => opts.requirepass(pw),
            None => opts,
        };
        let sentinels = (0..3)
            .map(|_| RedisServer::start_with(opts.clone()))
            .collect::<io::Result<Vec<_>>>()?;
        let setup = SentinelSetup {
            primary,
            replica,
            sentinels,
        };
        wait::until(CONVERGE_TIMEOUT, "sentinels to discover everything", || {
            for (i, s) in setup.sentinels.iter().enumerate() {
                let m = query(s, &["SENTINEL", "MASTER", MASTER_NAME])?;
                let replicas = field(&m, "num-slaves").unwrap_or_default();
                let others = field(&m, "num-other-sentinels").unwrap_or_default();
                if replicas != "1" || others != "2" {
                    return Err(io::Error::other(format!(
                        "sentinel {i}: num-slaves {replicas}, num-other-sentinels {others}"
                    )));
                }
            }
            Ok(Some(()))
        })?;
        Ok(setup)
    }

    /// The monitored master's name, `"mymaster"`.
    pub fn master_name(&self) -> &str {
        MASTER_NAME
    }

    /// The sentinels' addresses.
    pub fn sentinel_addrs(&self) -> Vec<SocketAddr> {
        self.sentinels
            .iter()
            .filter_map(RedisServer::addr)
            .collect()
    }

    /// The sentinel processes, to kill or pause one.
    pub fn sentinels(&self) -> &[RedisServer] {
        &self.sentinels
    }

    /// `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/mymaster`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinel_addrs()
            .iter()
            .map(|a| a.to_string())
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", hosts.join(","))
    }

    /// The server started as primary (after a failover it is no longer the master).
    pub fn primary(&self) -> &RedisServer {
        &self.primary
    }

    /// The server started as replica (after a failover it is the master).
    pub fn replica(&self) -> &RedisServer {
        &self.replica
    }

    /// Kills (SIGKILL) the server started as primary.
    pub fn kill_primary(&self) {
        self.primary.kill();
    }

    /// The master address according to the first sentinel that answers.
    pub fn master_addr(&self) -> io::Result<SocketAddr> {
        let mut last = io::Error::other("no sentinel is running");
        for s in self.sentinels.iter().filter(|s| s.is_running()) {
            match self.master_addr_from(s) {
                Ok(a) => return Ok(a),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn master_addr_from(&self, sentinel: &RedisServer) -> io::Result<SocketAddr> {
        let v = query(
            sentinel,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
        )?;
        let Value::Array(parts) = &v else {
            return Err(io::Error::other(format!("unexpected master address {v:?}")));
        };
        let ip: Ipv4Addr = parts
            .first()
            .and_then(Value::text)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad master ip in {v:?}")))?;
        let port: u16 = parts
            .get(1)
            .and_then(Value::text)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad master port in {v:?}")))?;
        Ok(SocketAddr::from((ip, port)))
    }

    /// Waits until every running sentinel names a master other than the original
    /// primary's address and that server reports `role:master`; returns its address.
    pub fn wait_for_failover(&self, timeout: Duration) -> io::Result<SocketAddr> {
        let old = self
            .primary
            .addr()
            .ok_or_else(|| io::Error::other("primary without a TCP address"))?;
        wait::until(timeout, "the sentinels to fail over", || {
            let mut agreed = None;
            for s in self.sentinels.iter().filter(|s| s.is_running()) {
                let addr = self.master_addr_from(s)?;
                if addr == old || agreed.is_some_and(|a| a != addr) {
                    return Ok(None);
                }
                agreed = Some(addr);
            }
            let Some(new) = agreed else {
                return Err(io::Error::other("no sentinel is running"));
            };
            let node = [&self.replica, &self.primary]
                .into_iter()
                .find(|n| n.addr() == Some(new))
                .ok_or_else(|| io::Error::other(format!("sentinels name unknown {new}")))?;
            let info = text(node, &["INFO", "replication"])?;
            Ok((info_field(&info, "role").as_deref() == Some("master")).then_some(new))
        })
    }
}

impl std::fmt::Debug for SentinelSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelSetup")
            .field("url", &self.url())
            .finish()
    }
}
