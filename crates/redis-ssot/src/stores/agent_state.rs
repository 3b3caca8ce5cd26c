//! `AgentStateStore`: the state of agent runs and the message history of their threads.
//!
//! Every key lives in the owner's space (`{u:<uid>}:...`), which gives two properties at once:
//! a user can only ever address their own runs (user B asking for user A's run id reads B's
//! space and gets `NotFound`), and all of a user's keys share one cluster slot, so the
//! multi-key scripts below stay legal in Redis Cluster.
//!
//! Why compare-and-set: two workers may drive one run (a retry, a duplicate delivery). Each
//! save names the version it read; the script writes only if that is still the stored version
//! and bumps it, so a stale writer gets `Error::Conflict` instead of silently overwriting.
//!
//! Why RPUSH + LTRIM for history and LRANGE to read: appends from concurrent writers never
//! lose each other, the cap bounds memory, and readers never mutate the list (no RPOP+LPUSH
//! round trips that could drop a message if the connection died in between).

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{now_ms, ttl_ms};
use crate::error::{Error, Result};
use crate::keys::{self, UserId};
use crate::manager::RedisManager;

/// CAS save: KEYS run, ctx, thread index; ARGV expected version, JSON, state TTL, thread id,
/// thread TTL, thread expiry score, run id, now, next version. Returns `{code, version}`:
/// 1 written, 0 version mismatch, -1 the run belongs to another thread.
///
/// Versions travel as decimal strings and are compared as strings (both sides write them
/// the same way): a Lua number passed to `redis.call` is formatted with `snprintf`, which
/// costs more than the HSET it feeds. Expired threads are trimmed from the index only when
/// this save adds a thread to it: an index then never holds more entries than the live
/// threads at the last addition (plus the one added), and `list_threads` trims before it
/// reads, so a save that only refreshes a known thread skips the ZREMRANGEBYSCORE.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local got = redis.call('HMGET', KEYS[1], 'v', 't')
local cur = got[1] or '0'
if cur ~= ARGV[1] then return {0, tonumber(cur)} end
if got[2] and got[2] ~= ARGV[4] then return {-1, tonumber(cur)} end
redis.call('HSET', KEYS[1], 'v', ARGV[9], 's', ARGV[2], 't', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[5])
if redis.call('ZADD', KEYS[3], ARGV[6], ARGV[4]) == 1 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[8])
end
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return {1, tonumber(ARGV[9])}
",
    )
});

/// KEYS run, ctx; ARGV run id, thread id. Deletes the run, and the thread context if it
/// points at this run. Returns 1 if the run existed.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], 't') ~= ARGV[2] then return 0 end
redis.call('UNLINK', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('UNLINK', KEYS[2]) end
return 1
",
    )
});

/// KEYS msgs, thread index; ARGV JSON, cap, thread TTL, thread expiry score, thread id, now.
/// Returns the history length after trimming.
static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return redis.call('LLEN', KEYS[1])
",
    )
});

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Created, not started.
    Pending,
    /// Being worked on.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Stopped on request.
    Cancelled,
}

/// The stored state of one run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentState {
    /// The run's id (a key segment: `[A-Za-z0-9_.@-]`).
    pub run_id: String,
    /// The user who owns the run.
    pub owner: UserId,
    /// The conversation thread the run belongs to (fixed for the run's life).
    pub thread_id: String,
    /// Life-cycle status.
    pub status: RunStatus,
    /// 0 before the first save; each save bumps it by one.
    pub version: u64,
    /// Application state.
    pub data: Value,
    /// First save, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// Last save, ms since the Unix epoch.
    pub updated_at_ms: u64,
}

impl AgentState {
    /// A new, unsaved run (version 0, `Pending`).
    pub fn new(
        run_id: impl Into<String>,
        owner: UserId,
        thread_id: impl Into<String>,
        data: Value,
    ) -> AgentState {
        AgentState {
            run_id: run_id.into(),
            owner,
            thread_id: thread_id.into(),
            status: RunStatus::Pending,
            version: 0,
            data,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }
}

/// Run state and thread history, confined to each owner's key space.
#[derive(Debug, Clone)]
pub struct AgentStateStore {
    manager: RedisManager,
    state_ttl: Duration,
    thread_ttl: Duration,
    history_cap: u32,
}

impl AgentStateStore {
    /// Default life of a run's state after its last save (24 h).
    pub const DEFAULT_STATE_TTL: Duration = Duration::from_secs(24 * 3600);
    /// Default life of a thread (history, context, index entry) after its last activity (7 d).
    pub const DEFAULT_THREAD_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
    /// Default number of newest messages kept per thread.
    pub const DEFAULT_HISTORY_CAP: u32 = 1000;

    /// A store with the default TTLs and history cap.
    pub fn new(manager: RedisManager) -> AgentStateStore {
        AgentStateStore {
            manager,
            state_ttl: Self::DEFAULT_STATE_TTL,
            thread_ttl: Self::DEFAULT_THREAD_TTL,
            history_cap: Self::DEFAULT_HISTORY_CAP,
        }
    }

    /// Sets the life of a run's state after each save.
    pub fn with_state_ttl(mut self, ttl: Duration) -> AgentStateStore {
        self.state_ttl = ttl;
        self
    }

    /// Sets the life of a thread after each activity.
    pub fn with_thread_ttl(mut self, ttl: Duration) -> AgentStateStore {
        self.thread_ttl = ttl;
        self
    }

    /// Keeps at most `cap` (≥ 1) newest messages per thread.
    pub fn with_history_cap(mut self, cap: u32) -> AgentStateStore {
        self.history_cap = cap.max(1);
        self
    }

    /// Saves `state` if the stored version still equals `state.version` (0: the run must not
    /// exist yet), and makes the run its thread's current run. Returns the saved state with
    /// the bumped version. `Forbidden` if `state.owner` is not `user`; `Conflict` if another
    /// writer saved first or the run belongs to another thread.
    pub async fn save(&self, user: &UserId, state: &AgentState) -> Result<AgentState> {
        if state.owner != *user {
            return Err(Error::Forbidden(format!(
                "run {} is owned by another user",
                state.run_id
            )));
        }
        let run_key = keys::agent_run(user, &state.run_id)?;
        let ctx_key = keys::thread_context(user, &state.thread_id)?;
        let now = now_ms();
        let mut next = state.clone();
        next.version = state.version + 1;
        next.updated_at_ms = now;
        if state.version == 0 {
            next.created_at_ms = now;
        }
        let thread_ttl = ttl_ms(self.thread_ttl);
        let json = serde_json::to_string(&next)?;
        let mut inv = SAVE.key(&run_key);
        inv.key(&ctx_key)
            .key(keys::thread_index(user))
            .arg(state.version)
            .arg(json)
            .arg(ttl_ms(self.state_ttl))
            .arg(&state.thread_id)
            .arg(thread_ttl)
            .arg(now.saturating_add(thread_ttl))
            .arg(&state.run_id)
            .arg(now)
            .arg(next.version);
        let (code, stored): (i64, u64) = self.manager.invoke(&inv).await?;
        match code {
            1 => Ok(next),
            0 => Err(Error::Conflict(format!(
                "run {}: saved from version {} but the stored version is {stored}",
                state.run_id, state.version
            ))),
            _ => Err(Error::Conflict(format!(
                "run {} belongs to another thread than {}",
                state.run_id, state.thread_id
            ))),
        }
    }

    /// Loads `user`'s run. A run that does not exist in `user`'s space is `NotFound`
    /// (whoever else may own a run with that id).
    pub async fn load(&self, user: &UserId, run_id: &str) -> Result<AgentState> {
        let key = keys::agent_run(user, run_id)?;
        let json: Option<String> = self.manager.hget(&key, "s").await?;
        let json = json.ok_or_else(|| Error::NotFound(format!("run {run_id}")))?;
        let state: AgentState = serde_json::from_str(&json)?;
        if state.owner != *user {
            return Err(Error::Forbidden(format!("run {run_id}")));
        }
        Ok(state)
    }

    /// Loads, changes the status, and saves with compare-and-set against `expected_version`.
    pub async fn update_status(
        &self,
        user: &UserId,
        run_id: &str,
        expected_version: u64,
        status: RunStatus,
    ) -> Result<AgentState> {
        let mut state = self.load(user, run_id).await?;
        if state.version != expected_version {
            return Err(Error::Conflict(format!(
                "run {run_id}: expected version {expected_version}, stored {}",
                state.version
            )));
        }
        state.status = status;
        self.save(user, &state).await
    }

    /// Deletes `user`'s run (and its thread's context if it points at this run). `NotFound`
    /// if there is no such run in `user`'s space.
    pub async fn delete(&self, user: &UserId, run_id: &str) -> Result<()> {
        let key = keys::agent_run(user, run_id)?;
        let thread: Option<String> = self.manager.hget(&key, "t").await?;
        let thread = thread.ok_or_else(|| Error::NotFound(format!("run {run_id}")))?;
        let mut inv = DELETE.key(&key);
        inv.key(keys::thread_context(user, &thread)?)
            .arg(run_id)
            .arg(&thread);
        match self.manager.invoke::<i64>(&inv).await? {
            1 => Ok(()),
            _ => Err(Error::NotFound(format!("run {run_id}"))),
        }
    }

    /// Appends `message` (as JSON) to the thread's history, trims it to the cap and refreshes
    /// the thread's TTL, atomically. Returns the history length.
    pub async fn append_message<T: Serialize>(
        &self,
        user: &UserId,
        thread_id: &str,
        message: &T,
    ) -> Result<u64> {
        let key = keys::thread_messages(user, thread_id)?;
        let now = now_ms();
        let thread_ttl = ttl_ms(self.thread_ttl);
        let mut inv = APPEND.key(&key);
        inv.key(keys::thread_index(user))
            .arg(serde_json::to_string(message)?)
            .arg(self.history_cap)
            .arg(thread_ttl)
            .arg(now.saturating_add(thread_ttl))
            .arg(thread_id)
            .arg(now);
        self.manager.invoke(&inv).await
    }

    /// Messages `start..=stop` of the thread (0 is the oldest kept; negative counts from the
    /// newest). Reading never changes the history.
    pub async fn messages<T: DeserializeOwned>(
        &self,
        user: &UserId,
        thread_id: &str,
        start: i64,
        stop: i64,
    ) -> Result<Vec<T>> {
        let key = keys::thread_messages(user, thread_id)?;
        let raws: Vec<String> = self.manager.lrange(&key, start, stop).await?;
        raws.iter()
            .map(|j| serde_json::from_str(j).map_err(Error::from))
            .collect()
    }

    /// How many messages the thread holds.
    pub async fn message_count(&self, user: &UserId, thread_id: &str) -> Result<u64> {
        self.manager
            .llen(&keys::thread_messages(user, thread_id)?)
            .await
    }

    /// Points the thread at `run_id` (done by `save` too).
    pub async fn set_thread_context(
        &self,
        user: &UserId,
        thread_id: &str,
        run_id: &str,
    ) -> Result<()> {
        keys::check_segment("run id", run_id)?;
        let key = keys::thread_context(user, thread_id)?;
        self.manager.set_ex(&key, run_id, self.thread_ttl).await
    }

    /// The thread's current run id, if any.
    pub async fn thread_context(&self, user: &UserId, thread_id: &str) -> Result<Option<String>> {
        self.manager
            .get(&keys::thread_context(user, thread_id)?)
            .await
    }

    /// `user`'s live threads, most recently active first.
    pub async fn list_threads(&self, user: &UserId) -> Result<Vec<String>> {
        let index = keys::thread_index(user);
        self.manager
            .zrem_range_by_score(&index, f64::NEG_INFINITY, now_ms() as f64)
            .await?;
        let mut threads: Vec<(String, f64)> = self.manager.zrange_withscores(&index, 0, -1).await?;
        threads.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(threads.into_iter().map(|(t, _)| t).collect())
    }

    /// Deletes a thread's history, context and index entry (not its runs), atomically.
    pub async fn delete_thread(&self, user: &UserId, thread_id: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("UNLINK")
            .arg(keys::thread_messages(user, thread_id)?)
            .arg(keys::thread_context(user, thread_id)?)
            .ignore()
            .zrem(keys::thread_index(user), thread_id)
            .ignore();
        self.manager.pipeline::<()>(&pipe).await
    }
}
