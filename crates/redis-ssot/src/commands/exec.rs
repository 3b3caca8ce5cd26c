//! Pipelines, Lua scripts, SCAN, the generic `cmd()` escape hatch and dedicated connections.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use futures_util::Stream;
use redis::FromRedisValue;

use crate::chokepoint::Source;
use crate::connection::Conn;
use crate::error::Result;
use crate::manager::RedisManager;
use crate::metrics::{Op, op, op_of};

/// A stream of keys from SCAN (see [`RedisManager::scan_match`]).
pub type ScanStream = std::pin::Pin<Box<dyn Stream<Item = Result<String>> + Send>>;

impl RedisManager {
    /// Runs a pipeline; `pipe.atomic()` makes it MULTI/EXEC. On `Ok` every command ran; any
    /// failure is an `Err`. For a non-atomic pipeline cut off mid-way by a connection failure
    /// the server may have applied a prefix of it: use an atomic pipeline (or a script) when
    /// that matters.
    pub async fn pipeline<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T> {
        let timeout = self.inner.config.command_timeout;
        self.run(op!("PIPELINE"), timeout, move |mut c| async move {
            let r = pipe.query_async(&mut c).await;
            (c, r)
        })
        .await
    }

    /// Runs a Lua script invocation (EVALSHA, falling back to EVAL on NOSCRIPT, so scripts
    /// survive a server restart that emptied the script cache).
    pub async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T> {
        let timeout = self.inner.config.command_timeout;
        self.run(op!("EVALSHA"), timeout, move |mut c| async move {
            let r = invocation.invoke_async(&mut c).await;
            (c, r)
        })
        .await
    }

    /// The generic escape hatch: any command, through the same choke point.
    pub async fn cmd<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        let timeout = self.inner.config.command_timeout;
        self.run(op_of(cmd), timeout, move |mut c| async move {
            let r = cmd.query_async(&mut c).await;
            (c, r)
        })
        .await
    }

    /// A blocking command (XREAD BLOCK, BRPOP, WAIT, ...) on a dedicated connection, with a
    /// deadline of `block` plus the configured margin.
    pub async fn cmd_blocking<T: FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        block: Duration,
    ) -> Result<T> {
        let deadline = block + self.inner.config.blocking_margin;
        self.run_on(
            Source::Dedicated,
            op_of(cmd),
            deadline,
            move |mut c| async move {
                let r = cmd.query_async(&mut c).await;
                (c, r)
            },
        )
        .await
    }

    /// Runs `f` on a dedicated connection (for WATCH/MULTI/EXEC sequences), through the choke
    /// point, with the command deadline covering the whole of `f`.
    pub async fn with_dedicated<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let timeout = self.inner.config.command_timeout;
        self.run_on(
            Source::Dedicated,
            Op::lookup(op.as_bytes()),
            timeout,
            move |c| {
                let keep = c.clone();
                async move { (keep, f(c).await) }
            },
        )
        .await
    }

    /// One SCAN step: returns the next cursor and a batch of keys.
    pub async fn scan_step(
        &self,
        cursor: u64,
        pattern: &str,
        count: usize,
    ) -> Result<(u64, Vec<String>)> {
        super::check_key(pattern)?;
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count.max(1));
        self.query(op!("SCAN"), cmd).await
    }

    /// SCAN with MATCH/COUNT as a stream of keys (never KEYS). A key may appear twice if the
    /// key space is resized mid-scan (SCAN's own guarantee); every key that exists for the
    /// whole scan appears at least once. An error ends the stream after yielding it.
    pub fn scan_match(&self, pattern: &str, count: usize) -> ScanStream {
        struct St {
            mgr: RedisManager,
            pattern: String,
            count: usize,
            cursor: u64,
            buf: VecDeque<String>,
            done: bool,
        }
        let start = St {
            mgr: self.clone(),
            pattern: pattern.to_string(),
            count,
            cursor: 0,
            buf: VecDeque::new(),
            done: false,
        };
        Box::pin(futures_util::stream::unfold(start, |mut st| async move {
            loop {
                if let Some(k) = st.buf.pop_front() {
                    return Some((Ok(k), st));
                }
                if st.done {
                    return None;
                }
                match st.mgr.scan_step(st.cursor, &st.pattern, st.count).await {
                    Ok((next, keys)) => {
                        st.cursor = next;
                        st.done = next == 0;
                        st.buf.extend(keys);
                    }
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
            }
        }))
    }

    /// Deletes every key matching `pattern` with SCAN + UNLINK in batches of about `batch`;
    /// returns how many keys were removed. Errors stop the sweep and are returned.
    pub async fn unlink_matching(&self, pattern: &str, batch: usize) -> Result<u64> {
        let mut cursor = 0u64;
        let mut removed = 0u64;
        loop {
            let (next, keys) = self.scan_step(cursor, pattern, batch).await?;
            if !keys.is_empty() {
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                removed += self.unlink(&refs).await?;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }
}
