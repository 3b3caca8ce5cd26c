//! The kinds inside [`Error`](super::Error): what failed on a connection, why a server could
//! not serve, and the coarse outcome class used by metrics and the breaker.

use std::fmt;

/// What failed when a connection failed or could not be made.
///
/// The supervisor decides on the kind: [`ConnectionKind::is_refusal`] kinds get a cheap port
/// probe that cuts the backoff short; the others get the plain backoff (hammering a server
/// that rejects our password helps nobody). [`ConnectionKind::is_permanent`] kinds are ones
/// that waiting alone will not cure: `redis-ssot status` gives up on them at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConnectionKind {
    /// Nothing listens at the address (TCP refused).
    Refused,
    /// The unix socket file does not exist.
    NoSuchSocket,
    /// An established connection died (reset, broken pipe, end of stream).
    Dropped,
    /// Another I/O failure (unreachable network, DNS, a socket-level timeout).
    Io,
    /// The TLS handshake failed (certificate not trusted, wrong name, not TLS at all).
    Tls,
    /// The server rejected our credentials, or wants some we did not send (NOAUTH, WRONGPASS).
    Auth,
    /// The server refused a step of the connection handshake with a reply error (a database
    /// index out of range, a handshake command the ACL user may not run).
    Rejected,
    /// The server we are connected to is no longer the primary (READONLY, MASTERDOWN): after a
    /// failover, a new connection finds the new one.
    NotPrimary,
    /// The sentinels or the cluster could not tell us where the primary is.
    Discovery,
    /// The reply stream could not be parsed: the connection's state is unknown.
    Protocol,
    /// Connecting panicked inside a dependency (caught; the supervisor keeps going).
    Panicked,
}

impl ConnectionKind {
    /// The label used in `status()`, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::Refused => "refused",
            ConnectionKind::NoSuchSocket => "no_such_socket",
            ConnectionKind::Dropped => "dropped",
            ConnectionKind::Io => "io",
            ConnectionKind::Tls => "tls",
            ConnectionKind::Auth => "auth",
            ConnectionKind::Rejected => "rejected",
            ConnectionKind::NotPrimary => "not_primary",
            ConnectionKind::Discovery => "discovery",
            ConnectionKind::Protocol => "protocol",
            ConnectionKind::Panicked => "panicked",
        }
    }

    /// Whether the failure means "no server there right now" (a restart in progress), so that
    /// a cheap port probe should cut the reconnect backoff short.
    pub fn is_refusal(self) -> bool {
        match self {
            ConnectionKind::Refused | ConnectionKind::NoSuchSocket | ConnectionKind::Dropped => {
                true
            }
            ConnectionKind::Io
            | ConnectionKind::Tls
            | ConnectionKind::Auth
            | ConnectionKind::Rejected
            | ConnectionKind::NotPrimary
            | ConnectionKind::Discovery
            | ConnectionKind::Protocol
            | ConnectionKind::Panicked => false,
        }
    }

    /// Whether waiting alone will not cure it: somebody has to change the configuration, the
    /// credentials or the certificates (or create the socket). The manager still retries with
    /// backoff (an operator may fix the server side), but a one-shot check should stop.
    pub fn is_permanent(self) -> bool {
        match self {
            ConnectionKind::NoSuchSocket
            | ConnectionKind::Tls
            | ConnectionKind::Auth
            | ConnectionKind::Rejected => true,
            ConnectionKind::Refused
            | ConnectionKind::Dropped
            | ConnectionKind::Io
            | ConnectionKind::NotPrimary
            | ConnectionKind::Discovery
            | ConnectionKind::Protocol
            | ConnectionKind::Panicked => false,
        }
    }
}

impl fmt::Display for ConnectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a server that answered could not serve a call, and what the manager does about it.
///
/// | reason | Redis code | counts toward the breaker | the connection |
/// |---|---|---|---|
/// | `Loading` | `LOADING` | no (readiness already refuses calls) | kept; the manager turns `Loading` and polls it every `probe_interval` until the dataset is in |
/// | `Script` | `BUSY` | yes: a long script blocks every caller, so the breaker fails them fast | kept: a new one would get `BUSY` too |
/// | `TryAgain` | `TRYAGAIN` | no: one multi-key call during a slot migration, not the server | kept; retry the call |
/// | `ClusterDown` | `CLUSTERDOWN` | yes | kept; the topology refresh follows the cluster |
/// | `OutOfMemory` | `OOM` | no: reads still work | kept; writes fail until memory is freed |
/// | `Persistence` | `MISCONF` | no: reads still work | kept; writes fail until the server can save again |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BusyReason {
    /// The server is loading its dataset from disk (after a restart or a full resync).
    Loading,
    /// A script or function has run past `busy-reply-threshold`.
    Script,
    /// A multi-key command hit keys being migrated between cluster nodes.
    TryAgain,
    /// The cluster cannot serve some slots.
    ClusterDown,
    /// `maxmemory` is reached under the `noeviction` policy; writes are refused.
    OutOfMemory,
    /// The last background save failed and `stop-writes-on-bgsave-error` refuses writes.
    Persistence,
}

impl BusyReason {
    /// The label used in `status()`, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            BusyReason::Loading => "loading",
            BusyReason::Script => "script",
            BusyReason::TryAgain => "try_again",
            BusyReason::ClusterDown => "cluster_down",
            BusyReason::OutOfMemory => "out_of_memory",
            BusyReason::Persistence => "persistence",
        }
    }

    /// Whether it counts against the circuit breaker (see the table above).
    pub fn is_breaker_failure(self) -> bool {
        match self {
            BusyReason::Script | BusyReason::ClusterDown => true,
            BusyReason::Loading
            | BusyReason::TryAgain
            | BusyReason::OutOfMemory
            | BusyReason::Persistence => false,
        }
    }
}

impl fmt::Display for BusyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// The server answered that it cannot serve this now ([`BusyReason`]).
    ServerBusy,
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
    /// Rejected by this library before anything was sent (a bad key, bad configuration).
    Invalid,
    /// A store or a durability check said no (not found, forbidden, conflict, rate limited,
    /// not replicated). Never produced by the choke point itself.
    Refused,
}

impl Outcome {
    /// All outcomes, in a fixed order.
    pub const ALL: [Outcome; 11] = [
        Outcome::Ok,
        Outcome::ReplyError,
        Outcome::ConnectionError,
        Outcome::ServerBusy,
        Outcome::Timeout,
        Outcome::NotReady,
        Outcome::CircuitOpen,
        Outcome::Overloaded,
        Outcome::DecodeError,
        Outcome::Invalid,
        Outcome::Refused,
    ];

    /// The label value used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ReplyError => "reply_error",
            Outcome::ConnectionError => "connection_error",
            Outcome::ServerBusy => "server_busy",
            Outcome::Timeout => "timeout",
            Outcome::NotReady => "not_ready",
            Outcome::CircuitOpen => "circuit_open",
            Outcome::Overloaded => "overloaded",
            Outcome::DecodeError => "decode_error",
            Outcome::Invalid => "invalid",
            Outcome::Refused => "refused",
        }
    }

    /// Position in [`Outcome::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
