//! The load generator against a real gateway: every run completes, nothing is lost or
//! duplicated on either socket of a user.

mod common;

use common::*;
use loadgen::{LoadConfig, run};
use testkit::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_run_reports_every_run_completed_with_no_lost_or_duplicated_events() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let url = format!("http://{}", gw.client.addr());
    let report = run(LoadConfig::closed_loop(&url, 4, 3)).await;
    assert_eq!(report.users, 4);
    assert_eq!(report.sockets_opened, 8);
    assert_eq!(report.messages_sent, 12);
    assert_eq!(report.runs_completed, 12);
    assert_eq!(report.lost_events, 0);
    assert_eq!(report.duplicated_events, 0);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.p50_us > 0 && report.p50_us <= report.p99_us && report.p99_us <= report.max_us);
    assert_eq!(report.phases.len(), 1);
    assert_eq!(report.phases[0].runs_completed, 12);
    // Every socket ends with the gateway completing our closing handshake.
    let closes: Vec<(String, u64)> = report.close_codes.clone().into_iter().collect();
    assert_eq!(closes, vec![("1000".to_string(), 8)]);
}
