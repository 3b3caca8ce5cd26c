//! No silent drop: every write that returned Ok survives a kill -9 and restart.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{fast_config, ready_manager};
use testkit::{RedisServer, ServerOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_survives_kill_and_restart_and_every_other_write_errs() {
    const WRITES: usize = 10_000;
    const TASKS: usize = 20;
    let server = Arc::new(RedisServer::start_with(ServerOptions::new().aof_always(true)).unwrap());
    let m = ready_manager(fast_config(&server.url())).await;

    let oks = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let m = m.clone();
        let oks = oks.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut failed = 0usize;
            for i in (t..WRITES).step_by(TASKS) {
                let key = format!("w:{i}");
                match m.set(&key, i).await {
                    Ok(()) => {
                        acked.push(i);
                        oks.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        assert!(e.is_unavailable(), "only outage errors expected: {e:?}");
                        failed += 1;
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
            }
            (acked, failed)
        }));
    }
    // Kill mid-stream, then bring it back.
    while oks.load(Ordering::Relaxed) < 2_000 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let s = server.clone();
    tokio::task::spawn_blocking(move || {
        s.kill();
        std::thread::sleep(Duration::from_millis(300));
        s.restart().unwrap();
    })
    .await
    .unwrap();

    let mut acked = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (a, f) = t.await.unwrap();
        acked.extend(a);
        failed += f;
    }
    assert_eq!(
        acked.len() + failed,
        WRITES,
        "every write returned Ok or Err"
    );
    assert!(failed > 0, "the kill happened while writes were running");
    m.wait_ready(Duration::from_secs(10)).await.unwrap();

    let mut missing = Vec::new();
    for chunk in acked.chunks(500) {
        let keys: Vec<String> = chunk.iter().map(|i| format!("w:{i}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let values: Vec<Option<usize>> = m.mget(&refs).await.unwrap();
        for (i, v) in chunk.iter().zip(values) {
            if v != Some(*i) {
                missing.push(*i);
            }
        }
    }
    eprintln!(
        "acked {} failed {} lost {}",
        acked.len(),
        failed,
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "acknowledged writes lost: {:?}",
        &missing[..missing.len().min(20)]
    );
}
