//! Running helper programs (`redis-cli`) with a deadline.
//!
//! A `redis-cli` pointed at a paused server would block forever and hang the test run;
//! every helper run here is killed after its deadline instead.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The `redis-server` binary; `TESTKIT_REDIS_SERVER` overrides it.
pub(crate) fn redis_server_bin() -> String {
    std::env::var("TESTKIT_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

/// The `redis-cli` binary; `TESTKIT_REDIS_CLI` overrides it.
pub(crate) fn redis_cli_bin() -> String {
    std::env::var("TESTKIT_REDIS_CLI").unwrap_or_else(|_| "redis-cli".into())
}

/// Output of a finished helper.
pub(crate) struct Output {
    pub(crate) success: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `program args...`, killing it after `timeout`.
pub(crate) fn run<S: AsRef<OsStr>>(
    program: &str,
    args: &[S],
    timeout: Duration,
) -> io::Result<Output> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    match status {
        Some(status) => Ok(Output {
            success: status.success(),
            stdout,
            stderr,
        }),
        None => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{program} did not finish within {timeout:?}; stdout: {stdout} stderr: {stderr}"
            ),
        )),
    }
}

/// Runs `program args...` and returns its trimmed stdout, or an error with both streams
/// if it exits non-zero.
pub(crate) fn run_ok<S: AsRef<OsStr>>(
    program: &str,
    args: &[S],
    timeout: Duration,
) -> io::Result<String> {
    let out = run(program, args, timeout)?;
    if out.success {
        Ok(out.stdout.trim().to_owned())
    } else {
        Err(io::Error::other(format!(
            "{program} failed; stdout: {} stderr: {}",
            out.stdout.trim(),
            out.stderr.trim()
        )))
    }
}
