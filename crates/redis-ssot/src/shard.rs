//! Per-thread sharded counters for the hot path.
//!
//! Every command bumps an outcome counter. One shared `AtomicU64` per outcome would make both
//! cores fight over the same cache line on every command; with a shard per thread (padded to
//! its own cache lines) each increment stays local, and `status()` pays for the sum instead.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::error::Outcome;

pub(crate) const SHARDS: usize = 16;

/// A value alone on its cache lines, so writes to it do not slow down reads of its
/// neighbours (false sharing).
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
const OUTCOMES: usize = Outcome::ALL.len();

#[repr(align(128))]
#[derive(Default)]
struct Shard([AtomicU64; OUTCOMES]);

/// Counts of finished commands by outcome.
pub(crate) struct OutcomeCounters {
    shards: Box<[Shard; SHARDS]>,
}

impl Default for OutcomeCounters {
    fn default() -> Self {
        OutcomeCounters {
            shards: Box::new(std::array::from_fn(|_| Shard::default())),
        }
    }
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

/// This thread's shard index (threads are numbered round-robin on first use).
#[inline]
pub(crate) fn my_shard() -> usize {
    MY_SHARD.with(|s| *s)
}

impl OutcomeCounters {
    /// Adds one to `outcome` on this thread's shard.
    #[inline]
    pub(crate) fn bump(&self, outcome: Outcome) {
        self.shards[my_shard()].0[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The total for `outcome` across shards.
    pub(crate) fn total(&self, outcome: Outcome) -> u64 {
        self.shards
            .iter()
            .map(|s| s.0[outcome.index()].load(Ordering::Relaxed))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_across_threads() {
        let c = std::sync::Arc::new(OutcomeCounters::default());
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.bump(Outcome::Ok);
                    }
                    c.bump(Outcome::Timeout);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(c.total(Outcome::Ok), 8000);
        assert_eq!(c.total(Outcome::Timeout), 8);
        assert_eq!(c.total(Outcome::Overloaded), 0);
    }
}
