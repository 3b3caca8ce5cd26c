//! Metric names, their descriptions, and cached handles.
//!
//! Names follow the OpenTelemetry database-client conventions, spelled the Prometheus way
//! (units in the name, `_total` on counters, a `# HELP` line for every family):
//!
//! | family | type | labels |
//! |---|---|---|
//! | `db_client_operation_duration_seconds` | histogram ([`DURATION_BUCKETS`]) | `db_operation_name`, `outcome` |
//! | `db_client_connection_state` | gauge, 1 for the current state, 0 for the others | `state` |
//! | `db_client_circuit_breaker_state` | gauge, 1 for the current state, 0 for the others | `state` |
//! | `db_client_operations_in_flight` | gauge | |
//! | `db_client_ping_latency_seconds` | gauge: the last health PING | |
//! | `db_client_reconnects_total` | counter | |
//! | `db_client_circuit_breaker_opened_total` | counter | |
//! | `db_client_health_check_failures_total` | counter | |
//!
//! A duration series exists only for an (operation, outcome) pair that happened: handles are
//! created on first use, not up front. Looking a handle up in the global recorder hashes its
//! labels, so the choke point caches them per pair and pays that cost once.
//!
//! The `metrics` facade records into whatever recorder the process installed. Descriptions
//! are given to the recorder installed when [`describe`] runs (at `RedisManager::connect`),
//! so install the exporter first (the gateway does, with [`DURATION_BUCKETS`]).

use std::sync::OnceLock;

use metrics::{Histogram, Unit};

use crate::breaker::BreakerState;
use crate::error::Outcome;
use crate::state::ConnState;

/// The command-duration histogram.
pub const OPERATION_DURATION: &str = "db_client_operation_duration_seconds";
/// The connection-state gauge.
pub const CONNECTION_STATE: &str = "db_client_connection_state";
/// The breaker-state gauge.
pub const BREAKER_STATE: &str = "db_client_circuit_breaker_state";
/// Commands in flight.
pub const IN_FLIGHT: &str = "db_client_operations_in_flight";
/// The last health PING's latency.
pub const PING_LATENCY: &str = "db_client_ping_latency_seconds";
/// Connections that replaced one that broke or stopped answering.
pub const RECONNECTS: &str = "db_client_reconnects_total";
/// Times the breaker opened.
pub const BREAKER_OPENED: &str = "db_client_circuit_breaker_opened_total";
/// Failed health checks.
pub const HEALTH_FAILURES: &str = "db_client_health_check_failures_total";

/// Bucket bounds of [`OPERATION_DURATION`], in seconds: OpenTelemetry's recommended bounds for
/// `db.client.operation.duration`, with sub-millisecond ones in front (a command here takes
/// about 100 µs).
pub const DURATION_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// Gives every family its unit and `# HELP` text, and sets the state gauges' series (so they
/// are there from the start, at 0 or 1). Idempotent.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        OPERATION_DURATION,
        Unit::Seconds,
        "Duration of Redis commands through the manager, by operation and outcome (refused calls included)."
    );
    describe_gauge!(
        CONNECTION_STATE,
        "Connection state of the Redis manager: 1 for the current state, 0 for the others."
    );
    describe_gauge!(
        BREAKER_STATE,
        "Circuit breaker state: 1 for the current state, 0 for the others."
    );
    describe_gauge!(IN_FLIGHT, "Redis commands in flight through the manager.");
    describe_gauge!(
        PING_LATENCY,
        Unit::Seconds,
        "Latency of the last successful health PING."
    );
    describe_counter!(
        RECONNECTS,
        "Connections that replaced one that broke or stopped answering."
    );
    describe_counter!(BREAKER_OPENED, "Times the circuit breaker opened.");
    describe_counter!(
        HEALTH_FAILURES,
        "Health PINGs that failed or missed their deadline."
    );
    metrics::counter!(RECONNECTS).increment(0);
    metrics::counter!(BREAKER_OPENED).increment(0);
    metrics::counter!(HEALTH_FAILURES).increment(0);
    metrics::gauge!(IN_FLIGHT).set(0.0);
}

/// Sets the connection-state series: 1 for `state`, 0 for the others.
pub(crate) fn set_connection_state(state: ConnState) {
    for s in ConnState::ALL {
        let v = if s == state { 1.0 } else { 0.0 };
        metrics::gauge!(CONNECTION_STATE, "state" => s.as_str()).set(v);
    }
}

/// Sets the breaker-state series: 1 for `state`, 0 for the others.
pub(crate) fn set_breaker_state(state: BreakerState) {
    for s in BreakerState::ALL {
        let v = if s == state { 1.0 } else { 0.0 };
        metrics::gauge!(BREAKER_STATE, "state" => s.as_str()).set(v);
    }
}

pub(crate) fn set_in_flight(n: usize) {
    metrics::gauge!(IN_FLIGHT).set(n as f64);
}

pub(crate) fn set_ping_latency(seconds: f64) {
    metrics::gauge!(PING_LATENCY).set(seconds);
}

pub(crate) fn count_reconnect() {
    metrics::counter!(RECONNECTS).increment(1);
}

pub(crate) fn count_breaker_opened() {
    metrics::counter!(BREAKER_OPENED).increment(1);
}

pub(crate) fn count_failed_health_check() {
    metrics::counter!(HEALTH_FAILURES).increment(1);
}

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
    "BLMOVE",
    "BRPOP",
    "BRPOPLPUSH",
    "COPY",
    "DECRBY",
    "EXPIREAT",
    "PEXPIREAT",
    "FCALL",
    "FUNCTION",
    "GETRANGE",
    "GETSET",
    "SETRANGE",
    "HEXISTS",
    "HINCRBYFLOAT",
    "HKEYS",
    "HVALS",
    "HMSET",
    "HSCAN",
    "HSETNX",
    "HSTRLEN",
    "HRANDFIELD",
    "INCRBYFLOAT",
    "LINDEX",
    "LINSERT",
    "LMOVE",
    "LREM",
    "LSET",
    "LPOS",
    "LPUSHX",
    "RPUSHX",
    "RPOPLPUSH",
    "MSETNX",
    "RENAMENX",
    "SDIFF",
    "SDIFFSTORE",
    "SINTER",
    "SINTERSTORE",
    "SUNION",
    "SUNIONSTORE",
    "SMISMEMBER",
    "SMOVE",
    "SPOP",
    "SRANDMEMBER",
    "SSCAN",
    "TOUCH",
    "XREADGROUP",
    "XACK",
    "XGROUP",
    "XDEL",
    "XPENDING",
    "XCLAIM",
    "XAUTOCLAIM",
    "XINFO",
    "ZCOUNT",
    "ZMSCORE",
    "ZPOPMAX",
    "ZPOPMIN",
    "ZRANK",
    "ZREVRANK",
    "ZREMRANGEBYRANK",
    "ZREVRANGE",
    "ZREVRANGEBYSCORE",
    "ZSCAN",
    "ZRANDMEMBER",
    "ZUNIONSTORE",
    "ZINTERSTORE",
    "BZPOPMIN",
    "BZPOPMAX",
    "BLMPOP",
    "PFADD",
    "PFCOUNT",
    "PFMERGE",
    "SETBIT",
    "GETBIT",
    "BITCOUNT",
    "GEOADD",
    "GEOSEARCH",
    "LCS",
    "EXPIRETIME",
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

const OUTCOMES: usize = Outcome::ALL.len();

/// Per (operation, outcome) histogram handles, each created on first use.
pub(crate) struct OperationMetrics {
    slots: Box<[[OnceLock<Histogram>; OUTCOMES]]>,
}

impl Default for OperationMetrics {
    fn default() -> Self {
        OperationMetrics {
            slots: OPS
                .iter()
                .map(|_| std::array::from_fn(|_| OnceLock::new()))
                .collect(),
        }
    }
}

impl OperationMetrics {
    /// Records one finished (or refused) operation.
    #[inline]
    pub(crate) fn record(&self, op: Op, outcome: Outcome, seconds: f64) {
        let Some(slot) = self
            .slots
            .get(usize::from(op.0))
            .and_then(|s| s.get(outcome.index()))
        else {
            return;
        };
        slot.get_or_init(|| register(op.name(), outcome))
            .record(seconds);
    }
}

#[cold]
fn register(op: &'static str, outcome: Outcome) -> Histogram {
    metrics::histogram!(OPERATION_DURATION, "db_operation_name" => op, "outcome" => outcome.as_str())
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
        // The commands the Python package has typed methods for have their own label.
        for name in [
            "hscan",
            "ZMSCORE",
            "brpoplpush",
            "sinterstore",
            "getset",
            "xreadgroup",
        ] {
            assert_eq!(op_of(&redis::cmd(name)).name(), name.to_ascii_uppercase());
        }
        // KEYS is never sent by this library; sent by hand it stays OTHER.
        assert_eq!(op_of(&redis::cmd("KEYS")).name(), "OTHER");
        assert_eq!(op!("PIPELINE").name(), "PIPELINE");
    }
}
