//! Real clusters: creation, routing, resharding and failover.

use std::time::Duration;

use testkit::{RedisCluster, key_in_slot, key_slot};

#[test]
fn three_masters_reach_ok_and_serve_keys_through_redirects() {
    let c = RedisCluster::start(3, 0).unwrap();
    assert_eq!(c.nodes().len(), 3);
    assert_eq!(c.masters().unwrap().len(), 3);
    let seed = c.seed_url();
    assert!(seed.starts_with("redis+cluster://127.0.0.1:"), "{seed}");
    assert_eq!(seed.matches(',').count(), 2);
    assert!(c.urls().iter().all(|u| u.starts_with("redis://127.0.0.1:")));

    // Set through any node with -c (follows MOVED), read back from the owner directly.
    let slot = key_slot(b"greeting");
    let owner = c.master_for_slot(slot).unwrap();
    let other = (owner + 1) % 3;
    assert_eq!(
        c.node(other).cli(&["-c", "SET", "greeting", "hi"]).unwrap(),
        "OK"
    );
    assert_eq!(c.node(owner).cli(&["GET", "greeting"]).unwrap(), "hi");

    // Resharding moves the slot and its key.
    c.migrate_slot(slot, other).unwrap();
    assert_eq!(c.master_for_slot(slot).unwrap(), other);
    assert_eq!(c.node(other).cli(&["GET", "greeting"]).unwrap(), "hi");
    assert!(
        c.node(owner)
            .cli(&["GET", "greeting"])
            .unwrap()
            .starts_with("MOVED")
    );
}

#[test]
fn killing_a_master_promotes_its_replica() {
    let c = RedisCluster::start(3, 1).unwrap();
    assert_eq!(c.nodes().len(), 6);
    let key = key_in_slot("k", 100);
    let master = c.master_for_slot(100).unwrap();
    assert_eq!(c.node(master).cli(&["SET", &key, "v"]).unwrap(), "OK");
    assert_eq!(c.node(master).cli(&["WAIT", "1", "2000"]).unwrap(), "1");
    let promoted = c
        .kill_master_and_wait_failover(master, Duration::from_secs(20))
        .unwrap();
    assert_ne!(promoted, master);
    assert_eq!(c.master_for_slot(100).unwrap(), promoted);
    // The promoted replica serves the acknowledged write. Polled rather than read once: a
    // loaded CI machine once read nothing here right after the promotion; if the key is
    // really gone the message below shows the promoted node's state.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = c.node(promoted).cli(&["GET", &key]).unwrap();
        if got == "v" {
            break;
        }
        if std::time::Instant::now() > deadline {
            let node = c.node(promoted);
            panic!(
                "promoted node {promoted} answers GET with {got:?}; DBSIZE {:?}; INFO replication {:?}; CLUSTER NODES {:?}",
                node.cli(&["DBSIZE"]),
                node.cli(&["INFO", "replication"]),
                node.cli(&["CLUSTER", "NODES"]),
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // The old master comes back as a replica of the new one.
    c.node(master).restart().unwrap();
    c.wait_ok(Duration::from_secs(20)).unwrap();
}
