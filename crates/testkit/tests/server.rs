//! The standalone server handle: start, addressing, lifecycle controls and cleanup.

use std::io::ErrorKind;
use std::path::Path;
use std::time::Duration;

use testkit::{RedisServer, ServerOptions, Value, free_port};

fn ping(server: &RedisServer) -> Value {
    let mut c = server.connect(Duration::from_secs(2)).expect("connect");
    c.command(&["PING"]).expect("ping")
}

#[test]
fn start_answers_ping_on_loopback() {
    let s = RedisServer::start().unwrap();
    assert_eq!(ping(&s), Value::Simple("PONG".into()));
    let addr = s.addr().unwrap();
    assert!(addr.ip().is_loopback());
    assert_eq!(s.port(), Some(addr.port()));
    assert_eq!(s.url(), format!("redis://127.0.0.1:{}", addr.port()));
    assert_eq!(s.cli(&["PING"]).unwrap(), "PONG");
    assert!(s.socket_path().is_none());
}

#[test]
fn unix_socket_server_answers_ping() {
    let s = RedisServer::start_with(ServerOptions::new().unix_socket(true)).unwrap();
    let path = s.socket_path().unwrap();
    assert!(path.starts_with(s.data_dir()));
    assert_eq!(s.url(), format!("redis+unix://{}", path.display()));
    assert_eq!(s.addr(), None);
    assert_eq!(ping(&s), Value::Simple("PONG".into()));
    assert_eq!(s.cli(&["PING"]).unwrap(), "PONG");
    // A killed server leaves its socket file behind; restart must still bind it.
    s.kill();
    s.restart().unwrap();
    assert_eq!(s.socket_path(), Some(path));
    assert_eq!(ping(&s), Value::Simple("PONG".into()));
}

#[test]
fn fixed_port_from_free_port_is_used() {
    let port = free_port();
    let s = RedisServer::start_with(ServerOptions::new().port(port)).unwrap();
    assert_eq!(s.port(), Some(port));
    assert_eq!(s.cli(&["PING"]).unwrap(), "PONG");
}

#[test]
fn stop_then_restart_comes_back_on_the_same_port() {
    let s = RedisServer::start().unwrap();
    let port = s.port();
    s.stop();
    assert!(!s.is_running());
    assert_eq!(s.pid(), None);
    assert!(s.connect(Duration::from_millis(500)).is_err());
    s.restart().unwrap();
    assert_eq!(s.port(), port);
    assert_eq!(ping(&s), Value::Simple("PONG".into()));
}

#[test]
fn kill_then_restart_comes_back_and_loses_data_without_aof() {
    let s = RedisServer::start().unwrap();
    s.cli(&["SET", "k", "v"]).unwrap();
    let old = s.pid().unwrap();
    s.kill();
    assert!(!Path::new(&format!("/proc/{old}")).exists());
    s.restart().unwrap();
    assert_ne!(s.pid(), Some(old));
    assert_eq!(s.cli(&["EXISTS", "k"]).unwrap(), "0");
}

#[test]
fn aof_always_data_survives_kill_and_restart() {
    let s = RedisServer::start_with(ServerOptions::new().aof_always(true)).unwrap();
    s.cli(&["SET", "durable", "yes"]).unwrap();
    s.kill();
    s.restart().unwrap();
    assert_eq!(s.cli(&["GET", "durable"]).unwrap(), "yes");
}

#[test]
fn pause_makes_ping_hang_and_resume_answers_it() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connect(Duration::from_millis(300)).unwrap();
    s.pause();
    assert!(s.is_running());
    let err = c.command(&["PING"]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
    s.resume();
    // The first PING was still queued in the socket; its reply arrives now.
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(c.read_value().unwrap(), Value::Simple("PONG".into()));
    assert_eq!(ping(&s), Value::Simple("PONG".into()));
}

#[test]
fn drop_leaves_no_process_even_when_paused() {
    let s = RedisServer::start().unwrap();
    let pid = s.pid().unwrap();
    let dir = s.data_dir().to_path_buf();
    s.pause();
    drop(s);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert!(!dir.exists());
}

#[test]
fn requirepass_is_needed_and_used_by_cli_and_url() {
    let s = RedisServer::start_with(ServerOptions::new().requirepass("s3cr:t")).unwrap();
    assert_eq!(s.cli(&["PING"]).unwrap(), "PONG");
    let port = s.port().unwrap();
    assert_eq!(
        s.url_with_password(),
        format!("redis://:s3cr%3At@127.0.0.1:{port}")
    );
    assert_eq!(s.url(), format!("redis://127.0.0.1:{port}"));
    let mut raw = testkit::RespClient::connect(s.addr().unwrap(), Duration::from_secs(2)).unwrap();
    match raw.command(&["PING"]).unwrap() {
        Value::Error(e) => assert!(e.starts_with("NOAUTH"), "{e}"),
        other => panic!("expected NOAUTH, got {other:?}"),
    }
}

#[test]
fn acl_user_without_set_permission_gets_noperm() {
    let s = RedisServer::start_with(ServerOptions::new().acl_user("reader", "pw", "+@all ~* -set"))
        .unwrap();
    let reply = s.cli_as("reader", "pw", &["SET", "k", "v"]).unwrap();
    assert!(reply.starts_with("NOPERM"), "{reply}");
    assert_eq!(s.cli_as("reader", "pw", &["GET", "k"]).unwrap(), "");
    assert_eq!(s.cli(&["SET", "k", "v"]).unwrap(), "OK");
    let port = s.port().unwrap();
    assert_eq!(
        s.url_for_user("reader", "pw"),
        format!("redis://reader:pw@127.0.0.1:{port}")
    );
}

#[test]
fn extra_arg_reaches_the_config() {
    let s = RedisServer::start_with(ServerOptions::new().arg("maxmemory", "12mb")).unwrap();
    assert_eq!(
        s.cli(&["CONFIG", "GET", "maxmemory"]).unwrap(),
        "maxmemory\n12582912"
    );
}

#[test]
fn parallel_starts_get_distinct_working_ports() {
    let servers: Vec<RedisServer> = (0..8)
        .map(|_| std::thread::spawn(RedisServer::start))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    let mut ports: Vec<u16> = servers.iter().map(|s| s.port().unwrap()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), servers.len());
    for s in &servers {
        assert_eq!(s.cli(&["PING"]).unwrap(), "PONG");
    }
}

#[test]
fn fixed_port_already_taken_fails_fast_with_the_server_log() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let t = std::time::Instant::now();
    let err = RedisServer::start_with(ServerOptions::new().port(port)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    assert!(err.to_string().contains("Address already in use"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn restart_waits_for_its_port_to_become_free() {
    let s = RedisServer::start().unwrap();
    s.kill();
    let squatter = std::net::TcpListener::bind(s.addr().unwrap()).unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        drop(squatter);
    });
    s.restart().unwrap();
    release.join().unwrap();
    assert_eq!(s.cli(&["PING"]).unwrap(), "PONG");
}
