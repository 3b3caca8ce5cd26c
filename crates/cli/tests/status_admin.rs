//! `redis-ssot status` and `redis-ssot admin`, run as a user runs them: the real binary,
//! real servers, a real gateway started with `serve`.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use testkit::{RedisServer, ServerOptions};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_redis-ssot"));
    // Nothing from the developer's shell decides the outcome.
    for var in [
        "REDIS_URL",
        "REDIS_PASSWORD",
        "REDIS_USERNAME",
        "REDIS_SSOT_ADMIN_TOKEN",
    ] {
        c.env_remove(var);
    }
    c.env("RUST_LOG", "off");
    c
}

fn run(c: &mut Command) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("the binary runs");
    (
        status.code().expect("exit code"),
        String::from_utf8_lossy(&stdout).trim().to_string(),
        String::from_utf8_lossy(&stderr).trim().to_string(),
        started.elapsed(),
    )
}

#[test]
fn status_of_a_ready_server_is_one_line_and_exit_0() {
    let server = RedisServer::start().unwrap();
    let (code, out, err, _) = run(bin().args(["status", "--redis-url", &server.url()]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("ready: 127.0.0.1:"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn status_reads_the_password_from_the_environment_like_a_service() {
    let server = RedisServer::start_with(ServerOptions::new().requirepass("env-pass-123")).unwrap();
    let (code, out, err, _) = run(bin()
        .args(["status"])
        .env("REDIS_URL", server.url())
        .env("REDIS_PASSWORD", "env-pass-123"));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("env-pass-123") && !err.contains("env-pass-123"));
}

#[test]
fn status_gives_up_at_once_on_what_waiting_cannot_cure() {
    let server = RedisServer::start_with(ServerOptions::new().requirepass("s3cret")).unwrap();
    let (code, out, _, took) =
        run(bin().args(["status", "--redis-url", &server.url(), "--wait-ms", "20000"]));
    assert_eq!(code, 1);
    assert!(
        out.starts_with("not ready (auth_failed, will not cure itself): "),
        "{out}"
    );
    assert!(
        took < Duration::from_secs(10),
        "it did not wait 20 s: {took:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let missing = format!("redis+unix://{}/nope.sock", dir.path().display());
    let (code, out, _, took) =
        run(bin().args(["status", "--redis-url", &missing, "--wait-ms", "20000"]));
    assert_eq!(code, 1);
    assert!(
        out.starts_with("not ready (no_such_socket, will not cure itself): "),
        "{out}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");

    let db = format!("{}/99", server.url_with_password());
    let (code, out, _, _) = run(bin().args(["status", "--redis-url", &db, "--wait-ms", "20000"]));
    assert_eq!(code, 1);
    assert!(
        out.starts_with("not ready (rejected, will not cure itself): "),
        "{out}"
    );
    assert!(out.contains("DB index is out of range"), "{out}");
}

#[test]
fn status_of_nothing_listening_waits_then_says_unreachable() {
    let port = testkit::free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let (code, out, _, _) = run(bin().args(["status", "--redis-url", &url, "--wait-ms", "500"]));
    assert_eq!(code, 1);
    assert!(out.starts_with("not ready (unreachable): "), "{out}");
}

#[test]
fn a_bad_setting_in_the_environment_is_named() {
    let server = RedisServer::start().unwrap();
    let (code, _, err, _) = run(bin()
        .args(["status", "--redis-url", &server.url()])
        .env("REDIS_SSOT_COMMAND_TIMEOUT_MS", "soon"));
    assert_eq!(code, 2);
    assert!(err.contains("REDIS_SSOT_COMMAND_TIMEOUT_MS"), "{err}");
    assert!(err.contains("expected milliseconds"), "{err}");
}

/// A gateway run by the binary; killed on drop.
struct Served(Child, String);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(redis: &str, token: &str) -> Served {
    let port = testkit::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = bin()
        .args(["serve", "--listen", &listen, "--redis-url", redis])
        .env("REDIS_SSOT_ADMIN_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://{listen}");
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if std::net::TcpStream::connect(&listen).is_ok() {
            return Served(child, url);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the gateway did not start");
}

#[test]
fn status_and_admin_against_a_running_gateway() {
    let server = RedisServer::start().unwrap();
    let token = "test-admin-token-0123456789abcdef";
    let gw = serve(&server.url(), token);
    let until = Instant::now() + Duration::from_secs(20);
    let (mut code, mut out) = (1, String::new());
    while Instant::now() < until {
        (code, out, _, _) = run(bin().args(["status", "--gateway", &gw.1]));
        if code == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("ready: redis answers"),
        "addresses hidden without the token: {out}"
    );
    let (code, out, _, _) = run(bin().args(["status", "--gateway", &gw.1, "--admin-token", token]));
    assert_eq!(code, 0);
    assert!(out.starts_with("ready: 127.0.0.1:"), "{out}");

    let (code, out, err, _) = run(bin()
        .args(["admin", "reconnect", "--gateway", &gw.1])
        .env("REDIS_SSOT_ADMIN_TOKEN", token));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("ok: ready"), "{out}");
    let (code, out, _, _) = run(bin().args([
        "admin",
        "reset-breaker",
        "--gateway",
        &gw.1,
        "--admin-token",
        token,
    ]));
    assert_eq!(code, 0, "{out}");

    let (code, _, err, _) = run(bin().args([
        "admin",
        "reconnect",
        "--gateway",
        &gw.1,
        "--admin-token",
        "wrong-token-wrong-token",
    ]));
    assert_eq!(code, 1);
    assert!(err.contains("401"), "{err}");
    let (code, _, err, _) = run(bin().args(["admin", "reconnect", "--gateway", &gw.1]));
    assert_eq!(code, 2);
    assert!(err.contains("an admin token is required"), "{err}");

    let port = testkit::free_port();
    let (code, _, err, _) =
        run(bin().args(["status", "--gateway", &format!("http://127.0.0.1:{port}")]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot reach the gateway"), "{err}");
}
