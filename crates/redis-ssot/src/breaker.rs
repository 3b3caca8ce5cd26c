//! A small circuit breaker that fails fast while Redis is unreachable.
//!
//! Closed → Open after `failure_threshold` consecutive connection failures or timeouts. Open
//! refuses every call (without touching the network) for `cooldown`. Then Half-open admits at
//! most `half_open_probes` calls at a time; `success_threshold` successes close it, one failure
//! opens it again. A reconnect by the supervisor is evidence too: it moves Open to Half-open at
//! once, so a recovered server is not kept waiting for the rest of the cool-down.
//!
//! Reply errors (WRONGTYPE, NOPERM, ...) prove the server is reachable and count as successes.
//! The state lives in atomics: the closed-state fast path is one load on admit and at most one
//! store on record.
//!
//! The health monitor's PING is admitted even while open ([`CircuitBreaker::admit_health`]):
//! it is how an idle manager notices a hung server (a failed health PING opens the breaker at
//! once, see [`CircuitBreaker::trip`]) and how it notices the recovery (a successful one while
//! open moves to half-open, as a reconnect does, and counts as the first probe success).
//! Every transition is published on a `watch` channel, so `wait_ready` can wait for it.

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The breaker's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// Calls are refused with `CircuitOpen`.
    Open,
    /// A few probe calls are admitted to test recovery.
    HalfOpen,
}

impl BreakerState {
    /// Every state, in gauge order.
    pub const ALL: [BreakerState; 3] = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
    ];

    /// The label used in metrics and `status()`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

/// How long a refused caller should wait when half-open probes are all taken.
const PROBE_BUSY_RETRY: Duration = Duration::from_millis(50);

/// What the breaker let through; hand it back to [`CircuitBreaker::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Admitted while closed.
    Normal,
    /// Admitted as one of the half-open probes.
    Probe,
    /// The health monitor's PING, admitted whatever the state.
    Health,
}

/// What a finished call tells the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The server answered (a reply error included).
    Success,
    /// Connection failure or timeout.
    Failure,
    /// The call never reached the server (refused later in the pipeline).
    Ignore,
}

/// The breaker's tunables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BreakerConfig {
    pub failure_threshold: u32,
    pub cooldown: Duration,
    pub half_open_probes: u32,
    pub success_threshold: u32,
}

/// A snapshot for `status()`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BreakerStatus {
    /// Current position.
    pub state: BreakerState,
    /// Consecutive failures counted while closed.
    pub consecutive_failures: u32,
    /// How many times it has opened since start.
    pub opened_total: u64,
    /// Successful probes so far in the current half-open phase.
    pub half_open_successes: u32,
}

/// The circuit breaker shared by every command of one manager.
#[derive(Debug)]
pub struct CircuitBreaker {
    cfg: BreakerConfig,
    epoch: Instant,
    state: AtomicU8,
    consecutive_failures: AtomicU32,
    opened_at_ms: AtomicU64,
    probes_in_flight: AtomicU32,
    probe_successes: AtomicU32,
    opened_total: AtomicU64,
    changes: tokio::sync::watch::Sender<BreakerState>,
}

impl CircuitBreaker {
    pub(crate) fn new(cfg: BreakerConfig) -> Self {
        publish(BreakerState::Closed);
        CircuitBreaker {
            changes: tokio::sync::watch::channel(BreakerState::Closed).0,
            cfg,
            epoch: Instant::now(),
            state: AtomicU8::new(CLOSED),
            consecutive_failures: AtomicU32::new(0),
            opened_at_ms: AtomicU64::new(0),
            probes_in_flight: AtomicU32::new(0),
            probe_successes: AtomicU32::new(0),
            opened_total: AtomicU64::new(0),
        }
    }

    /// The current position.
    pub fn state(&self) -> BreakerState {
        state_of(self.state.load(Ordering::Acquire))
    }

    /// A snapshot for `status()`.
    pub fn status(&self) -> BreakerStatus {
        BreakerStatus {
            state: self.state(),
            consecutive_failures: self.consecutive_failures.load(Ordering::Relaxed),
            opened_total: self.opened_total.load(Ordering::Relaxed),
            half_open_successes: self.probe_successes.load(Ordering::Relaxed),
        }
    }

    /// Whether a call made now would be refused without I/O: open, with cool-down left.
    pub(crate) fn is_refusing(&self) -> bool {
        self.retry_after().is_some()
    }

    /// How long an open breaker keeps refusing; `None` when it admits calls now.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        if self.state.load(Ordering::Acquire) != OPEN {
            return None;
        }
        let opened = self.opened_at_ms.load(Ordering::Acquire);
        let cooldown = self.cfg.cooldown.as_millis() as u64;
        let elapsed = self.now_ms().saturating_sub(opened);
        (elapsed < cooldown).then(|| Duration::from_millis(cooldown - elapsed))
    }

    /// A receiver that sees every transition.
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<BreakerState> {
        self.changes.subscribe()
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Asks to send one call. `Err(retry_after)` means refuse with `CircuitOpen`.
    #[inline]
    pub(crate) fn admit(&self) -> Result<Admission, Duration> {
        if self.state.load(Ordering::Acquire) == CLOSED {
            return Ok(Admission::Normal);
        }
        self.admit_slow()
    }

    /// Admits the health monitor's PING whatever the state (see the module docs).
    pub(crate) fn admit_health(&self) -> Admission {
        Admission::Health
    }

    fn admit_slow(&self) -> Result<Admission, Duration> {
        loop {
            match self.state.load(Ordering::Acquire) {
                CLOSED => return Ok(Admission::Normal),
                OPEN => {
                    let opened = self.opened_at_ms.load(Ordering::Acquire);
                    let cooldown = self.cfg.cooldown.as_millis() as u64;
                    let elapsed = self.now_ms().saturating_sub(opened);
                    if elapsed < cooldown {
                        return Err(Duration::from_millis(cooldown - elapsed));
                    }
                    self.to_half_open(OPEN);
                }
                _ => {
                    let taken = self.probes_in_flight.fetch_add(1, Ordering::AcqRel);
                    if taken < self.cfg.half_open_probes {
                        if self.state.load(Ordering::Acquire) == HALF_OPEN {
                            return Ok(Admission::Probe);
                        }
                        self.probes_in_flight.fetch_sub(1, Ordering::AcqRel);
                        continue;
                    }
                    self.probes_in_flight.fetch_sub(1, Ordering::AcqRel);
                    return Err(PROBE_BUSY_RETRY);
                }
            }
        }
    }

    /// Records how an admitted call ended.
    #[inline]
    pub(crate) fn record(&self, admission: Admission, verdict: Verdict) {
        match (admission, verdict) {
            (Admission::Normal, Verdict::Success) => {
                if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
                    self.consecutive_failures.store(0, Ordering::Relaxed);
                }
            }
            (Admission::Normal, Verdict::Failure) => {
                let n = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
                if n >= self.cfg.failure_threshold {
                    self.open_from(CLOSED);
                }
            }
            (Admission::Normal, Verdict::Ignore) | (Admission::Health, Verdict::Ignore) => {}
            (Admission::Health, Verdict::Failure) => self.trip(),
            (Admission::Health, Verdict::Success) => match self.state.load(Ordering::Acquire) {
                CLOSED => {
                    if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
                        self.consecutive_failures.store(0, Ordering::Relaxed);
                    }
                }
                OPEN => {
                    self.to_half_open(OPEN);
                    self.probe_succeeded();
                }
                _ => self.probe_succeeded(),
            },
            (Admission::Probe, v) => {
                self.probes_in_flight.fetch_sub(1, Ordering::AcqRel);
                match v {
                    Verdict::Success => self.probe_succeeded(),
                    Verdict::Failure => self.open_from(HALF_OPEN),
                    Verdict::Ignore => {}
                }
            }
        }
    }

    /// One more successful probe while half-open; enough of them close the breaker.
    fn probe_succeeded(&self) {
        let ok = self.probe_successes.fetch_add(1, Ordering::AcqRel) + 1;
        if ok >= self.cfg.success_threshold
            && self
                .state
                .compare_exchange(HALF_OPEN, CLOSED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.consecutive_failures.store(0, Ordering::Release);
            self.published(BreakerState::Closed);
            tracing::info!("circuit breaker closed");
        }
    }

    /// Opens the breaker now, whatever the count (a failed health PING: the cheapest command
    /// there is did not come back, so the server or the link is down, not a command slow).
    /// Already open: the cool-down starts again.
    pub(crate) fn trip(&self) {
        match self.state.load(Ordering::Acquire) {
            OPEN => self.opened_at_ms.store(self.now_ms(), Ordering::Release),
            from => self.open_from(from),
        }
    }

    /// Closes the breaker and clears its counts (the operator's `reset_circuit_breaker`).
    pub(crate) fn reset(&self) {
        let before = self.state.swap(CLOSED, Ordering::AcqRel);
        self.consecutive_failures.store(0, Ordering::Release);
        self.probe_successes.store(0, Ordering::Release);
        // Probes still in flight give their slot back when they end (their verdicts no longer
        // move a closed breaker), so `probes_in_flight` is left to them.
        self.published(BreakerState::Closed);
        tracing::warn!(
            was = ?state_of(before),
            "circuit breaker reset by the operator"
        );
    }

    /// The supervisor just connected: stop waiting out the cool-down and start probing.
    pub(crate) fn on_reconnected(&self) {
        self.to_half_open(OPEN);
    }

    fn open_from(&self, from: u8) {
        self.opened_at_ms.store(self.now_ms(), Ordering::Release);
        if self
            .state
            .compare_exchange(from, OPEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.opened_total.fetch_add(1, Ordering::Relaxed);
            crate::metrics::count_breaker_opened();
            self.published(BreakerState::Open);
            tracing::warn!(
                failures = self.consecutive_failures.load(Ordering::Relaxed),
                "circuit breaker opened"
            );
        }
    }

    fn to_half_open(&self, from: u8) {
        self.probe_successes.store(0, Ordering::Release);
        if self
            .state
            .compare_exchange(from, HALF_OPEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.published(BreakerState::HalfOpen);
            tracing::info!("circuit breaker half-open");
        }
    }

    fn published(&self, state: BreakerState) {
        self.changes.send_replace(state);
        publish(state);
    }
}

fn state_of(raw: u8) -> BreakerState {
    match raw {
        CLOSED => BreakerState::Closed,
        OPEN => BreakerState::Open,
        _ => BreakerState::HalfOpen,
    }
}

/// Sets the breaker-state gauge: one series per state, 1 for the current one.
fn publish(state: BreakerState) {
    crate::metrics::set_breaker_state(state);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(cooldown_ms: u64) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: 5,
            cooldown: Duration::from_millis(cooldown_ms),
            half_open_probes: 2,
            success_threshold: 2,
        })
    }

    #[test]
    fn breaker_opens_after_five_consecutive_failures() {
        let b = breaker(60_000);
        for _ in 0..4 {
            let a = b.admit().unwrap();
            b.record(a, Verdict::Failure);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        let a = b.admit().unwrap();
        b.record(a, Verdict::Failure);
        assert_eq!(b.state(), BreakerState::Open);
        let retry = b.admit().unwrap_err();
        assert!(retry > Duration::from_secs(50));
        assert_eq!(b.status().opened_total, 1);
    }

    #[test]
    fn a_success_resets_the_consecutive_count() {
        let b = breaker(60_000);
        for _ in 0..4 {
            b.record(Admission::Normal, Verdict::Failure);
        }
        b.record(Admission::Normal, Verdict::Success);
        for _ in 0..4 {
            b.record(Admission::Normal, Verdict::Failure);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn after_cooldown_half_open_admits_limited_probes_and_two_successes_close() {
        let b = breaker(0);
        for _ in 0..5 {
            b.record(Admission::Normal, Verdict::Failure);
        }
        assert_eq!(b.state(), BreakerState::Open);
        let p1 = b.admit().unwrap();
        assert_eq!(p1, Admission::Probe);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let p2 = b.admit().unwrap();
        assert_eq!(
            b.admit().unwrap_err(),
            PROBE_BUSY_RETRY,
            "only two probes at once"
        );
        b.record(p1, Verdict::Success);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.record(p2, Verdict::Success);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.admit().unwrap(), Admission::Normal);
    }

    #[test]
    fn a_failed_probe_reopens() {
        let b = breaker(0);
        for _ in 0..5 {
            b.record(Admission::Normal, Verdict::Failure);
        }
        let p = b.admit().unwrap();
        b.record(p, Verdict::Failure);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.status().opened_total, 2);
    }

    #[test]
    fn reconnect_skips_the_rest_of_the_cooldown() {
        let b = breaker(60_000);
        for _ in 0..5 {
            b.record(Admission::Normal, Verdict::Failure);
        }
        assert!(b.admit().is_err());
        b.on_reconnected();
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.admit().unwrap(), Admission::Probe);
    }

    #[test]
    fn ignored_probe_frees_its_slot_without_counting() {
        let b = breaker(0);
        for _ in 0..5 {
            b.record(Admission::Normal, Verdict::Failure);
        }
        let p1 = b.admit().unwrap();
        let p2 = b.admit().unwrap();
        b.record(p1, Verdict::Ignore);
        b.record(p2, Verdict::Success);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let p3 = b.admit().unwrap();
        b.record(p3, Verdict::Success);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_failed_health_check_opens_at_once_and_a_good_one_starts_the_recovery() {
        let b = breaker(60_000);
        b.record(b.admit_health(), Verdict::Failure);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.is_refusing());
        assert!(b.admit().is_err(), "callers are refused");
        // The health PING is admitted while open, and its success is evidence.
        b.record(b.admit_health(), Verdict::Success);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(!b.is_refusing());
        b.record(b.admit_health(), Verdict::Success);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.status().opened_total, 1);
    }

    #[test]
    fn tripping_an_open_breaker_restarts_its_cooldown() {
        let b = breaker(200);
        b.trip();
        std::thread::sleep(Duration::from_millis(150));
        b.trip();
        let left = b.retry_after().expect("still open");
        assert!(
            left > Duration::from_millis(150),
            "cool-down restarted: {left:?}"
        );
        assert_eq!(
            b.status().opened_total,
            1,
            "re-tripping is not a new opening"
        );
    }

    #[test]
    fn reset_closes_and_clears_every_count() {
        let b = breaker(60_000);
        for _ in 0..5 {
            b.record(Admission::Normal, Verdict::Failure);
        }
        assert_eq!(b.state(), BreakerState::Open);
        let mut changes = b.subscribe();
        b.reset();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(*changes.borrow_and_update(), BreakerState::Closed);
        let s = b.status();
        assert_eq!((s.consecutive_failures, s.half_open_successes), (0, 0));
        assert_eq!(b.admit().unwrap(), Admission::Normal);
        for _ in 0..4 {
            b.record(Admission::Normal, Verdict::Failure);
        }
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "the count starts from zero"
        );
    }
}
