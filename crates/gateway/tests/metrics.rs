//! `/metrics` as a Prometheus user reads it: checked by `promtool check metrics` and parsed
//! with a real exposition-format parser, through an outage (1011 stays 0). One test in this
//! binary: the recorder and the state gauges are process-wide, as the one manager is.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use prometheus_parse::{Scrape, Value as Sample};
use redis_ssot::RedisManager;
use testkit::RedisServer;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The exposition, linted by promtool: it must report nothing.
fn promtool_check(body: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; `make test` installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool check metrics: {report}\n--- body ---\n{body}"
    );
}

fn scrape(body: &str) -> Scrape {
    Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("the exposition parses")
}

/// The value of the sample of `name` whose labels include all of `labels`.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .filter(|x| x.metric == name)
        .find(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => *v,
            Sample::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            Sample::Summary(_) => f64::NAN,
        })
}

async fn metrics(gw: &Gateway) -> String {
    let r = gw.client.get("/metrics", None).await.unwrap();
    assert_eq!(r.status, 200);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_prometheus_conventions_and_1011_stays_zero_through_an_outage() {
    // As `serve` does: the recorder first, then the manager.
    gateway::metrics::install().expect("the Prometheus recorder");
    let server = RedisServer::start().unwrap();
    let manager = RedisManager::connect(fast_config(&server.url())).unwrap();
    let gw = start_gateway_on(manager, |_| {}).await;
    wait_ready(&gw).await;

    // Steady state, before any chat: the state gauges and the watched close codes exist.
    let body = metrics(&gw).await;
    promtool_check(&body);
    let s = scrape(&body);
    assert_eq!(
        value(&s, "db_client_connection_state", &[("state", "ready")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "db_client_connection_state", &[("state", "loading")]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &s,
            "db_client_circuit_breaker_state",
            &[("state", "closed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "db_client_circuit_breaker_state", &[("state", "open")]),
        Some(0.0)
    );
    assert_eq!(value(&s, "db_client_operations_in_flight", &[]), Some(0.0));
    assert!(value(&s, "db_client_ping_latency_seconds", &[]).is_some());
    for code in ["1000", "1001", "1008", "1011"] {
        assert_eq!(
            value(&s, "gateway_ws_closes_total", &[("code", code)]),
            Some(0.0),
            "{code}"
        );
    }

    // A chat, an outage mid-session, recovery, a refused upgrade, a normal close.
    let (token, mut ws, _) = login_and_connect(&gw, "mia").await;
    ask(&mut ws, "t", "before").await;
    until_type(&mut ws, "agent_completed", |_| true).await;
    server.pause();
    eventually(
        "readyz 503 on an idle gateway",
        Duration::from_secs(3),
        || async {
            let r = gw.client.get("/readyz", None).await.ok()?;
            (r.status == 503).then_some(())
        },
    )
    .await;
    let refused = gw.client.connect(&token, &[]).await.unwrap_err();
    assert!(refused.to_string().contains("503"), "{refused}");
    ask(&mut ws, "t", "during").await;
    until_type(&mut ws, "error", |_| true).await;
    server.resume();
    wait_ready(&gw).await;
    // Ready again, but the breaker may still be half-open for a moment: a message refused
    // then (an `error`, never an `agent_completed`) is sent again.
    loop {
        ask(&mut ws, "t", "after the outage").await;
        let answer = loop {
            let v = next_json(&mut ws, Duration::from_secs(20))
                .await
                .expect("an answer to the message within 20 s");
            if v["type"] == "agent_completed" || v["type"] == "error" {
                break v;
            }
        };
        if answer["type"] == "agent_completed" {
            break;
        }
        assert_eq!(answer["code"], "redis_unavailable", "{answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    })))
    .await
    .unwrap();
    while let Some(Ok(_)) = futures_util::StreamExt::next(&mut ws).await {}

    // Refused messages are counted by why: one to a thread that does not exist, and a
    // burst past the limit on a second gateway (same process, same recorder) allowing one
    // message per second.
    let strict = start_gateway(&server.url(), |c| c.message_limit.per_second = 1).await;
    wait_ready(&strict).await;
    let (_, mut burst, _) = login_and_connect(&strict, "nico").await;
    ask(&mut burst, "nowhere", "hello").await;
    until_type(&mut burst, "error", |e| e["code"] == "not_found").await;
    for _ in 0..3 {
        ask(&mut burst, "t", "hello").await;
    }
    until_type(&mut burst, "error", |e| e["code"] == "rate_limited").await;

    let body = eventually("the close counted", Duration::from_secs(5), || async {
        let body = metrics(&gw).await;
        let s = scrape(&body);
        (value(&s, "gateway_ws_closes_total", &[("code", "1000")]) >= Some(1.0)).then_some(body)
    })
    .await;
    promtool_check(&body);
    let s = scrape(&body);
    assert_eq!(
        value(&s, "gateway_ws_closes_total", &[("code", "1011")]),
        Some(0.0)
    );
    assert!(
        value(
            &s,
            "gateway_ws_upgrades_refused_total",
            &[("reason", "not_ready")]
        ) >= Some(1.0)
    );
    assert!(value(&s, "gateway_ws_upgrades_accepted_total", &[]) >= Some(1.0));
    assert!(value(&s, "gateway_agent_runs_total", &[("outcome", "completed")]) >= Some(2.0));
    assert!(value(&s, "gateway_events_delivered_total", &[]) >= Some(12.0));
    assert!(value(&s, "db_client_circuit_breaker_opened_total", &[]) >= Some(1.0));
    assert!(value(&s, "db_client_health_check_failures_total", &[]) >= Some(1.0));
    // "before" and "after the outage"; the strict gateway's burst is all refused: its one
    // message of the second went to the unknown thread (which counts towards the rate).
    assert!(value(&s, "gateway_messages_total", &[("outcome", "accepted")]) >= Some(2.0));
    assert!(
        value(
            &s,
            "gateway_messages_total",
            &[("outcome", "unknown_thread")]
        ) >= Some(1.0)
    );
    assert!(value(&s, "gateway_messages_total", &[("outcome", "rate_limited")]) >= Some(1.0));
    assert!(
        value(
            &s,
            "gateway_messages_total",
            &[("outcome", "redis_unavailable")]
        ) >= Some(1.0)
    );

    // The duration is a real histogram: buckets (sub-millisecond ones too), sum and count.
    let histogram = s
        .samples
        .iter()
        .find(|x| {
            x.metric == "db_client_operation_duration_seconds"
                && x.labels.get("db_operation_name") == Some("GET")
                && x.labels.get("outcome") == Some("ok")
        })
        .expect("GET/ok duration series");
    match &histogram.value {
        Sample::Histogram(buckets) => {
            let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
            assert!(
                bounds.contains(&0.0001) && bounds.contains(&0.001),
                "{bounds:?}"
            );
        }
        other => panic!("expected a histogram, got {other:?}"),
    }
    assert!(body.contains("db_client_operation_duration_seconds_sum{"));
    assert!(body.contains("db_client_operation_duration_seconds_count{"));
    // No series made up front for pairs that never happened.
    assert_eq!(
        value(
            &s,
            "db_client_operation_duration_seconds",
            &[
                ("db_operation_name", "ZINCRBY"),
                ("outcome", "decode_error")
            ]
        ),
        None
    );

    // Every family has HELP; every counter ends in _total.
    let families: BTreeSet<String> = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.to_string())
        .collect();
    for f in &families {
        let (name, kind) = f.split_once(' ').unwrap();
        assert!(
            body.contains(&format!("# HELP {name} ")),
            "no HELP for {name}"
        );
        if kind == "counter" {
            assert!(name.ends_with("_total"), "{name}");
        }
    }
    eprintln!(
        "metric families:\n{}",
        families.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}
