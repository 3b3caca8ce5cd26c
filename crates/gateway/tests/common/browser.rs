//! Headless Chromium for the page's tests, driven over chromedriver's WebDriver HTTP API
//! (hyper's client, from loadgen). Screenshots go to `$GATEWAY_SCREENSHOTS` when it is set.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loadgen::HttpClient;
use serde_json::{Value, json};

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

/// A chromedriver child with one browser session; both end on drop. chromedriver runs in a
/// process group of its own, which its Chromium (browser, zygote, renderers, GPU process)
/// joins, and drop kills the whole group: killing chromedriver alone left every Chromium of a
/// test run behind, orphaned and busy.
pub struct Browser {
    child: Child,
    http: HttpClient,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals that process group; no memory involved.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` (with a message) when either is
    /// not installed.
    pub async fn start() -> Option<Browser> {
        let (Some(chromium), Some(chromedriver)) = (
            which(&["chromium", "chromium-browser", "google-chrome"]),
            which(&["chromedriver"]),
        ) else {
            eprintln!(
                "SKIPPED: the browser tests need chromium and chromedriver (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = testkit::free_port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let http = HttpClient::new(&format!("127.0.0.1:{port}"));
        super::eventually("chromedriver up", Duration::from_secs(20), || async {
            let r = http.json("GET", "/status", None, None).await.ok()?;
            r.json()["value"]["ready"].as_bool().filter(|r| *r)
        })
        .await;
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1280,800",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let r = http
            .json("POST", "/session", None, Some(&caps))
            .await
            .expect("webdriver new session");
        assert_eq!(r.status, 200, "new session: {}", r.body);
        let session = r.json()["value"]["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        Some(Browser {
            child,
            http,
            session,
            _profile: profile,
        })
    }

    async fn call(&self, method: &str, rest: &str, body: Option<&Value>) -> Value {
        let path = format!("/session/{}{rest}", self.session);
        let r = self
            .http
            .json(method, &path, None, body)
            .await
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
        assert_eq!(r.status, 200, "webdriver {method} {path}: {}", r.body);
        r.json()["value"].clone()
    }

    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({ "url": url })))
            .await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its result.
    pub async fn js(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(&json!({"script": script, "args": args})),
        )
        .await
    }

    /// Waits until `script` returns something other than `null` or `false`; returns it.
    pub async fn wait_for(&self, what: &str, within: Duration, script: &str) -> Value {
        let until = Instant::now() + within;
        loop {
            let v = self.js(script, json!([])).await;
            if !(v.is_null() || v == Value::Bool(false)) {
                return v;
            }
            assert!(Instant::now() < until, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The element `css`, waiting up to 20 s for it to exist.
    async fn find(&self, css: &str) -> String {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let path = format!("/session/{}/element", self.session);
            let r = self
                .http
                .json(
                    "POST",
                    &path,
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

    /// The visible text of `css`.
    pub async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.call("GET", &format!("/element/{el}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits (up to 30 s) until `css`'s text contains `want`; returns the text.
    pub async fn wait_text(&self, css: &str, want: &str) -> String {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.text(css).await;
            if got.contains(want) {
                return got;
            }
            assert!(
                Instant::now() < until,
                "{css} never contained {want:?}; last: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{el}/value"),
            Some(&json!({ "text": text })),
        )
        .await;
    }

    /// Clicks `css`.
    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call("POST", &format!("/element/{el}/click"), Some(&json!({})))
            .await;
    }

    /// Saves a PNG of the page as `<name>.png` under `$GATEWAY_SCREENSHOTS`, if set.
    pub async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("GATEWAY_SCREENSHOTS") else {
            return;
        };
        use base64::Engine;
        let png = self.call("GET", "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a base64 screenshot");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(format!("{dir}/{name}.png"), bytes).expect("write screenshot");
    }
}
