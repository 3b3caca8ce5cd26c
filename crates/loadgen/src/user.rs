//! One simulated user: log in, create a thread, open two sockets (one sends, both receive),
//! then for each phase send messages with pauses, timing `user_message` → `agent_completed`
//! on the sending socket. At the end both sockets' events are audited.
//!
//! Why two sockets: the second one only ever receives through the log (the gateway's
//! fan-out), which is what makes "lost" meaningful.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{Barrier, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::client::{GatewayClient, WsStream};
use crate::http::ClientError;
use crate::report::{EVENTS_PER_RUN, audit};
use crate::run::Phase;

/// How long one run may take before it counts as timed out.
const RUN_DEADLINE: Duration = Duration::from_secs(30);

/// What one user saw.
#[derive(Default)]
pub(crate) struct UserResult {
    pub(crate) ok: bool,
    pub(crate) sockets: u64,
    /// Per phase: messages sent and the latencies of the runs that completed, in µs.
    pub(crate) phases: Vec<(u64, Vec<u64>)>,
    pub(crate) close_codes: BTreeMap<String, u64>,
    pub(crate) lost: u64,
    pub(crate) duplicated: u64,
    pub(crate) errors: BTreeMap<String, u64>,
}

impl UserResult {
    fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }
}

/// What the user shares with the others.
pub(crate) struct Shared {
    pub(crate) client: GatewayClient,
    pub(crate) phases: Vec<Phase>,
    /// Every user and the coordinator meet here after connecting and around each phase.
    pub(crate) barrier: Barrier,
    /// Bounds concurrent logins and handshakes (a burst of thousands overflows the accept
    /// queue and shows up as resets).
    pub(crate) connecting: Semaphore,
}

/// Runs user `name` through every phase. Always meets the barrier as often as the
/// coordinator expects, also when it failed to connect (it then sends nothing).
pub(crate) async fn run(shared: Arc<Shared>, name: String) -> UserResult {
    let mut r = UserResult::default();
    let connected = {
        let _permit = shared.connecting.acquire().await;
        connect(&shared.client, &name, &mut r).await
    };
    shared.barrier.wait().await;
    let Some((mut a, mut b)) = connected else {
        for _ in &shared.phases {
            shared.barrier.wait().await;
            shared.barrier.wait().await;
        }
        return r;
    };
    r.ok = true;
    r.sockets = 2;
    let mut runs = HashSet::new();
    for phase in &shared.phases {
        shared.barrier.wait().await;
        let (sent, latencies) = messages(phase, &mut a, &mut b, &mut runs, &mut r).await;
        r.phases.push((sent, latencies));
        shared.barrier.wait().await;
    }
    finish(&mut a, &mut b, &runs, &mut r).await;
    r
}

async fn connect(client: &GatewayClient, name: &str, r: &mut UserResult) -> Option<(Sock, Sock)> {
    let token = login_with_retry(client, name, r).await?;
    if let Err(e) = client.create_thread(&token, "load").await {
        r.error(format!("create_thread: {e}"));
        return None;
    }
    let a = client.connect(&token, &[]).await;
    let b = client.connect(&token, &[]).await;
    match (a, b) {
        (Ok(a), Ok(b)) => Some((Sock::new(a), Sock::new(b))),
        (a, b) => {
            r.sockets = u64::from(a.is_ok()) + u64::from(b.is_ok());
            let e: Option<ClientError> = a.err().or(b.err());
            r.error(format!(
                "connect: {}",
                e.map(|e| e.to_string()).unwrap_or_default()
            ));
            None
        }
    }
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
                r.error(format!("login_{}", resp.status));
                let wait = resp
                    .header("retry-after")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            Err(e) => {
                r.error(format!("login_io: {e}"));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    None
}

/// Sends the phase's messages one after another; returns (sent, latencies in µs).
async fn messages(
    phase: &Phase,
    a: &mut Sock,
    b: &mut Sock,
    runs: &mut HashSet<String>,
    r: &mut UserResult,
) -> (u64, Vec<u64>) {
    let mut sent = 0;
    let mut latencies = Vec::with_capacity(phase.messages);
    // One timer for all of the user's runs, moved forward for each: moving a registered
    // deadline later is an atomic store in Tokio, creating one is a timer-wheel insertion.
    let deadline = tokio::time::sleep(RUN_DEADLINE);
    tokio::pin!(deadline);
    for m in 0..phase.messages {
        if !phase.think.is_zero() {
            // Uniform in 0.5–1.5 × think, the first in 0–1 ×: with fixed pauses, users that
            // connected together would send in lockstep waves.
            let factor = if m == 0 {
                rand::random_range(0.0..1.0)
            } else {
                rand::random_range(0.5..1.5)
            };
            let pause = tokio::time::sleep(phase.think.mul_f64(factor));
            tokio::pin!(pause);
            // Both sockets keep reading while the user thinks.
            loop {
                tokio::select! {
                    _ = &mut pause => break,
                    Some(v) = b.next(), if b.closed.is_none() => b.keep(v),
                    Some(v) = a.next(), if a.closed.is_none() => a.keep(v),
                }
            }
        }
        let msg =
            json!({"type": "user_message", "thread_id": "load", "text": format!("what is {m}+1")});
        let sent_at = Instant::now();
        if a.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .is_err()
        {
            r.error("send_failed");
            break;
        }
        sent += 1;
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
                r.error("run_timeout");
                break;
            };
            match v.kind.as_deref() {
                Some("accepted") => run_id = v.run_id.clone(),
                Some("error") => {
                    r.error(format!("error_{}", v.code.as_deref().unwrap_or("?")));
                    if run_id.is_none() {
                        // The message itself was refused: no run to wait for.
                        break;
                    }
                }
                Some("agent_completed")
                    if run_id.is_some() && v.run_id.as_deref() == run_id.as_deref() =>
                {
                    latencies.push(sent_at.elapsed().as_micros() as u64);
                    a.keep(v);
                    break;
                }
                _ => {}
            }
            a.keep(v);
        }
        runs.extend(run_id);
    }
    (sent, latencies)
}

/// Lets the second socket catch up, audits both, and closes both with 1000.
async fn finish(a: &mut Sock, b: &mut Sock, runs: &HashSet<String>, r: &mut UserResult) {
    let expected = runs.len() * EVENTS_PER_RUN;
    let mut have = count_events(&b.seen, runs);
    let until = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(until);
    while have < expected && b.closed.is_none() {
        tokio::select! {
            biased;
            v = b.next() => {
                if let Some(v) = v {
                    have += count_events(std::slice::from_ref(&v), runs);
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
        let pairs = s
            .iter()
            .filter_map(|v| Some((v.event_id.as_deref()?, v.run_id.as_deref()?)));
        let (lost, dup) = audit(pairs, runs);
        r.lost += lost;
        r.duplicated += dup;
    }
    // Close with 1000 so the gateway's echo of our frame reads as a clean close; a bare
    // Close(None) is echoed without a code and would be indistinguishable from a server
    // that closed without saying why.
    for sock in [a, b] {
        if let Some(code) = sock.close().await {
            *r.close_codes.entry(code).or_default() += 1;
        }
    }
}

fn count_events(events: &[Received], runs: &HashSet<String>) -> usize {
    events
        .iter()
        .filter(|v| v.event_id.is_some() && v.run_id.as_deref().is_some_and(|id| runs.contains(id)))
        .count()
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
            let bye = CloseFrame {
                code: CloseCode::Normal,
                reason: "done".into(),
            };
            let _ = self.ws.send(Message::Close(Some(bye))).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while self.next().await.is_some() {}
            })
            .await;
        }
        self.closed.take()
    }
}

/// How a received Close frame is counted: its code (`"1000"` for the echo of our own close,
/// `"1008"`, `"1011"`, ... when the gateway closed first), `"none"` for a frame without a
/// code. A connection that ends without any Close frame is `"abnormal"` (1006).
fn close_label(frame: Option<&CloseFrame>) -> String {
    frame.map_or_else(|| "none".to_string(), |f| u16::from(f.code).to_string())
}
