//! Coarse command deadlines without a timer per command.
//!
//! A `tokio::time::timeout` per command registers an entry in Tokio's timer wheel on the
//! first poll and removes it on drop: measured with callgrind, about 750 instructions a
//! command, most of what the choke point cost over a raw redis-rs call. Deadlines of the
//! shared connection's ordinary commands are all the same length (`command_timeout`), so
//! they do not need a timer each:
//!
//! * time is cut into ticks of `command_timeout / 8` (clamped to 1–100 ms); a watchdog task
//!   advances an epoch counter once per tick;
//! * a command notes the epoch it started in and counts itself in that epoch's slot of a ring;
//!   if it is still pending it leaves its task's waker in the slot, once per task: waking a
//!   task polls whatever command it is waiting on, so one waker per task and epoch wakes all
//!   of that task's commands of the epoch (a busy task sends hundreds per tick). A small
//!   per-thread table of recent registrations lets most commands skip even the slot's lock.
//!   Each slot is split into
//!   per-thread shards on their own cache lines, so the cores do not fight over one counter
//!   and one lock on every command. A command counts itself in on the thread it starts on and
//!   out on the thread it ends on (tasks move between worker threads: the one that reads the
//!   reply wakes them), so a shard's count may go below zero; only the sum over an epoch's
//!   shards means anything;
//! * when an epoch is `ceil(timeout / tick) + 1` ticks old, every command of it has run for at
//!   least `timeout`: the watchdog wakes the slot's wakers if any of its commands is still in
//!   flight (else just drops them), and those commands return `Timeout`.
//!
//! A deadline fires between `timeout` and `timeout + 2 ticks` after the command started
//! (at most 25% late). Commands with another deadline ([`Deadline::Custom`]: blocking
//! commands, durable writes, the health PING) and commands on dedicated connections keep
//! Tokio's timer. [`watchdog`] is the task that advances the ring.

use std::cell::Cell;
use std::collections::HashSet;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::shard::{Padded, SHARDS, my_shard};

/// Which deadline a call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// `command_timeout`, from the shared ring (on the shared connection).
    Default,
    /// Its own length, on Tokio's timer.
    Custom(Duration),
}

impl Deadline {
    /// The length of this deadline, given the default one.
    pub(crate) fn length(self, default: Duration) -> Duration {
        match self {
            Deadline::Default => default,
            Deadline::Custom(d) => d,
        }
    }
}

/// Advances `ring` in step with the clock until `shutdown` fires, catching up after a stall:
/// a busy runtime makes deadlines fire late by at most the stall, never drift.
pub(crate) async fn watchdog(ring: &Deadlines, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let tick = ring.tick();
    let started = tokio::time::Instant::now();
    let mut done = 0u128;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let due = started.elapsed().as_nanos() / tick.as_nanos().max(1);
        while done < due {
            ring.advance();
            done += 1;
        }
    }
}

struct Slot {
    /// Commands that started in this epoch, counted in on this shard, minus those counted
    /// out on it.
    in_flight: AtomicIsize,
    wakers: Mutex<Wakers>,
}

/// The wakers left in one slot shard, one per task (by waker identity). The identity cannot
/// be reused by another task before the slot is drained: the clone kept in `list` keeps the
/// first task's allocation alive until then.
#[derive(Default)]
struct Wakers {
    seen: HashSet<(usize, usize), BuildHasherDefault<IdentityHasher>>,
    list: Vec<Waker>,
}

impl Wakers {
    /// Takes the wakers out, leaving room for as many next time.
    fn take(&mut self) -> Vec<Waker> {
        self.seen.clear();
        let room = self.list.len();
        std::mem::replace(&mut self.list, Vec::with_capacity(room))
    }
}

/// Hashes a waker's `(data, vtable)` addresses: already unique, so mixing them is enough.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|b| self.write_u8(*b));
    }

    fn write_u8(&mut self, b: u8) {
        self.write_u64(u64::from(b));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(29) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Ring ids, so a registration remembered for a dropped ring can never match a new ring
/// allocated at the same address.
static NEXT_RING: AtomicU64 = AtomicU64::new(1);

/// A registration this thread made: `(ring id, epoch, waker data, waker vtable)`.
type Recent = (u64, u64, usize, usize);

const RECENT_LEN: usize = 64;

thread_local! {
    /// Registrations this thread made lately, direct-mapped by waker. A hit means the task's
    /// waker is already in that epoch's slot (the slot keeps it, and so the task's allocation
    /// and its address, until the epoch expires). A miss only costs the locked path.
    static RECENT: [Cell<Recent>; RECENT_LEN] = const { [const { Cell::new((0, 0, 0, 0)) }; RECENT_LEN] };
}

/// Whether this thread already left `identity`'s waker in `(ring, epoch)`; remembers it if
/// not (the caller then registers it).
#[inline]
fn seen_recently(ring: u64, epoch: u64, identity: (usize, usize)) -> bool {
    let key = (ring, epoch, identity.0, identity.1);
    let index = (identity.0 >> 4) % RECENT_LEN;
    RECENT.with(|recent| recent[index].replace(key) == key)
}

/// The epoch ring of one manager.
pub(crate) struct Deadlines {
    id: u64,
    timeout: Duration,
    tick: Duration,
    /// Epochs a command may live: started in `e`, expired once the epoch reaches `e + ttl`.
    ttl: u64,
    epoch: Padded<AtomicU64>,
    /// `slots[epoch % len][shard]`.
    slots: Box<[[Padded<Slot>; SHARDS]]>,
}

impl Deadlines {
    pub(crate) fn new(timeout: Duration) -> Deadlines {
        let tick = (timeout / 8).clamp(Duration::from_millis(1), Duration::from_millis(100));
        let ttl = timeout.as_nanos().div_ceil(tick.as_nanos().max(1)) as u64 + 1;
        // One more slot than epochs in flight, so a slot is drained before it is reused.
        let len = ttl as usize + 2;
        let slots = (0..len)
            .map(|_| {
                std::array::from_fn(|_| {
                    Padded(Slot {
                        in_flight: AtomicIsize::new(0),
                        wakers: Mutex::new(Wakers::default()),
                    })
                })
            })
            .collect();
        Deadlines {
            id: NEXT_RING.fetch_add(1, Ordering::Relaxed),
            timeout,
            tick,
            ttl,
            epoch: Padded(AtomicU64::new(0)),
            slots,
        }
    }

    /// The deadline every command on this ring gets.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How often [`Deadlines::advance`] must run.
    pub(crate) fn tick(&self) -> Duration {
        self.tick
    }

    fn slot(&self, epoch: u64, shard: usize) -> &Slot {
        &self.slots[(epoch % self.slots.len() as u64) as usize][shard % SHARDS]
    }

    /// Wraps `io` so that it resolves to `None` once its deadline has passed.
    #[cfg(test)]
    pub(crate) fn guard<F: Future>(&self, io: F) -> Guarded<'_, F> {
        self.guard_in(None, io)
    }

    /// Wraps `io` so that it resolves to `None` once its deadline has passed, and polls it
    /// inside `span` (if given and enabled).
    pub(crate) fn guard_in<F: Future>(&self, span: Option<tracing::Span>, io: F) -> Guarded<'_, F> {
        let started = self.epoch.load(Ordering::Acquire);
        self.slot(started, my_shard())
            .in_flight
            .fetch_add(1, Ordering::AcqRel);
        Guarded {
            ring: self,
            started,
            registered: None,
            span: span.filter(|s| !s.is_disabled()),
            io,
        }
    }

    /// One tick: moves to the next epoch and expires the epoch that is `ttl` old.
    pub(crate) fn advance(&self) {
        let now = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        let Some(expired) = now.checked_sub(self.ttl) else {
            return;
        };
        let in_flight: isize = (0..SHARDS)
            .map(|shard| self.slot(expired, shard).in_flight.load(Ordering::Acquire))
            .sum();
        for shard in 0..SHARDS {
            let wakers = match self.slot(expired, shard).wakers.lock() {
                Ok(mut w) => w.take(),
                Err(_) => continue,
            };
            if in_flight > 0 {
                wakers.into_iter().for_each(Waker::wake);
            }
        }
    }

    /// Expires every command now (shutdown: the watchdog is stopping, so nothing would).
    pub(crate) fn expire_all(&self) {
        self.epoch
            .fetch_add(self.ttl + self.slots.len() as u64, Ordering::AcqRel);
        for slot in self.slots.iter().flatten() {
            let wakers = match slot.wakers.lock() {
                Ok(mut w) => w.take(),
                Err(_) => continue,
            };
            wakers.into_iter().for_each(Waker::wake);
        }
    }

    fn expired(&self, started: u64) -> bool {
        self.epoch.load(Ordering::Acquire) >= started + self.ttl
    }
}

pin_project_lite::pin_project! {
    /// A command future under a coarse deadline (see the module docs).
    pub(crate) struct Guarded<'a, F> {
        ring: &'a Deadlines,
        started: u64,
        // The waker left in the slot, as `(data, vtable)` addresses: enough to tell whether a
        // later poll brings another waker (what `Waker::will_wake` compares) without holding
        // a second clone of it.
        registered: Option<(usize, usize)>,
        // The command's tracing span, entered around each poll of `io`.
        span: Option<tracing::Span>,
        #[pin]
        io: F,
    }

    impl<'a, F> PinnedDrop for Guarded<'a, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            this.ring
                .slot(*this.started, my_shard())
                .in_flight
                .fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl<F: Future> Future for Guarded<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let entered = this.span.as_ref().map(tracing::Span::enter);
        if let Poll::Ready(v) = this.io.poll(cx) {
            return Poll::Ready(Some(v));
        }
        drop(entered);
        if this.ring.expired(*this.started) {
            return Poll::Ready(None);
        }
        let waker = cx.waker();
        let identity = (waker.data() as usize, waker.vtable() as *const _ as usize);
        if *this.registered != Some(identity) {
            if !seen_recently(this.ring.id, *this.started, identity)
                && let Ok(mut wakers) = this.ring.slot(*this.started, my_shard()).wakers.lock()
                && wakers.seen.insert(identity)
            {
                wakers.list.push(waker.clone());
            }
            *this.registered = Some(identity);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tick_is_an_eighth_of_the_timeout_within_bounds() {
        assert_eq!(
            Deadlines::new(Duration::from_secs(1)).tick(),
            Duration::from_millis(100)
        );
        assert_eq!(
            Deadlines::new(Duration::from_millis(300)).tick(),
            Duration::from_micros(37_500)
        );
        assert_eq!(
            Deadlines::new(Duration::from_millis(2)).tick(),
            Duration::from_millis(1)
        );
    }

    #[tokio::test]
    async fn a_pending_command_expires_after_ttl_ticks_and_not_before() {
        let ring = Deadlines::new(Duration::from_millis(80));
        let mut guarded = Box::pin(ring.guard(std::future::pending::<()>()));
        let ttl = ring.ttl;
        for _ in 0..ttl - 1 {
            ring.advance();
            assert!(futures_util::poll!(guarded.as_mut()).is_pending());
        }
        ring.advance();
        assert_eq!(futures_util::poll!(guarded.as_mut()), Poll::Ready(None));
    }

    #[tokio::test]
    async fn a_finished_command_returns_its_value_and_leaves_its_slot() {
        let ring = Deadlines::new(Duration::from_millis(80));
        let v = ring.guard(async { 7 }).await;
        assert_eq!(v, Some(7));
        assert_eq!(
            ring.slot(0, my_shard()).in_flight.load(Ordering::Acquire),
            0
        );
    }

    /// Runs the manager's [`watchdog`] on `ring` until `task` ends, then stops it.
    async fn run_watchdog_until<T>(
        ring: &std::sync::Arc<Deadlines>,
        task: tokio::task::JoinHandle<T>,
    ) -> Result<Result<T, tokio::task::JoinError>, tokio::time::error::Elapsed> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let driver = {
            let ring = ring.clone();
            tokio::spawn(async move { watchdog(&ring, stopped).await })
        };
        let out = tokio::time::timeout(Duration::from_secs(10), task).await;
        stop.send_replace(true);
        driver.await.expect("the watchdog stops when told");
        out
    }

    #[tokio::test]
    async fn one_waker_per_task_wakes_all_its_stuck_commands() {
        let ring = std::sync::Arc::new(Deadlines::new(Duration::from_millis(16)));
        let r = ring.clone();
        let stuck = tokio::spawn(async move {
            let a = r.guard(std::future::pending::<()>());
            let b = r.guard(std::future::pending::<()>());
            futures_util::join!(a, b)
        });
        tokio::task::yield_now().await;
        let registered: usize = (0..SHARDS)
            .map(|s| {
                ring.slot(0, s)
                    .wakers
                    .lock()
                    .map(|w| w.list.len())
                    .unwrap_or(0)
            })
            .sum();
        assert_eq!(registered, 1, "two commands of one task, one waker");
        let out = run_watchdog_until(&ring, stuck).await;
        assert_eq!(out.expect("woken").expect("no panic"), (None, None));
    }

    #[tokio::test]
    async fn expiry_wakes_the_task_of_a_stuck_command() {
        let ring = std::sync::Arc::new(Deadlines::new(Duration::from_millis(16)));
        let r = ring.clone();
        let stuck = tokio::spawn(async move { r.guard(std::future::pending::<()>()).await });
        tokio::task::yield_now().await;
        // Without the wake-up the spawned task would never be polled again.
        let out = run_watchdog_until(&ring, stuck).await;
        assert_eq!(out.expect("woken").expect("no panic"), None);
    }
}
