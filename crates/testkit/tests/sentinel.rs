//! Sentinel setups: discovery and failover.

use std::time::Duration;

use testkit::SentinelSetup;

#[test]
fn sentinels_report_the_primary_and_fail_over_to_the_replica() {
    let s = SentinelSetup::start().unwrap();
    assert_eq!(s.master_name(), "mymaster");
    assert_eq!(s.sentinel_addrs().len(), 3);
    let url = s.url();
    assert!(
        url.starts_with("redis+sentinel://127.0.0.1:") && url.ends_with("/mymaster"),
        "{url}"
    );
    assert_eq!(s.master_addr().unwrap(), s.primary().addr().unwrap());
    let port = s.primary().port().unwrap().to_string();
    let reply = s.sentinels()[0]
        .cli(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"])
        .unwrap();
    assert_eq!(reply, format!("127.0.0.1\n{port}"));

    s.primary().cli(&["SET", "k", "v"]).unwrap();
    assert_eq!(s.primary().cli(&["WAIT", "1", "2000"]).unwrap(), "1");
    s.kill_primary();
    let new = s.wait_for_failover(Duration::from_secs(30)).unwrap();
    assert_eq!(Some(new), s.replica().addr());
    assert_eq!(s.replica().cli(&["GET", "k"]).unwrap(), "v");
}
