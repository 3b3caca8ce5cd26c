//! Polling a condition until it holds or a deadline passes.
//!
//! Cluster and sentinel state converge through gossip, so the kit waits for observable
//! facts instead of sleeping; the timeout error carries the last reason it saw.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

/// Calls `check` every 50 ms until it returns `Ok(Some(v))`; `Ok(None)` and `Err` mean
/// "not yet" (the latter's text is kept). Times out with `what` and the last reason.
pub(crate) fn until<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> io::Result<Option<T>>,
) -> io::Result<T> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("condition not met");
    loop {
        match check() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = e.to_string(),
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("timed out after {timeout:?} waiting for {what}; last: {last}"),
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The value of `name:` in an `INFO` / `CLUSTER INFO` text.
pub(crate) fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.trim().strip_prefix(name)?.strip_prefix(':'))
        .map(str::to_owned)
}
