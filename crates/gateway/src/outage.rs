//! [`OutageGate`]: at most one simulated outage at a time, and a cooldown after each.
//!
//! Why a gate at all: a simulated outage pauses the one Redis every user of this gateway
//! shares, so it is a process-wide resource, not a per-user one. Without the gate any
//! logged-in user could chain pauses and keep the demo down for everyone. The gate is one
//! mutex-guarded instant ("closed until"); it is checked and moved in the same critical
//! section, so two clicks at once cannot both start an outage.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why an outage was not started, with how long until one may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// An outage is running; it ends in `ends_in`, and the next may start `retry_after`
    /// from now (its end plus the cooldown).
    Running {
        /// Until Redis resumes.
        ends_in: Duration,
        /// Until the gate opens.
        retry_after: Duration,
    },
    /// The last outage ended recently; the next may start `retry_after` from now.
    CoolingDown {
        /// Until the gate opens.
        retry_after: Duration,
    },
}

impl Refusal {
    /// How long until an outage may start again.
    pub fn retry_after(&self) -> Duration {
        match *self {
            Refusal::Running { retry_after, .. } | Refusal::CoolingDown { retry_after } => {
                retry_after
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    /// When the outage that was last started ends (Redis resumes).
    ends: Instant,
    /// When the next one may start.
    open_at: Instant,
}

/// One outage at a time, then `cooldown` before the next.
#[derive(Debug)]
pub struct OutageGate {
    cooldown: Duration,
    last: Mutex<Option<Window>>,
}

impl OutageGate {
    /// A gate that keeps `cooldown` between the end of one outage and the start of the next.
    pub fn new(cooldown: Duration) -> OutageGate {
        OutageGate {
            cooldown,
            last: Mutex::new(None),
        }
    }

    /// Whether an outage could start now, without starting one. The route asks this before
    /// it authenticates the caller: while an outage runs, Redis cannot check a session, and
    /// the honest answer is "one is running", not "Redis is unavailable".
    pub fn check(&self) -> Result<(), Refusal> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        refusal(*last, Instant::now()).map_or(Ok(()), Err)
    }

    /// Admits an outage of `pause` starting now, or says why not. Admitted, the gate stays
    /// closed until the outage's end plus the cooldown.
    pub fn try_start(&self, pause: Duration) -> Result<(), Refusal> {
        let now = Instant::now();
        // A poisoned lock only means a panic elsewhere while holding it; the instant it
        // guards is still a valid instant.
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = refusal(*last, now) {
            return Err(r);
        }
        let ends = now + pause;
        *last = Some(Window {
            ends,
            open_at: ends + self.cooldown,
        });
        Ok(())
    }
}

fn refusal(last: Option<Window>, now: Instant) -> Option<Refusal> {
    let w = last.filter(|w| now < w.open_at)?;
    let retry_after = w.open_at - now;
    Some(if now < w.ends {
        Refusal::Running {
            ends_in: w.ends - now,
            retry_after,
        }
    } else {
        Refusal::CoolingDown { retry_after }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_outage_is_refused_while_one_runs_and_during_the_cooldown() {
        let gate = OutageGate::new(Duration::from_millis(200));
        assert_eq!(gate.try_start(Duration::from_millis(100)), Ok(()));
        match gate.try_start(Duration::from_millis(100)) {
            Err(Refusal::Running {
                ends_in,
                retry_after,
            }) => {
                assert!(ends_in <= Duration::from_millis(100), "{ends_in:?}");
                assert!(retry_after > Duration::from_millis(200), "{retry_after:?}");
            }
            other => panic!("expected Running, got {other:?}"),
        }
        assert!(matches!(gate.check(), Err(Refusal::Running { .. })));
        std::thread::sleep(Duration::from_millis(150));
        assert!(matches!(
            gate.try_start(Duration::from_millis(100)),
            Err(Refusal::CoolingDown { .. })
        ));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(gate.check(), Ok(()));
        assert_eq!(gate.try_start(Duration::from_millis(100)), Ok(()));
    }
}
