//! Spawning child processes that cannot outlive the test binary.
//!
//! Every child gets `PR_SET_PDEATHSIG(SIGKILL)`, so if the test binary dies (panic with
//! `abort`, `SIGKILL`, a crashed CI runner) the kernel kills its `redis-server`s too.
//!
//! The caveat of `PDEATHSIG`: it fires when the *thread* that forked the child exits, not
//! the process. A test may start a server on one thread and keep using it after that
//! thread ended (a `spawn_blocking` worker, a `OnceLock` initialised by the first test,
//! a helper thread). So all children are forked by one dedicated spawner thread that
//! lives as long as the process; the signal then fires exactly when the process dies.

use std::io;
use std::process::{Child, Command};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, OnceLock};

type Job = (Command, Sender<io::Result<Child>>);

/// The spawner thread's inbox. It is never closed, so the thread never exits.
fn inbox() -> io::Result<&'static Mutex<Sender<Job>>> {
    static INBOX: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    if let Some(inbox) = INBOX.get() {
        return Ok(inbox);
    }
    let (tx, rx) = mpsc::channel::<Job>();
    let mut started = false;
    let inbox = INBOX.get_or_init(|| {
        started = true;
        Mutex::new(tx)
    });
    if started {
        std::thread::Builder::new()
            .name("testkit-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(spawn_here(&mut cmd));
                }
            })?;
    }
    Ok(inbox)
}

/// Spawns `cmd` from the long-lived spawner thread, with the parent-death signal set.
pub(crate) fn spawn(cmd: Command) -> io::Result<Child> {
    let (tx, rx) = mpsc::channel();
    inbox()?
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send((cmd, tx))
        .map_err(|_| io::Error::other("testkit spawner thread is gone"))?;
    rx.recv()
        .map_err(|_| io::Error::other("testkit spawner thread dropped the request"))?
}

#[cfg(target_os = "linux")]
fn spawn_here(cmd: &mut Command) -> io::Result<Child> {
    use std::os::unix::process::CommandExt;
    // Cannot fail: a pid always fits in pid_t.
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the hook runs between fork and exec and only calls async-signal-safe
    // functions (prctl, getppid); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl; then nobody would ever
            // send the signal, so refuse to start instead of leaking.
            if libc::getppid() != parent {
                return Err(io::Error::other("parent exited during spawn"));
            }
            Ok(())
        });
    }
    cmd.spawn()
}

#[cfg(not(target_os = "linux"))]
fn spawn_here(cmd: &mut Command) -> io::Result<Child> {
    cmd.spawn()
}
