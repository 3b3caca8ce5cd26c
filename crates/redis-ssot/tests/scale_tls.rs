//! TLS (`rediss://`): verified server certificates, no plaintext fallback, mutual TLS.
//!
//! redis-rs enables rustls without a crypto provider; redis-ssot depends on rustls with the
//! `ring` provider so handshakes work (without it, every handshake panics inside rustls, and
//! the supervisor reports that panic as a connect error rather than dying).

mod common;

use std::time::Duration;

use common::{connected_manager, eventually, fast_config};
use redis_ssot::{ConnState, RedisManager};
use testkit::{ServerOptions, TlsServer};

fn tls_url(server: &TlsServer, query: &str) -> String {
    let port = server.port().expect("TLS server has a port");
    format!("rediss://127.0.0.1:{port}?{query}")
}

#[tokio::test]
async fn rediss_with_the_servers_ca_connects_and_runs_commands() {
    let server = TlsServer::start().unwrap();
    let url = tls_url(
        &server,
        &format!("ca_file={}", server.ca_cert_path().display()),
    );
    let m = connected_manager(fast_config(&url)).await;
    m.set("tls:k", "v").await.unwrap();
    assert_eq!(
        m.get::<String>("tls:k").await.unwrap().as_deref(),
        Some("v")
    );
    assert_eq!(m.status().reconnects, 0);
}

#[tokio::test]
async fn an_untrusted_server_certificate_never_becomes_ready_and_says_why() {
    let server = TlsServer::start().unwrap();
    let wrong = server.wrong_ca_cert_path().unwrap();
    let url = tls_url(&server, &format!("ca_file={}", wrong.display()));
    let m = RedisManager::connect(fast_config(&url)).unwrap();
    let mut states = m.watch_state();
    let error = eventually("a connect error", Duration::from_secs(5), || async {
        m.status().last_connect_error
    })
    .await;
    eprintln!("untrusted certificate: {error}");
    let lower = error.to_ascii_lowercase();
    assert!(
        lower.contains("certificate") && !lower.contains("panicked"),
        "the error names the TLS failure: {error}"
    );
    // Keep watching for a while: a plaintext fallback would turn the manager ready.
    let ready = tokio::time::timeout(
        Duration::from_secs(1),
        states.wait_for(|s| *s == ConnState::Ready),
    )
    .await;
    assert!(
        ready.is_err(),
        "must never become ready with an untrusted certificate"
    );
    assert!(!m.is_ready());
    assert_eq!(m.status().connections_opened, 0);
    assert!(matches!(
        m.get::<String>("tls:k").await,
        Err(redis_ssot::Error::NotReady { .. })
    ));
}

#[tokio::test]
async fn mutual_tls_with_a_client_certificate_connects_and_without_one_does_not() {
    let server =
        TlsServer::start_with(ServerOptions::new().arg("tls-auth-clients", "yes")).unwrap();
    let ca = server.ca_cert_path().display().to_string();
    let with_cert = tls_url(
        &server,
        &format!(
            "ca_file={ca}&cert_file={}&key_file={}",
            server.client_cert_path().display(),
            server.client_key_path().display()
        ),
    );
    let m = connected_manager(fast_config(&with_cert)).await;
    m.set("mtls:k", "v").await.unwrap();
    assert_eq!(
        m.get::<String>("mtls:k").await.unwrap().as_deref(),
        Some("v")
    );

    let without_cert =
        RedisManager::connect(fast_config(&tls_url(&server, &format!("ca_file={ca}")))).unwrap();
    let error = eventually("a connect error", Duration::from_secs(5), || async {
        without_cert.status().last_connect_error
    })
    .await;
    eprintln!("no client certificate: {error}");
    assert!(
        error.to_ascii_lowercase().contains("certificate"),
        "{error}"
    );
    assert!(!without_cert.is_ready());
}
