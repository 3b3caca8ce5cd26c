//! Lists, hashes, sets and sorted sets: the common commands.

use std::collections::HashMap;
use std::time::Duration;

use redis::{FromRedisValue, ToRedisArgs};

use super::{check_key, check_keys, cmd};
use crate::chokepoint::Source;
use crate::deadline::Deadline;
use crate::error::Result;
use crate::gate::Admit;
use crate::manager::RedisManager;
use crate::metrics::op;

impl RedisManager {
    // ---- lists ----

    /// LPUSH; returns the new length.
    pub async fn lpush<V: ToRedisArgs>(&self, key: &str, values: V) -> Result<u64> {
        check_key(key)?;
        self.query(op!("LPUSH"), cmd!("LPUSH", key, values)).await
    }

    /// RPUSH; returns the new length.
    pub async fn rpush<V: ToRedisArgs>(&self, key: &str, values: V) -> Result<u64> {
        check_key(key)?;
        self.query(op!("RPUSH"), cmd!("RPUSH", key, values)).await
    }

    /// LPOP of one element; `None` when empty.
    pub async fn lpop<T: FromRedisValue>(&self, key: &str) -> Result<Option<T>> {
        check_key(key)?;
        self.query(op!("LPOP"), cmd!("LPOP", key)).await
    }

    /// RPOP of one element; `None` when empty.
    pub async fn rpop<T: FromRedisValue>(&self, key: &str) -> Result<Option<T>> {
        check_key(key)?;
        self.query(op!("RPOP"), cmd!("RPOP", key)).await
    }

    /// LRANGE (inclusive indices, negative from the end). Reads without changing the list.
    pub async fn lrange<T: FromRedisValue>(
        &self,
        key: &str,
        start: i64,
        stop: i64,
    ) -> Result<Vec<T>> {
        check_key(key)?;
        self.query(op!("LRANGE"), cmd!("LRANGE", key, start, stop))
            .await
    }

    /// LLEN.
    pub async fn llen(&self, key: &str) -> Result<u64> {
        check_key(key)?;
        self.query(op!("LLEN"), cmd!("LLEN", key)).await
    }

    /// LTRIM.
    pub async fn ltrim(&self, key: &str, start: i64, stop: i64) -> Result<()> {
        check_key(key)?;
        self.query(op!("LTRIM"), cmd!("LTRIM", key, start, stop))
            .await
    }

    /// BLPOP on a dedicated connection: waits up to `block` for an element.
    /// Returns `(key, value)`, or `None` when the wait ended empty. The deadline is `block`
    /// plus the configured margin.
    pub async fn blpop<T: FromRedisValue>(
        &self,
        keys: &[&str],
        block: Duration,
    ) -> Result<Option<(String, T)>> {
        check_keys(keys)?;
        let secs = block.as_secs_f64().max(0.001);
        let cmd = cmd!("BLPOP", keys, secs);
        let deadline = block + self.inner.config.blocking_margin;
        self.run_on(
            Source::Dedicated,
            Admit::Normal,
            op!("BLPOP"),
            Deadline::Custom(deadline),
            move |mut c| async move {
                let r = cmd.query_async(&mut c).await;
                (c, r)
            },
        )
        .await
    }

    // ---- hashes ----

    /// HSET of one field; returns whether the field is new.
    pub async fn hset<V: ToRedisArgs>(&self, key: &str, field: &str, value: V) -> Result<bool> {
        check_key(key)?;
        let added: u64 = self
            .query(op!("HSET"), cmd!("HSET", key, field, value))
            .await?;
        Ok(added == 1)
    }

    /// HSET of several fields; returns how many are new.
    pub async fn hset_multiple<V: ToRedisArgs>(
        &self,
        key: &str,
        fields: &[(&str, V)],
    ) -> Result<u64> {
        check_key(key)?;
        let mut c = cmd!("HSET", key);
        for (f, v) in fields {
            c.arg(*f).arg(v);
        }
        self.query(op!("HSET"), c).await
    }

    /// HGET; `None` when the key or field is missing.
    pub async fn hget<T: FromRedisValue>(&self, key: &str, field: &str) -> Result<Option<T>> {
        check_key(key)?;
        self.query(op!("HGET"), cmd!("HGET", key, field)).await
    }

    /// HGETALL; empty when the key is missing.
    pub async fn hgetall<T: FromRedisValue>(&self, key: &str) -> Result<HashMap<String, T>> {
        check_key(key)?;
        self.query(op!("HGETALL"), cmd!("HGETALL", key)).await
    }

    /// HDEL; returns how many fields were removed.
    pub async fn hdel(&self, key: &str, fields: &[&str]) -> Result<u64> {
        check_key(key)?;
        self.query(op!("HDEL"), cmd!("HDEL", key, fields)).await
    }

    /// HINCRBY.
    pub async fn hincr_by(&self, key: &str, field: &str, by: i64) -> Result<i64> {
        check_key(key)?;
        self.query(op!("HINCRBY"), cmd!("HINCRBY", key, field, by))
            .await
    }

    /// HLEN.
    pub async fn hlen(&self, key: &str) -> Result<u64> {
        check_key(key)?;
        self.query(op!("HLEN"), cmd!("HLEN", key)).await
    }

    // ---- sets ----

    /// SADD; returns how many members are new.
    pub async fn sadd<V: ToRedisArgs>(&self, key: &str, members: V) -> Result<u64> {
        check_key(key)?;
        self.query(op!("SADD"), cmd!("SADD", key, members)).await
    }

    /// SREM; returns how many members were removed.
    pub async fn srem<V: ToRedisArgs>(&self, key: &str, members: V) -> Result<u64> {
        check_key(key)?;
        self.query(op!("SREM"), cmd!("SREM", key, members)).await
    }

    /// SMEMBERS; empty when the key is missing.
    pub async fn smembers<T: FromRedisValue>(&self, key: &str) -> Result<Vec<T>> {
        check_key(key)?;
        self.query(op!("SMEMBERS"), cmd!("SMEMBERS", key)).await
    }

    /// SISMEMBER.
    pub async fn sismember<V: ToRedisArgs>(&self, key: &str, member: V) -> Result<bool> {
        check_key(key)?;
        self.query(op!("SISMEMBER"), cmd!("SISMEMBER", key, member))
            .await
    }

    /// SCARD.
    pub async fn scard(&self, key: &str) -> Result<u64> {
        check_key(key)?;
        self.query(op!("SCARD"), cmd!("SCARD", key)).await
    }

    // ---- sorted sets ----

    /// ZADD of one member; returns whether it is new.
    pub async fn zadd<V: ToRedisArgs>(&self, key: &str, member: V, score: f64) -> Result<bool> {
        check_key(key)?;
        let added: u64 = self
            .query(op!("ZADD"), cmd!("ZADD", key, score, member))
            .await?;
        Ok(added == 1)
    }

    /// ZREM; returns how many members were removed.
    pub async fn zrem<V: ToRedisArgs>(&self, key: &str, members: V) -> Result<u64> {
        check_key(key)?;
        self.query(op!("ZREM"), cmd!("ZREM", key, members)).await
    }

    /// ZRANGE by rank (inclusive).
    pub async fn zrange<T: FromRedisValue>(
        &self,
        key: &str,
        start: i64,
        stop: i64,
    ) -> Result<Vec<T>> {
        check_key(key)?;
        self.query(op!("ZRANGE"), cmd!("ZRANGE", key, start, stop))
            .await
    }

    /// ZRANGE with scores.
    pub async fn zrange_withscores<T: FromRedisValue>(
        &self,
        key: &str,
        start: i64,
        stop: i64,
    ) -> Result<Vec<(T, f64)>> {
        check_key(key)?;
        self.query(
            op!("ZRANGE"),
            cmd!("ZRANGE", key, start, stop, "WITHSCORES"),
        )
        .await
    }

    /// ZRANGEBYSCORE (inclusive bounds).
    pub async fn zrangebyscore<T: FromRedisValue>(
        &self,
        key: &str,
        min: f64,
        max: f64,
    ) -> Result<Vec<T>> {
        check_key(key)?;
        self.query(op!("ZRANGEBYSCORE"), cmd!("ZRANGEBYSCORE", key, min, max))
            .await
    }

    /// ZSCORE; `None` when the member is missing.
    pub async fn zscore<V: ToRedisArgs>(&self, key: &str, member: V) -> Result<Option<f64>> {
        check_key(key)?;
        self.query(op!("ZSCORE"), cmd!("ZSCORE", key, member)).await
    }

    /// ZCARD.
    pub async fn zcard(&self, key: &str) -> Result<u64> {
        check_key(key)?;
        self.query(op!("ZCARD"), cmd!("ZCARD", key)).await
    }

    /// ZINCRBY; returns the new score.
    pub async fn zincr_by<V: ToRedisArgs>(&self, key: &str, member: V, by: f64) -> Result<f64> {
        check_key(key)?;
        self.query(op!("ZINCRBY"), cmd!("ZINCRBY", key, by, member))
            .await
    }

    /// ZREMRANGEBYSCORE; returns how many members were removed.
    pub async fn zrem_range_by_score(&self, key: &str, min: f64, max: f64) -> Result<u64> {
        check_key(key)?;
        self.query(
            op!("ZREMRANGEBYSCORE"),
            cmd!("ZREMRANGEBYSCORE", key, min, max),
        )
        .await
    }
}
