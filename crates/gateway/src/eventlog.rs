//! The durable, capped event log: one Redis stream per user (what sockets deliver from) and
//! one per thread (history), written together by one Lua script.
//!
//! Why a per-user stream: a socket serves one user, so it needs exactly one cursor. The
//! notification carries the appended events and the id they follow ([`crate::notice`]); a
//! socket sends them only when that id is its cursor and otherwise reads `XRANGE (cursor +`,
//! so a lost or repeated notification can cause neither a gap nor a duplicate. The thread
//! stream receives the same id (XADD with an explicit id), so an `event_id` means the same
//! thing in both.
//!
//! Why a script: the epoch, both XADDs, the thread index, the dedupe record and the
//! notification must happen together, and the events a run has ready are written by one call
//! (one round trip, one notification) rather than one call each. The script reads the dedupe
//! record with one HMGET and writes it with one HSET: its cost is mostly per `redis.call`,
//! and Redis runs it on the one thread every other command waits for. The dedupe record (`run:<id>` → seq → stream id) makes a
//! retried append idempotent: during an outage a write can time out on our side and still be
//! executed later by the server (a paused server reads its socket when it resumes).
//!
//! The epoch is a random value created whenever the user stream or the epoch key is missing
//! at write time, so a log that vanished (restart without persistence, eviction) gets a new
//! epoch and a client that remembers the old one is told its history is gone.

use std::sync::LazyLock;

use redis_ssot::redis::{Script, Value};
use redis_ssot::{Error, RedisManager, StreamEntry, UserId};

use axum::extract::ws::Utf8Bytes;

use crate::events::{Event, EventKind};
use crate::ids::EventId;
use crate::keys;
use crate::notice;

// KEYS: user log, thread log, epoch, threads, titles, run dedupe, what the user said.
// ARGV: user cap, thread cap, fresh epoch, thread id, title, first seq, channel, the user's
// text ('' unless this batch holds the run's user_message), how many texts to keep (as
// '-N'), then the n events, then their n seq numbers.
//
// Every value handed to `redis.call` is a string: Redis formats a Lua number argument with
// `snprintf("%.17g")`, which was about 5% of the server's time per run.
const APPEND: &str = r#"
local n = (#ARGV - 9) / 2
local seqs = {}
for i = 1, n do seqs[i] = ARGV[9 + n + i] end
local ids = redis.call('HMGET', KEYS[6], unpack(seqs))
local missing = 0
for i = 1, n do
  if not ids[i] then missing = missing + 1 end
end
if missing == 0 then
  return {redis.call('GET', KEYS[3]) or '', unpack(ids)}
end
local epoch = redis.call('GET', KEYS[3])
local prev = ''
local tail = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', '1')
if tail[1] then
  prev = tail[1][1]
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  epoch = false
end
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[3], epoch)
end
local first_missing = not ids[1]
local note = {'b:', epoch, '\n', prev}
local written = {}
local newest
for i = 1, n do
  if not ids[i] then
    local e = ARGV[9 + i]
    local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', e)
    local same = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], id, 'e', e)
    if type(same) == 'table' and same.err then
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'e', e)
    end
    written[#written + 1] = seqs[i]
    written[#written + 1] = id
    ids[i] = id
    newest = id
    note[#note + 1] = '\n'
    note[#note + 1] = id
    note[#note + 1] = '\n'
    note[#note + 1] = e
  end
end
redis.call('HSET', KEYS[6], unpack(written))
redis.call('ZADD', KEYS[4], string.match(newest, '^(%d+)'), ARGV[4])
if ARGV[6] == '0' then
  redis.call('HSETNX', KEYS[5], ARGV[4], ARGV[5])
end
redis.call('PEXPIRE', KEYS[6], '86400000')
if ARGV[8] ~= '' and first_missing then
  redis.call('RPUSH', KEYS[7], ARGV[8])
  redis.call('LTRIM', KEYS[7], ARGV[9], '-1')
end
if missing == n then
  redis.call('PUBLISH', ARGV[7], table.concat(note))
else
  redis.call('PUBLISH', ARGV[7], 'e:' .. newest)
end
return {epoch, unpack(ids)}
"#;

static APPEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(APPEND));

/// Where an appended event landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The stream id, which is the event's `event_id`.
    pub id: String,
    /// The user log's epoch.
    pub epoch: String,
}

/// What a reconnecting client is told about its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayCheck {
    /// The current epoch (`None`: nothing was ever written, or the log is gone).
    pub epoch: Option<String>,
    /// The events after the client's position are not all there any more.
    pub lost: bool,
}

/// The event log of all users, on the one manager.
#[derive(Clone)]
pub struct EventLog {
    manager: RedisManager,
    user_max_len: u64,
    thread_max_len: u64,
}

impl EventLog {
    /// A log whose streams are capped at about `user_max_len` / `thread_max_len` entries.
    pub fn new(manager: RedisManager, user_max_len: u64, thread_max_len: u64) -> EventLog {
        EventLog {
            manager,
            user_max_len,
            thread_max_len,
        }
    }

    /// Appends `event` (the `seq`-th event of its run); see [`EventLog::append_all`].
    pub async fn append(&self, event: &Event, seq: u32) -> Result<Appended, Error> {
        let mut all = self.append_all(std::slice::from_ref(event), seq).await?;
        all.pop()
            .ok_or_else(|| Error::Decode("the append script returned no id".into()))
    }

    /// Appends `events` (the `first_seq`-th and following events of one run, all of one user
    /// and thread) to the user's and the thread's streams with one script call, and notifies
    /// every gateway with the events themselves ([`crate::notice`]). Appending the same
    /// `(run_id, seq)` again returns the first id and writes nothing, so a retried call is
    /// safe.
    pub async fn append_all(
        &self,
        events: &[Event],
        first_seq: u32,
    ) -> Result<Vec<Appended>, Error> {
        let Some(event) = events.first() else {
            return Ok(Vec::new());
        };
        let user = &UserId::new(&event.user_id)?;
        let title =
            crate::ids::Title::derive(event.text.as_deref().unwrap_or_default(), &event.thread_id);
        // The run's user message joins the thread's list of what the user said (the agent's
        // history) in the same script that stores it, so the two cannot disagree.
        let said = match event.kind {
            EventKind::UserMessage if first_seq == 0 => event.text.as_deref().unwrap_or_default(),
            _ => "",
        };
        let mut inv = APPEND_SCRIPT.prepare_invoke();
        inv.key(keys::user_log(user))
            .key(keys::thread_log(user, &event.thread_id))
            .key(keys::epoch(user))
            .key(keys::threads(user))
            .key(keys::titles(user))
            .key(keys::run_dedupe(user, &event.run_id))
            .key(keys::said(user, &event.thread_id))
            .arg(self.user_max_len)
            .arg(self.thread_max_len)
            .arg(crate::token::random_hex(8))
            .arg(&event.thread_id)
            .arg(title)
            .arg(first_seq)
            .arg(keys::notify_channel(user))
            .arg(said)
            .arg(format!("-{}", crate::agent::runner::HISTORY));
        for e in events {
            inv.arg(serde_json::to_string(e)?);
        }
        for seq in first_seq..first_seq + events.len() as u32 {
            inv.arg(seq);
        }
        let mut reply: Vec<String> = self.manager.invoke(&inv).await?;
        if reply.len() != events.len() + 1 {
            return Err(Error::Decode(format!(
                "the append script returned {} values for {} events",
                reply.len(),
                events.len()
            )));
        }
        let epoch = reply.remove(0);
        Ok(reply
            .into_iter()
            .map(|id| Appended {
                id,
                epoch: epoch.clone(),
            })
            .collect())
    }

    /// Up to `count` events of the user's log after `after` (from the start when `None`).
    pub async fn read_after(
        &self,
        user: &UserId,
        after: Option<EventId>,
        count: usize,
    ) -> Result<Vec<Event>, Error> {
        let start = after.map_or_else(|| "-".to_string(), |id| format!("({id}"));
        let entries = self
            .manager
            .xrange(&keys::user_log(user), &start, "+", count)
            .await?;
        decode_all(entries)
    }

    /// Like [`EventLog::read_after`], but each event as its id and wire text, without
    /// decoding it (what a socket sends).
    pub async fn read_wire_after(
        &self,
        user: &UserId,
        after: Option<EventId>,
        count: usize,
    ) -> Result<Vec<(EventId, Utf8Bytes)>, Error> {
        let start = after.map_or_else(|| "-".to_string(), |id| format!("({id}"));
        let entries = self
            .manager
            .xrange(&keys::user_log(user), &start, "+", count)
            .await?;
        entries
            .into_iter()
            .map(|(id, fields)| {
                let bad = || Error::Decode(format!("stream entry {id} is not an event"));
                let json = fields.iter().find(|(f, _)| f == "e").map(|(_, v)| v);
                let text = json
                    .and_then(|j| notice::wire_text(j, &id))
                    .ok_or_else(bad)?;
                Ok((EventId::parse(&id).ok_or_else(bad)?, text))
            })
            .collect()
    }

    /// The id of the newest event in the user's log.
    pub async fn head(&self, user: &UserId) -> Result<Option<EventId>, Error> {
        let last = self
            .manager
            .xrevrange(&keys::user_log(user), "+", "-", 1)
            .await?;
        Ok(last.first().and_then(|(id, _)| EventId::parse(id)))
    }

    /// The user log's current epoch, if anything was ever written.
    pub async fn epoch(&self, user: &UserId) -> Result<Option<String>, Error> {
        self.manager.get(&keys::epoch(user)).await
    }

    /// Whether a client that saw everything up to `last` (in epoch `client_epoch`) can be
    /// served the rest exactly: lost if the epoch changed, if entries after `last` were
    /// trimmed, or if the log is behind the client (it was recreated).
    pub async fn replay_check(
        &self,
        user: &UserId,
        last: EventId,
        client_epoch: Option<&str>,
    ) -> Result<ReplayCheck, Error> {
        let epoch = self.epoch(user).await?;
        let mut lost = client_epoch.is_some_and(|c| epoch.as_deref() != Some(c));
        let info = self
            .manager
            .cmd::<Value>(
                redis_ssot::redis::cmd("XINFO")
                    .arg("STREAM")
                    .arg(keys::user_log(user)),
            )
            .await;
        match info {
            Ok(v) => {
                let field = |name: &str| stream_info_id(&v, name);
                if field("last-generated-id").is_some_and(|g| last > g)
                    || field("max-deleted-entry-id").is_some_and(|d| d > last)
                {
                    lost = true;
                }
            }
            Err(Error::Redis { .. }) => lost |= last > EventId::default(),
            Err(e) => return Err(e),
        }
        Ok(ReplayCheck { epoch, lost })
    }
}

/// Decodes stream entries into events, setting each `event_id` from its entry id.
pub(crate) fn decode_all(entries: Vec<StreamEntry>) -> Result<Vec<Event>, Error> {
    entries
        .into_iter()
        .map(|(id, fields)| {
            let json = fields
                .into_iter()
                .find(|(f, _)| f == "e")
                .map(|(_, v)| v)
                .ok_or_else(|| Error::Decode(format!("stream entry {id} has no `e` field")))?;
            let mut event: Event = serde_json::from_str(&json)?;
            event.event_id = id;
            Ok(event)
        })
        .collect()
}

/// Reads an id-valued field from an XINFO STREAM reply (RESP2 flat array or RESP3 map).
fn stream_info_id(v: &Value, name: &str) -> Option<EventId> {
    let text = |v: &Value| match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    match v {
        Value::Array(items) => items
            .chunks(2)
            .find(|kv| text(&kv[0]).as_deref() == Some(name))
            .and_then(|kv| kv.get(1))
            .and_then(text)
            .and_then(|s| EventId::parse(&s)),
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| text(k).as_deref() == Some(name))
            .and_then(|(_, v)| text(v))
            .and_then(|s| EventId::parse(&s)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventKind, RunRef};
    use std::time::Duration;

    #[tokio::test]
    async fn a_retried_append_returns_the_first_ids_and_writes_only_what_is_new() {
        let server = testkit::RedisServer::start().expect("redis-server starts");
        let config = redis_ssot::Config::from_url(&server.url()).expect("url parses");
        let manager = RedisManager::connect(config).expect("valid config");
        manager
            .wait_ready(Duration::from_secs(5))
            .await
            .expect("ready");
        let log = EventLog::new(manager, 1000, 1000);
        let run = RunRef {
            user_id: "alice".into(),
            thread_id: "t1".into(),
            run_id: "r1".into(),
            agent_name: "demo".into(),
        };
        let mut events: Vec<Event> = [EventKind::UserMessage, EventKind::AgentStarted]
            .into_iter()
            .map(|k| run.event(k))
            .collect();
        events[0].text = Some("hello there".into());
        let first = log.append_all(&events, 0).await.expect("append");
        let again = log.append_all(&events, 0).await.expect("retried append");
        assert_eq!(again, first);

        // A retry that overlaps the stored events and adds one more writes only the new one.
        let mut more = events.clone();
        more.push(run.event(EventKind::AgentCompleted));
        let third = log.append_all(&more, 0).await.expect("overlapping append");
        assert_eq!(third[..2], first[..]);
        let user = UserId::new("alice").expect("valid user");
        let stored = log.read_after(&user, None, 100).await.expect("read");
        let ids: Vec<&str> = stored.iter().map(|e| e.event_id.as_str()).collect();
        let expected: Vec<&str> = third.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, expected);
        assert_eq!(stored[2].kind, EventKind::AgentCompleted);
        // What the user said is listed once for the agent, however often the append ran.
        let said: Vec<String> = log
            .manager
            .lrange(&keys::said(&user, "t1"), 0, -1)
            .await
            .expect("said");
        assert_eq!(said, ["hello there"]);
    }
}
