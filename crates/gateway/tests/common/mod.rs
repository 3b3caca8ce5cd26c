//! Shared helpers for the gateway's tests: real redis-server (testkit), real gateways on
//! loopback ports, real WebSocket clients.
#![allow(dead_code)]

pub mod browser;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gateway::agent::{Agent, AgentInput, BoxFuture, StepSender};
use gateway::{GatewayConfig, serve_on};
use loadgen::{GatewayClient, WsStream};
use redis_ssot::{Config, RedisManager};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A manager config with short timeouts so outage tests finish quickly.
pub fn fast_config(url: &str) -> Config {
    let mut c = Config::from_url(url).expect("test url parses");
    c.command_timeout = Duration::from_millis(300);
    c.connect_timeout = Duration::from_millis(500);
    c.breaker_cooldown = Duration::from_millis(300);
    c.backoff_cap = Duration::from_millis(300);
    c
}

/// A running gateway; stops when dropped.
pub struct Gateway {
    pub client: GatewayClient,
    pub manager: RedisManager,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a gateway on a free loopback port, on its own manager for `redis_url`.
pub async fn start_gateway(redis_url: &str, tweak: impl FnOnce(&mut GatewayConfig)) -> Gateway {
    let manager = RedisManager::connect(fast_config(redis_url)).expect("valid config");
    start_gateway_on(manager, tweak).await
}

/// Starts a gateway on `manager`.
pub async fn start_gateway_on(
    manager: RedisManager,
    tweak: impl FnOnce(&mut GatewayConfig),
) -> Gateway {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = GatewayConfig::new(addr);
    config.login_limit.per_ip = 10_000;
    // Tests send messages back to back; the limit's own tests lower it again.
    config.message_limit.per_second = 10_000;
    tweak(&mut config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let m = manager.clone();
    tokio::spawn(async move {
        let _ = serve_on(listener, config, m, async {
            let _ = stopped.await;
        })
        .await;
    });
    Gateway {
        client: GatewayClient::new(&addr.to_string()),
        manager,
        stop: Some(stop),
    }
}

/// Waits until `/readyz` answers 200.
pub async fn wait_ready(gw: &Gateway) {
    eventually("gateway ready", Duration::from_secs(15), || async {
        match gw.client.get("/readyz", None).await {
            Ok(r) if r.status == 200 => Some(()),
            _ => None,
        }
    })
    .await;
}

/// Polls `f` until it returns `Some`, or panics after `deadline` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = Instant::now() + deadline;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < until, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The next JSON message, or `None` after `wait` (panics on close).
pub async fn next_json(ws: &mut WsStream, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(t)))) => {
                return Some(serde_json::from_str(t.as_str()).expect("json"));
            }
            Ok(Some(Ok(Message::Close(f)))) => panic!("socket closed: {f:?}"),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("socket failed: {other:?}"),
        }
    }
}

/// Reads messages until one has `type == kind` (and `pred` holds); returns everything read,
/// that one last.
pub async fn until_type(
    ws: &mut WsStream,
    kind: &str,
    pred: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let v = next_json(ws, Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("no {kind} within 20 s; got {seen:#?}"));
        let done = v["type"] == kind && pred(&v);
        seen.push(v);
        if done {
            return seen;
        }
    }
}

/// Sends a `user_message`.
pub async fn ask(ws: &mut WsStream, thread: &str, text: &str) {
    let frame = json!({"type": "user_message", "thread_id": thread, "text": text});
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .expect("send");
}

/// Only the stored events (those with an `event_id`).
pub fn stored(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|v| v["event_id"].is_string())
        .cloned()
        .collect()
}

/// The `type` of each event.
pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|v| v["type"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// The event types of one demo run, in order.
pub const RUN: [&str; 6] = [
    "user_message",
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
];

/// Creates each of `threads` for the session `token` (a message to a thread that does not
/// exist is refused, as REST refuses it).
pub async fn create_threads(gw: &Gateway, token: &str, threads: &[&str]) {
    for t in threads {
        gw.client
            .create_thread(token, t)
            .await
            .expect("create thread");
    }
}

/// Logs in, creates the thread `t`, and opens a socket; returns the token, the socket and
/// its `welcome`.
pub async fn login_and_connect(gw: &Gateway, user: &str) -> (String, WsStream, Value) {
    let token = gw.client.login(user).await.expect("login");
    create_threads(gw, &token, &["t"]).await;
    let mut ws = gw.client.connect(&token, &[]).await.expect("connect");
    let welcome = next_json(&mut ws, Duration::from_secs(10))
        .await
        .expect("welcome");
    assert_eq!(welcome["type"], "welcome");
    (token, ws, welcome)
}

/// An agent that works until the test lets it finish, one permit per run.
pub struct Held(pub std::sync::Arc<tokio::sync::Semaphore>);

impl Agent for Held {
    fn name(&self) -> &str {
        "held"
    }

    fn run(&self, input: AgentInput, _: StepSender) -> BoxFuture<'static, Result<String, String>> {
        let gate = self.0.clone();
        Box::pin(async move {
            gate.acquire().await.map_err(|e| e.to_string())?.forget();
            Ok(format!("done: {}", input.text))
        })
    }
}
