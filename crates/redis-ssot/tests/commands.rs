//! The command surface: values, misses, collections, pipelines, scripts, SCAN, pub/sub.

mod common;

use std::time::Duration;

use common::{fast_config, ready_manager};
use futures_util::StreamExt;
use redis_ssot::{Error, PubSubEvent, SetCondition, SetOptions, Ttl};
use testkit::{RedisServer, ServerOptions};

#[tokio::test]
async fn strings_with_options_and_ttls() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    assert!(
        m.set_with(
            "a",
            1,
            SetOptions {
                ttl: None,
                condition: SetCondition::IfAbsent
            }
        )
        .await
        .unwrap()
    );
    assert!(
        !m.set_with(
            "a",
            2,
            SetOptions {
                ttl: None,
                condition: SetCondition::IfAbsent
            }
        )
        .await
        .unwrap()
    );
    assert!(
        !m.set_with(
            "b",
            2,
            SetOptions {
                ttl: None,
                condition: SetCondition::IfPresent
            }
        )
        .await
        .unwrap()
    );
    assert_eq!(m.get::<i64>("a").await.unwrap(), Some(1));
    m.set_ex("t", "x", Duration::from_secs(100)).await.unwrap();
    match m.ttl("t").await.unwrap() {
        Ttl::Expires(d) => assert!(d > Duration::from_secs(90) && d <= Duration::from_secs(100)),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.ttl("a").await.unwrap(), Ttl::Persistent);
    assert_eq!(m.ttl("nope").await.unwrap(), Ttl::Missing);
    assert_eq!(m.incr("n").await.unwrap(), 1);
    assert_eq!(m.incr_by("n", 41).await.unwrap(), 42);
    m.mset(&[("m1", "x"), ("m2", "y")]).await.unwrap();
    let got: Vec<Option<String>> = m.mget(&["m1", "zz", "m2"]).await.unwrap();
    assert_eq!(got, vec![Some("x".into()), None, Some("y".into())]);
    assert_eq!(m.exists(&["m1", "m2", "zz"]).await.unwrap(), 2);
    assert_eq!(m.del(&["m1", "zz"]).await.unwrap(), 1);
    assert_eq!(m.unlink(&["m2"]).await.unwrap(), 1);
    assert!(m.memory_usage("a").await.unwrap().unwrap() > 0);
    assert_eq!(m.memory_usage("zz").await.unwrap(), None);
    assert!(m.expire("a", Duration::from_secs(5)).await.unwrap());
    assert!(!m.expire("zz", Duration::from_secs(5)).await.unwrap());
}

#[tokio::test]
async fn oversized_keys_are_refused_before_sending() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    let sent_before = m.status().totals.values().sum::<u64>();
    let huge = "k".repeat(redis_ssot::MAX_KEY_LEN + 1);
    assert!(matches!(
        m.get::<String>(&huge).await,
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(m.del(&[]).await, Err(Error::InvalidKey(_))));
    assert_eq!(
        m.status().totals.values().sum::<u64>(),
        sent_before,
        "nothing was sent"
    );
}

#[tokio::test]
async fn collections_round_trip() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    m.rpush("l", &["a", "b", "c"]).await.unwrap();
    assert_eq!(
        m.lrange::<String>("l", 0, -1).await.unwrap(),
        vec!["a", "b", "c"]
    );
    assert_eq!(m.lpop::<String>("l").await.unwrap().as_deref(), Some("a"));
    assert_eq!(m.llen("l").await.unwrap(), 2);
    assert_eq!(m.lpop::<String>("empty").await.unwrap(), None);
    assert!(m.hset("h", "f", 1).await.unwrap());
    assert_eq!(m.hincr_by("h", "f", 2).await.unwrap(), 3);
    assert_eq!(m.hget::<i64>("h", "f").await.unwrap(), Some(3));
    assert_eq!(m.hgetall::<i64>("h").await.unwrap().get("f"), Some(&3));
    assert_eq!(m.sadd("s", &["x", "y"]).await.unwrap(), 2);
    assert!(m.sismember("s", "x").await.unwrap());
    assert_eq!(m.scard("s").await.unwrap(), 2);
    assert!(m.zadd("z", "p", 1.5).await.unwrap());
    assert_eq!(m.zscore("z", "p").await.unwrap(), Some(1.5));
    assert_eq!(m.zrange::<String>("z", 0, -1).await.unwrap(), vec!["p"]);
}

#[tokio::test]
async fn pipelines_scripts_and_the_escape_hatch() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    let mut pipe = redis_ssot::redis::pipe();
    pipe.atomic()
        .cmd("SET")
        .arg("p")
        .arg(1)
        .ignore()
        .cmd("INCR")
        .arg("p")
        .cmd("GET")
        .arg("p");
    let (n, v): (i64, String) = m.pipeline(&pipe).await.unwrap();
    assert_eq!((n, v.as_str()), (2, "2"));

    let script = redis_ssot::redis::Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    assert_eq!(m.invoke::<i64>(script.key("c").arg(5)).await.unwrap(), 5);
    // The script cache is gone after a flush: EVALSHA falls back to EVAL.
    server.cli(&["SCRIPT", "FLUSH"]).unwrap();
    assert_eq!(m.invoke::<i64>(script.key("c").arg(5)).await.unwrap(), 10);

    let echoed: String = m
        .cmd(redis_ssot::redis::cmd("ECHO").arg("hi"))
        .await
        .unwrap();
    assert_eq!(echoed, "hi");
    match m
        .cmd::<String>(&redis_ssot::redis::cmd("NOSUCHCOMMAND"))
        .await
    {
        Err(Error::Redis { code, .. }) => assert_eq!(code, "ERR"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn scan_match_finds_exactly_the_matching_keys_and_unlink_matching_removes_them() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    for i in 0..250 {
        m.set(&format!("scan:a:{i}"), i).await.unwrap();
    }
    m.set("scan:b:1", 1).await.unwrap();
    let mut keys: Vec<String> = m
        .scan_match("scan:a:*", 50)
        .map(|r| r.unwrap())
        .collect()
        .await;
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 250);
    assert!(keys.iter().all(|k| k.starts_with("scan:a:")));
    assert_eq!(m.unlink_matching("scan:a:*", 100).await.unwrap(), 250);
    assert_eq!(m.get::<i64>("scan:b:1").await.unwrap(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_commands_use_a_dedicated_connection_and_never_stall_the_shared_one() {
    let server = RedisServer::start().unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    let blocker = {
        let m = m.clone();
        tokio::spawn(async move { m.blpop::<String>(&["queue"], Duration::from_secs(2)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The shared connection still answers while BLPOP waits.
    m.set("other", "x").await.unwrap();
    assert!(!blocker.is_finished(), "BLPOP is still waiting");
    m.rpush("queue", "job").await.unwrap();
    let (key, value) = blocker.await.unwrap().unwrap().unwrap();
    assert_eq!((key.as_str(), value.as_str()), ("queue", "job"));
    assert_eq!(m.status().dedicated_connections, 1);
    // An empty wait is Ok(None), not an error.
    assert_eq!(
        m.blpop::<String>(&["none"], Duration::from_millis(100))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_dedicated_pool_is_not_an_outage_and_never_opens_the_breaker() {
    let server = RedisServer::start().unwrap();
    let mut config = fast_config(&server.url());
    config.dedicated_pool_size = 2;
    config.blocking_margin = Duration::from_millis(100);
    let threshold = config.breaker_failure_threshold;
    let m = ready_manager(config).await;
    // Two long waits hold both dedicated connections.
    let holders: Vec<_> = (0..2)
        .map(|i| {
            let m = m.clone();
            tokio::spawn(async move {
                m.blpop::<String>(&[&format!("held:{i}")], Duration::from_secs(3))
                    .await
            })
        })
        .collect();
    common::eventually(
        "both dedicated connections leased",
        Duration::from_secs(5),
        || async { (m.status().dedicated_connections == 2).then_some(()) },
    )
    .await;
    // More short waits than the breaker's threshold: each finds the pool full for its whole
    // deadline (100 ms + 100 ms margin) and is refused as such, never as a timeout.
    for _ in 0..threshold + 2 {
        match m
            .blpop::<String>(&["other"], Duration::from_millis(100))
            .await
        {
            Err(e @ Error::PoolExhausted { .. }) => {
                assert!(matches!(
                    e,
                    Error::PoolExhausted { size: 2, waited } if waited == Duration::from_millis(200)
                ));
                assert!(e.is_unavailable());
                assert_eq!(
                    e.to_string(),
                    "all 2 dedicated connections (for blocking commands and WATCH) stayed busy \
                     for 200ms, so the command was not sent; raise dedicated_pool_size or run \
                     fewer blocking calls at once"
                );
            }
            other => panic!("expected PoolExhausted, got {other:?}"),
        }
    }
    let status = m.status();
    assert_eq!(status.breaker.consecutive_failures, 0, "{status:?}");
    assert_eq!(status.breaker.opened_total, 0, "{status:?}");
    assert!(m.is_ready());
    m.set("still", "fine").await.unwrap();
    // A lease freed is a lease had: the next wait gets an element pushed for it.
    m.rpush("held:0", "job").await.unwrap();
    let (key, value) = holders
        .into_iter()
        .next()
        .unwrap()
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((key.as_str(), value.as_str()), ("held:0", "job"));
    m.rpush("other", "x").await.unwrap();
    assert_eq!(
        m.blpop::<String>(&["other"], Duration::from_millis(500))
            .await
            .unwrap(),
        Some(("other".to_string(), "x".to_string()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_resubscribes_after_restart_and_reports_a_gap() {
    let server = RedisServer::start_with(ServerOptions::new()).unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    let mut sub = m
        .subscribe_ready(&["news"], &[], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(m.publish("news", "one").await.unwrap(), 1);
    assert_eq!(
        sub.recv().await.unwrap(),
        PubSubEvent::Message {
            channel: "news".into(),
            payload: b"one".to_vec()
        }
    );
    server.kill();
    let _ = m.get::<String>("poke").await; // make the manager notice
    server.restart().unwrap();
    m.wait_ready(Duration::from_secs(5)).await.unwrap();
    let gap = tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .unwrap();
    assert_eq!(gap, Some(PubSubEvent::Gap));
    assert_eq!(m.publish("news", "two").await.unwrap(), 1);
    assert_eq!(
        sub.recv().await.unwrap(),
        PubSubEvent::Message {
            channel: "news".into(),
            payload: b"two".to_vec()
        }
    );
}
