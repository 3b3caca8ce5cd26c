//! Capped exponential backoff with full jitter, for reconnect attempts.
//!
//! Full jitter (each sleep uniform in `[0, min(cap, base * 2^n)]`) spreads the reconnects of
//! many processes after a shared outage, so a recovering server is not hit by all of them at
//! once.

use std::time::Duration;

/// The backoff schedule of one reconnect loop.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The ceiling of the next sleep (before jitter).
    pub(crate) fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The next sleep: uniform in `[0, ceiling]`.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let nanos = ceiling.as_nanos().min(u128::from(u64::MAX)) as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rand::random_range(0..=nanos))
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_from_base_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        let mut ceilings = Vec::new();
        for _ in 0..8 {
            ceilings.push(b.ceiling().as_millis());
            b.next_delay();
        }
        assert_eq!(ceilings, vec![50, 100, 200, 400, 800, 1600, 2000, 2000]);
        for _ in 0..100 {
            b.next_delay();
        }
        assert_eq!(b.ceiling(), Duration::from_secs(2));
    }

    #[test]
    fn every_delay_is_within_zero_and_the_ceiling() {
        let mut b = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        for _ in 0..200 {
            let ceiling = b.ceiling();
            let d = b.next_delay();
            assert!(d <= ceiling, "{d:?} > {ceiling:?}");
        }
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(50));
    }
}
