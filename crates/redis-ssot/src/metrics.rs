//! Metric names and cached handles.
//!
//! Names follow the OpenTelemetry database-client conventions:
//! `db.client.operation.duration` (histogram, seconds, labels `db.operation.name` and
//! `outcome`), `db.client.connection.state` and `db.client.circuit_breaker.state` (gauges),
//! `db.client.reconnects` (counter). Looking a handle up in the global recorder hashes its labels,
//! so the choke point caches one set of handles per operation name and only pays that cost the
//! first time an operation is seen.

use std::sync::{Arc, OnceLock};

use metrics::Histogram;

use crate::error::Outcome;

/// The command-duration histogram's name.
pub const OPERATION_DURATION: &str = "db.client.operation.duration";
/// The reconnect counter's name.
pub const RECONNECTS: &str = "db.client.reconnects";

/// Every operation name the manager reports. Operations are indices into this table, fixed
/// at compile time (`op!("GET")`), so finding a command's metric handles is an array access
/// rather than a hash of its name on every call; unknown commands sent through `cmd()` are
/// reported as `OTHER`, which also keeps label values bounded.
pub(crate) const OPS: &[&str] = &[
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
    "BLPOP",
    "HSET",
    "HGET",
    "HGETALL",
    "HDEL",
    "HINCRBY",
    "HMGET",
    "HLEN",
    "SADD",
    "SREM",
    "SMEMBERS",
    "SISMEMBER",
    "SCARD",
    "ZADD",
    "ZREM",
    "ZRANGE",
    "ZRANGEBYSCORE",
    "ZREMRANGEBYSCORE",
    "ZSCORE",
    "ZCARD",
    "ZINCRBY",
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
    "CLUSTER",
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
    "WATCH",
    "MULTI",
    "EXEC",
    "PIPELINE",
    "TRANSACTION",
    "OTHER",
];

/// An operation: an index into [`OPS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op(u16);

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Op {
    /// The operation called `name`; use through `op!("NAME")` so an unknown name is a
    /// compile error.
    pub(crate) const fn of(name: &str) -> Op {
        let mut i = 0;
        while i < OPS.len() {
            if same(OPS[i], name) {
                return Op(i as u16);
            }
            i += 1;
        }
        panic!("operation name missing from metrics::OPS")
    }

    /// The operation whose name matches `word` (case-insensitive), else `OTHER`.
    pub(crate) fn lookup(word: &[u8]) -> Op {
        OPS.iter()
            .position(|k| k.as_bytes().eq_ignore_ascii_case(word))
            .map(|i| Op(i as u16))
            .unwrap_or(Op::of("OTHER"))
    }

    /// The operation's name, as used in metrics labels and errors.
    pub fn name(self) -> &'static str {
        OPS[usize::from(self.0)]
    }
}

/// `op!("GET")`: the [`Op`] for a literal name, resolved at compile time.
macro_rules! op {
    ($name:literal) => {
        const { $crate::metrics::Op::of($name) }
    };
}
pub(crate) use op;

type Handles = Arc<[Histogram; Outcome::ALL.len()]>;

/// Per-operation histogram handles, created on first use.
pub(crate) struct OperationMetrics {
    slots: Box<[OnceLock<Handles>]>,
}

impl Default for OperationMetrics {
    fn default() -> Self {
        OperationMetrics {
            slots: OPS.iter().map(|_| OnceLock::new()).collect(),
        }
    }
}

impl OperationMetrics {
    /// Records one finished (or refused) operation.
    #[inline]
    pub(crate) fn record(&self, op: Op, outcome: Outcome, seconds: f64) {
        let Some(slot) = self.slots.get(usize::from(op.0)) else {
            return;
        };
        let handles = slot.get_or_init(|| register(op.name()));
        handles[outcome.index()].record(seconds);
    }
}

#[cold]
fn register(op: &'static str) -> Handles {
    Arc::new(Outcome::ALL.map(|o| {
        metrics::histogram!(OPERATION_DURATION, "db.operation.name" => op, "outcome" => o.as_str())
    }))
}

/// The operation of a command, from its first word (`OTHER` if unknown).
pub(crate) fn op_of(cmd: &redis::Cmd) -> Op {
    match cmd.args_iter().next() {
        Some(redis::Arg::Simple(first)) => Op::lookup(first),
        _ => Op::of("OTHER"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_of_maps_known_commands_case_insensitively_and_others_to_other() {
        assert_eq!(op_of(&redis::cmd("get")).name(), "GET");
        assert_eq!(op_of(&redis::cmd("XADD")).name(), "XADD");
        assert_eq!(op_of(&redis::cmd("frobnicate")).name(), "OTHER");
        assert_eq!(op!("PIPELINE").name(), "PIPELINE");
    }
}
