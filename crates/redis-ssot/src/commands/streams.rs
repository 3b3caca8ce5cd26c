//! Redis Streams: the durable, capped event logs the gateway replays from.

use redis::ToRedisArgs;

use super::{check_key, cmd};
use crate::error::Result;
use crate::manager::RedisManager;
use crate::metrics::op;

/// One stream entry: its id and its field/value pairs.
pub type StreamEntry = (String, Vec<(String, String)>);

impl RedisManager {
    /// XADD with an approximate MAXLEN cap; returns the new entry's id.
    pub async fn xadd<V: ToRedisArgs>(
        &self,
        key: &str,
        max_len: u64,
        fields: &[(&str, V)],
    ) -> Result<String> {
        check_key(key)?;
        let mut cmd = redis::cmd("XADD");
        cmd.arg(key).arg("MAXLEN").arg("~").arg(max_len).arg("*");
        for (f, v) in fields {
            cmd.arg(*f).arg(v);
        }
        self.query(op!("XADD"), cmd).await
    }

    /// XRANGE from `start` to `end` (ids or `-`/`+`; prefix `(` for exclusive), at most `count`.
    pub async fn xrange(
        &self,
        key: &str,
        start: &str,
        end: &str,
        count: usize,
    ) -> Result<Vec<StreamEntry>> {
        check_key(key)?;
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(key).arg(start).arg(end).arg("COUNT").arg(count);
        self.query(op!("XRANGE"), cmd).await
    }

    /// XREVRANGE from `end` down to `start`, at most `count`.
    pub async fn xrevrange(
        &self,
        key: &str,
        end: &str,
        start: &str,
        count: usize,
    ) -> Result<Vec<StreamEntry>> {
        check_key(key)?;
        let mut cmd = redis::cmd("XREVRANGE");
        cmd.arg(key).arg(end).arg(start).arg("COUNT").arg(count);
        self.query(op!("XREVRANGE"), cmd).await
    }

    /// XLEN.
    pub async fn xlen(&self, key: &str) -> Result<u64> {
        check_key(key)?;
        self.query(op!("XLEN"), cmd!("XLEN", key)).await
    }
}
