//! Sentinel (`redis+sentinel://`): the manager finds the primary through the sentinels and
//! follows a failover to the promoted replica.

mod common;

use std::time::{Duration, Instant};

use common::{connected_manager, fast_config};
use testkit::SentinelSetup;

#[tokio::test]
async fn writes_resume_on_the_new_primary_after_the_old_one_is_killed() {
    let setup = tokio::task::spawn_blocking(|| SentinelSetup::start().expect("sentinels start"))
        .await
        .unwrap();
    let m = connected_manager(fast_config(&setup.url())).await;
    let first_primary = m.status().server.expect("connected to a primary");
    assert_eq!(
        Some(first_primary.clone()),
        setup.primary().addr().map(|a| a.to_string())
    );
    m.set("s:k", "before").await.unwrap();
    // WAIT for the replica, so the promoted replica has the write.
    let acked: i64 = m
        .cmd(redis_ssot::redis::cmd("WAIT").arg(1).arg(1000))
        .await
        .unwrap();
    assert_eq!(acked, 1);

    let setup = std::sync::Arc::new(setup);
    let killed = Instant::now();
    setup.kill_primary();
    // When the sentinels themselves agree on the new primary, to tell their part of the
    // failover time from the manager's.
    let sentinels_done = {
        let setup = setup.clone();
        tokio::task::spawn_blocking(move || {
            setup
                .wait_for_failover(Duration::from_secs(30))
                .map(|_| killed.elapsed())
        })
    };
    let (recovered, failed_writes) = common::write_until_ok(&m, "s:k", killed).await;
    let sentinels_done = sentinels_done.await.unwrap().expect("sentinels fail over");
    let status = m.status();
    eprintln!(
        "failover: first successful write {recovered:?} after killing the primary; \
         sentinels agreed after {sentinels_done:?} ({failed_writes} writes refused, {} reconnects)",
        status.reconnects
    );
    let new_primary = status.server.expect("connected again");
    assert_ne!(new_primary, first_primary);
    assert_eq!(
        Some(new_primary),
        setup.replica().addr().map(|a| a.to_string()),
        "the promoted replica is the primary now"
    );
    assert_eq!(
        m.get::<String>("s:k").await.unwrap().as_deref(),
        Some("after")
    );
}

/// A graceful failover leaves the old primary running as a replica: a write there is
/// refused with READONLY, which the manager treats as "wrong server", not as a reply error,
/// so it asks the sentinels again instead of failing writes forever.
#[tokio::test]
async fn writes_follow_a_graceful_failover_away_from_a_still_running_primary() {
    let setup = tokio::task::spawn_blocking(|| SentinelSetup::start().expect("sentinels start"))
        .await
        .unwrap();
    let m = connected_manager(fast_config(&setup.url())).await;
    let first_primary = m.status().server.expect("connected to a primary");
    m.set("g:k", "before").await.unwrap();

    let started = Instant::now();
    let master_name = setup.master_name().to_string();
    setup.sentinels()[0]
        .cli(&["SENTINEL", "FAILOVER", &master_name])
        .expect("failover accepted");
    let mut refused = 0u32;
    let new_primary = setup.replica().addr().map(|a| a.to_string());
    let moved = loop {
        match m.set("g:k", "after").await {
            // On the new primary (not merely "not the old one": mid-reconnect it is None).
            Ok(()) if m.status().server == new_primary => {
                break started.elapsed();
            }
            Ok(()) => {}
            Err(e) => {
                refused += 1;
                assert!(
                    e.is_unavailable(),
                    "only outage errors during failover: {e}"
                );
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still writing to {first_primary} 30 s after the failover; status: {:?}",
            m.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!(
        "graceful failover: writing to the new primary after {moved:?} ({refused} writes refused)"
    );
    assert_eq!(m.status().server, new_primary);
    assert_eq!(
        m.get::<String>("g:k").await.unwrap().as_deref(),
        Some("after")
    );
}
