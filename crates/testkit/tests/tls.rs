//! TLS servers: certificates generated per test, verified by `redis-cli --tls`.

use std::process::Command;

use testkit::TlsServer;

fn cli(port: u16, extra: &[&str]) -> std::process::Output {
    Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--tls"])
        .args(extra)
        .arg("PING")
        .output()
        .unwrap()
}

#[test]
fn tls_server_accepts_a_client_that_trusts_its_ca_without_a_client_cert() {
    let s = TlsServer::start().unwrap();
    let port = s.port().unwrap();
    assert_eq!(s.url(), format!("rediss://127.0.0.1:{port}"));
    let out = cli(port, &["--cacert", s.ca_cert_path().to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "PONG");
    // With the client certificate, and through the handle's own cli().
    assert_eq!(s.cli(&["PING"]).unwrap(), "PONG");
    assert!(s.client_cert_path().exists() && s.client_key_path().exists());
}

#[test]
fn tls_server_is_rejected_by_a_client_trusting_an_unrelated_ca() {
    let s = TlsServer::start().unwrap();
    let wrong = s.wrong_ca_cert_path().unwrap();
    let out = cli(s.port().unwrap(), &["--cacert", wrong.to_str().unwrap()]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("PONG"), "{all}");
}
