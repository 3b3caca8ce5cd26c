//! Strings and key-space commands.

use std::time::Duration;

use redis::{FromRedisValue, ToRedisArgs};

use super::{check_key, check_keys, cmd};
use crate::error::Result;
use crate::manager::RedisManager;
use crate::metrics::op;

/// When a SET applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetCondition {
    /// Always (plain SET).
    #[default]
    Always,
    /// Only if the key does not exist (NX).
    IfAbsent,
    /// Only if the key exists (XX).
    IfPresent,
}

/// Options of [`RedisManager::set_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetOptions {
    /// Time to live; sent as EX when whole seconds, else PX.
    pub ttl: Option<Duration>,
    /// NX / XX.
    pub condition: SetCondition,
}

/// The remaining life of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The key does not exist.
    Missing,
    /// The key exists and never expires.
    Persistent,
    /// The key expires after this long.
    Expires(Duration),
}

pub(super) fn push_ttl(cmd: &mut redis::Cmd, ttl: Duration) {
    if ttl.subsec_nanos() == 0 {
        cmd.arg("EX").arg(ttl.as_secs().max(1));
    } else {
        cmd.arg("PX").arg((ttl.as_millis() as u64).max(1));
    }
}

impl RedisManager {
    /// GET: `Ok(None)` when the key is missing.
    pub async fn get<T: FromRedisValue>(&self, key: &str) -> Result<Option<T>> {
        check_key(key)?;
        self.query(op!("GET"), cmd!("GET", key)).await
    }

    /// SET without options.
    pub async fn set<V: ToRedisArgs>(&self, key: &str, value: V) -> Result<()> {
        check_key(key)?;
        self.query(op!("SET"), cmd!("SET", key, value)).await
    }

    /// SET with a TTL.
    pub async fn set_ex<V: ToRedisArgs>(&self, key: &str, value: V, ttl: Duration) -> Result<()> {
        self.set_with(
            key,
            value,
            SetOptions {
                ttl: Some(ttl),
                condition: SetCondition::Always,
            },
        )
        .await
        .map(|_| ())
    }

    /// SET with EX/PX and NX/XX. Returns whether the value was written (NX/XX may refuse).
    pub async fn set_with<V: ToRedisArgs>(
        &self,
        key: &str,
        value: V,
        opts: SetOptions,
    ) -> Result<bool> {
        check_key(key)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value);
        if let Some(ttl) = opts.ttl {
            push_ttl(&mut cmd, ttl);
        }
        match opts.condition {
            SetCondition::Always => {}
            SetCondition::IfAbsent => {
                cmd.arg("NX");
            }
            SetCondition::IfPresent => {
                cmd.arg("XX");
            }
        }
        let reply: Option<String> = self.query(op!("SET"), cmd).await?;
        Ok(reply.is_some())
    }

    /// DEL of one or more keys; returns how many existed.
    pub async fn del(&self, keys: &[&str]) -> Result<u64> {
        check_keys(keys)?;
        self.query(op!("DEL"), cmd!("DEL", keys)).await
    }

    /// UNLINK (non-blocking delete) of one or more keys; returns how many existed.
    pub async fn unlink(&self, keys: &[&str]) -> Result<u64> {
        check_keys(keys)?;
        self.query(op!("UNLINK"), cmd!("UNLINK", keys)).await
    }

    /// EXISTS: how many of `keys` exist.
    pub async fn exists(&self, keys: &[&str]) -> Result<u64> {
        check_keys(keys)?;
        self.query(op!("EXISTS"), cmd!("EXISTS", keys)).await
    }

    /// PEXPIRE: returns false if the key does not exist.
    pub async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        check_key(key)?;
        let ms = (ttl.as_millis() as u64).max(1);
        self.query(op!("PEXPIRE"), cmd!("PEXPIRE", key, ms)).await
    }

    /// PTTL, decoded.
    pub async fn ttl(&self, key: &str) -> Result<Ttl> {
        check_key(key)?;
        let ms: i64 = self.query(op!("PTTL"), cmd!("PTTL", key)).await?;
        Ok(match ms {
            -2 => Ttl::Missing,
            -1 => Ttl::Persistent,
            ms => Ttl::Expires(Duration::from_millis(ms.max(0) as u64)),
        })
    }

    /// INCR.
    pub async fn incr(&self, key: &str) -> Result<i64> {
        self.incr_by(key, 1).await
    }

    /// INCRBY.
    pub async fn incr_by(&self, key: &str, by: i64) -> Result<i64> {
        check_key(key)?;
        self.query(op!("INCRBY"), cmd!("INCRBY", key, by)).await
    }

    /// MGET: one `Option` per key, in order.
    pub async fn mget<T: FromRedisValue>(&self, keys: &[&str]) -> Result<Vec<Option<T>>> {
        check_keys(keys)?;
        self.query(op!("MGET"), cmd!("MGET", keys)).await
    }

    /// MSET of key/value pairs.
    pub async fn mset<V: ToRedisArgs>(&self, pairs: &[(&str, V)]) -> Result<()> {
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        check_keys(&keys)?;
        let mut cmd = redis::cmd("MSET");
        for (k, v) in pairs {
            cmd.arg(*k).arg(v);
        }
        self.query(op!("MSET"), cmd).await
    }

    /// MEMORY USAGE: bytes used by the key and its value, `None` if missing.
    pub async fn memory_usage(&self, key: &str) -> Result<Option<u64>> {
        check_key(key)?;
        self.query(op!("MEMORY"), cmd!("MEMORY", "USAGE", key))
            .await
    }

    /// PING.
    pub async fn ping(&self) -> Result<()> {
        let _: String = self.query(op!("PING"), redis::cmd("PING")).await?;
        Ok(())
    }

    /// The server's role (`master`, `slave`, `sentinel`).
    pub async fn role(&self) -> Result<String> {
        let reply: Vec<redis::Value> = self.query(op!("ROLE"), redis::cmd("ROLE")).await?;
        match reply.first() {
            Some(redis::Value::BulkString(b)) => Ok(String::from_utf8_lossy(b).into_owned()),
            Some(redis::Value::SimpleString(s)) => Ok(s.clone()),
            other => Err(crate::Error::Decode(format!(
                "unexpected ROLE reply: {other:?}"
            ))),
        }
    }

    /// PUBLISH: returns how many subscribers received the message.
    pub async fn publish<V: ToRedisArgs>(&self, channel: &str, message: V) -> Result<u64> {
        check_key(channel)?;
        self.query(op!("PUBLISH"), cmd!("PUBLISH", channel, message))
            .await
    }
}
