//! The one error type of the crate.
//!
//! Every failure has its own variant so that a caller can `match` on the cause: an outage
//! (`NotReady`, `CircuitOpen`, `Connection`, `Timeout`) is never confused with a reply error
//! (`Redis`) or with a missing key (which is not an error at all: `Ok(None)`).
//! Stores add their own domain variants (`NotFound`, `Forbidden`, `Conflict`) here rather than
//! wrapping this enum, so one `match` covers a whole call chain.

use std::time::Duration;

use crate::state::ConnState;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when talking to Redis through the manager.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The manager has no usable connection right now (connecting or reconnecting).
    #[error("redis is not ready (state: {state})")]
    NotReady {
        /// The connection state when the call was refused.
        state: ConnState,
    },
    /// The circuit breaker is open: the call was refused without touching the network.
    #[error("circuit breaker is open; retry in {retry_after:?}")]
    CircuitOpen {
        /// Time left until the breaker admits probe calls again.
        retry_after: Duration,
    },
    /// The command did not complete within its deadline.
    #[error("{op} timed out after {after:?}")]
    Timeout {
        /// The operation name (for example `GET`).
        op: &'static str,
        /// The deadline that was exceeded.
        after: Duration,
    },
    /// Too many commands are in flight; the call was refused at once instead of queueing.
    #[error("overloaded: more than {limit} commands in flight")]
    Overloaded {
        /// The configured in-flight limit.
        limit: usize,
    },
    /// Redis answered with an error reply (WRONGTYPE, NOPERM, a script error, ...).
    /// The connection is healthy; retrying the same call will fail the same way.
    #[error("redis replied with an error: {code}: {message}")]
    Redis {
        /// The error code Redis sent (`WRONGTYPE`, `ERR`, `NOPERM`, ...).
        code: String,
        /// The rest of the error line.
        message: String,
    },
    /// The network or the connection failed (refused, reset, closed, TLS, auth during connect).
    #[error("connection error: {0}")]
    Connection(String),
    /// A reply could not be turned into the requested type, or a stored value could not be
    /// decoded. Distinct from a miss: the data is there but it is not what the caller expected.
    #[error("cannot decode value: {0}")]
    Decode(String),
    /// Invalid configuration; `field` names what to fix.
    #[error("invalid config field `{field}`: {message}")]
    Config {
        /// The configuration field (URL part or environment variable) at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A key, user id or key part was rejected before anything was sent.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A multi-key call would span several cluster slots and cannot be split safely.
    #[error("keys of one call map to different cluster slots: {0}")]
    CrossSlot(String),
    /// The requested entity does not exist (or is not visible to the caller).
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller does not own the requested entity.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A compare-and-set lost: somebody else wrote a newer version first.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A rate limit refused the call.
    #[error("rate limited; retry in {retry_after:?}")]
    RateLimited {
        /// When the caller may try again.
        retry_after: Duration,
    },
    /// A durable write ([`crate::DurableWrites`]) was applied on the primary, but fewer
    /// replicas than required confirmed it before the deadline. The write is *not* lost yet,
    /// but a failover now could lose it; treat it as unconfirmed (retrying an idempotent
    /// write is safe).
    #[error("write applied on the primary but confirmed by {acked} of {required} replicas")]
    NotReplicated {
        /// Replicas that confirmed the write (WAIT's reply).
        acked: u32,
        /// Replicas the write mode asked for.
        required: u32,
    },
    /// The manager was shut down; no more commands are accepted.
    #[error("the redis manager is closed")]
    Closed,
    /// `redis_ssot::get_redis_manager()` was called before `redis_ssot::init()`.
    #[error("the process-wide redis manager is not initialised; call redis_ssot::init first")]
    NotInitialized,
    /// `RedisManager::connect` was called outside a Tokio runtime.
    #[error("no tokio runtime: RedisManager must be created inside a tokio runtime")]
    NoRuntime,
}

/// A coarse classification used by metrics, the breaker and `status()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The command succeeded.
    Ok,
    /// Redis replied with an error; the connection is fine.
    ReplyError,
    /// The connection failed.
    ConnectionError,
    /// The deadline passed.
    Timeout,
    /// Refused before sending: not ready.
    NotReady,
    /// Refused before sending: breaker open.
    CircuitOpen,
    /// Refused before sending: too many in flight.
    Overloaded,
    /// The reply did not decode.
    DecodeError,
}

impl Outcome {
    /// All outcomes, in a fixed order (used to pre-register metric handles).
    pub const ALL: [Outcome; 8] = [
        Outcome::Ok,
        Outcome::ReplyError,
        Outcome::ConnectionError,
        Outcome::Timeout,
        Outcome::NotReady,
        Outcome::CircuitOpen,
        Outcome::Overloaded,
        Outcome::DecodeError,
    ];

    /// The label value used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ReplyError => "reply_error",
            Outcome::ConnectionError => "connection_error",
            Outcome::Timeout => "timeout",
            Outcome::NotReady => "not_ready",
            Outcome::CircuitOpen => "circuit_open",
            Outcome::Overloaded => "overloaded",
            Outcome::DecodeError => "decode_error",
        }
    }

    /// Position in [`Outcome::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Whether this outcome counts against the circuit breaker.
    pub(crate) fn is_breaker_failure(self) -> bool {
        matches!(self, Outcome::ConnectionError | Outcome::Timeout)
    }
}

impl Error {
    /// Builds a [`Error::Config`] naming the field at fault.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The outcome class of this error, for metrics and the breaker.
    pub fn outcome(&self) -> Outcome {
        match self {
            Error::NotReady { .. } | Error::Closed => Outcome::NotReady,
            Error::CircuitOpen { .. } => Outcome::CircuitOpen,
            Error::Timeout { .. } => Outcome::Timeout,
            Error::Overloaded { .. } => Outcome::Overloaded,
            Error::Connection(_) => Outcome::ConnectionError,
            Error::Decode(_) => Outcome::DecodeError,
            _ => Outcome::ReplyError,
        }
    }

    /// True for failures where the data may be fine but Redis could not be reached
    /// (callers that fail open or closed switch on this).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::NotReady { .. }
                | Error::CircuitOpen { .. }
                | Error::Timeout { .. }
                | Error::Overloaded { .. }
                | Error::Connection(_)
                | Error::Closed
        )
    }
}

/// Classifies a redis-rs error into our error kinds.
///
/// Server replies that say "this node cannot serve you right now" (LOADING, READONLY,
/// MASTERDOWN, CLUSTERDOWN, TRYAGAIN) are connection-class: the connection must be replaced or
/// the topology refreshed, and retrying on the same socket will not help. Everything else the
/// server replies is a plain reply error that leaves the connection and the breaker alone.
impl From<redis::RedisError> for Error {
    fn from(err: redis::RedisError) -> Self {
        use redis::{ErrorKind, ServerErrorKind};
        if err.is_timeout() {
            return Error::Connection(format!("socket timeout: {err}"));
        }
        if err.is_io_error() || err.is_connection_dropped() || err.is_connection_refusal() {
            return Error::Connection(err.to_string());
        }
        match err.kind() {
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                | ServerErrorKind::ReadOnly
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::TryAgain,
            ) => Error::Connection(err.to_string()),
            ErrorKind::Server(ServerErrorKind::CrossSlot) => Error::CrossSlot(err.to_string()),
            ErrorKind::Server(_) | ErrorKind::Extension => Error::Redis {
                code: err.code().unwrap_or("ERR").to_string(),
                message: err.detail().unwrap_or_default().to_string(),
            },
            ErrorKind::Parse | ErrorKind::UnexpectedReturnType => Error::Decode(err.to_string()),
            ErrorKind::AuthenticationFailed => {
                Error::Connection(format!("authentication failed: {err}"))
            }
            ErrorKind::InvalidClientConfig => Error::config("url", err.to_string()),
            _ => Error::Connection(err.to_string()),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Decode(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrongtype_reply_is_a_redis_error_not_a_connection_error() {
        let err = redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
            "WRONGTYPE",
            "Operation against a key holding the wrong kind of value".to_string(),
        ));
        let ours = Error::from(err);
        assert_eq!(ours.outcome(), Outcome::ReplyError);
        assert!(!ours.outcome().is_breaker_failure());
        assert!(!ours.is_unavailable());
    }

    #[test]
    fn io_errors_are_connection_errors_that_count_against_the_breaker() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let ours = Error::from(redis::RedisError::from(io));
        assert!(matches!(ours, Error::Connection(_)));
        assert!(ours.outcome().is_breaker_failure());
        assert!(ours.is_unavailable());
    }

    #[test]
    fn outcome_indices_match_the_all_table() {
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
        }
    }
}
