//! The gate every call passes after the readiness check: the circuit breaker, the in-flight
//! limit, and the streak of timeouts that makes the supervisor check the connection.
//!
//! [`Gate::admit`] hands out a [`Permit`]; [`Permit::finish`] records how the call ended and
//! says what the connection needs ([`FollowUp`]). No caller touches the counters itself, so
//! the rules below hold everywhere:
//!
//! * **The breaker** (`breaker_failure_threshold` = M, default 5) counts consecutive timeouts,
//!   connection errors and the busy replies that block every caller (`BUSY`, `CLUSTERDOWN`).
//!   A failed health PING opens it at once. Reply errors, and busy replies that concern one
//!   call (`TRYAGAIN`, `OOM`, `MISCONF`), prove the server answers and reset the count.
//! * **The timeout streak** (`timeouts_before_reconnect` = N, default 3) counts consecutive
//!   timeouts. At N the supervisor is asked to *check* the connection: it dials a new one while
//!   the current one keeps serving, and swaps only if the new one answers its PING (a
//!   half-open socket is cured); if the new one does not answer either, the server itself is
//!   hung and the current connection is kept. The check never resets the breaker's count, so
//!   a hung server under traffic opens the breaker at M, and callers then get `CircuitOpen`
//!   in microseconds. A swap is evidence of recovery: it moves an open breaker to half-open.
//! * **A connection error** replaces the connection at once (break before make): callers get
//!   `NotReady` until the supervisor has a new one.
//! * **`LOADING`** on a ready connection moves the manager to `Loading` (the supervisor keeps
//!   the connection and polls it); it does not count against the breaker, readiness already
//!   refuses calls.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use crate::breaker::{Admission, BreakerConfig, CircuitBreaker, Verdict};
use crate::error::{BusyReason, Error, Result};
use crate::shard::Padded;

/// How a call is admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// An ordinary call: refused while the breaker is open.
    Normal,
    /// The health monitor's PING: admitted while open (see [`crate::breaker`]).
    Health,
    /// A replica read: the in-flight limit only; the primary's breaker neither gates it nor
    /// hears of it.
    LimitOnly,
}

/// What the connection needs after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FollowUp {
    /// Nothing.
    None,
    /// The connection is broken: replace it now.
    Replace,
    /// The connection may be dead (timeouts, a failed health PING): check it.
    Check,
    /// The server is loading its dataset.
    Loading,
}

/// The breaker, the in-flight limit and the timeout streak of one manager.
pub(crate) struct Gate {
    breaker: CircuitBreaker,
    /// Written twice per command by every core: padded so it does not share a cache line
    /// with the read-mostly fields checked on the same path.
    in_flight: Padded<AtomicUsize>,
    max_in_flight: usize,
    timeout_streak: AtomicU32,
    timeouts_before_check: u32,
}

/// One admitted call. Dropping it without [`Permit::finish`] (a cancelled call) frees its
/// in-flight slot and tells the breaker nothing.
pub(crate) struct Permit<'a> {
    gate: &'a Gate,
    admission: Option<Admission>,
}

impl Gate {
    pub(crate) fn new(
        breaker: BreakerConfig,
        max_in_flight: usize,
        timeouts_before_check: u32,
    ) -> Gate {
        Gate {
            breaker: CircuitBreaker::new(breaker),
            in_flight: Padded(AtomicUsize::new(0)),
            max_in_flight,
            timeout_streak: AtomicU32::new(0),
            timeouts_before_check,
        }
    }

    /// Breaker, then limit. A refusal is the error to return, with no I/O done.
    #[inline]
    pub(crate) fn admit(&self, how: Admit) -> Result<Permit<'_>> {
        let admission = match how {
            Admit::Normal => match self.breaker.admit() {
                Ok(a) => Some(a),
                Err(retry_after) => return Err(Error::CircuitOpen { retry_after }),
            },
            Admit::Health => Some(self.breaker.admit_health()),
            Admit::LimitOnly => None,
        };
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.max_in_flight {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            if let Some(a) = admission {
                self.breaker.record(a, Verdict::Ignore);
            }
            return Err(Error::Overloaded {
                limit: self.max_in_flight,
            });
        }
        Ok(Permit {
            gate: self,
            admission,
        })
    }

    /// The breaker, for status and readiness.
    pub(crate) fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Calls in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Consecutive timeouts since the last answer or check.
    pub(crate) fn timeout_streak(&self) -> u32 {
        self.timeout_streak.load(Ordering::Relaxed)
    }

    /// A new connection is in: the streak starts again, and an open breaker starts probing.
    pub(crate) fn on_reconnected(&self) {
        self.timeout_streak.store(0, Ordering::Release);
        self.breaker.on_reconnected();
    }

    /// Waits (up to `deadline`) until nothing is in flight.
    pub(crate) async fn drain(&self, deadline: Duration) {
        let until = tokio::time::Instant::now() + deadline;
        while self.in_flight() > 0 && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn on_timeout(&self) -> FollowUp {
        let n = self.timeout_streak.fetch_add(1, Ordering::AcqRel) + 1;
        if n >= self.timeouts_before_check {
            self.timeout_streak.store(0, Ordering::Release);
            FollowUp::Check
        } else {
            FollowUp::None
        }
    }

    fn on_answer(&self) {
        if self.timeout_streak.load(Ordering::Relaxed) != 0 {
            self.timeout_streak.store(0, Ordering::Relaxed);
        }
    }
}

impl Permit<'_> {
    /// Records how the call ended; returns what its connection needs.
    #[inline]
    pub(crate) fn finish<T>(mut self, result: &Result<T>) -> FollowUp {
        let gate = self.gate;
        let Some(admission) = self.admission.take() else {
            return FollowUp::None;
        };
        let (verdict, follow_up) = match result {
            Ok(_) => {
                gate.on_answer();
                (Verdict::Success, FollowUp::None)
            }
            Err(e) => judge(gate, e),
        };
        gate.breaker.record(admission, verdict);
        match (admission, verdict) {
            // A failed health PING is a reason to check the connection by itself.
            (Admission::Health, Verdict::Failure) if follow_up == FollowUp::None => FollowUp::Check,
            _ => follow_up,
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.gate.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The breaker verdict and connection follow-up of a failed call (the table in the module
/// docs). Every variant is listed.
fn judge(gate: &Gate, e: &Error) -> (Verdict, FollowUp) {
    match e {
        Error::Timeout { .. } => (Verdict::Failure, gate.on_timeout()),
        Error::Connection { .. } => (Verdict::Failure, FollowUp::Replace),
        Error::ServerBusy {
            reason: BusyReason::Loading,
            ..
        } => (Verdict::Ignore, FollowUp::Loading),
        Error::ServerBusy { reason, .. } if reason.is_breaker_failure() => {
            (Verdict::Failure, FollowUp::None)
        }
        Error::ServerBusy { .. }
        | Error::Redis { .. }
        | Error::Decode(_)
        | Error::CrossSlot(_)
        | Error::NotReplicated { .. } => {
            gate.on_answer();
            (Verdict::Success, FollowUp::None)
        }
        // Never sent, or not about the server (a dedicated lease that could not be had, a
        // refusal further down the pipeline).
        Error::NotReady { .. }
        | Error::StillNotReady { .. }
        | Error::CircuitOpen { .. }
        | Error::Overloaded { .. }
        | Error::PoolExhausted { .. }
        | Error::Closed
        | Error::Config { .. }
        | Error::InvalidKey(_)
        | Error::NotFound(_)
        | Error::Forbidden(_)
        | Error::Conflict(_)
        | Error::RateLimited { .. }
        | Error::NotInitialized
        | Error::NoRuntime => (Verdict::Ignore, FollowUp::None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::BreakerState;

    fn gate() -> Gate {
        Gate::new(
            BreakerConfig {
                failure_threshold: 5,
                cooldown: Duration::from_secs(60),
                half_open_probes: 2,
                success_threshold: 2,
            },
            2,
            3,
        )
    }

    fn timeout() -> Result<()> {
        Err(Error::Timeout {
            op: "GET",
            after: Duration::from_millis(1),
        })
    }

    #[test]
    fn three_timeouts_ask_for_a_check_and_five_open_the_breaker() {
        let g = gate();
        let follow: Vec<_> = (0..5)
            .map(|_| g.admit(Admit::Normal).unwrap().finish(&timeout()))
            .collect();
        use FollowUp::{Check, None};
        assert_eq!(follow, [None, None, Check, None, None]);
        assert_eq!(g.breaker().state(), BreakerState::Open);
        assert!(matches!(
            g.admit(Admit::Normal),
            Err(Error::CircuitOpen { .. })
        ));
        assert_eq!(g.in_flight(), 0);
    }

    #[test]
    fn an_answer_resets_the_timeout_streak() {
        let g = gate();
        for _ in 0..2 {
            g.admit(Admit::Normal).unwrap().finish(&timeout());
        }
        g.admit(Admit::Normal).unwrap().finish(&Ok(()));
        assert_eq!(g.timeout_streak(), 0);
        let f = g.admit(Admit::Normal).unwrap().finish(&timeout());
        assert_eq!(f, FollowUp::None);
    }

    #[test]
    fn past_the_limit_calls_are_overloaded_and_free_their_slot() {
        let g = gate();
        let a = g.admit(Admit::Normal).unwrap();
        let _b = g.admit(Admit::Normal).unwrap();
        assert!(matches!(
            g.admit(Admit::Normal),
            Err(Error::Overloaded { limit: 2 })
        ));
        drop(a);
        assert_eq!(g.in_flight(), 1);
        assert!(g.admit(Admit::Normal).is_ok());
    }

    #[test]
    fn a_failed_health_ping_trips_the_breaker_and_asks_for_a_check() {
        let g = gate();
        let f = g.admit(Admit::Health).unwrap().finish(&timeout());
        assert_eq!(f, FollowUp::Check);
        assert_eq!(g.breaker().state(), BreakerState::Open);
        // The health PING still gets through while open.
        let f = g.admit(Admit::Health).unwrap().finish(&Ok(()));
        assert_eq!(f, FollowUp::None);
        assert_eq!(g.breaker().state(), BreakerState::HalfOpen);
    }

    #[test]
    fn loading_busy_and_reply_errors_follow_the_table() {
        let g = gate();
        let loading: Result<()> = Err(Error::ServerBusy {
            reason: BusyReason::Loading,
            message: "LOADING".into(),
        });
        assert_eq!(
            g.admit(Admit::Normal).unwrap().finish(&loading),
            FollowUp::Loading
        );
        let reset: Result<()> = Err(Error::connection(
            crate::error::ConnectionKind::Dropped,
            "reset",
        ));
        assert_eq!(
            g.admit(Admit::Normal).unwrap().finish(&reset),
            FollowUp::Replace
        );
        let busy: Result<()> = Err(Error::ServerBusy {
            reason: BusyReason::Script,
            message: "BUSY".into(),
        });
        for _ in 0..4 {
            g.admit(Admit::Normal).unwrap().finish(&busy);
        }
        assert_eq!(
            g.breaker().state(),
            BreakerState::Open,
            "1 reset + 4 BUSY = 5"
        );
    }

    #[test]
    fn replica_reads_are_limited_but_never_judged() {
        let g = gate();
        for _ in 0..10 {
            g.admit(Admit::LimitOnly).unwrap().finish(&timeout());
        }
        assert_eq!(g.breaker().state(), BreakerState::Closed);
        assert_eq!(g.timeout_streak(), 0);
    }
}
