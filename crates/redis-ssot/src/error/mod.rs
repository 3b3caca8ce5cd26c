//! The one error type of the crate.
//!
//! Every failure has its own variant so that a caller can `match` on the cause: an outage
//! (`NotReady`, `CircuitOpen`, `Connection`, `ServerBusy`, `Timeout`) is never confused with a
//! reply error (`Redis`) or with a missing key (which is not an error at all: `Ok(None)`).
//! Stores add their own domain variants (`NotFound`, `Forbidden`, `Conflict`) here rather than
//! wrapping this enum, so one `match` covers a whole call chain.
//!
//! A connection failure keeps redis-rs's error as its source (`Arc<RedisError>`, so `Error`
//! stays `Clone`), and its [`ConnectionKind`] is decided from that error's kind and I/O error
//! kind, never from its text (see [`classify`]).

mod classify;
mod kinds;

use std::sync::Arc;
use std::time::Duration;

pub use kinds::{BusyReason, ConnectionKind, Outcome};

use crate::state::ConnState;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when talking to Redis through the manager.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The manager has no usable connection right now (connecting, reconnecting, or the
    /// server is loading its dataset).
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
    /// Every dedicated connection (the small pool for blocking commands and WATCH) stayed
    /// leased until the call's deadline passed, so it was never sent. The client is
    /// saturated, not the server: this never counts against the circuit breaker.
    #[error(
        "all {size} dedicated connections (for blocking commands and WATCH) stayed busy for \
         {waited:?}, so the command was not sent; raise dedicated_pool_size or run fewer \
         blocking calls at once"
    )]
    PoolExhausted {
        /// The pool's size (`dedicated_pool_size`).
        size: usize,
        /// How long the call waited for a connection (its whole deadline).
        waited: Duration,
    },
    /// [`RedisManager::wait_ready`](crate::RedisManager::wait_ready) gave up: the manager
    /// did not become ready in time. `why` is the status verdict at that moment (the last
    /// connection error, in plain words, never a secret).
    #[error("redis was still not ready after {waited:?}: {why}")]
    StillNotReady {
        /// The connection state when it gave up.
        state: ConnState,
        /// How long it waited.
        waited: Duration,
        /// The status verdict, e.g. `not ready (auth_failed, will not cure itself): …`.
        why: String,
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
    /// The server answered, but cannot serve this now (loading its dataset, running a long
    /// script, out of memory, ...). The connection is fine; what a retry needs is time, not a
    /// new connection. [`BusyReason`] says what the manager does about each.
    #[error("redis cannot serve this now ({reason}): {message}")]
    ServerBusy {
        /// Why the server refused.
        reason: BusyReason,
        /// The server's error line.
        message: String,
    },
    /// The connection failed or could not be made (refused, reset, TLS, authentication, a
    /// primary that is no longer one, ...). `kind` says which; `source` is redis-rs's error
    /// when there was one.
    #[error("connection error ({kind}): {detail}")]
    Connection {
        /// What failed.
        kind: ConnectionKind,
        /// A plain-words description (credentials never appear in it).
        detail: String,
        /// redis-rs's error, when the failure came from it.
        #[source]
        source: Option<Arc<redis::RedisError>>,
    },
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

impl Error {
    /// Builds a [`Error::Config`] naming the field at fault.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Builds a [`Error::Connection`] that did not come from redis-rs.
    pub fn connection(kind: ConnectionKind, detail: impl Into<String>) -> Self {
        Error::Connection {
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    /// The outcome class of this error, for metrics and the breaker. Every variant is listed,
    /// so a new one must be given a class on purpose.
    pub fn outcome(&self) -> Outcome {
        match self {
            Error::NotReady { .. } | Error::StillNotReady { .. } | Error::Closed => {
                Outcome::NotReady
            }
            Error::CircuitOpen { .. } => Outcome::CircuitOpen,
            Error::Timeout { .. } => Outcome::Timeout,
            Error::Overloaded { .. } | Error::PoolExhausted { .. } => Outcome::Overloaded,
            Error::Connection { .. } => Outcome::ConnectionError,
            Error::ServerBusy { .. } => Outcome::ServerBusy,
            Error::Redis { .. } | Error::CrossSlot(_) => Outcome::ReplyError,
            Error::Decode(_) => Outcome::DecodeError,
            Error::Config { .. }
            | Error::InvalidKey(_)
            | Error::NotInitialized
            | Error::NoRuntime => Outcome::Invalid,
            Error::NotFound(_)
            | Error::Forbidden(_)
            | Error::Conflict(_)
            | Error::RateLimited { .. }
            | Error::NotReplicated { .. } => Outcome::Refused,
        }
    }

    /// True for failures where the data may be fine but Redis could not serve the call
    /// (callers that fail open or closed switch on this). Every variant is listed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::NotReady { .. }
            | Error::StillNotReady { .. }
            | Error::CircuitOpen { .. }
            | Error::Timeout { .. }
            | Error::Overloaded { .. }
            | Error::PoolExhausted { .. }
            | Error::Connection { .. }
            | Error::ServerBusy { .. }
            | Error::Closed => true,
            Error::Redis { .. }
            | Error::Decode(_)
            | Error::Config { .. }
            | Error::InvalidKey(_)
            | Error::CrossSlot(_)
            | Error::NotFound(_)
            | Error::Forbidden(_)
            | Error::Conflict(_)
            | Error::RateLimited { .. }
            | Error::NotReplicated { .. }
            | Error::NotInitialized
            | Error::NoRuntime => false,
        }
    }

    /// The connection kind, for a [`Error::Connection`].
    pub fn connection_kind(&self) -> Option<ConnectionKind> {
        match self {
            Error::Connection { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Decode(json_problem(&err))
    }
}

/// What is wrong with a JSON text, in plain words and with its position: serde's own wording
/// (``expected ident``, ``invalid type: string "x", expected u32``) is for Rust programmers.
pub(crate) fn json_problem(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Syntax => "is not valid JSON",
        Category::Eof => "is cut short (its JSON ends early)",
        Category::Data => "is JSON of another shape than the one expected here",
        Category::Io => "could not be read",
    };
    format!(
        "the stored value {what} (line {}, column {})",
        err.line(),
        err.column()
    )
}

#[cfg(test)]
mod tests;
