//! Sentinels that require a password of their own (`requirepass` in sentinel.conf): the
//! manager authenticates to them with `sentinel_pass`, and neither a missing nor a wrong
//! password leaks into status, Debug or Display.

mod common;

use std::time::Duration;

use common::{connected_manager, fast_config};
use redis_ssot::{ConnState, RedisManager};
use testkit::SentinelSetup;

const SENTINEL_PASSWORD: &str = "s3ntinel-Pa55";

async fn sentinels_with_password() -> SentinelSetup {
    tokio::task::spawn_blocking(|| {
        SentinelSetup::start_with_sentinel_password(SENTINEL_PASSWORD).expect("sentinels start")
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_manager_authenticates_to_the_sentinels_and_never_shows_their_password() {
    let setup = sentinels_with_password().await;
    let url = format!("{}?sentinel_pass={SENTINEL_PASSWORD}", setup.url());
    let m = connected_manager(fast_config(&url)).await;
    assert_eq!(
        m.status().server,
        setup.primary().addr().map(|a| a.to_string()),
        "the sentinels named the primary"
    );
    m.set("sa:k", "v").await.unwrap();
    assert_eq!(m.get::<String>("sa:k").await.unwrap().as_deref(), Some("v"));

    let status = serde_json::to_string(&m.status()).unwrap();
    for shown in [
        status,
        format!("{m:?}"),
        format!("{:?}", m.config()),
        m.config().to_string(),
    ] {
        assert!(
            !shown.contains(SENTINEL_PASSWORD),
            "password shown in {shown}"
        );
    }
    assert!(
        m.config().to_string().contains("sentinel_pass=***"),
        "the redacted URL says a sentinel password is set: {}",
        m.config()
    );
}

/// Waits until the manager has tried the sentinels and stored why it is not connected.
async fn connect_error(m: &RedisManager) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(e) = m.status().last_connect_error {
            return e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no connect error recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_missing_or_wrong_sentinel_password_keeps_the_manager_not_ready_with_the_reason() {
    let setup = sentinels_with_password().await;
    let wrong = "wrong-Pa55word";
    for url in [
        setup.url(),
        format!("{}?sentinel_pass={wrong}", setup.url()),
    ] {
        let m = RedisManager::connect(fast_config(&url)).unwrap();
        let error = connect_error(&m).await;
        assert!(
            error.to_ascii_lowercase().contains("auth"),
            "the reason names authentication: {error}"
        );
        assert!(!error.contains(wrong) && !error.contains(SENTINEL_PASSWORD));
        assert_ne!(m.state(), ConnState::Ready);
        assert!(matches!(
            m.get::<String>("sa:k").await,
            Err(redis_ssot::Error::NotReady { .. })
        ));
    }
}
