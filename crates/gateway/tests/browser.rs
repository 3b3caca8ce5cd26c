//! The page works in a real browser: headless Chromium, driven over chromedriver's WebDriver
//! HTTP API, logs in, sends a message and sees the agent's reply.
//!
//! Skipped (with a message) only when chromium or chromedriver is not installed; `make test`
//! installs both.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use loadgen::{HttpResponse, request};
use serde_json::{Value, json};
use testkit::RedisServer;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn which(names: &[&str]) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
            .map(|p| p.to_string_lossy().into_owned())
    })
}

/// A chromedriver child, killed on drop.
struct Driver {
    child: Child,
    addr: String,
    session: Option<String>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let r: HttpResponse = request(&self.addr, method, path, None, body)
            .await
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
        let v = r.json();
        assert_eq!(r.status, 200, "webdriver {method} {path}: {}", r.body);
        v["value"].clone()
    }

    fn s(&self, rest: &str) -> String {
        format!(
            "/session/{}{rest}",
            self.session.as_deref().unwrap_or("none")
        )
    }

    /// Finds `css`, waiting up to 20 s for it to exist.
    async fn find(&self, css: &str) -> String {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let r = request(
                &self.addr,
                "POST",
                &self.s("/element"),
                None,
                Some(&json!({"using": "css selector", "value": css})),
            )
            .await
            .expect("webdriver find");
            if r.status == 200 {
                return r.json()["value"][ELEMENT]
                    .as_str()
                    .expect("element id")
                    .to_string();
            }
            assert!(Instant::now() < until, "no element {css}: {}", r.body);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn text_of(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.call("GET", &self.s(&format!("/element/{el}/text")), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn wait_text(&self, css: &str, want: &str) -> String {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.text_of(css).await;
            if got.contains(want) {
                return got;
            }
            assert!(
                Instant::now() < until,
                "{css} never contained {want:?}; last: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(
            "POST",
            &self.s(&format!("/element/{el}/value")),
            Some(&json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call(
            "POST",
            &self.s(&format!("/element/{el}/click")),
            Some(&json!({})),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_logs_in_sends_a_message_and_sees_the_agents_reply() {
    let (Some(chromium), Some(chromedriver)) = (
        which(&["chromium", "chromium-browser", "google-chrome"]),
        which(&["chromedriver"]),
    ) else {
        eprintln!(
            "SKIPPED: the browser test needs chromium and chromedriver (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;

    let port = testkit::free_port();
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let mut driver = Driver {
        child,
        addr: format!("127.0.0.1:{port}"),
        session: None,
    };
    eventually("chromedriver up", Duration::from_secs(20), || async {
        let r = request(&driver.addr, "GET", "/status", None, None)
            .await
            .ok()?;
        r.json()["value"]["ready"].as_bool().filter(|r| *r)
    })
    .await;
    let profile = tempfile::tempdir().unwrap();
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage",
                     format!("--user-data-dir={}", profile.path().display())]
        }
    }}});
    let session = driver.call("POST", "/session", Some(&caps)).await;
    driver.session = Some(
        session["sessionId"]
            .as_str()
            .expect("session id")
            .to_string(),
    );

    let url = format!("http://{}/", gw.client.addr());
    driver
        .call("POST", &driver.s("/url"), Some(&json!({"url": url})))
        .await;
    driver.type_into("#username", "browser-user").await;
    driver.click("#login-btn").await;
    driver.wait_text("#who", "browser-user").await;
    driver.wait_text("#ws-state", "open").await;
    driver.wait_text("#redis-state", "ready").await;
    driver.type_into("#message", "what is 2+3*4").await;
    driver.click("#send-btn").await;
    let reply = driver
        .wait_text(
            "#events .event[data-type=\"agent_completed\"] .text",
            "= 14",
        )
        .await;
    assert_eq!(reply, "2+3*4 = 14");
    let tool = driver
        .text_of("#events .event[data-type=\"tool_completed\"] .text")
        .await;
    assert!(tool.starts_with("calculator"), "{tool}");
    // No outage control against a Redis the gateway does not own.
    let hidden = driver
        .call("POST", &driver.s("/execute/sync"), Some(&json!({"script": "return document.getElementById('outage-box').hidden", "args": []})))
        .await;
    assert_eq!(hidden, json!(true));
    let _ = driver.call("DELETE", &driver.s(""), None).await;
    driver.session = None;
}
