//! Runs an agent for one user message and stores every event it produces.
//!
//! A run is detached from the socket that started it: if the socket closes, the run still
//! completes and its events are in the log for the next connection. Appends that fail because
//! Redis is unavailable are retried (the append is idempotent per `(run_id, seq)`) until Redis
//! is back or the retry deadline passes; the socket that started the run is told once with a
//! `redis_unavailable` error event, so a user never waits in silence.
//!
//! Events are appended in batches of what is ready. The agent is polled once before anything
//! is written: if it finishes then (the demo agent does), all its events go in one append
//! with one notification, and the run state is saved once, with the outcome. Otherwise
//! `user_message`, `agent_started` and any steps already reported go first (with a "running"
//! save), then whatever the agent has produced by the time the previous append returned.
//! Nothing waits to fill a batch, so batching adds no latency; it only turns six round trips
//! and six notifications per demo run into one.

use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use redis_ssot::{AgentState, UserId};

use super::{AgentInput, Step};
use crate::events::{ErrorCode, Event, EventKind, RunRef, error_event};
use crate::state::AppState;

/// One user message to answer.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The user's key-space id.
    pub uid: UserId,
    /// The user name (`user_id` of the events).
    pub user_id: String,
    /// The thread.
    pub thread_id: String,
    /// The user's text.
    pub text: String,
    /// The thread's earlier user messages if already read; `None`: the run reads them
    /// itself, retrying through an outage.
    pub history: Option<Vec<String>>,
    /// The run's place among the user's runs in flight, given back when it ends.
    pub lease: Option<redis_ssot::stores::Lease>,
}

/// Where the run reports problems only its own socket should see (never stored).
pub use crate::hub::ControlSender;

/// How many of the user's latest messages in the thread the agent is shown as history.
pub const HISTORY: usize = 20;

/// Starts a run in the background and returns its id at once.
pub fn spawn(app: AppState, mut req: RunRequest, control: ControlSender) -> String {
    let run_id = crate::token::random_hex(8);
    let run = RunRef {
        user_id: req.user_id.clone(),
        thread_id: req.thread_id.clone(),
        run_id: run_id.clone(),
        agent_name: app.agent().name().to_string(),
    };
    tokio::spawn(async move {
        let mut writer = Writer {
            app: app.clone(),
            run: run.clone(),
            control,
            seq: 0,
            told_unavailable: false,
            record: Record::NotYet,
            released: false,
        };
        let history = req.history.take();
        let outcome = execute(&app, &req, history, &mut writer).await;
        let ok = outcome.is_ok();
        crate::metrics::count_run(ok);
        // The outcome's save and the lease's release go out together (one round trip); a
        // run that finished on its first poll sent both with its append already.
        let record = async {
            match std::mem::replace(&mut writer.record, Record::Failed) {
                Record::NotYet => {
                    app.run_states().finished(&req.uid, &run, ok).await;
                }
                Record::Saved(state) => app.run_states().finish(&req.uid, &run, state, ok).await,
                Record::Ended(state, saved_ok) if saved_ok != ok => {
                    app.run_states().finish(&req.uid, &run, state, ok).await
                }
                Record::Ended(..) | Record::Failed => {}
            }
        };
        let release = async {
            if let Some(lease) = &req.lease
                && !writer.released
            {
                app.access().release_run(lease).await;
            }
        };
        tokio::join!(record, release);
        if let Err(message) = outcome {
            tracing::warn!(run_id = %run.run_id, %message, "run failed");
            let _ = writer
                .control
                .send(error_event(
                    ErrorCode::RunFailed,
                    message,
                    Some(&run.run_id),
                ))
                .await;
        }
    });
    run_id
}

async fn execute(
    app: &AppState,
    req: &RunRequest,
    history: Option<Vec<String>>,
    w: &mut Writer,
) -> Result<(), String> {
    let history = match history {
        Some(history) => history,
        None => w.history(&req.uid).await?,
    };
    let (tx, mut rx) = mpsc::channel(16);
    let input = AgentInput {
        user_id: req.user_id.clone(),
        thread_id: req.thread_id.clone(),
        run_id: w.run.run_id.clone(),
        text: req.text.clone(),
        history,
    };
    let mut first = w.run.event(EventKind::UserMessage);
    first.text = Some(req.text.clone());
    let mut ready = vec![first, w.run.event(EventKind::AgentStarted)];

    // Poll the agent once here before spawning it: an agent that finishes without waiting
    // (the demo agent always does) then has all its events in one append, one notification
    // and one run-state save, instead of two appends and a "running" save that is
    // overwritten a moment later. An agent that does wait is spawned and runs concurrently
    // with the first append, as before.
    let mut agent = app.agent().run(input, tx);
    if let Poll::Ready(result) = futures_util::poll!(agent.as_mut()) {
        while let Ok(step) = rx.try_recv() {
            ready.push(step_event(&w.run, step));
        }
        ready.push(final_event(&w.run, result));
        // Everything about the run is known now: its one append, the save of its outcome
        // and the lease's release go out together, one round trip for all three.
        let (run, lease) = (w.run.clone(), req.lease.clone());
        let save = app.run_states().finished(&req.uid, &run, true);
        let release = async {
            if let Some(lease) = &lease {
                app.access().release_run(lease).await;
            }
        };
        let (appended, saved, ()) = tokio::join!(w.append_all(ready), save, release);
        w.released = true;
        w.record = match saved {
            Some(state) => Record::Ended(state, true),
            None => Record::Failed,
        };
        return appended;
    }
    let mut work = tokio::spawn(agent);
    while let Ok(step) = rx.try_recv() {
        ready.push(step_event(&w.run, step));
    }
    let run = w.run.clone();
    let (appended, state) = tokio::join!(
        w.append_all(std::mem::take(&mut ready)),
        app.run_states().start(&req.uid, &run)
    );
    w.record = match state {
        Some(saved) => Record::Saved(saved),
        None => Record::Failed,
    };
    appended?;

    // Append whatever the agent has ready in one call; wait only when nothing is.
    let joined = loop {
        while let Ok(step) = rx.try_recv() {
            ready.push(step_event(&w.run, step));
        }
        if work.is_finished() {
            break (&mut work).await;
        }
        if !ready.is_empty() {
            w.append_all(std::mem::take(&mut ready)).await?;
            continue;
        }
        tokio::select! {
            Some(step) = rx.recv() => ready.push(step_event(&w.run, step)),
            joined = &mut work => break joined,
        }
    };
    // Steps are sent before the agent returns: all of them are in the channel now.
    while let Ok(step) = rx.try_recv() {
        ready.push(step_event(&w.run, step));
    }
    let result = joined.map_err(|e| format!("agent task failed: {e}"))?;
    ready.push(final_event(&w.run, result));
    w.append_all(ready).await
}

/// `agent_completed` with the reply, or `agent_failed` with the agent's error.
fn final_event(run: &RunRef, result: Result<String, String>) -> Event {
    let mut last = run.event(match result {
        Ok(_) => EventKind::AgentCompleted,
        Err(_) => EventKind::AgentFailed,
    });
    last.text = Some(result.unwrap_or_else(|e| e));
    last
}

fn step_event(run: &RunRef, step: Step) -> Event {
    match step {
        Step::Thinking(text) => {
            let mut e = run.event(EventKind::AgentThinking);
            e.text = Some(text);
            e
        }
        Step::ToolExecuting { tool_name, input } => {
            let mut e = run.event(EventKind::ToolExecuting);
            e.tool_name = Some(tool_name);
            e.results = None;
            e.text = Some(input.to_string());
            e
        }
        Step::ToolCompleted { tool_name, results } => {
            let mut e = run.event(EventKind::ToolCompleted);
            e.tool_name = Some(tool_name);
            e.results = Some(results);
            e
        }
    }
}

/// Appends a run's events in order, retrying through outages.
struct Writer {
    app: AppState,
    run: RunRef,
    control: ControlSender,
    seq: u32,
    told_unavailable: bool,
    /// What the run state store holds for the run so far.
    record: Record,
    /// The run's lease was given back already.
    released: bool,
}

/// The run's state in `AgentStateStore`, for recording how it ended.
enum Record {
    /// Nothing saved yet: the run ended before its first append (one save, of the outcome).
    NotYet,
    /// Saved as running; the outcome is saved over it (compare-and-set on its version).
    Saved(AgentState),
    /// The outcome was saved together with the run's only append, before knowing whether
    /// the append succeeded (`true`: saved as completed); corrected if it did not.
    Ended(AgentState, bool),
    /// The "running" save failed; the outcome is not recorded either (best effort).
    Failed,
}

impl Writer {
    async fn history(&mut self, uid: &UserId) -> Result<Vec<String>, String> {
        let (user, thread) = (uid.clone(), self.run.thread_id.clone());
        let threads = self.app.threads().clone();
        let events = self
            .retry(|| {
                let threads = threads.clone();
                let (user, thread) = (user.clone(), thread.clone());
                async move { threads.said(&user, &thread, HISTORY).await }
            })
            .await?;
        Ok(events)
    }

    /// Appends `events` (the next ones of the run, in order) with one call.
    async fn append_all(&mut self, events: Vec<Event>) -> Result<(), String> {
        if events.is_empty() {
            return Ok(());
        }
        let seq = self.seq;
        let log = self.app.log().clone();
        let events = std::sync::Arc::new(events);
        self.retry(|| {
            let (log, events) = (log.clone(), events.clone());
            async move { log.append_all(&events, seq).await }
        })
        .await?;
        self.seq += events.len() as u32;
        Ok(())
    }

    async fn retry<T, F, Fut>(&mut self, mut op: F) -> Result<T, String>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, redis_ssot::Error>>,
    {
        let deadline = Instant::now() + self.app.config().run_retry_deadline;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_unavailable() && Instant::now() < deadline => {
                    if !self.told_unavailable {
                        self.told_unavailable = true;
                        tracing::debug!(run_id = %self.run.run_id, error = %e, "run waits for redis");
                        let msg =
                            "Redis cannot serve right now; the run will continue when it is back";
                        let _ = self
                            .control
                            .send(error_event(
                                ErrorCode::RedisUnavailable,
                                msg,
                                Some(&self.run.run_id),
                            ))
                            .await;
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    let _ = self.app.manager().wait_ready(left).await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(format!("run {} stopped: {e}", self.run.run_id)),
            }
        }
    }
}
