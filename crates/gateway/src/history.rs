//! A user's threads: the index (a sorted set by last activity), the titles, and each
//! thread's history read by pages, newest first or from a cursor in either direction.
//!
//! Why pages carry both `has_older` and `has_newer`: a client that opens a thread at its
//! newest events and scrolls back (`before`), or one that catches up from where it was
//! (`after`), must know when to stop without asking for an empty page. Each page is read
//! with one `COUNT limit + 1` range (the extra entry answers "is there more this way") and
//! one `COUNT 1` probe the other way, sent together.

use redis_ssot::{Error, RedisManager, StreamEntry, UserId};
use serde::Serialize;

use crate::eventlog::decode_all;
use crate::events::Event;
use crate::ids::EventId;
use crate::keys;

/// What a request about a thread the user does not have is told, over HTTP (404) and over
/// the socket (`not_found`) alike.
pub fn no_such_thread(id: &str) -> String {
    format!("you have no thread {id}; create it with POST /api/threads")
}

/// One of a user's threads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadSummary {
    /// The thread id.
    pub id: String,
    /// The title: given at creation, else made from the first message.
    pub title: String,
    /// Unix ms of the last event.
    pub updated_ms: u64,
}

/// Where a page of a thread's history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The newest events.
    Newest,
    /// The events just before this id (scrolling back).
    Before(EventId),
    /// The events just after this id (catching up).
    After(EventId),
}

/// A page of a thread's events, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The events.
    pub events: Vec<Event>,
    /// Events older than the first one of the page exist.
    pub has_older: bool,
    /// Events newer than the last one of the page exist.
    pub has_newer: bool,
}

/// The threads of all users, on the one manager.
#[derive(Clone)]
pub struct Threads {
    manager: RedisManager,
}

impl Threads {
    /// The threads store on `manager`.
    pub fn new(manager: RedisManager) -> Threads {
        Threads { manager }
    }

    /// The user's threads, most recently active first (at most 200).
    pub async fn list(&self, user: &UserId) -> Result<Vec<ThreadSummary>, Error> {
        let mut cmd = redis_ssot::redis::cmd("ZRANGE");
        cmd.arg(keys::threads(user))
            .arg(0)
            .arg(199)
            .arg("REV")
            .arg("WITHSCORES");
        let ids: Vec<(String, f64)> = self.manager.cmd(&cmd).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let titles: std::collections::HashMap<String, String> =
            self.manager.hgetall(&keys::titles(user)).await?;
        Ok(ids
            .into_iter()
            .map(|(id, score)| ThreadSummary {
                title: titles.get(&id).cloned().unwrap_or_else(|| id.clone()),
                updated_ms: score as u64,
                id,
            })
            .collect())
    }

    /// Whether the user has a thread with this id. Threads are namespaced by user, so another
    /// user's thread id is simply not found.
    pub async fn exists(&self, user: &UserId, thread: &str) -> Result<bool, Error> {
        Ok(self
            .manager
            .zscore(&keys::threads(user), thread)
            .await?
            .is_some())
    }

    /// Registers a thread (so it is listed before its first message), with `title` if given
    /// (otherwise its first message titles it); an existing thread keeps its title. Returns
    /// the title the thread has (its id while it has none).
    pub async fn create(
        &self,
        user: &UserId,
        thread: &str,
        title: Option<&str>,
    ) -> Result<String, Error> {
        let mut pipe = redis_ssot::redis::pipe();
        pipe.atomic()
            .cmd("ZADD")
            .arg(keys::threads(user))
            .arg("NX")
            .arg(crate::events::now_ms())
            .arg(thread)
            .ignore();
        if let Some(title) = title {
            pipe.cmd("HSETNX")
                .arg(keys::titles(user))
                .arg(thread)
                .arg(title)
                .ignore();
        }
        pipe.cmd("HGET").arg(keys::titles(user)).arg(thread);
        let (title,): (Option<String>,) = self.manager.pipeline(&pipe).await?;
        Ok(title.unwrap_or_else(|| thread.to_string()))
    }

    /// A page of at most `limit` events of `thread` from `cursor`.
    pub async fn page(
        &self,
        user: &UserId,
        thread: &str,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Page, Error> {
        let key = keys::thread_log(user, thread);
        let m = &self.manager;
        let more = limit + 1;
        // Each page asks for one event more than it returns: whether it came says whether
        // there is more in the direction read. The other direction, away from a cursor, is
        // probed with one entry.
        match cursor {
            Cursor::Newest => {
                let (events, has_older) =
                    newest_first(m.xrevrange(&key, "+", "-", more).await?, limit)?;
                Ok(Page {
                    events,
                    has_older,
                    has_newer: false,
                })
            }
            Cursor::Before(id) => {
                let (exclusive, inclusive) = (format!("({id}"), id.to_string());
                let (page, probe) = tokio::join!(
                    m.xrevrange(&key, &exclusive, "-", more),
                    m.xrange(&key, &inclusive, "+", 1)
                );
                let (events, has_older) = newest_first(page?, limit)?;
                Ok(Page {
                    events,
                    has_older,
                    has_newer: !probe?.is_empty(),
                })
            }
            Cursor::After(id) => {
                let (exclusive, inclusive) = (format!("({id}"), id.to_string());
                let (page, probe) = tokio::join!(
                    m.xrange(&key, &exclusive, "+", more),
                    m.xrevrange(&key, &inclusive, "-", 1)
                );
                let mut entries = page?;
                let has_newer = entries.len() > limit;
                entries.truncate(limit);
                Ok(Page {
                    events: decode_all(entries)?,
                    has_older: !probe?.is_empty(),
                    has_newer,
                })
            }
        }
    }

    /// The texts of the user's last `count` messages in `thread`, oldest first: what the
    /// agent is shown as history. One `LRANGE` of a list the append script keeps, instead
    /// of reading (and decoding) the thread's last events to pick the user's out of them.
    pub async fn said(
        &self,
        user: &UserId,
        thread: &str,
        count: usize,
    ) -> Result<Vec<String>, Error> {
        let start = -i64::try_from(count).unwrap_or(i64::MAX);
        self.manager
            .lrange(&keys::said(user, thread), start, -1)
            .await
    }
}

/// A page read newest first with one entry more than `limit`: at most `limit` events, oldest
/// first, and whether there were older ones.
fn newest_first(mut entries: Vec<StreamEntry>, limit: usize) -> Result<(Vec<Event>, bool), Error> {
    let has_older = entries.len() > limit;
    entries.truncate(limit);
    entries.reverse();
    Ok((decode_all(entries)?, has_older))
}
