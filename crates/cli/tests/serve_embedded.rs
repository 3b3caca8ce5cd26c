//! `redis-ssot serve` on its own embedded redis-server, as `make run` starts it: the child is
//! watched, and one that dies is logged and started again while the gateway keeps running.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_redis-ssot"));
    for var in ["REDIS_URL", "REDIS_PASSWORD", "REDIS_USERNAME"] {
        c.env_remove(var);
    }
    c
}

/// The pids of `pid`'s children, over all its threads.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// `redis-ssot status --gateway`: exit 0 means the gateway's manager is ready.
fn ready(url: &str) -> bool {
    bin()
        .args(["status", "--gateway", url])
        .env("RUST_LOG", "off")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not within {within:?}");
}

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_killed_embedded_server_is_logged_and_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let port = testkit::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let gw = Gateway(
        bin()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let gw_pid = gw.0.id();
    wait_for("the gateway is ready", Duration::from_secs(30), || {
        ready(&url)
    });
    let first = children(gw_pid);
    assert_eq!(first.len(), 1, "one redis-server child: {first:?}");

    // SAFETY: kill(2) on the child of the gateway we started.
    unsafe {
        libc::kill(first[0] as libc::pid_t, libc::SIGKILL);
    }
    // The watcher logs the restart once the new server answers its PING, which can be a
    // moment after the manager has already reconnected to it.
    wait_for(
        "a new child, ready again, logged",
        Duration::from_secs(30),
        || {
            let now = children(gw_pid);
            now.len() == 1
                && now[0] != first[0]
                && ready(&url)
                && std::fs::read_to_string(&log)
                    .is_ok_and(|t| t.contains("the embedded redis-server is running again"))
        },
    );
    let second = children(gw_pid)[0];

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("the embedded redis-server exited; starting it again on the same socket")
            && text.contains("signal: 9"),
        "{text}"
    );
    assert!(
        text.contains("data=\"lost: nothing is persisted without --data-dir"),
        "{text}"
    );
    assert!(
        text.contains("the embedded redis-server is running again"),
        "{text}"
    );
    assert!(text.contains("restarts=1"), "{text}");
    // Written to a file, not a terminal: no colour escapes in the log.
    assert!(!text.contains('\u{1b}'), "{text:?}");

    // SIGTERM: the gateway stops, and the restarted child with it.
    let mut gw = gw;
    // SAFETY: as above, on the gateway.
    unsafe {
        libc::kill(gw_pid as libc::pid_t, libc::SIGTERM);
    }
    let status = gw.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    wait_for(
        "the restarted child is gone",
        Duration::from_secs(10),
        || {
            !std::path::Path::new(&format!("/proc/{second}")).exists()
                || std::fs::read_to_string(format!("/proc/{second}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true)
        },
    );
}
