//! Turning a redis-rs error into one of ours, by kind, never by text.
//!
//! * I/O failures become [`ConnectionKind`]s from the [`std::io::ErrorKind`] inside them (and a
//!   rustls error inside an I/O error is [`ConnectionKind::Tls`]).
//! * Server replies are sorted by their RESP error code, which is the protocol's own kind
//!   field: codes that say "this server cannot serve you now" (`LOADING`, `BUSY`, `TRYAGAIN`,
//!   `CLUSTERDOWN`, `OOM`, `MISCONF`) are [`Error::ServerBusy`]; codes that say "this
//!   connection is wrong" (`READONLY` and `MASTERDOWN` on what should be the primary,
//!   `NOAUTH`, `WRONGPASS`) are [`Error::Connection`]; every other code is a plain reply error.
//! * A transaction that the server discarded (`EXECABORT`) or a pipeline with failed commands
//!   is classified by the errors of its commands: if any of them was refused for an outage
//!   reason, the whole call is that outage (it was not the caller's bug); otherwise it is
//!   [`Error::Redis`] naming the first failed command's error.

use std::io;
use std::sync::Arc;

use redis::{ErrorKind, RedisError, ServerError, ServerErrorKind};

use super::{BusyReason, ConnectionKind, Error};

impl From<RedisError> for Error {
    fn from(err: RedisError) -> Self {
        classify(err)
    }
}

fn classify(err: RedisError) -> Error {
    match err.kind() {
        ErrorKind::Io => {
            let kind = io_kind(&err);
            connection(kind, err)
        }
        ErrorKind::AuthenticationFailed => connection(ConnectionKind::Auth, err),
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => Error::Decode(err.to_string()),
        ErrorKind::InvalidClientConfig => Error::config("url", err.to_string()),
        ErrorKind::Client if wrapped::<rustls::Error>(&err).is_some() => {
            connection(ConnectionKind::Tls, err)
        }
        ErrorKind::Client => Error::Redis {
            code: "ERR".into(),
            message: err.to_string(),
        },
        ErrorKind::MasterNameNotFoundBySentinel
        | ErrorKind::NoValidReplicasFoundBySentinel
        | ErrorKind::EmptySentinelList
        | ErrorKind::ClusterConnectionNotFound => connection(ConnectionKind::Discovery, err),
        ErrorKind::RESP3NotSupported => connection(ConnectionKind::Rejected, err),
        ErrorKind::Server(_) | ErrorKind::Extension => server_reply(err),
        // redis-rs's enum is non-exhaustive: a kind added there is a connection-level failure
        // until we know better (it counts against the breaker rather than hiding an outage).
        _ => connection(ConnectionKind::Io, err),
    }
}

fn connection(kind: ConnectionKind, err: RedisError) -> Error {
    Error::Connection {
        kind,
        detail: err.to_string(),
        source: Some(Arc::new(err)),
    }
}

/// The error of type `E` that redis-rs wraps, if that is what it wraps. redis-rs keeps it as
/// an `Arc<dyn Error>`, and that `Arc` is what `source()` hands out.
fn wrapped<E: std::error::Error + 'static>(err: &RedisError) -> Option<&E> {
    let source = std::error::Error::source(err)?;
    match source.downcast_ref::<Arc<dyn std::error::Error + Send + Sync>>() {
        Some(arc) => (**arc).downcast_ref::<E>(),
        None => source.downcast_ref::<E>(),
    }
}

/// The connection kind of an I/O failure, from the `io::Error` redis-rs wraps.
fn io_kind(err: &RedisError) -> ConnectionKind {
    let Some(io) = wrapped::<io::Error>(err) else {
        // redis-rs's own "connection closed" errors carry no io::Error.
        return ConnectionKind::Dropped;
    };
    if io
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
    {
        return ConnectionKind::Tls;
    }
    match io.kind() {
        io::ErrorKind::ConnectionRefused => ConnectionKind::Refused,
        io::ErrorKind::NotFound => ConnectionKind::NoSuchSocket,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotConnected => ConnectionKind::Dropped,
        _ => ConnectionKind::Io,
    }
}

/// What one server error code means for the caller.
enum Class {
    Busy(BusyReason),
    Connection(ConnectionKind),
    CrossSlot,
    Reply,
}

fn class_of(kind: Option<ServerErrorKind>, code: &str) -> Class {
    match kind {
        Some(ServerErrorKind::BusyLoading) => Class::Busy(BusyReason::Loading),
        Some(ServerErrorKind::TryAgain) => Class::Busy(BusyReason::TryAgain),
        Some(ServerErrorKind::ClusterDown) => Class::Busy(BusyReason::ClusterDown),
        Some(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown) => {
            Class::Connection(ConnectionKind::NotPrimary)
        }
        Some(ServerErrorKind::CrossSlot) => Class::CrossSlot,
        Some(_) => Class::Reply,
        // Codes redis-rs has no kind for.
        None => match code {
            "NOAUTH" | "WRONGPASS" => Class::Connection(ConnectionKind::Auth),
            "BUSY" => Class::Busy(BusyReason::Script),
            "OOM" => Class::Busy(BusyReason::OutOfMemory),
            "MISCONF" => Class::Busy(BusyReason::Persistence),
            _ => Class::Reply,
        },
    }
}

fn server_reply(err: RedisError) -> Error {
    let aborted = err.kind() == ErrorKind::Server(ServerErrorKind::ExecAbort);
    let outer_code = err.code().unwrap_or("ERR").to_string();
    let outer_detail = err.detail().unwrap_or_default().to_string();
    let items = err.clone().into_server_errors();
    let Some(items) = items.filter(|items| !items.is_empty()) else {
        // An error redis-rs raised itself with a server kind (a refused SELECT during the
        // handshake): classified by that kind.
        let kind = match err.kind() {
            ErrorKind::Server(k) => Some(k),
            _ => None,
        };
        return match class_of(kind, &outer_code) {
            Class::Busy(reason) => Error::ServerBusy {
                reason,
                message: format!("{outer_code} {outer_detail}"),
            },
            Class::Connection(kind) => connection(kind, err),
            Class::CrossSlot => Error::CrossSlot(err.to_string()),
            Class::Reply => Error::Redis {
                code: outer_code,
                message: outer_detail,
            },
        };
    };
    // An outage reason anywhere in the batch decides the whole call.
    for (_, item) in items.iter() {
        match class_of(item.kind(), item.code()) {
            Class::Busy(reason) => {
                return Error::ServerBusy {
                    reason,
                    message: line(item),
                };
            }
            Class::Connection(kind) => {
                return Error::Connection {
                    kind,
                    detail: line(item),
                    source: Some(Arc::new(err)),
                };
            }
            Class::CrossSlot => return Error::CrossSlot(err.to_string()),
            Class::Reply => {}
        }
    }
    // Only reply errors: the caller's own. Name the first failed command.
    let refused = items
        .iter()
        .find(|(_, item)| item.kind() != Some(ServerErrorKind::ExecAbort));
    if aborted {
        let message = match refused {
            Some((index, item)) => format!(
                "transaction discarded: command {} was refused: {}",
                index + 1,
                line(item)
            ),
            // No queued refusal to name: the server's own EXECABORT text.
            None => items[0]
                .1
                .details()
                .unwrap_or("transaction discarded")
                .to_string(),
        };
        return Error::Redis {
            code: "EXECABORT".into(),
            message,
        };
    }
    let first = refused.map_or(&items[0].1, |(_, item)| item);
    Error::Redis {
        code: first.code().to_string(),
        message: first.details().unwrap_or_default().to_string(),
    }
}

/// `CODE detail`, as the server sent it.
fn line(item: &ServerError) -> String {
    match item.details() {
        Some(d) => format!("{} {d}", item.code()),
        None => item.code().to_string(),
    }
}
