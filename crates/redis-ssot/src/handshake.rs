//! The last step of making a connection: a PING that proves a command can succeed on it.
//!
//! redis-rs's own handshake (AUTH, SELECT, CLIENT SETINFO) succeeds against a server that is
//! still loading its dataset, and sends nothing at all to a server that wants a password we
//! were not given. The PING does not: it answers `LOADING` while the dataset loads (the
//! connection is kept and polled, see the supervisor), `NOAUTH` when credentials are missing,
//! `MASTERDOWN` from a replica cut off from its primary, `BUSY` while a script runs. Those
//! answers become the manager's not-ready reason instead of a `Ready` that every command
//! contradicts.
//!
//! While a server loads, `INFO persistence` says how far it is (`loading_loaded_perc`,
//! `loading_eta_seconds`): cheap, and allowed during loading.

use redis::aio::ConnectionLike;

use crate::error::{BusyReason, ConnectionKind, Error, Result};

/// How far a loading server is, from `INFO persistence`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LoadProgress {
    /// Percent of the dataset loaded (`loading_loaded_perc`).
    pub percent: Option<f64>,
    /// The server's own estimate of the seconds left (`loading_eta_seconds`).
    pub eta_secs: Option<u64>,
    /// Bytes loaded so far (`loading_loaded_bytes`).
    pub loaded_bytes: Option<u64>,
    /// Bytes to load (`loading_total_bytes`).
    pub total_bytes: Option<u64>,
}

/// What the PING found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Greeting {
    /// The server answers commands.
    Ready,
    /// The server is loading its dataset.
    Loading(LoadProgress),
}

/// PINGs `conn`: `Ready`, `Loading` with the progress, or the error that makes the connection
/// unusable (authentication, a replica cut off from its primary, a busy script, I/O).
pub(crate) async fn greet<C: ConnectionLike + Send>(conn: &mut C) -> Result<Greeting> {
    let ping: redis::RedisResult<String> = redis::cmd("PING").query_async(conn).await;
    match ping.map_err(Error::from) {
        Ok(_) => Ok(Greeting::Ready),
        Err(Error::ServerBusy {
            reason: BusyReason::Loading,
            ..
        }) => Ok(Greeting::Loading(progress(conn).await)),
        Err(e) => Err(e),
    }
}

/// A reply error while a connection is being made means the server refused a step of the
/// handshake (a SELECT of a database it does not have, a command the ACL user may not run):
/// a connection failure of its own kind, not a caller's reply error.
pub(crate) fn refused(e: Error) -> Error {
    match e {
        Error::Redis { code, message } => Error::connection(
            ConnectionKind::Rejected,
            format!("the server refused the connection handshake: {code} {message}"),
        ),
        other => other,
    }
}

/// The load progress, or an empty one if `INFO` did not say.
pub(crate) async fn progress<C: ConnectionLike + Send>(conn: &mut C) -> LoadProgress {
    let info: redis::RedisResult<String> = redis::cmd("INFO")
        .arg("persistence")
        .query_async(conn)
        .await;
    info.map(|text| parse_progress(&text)).unwrap_or_default()
}

/// Reads the `loading_*` fields of an `INFO persistence` reply.
pub(crate) fn parse_progress(info: &str) -> LoadProgress {
    let mut p = LoadProgress::default();
    for line in info.lines() {
        let Some((key, value)) = line.trim().split_once(':') else {
            continue;
        };
        match key {
            "loading_loaded_perc" => p.percent = value.parse().ok(),
            "loading_eta_seconds" => p.eta_secs = value.parse().ok(),
            "loading_loaded_bytes" => p.loaded_bytes = value.parse().ok(),
            "loading_total_bytes" => p.total_bytes = value.parse().ok(),
            _ => {}
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loading_fields_of_info_persistence_are_read() {
        let info = "# Persistence\r\nloading:1\r\nasync_loading:0\r\nloading_start_time:1700000000\r\n\
                    loading_total_bytes:1048576\r\nloading_rdb_used_mem:0\r\n\
                    loading_loaded_bytes:524288\r\nloading_loaded_perc:50.00\r\n\
                    loading_eta_seconds:3\r\nrdb_changes_since_last_save:0\r\n";
        assert_eq!(
            parse_progress(info),
            LoadProgress {
                percent: Some(50.0),
                eta_secs: Some(3),
                loaded_bytes: Some(524_288),
                total_bytes: Some(1_048_576),
            }
        );
    }

    #[test]
    fn a_server_that_is_not_loading_gives_no_progress() {
        let info = "# Persistence\r\nloading:0\r\nasync_loading:0\r\n";
        assert_eq!(parse_progress(info), LoadProgress::default());
    }
}
