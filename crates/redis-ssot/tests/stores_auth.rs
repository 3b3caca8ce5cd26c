//! Sessions, the token blacklist and the rate limiter, on a real redis-server and on a real
//! Redis Cluster: each `on_both_backends!` test runs as `<name>::standalone` and
//! `<name>::cluster` (see `common/backend.rs`).
//!
//! The cluster tests of this binary share one cluster and run concurrently, so each uses its
//! own user ids, tokens and limiter keys.
//!
//! Standalone only:
//! - `blacklist_and_limiter_fail_closed_during_an_outage_unless_configured_open` makes the
//!   outage by pausing the server (SIGSTOP). Pausing a master of the shared cluster would stall
//!   every other test of the binary, and past `cluster-node-timeout` (1 s) get it marked
//!   failed.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::backend::Fixture;
use common::{connected_manager, fast_config};
use redis_ssot::{
    Error, FailMode, RateLimiter, SessionStore, SessionToken, TokenBlacklist, UserId, keys,
};
use serde_json::json;
use testkit::RedisServer;

on_both_backends!(session_round_trip_stores_only_the_token_hash);
async fn session_round_trip_stores_only_the_token_hash(fx: &Fixture) {
    let m = fx.manager();
    let sessions = SessionStore::new(m.clone());
    let rita = UserId::new("rita").unwrap();

    let (token, created) = sessions
        .create(&rita, json!({"role": "admin"}))
        .await
        .unwrap();
    assert_eq!(token.as_str().len(), 64);
    assert_eq!(created.id, keys::sha256_hex(token.as_str()));
    assert_eq!(created.expires_at_ms - created.created_at_ms, 3_600_000);
    assert_eq!(format!("{token:?}"), "SessionToken(***)");

    let stored = fx.keys("*");
    assert!(
        stored.contains(&format!("session:{}", created.id)),
        "{stored:?}"
    );
    assert!(stored.iter().all(|k| !k.contains(token.as_str())));
    let raw = fx.cli(&["GET", &format!("session:{}", created.id)]);
    assert!(!raw.contains(token.as_str()), "token stored raw: {raw}");

    let parsed = SessionToken::parse(token.as_str()).unwrap();
    assert_eq!(sessions.get(&parsed).await.unwrap(), Some(created.clone()));

    tokio::time::sleep(Duration::from_millis(20)).await;
    let touched = sessions.touch(&token).await.unwrap().unwrap();
    assert!(touched.expires_at_ms > created.expires_at_ms);
    assert_eq!(sessions.get(&token).await.unwrap(), Some(touched));

    assert!(sessions.delete(&token).await.unwrap());
    assert!(!sessions.delete(&token).await.unwrap());
    assert_eq!(sessions.get(&token).await.unwrap(), None);
    assert_eq!(sessions.touch(&token).await.unwrap(), None);
    assert!(sessions.list_sessions(&rita).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_session_tokens_are_invalid_keys() {
    for bad in ["", "abc", &"G".repeat(64), &"A".repeat(64)] {
        assert!(
            matches!(SessionToken::parse(bad), Err(Error::InvalidKey(_))),
            "{bad:?}"
        );
    }
}

on_both_backends!(list_and_revoke_all_touch_only_the_given_user);
async fn list_and_revoke_all_touch_only_the_given_user(fx: &Fixture) {
    let m = fx.manager();
    let sessions = SessionStore::new(m.clone());
    let alice = UserId::new("alice").unwrap();
    let bob = UserId::new("bob").unwrap();

    let mut alice_tokens = Vec::new();
    for i in 0..3 {
        alice_tokens.push(sessions.create(&alice, json!({ "n": i })).await.unwrap().0);
    }
    let (bob_token, bob_session) = sessions.create(&bob, json!({})).await.unwrap();

    let listed = sessions.list_sessions(&alice).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|s| s.user == alice));
    let mut numbers: Vec<i64> = listed
        .iter()
        .map(|s| s.data["n"].as_i64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, vec![0, 1, 2]);

    // Bob cannot revoke Alice's session by id.
    assert!(!sessions.revoke(&bob, &listed[0].id).await.unwrap());
    assert!(sessions.revoke(&alice, &listed[0].id).await.unwrap());
    // The list has no guaranteed order: find the token whose session was revoked.
    let revoked = alice_tokens
        .iter()
        .find(|t| t.session_id() == listed[0].id)
        .expect("the listed session belongs to one of alice's tokens");
    assert_eq!(sessions.get(revoked).await.unwrap(), None);

    assert_eq!(sessions.revoke_all(&alice).await.unwrap(), 2);
    for t in &alice_tokens {
        assert_eq!(sessions.get(t).await.unwrap(), None);
    }
    assert!(sessions.list_sessions(&alice).await.unwrap().is_empty());
    assert_eq!(
        sessions.get(&bob_token).await.unwrap(),
        Some(bob_session.clone())
    );
    assert_eq!(
        sessions.list_sessions(&bob).await.unwrap(),
        vec![bob_session]
    );
}

on_both_backends!(expired_sessions_leave_the_index_and_the_index_expires_with_them);
async fn expired_sessions_leave_the_index_and_the_index_expires_with_them(fx: &Fixture) {
    let m = fx.manager();
    let sessions = SessionStore::new(m.clone()).with_ttl(Duration::from_millis(300));
    let carol = UserId::new("carol").unwrap();
    let (token, _) = sessions.create(&carol, json!(null)).await.unwrap();

    let index = keys::session_index(&carol);
    let pttl: i64 = fx.cli(&["PTTL", &index]).parse().unwrap();
    assert!(pttl > 0 && pttl <= 300 + 60_000, "index pttl {pttl}");

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sessions.get(&token).await.unwrap(), None);
    assert!(sessions.list_sessions(&carol).await.unwrap().is_empty());
    assert_eq!(fx.cli(&["EXISTS", &index]), "0");
}

on_both_backends!(blacklist_keeps_a_hashed_entry_for_the_remaining_lifetime);
async fn blacklist_keeps_a_hashed_entry_for_the_remaining_lifetime(fx: &Fixture) {
    let m = fx.manager();
    let blacklist = TokenBlacklist::new(m.clone());
    assert_eq!(blacklist.fail_mode(), FailMode::Closed);
    let token = "eyJhbGciOiJIUzI1NiJ9.payload.sig";

    assert!(!blacklist.is_revoked(token).await.unwrap());
    blacklist
        .revoke(token, Duration::from_secs(90))
        .await
        .unwrap();
    assert!(blacklist.is_revoked(token).await.unwrap());
    assert!(!blacklist.is_revoked("other").await.unwrap());

    // One entry, named by the token's hash (no other cluster test of this binary revokes a
    // token), and no key anywhere holds the token itself.
    let entry = BTreeSet::from([format!("blacklist:{}", keys::sha256_hex(token))]);
    assert_eq!(fx.keys("blacklist:*"), entry);
    assert!(fx.keys("*").iter().all(|k| !k.contains(token)));
    if let Some(all) = fx.whole_keyspace() {
        assert_eq!(all, entry);
    }
    let ttl: i64 = fx.cli(&["TTL", &keys::blacklist(token)]).parse().unwrap();
    assert!((89..=90).contains(&ttl), "ttl {ttl}");

    blacklist.revoke("expired", Duration::ZERO).await.unwrap();
    assert!(!blacklist.is_revoked("expired").await.unwrap());
    match blacklist.revoke("", Duration::from_secs(90)).await {
        Err(Error::InvalidKey(m)) => {
            assert_eq!(m, "the token to revoke is empty; pass the token itself")
        }
        other => panic!("expected InvalidKey, got {other:?}"),
    }
    assert_eq!(
        fx.keys("blacklist:*").len(),
        1,
        "nothing written for the empty token"
    );
    assert!(blacklist.unrevoke(token).await.unwrap());
    assert!(!blacklist.is_revoked(token).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blacklist_and_limiter_fail_closed_during_an_outage_unless_configured_open() {
    let server = RedisServer::start().unwrap();
    let mut config = fast_config(&server.url());
    config.command_timeout = Duration::from_millis(150);
    let m = connected_manager(config).await;
    let closed = TokenBlacklist::new(m.clone());
    let open = TokenBlacklist::new(m.clone()).with_fail_mode(FailMode::Open);
    let limiter_closed = RateLimiter::new(m.clone());
    let limiter_open = RateLimiter::new(m.clone()).with_fail_mode(FailMode::Open);
    closed.revoke("t", Duration::from_secs(60)).await.unwrap();

    server.pause();
    let err = closed.is_revoked("t").await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(!open.is_revoked("t").await.unwrap());
    let err = limiter_closed
        .check("api", 5, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let d = limiter_open
        .check("api", 5, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(d.allowed);
    assert_eq!(d.remaining, 5);
    server.resume();

    common::eventually(
        "blacklist answers again",
        Duration::from_secs(10),
        || async { closed.is_revoked("t").await.ok() },
    )
    .await;
    assert!(closed.is_revoked("t").await.unwrap());
}

on_both_backends!(one_hundred_concurrent_callers_against_a_limit_of_ten_get_exactly_ten);
async fn one_hundred_concurrent_callers_against_a_limit_of_ten_get_exactly_ten(fx: &Fixture) {
    let m = fx.manager();
    let limiter = RateLimiter::new(m.clone());

    let mut tasks = Vec::new();
    for _ in 0..100 {
        let limiter = limiter.clone();
        tasks.push(tokio::spawn(async move {
            limiter
                .check("login:203.0.113.7", 10, Duration::from_secs(60))
                .await
        }));
    }
    let mut allowed_remaining = BTreeSet::new();
    let mut denied = 0;
    for t in tasks {
        let d = t.await.unwrap().unwrap();
        if d.allowed {
            assert_eq!(d.retry_after, Duration::ZERO);
            allowed_remaining.insert(d.remaining);
        } else {
            assert_eq!(d.remaining, 0);
            assert!(d.retry_after > Duration::ZERO && d.retry_after <= Duration::from_secs(60));
            denied += 1;
        }
    }
    assert_eq!(allowed_remaining, (0..10).collect::<BTreeSet<u32>>());
    assert_eq!(denied, 90);
    // A refused call is not counted: the log holds exactly the ten admitted calls.
    assert_eq!(fx.cli(&["ZCARD", "ratelimit:login:203.0.113.7"]), "10");
}

on_both_backends!(the_window_slides_and_admits_again_after_retry_after);
async fn the_window_slides_and_admits_again_after_retry_after(fx: &Fixture) {
    let m = fx.manager();
    let limiter = RateLimiter::new(m.clone());
    let window = Duration::from_millis(300);

    assert!(limiter.check("k", 2, window).await.unwrap().allowed);
    assert!(limiter.check("k", 2, window).await.unwrap().allowed);
    let refused = limiter.check("k", 2, window).await.unwrap();
    assert!(!refused.allowed);
    match limiter.enforce("k", 2, window).await {
        Err(Error::RateLimited { retry_after }) => assert!(retry_after <= window),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    tokio::time::sleep(refused.retry_after + Duration::from_millis(20)).await;
    let again = limiter.check("k", 2, window).await.unwrap();
    assert!(again.allowed, "{again:?}");

    assert!(matches!(
        limiter.check("bad key*", 2, window).await,
        Err(Error::InvalidKey(_))
    ));
    limiter.reset("k").await.unwrap();
    assert_eq!(limiter.check("k", 2, window).await.unwrap().remaining, 1);
}
