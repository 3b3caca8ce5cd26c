//! The fault proxy: forwarding, cut, blackhole, heal and delay against a real server.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use testkit::{FaultProxy, RedisServer, RespClient, Value};

fn pong() -> Value {
    Value::Simple("PONG".into())
}

fn setup() -> (RedisServer, FaultProxy) {
    let s = RedisServer::start().unwrap();
    let p = FaultProxy::start(s.addr().unwrap()).unwrap();
    (s, p)
}

fn client(p: &FaultProxy, timeout_ms: u64) -> RespClient {
    RespClient::connect(p.addr(), Duration::from_millis(timeout_ms)).unwrap()
}

#[test]
fn proxy_forwards_commands_and_counts_connections() {
    let (_s, p) = setup();
    assert_eq!(p.url(), format!("redis://{}", p.addr()));
    let mut c = client(&p, 2000);
    assert_eq!(
        c.command(&["SET", "k", "v"]).unwrap(),
        Value::Simple("OK".into())
    );
    assert_eq!(
        c.command(&["GET", "k"]).unwrap(),
        Value::Bulk(b"v".to_vec())
    );
    let _second = client(&p, 2000);
    let deadline = Instant::now() + Duration::from_secs(2);
    while p.connection_count() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(p.connection_count(), 2);
}

#[test]
fn cut_closes_existing_connections_and_new_ones_work() {
    let (_s, p) = setup();
    let mut c = client(&p, 2000);
    assert_eq!(c.command(&["PING"]).unwrap(), pong());
    p.cut();
    let err = c.command(&["PING"]).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
        ),
        "{err:?}"
    );
    let mut fresh = client(&p, 2000);
    assert_eq!(fresh.command(&["PING"]).unwrap(), pong());
}

#[test]
fn blackhole_silences_existing_and_new_connections_until_heal() {
    let (_s, p) = setup();
    let mut c = client(&p, 300);
    assert_eq!(c.command(&["PING"]).unwrap(), pong());
    p.blackhole();
    let err = c.command(&["PING"]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    // New connections are accepted but silent too.
    let mut late = client(&p, 300);
    let err = late.command(&["PING"]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    p.heal();
    // Held bytes are delivered on heal: the queued PING's reply arrives.
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(c.read_value().unwrap(), pong());
    assert_eq!(c.command(&["PING"]).unwrap(), pong());
    let mut fresh = client(&p, 2000);
    assert_eq!(fresh.command(&["PING"]).unwrap(), pong());
}

#[test]
fn blackhole_with_upstream_down_still_looks_like_a_silent_peer() {
    let (s, p) = setup();
    s.kill();
    p.blackhole();
    let mut c = client(&p, 300);
    let err = c.command(&["PING"]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
}

#[test]
fn upstream_down_closes_new_client_connections() {
    let (s, p) = setup();
    s.kill();
    let mut c = client(&p, 2000);
    assert!(c.command(&["PING"]).is_err());
    s.restart().unwrap();
    let mut c = client(&p, 2000);
    assert_eq!(c.command(&["PING"]).unwrap(), pong());
}

#[test]
fn delay_adds_at_least_the_delay_per_round_trip() {
    let (_s, p) = setup();
    let mut c = client(&p, 5000);
    p.delay(Duration::from_millis(100));
    let t = Instant::now();
    assert_eq!(c.command(&["PING"]).unwrap(), pong());
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    p.heal();
    assert_eq!(c.command(&["PING"]).unwrap(), pong());
}

#[test]
fn drop_closes_client_connections() {
    let (_s, p) = setup();
    let mut c = client(&p, 2000);
    assert_eq!(c.command(&["PING"]).unwrap(), pong());
    drop(p);
    assert!(c.command(&["PING"]).is_err());
}
