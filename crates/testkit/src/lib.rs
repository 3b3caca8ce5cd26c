//! Real `redis-server` processes and network faults for tests.
//!
//! Tests of the manager and the gateway run against real servers, never mocks. Every
//! server gets free ports and a private temp dir, and dies with its handle (or with the
//! test binary), so tests can run in parallel threads without interfering.
//!
//! Every call blocks (processes, sockets, polling); from async tests call them directly
//! when brief, or through `spawn_blocking` for the slow ones (cluster, sentinel, failover).
//! Handles are `Send + Sync` and all controls take `&self`, so share them with `Arc`.
//! `TESTKIT_REDIS_SERVER` / `TESTKIT_REDIS_CLI` override the binaries (default: `PATH`).
//!
//! Map:
//! - `options`  — [`ServerOptions`]: what kind of server a test wants (socket, AOF, auth, ACL, TLS).
//! - `server`   — [`RedisServer`]: one process; start, stop, kill, restart, pause, resume, cli.
//! - `ports`    — [`free_port`]: free loopback ports outside the kernel's ephemeral range.
//! - `proxy`    — [`FaultProxy`]: loopback TCP proxy that cuts, blackholes, silences or delays traffic.
//! - `relay`    — the proxy's per-connection pumps and the shared fault mode.
//! - `tls`      — [`TlsServer`], [`TlsFiles`]: per-test CA, server and client certificates.
//! - `cluster`  — [`RedisCluster`]: a real cluster of servers; failover and slot migration.
//! - `slot`     — [`key_slot`]: CRC16 hash slots, to pick keys that live on a given node.
//! - `sentinel` — [`SentinelSetup`]: primary, replica and three sentinels; failover.
//! - `wait`     — polling a condition with a deadline (cluster/sentinel convergence).
//! - `resp`     — [`RespClient`], [`Value`]: tiny blocking RESP2 client for probes and raw tests.
//! - `endpoint` — how to reach one server: URLs, `redis-cli` args, readiness probe.
//! - `config`   — renders options into a `redis.conf`.
//! - `spawn`    — forks children from one long-lived thread with `PDEATHSIG`, so none outlive the test binary.
//! - `cli`      — runs `redis-cli` with a deadline.

#![warn(missing_docs)]

mod cli;
mod cluster;
mod config;
mod endpoint;
mod options;
mod ports;
mod proxy;
mod relay;
mod resp;
mod sentinel;
mod server;
mod slot;
mod spawn;
mod tls;
mod wait;

pub use cluster::{ClusterNode, NODE_TIMEOUT_MS, RedisCluster};
pub use options::ServerOptions;
pub use ports::free_port;
pub use proxy::FaultProxy;
pub use resp::{RespClient, Value};
pub use sentinel::{MASTER_NAME, SentinelSetup};
pub use server::RedisServer;
pub use slot::{SLOTS, key_in_slot, key_slot};
pub use tls::{TlsFiles, TlsServer, write_unrelated_ca};

#[cfg(test)]
mod tests {
    use super::*;

    fn shareable<T: Send + Sync>() {}

    #[test]
    fn handles_can_be_shared_across_threads_and_tasks() {
        shareable::<RedisServer>();
        shareable::<FaultProxy>();
        shareable::<TlsServer>();
        shareable::<RedisCluster>();
        shareable::<SentinelSetup>();
    }
}
