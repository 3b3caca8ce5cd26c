//! Clones of the shared connection kept per thread, so a command does not clone one.
//!
//! redis-rs sends on `&mut` connection handles, so each command in flight needs a handle of
//! its own. Cloning one per command (and dropping it after) is six atomic read-modify-writes
//! on counters that every core shares (the channel's sender count and two reference counts):
//! with a profiler, about 4% of the client's CPU in `redis-ssot bench`. Instead a finished
//! command gives its handle back to its thread's shard, and the next command on that thread
//! takes it: one uncontended lock on a cache line that thread owns, each way.
//!
//! Each shard remembers the generation of the connection its handles belong to. A handle of
//! another generation is never handed out, and [`ConnCache::clear`] (called when the
//! supervisor installs or drops a connection) empties every shard, so an old connection is not
//! kept open by idle clones.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::connection::Conn;
use crate::shard::{Padded, SHARDS, my_shard};

/// Handles kept per shard at most; more in flight on one thread are cloned and dropped.
const PER_SHARD: usize = 512;

struct Shelf<C> {
    generation: u64,
    conns: Vec<C>,
}

/// Spare handles of the installed connection, per thread shard.
pub(crate) struct ConnCache<C = Conn> {
    /// The generation installed now; 0 while none is.
    current: Padded<AtomicU64>,
    shards: Box<[Padded<Mutex<Shelf<C>>>; SHARDS]>,
}

impl<C> Default for ConnCache<C> {
    fn default() -> Self {
        ConnCache {
            current: Padded(AtomicU64::new(0)),
            shards: Box::new(std::array::from_fn(|_| {
                Padded(Mutex::new(Shelf {
                    generation: 0,
                    conns: Vec::new(),
                }))
            })),
        }
    }
}

impl<C> ConnCache<C> {
    /// A spare handle of the installed connection from this thread's shard, with its
    /// generation, if there is one.
    #[inline]
    pub(crate) fn take(&self) -> Option<(C, u64)> {
        let generation = self.current.load(Ordering::Acquire);
        let mut shelf = self.shards[my_shard()].lock().ok()?;
        if shelf.generation != generation {
            return None;
        }
        shelf.conns.pop().map(|c| (c, generation))
    }

    /// Gives back a handle of connection `generation`. A handle of a connection that is no
    /// longer installed is dropped.
    #[inline]
    pub(crate) fn put(&self, generation: u64, conn: C) {
        if generation != self.current.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut shelf) = self.shards[my_shard()].lock() else {
            return;
        };
        let mut stale = Vec::new();
        if shelf.generation != generation {
            // The first handle of a new connection on this shard: the old ones go.
            stale = std::mem::take(&mut shelf.conns);
            shelf.generation = generation;
        }
        if shelf.conns.len() < PER_SHARD {
            shelf.conns.push(conn);
        }
        // `install` stores the new generation before it empties the shards: a `put` that read
        // the old one either pushed before its shard was emptied, or sees the new one here.
        if self.current.load(Ordering::SeqCst) != generation {
            stale.append(&mut shelf.conns);
        }
        drop(shelf);
        drop(stale);
    }

    /// Connection `generation` is now installed (0: none is): the spare handles of the
    /// previous one are dropped, so they do not keep it open.
    pub(crate) fn install(&self, generation: u64) {
        self.current.store(generation, Ordering::SeqCst);
        for shard in self.shards.iter() {
            let stale = match shard.lock() {
                Ok(mut shelf) if shelf.generation != generation => std::mem::take(&mut shelf.conns),
                _ => continue,
            };
            drop(stale);
        }
    }

    /// How many spare handles are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok().map(|s| s.conns.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A handle that counts how many of its kind are alive.
    struct Handle(Arc<AtomicUsize>);

    impl Handle {
        fn new(alive: &Arc<AtomicUsize>) -> Handle {
            alive.fetch_add(1, Ordering::SeqCst);
            Handle(alive.clone())
        }
    }

    impl Drop for Handle {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_handle_given_back_is_handed_out_again_with_its_generation() {
        let cache = ConnCache::<u32>::default();
        assert!(cache.take().is_none(), "nothing is installed yet");
        cache.install(3);
        assert!(cache.take().is_none(), "nothing given back yet");
        cache.put(3, 7);
        assert_eq!(cache.take(), Some((7, 3)));
        assert!(cache.take().is_none());
    }

    #[test]
    fn handles_of_a_replaced_connection_are_dropped_and_never_handed_out() {
        let alive = Arc::new(AtomicUsize::new(0));
        let cache = ConnCache::default();
        cache.install(1);
        for _ in 0..5 {
            cache.put(1, Handle::new(&alive));
        }
        assert_eq!((cache.len(), alive.load(Ordering::SeqCst)), (5, 5));

        cache.install(2);
        assert_eq!(
            alive.load(Ordering::SeqCst),
            0,
            "old spares dropped at install"
        );
        assert!(cache.take().is_none());

        // A command that started on connection 1 and finishes now: its handle is dropped.
        cache.put(1, Handle::new(&alive));
        assert_eq!((cache.len(), alive.load(Ordering::SeqCst)), (0, 0));

        cache.put(2, Handle::new(&alive));
        assert_eq!(cache.take().map(|(_, g)| g), Some(2));
        assert_eq!(alive.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn no_connection_installed_keeps_nothing() {
        let alive = Arc::new(AtomicUsize::new(0));
        let cache = ConnCache::default();
        cache.install(4);
        cache.put(4, Handle::new(&alive));
        cache.install(0);
        assert_eq!(alive.load(Ordering::SeqCst), 0);
        cache.put(4, Handle::new(&alive));
        assert_eq!((cache.len(), alive.load(Ordering::SeqCst)), (0, 0));
        assert!(cache.take().is_none());
    }

    #[test]
    fn a_shard_keeps_at_most_its_bound() {
        let alive = Arc::new(AtomicUsize::new(0));
        let cache = ConnCache::default();
        cache.install(1);
        for _ in 0..PER_SHARD + 10 {
            cache.put(1, Handle::new(&alive));
        }
        assert_eq!(cache.len(), PER_SHARD);
        assert_eq!(alive.load(Ordering::SeqCst), PER_SHARD);
    }
}
