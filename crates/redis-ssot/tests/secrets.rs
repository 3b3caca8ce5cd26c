//! Passwords never appear in Debug, Display, status or logs.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, fast_config};
use redis_ssot::RedisManager;
use testkit::{RedisServer, ServerOptions};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn password_never_shows_in_debug_status_or_logs() {
    const PW: &str = "hunter2-very-secret";
    let server = RedisServer::start_with(ServerOptions::new().requirepass(PW)).unwrap();
    let logs = Capture::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // A wrong password first: connect errors get logged and stored.
    let wrong = server
        .url()
        .replace("redis://", "redis://:hunter2-very-secret-WRONG@");
    let bad = RedisManager::connect(fast_config(&wrong)).unwrap();
    eventually("connect error recorded", Duration::from_secs(5), || async {
        bad.status().last_connect_error
    })
    .await;

    let good = RedisManager::connect(fast_config(&server.url_with_password())).unwrap();
    good.wait_ready(Duration::from_secs(5)).await.unwrap();
    good.set("k", "v").await.unwrap();

    let texts = [
        format!("{good:?}"),
        format!("{:?}", good.config()),
        good.config().to_string(),
        serde_json::to_string(&good.status()).unwrap(),
        serde_json::to_string(&bad.status()).unwrap(),
        String::from_utf8(logs.0.lock().unwrap().clone()).unwrap(),
    ];
    assert!(
        texts[5].contains("redis connect failed"),
        "the failure was logged"
    );
    for t in &texts {
        assert!(!t.contains("hunter2"), "password leaked in: {t}");
    }
    assert!(texts[2].contains(":***@"));
}
