//! 100,000 user clients share one connection; what one client costs in memory.
//!
//! This binary installs a counting global allocator, so it holds only this test.
//!
//! Standalone only: the test counts one server's clients (`CLIENT LIST`) and expects exactly
//! one opened connection, while a cluster connection holds one per node; and the cluster
//! client's background tasks would allocate while the process-wide counter measures the user
//! clients. What a user client costs does not depend on the backend.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use common::{client_count, connected_manager, fast_config};
use redis_ssot::{RedisFactory, UserClient, UserContext, UserId};
use testkit::RedisServer;

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: defers to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const N: usize = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_thousand_user_clients_open_no_connection_and_cost_little_memory() {
    let server = RedisServer::start().unwrap();
    let m = connected_manager(fast_config(&server.url())).await;
    let factory = RedisFactory::new(m.clone());
    let clients_before = client_count(&server);
    assert_eq!(m.status().connections_opened, 1);

    // Distinct users: each client also carries its user's shared record.
    let ids: Vec<UserId> = (0..N)
        .map(|i| UserId::new(format!("user-{i:06}")).unwrap())
        .collect();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut clients: Vec<UserClient> = Vec::with_capacity(N);
    let vec_bytes = (N * size_of::<UserClient>()) as isize;
    for id in &ids {
        clients.push(factory.user_client(&UserContext::for_user(id.clone())));
    }
    let distinct = (LIVE_BYTES.load(Ordering::Relaxed) - before - vec_bytes) as f64 / N as f64;

    // One user, many requests: clients share the user's record.
    let one = UserContext::new("same-user").unwrap();
    let before_same = LIVE_BYTES.load(Ordering::Relaxed);
    let same: Vec<UserClient> = (0..N).map(|_| factory.user_client(&one)).collect();
    let same_heap =
        (LIVE_BYTES.load(Ordering::Relaxed) - before_same - vec_bytes) as f64 / N as f64;

    eprintln!(
        "UserClient: size_of = {} B; heap per client, distinct users = {distinct:.1} B; \
         same user = {same_heap:.3} B",
        size_of::<UserClient>()
    );
    assert_eq!(size_of::<UserClient>(), 24);
    assert!(distinct < 400.0, "{distinct} B per distinct-user client");
    assert!(same_heap < 1.0, "{same_heap} B per same-user client");
    assert_eq!(factory.live_users(), N + 1);

    // Still one connection, and the server sees no new client.
    let some = &clients[N / 2];
    some.set("k", 1).await.unwrap();
    assert_eq!(some.get::<i64>("k").await.unwrap(), Some(1));
    assert_eq!(same[7].incr("n").await.unwrap(), 1);
    assert_eq!(m.status().connections_opened, 1);
    assert_eq!(client_count(&server), clients_before);

    drop(clients);
    drop(same);
    assert_eq!(factory.live_users(), 0);
}
