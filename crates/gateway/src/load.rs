//! The load generator behind `redis-ssot bench gateway`.
//!
//! Each simulated user logs in, opens two sockets (one sends, both receive), and sends its
//! messages one after another, timing `user_message` → `agent_completed` on the sending
//! socket. At the end every socket's received events are checked against what the runs must
//! have produced: an event id seen twice is a duplicate, a missing one is lost. Fan-out to the
//! second socket is what makes "lost" meaningful: it only receives through the log.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::client::{ClientError, GatewayClient, WsStream};

/// Events one demo run stores (`user_message` and the five agent events).
pub const EVENTS_PER_RUN: usize = 6;

/// How long one run may take before it counts as timed out.
const RUN_DEADLINE: Duration = Duration::from_secs(30);

/// What to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadConfig {
    /// The gateway (`http://host:port` or `host:port`).
    pub url: String,
    /// Concurrent users.
    pub users: usize,
    /// Messages per user, sent one after another.
    pub messages: usize,
}

/// What happened.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LoadReport {
    /// Users that logged in and opened their sockets.
    pub users: usize,
    /// Sockets opened.
    pub sockets_opened: u64,
    /// Messages sent.
    pub messages_sent: u64,
    /// Runs whose `agent_completed` arrived on the sending socket.
    pub runs_completed: u64,
    /// Median `user_message` → `agent_completed`, in microseconds.
    pub p50_us: u64,
    /// 99th percentile, in microseconds.
    pub p99_us: u64,
    /// Slowest run, in microseconds.
    pub max_us: u64,
    /// How each socket ended, by the code of the Close frame it received: `"1000"` when the
    /// gateway completed our closing handshake, the gateway's code (`"1008"`, `"1011"`) when
    /// it closed first, `"abnormal"` when the connection dropped without a Close frame.
    pub close_codes: BTreeMap<String, u64>,
    /// Expected events that some socket never received.
    pub lost_events: u64,
    /// Events a socket received more than once.
    pub duplicated_events: u64,
    /// Error events and failed steps, by kind.
    pub errors: BTreeMap<String, u64>,
    /// Wall time of the whole run, in milliseconds.
    pub elapsed_ms: u64,
}

#[derive(Default)]
struct UserResult {
    sockets: u64,
    sent: u64,
    latencies_us: Vec<u64>,
    close_codes: BTreeMap<String, u64>,
    lost: u64,
    duplicated: u64,
    errors: BTreeMap<String, u64>,
    ok: bool,
}

/// Runs the load and reports; failures are counted in the report, never panics.
pub async fn run(config: LoadConfig) -> LoadReport {
    run_paced(config, Duration::ZERO).await
}

/// Like [`run`], but each user pauses about `think` after each answer before sending its
/// next message, as a person typing would. With no think time the load is a closed loop:
/// every user always has a run in flight, so the latency measured is mostly the queue of the
/// other users' runs (users ÷ throughput). The pause is not part of any latency.
///
/// Each pause is drawn uniformly from 0.5–1.5 × `think`, and each user's first message waits
/// 0–1 × `think`: with fixed pauses, users that connected together would send in lockstep
/// waves of `users` messages at once, which measures a burst rather than the rate.
pub async fn run_paced(config: LoadConfig, think: Duration) -> LoadReport {
    let started = Instant::now();
    let client = GatewayClient::new(&config.url);
    let tag = crate::token::random_hex(4);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..config.users {
        let (client, messages) = (client.clone(), config.messages);
        let name = format!("load-{tag}-{i}");
        tasks.spawn(async move { one_user(client, name, messages, think).await });
    }
    let mut report = LoadReport::default();
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let r = joined.unwrap_or_else(|_| {
            let mut r = UserResult::default();
            r.errors.insert("task_panicked".into(), 1);
            r
        });
        report.users += usize::from(r.ok);
        report.sockets_opened += r.sockets;
        report.messages_sent += r.sent;
        report.runs_completed += r.latencies_us.len() as u64;
        report.lost_events += r.lost;
        report.duplicated_events += r.duplicated;
        latencies.extend(r.latencies_us);
        merge(&mut report.close_codes, r.close_codes);
        merge(&mut report.errors, r.errors);
    }
    latencies.sort_unstable();
    report.p50_us = percentile(&latencies, 0.50);
    report.p99_us = percentile(&latencies, 0.99);
    report.max_us = latencies.last().copied().unwrap_or(0);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report
}

fn merge(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

/// The value at quantile `q` of sorted `v` (nearest rank; 0 when empty).
pub fn percentile(v: &[u64], q: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

async fn login_with_retry(
    client: &GatewayClient,
    name: &str,
    r: &mut UserResult,
) -> Option<String> {
    for _ in 0..20 {
        match client
            .post("/api/login", None, &json!({ "username": name }))
            .await
        {
            Ok(resp) if resp.status == 200 => {
                return resp.json()["token"].as_str().map(str::to_string);
            }
            Ok(resp) => {
                *r.errors
                    .entry(format!("login_{}", resp.status))
                    .or_default() += 1;
                let wait = resp
                    .header("retry-after")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            Err(e) => {
                *r.errors.entry(format!("login_io: {e}")).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    None
}

/// The fields of a received message that the load generator checks. Everything else is
/// skipped while parsing rather than built into a `serde_json::Value`: the generator shares
/// the machine with the gateway it measures, so its own cost per message matters.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
struct Received {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// One of a user's sockets, read by the user's own task: no reader task and channel per
/// socket, so a received message costs one wake-up of the load generator, not two.
struct Sock {
    ws: WsStream,
    /// The stored events received (those with an `event_id`), in arrival order.
    seen: Vec<Received>,
    /// How the socket ended, once it has (see [`close_label`]).
    closed: Option<String>,
}

impl Sock {
    fn new(ws: WsStream) -> Sock {
        Sock {
            ws,
            seen: Vec::new(),
            closed: None,
        }
    }

    /// The next JSON message, or `None` once the socket has closed (recorded in `closed`).
    async fn next(&mut self) -> Option<Received> {
        if self.closed.is_some() {
            return None;
        }
        while let Some(msg) = self.ws.next().await {
            if let Some(done) = self.take(msg) {
                return done;
            }
        }
        self.closed = Some("abnormal".to_string());
        None
    }

    /// The messages already received, without waiting.
    fn drain(&mut self) {
        while self.closed.is_none() {
            match self.ws.next().now_or_never() {
                Some(Some(msg)) => {
                    if let Some(Some(v)) = self.take(msg) {
                        self.keep(v);
                    }
                }
                Some(None) => self.closed = Some("abnormal".to_string()),
                None => return,
            }
        }
    }

    /// `Some(Some(v))`: a message; `Some(None)`: the socket closed; `None`: nothing to report.
    fn take(
        &mut self,
        msg: Result<Message, tokio_tungstenite::tungstenite::Error>,
    ) -> Option<Option<Received>> {
        match msg {
            Ok(Message::Text(t)) => serde_json::from_str::<Received>(t.as_str()).ok().map(Some),
            Ok(Message::Close(frame)) => {
                self.closed = Some(close_label(frame.as_ref()));
                Some(None)
            }
            Ok(_) => None,
            Err(_) => {
                self.closed = Some("abnormal".to_string());
                Some(None)
            }
        }
    }

    /// Records a stored event for the audit.
    fn keep(&mut self, v: Received) {
        if v.event_id.is_some() {
            self.seen.push(v);
        }
    }

    /// Ends the socket with our Close frame and waits (up to 5 s) for the gateway's echo;
    /// returns how it ended, if it did.
    async fn close(&mut self) -> Option<String> {
        if self.closed.is_none() {
            let _ = self.ws.send(Message::Close(Some(normal_close()))).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while self.next().await.is_some() {}
            })
            .await;
        }
        self.closed.take()
    }
}

/// The Close frame the load generator ends its sockets with.
fn normal_close() -> CloseFrame {
    CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    }
}

/// How a received Close frame is counted: its code (`"1000"` for the echo of our own close,
/// `"1008"`, `"1011"`, ... when the gateway closed first), `"none"` for a frame without a
/// code. A connection that ends without any Close frame is `"abnormal"` (1006).
fn close_label(frame: Option<&CloseFrame>) -> String {
    frame.map_or_else(|| "none".to_string(), |f| u16::from(f.code).to_string())
}

async fn one_user(
    client: GatewayClient,
    name: String,
    messages: usize,
    think: Duration,
) -> UserResult {
    let mut r = UserResult::default();
    let Some(token) = login_with_retry(&client, &name, &mut r).await else {
        return r;
    };
    let open =
        |client: GatewayClient, token: String| async move { client.connect(&token, &[]).await };
    let (a, b) = match (
        open(client.clone(), token.clone()).await,
        open(client.clone(), token.clone()).await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            r.sockets = u64::from(a.is_ok()) + u64::from(b.is_ok());
            let e: Option<ClientError> = a.err().or(b.err());
            *r.errors
                .entry(format!(
                    "connect: {}",
                    e.map(|e| e.to_string()).unwrap_or_default()
                ))
                .or_default() += 1;
            return r;
        }
    };
    r.sockets = 2;
    r.ok = true;
    let (mut a, mut b) = (Sock::new(a), Sock::new(b));
    let mut runs: HashSet<String> = HashSet::new();
    // One timer for all of the user's runs, moved forward for each: moving a registered
    // deadline later is an atomic store in Tokio, creating one is a timer-wheel insertion.
    let deadline = tokio::time::sleep(RUN_DEADLINE);
    tokio::pin!(deadline);
    for m in 0..messages {
        if !think.is_zero() {
            let factor = if m == 0 {
                rand::random_range(0.0..1.0)
            } else {
                rand::random_range(0.5..1.5)
            };
            // The second socket keeps reading while the user thinks.
            let pause = tokio::time::sleep(think.mul_f64(factor));
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    _ = &mut pause => break,
                    Some(v) = b.next(), if b.closed.is_none() => b.keep(v),
                }
            }
        }
        let msg = json!({"type": "user_message", "thread_id": format!("load-{m}"), "text": format!("what is {m}+1")});
        let sent_at = Instant::now();
        if a.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .is_err()
        {
            *r.errors.entry("send_failed".into()).or_default() += 1;
            break;
        }
        r.sent += 1;
        let mut run_id = None;
        deadline
            .as_mut()
            .reset(tokio::time::Instant::from_std(sent_at) + RUN_DEADLINE);
        loop {
            let v = tokio::select! {
                biased;
                v = a.next() => v,
                Some(v) = b.next(), if b.closed.is_none() => {
                    b.keep(v);
                    continue;
                }
                _ = &mut deadline => None,
            };
            let Some(v) = v else {
                *r.errors.entry("run_timeout".into()).or_default() += 1;
                break;
            };
            match v.kind.as_deref() {
                Some("accepted") => run_id = v.run_id.clone(),
                Some("error") => {
                    *r.errors
                        .entry(format!("error_{}", v.code.as_deref().unwrap_or("?")))
                        .or_default() += 1
                }
                Some("agent_completed")
                    if run_id.is_some() && v.run_id.as_deref() == run_id.as_deref() =>
                {
                    r.latencies_us.push(sent_at.elapsed().as_micros() as u64);
                    a.keep(v);
                    break;
                }
                _ => {}
            }
            a.keep(v);
        }
        runs.extend(run_id);
    }
    // Let the second socket catch up (still reading the first, so that a late duplicate
    // there is seen too), then take what both have already received.
    let expected = runs.len() * EVENTS_PER_RUN;
    let mut have = count_events(&b.seen, &runs);
    let until = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(until);
    while have < expected && b.closed.is_none() {
        tokio::select! {
            biased;
            v = b.next() => {
                if let Some(v) = v {
                    have += count_events(std::slice::from_ref(&v), &runs);
                    b.keep(v);
                }
            }
            Some(v) = a.next(), if a.closed.is_none() => a.keep(v),
            _ = &mut until => break,
        }
    }
    a.drain();
    b.drain();
    for s in [&a.seen, &b.seen] {
        let (lost, dup) = audit(s, &runs);
        r.lost += lost;
        r.duplicated += dup;
    }
    // Close with 1000 so the gateway's echo of our frame reads as a clean close; a bare
    // Close(None) is echoed without a code and would be indistinguishable from a server
    // that closed without saying why.
    for sock in [&mut a, &mut b] {
        if let Some(code) = sock.close().await {
            *r.close_codes.entry(code).or_default() += 1;
        }
    }
    r
}

fn count_events(events: &[Received], runs: &HashSet<String>) -> usize {
    events
        .iter()
        .filter(|v| v.event_id.is_some() && v.run_id.as_deref().is_some_and(|id| runs.contains(id)))
        .count()
}

/// (lost, duplicated) among the stored events of `runs` that one socket received.
fn audit(events: &[Received], runs: &HashSet<String>) -> (u64, u64) {
    let mut by_id: HashMap<&str, u64> = HashMap::new();
    for v in events {
        if let (Some(id), Some(run)) = (v.event_id.as_deref(), v.run_id.as_deref())
            && runs.contains(run)
        {
            *by_id.entry(id).or_default() += 1;
        }
    }
    let distinct = by_id.len();
    let dup: u64 = by_id.values().map(|n| n - 1).sum();
    let lost = (runs.len() * EVENTS_PER_RUN).saturating_sub(distinct) as u64;
    (lost, dup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn audit_counts_missing_and_repeated_event_ids() {
        let runs: HashSet<String> = ["r".to_string()].into();
        let ev = |id: &str| Received {
            event_id: Some(id.into()),
            run_id: Some("r".into()),
            ..Received::default()
        };
        let events = vec![ev("1-0"), ev("2-0"), ev("2-0"), ev("3-0")];
        assert_eq!(audit(&events, &runs), (3, 1));
    }
}
