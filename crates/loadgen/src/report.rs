//! What a load run reports, and the arithmetic behind it (percentiles, the lost/duplicated
//! audit, CPU per run).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::procfs::KernelSockets;

/// Events one demo run stores (`user_message` and the five agent events).
pub const EVENTS_PER_RUN: usize = 6;

/// The whole run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LoadReport {
    /// Users that logged in, created their thread and opened their sockets.
    pub users: usize,
    /// Sockets opened.
    pub sockets_opened: u64,
    /// Messages sent, all phases.
    pub messages_sent: u64,
    /// Runs whose `agent_completed` arrived on the sending socket, all phases.
    pub runs_completed: u64,
    /// Median `user_message` → `agent_completed` over all phases, in microseconds.
    pub p50_us: u64,
    /// 99th percentile over all phases, in microseconds.
    pub p99_us: u64,
    /// Slowest run, in microseconds.
    pub max_us: u64,
    /// How each socket ended, by the code of the Close frame it received: `"1000"` when the
    /// gateway completed our closing handshake, the gateway's code (`"1008"`, `"1011"`) when
    /// it closed first, `"abnormal"` when the connection dropped without a Close frame.
    pub close_codes: BTreeMap<String, u64>,
    /// Expected events that some socket never received.
    pub lost_events: u64,
    /// Events a socket received more than once.
    pub duplicated_events: u64,
    /// Error events and failed steps, by kind.
    pub errors: BTreeMap<String, u64>,
    /// Logging in, creating threads and opening every socket.
    pub connect: ConnectReport,
    /// One entry per phase of messages, in order.
    pub phases: Vec<PhaseReport>,
    /// The highest offered rate among the paced phases whose p99 stayed at or under 50 ms
    /// (a closed-loop phase offers no rate of its own).
    pub capacity_runs_per_s: Option<f64>,
    /// Wall time of the whole run, in milliseconds.
    pub elapsed_ms: u64,
}

/// The connect phase, and the memory the idle sockets hold once it is over.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ConnectReport {
    /// Time to log in every user and open every socket.
    pub elapsed_ms: u64,
    /// The gateway's RSS before the first login, in KiB.
    pub gateway_rss_before_kib: Option<u64>,
    /// The gateway's RSS with every socket open and idle, in KiB.
    pub gateway_rss_idle_kib: Option<u64>,
    /// (idle − before) ÷ sockets open.
    pub gateway_rss_per_idle_socket_bytes: Option<u64>,
    /// The kernel's socket memory before the first login.
    pub kernel_before: KernelSockets,
    /// ... and with every socket open.
    pub kernel_idle: KernelSockets,
    /// Growth of the socket slab caches per TCP socket that appeared (on loopback each
    /// connection has two: the gateway's end and the load generator's).
    pub kernel_slab_bytes_per_tcp_socket: Option<u64>,
}

/// One phase: every user sends `messages` messages, pausing about `think` before each.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PhaseReport {
    /// Mean pause before each message, in milliseconds.
    pub think_ms: u64,
    /// users ÷ think: the rate the users offer, in runs per second.
    pub offered_runs_per_s: f64,
    /// Runs completed ÷ the phase's wall time.
    pub achieved_runs_per_s: f64,
    /// Messages sent in the phase.
    pub messages_sent: u64,
    /// Runs completed in the phase.
    pub runs_completed: u64,
    /// Latency percentiles of the phase, in microseconds.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Slowest.
    pub max_us: u64,
    /// Wall time of the phase, in milliseconds.
    pub elapsed_ms: u64,
    /// CPU per completed run, by process, in microseconds (`None` when a pid was unknown).
    pub cpu_us_per_run: CpuPerRun,
}

/// CPU time per run of each process under load, from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CpuPerRun {
    /// The gateway.
    pub gateway: Option<f64>,
    /// redis-server.
    pub redis: Option<f64>,
    /// The load generator (this process).
    pub load_generator: Option<f64>,
    /// The three together (set only when all three are known).
    pub total: Option<f64>,
}

/// The value at quantile `q` of sorted `v` (nearest rank; 0 when empty).
pub fn percentile(v: &[u64], q: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Adds `from`'s counts into `into`.
pub fn merge(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

/// (lost, duplicated) among the stored events of `runs` that one socket received, given
/// as `(event_id, run_id)` pairs.
pub fn audit<'a>(
    events: impl IntoIterator<Item = (&'a str, &'a str)>,
    runs: &HashSet<String>,
) -> (u64, u64) {
    let mut by_id: HashMap<&str, u64> = HashMap::new();
    for (id, run) in events {
        if runs.contains(run) {
            *by_id.entry(id).or_default() += 1;
        }
    }
    let distinct = by_id.len();
    let dup: u64 = by_id.values().map(|n| n - 1).sum();
    let lost = (runs.len() * EVENTS_PER_RUN).saturating_sub(distinct) as u64;
    (lost, dup)
}

/// The highest offered rate of a phase whose p99 is at most `p99_limit_us`.
pub fn capacity(phases: &[PhaseReport], p99_limit_us: u64) -> Option<f64> {
    phases
        .iter()
        .filter(|p| p.offered_runs_per_s > 0.0 && p.runs_completed > 0 && p.p99_us <= p99_limit_us)
        .map(|p| p.offered_runs_per_s)
        .fold(None, |best: Option<f64>, r| {
            Some(best.map_or(r, |b| b.max(r)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn audit_counts_missing_and_repeated_event_ids() {
        let runs: HashSet<String> = ["r".to_string()].into();
        let events = [
            ("1-0", "r"),
            ("2-0", "r"),
            ("2-0", "r"),
            ("3-0", "r"),
            ("9-0", "x"),
        ];
        assert_eq!(audit(events, &runs), (3, 1));
    }

    #[test]
    fn capacity_is_the_fastest_phase_that_kept_p99_under_the_limit() {
        let phase = |rate: f64, p99_us: u64| PhaseReport {
            offered_runs_per_s: rate,
            p99_us,
            runs_completed: 1,
            ..PhaseReport::default()
        };
        let phases = [
            phase(500.0, 2_000),
            phase(2000.0, 40_000),
            phase(4000.0, 90_000),
        ];
        assert_eq!(capacity(&phases, 50_000), Some(2000.0));
        assert_eq!(capacity(&phases[2..], 50_000), None);
        assert_eq!(
            capacity(&[phase(0.0, 1_000)], 50_000),
            None,
            "a closed loop"
        );
    }
}
