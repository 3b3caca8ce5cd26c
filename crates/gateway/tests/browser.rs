//! The page in a real browser (headless Chromium over WebDriver) against a real gateway and
//! redis-server: chatting, the logged-out state, an outage shown and recovered, a long
//! thread opened at its newest events, a refused message kept for a retry, JWT login.
//!
//! Skipped (with a message) only when chromium or chromedriver is not installed; `make test`
//! installs both. With `GATEWAY_SCREENSHOTS=<dir>` the tests save screenshots of each state.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::browser::Browser;
use common::*;
use serde_json::{Value, json};
use testkit::RedisServer;

async fn log_in(b: &Browser, gw: &Gateway, user: &str) {
    b.open(&format!("http://{}/", gw.client.addr())).await;
    b.type_into("#username", user).await;
    b.click("#login-btn").await;
    b.wait_text("#who", user).await;
    b.wait_text("#ws-state", "open").await;
    b.wait_text("#redis-state", "ready").await;
}

/// What of a user the page holds, visible or not: the header, threads, conversation, the
/// message box, and the tab's storage.
const USER_TRACES: &str = "return {
    chat_shown: getComputedStyle(document.getElementById('chat-view')).display !== 'none',
    who: document.getElementById('who').textContent,
    threads: document.getElementById('threads').children.length,
    runs: document.getElementById('runs').children.length,
    title: document.getElementById('thread-title').textContent,
    message: document.getElementById('message').value,
    storage: sessionStorage.length,
    login_shown: getComputedStyle(document.getElementById('login-view')).display !== 'none',
}";

fn nothing_of_anyone() -> Value {
    json!({"chat_shown": false, "who": "", "threads": 0, "runs": 0, "title": "",
           "message": "", "storage": 0, "login_shown": true})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_logs_in_sends_a_message_and_sees_the_run_grouped_and_readable() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    log_in(&b, &gw, "browser-user").await;
    b.type_into("#message", "what is 2+3*4").await;
    b.click("#send-btn").await;
    let reply = b
        .wait_text(
            "#runs .run .event[data-type=\"agent_completed\"] .text",
            "= 14",
        )
        .await;
    assert_eq!(reply, "2+3*4 = 14");
    let run: Value = b
        .js(
            "return [...document.querySelectorAll('#runs .run')].map(r => ({
                head: r.querySelector('.run-head').textContent,
                rows: [...r.querySelectorAll('.event')].map(e => [e.querySelector('.kind').textContent, e.querySelector('.text').textContent, /^\\d\\d:\\d\\d:\\d\\d$/.test(e.querySelector('time').textContent)])
            }))",
            json!([]),
        )
        .await;
    let rows = &run[0]["rows"];
    assert_eq!(run.as_array().unwrap().len(), 1, "one run: {run}");
    assert_eq!(
        rows,
        &json!([
            ["You", "what is 2+3*4", true],
            ["Started", "demo agent", true],
            ["Thinking", "This looks like arithmetic: 2+3*4", true],
            ["Tool", "calculator(expression: 2+3*4)", true],
            ["Result", "calculator → expression: 2+3*4, value: 14", true],
            ["Reply", "2+3*4 = 14", true]
        ])
    );
    assert!(
        run[0]["head"].as_str().unwrap().contains("answered in"),
        "{run}"
    );
    assert_eq!(
        b.js("return document.getElementById('message').value", json!([]))
            .await,
        ""
    );
    b.screenshot("chatting").await;
    // No outage control against a Redis the gateway does not own.
    assert_eq!(
        b.js(
            "return document.getElementById('outage-box').hidden",
            json!([])
        )
        .await,
        json!(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_out_page_shows_nothing_of_any_user_before_login_and_after_logout() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    b.open(&format!("http://{}/", gw.client.addr())).await;
    b.wait_for(
        "the login form",
        Duration::from_secs(10),
        "return document.getElementById('username').offsetParent !== null",
    )
    .await;
    assert_eq!(b.js(USER_TRACES, json!([])).await, nothing_of_anyone());
    b.screenshot("logged-out").await;

    log_in(&b, &gw, "private-pat").await;
    b.type_into("#message", "my secret plan").await;
    b.click("#send-btn").await;
    b.wait_text("#runs", "my secret plan").await;
    b.click("#logout-btn").await;
    b.wait_for(
        "the login form again",
        Duration::from_secs(10),
        "return getComputedStyle(document.getElementById('chat-view')).display === 'none'",
    )
    .await;
    assert_eq!(b.js(USER_TRACES, json!([])).await, nothing_of_anyone());
    let everywhere = b
        .js("return document.documentElement.outerHTML", json!([]))
        .await;
    let html = everywhere.as_str().unwrap();
    assert!(!html.contains("private-pat") && !html.contains("my secret plan"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_panel_shows_an_outage_on_an_idle_gateway_and_its_recovery() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let server = Arc::new(RedisServer::start().unwrap());
    let frozen = server.clone();
    let gw = start_gateway(&server.url(), move |c| {
        c.outage_duration = Duration::from_secs(3);
        c.outage_cooldown = Duration::from_secs(60);
        c.outage = Some(Arc::new(move |pause| {
            let server = frozen.clone();
            std::thread::spawn(move || {
                server.pause();
                std::thread::sleep(pause);
                server.resume();
            });
        }));
    })
    .await;
    wait_ready(&gw).await;
    log_in(&b, &gw, "watcher").await;
    // A few seconds of real samples before the outage.
    b.wait_for(
        "three PING samples on the chart",
        Duration::from_secs(10),
        "return document.querySelectorAll('#chart-points .sample').length >= 3",
    )
    .await;
    b.click("#outage-btn").await;
    let clicked = Instant::now();
    b.wait_text("#outage-status", "Redis paused").await;
    b.wait_text("#redis-state", "refusing").await;
    let shown = clicked.elapsed();
    assert_eq!(b.text("#breaker-state").await, "open");
    b.wait_for(
        "an open outage band",
        Duration::from_secs(5),
        "return document.querySelector('#chart-bands .outage-band[data-end=\"\"]') !== null",
    )
    .await;
    b.wait_text("#outage-status", "outage seen after").await;
    b.wait_text("#verdict", "not ready").await;
    b.wait_text("#last-error", "timed out").await;
    b.screenshot("outage").await;
    let recovered = b.wait_text("#outage-status", "Recovered").await;
    let back = clicked.elapsed();
    assert_eq!(b.text("#redis-state").await, "ready");
    assert!(
        recovered.contains("after Redis resumed (outage seen after"),
        "{recovered}"
    );
    // One outage at a time for everyone, then the cooldown: the button waits it out, and
    // says so.
    assert!(
        recovered.contains("The next outage can start in"),
        "{recovered}"
    );
    assert_eq!(
        b.js(
            "return document.getElementById('outage-btn').disabled",
            json!([])
        )
        .await,
        json!(true)
    );
    let band = b
        .js(
            "const r = document.querySelector('#chart-bands .outage-band'); return [r.dataset.start !== '', r.dataset.end !== '']",
            json!([]),
        )
        .await;
    assert_eq!(
        band,
        json!([true, true]),
        "the band is closed at the recovery"
    );
    b.wait_for(
        "a failed check marked",
        Duration::from_secs(5),
        "return document.querySelectorAll('#chart-points .failed-check').length >= 1",
    )
    .await;
    b.wait_text("#verdict", "ready: ").await;
    b.wait_for(
        "a PING sample after the recovery",
        Duration::from_secs(5),
        "const s = document.getElementById('ping').textContent; return s.endsWith(' ms') && !s.startsWith('no answer')",
    )
    .await;
    b.screenshot("recovered").await;
    eprintln!("outage shown {shown:?} after the click; recovered {back:?} after it (3 s pause)");
    // Chatting works again.
    b.type_into("#message", "what is 1+1").await;
    b.click("#send-btn").await;
    b.wait_text("#runs", "1+1 = 2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_thread_opens_at_its_newest_events_and_loads_older_ones_on_demand() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (token, mut ws, _) = login_and_connect(&gw, "chatty").await;
    create_threads(&gw, &token, &["long"]).await;
    for i in 0..100 {
        ask(&mut ws, "long", &format!("what is {i}+0")).await;
        until_type(&mut ws, "agent_completed", |_| true).await;
    }
    log_in(&b, &gw, "chatty").await;
    b.wait_text("#thread-title", "what is 0+0").await;
    let last = b
        .wait_text("#runs .run:last-child .event:last-child .text", "99+0 = 99")
        .await;
    assert_eq!(last, "99+0 = 99");
    let count = "return document.querySelectorAll('#runs .event').length";
    assert_eq!(b.js(count, json!([])).await, 50);
    let at_bottom = b
        .js("const e = document.getElementById('events'); return e.scrollHeight - e.scrollTop - e.clientHeight < 5", json!([]))
        .await;
    assert_eq!(at_bottom, true, "opened scrolled to the newest");
    let first = "return document.querySelector('#runs .event .text').textContent";
    for shown in [100, 150] {
        b.click("#older-btn").await;
        b.wait_for(
            "older events",
            Duration::from_secs(10),
            &format!("return document.querySelectorAll('#runs .event').length === {shown}"),
        )
        .await;
    }
    assert_eq!(b.js(first, json!([])).await, "what is 75+0");
    while b
        .js(
            "return document.getElementById('older-btn').hidden",
            json!([]),
        )
        .await
        == false
    {
        b.click("#older-btn").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(b.js(count, json!([])).await, 600);
    assert_eq!(b.js(first, json!([])).await, "what is 0+0");
    assert_eq!(
        b.js(
            "return document.querySelectorAll('#runs .run').length",
            json!([])
        )
        .await,
        100
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_stays_in_the_box_and_retry_sends_it() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let server = RedisServer::start().unwrap();
    // One run in flight at a time, and the agent works until the test lets it finish: the
    // second message is refused however slowly the browser types.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let agent = gate.clone();
    let gw = start_gateway(&server.url(), move |c| {
        c.agent = Arc::new(Held(agent));
        c.message_limit.in_flight = 1;
    })
    .await;
    wait_ready(&gw).await;
    log_in(&b, &gw, "hasty").await;
    b.type_into("#message", "first question").await;
    b.click("#send-btn").await;
    b.wait_text("#runs", "first question").await;
    b.type_into("#message", "second question").await;
    b.click("#send-btn").await;
    let why = b.wait_text("#send-error-text", "in progress").await;
    assert_eq!(
        why,
        "you already have 1 run in progress; send this one when one has finished"
    );
    assert_eq!(
        b.js("return document.getElementById('message').value", json!([]))
            .await,
        "second question",
        "the refused message is still in the box"
    );
    b.screenshot("refused").await;
    gate.add_permits(1);
    b.wait_text("#runs", "done: first question").await;
    b.click("#retry-btn").await;
    b.wait_text("#runs", "second question").await;
    gate.add_permits(1);
    b.wait_text("#runs", "done: second question").await;
    assert_eq!(
        b.js("return document.getElementById('message').value", json!([]))
            .await,
        ""
    );
    assert_eq!(
        b.js(
            "return document.getElementById('send-error').hidden",
            json!([])
        )
        .await,
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_mode_logs_in_with_a_token_and_the_session_ends_at_its_exp() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let server = RedisServer::start().unwrap();
    let secret = b"page-jwt-secret".to_vec();
    let gw = start_gateway(&server.url(), |c| {
        c.auth = gateway::AuthMode::Jwt {
            secret: secret.clone(),
            issuer: None,
            audience: None,
        }
    })
    .await;
    wait_ready(&gw).await;
    b.open(&format!("http://{}/", gw.client.addr())).await;
    let fields = b
        .wait_for(
            "the token field",
            Duration::from_secs(10),
            "const v = (id) => document.getElementById(id).offsetParent !== null; return v('jwt') && [v('jwt'), v('username')]",
        )
        .await;
    assert_eq!(
        fields,
        json!([true, false]),
        "a token field, no username box"
    );
    b.screenshot("jwt-login").await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let jwt = gateway::auth::jwt::sign_hs256(&json!({"sub": "jay", "exp": now + 5}), &secret);
    b.type_into("#jwt", &jwt).await;
    b.click("#login-btn").await;
    b.wait_text("#who", "jay").await;
    b.wait_text("#ws-state", "open").await;
    let reason = b.wait_text("#login-error", "token expired").await;
    assert_eq!(
        reason,
        "Your session has ended: its token expired. Log in again."
    );
    assert_eq!(b.js(USER_TRACES, json!([])).await, nothing_of_anyone());
}
