//! Free loopback TCP ports for servers that must listen on a port chosen in advance.
//!
//! Ports are picked *below* the kernel's ephemeral range (`ip_local_port_range`) when
//! possible. Two problems go away that way: an outgoing client connection can never be
//! given the same port as a local end (so it can't occupy a port a server is about to
//! bind), and a client reconnecting in a loop to a port nobody listens on can't
//! accidentally "connect to itself" (TCP simultaneous open), which happens with ports
//! inside the ephemeral range. Ports handed out by this process are remembered so two
//! parallel tests never get the same one.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Mutex, OnceLock};

/// Lowest port we ever choose: well above well-known and registered-by-habit ports.
const LOW: u16 = 10_000;

/// Ports already handed out by this process; never handed out twice.
fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static SET: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(HashSet::new()))
}

/// First port of the kernel's ephemeral range, or `None` if it can't be read.
fn ephemeral_start() -> Option<u16> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// A random number; `RandomState` is seeded randomly per instance, which is all we need.
fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(u64::from(std::process::id()));
    h.finish()
}

fn bindable(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Reserves a free loopback TCP port (bind it, read it, drop the listener) that no other
/// caller in this process has been given. Used to create a client before its server
/// exists, and internally for every server port.
///
/// The port is only *probably* free by the time a server binds it (another process may
/// take it); [`crate::RedisServer::start`] therefore retries with a new port when
/// `redis-server` reports "Address already in use".
///
/// # Panics
/// If no loopback port can be bound at all (the machine is out of ports).
pub fn free_port() -> u16 {
    let mut set = handed_out()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(high) = ephemeral_start().filter(|&h| h > LOW + 1_000) {
        let span = u64::from(high - LOW);
        for _ in 0..200 {
            // Cannot truncate: the value is < span <= u16::MAX.
            let port = LOW + (random() % span) as u16;
            if !set.contains(&port) && bindable(port) {
                set.insert(port);
                return port;
            }
        }
    }
    // Fallback: let the kernel choose (inside the ephemeral range).
    for _ in 0..200 {
        if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            && let Ok(addr) = listener.local_addr()
            && set.insert(addr.port())
        {
            return addr.port();
        }
    }
    // The signature (used across the workspace) has no error channel, and a machine out
    // of loopback ports cannot run any of these tests: failing loudly is the useful answer.
    panic!("testkit: no free loopback TCP port after 400 attempts")
}
