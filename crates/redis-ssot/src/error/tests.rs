use super::*;

/// The error redis-rs makes of an error reply `-CODE detail` read off the wire.
fn reply(code: &str, detail: &str) -> redis::RedisError {
    let wire = format!("-{code} {detail}\r\n");
    match redis::parse_redis_value(wire.as_bytes()) {
        Ok(redis::Value::ServerError(e)) => redis::RedisError::from(e),
        other => panic!("not a server error: {other:?}"),
    }
}

#[test]
fn wrongtype_reply_is_a_redis_error_not_an_outage() {
    let ours = Error::from(reply(
        "WRONGTYPE",
        "Operation against a key holding the wrong kind of value",
    ));
    match &ours {
        Error::Redis { code, message } => {
            assert_eq!(code, "WRONGTYPE");
            assert_eq!(
                message,
                "Operation against a key holding the wrong kind of value"
            );
        }
        other => panic!("expected Redis, got {other:?}"),
    }
    assert_eq!(ours.outcome(), Outcome::ReplyError);
    assert!(!ours.is_unavailable());
}

#[test]
fn io_errors_are_classified_by_their_io_kind_and_keep_their_source() {
    let cases = [
        (io::ErrorKind::ConnectionReset, ConnectionKind::Dropped),
        (io::ErrorKind::BrokenPipe, ConnectionKind::Dropped),
        (io::ErrorKind::UnexpectedEof, ConnectionKind::Dropped),
        (io::ErrorKind::ConnectionRefused, ConnectionKind::Refused),
        (io::ErrorKind::NotFound, ConnectionKind::NoSuchSocket),
        (io::ErrorKind::TimedOut, ConnectionKind::Io),
    ];
    for (io_kind, expected) in cases {
        let ours = Error::from(redis::RedisError::from(io::Error::from(io_kind)));
        assert_eq!(ours.connection_kind(), Some(expected), "{io_kind:?}");
        assert!(std::error::Error::source(&ours).is_some(), "{io_kind:?}");
        assert_eq!(ours.outcome(), Outcome::ConnectionError);
        assert!(ours.is_unavailable());
    }
}

#[test]
fn a_rustls_error_inside_io_is_a_tls_failure() {
    let tls = io::Error::new(
        io::ErrorKind::InvalidData,
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
    );
    let ours = Error::from(redis::RedisError::from(tls));
    assert_eq!(ours.connection_kind(), Some(ConnectionKind::Tls));
    assert!(ours.connection_kind().unwrap().is_permanent());
}

#[test]
fn server_state_codes_are_busy_reasons() {
    let cases = [
        (
            Error::from(reply("LOADING", "Redis is loading the dataset in memory")),
            BusyReason::Loading,
        ),
        (
            Error::from(reply("BUSY", "Redis is busy running a script.")),
            BusyReason::Script,
        ),
        (
            Error::from(reply("TRYAGAIN", "Multiple keys")),
            BusyReason::TryAgain,
        ),
        (
            Error::from(reply("CLUSTERDOWN", "Hash slot not served")),
            BusyReason::ClusterDown,
        ),
        (
            Error::from(reply(
                "OOM",
                "command not allowed when used memory > 'maxmemory'.",
            )),
            BusyReason::OutOfMemory,
        ),
        (
            Error::from(reply(
                "MISCONF",
                "Redis is configured to save RDB snapshots",
            )),
            BusyReason::Persistence,
        ),
    ];
    for (ours, expected) in cases {
        match &ours {
            Error::ServerBusy { reason, .. } => assert_eq!(*reason, expected),
            other => panic!("expected ServerBusy({expected}), got {other:?}"),
        }
        assert_eq!(ours.outcome(), Outcome::ServerBusy);
        assert!(ours.is_unavailable());
    }
}

#[test]
fn a_primary_that_is_no_longer_one_and_missing_credentials_are_connection_errors() {
    let readonly = Error::from(reply(
        "READONLY",
        "You can't write against a read only replica.",
    ));
    assert_eq!(readonly.connection_kind(), Some(ConnectionKind::NotPrimary));
    let noauth = Error::from(reply("NOAUTH", "Authentication required."));
    assert_eq!(noauth.connection_kind(), Some(ConnectionKind::Auth));
    let wrongpass = Error::from(reply("WRONGPASS", "invalid username-password pair"));
    assert_eq!(wrongpass.connection_kind(), Some(ConnectionKind::Auth));
}

#[test]
fn every_outcome_label_is_distinct_and_indices_match_the_table() {
    let mut labels: Vec<_> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
    for (i, o) in Outcome::ALL.iter().enumerate() {
        assert_eq!(o.index(), i);
    }
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), Outcome::ALL.len());
}

use std::io;

#[test]
fn crossslot_is_its_own_kind() {
    let ours = Error::from(reply(
        "CROSSSLOT",
        "Keys in request don't hash to the same slot",
    ));
    match ours {
        Error::CrossSlot(m) => assert!(m.contains("same slot"), "{m}"),
        other => panic!("expected CrossSlot, got {other:?}"),
    }
}
