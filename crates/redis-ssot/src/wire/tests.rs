//! The manager's own connection against real servers: replies in order under concurrency, big
//! replies and big writes, callers that give up, a dead server, a dropped handle.

use std::time::Duration;

use redis::{Value, cmd};

use super::{Login, Wire};
use crate::config::ServerAddr;

async fn wire(server: &testkit::RedisServer) -> Wire {
    wire_counting(server, Default::default()).await
}

async fn wire_counting(
    server: &testkit::RedisServer,
    stats: std::sync::Arc<crate::coalesce::BatchStats>,
) -> Wire {
    let addr = match server.socket_path() {
        Some(path) => ServerAddr::Unix(path),
        None => ServerAddr::Tcp {
            host: "127.0.0.1".into(),
            port: server.port().unwrap(),
        },
    };
    Wire::connect(&addr, &Login::default(), stats)
        .await
        .unwrap()
}

async fn get(w: &Wire, key: &str) -> Value {
    w.send(cmd("GET").arg(key)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_each_get_their_own_reply_over_tcp_and_unix() {
    for unix in [false, true] {
        let server =
            testkit::RedisServer::start_with(testkit::ServerOptions::new().unix_socket(unix))
                .unwrap();
        let stats = std::sync::Arc::new(crate::coalesce::BatchStats::default());
        let w = wire_counting(&server, stats.clone()).await;
        let tasks: Vec<_> = (0..64)
            .map(|t| {
                let w = w.clone();
                tokio::spawn(async move {
                    for i in 0..200 {
                        let key = format!("k{t}:{i}");
                        let set = w.send(cmd("SET").arg(&key).arg(t * 1000 + i)).await;
                        assert_eq!(set.unwrap(), Value::Okay);
                        let got = get(&w, &key).await;
                        assert_eq!(got, Value::BulkString((t * 1000 + i).to_string().into()));
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // 25,600 commands from 64 concurrent callers: many writes carried several.
        let (batches, commands) = stats.counts();
        assert!(
            batches > 0 && commands > 2 * batches,
            "{batches} {commands}"
        );
    }
}

#[tokio::test]
async fn a_big_write_and_a_big_reply_cross_the_socket_whole() {
    let server = testkit::RedisServer::start().unwrap();
    let w = wire(&server).await;
    // 8 MiB in one command: more than a socket buffer, so the write blocks and the writer
    // task finishes it.
    let big = vec![b'x'; 8 << 20];
    assert_eq!(
        w.send(cmd("SET").arg("big").arg(&big)).await.unwrap(),
        Value::Okay
    );
    assert_eq!(get(&w, "big").await, Value::BulkString(big));
    // A reply of 100,000 elements arrives in many chunks.
    let mut pipe = redis::pipe();
    for i in 0..100_000 {
        pipe.cmd("RPUSH").arg("list").arg(i).ignore();
    }
    w.send_pipeline(&pipe, 0, 100_000).await.unwrap();
    match w
        .send(cmd("LRANGE").arg("list").arg(0).arg(-1))
        .await
        .unwrap()
    {
        Value::Array(items) => {
            assert_eq!(items.len(), 100_000);
            assert_eq!(items[99_999], Value::BulkString(b"99999".to_vec()));
        }
        other => panic!("expected an array, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_that_gave_up_do_not_shift_the_replies_of_the_others() {
    let server = testkit::RedisServer::start().unwrap();
    let w = wire(&server).await;
    w.send(cmd("SET").arg("a").arg("1")).await.unwrap();
    w.send(cmd("SET").arg("b").arg("2")).await.unwrap();
    server.pause();
    for _ in 0..5 {
        let gave_up = tokio::time::timeout(Duration::from_millis(50), get(&w, "a")).await;
        assert!(gave_up.is_err());
    }
    server.resume();
    assert_eq!(get(&w, "b").await, Value::BulkString(b"2".to_vec()));
    assert_eq!(get(&w, "a").await, Value::BulkString(b"1".to_vec()));
}

#[tokio::test]
async fn a_dead_server_fails_what_is_owed_and_everything_after_at_once() {
    let server = testkit::RedisServer::start().unwrap();
    let w = wire(&server).await;
    let owed = w.send(cmd("DEBUG").arg("SLEEP").arg("0.5"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.kill();
    let err = owed.await.unwrap_err();
    assert!(err.is_connection_dropped() || err.is_io_error(), "{err}");
    let started = std::time::Instant::now();
    let later = get_result(&w).await;
    assert!(later.is_err(), "a dead connection refuses at once");
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(
        crate::Error::from(later.unwrap_err()).connection_kind(),
        Some(crate::ConnectionKind::Dropped)
    );
}

async fn get_result(w: &Wire) -> redis::RedisResult<Value> {
    w.send(cmd("GET").arg("x")).await
}

#[tokio::test]
async fn dropping_the_last_handle_lets_the_owed_replies_arrive_then_closes() {
    let server = testkit::RedisServer::start().unwrap();
    let w = wire(&server).await;
    let clients = || {
        server
            .cli(&["CLIENT", "LIST"])
            .unwrap()
            .lines()
            .filter(|l| !l.contains("cmd=client"))
            .count()
    };
    assert_eq!(clients(), 1);
    let owed = w.send(cmd("DEBUG").arg("SLEEP").arg("0.3"));
    drop(w);
    assert_eq!(owed.await.unwrap(), Value::Okay, "the reply still came");
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while clients() != 0 {
        assert!(
            std::time::Instant::now() < until,
            "the connection was not closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_handshake_authenticates_selects_and_reports_refusals() {
    let server =
        testkit::RedisServer::start_with(testkit::ServerOptions::new().requirepass("pw-123"))
            .unwrap();
    let addr = ServerAddr::Tcp {
        host: "127.0.0.1".into(),
        port: server.port().unwrap(),
    };
    let ok = Login {
        username: None,
        password: Some("pw-123".into()),
        db: 3,
    };
    let w = Wire::connect(&addr, &ok, Default::default()).await.unwrap();
    w.send(cmd("SET").arg("in3").arg("y")).await.unwrap();
    assert_eq!(
        server.cli(&["-n", "3", "GET", "in3"]).unwrap(),
        "y",
        "SELECT 3 took effect"
    );
    let wrong = Login {
        password: Some("nope".into()),
        ..ok.clone()
    };
    let err = Wire::connect(&addr, &wrong, Default::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.connection_kind(),
        Some(crate::ConnectionKind::Auth),
        "{err}"
    );
}
