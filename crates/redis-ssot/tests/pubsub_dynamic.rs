//! Dynamic subscriptions: channels and patterns added and removed on one connection, the
//! pattern of a pattern message, and one gap after a restart.

mod common;

use std::time::Duration;

use common::{client_count, fast_config, ready_manager};
use redis_ssot::{ConnState, Error, PubSubMessage};
use testkit::{RedisServer, ServerOptions};

async fn next(sub: &mut redis_ssot::DynamicSubscription) -> PubSubMessage {
    tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .expect("a message within 10 s")
        .expect("subscription open")
}

fn message(channel: &str, pattern: Option<&str>, payload: &str) -> PubSubMessage {
    PubSubMessage::Message {
        channel: channel.as_bytes().to_vec(),
        pattern: pattern.map(|p| p.as_bytes().to_vec()),
        payload: payload.as_bytes().to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_and_patterns_change_on_one_connection_and_a_restart_gives_one_gap() {
    let server = RedisServer::start_with(ServerOptions::new()).unwrap();
    let m = ready_manager(fast_config(&server.url())).await;
    let before = client_count(&server);
    let mut sub = m.dynamic_subscription();
    let ctl = sub.control();
    assert_eq!(
        client_count(&server),
        before,
        "no connection before the first subscribe"
    );
    assert_eq!(ctl.subscribe(&[b"a"]).await.unwrap(), 1);
    assert_eq!(ctl.psubscribe(&[b"news.*"]).await.unwrap(), 2);
    assert_eq!(ctl.subscribe(&[b"b", b"a"]).await.unwrap(), 3);
    assert_eq!(
        client_count(&server),
        before + 1,
        "one connection for every channel"
    );

    assert_eq!(m.publish("a", "1").await.unwrap(), 1);
    assert_eq!(next(&mut sub).await, message("a", None, "1"));
    assert_eq!(m.publish("news.x", "2").await.unwrap(), 1);
    assert_eq!(next(&mut sub).await, message("news.x", Some("news.*"), "2"));

    assert_eq!(ctl.unsubscribe(&[b"a"]).await.unwrap(), 2);
    assert_eq!(m.publish("a", "gone").await.unwrap(), 0);
    assert_eq!(m.publish("b", "3").await.unwrap(), 1);
    assert_eq!(next(&mut sub).await, message("b", None, "3"));

    server.kill();
    let _ = m.get::<String>("poke").await;
    match ctl.subscribe(&[b"c"]).await {
        Err(e) => assert!(e.is_unavailable(), "an outage error, got {e:?}"),
        Ok(n) => panic!("subscribed during an outage: {n}"),
    }
    server.restart().unwrap();
    m.wait_ready(Duration::from_secs(5)).await.unwrap();
    assert_eq!(next(&mut sub).await, PubSubMessage::Gap);
    assert_eq!(m.publish("b", "4").await.unwrap(), 1);
    assert_eq!(next(&mut sub).await, message("b", None, "4"));
    assert_eq!(m.publish("news.y", "5").await.unwrap(), 1);
    assert_eq!(next(&mut sub).await, message("news.y", Some("news.*"), "5"));
    assert_eq!(sub.try_recv(), None, "exactly one gap");

    assert_eq!(ctl.unsubscribe(&[]).await.unwrap(), 1);
    assert_eq!(ctl.punsubscribe(&[]).await.unwrap(), 0);
    m.shutdown(Duration::from_secs(1)).await;
    assert_eq!(m.state(), ConnState::Closed);
    assert!(matches!(ctl.subscribe(&[b"z"]).await, Err(Error::Closed)));
    assert_eq!(
        sub.recv().await,
        None,
        "the subscription ends with the manager"
    );
}
