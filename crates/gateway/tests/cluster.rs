//! Two gateway instances on one Redis Cluster: every socket receives its user's events exactly
//! once, in order, whichever instance the message was sent through.
//!
//! What crosses what: a user's chat keys share the user's hash tag, so the append script runs
//! on the master owning that slot and PUBLISHes `chat:notify:<user>` there; each gateway's
//! `chat:notify:*` subscription sits on one node, so the notification of a user whose slot
//! lives elsewhere reaches it over the cluster bus. The users are chosen so their slots cover
//! every master, so on every instance some notifications come from another node.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use loadgen::WsStream;
use redis_ssot::UserId;
use serde_json::{Value, json};
use testkit::{RedisCluster, key_slot};
use tokio_tungstenite::tungstenite::Message;

/// Users per master; every user has a socket on each instance.
const USERS_PER_MASTER: usize = 2;
/// Messages each sending socket sends: the second once the first wave's events flow.
const MESSAGES_PER_SENDER: usize = 2;
/// How long a socket must stay silent after its last expected event before it is judged
/// complete (a duplicate would arrive within it).
const QUIET: Duration = Duration::from_millis(500);

/// A stream id `ms-seq` as a comparable pair.
fn id_of(event: &Value) -> (u64, u64) {
    let id = event["event_id"].as_str().expect("stored event has an id");
    let (ms, seq) = id.split_once('-').expect("stream id ms-seq");
    (ms.parse().unwrap(), seq.parse().unwrap())
}

/// The master owning `user`'s chat keys.
fn master_of(cluster: &RedisCluster, user: &str) -> usize {
    let log = gateway::keys::user_log(&UserId::new(user).unwrap());
    cluster.master_for_slot(key_slot(log.as_bytes())).unwrap()
}

/// One socket's part: who it belongs to, what it sends, and how many stored events it must
/// receive.
struct Plan {
    user: String,
    label: String,
    ws: WsStream,
    /// `(thread, text)` to send; the first at once, the rest once events have arrived.
    sends: Vec<(String, String)>,
    expected: usize,
}

/// What a socket received, and the run ids it was told were accepted for its messages.
struct Received {
    user: String,
    label: String,
    messages: Vec<Value>,
    accepted: BTreeSet<String>,
}

/// Sends the plan's messages and reads until the expected stored events arrived and the
/// socket then stayed quiet; checks it is still open with a ping. Any close frame (1011
/// included) or socket error fails the test.
async fn drive(mut p: Plan) -> Received {
    let mut messages: Vec<Value> = Vec::new();
    let mut sends = p.sends.into_iter();
    if let Some((thread, text)) = sends.next() {
        ask(&mut p.ws, &thread, &text).await;
    }
    let stored_count = |m: &[Value]| m.iter().filter(|v| v["event_id"].is_string()).count();
    loop {
        let have = stored_count(&messages);
        let wait = if have >= p.expected {
            QUIET
        } else {
            Duration::from_secs(20)
        };
        match tokio::time::timeout(wait, p.ws.next()).await {
            Err(_) if have >= p.expected => break,
            Err(_) => panic!(
                "{}: {have} of {} events after 20 s of silence; got {messages:#?}",
                p.label, p.expected
            ),
            Ok(Some(Ok(Message::Text(t)))) => {
                messages.push(serde_json::from_str(t.as_str()).expect("json"));
                // The next message goes out once this socket has seen a run's worth of events,
                // so later runs overlap with deliveries still in flight elsewhere.
                if stored_count(&messages) >= RUN.len()
                    && let Some((thread, text)) = sends.next()
                {
                    ask(&mut p.ws, &thread, &text).await;
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                panic!("{}: socket closed: {frame:?}", p.label)
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("{}: socket failed: {other:?}", p.label),
        }
    }
    assert!(
        sends.next().is_none(),
        "{}: every message was sent",
        p.label
    );
    p.ws.send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .expect("ping");
    let pong = next_json(&mut p.ws, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("{}: no pong", p.label));
    assert_eq!(pong["type"], "pong", "{}: still open and quiet", p.label);
    let accepted = messages
        .iter()
        .filter(|v| v["type"] == "accepted")
        .map(|v| v["run_id"].as_str().unwrap().to_string())
        .collect();
    Received {
        user: p.user,
        label: p.label,
        messages,
        accepted,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_a_cluster_deliver_each_users_events_once_in_order_to_every_socket() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::start(3, 0).expect("cluster"))
        .await
        .unwrap();
    let a = start_gateway(&cluster.seed_url(), |_| {}).await;
    let b = start_gateway(&cluster.seed_url(), |_| {}).await;
    wait_ready(&a).await;
    wait_ready(&b).await;

    // Users whose logs live on every master, USERS_PER_MASTER each.
    let masters = cluster.masters().unwrap();
    let mut per_master: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for i in 0.. {
        let name = format!("cu{i}");
        let owned = per_master.entry(master_of(&cluster, &name)).or_default();
        if owned.len() < USERS_PER_MASTER {
            owned.push(name);
        }
        if per_master.len() == masters.len()
            && per_master.values().all(|v| v.len() == USERS_PER_MASTER)
        {
            break;
        }
    }
    let users: Vec<String> = per_master.values().flatten().cloned().collect();

    // Sockets: one per user on each instance; the first user has a second socket on A and
    // the second user a second one on B. The A and B sockets send, to two threads each, so
    // both threads get messages through both instances.
    let mut plans = Vec::new();
    for (u, user) in users.iter().enumerate() {
        let token = if u % 2 == 0 {
            a.client.login(user).await.unwrap()
        } else {
            b.client.login(user).await.unwrap()
        };
        for k in 0..MESSAGES_PER_SENDER {
            a.client
                .create_thread(&token, &format!("t{k}"))
                .await
                .unwrap();
        }
        let mut instances = BTreeSet::new();
        let mut sockets = vec![("A", &a), ("B", &b)];
        if u == 0 {
            sockets.push(("A2", &a));
        }
        if u == 1 {
            sockets.push(("B2", &b));
        }
        let runs = 2 * MESSAGES_PER_SENDER;
        for (label, gw) in sockets {
            let mut ws = gw.client.connect(&token, &[]).await.unwrap();
            let welcome = next_json(&mut ws, Duration::from_secs(10)).await.unwrap();
            assert_eq!(welcome["type"], "welcome");
            assert_eq!(welcome["user_id"], user.as_str());
            instances.insert(welcome["instance"].as_str().unwrap().to_string());
            let sends = match label {
                "A" | "B" => (0..MESSAGES_PER_SENDER)
                    .map(|k| {
                        (
                            format!("t{k}"),
                            format!("{user} via {label}: what is {u}*{k}"),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            plans.push(Plan {
                user: user.clone(),
                label: format!("{user}/{label}"),
                ws,
                sends,
                expected: runs * RUN.len(),
            });
        }
        assert_eq!(
            instances.len(),
            2,
            "{user}: sockets on two distinct instances"
        );
    }

    let tasks: Vec<_> = plans.into_iter().map(|p| tokio::spawn(drive(p))).collect();
    let mut received = Vec::new();
    for t in tasks {
        received.push(t.await.unwrap());
    }

    for (u, user) in users.iter().enumerate() {
        let uid = UserId::new(user).unwrap();
        // The user's log really is on the master we chose it for.
        let owner = master_of(&cluster, user);
        let log_key = gateway::keys::user_log(&uid);
        assert_eq!(
            cluster
                .node(owner)
                .cli(&["EXISTS", &log_key])
                .unwrap()
                .trim(),
            "1",
            "{user}'s log on node {owner}"
        );

        // The truth: the user's two threads, read through the HTTP API of both instances,
        // merged by id.
        let reader = if u % 2 == 0 { &b } else { &a };
        let token = reader.client.login(user).await.unwrap();
        let mut log: Vec<Value> = Vec::new();
        for thread in (0..MESSAGES_PER_SENDER).map(|k| format!("t{k}")) {
            let via_a = a
                .client
                .get(&format!("/api/threads/{thread}/events"), Some(&token))
                .await
                .unwrap()
                .json();
            let via_b = b
                .client
                .get(&format!("/api/threads/{thread}/events"), Some(&token))
                .await
                .unwrap()
                .json();
            assert_eq!(via_a["events"], via_b["events"], "{user}/{thread}");
            log.extend(via_a["events"].as_array().unwrap().iter().cloned());
        }
        log.sort_by_key(id_of);
        let runs = 2 * MESSAGES_PER_SENDER;
        assert_eq!(
            log.len(),
            runs * RUN.len(),
            "{user}: every run stored whole"
        );

        let mine: Vec<&Received> = received.iter().filter(|r| r.user == *user).collect();
        let accepted: BTreeSet<String> = mine.iter().flat_map(|r| r.accepted.clone()).collect();
        assert_eq!(accepted.len(), runs, "{user}: every message accepted once");
        let mut by_run: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for e in &log {
            assert_eq!(e["user_id"], user.as_str());
            by_run
                .entry(e["run_id"].as_str().unwrap())
                .or_default()
                .push(e["type"].as_str().unwrap().to_string());
        }
        assert_eq!(
            by_run
                .keys()
                .map(|r| r.to_string())
                .collect::<BTreeSet<_>>(),
            accepted,
            "{user}: the log holds exactly the accepted runs"
        );
        for (run, kinds) in &by_run {
            assert_eq!(kinds, &RUN, "{user}: run {run} in order");
        }

        for r in mine {
            let errors: Vec<&Value> = r.messages.iter().filter(|v| v["type"] == "error").collect();
            assert!(errors.is_empty(), "{}: error events {errors:#?}", r.label);
            let events = stored(&r.messages);
            let ids: Vec<(u64, u64)> = events.iter().map(id_of).collect();
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "{}: ids strictly increasing (in order, no duplicate): {ids:?}",
                r.label
            );
            assert!(
                events.iter().all(|e| e["user_id"] == user.as_str()),
                "{}: only its own user's events",
                r.label
            );
            assert_eq!(
                events, log,
                "{}: the user's whole log, exactly once",
                r.label
            );
        }
    }
    // The notifications really crossed nodes: each instance's pattern subscription sits on
    // one node, and users' logs (where the append script publishes) are on every master.
    // (PUBSUB NUMPAT counts distinct patterns, so count the pattern-subscribed clients.)
    let numpat: Vec<usize> = (0..cluster.nodes().len())
        .map(|i| {
            let clients = cluster.node(i).cli(&["CLIENT", "LIST"]).unwrap();
            clients.lines().filter(|l| l.contains(" psub=1 ")).count()
        })
        .collect();
    assert_eq!(
        numpat.iter().sum::<usize>(),
        2,
        "one chat:notify:* subscription per instance: {numpat:?}"
    );
    let owners: BTreeSet<usize> = users.iter().map(|u| master_of(&cluster, u)).collect();
    for (node, _) in numpat.iter().enumerate().filter(|(_, n)| **n > 0) {
        assert!(
            owners.iter().any(|&o| o != node),
            "some user's notifications reach the subscriber on node {node} from another node"
        );
    }
    eprintln!(
        "subscriptions per node {numpat:?}; {} users on {} masters, {} sockets, {} runs, {} deliveries",
        users.len(),
        masters.len(),
        received.len(),
        users.len() * 2 * MESSAGES_PER_SENDER,
        received
            .iter()
            .map(|r| stored(&r.messages).len())
            .sum::<usize>()
    );
}
