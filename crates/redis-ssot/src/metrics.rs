//! Metric names and cached handles.
//!
//! Names follow the OpenTelemetry database-client conventions:
//! `db.client.operation.duration` (histogram, seconds, labels `db.operation.name` and
//! `outcome`), `db.client.connection.state` and `db.client.circuit_breaker.state` (gauges),
//! `db.client.reconnects` (counter). Looking a handle up in the global recorder hashes its labels,
//! so the choke point caches one set of handles per operation name and only pays that cost the
//! first time an operation is seen.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use metrics::Histogram;

use crate::error::Outcome;

/// The command-duration histogram's name.
pub const OPERATION_DURATION: &str = "db.client.operation.duration";
/// The reconnect counter's name.
pub const RECONNECTS: &str = "db.client.reconnects";

type Handles = Arc<[Histogram; Outcome::ALL.len()]>;

/// Hashes a `&'static str` by its address: operation names are literals, so the address is
/// a stable identity and hashing it costs one multiply instead of SipHash over the text.
#[derive(Default, Clone, Copy)]
pub(crate) struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Map key: the name's address (names with equal text but different addresses just get
/// separate cache entries pointing at the same metric series).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct OpKey(usize);

impl OpKey {
    fn of(op: &'static str) -> OpKey {
        OpKey(op.as_ptr() as usize)
    }
}

type HandleMap = HashMap<OpKey, Handles, std::hash::BuildHasherDefault<AddrHasher>>;

/// Per-operation histogram handles, created on first use.
#[derive(Default)]
pub(crate) struct OperationMetrics {
    by_op: ArcSwap<HandleMap>,
}

impl OperationMetrics {
    /// Records one finished (or refused) operation.
    #[inline]
    pub(crate) fn record(&self, op: &'static str, outcome: Outcome, seconds: f64) {
        let map = self.by_op.load();
        if let Some(handles) = map.get(&OpKey::of(op)) {
            handles[outcome.index()].record(seconds);
            return;
        }
        drop(map);
        let handles = self.register(op);
        handles[outcome.index()].record(seconds);
    }

    #[cold]
    fn register(&self, op: &'static str) -> Handles {
        let handles: Handles = Arc::new(Outcome::ALL.map(|o| {
            metrics::histogram!(OPERATION_DURATION, "db.operation.name" => op, "outcome" => o.as_str())
        }));
        self.by_op.rcu(|current| {
            let mut next = HandleMap::clone(current);
            next.entry(OpKey::of(op)).or_insert_with(|| handles.clone());
            next
        });
        handles
    }
}

/// Maps a command's first word to a static operation name for metrics (`OTHER` if unknown),
/// so dynamic `cmd()` calls do not create unbounded label values.
pub(crate) fn op_name(cmd: &redis::Cmd) -> &'static str {
    let Some(redis::Arg::Simple(first)) = cmd.args_iter().next() else {
        return "OTHER";
    };
    const KNOWN: &[&str] = &[
        "GET",
        "SET",
        "DEL",
        "UNLINK",
        "EXISTS",
        "EXPIRE",
        "PEXPIRE",
        "TTL",
        "PTTL",
        "INCR",
        "INCRBY",
        "DECR",
        "MGET",
        "MSET",
        "GETDEL",
        "GETEX",
        "LPUSH",
        "RPUSH",
        "LPOP",
        "RPOP",
        "LRANGE",
        "LLEN",
        "LTRIM",
        "HSET",
        "HGET",
        "HGETALL",
        "HDEL",
        "HINCRBY",
        "HMGET",
        "SADD",
        "SREM",
        "SMEMBERS",
        "SISMEMBER",
        "SCARD",
        "ZADD",
        "ZREM",
        "ZRANGE",
        "ZRANGEBYSCORE",
        "ZSCORE",
        "ZCARD",
        "XADD",
        "XRANGE",
        "XREAD",
        "XREVRANGE",
        "XLEN",
        "XTRIM",
        "PUBLISH",
        "SCAN",
        "EVAL",
        "EVALSHA",
        "SCRIPT",
        "PING",
        "ROLE",
        "INFO",
        "WAIT",
        "CLIENT",
        "CONFIG",
        "FLUSHDB",
        "FLUSHALL",
        "DBSIZE",
        "TYPE",
        "PERSIST",
        "SETNX",
        "SETEX",
        "PSETEX",
        "APPEND",
        "STRLEN",
        "MEMORY",
        "DEBUG",
        "OBJECT",
        "RENAME",
        "TIME",
        "ECHO",
    ];
    KNOWN
        .iter()
        .find(|k| k.as_bytes().eq_ignore_ascii_case(first))
        .copied()
        .unwrap_or("OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_name_maps_known_commands_case_insensitively_and_others_to_other() {
        assert_eq!(op_name(&redis::cmd("get")), "GET");
        assert_eq!(op_name(&redis::cmd("XADD")), "XADD");
        assert_eq!(op_name(&redis::cmd("frobnicate")), "OTHER");
    }
}
