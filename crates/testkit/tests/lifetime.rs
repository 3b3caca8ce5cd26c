//! No server outlives its owner: not its handle, not the thread that started it, and not
//! the test binary itself when that dies without running any destructor.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::RedisServer;

/// Alive = has a `/proc` entry that is not a zombie (an orphan waiting for init to reap
/// it is already dead).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn gone_within(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[test]
fn a_server_started_on_a_finished_thread_keeps_running() {
    let server = std::thread::spawn(|| RedisServer::start().unwrap())
        .join()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.is_running());
    assert_eq!(server.cli(&["PING"]).unwrap(), "PONG");
}

/// Child mode: start a server, report its pid, then wait to be killed.
#[test]
fn servers_die_with_a_killed_test_binary() {
    if std::env::var_os("TESTKIT_LIFETIME_CHILD").is_some() {
        let server = RedisServer::start().unwrap();
        println!("PID={}", server.pid().unwrap());
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "servers_die_with_a_killed_test_binary",
            "--nocapture",
        ])
        .env("TESTKIT_LIFETIME_CHILD", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid: u32 = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("PID=").map(|p| p.trim().parse().unwrap()))
        .expect("child reported no server pid");
    assert!(alive(pid));
    child.kill().unwrap(); // SIGKILL: no destructor runs in the child.
    child.wait().unwrap();
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "redis-server {pid} outlived its test binary"
    );
}
