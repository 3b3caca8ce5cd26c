//! The connection layer: turns a [`Config`] into a live connection, whatever the topology.
//!
//! The choke point only sees [`Conn`], which is either one multiplexed connection (a
//! standalone server or the primary a Sentinel named) or a cluster connection. Both implement
//! redis-rs's `ConnectionLike`, so commands, pipelines and scripts are sent the same way and
//! every store works unchanged on a cluster. This is the only module that constructs redis-rs
//! clients.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo};
use redis::{Pipeline, RedisConnectionInfo, RedisFuture, Value};

use crate::config::{Config, ServerAddr, Topology};
use crate::error::{ConnectionKind, Error, Result};

/// A live connection the choke point can send through. Cloning is cheap (handles to the same
/// socket(s)).
#[derive(Clone)]
#[non_exhaustive]
pub enum Conn {
    /// A redis-rs multiplexed connection to a standalone server or a Sentinel-named primary
    /// (TCP, TLS or a unix socket).
    Single(MultiplexedConnection),
    /// A Redis Cluster connection (routes by slot, follows MOVED/ASK).
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Knows how to reach the deployment; holds no connection itself.
pub(crate) struct Connector {
    config: Arc<Config>,
    tls_certs: Option<redis::TlsCertificates>,
    /// The primary a sentinel just announced (`+switch-master`), tried before asking the
    /// sentinels again: right after a switch the other sentinels may still name the old one.
    primary_hint: Mutex<Option<ServerAddr>>,
}

impl Connector {
    /// Prepares everything that can fail without I/O (TLS files are read here, so a missing CA
    /// file is a config error at start-up rather than an endless reconnect loop).
    pub(crate) fn new(config: Arc<Config>) -> Result<Self> {
        let tls_certs = match &config.tls {
            None => None,
            Some(tls) => {
                let read = |field: &str, path: &std::path::Path| {
                    std::fs::read(path).map_err(|e| {
                        Error::config(field, format!("cannot read {}: {e}", path.display()))
                    })
                };
                let root_cert = tls
                    .ca_file
                    .as_deref()
                    .map(|p| read("ca_file", p))
                    .transpose()?;
                let client_tls = match (&tls.cert_file, &tls.key_file) {
                    (Some(c), Some(k)) => Some(redis::ClientTlsConfig {
                        client_cert: read("cert_file", c)?,
                        client_key: read("key_file", k)?,
                    }),
                    _ => None,
                };
                Some(redis::TlsCertificates {
                    client_tls,
                    root_cert,
                })
            }
        };
        Ok(Connector {
            config,
            tls_certs,
            primary_hint: Mutex::new(None),
        })
    }

    fn redis_info(&self) -> RedisConnectionInfo {
        let mut info = RedisConnectionInfo::default().set_db(self.config.db);
        if let Some(user) = &self.config.username {
            info = info.set_username(user);
        }
        if let Some(pass) = &self.config.password {
            info = info.set_password(pass.expose());
        }
        info
    }

    /// How to reach one sentinel: plain TCP, with the sentinels' own credentials if set.
    fn sentinel_info(&self, sentinel: &ServerAddr) -> Result<ConnectionInfo> {
        let mut auth = RedisConnectionInfo::default();
        if let Some(user) = &self.config.sentinel_username {
            auth = auth.set_username(user);
        }
        if let Some(pass) = &self.config.sentinel_password {
            auth = auth.set_password(pass.expose());
        }
        Ok(
            ConnectionAddr::Tcp(sentinel_host(sentinel), sentinel_port(sentinel))
                .into_connection_info()?
                .set_redis_settings(auth),
        )
    }

    fn connection_addr(&self, addr: &ServerAddr) -> ConnectionAddr {
        match addr {
            ServerAddr::Unix(path) => ConnectionAddr::Unix(path.clone()),
            ServerAddr::Tcp { host, port } if self.config.tls.is_some() => ConnectionAddr::TcpTls {
                host: host.clone(),
                port: *port,
                insecure: false,
                tls_params: None,
            },
            ServerAddr::Tcp { host, port } => ConnectionAddr::Tcp(host.clone(), *port),
        }
    }

    fn connection_info(&self, addr: &ServerAddr) -> Result<ConnectionInfo> {
        Ok(self
            .connection_addr(addr)
            .into_connection_info()?
            .set_redis_settings(self.redis_info()))
    }

    fn client_for(&self, addr: &ServerAddr) -> Result<redis::Client> {
        let info = self.connection_info(addr)?;
        let client = match &self.tls_certs {
            Some(certs) => redis::Client::build_with_tls(info, certs.clone())?,
            None => redis::Client::open(info)?,
        };
        Ok(client)
    }

    fn async_config(&self) -> AsyncConnectionConfig {
        // Our own choke point owns the per-command deadline; a second timer inside redis-rs
        // would only cost CPU on every command.
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config.connect_timeout))
            .set_response_timeout(None)
    }

    /// Opens one new connection, handshake included. Used by the supervisor for the shared
    /// connection and by the dedicated pool.
    pub(crate) async fn connect(&self) -> Result<(Conn, ServerAddr)> {
        match &self.config.topology {
            Topology::Standalone(addr) => {
                let conn = self.connect_single(addr).await?;
                Ok((conn, addr.clone()))
            }
            Topology::Sentinel {
                sentinels,
                master_name,
            } => {
                let hint = self.primary_hint.lock().ok().and_then(|mut h| h.take());
                if let Some(primary) = hint
                    && let Ok(conn) = self.connect_primary(&primary, master_name).await
                {
                    return Ok((conn, primary));
                }
                let primary = self.discover_primary(sentinels, master_name).await?;
                let conn = self.connect_primary(&primary, master_name).await?;
                Ok((conn, primary))
            }
            Topology::Cluster(nodes) => {
                let builder = self.cluster_builder(nodes)?;
                let client = builder.build()?;
                let conn = client.get_async_connection().await?;
                Ok((Conn::Cluster(conn), nodes[0].clone()))
            }
        }
    }

    /// A cluster client builder for `nodes` with this deployment's timeouts, credentials and
    /// TLS.
    ///
    /// redis-rs 1.8 has no periodic topology refresh option: it reloads the slot map when a node
    /// answers MOVED or a node connection fails; the `topology` task adds the periodic refresh.
    /// `retries` absorbs the MOVED/ASK/TRYAGAIN hops. No response timeout inside redis-rs: the
    /// choke point's deadline covers the whole request, retries included, and a second timer
    /// per command would only cost CPU (as for the single connection).
    fn cluster_builder(
        &self,
        nodes: &[ServerAddr],
    ) -> Result<redis::cluster::ClusterClientBuilder> {
        let infos = nodes
            .iter()
            .map(|n| self.connection_info(n))
            .collect::<Result<Vec<_>>>()?;
        let mut builder = redis::cluster::ClusterClientBuilder::new(infos)
            .connection_timeout(self.config.connect_timeout)
            .overall_response_timeout(None)
            .retries(3);
        if let Some(user) = &self.config.username {
            builder = builder.username(user);
        }
        if let Some(pass) = &self.config.password {
            builder = builder.password(pass.expose());
        }
        if let Some(certs) = &self.tls_certs {
            builder = builder.tls(redis::TlsMode::Secure).certs(certs.clone());
        }
        Ok(builder)
    }

    /// Connects to `primary` and checks with ROLE that it really is a master.
    async fn connect_primary(&self, primary: &ServerAddr, master_name: &str) -> Result<Conn> {
        let mut conn = self.connect_single(primary).await?;
        let role: Vec<Value> = redis::cmd("ROLE").query_async(&mut conn).await?;
        match role.first() {
            Some(Value::BulkString(r)) if r.as_slice() == b"master" => Ok(conn),
            _ => Err(Error::connection(
                ConnectionKind::NotPrimary,
                format!(
                    "sentinel named {primary} as primary of {master_name}, but it is not a master"
                ),
            )),
        }
    }

    /// Remembers the primary a sentinel announced, for the next connect.
    pub(crate) fn hint_primary(&self, primary: ServerAddr) {
        if let Ok(mut h) = self.primary_hint.lock() {
            *h = Some(primary);
        }
    }

    /// A pub/sub connection to one sentinel (to hear `+switch-master`).
    pub(crate) async fn sentinel_pubsub(
        &self,
        sentinel: &ServerAddr,
    ) -> Result<redis::aio::PubSub> {
        let client = redis::Client::open(self.sentinel_info(sentinel)?)?;
        let connect = client.get_async_pubsub();
        match tokio::time::timeout(self.config.connect_timeout, connect).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(Error::connection(
                ConnectionKind::Discovery,
                format!("sentinel {sentinel} timed out"),
            )),
        }
    }

    /// One multiplexed redis-rs connection to one server.
    async fn connect_single(&self, addr: &ServerAddr) -> Result<Conn> {
        let client = self.client_for(addr)?;
        let conn = client
            .get_multiplexed_async_connection_with_config(&self.async_config())
            .await?;
        Ok(Conn::Single(conn))
    }

    /// A dedicated pub/sub connection to the current primary (standalone or sentinel).
    pub(crate) async fn pubsub(&self, primary: &ServerAddr) -> Result<redis::aio::PubSub> {
        let client = self.client_for(primary)?;
        Ok(client.get_async_pubsub().await?)
    }

    /// Asks each sentinel in turn for the current primary of `master_name`.
    async fn discover_primary(
        &self,
        sentinels: &[ServerAddr],
        master_name: &str,
    ) -> Result<ServerAddr> {
        let mut cmd = redis::cmd("SENTINEL");
        cmd.arg("get-master-addr-by-name").arg(master_name);
        let unknown = format!("does not know master {master_name:?}");
        let addr: Option<(String, u16)> = self
            .ask_sentinels(sentinels, &cmd, Option::is_some, &unknown)
            .await?;
        match addr {
            Some((host, port)) => Ok(ServerAddr::Tcp { host, port }),
            None => Err(Error::connection(
                ConnectionKind::Discovery,
                format!("the sentinels {unknown}"),
            )),
        }
    }

    /// Sends `cmd` to each sentinel in turn and returns the first reply that is `useful`
    /// (a sentinel that answers something else, fails or times out is skipped; `useless`
    /// says why in the error when none was useful).
    async fn ask_sentinels<T: redis::FromRedisValue>(
        &self,
        sentinels: &[ServerAddr],
        cmd: &Cmd,
        useful: impl Fn(&T) -> bool,
        useless: &str,
    ) -> Result<T> {
        let mut last_err = Error::connection(ConnectionKind::Discovery, "no sentinel answered");
        for sentinel in sentinels {
            let info = self.sentinel_info(sentinel)?;
            let attempt = async {
                let client = redis::Client::open(info)?;
                let mut conn = client
                    .get_multiplexed_async_connection_with_config(&self.async_config())
                    .await?;
                Ok::<T, Error>(cmd.query_async(&mut conn).await?)
            };
            match tokio::time::timeout(self.config.connect_timeout, attempt).await {
                Ok(Ok(reply)) if useful(&reply) => return Ok(reply),
                Ok(Ok(_)) => {
                    last_err = Error::connection(
                        ConnectionKind::Discovery,
                        format!("sentinel {sentinel} {useless}"),
                    );
                }
                Ok(Err(e)) => last_err = e,
                Err(_) => {
                    last_err = Error::connection(
                        ConnectionKind::Discovery,
                        format!("sentinel {sentinel} timed out"),
                    );
                }
            }
        }
        Err(last_err)
    }

    /// A connection that serves reads from a replica, for calls that opt in. Sentinel: the
    /// first replica the sentinels list as healthy (link up, not down), checked with ROLE.
    /// Cluster: a second cluster connection that routes read commands to replicas. `None` for
    /// a standalone server, which has no replica to read from.
    pub(crate) async fn connect_replica(&self) -> Result<Option<(Conn, ServerAddr)>> {
        match &self.config.topology {
            Topology::Standalone(_) => Ok(None),
            Topology::Sentinel {
                sentinels,
                master_name,
            } => {
                let mut last_err = Error::connection(
                    ConnectionKind::Discovery,
                    format!("no healthy replica of {master_name}"),
                );
                for replica in self.healthy_replicas(sentinels, master_name).await? {
                    let attempt = async {
                        let mut conn = self.connect_single(&replica).await?;
                        let role: Vec<Value> = redis::cmd("ROLE").query_async(&mut conn).await?;
                        match role.first() {
                            Some(Value::BulkString(r)) if r.as_slice() == b"slave" => Ok(conn),
                            _ => Err(Error::connection(
                                ConnectionKind::Discovery,
                                format!(
                                    "sentinel listed {replica} as a replica, but it is not one"
                                ),
                            )),
                        }
                    };
                    match tokio::time::timeout(self.config.connect_timeout, attempt).await {
                        Ok(Ok(conn)) => return Ok(Some((conn, replica))),
                        Ok(Err(e)) => last_err = e,
                        Err(_) => {
                            last_err = Error::connection(
                                ConnectionKind::Discovery,
                                format!("replica {replica} timed out"),
                            )
                        }
                    }
                }
                Err(last_err)
            }
            Topology::Cluster(nodes) => {
                let builder = self
                    .cluster_builder(nodes)?
                    .read_routing_strategy(redis::cluster_read_routing::RandomReplicaStrategy);
                let conn = builder.build()?.get_async_connection().await?;
                Ok(Some((Conn::Cluster(conn), nodes[0].clone())))
            }
        }
    }

    /// The replicas the first answering sentinel lists as healthy (link up, not down).
    async fn healthy_replicas(
        &self,
        sentinels: &[ServerAddr],
        master_name: &str,
    ) -> Result<Vec<ServerAddr>> {
        let mut cmd = redis::cmd("SENTINEL");
        cmd.arg("REPLICAS").arg(master_name);
        let replicas: Vec<std::collections::HashMap<String, String>> = self
            .ask_sentinels(sentinels, &cmd, |_: &Vec<_>| true, "")
            .await?;
        Ok(replicas
            .iter()
            .filter(|r| {
                let flags = r.get("flags").map(String::as_str).unwrap_or("");
                !flags.contains("down")
                    && !flags.contains("disconnected")
                    && r.get("master-link-status").map(String::as_str) == Some("ok")
            })
            .filter_map(|r| {
                Some(ServerAddr::Tcp {
                    host: r.get("ip")?.clone(),
                    port: r.get("port")?.parse().ok()?,
                })
            })
            .collect())
    }

    /// Whether a cheap recovery probe exists for this topology (see [`Connector::probe`]).
    pub(crate) fn can_probe(&self) -> bool {
        !matches!(self.config.topology, Topology::Cluster(_))
    }

    /// A cheap check, without a Redis handshake, that a reconnect would find a server now.
    ///
    /// Standalone: the port accepts. Sentinel: the sentinels name a primary and its port
    /// accepts, so after a failover the supervisor moves as soon as the sentinels switch
    /// rather than after a backoff step. A cluster connection rediscovers nodes itself.
    pub(crate) async fn probe(&self, within: Duration) -> bool {
        match &self.config.topology {
            Topology::Standalone(addr) => port_accepts(addr, within).await,
            Topology::Sentinel {
                sentinels,
                master_name,
            } => {
                let named =
                    tokio::time::timeout(within, self.discover_primary(sentinels, master_name))
                        .await;
                match named {
                    Ok(Ok(primary)) => port_accepts(&primary, within).await,
                    _ => false,
                }
            }
            Topology::Cluster(_) => false,
        }
    }
}

fn sentinel_host(addr: &ServerAddr) -> String {
    match addr {
        ServerAddr::Tcp { host, .. } => host.clone(),
        ServerAddr::Unix(p) => p.display().to_string(),
    }
}

fn sentinel_port(addr: &ServerAddr) -> u16 {
    match addr {
        ServerAddr::Tcp { port, .. } => *port,
        ServerAddr::Unix(_) => 26379,
    }
}

/// Whether something accepts connections at `addr` right now (no Redis handshake).
pub(crate) async fn port_accepts(addr: &ServerAddr, within: Duration) -> bool {
    let attempt = async {
        match addr {
            ServerAddr::Tcp { host, port } => {
                tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .is_ok()
            }
            ServerAddr::Unix(path) => tokio::net::UnixStream::connect(path).await.is_ok(),
        }
    };
    tokio::time::timeout(within, attempt).await.unwrap_or(false)
}
