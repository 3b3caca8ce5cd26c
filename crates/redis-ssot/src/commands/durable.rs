//! Durable writes: a write returns `Ok` only once `WAIT` says enough replicas have it.
//!
//! Redis replication is asynchronous. A plain write is acknowledged as soon as the primary
//! has applied it; if the primary dies before its replicas received the write, a failover
//! promotes a replica without it and the acknowledged write is gone. [`DurableWrites`] closes
//! that window for the calls that opt in: after the write it sends `WAIT replicas timeout` on
//! the same connection and returns [`Error::NotReplicated`] when fewer replicas confirmed it.
//!
//! `WAIT` blocks the connection it is sent on, so durable writes run on a dedicated connection
//! from the manager's pool, never on the shared multiplexed one: a slow replica delays only
//! the durable caller. On a cluster, redis-rs sends `WAIT` to every master and keeps the
//! smallest answer, so every master needs the replicas asked for.

use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::{Cmd, FromRedisValue, Pipeline, ScriptInvocation, ToRedisArgs};

use super::{check_key, cmd};
use crate::chokepoint::Source;
use crate::connection::Conn;
use crate::deadline::Deadline;
use crate::error::{Error, Result};
use crate::gate::Admit;
use crate::manager::RedisManager;
use crate::metrics::{Op, op, op_of};

/// How many replicas must confirm a write, and how long to wait for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durability {
    /// Replicas that must have the write before `Ok` (at least 1).
    pub replicas: u32,
    /// How long `WAIT` may block (more than zero: `WAIT` with 0 would block forever).
    pub timeout: Duration,
}

/// Writes that return `Ok` only when [`Durability::replicas`] replicas confirmed them.
/// Get one from [`RedisManager::durable`]; it is a cheap handle to the same manager.
#[derive(Debug, Clone)]
pub struct DurableWrites {
    manager: RedisManager,
    durability: Durability,
}

/// The write a durable call sends before its `WAIT`.
enum Write<'a> {
    Cmd(&'a Cmd),
    Pipeline(&'a Pipeline),
    Script(&'a ScriptInvocation<'a>),
}

impl Write<'_> {
    fn op(&self) -> Op {
        match self {
            Write::Cmd(c) => op_of(c),
            Write::Pipeline(_) => op!("PIPELINE"),
            Write::Script(_) => op!("EVALSHA"),
        }
    }

    async fn send<T: FromRedisValue>(&self, conn: &mut Conn) -> redis::RedisResult<T> {
        match self {
            Write::Cmd(c) => c.query_async(conn).await,
            Write::Pipeline(p) => match conn {
                Conn::Cluster(cluster) if !p.is_transaction() => {
                    super::exec::split_by_slot(cluster.clone(), p).await
                }
                _ => p.query_async(conn).await,
            },
            Write::Script(s) => s.invoke_async(conn).await,
        }
    }
}

impl RedisManager {
    /// A handle whose writes wait for `replicas` replicas (for at most `timeout`) before they
    /// return `Ok`. A `Config` error if `replicas` or `timeout` is zero.
    pub fn durable(&self, replicas: u32, timeout: Duration) -> Result<DurableWrites> {
        if replicas == 0 {
            return Err(Error::config(
                "durable.replicas",
                "must be at least 1 (a plain write already waits for no replica)",
            ));
        }
        if timeout.is_zero() {
            return Err(Error::config(
                "durable.timeout",
                "must be more than zero (WAIT 0 blocks until the replicas answer, forever)",
            ));
        }
        Ok(DurableWrites {
            manager: self.clone(),
            durability: Durability { replicas, timeout },
        })
    }
}

impl DurableWrites {
    /// The durability this handle asks for.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// SET, confirmed by the replicas.
    pub async fn set<V: ToRedisArgs>(&self, key: &str, value: V) -> Result<()> {
        check_key(key)?;
        self.cmd(&cmd!("SET", key, value)).await
    }

    /// SET with a TTL (EX when whole seconds, else PX), confirmed by the replicas.
    pub async fn set_ex<V: ToRedisArgs>(&self, key: &str, value: V, ttl: Duration) -> Result<()> {
        check_key(key)?;
        let mut c = cmd!("SET", key, value);
        super::strings::push_ttl(&mut c, ttl);
        self.cmd(&c).await
    }

    /// Any write command, confirmed by the replicas.
    pub async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.run(Write::Cmd(cmd)).await
    }

    /// A pipeline (atomic or not, as for [`RedisManager::pipeline`]), confirmed as a whole.
    pub async fn pipeline<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        self.run(Write::Pipeline(pipe)).await
    }

    /// A Lua script, confirmed by the replicas (EVALSHA with the EVAL fallback).
    pub async fn invoke<T: FromRedisValue>(&self, invocation: &ScriptInvocation<'_>) -> Result<T> {
        self.run(Write::Script(invocation)).await
    }

    async fn run<T: FromRedisValue>(&self, write: Write<'_>) -> Result<T> {
        let Durability { replicas, timeout } = self.durability;
        let config = self.manager.config();
        let deadline = config.command_timeout + timeout + config.blocking_margin;
        let wait_ms = u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let write = &write;
        let (value, acked) = self
            .manager
            .run_on(
                Source::Dedicated,
                Admit::Normal,
                write.op(),
                Deadline::Custom(deadline),
                move |mut c| async move {
                    let r = async {
                        let value: T = write.send(&mut c).await?;
                        let acked: i64 =
                            cmd!("WAIT", replicas, wait_ms).query_async(&mut c).await?;
                        Ok((value, acked))
                    }
                    .await;
                    (c, r)
                },
            )
            .await?;
        let acked = u32::try_from(acked.max(0)).unwrap_or(u32::MAX);
        if acked < replicas {
            self.manager
                .inner
                .counters
                .not_replicated
                .fetch_add(1, Ordering::Relaxed);
            return Err(Error::NotReplicated {
                acked,
                required: replicas,
            });
        }
        Ok(value)
    }
}
