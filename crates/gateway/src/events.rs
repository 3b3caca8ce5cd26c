//! The events a socket receives: agent events stored in the log, and control messages that
//! are never stored (`welcome`, `replay`, `error`).
//!
//! Stored events share one flat shape so that a client needs one decoder and the log needs
//! one field; optional fields are omitted rather than `null` so each type carries exactly
//! what the protocol documents for it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of stored events, in the order a run emits them (`user_message` first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The user's message that started the run.
    UserMessage,
    /// The agent accepted the run.
    AgentStarted,
    /// The agent is reasoning; `text` says about what.
    AgentThinking,
    /// A tool call began; carries `tool_name`.
    ToolExecuting,
    /// A tool call finished; carries `tool_name` and `results`.
    ToolCompleted,
    /// The run finished; `text` is the reply.
    AgentCompleted,
    /// The run failed for a reason other than Redis (for example the agent errored).
    AgentFailed,
}

impl EventKind {
    /// The wire name (`agent_started`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::UserMessage => "user_message",
            EventKind::AgentStarted => "agent_started",
            EventKind::AgentThinking => "agent_thinking",
            EventKind::ToolExecuting => "tool_executing",
            EventKind::ToolCompleted => "tool_completed",
            EventKind::AgentCompleted => "agent_completed",
            EventKind::AgentFailed => "agent_failed",
        }
    }
}

/// One stored event. `event_id` is the Redis stream id, filled in when read back, so the id a
/// client sees is exactly the position it can resume from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// Unix time in milliseconds at which the gateway created the event.
    pub timestamp: u64,
    /// The stream id; empty until the event has been appended.
    #[serde(default)]
    pub event_id: String,
    /// The owner of the thread.
    pub user_id: String,
    /// The thread the run belongs to.
    pub thread_id: String,
    /// The run (one user message and the agent's answer to it).
    pub run_id: String,
    /// The agent that handled the run.
    pub agent_name: String,
    /// Set on `tool_*` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// Set on `tool_completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Value>,
    /// The user's text, the agent's thought, or the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The fields every event of one run shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    /// The owner.
    pub user_id: String,
    /// The thread.
    pub thread_id: String,
    /// The run.
    pub run_id: String,
    /// The agent.
    pub agent_name: String,
}

impl RunRef {
    /// A new event of this run, stamped now.
    pub fn event(&self, kind: EventKind) -> Event {
        Event {
            kind,
            timestamp: now_ms(),
            event_id: String::new(),
            user_id: self.user_id.clone(),
            thread_id: self.thread_id.clone(),
            run_id: self.run_id.clone(),
            agent_name: self.agent_name.clone(),
            tool_name: None,
            results: None,
            text: None,
        }
    }
}

/// Unix milliseconds now (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Error codes sent in `{"type":"error","code":..}` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Redis could not serve the request now; the socket stays open and service resumes on
    /// recovery.
    RedisUnavailable,
    /// The frame was not valid JSON (or not a JSON object).
    MalformedFrame,
    /// The frame exceeded the size limit.
    FrameTooLarge,
    /// A field failed validation, or the message type is unknown.
    InvalidMessage,
    /// The message names a thread the user does not have (the same answer as REST's 404).
    NotFound,
    /// The user sends messages faster than the limit, or has too many runs in flight;
    /// `retry_after` says when to send again.
    RateLimited,
    /// The run could not be completed.
    RunFailed,
}

/// An `error` event for one socket, never stored. Built with the optional parts that apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorEvent {
    /// The code.
    pub code: ErrorCode,
    /// What happened, in plain words.
    pub message: String,
    /// The run it is about.
    pub run_id: Option<String>,
    /// The `client_ref` of the message it answers, so the client can tell which one.
    pub client_ref: Option<String>,
    /// The field of the message that is wrong.
    pub field: Option<&'static str>,
    /// When to try again.
    pub retry_after: Option<std::time::Duration>,
}

impl ErrorEvent {
    /// An error with `code` and `message` and nothing else.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorEvent {
        ErrorEvent {
            code,
            message: message.into(),
            run_id: None,
            client_ref: None,
            field: None,
            retry_after: None,
        }
    }

    /// The same, about `client_ref`'s message.
    pub fn for_ref(mut self, client_ref: Option<&str>) -> ErrorEvent {
        self.client_ref = client_ref.map(str::to_string);
        self
    }

    /// The wire form: `type`, `code`, `message`, `timestamp`, and `run_id`, `client_ref`,
    /// `field`, `retry_after` (whole seconds, rounded up) with `retry_after_ms` when set.
    pub fn to_value(&self) -> Value {
        let mut v = serde_json::json!({
            "type": "error",
            "code": self.code,
            "message": self.message,
            "timestamp": now_ms(),
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some(run) = &self.run_id {
                obj.insert("run_id".into(), Value::String(run.clone()));
            }
            if let Some(r) = &self.client_ref {
                obj.insert("client_ref".into(), Value::String(r.clone()));
            }
            if let Some(f) = self.field {
                obj.insert("field".into(), f.into());
            }
            if let Some(after) = self.retry_after {
                obj.insert("retry_after".into(), crate::error::retry_secs(after).into());
                obj.insert("retry_after_ms".into(), (after.as_millis() as u64).into());
            }
        }
        v
    }
}

/// A control message for one socket, never stored.
pub fn error_event(code: ErrorCode, message: impl Into<String>, run_id: Option<&str>) -> Value {
    let mut e = ErrorEvent::new(code, message);
    e.run_id = run_id.map(str::to_string);
    e.to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_completed_serializes_with_exactly_the_documented_fields() {
        let run = RunRef {
            user_id: "alice".into(),
            thread_id: "t1".into(),
            run_id: "r1".into(),
            agent_name: "demo".into(),
        };
        let mut e = run.event(EventKind::ToolCompleted);
        e.timestamp = 5;
        e.event_id = "1-0".into();
        e.tool_name = Some("calculator".into());
        e.results = Some(serde_json::json!({"value": 14}));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "type": "tool_completed", "timestamp": 5, "event_id": "1-0",
                "user_id": "alice", "thread_id": "t1", "run_id": "r1",
                "agent_name": "demo", "tool_name": "calculator",
                "results": {"value": 14}
            })
        );
    }

    #[test]
    fn error_events_carry_the_code_in_snake_case() {
        let v = error_event(ErrorCode::RedisUnavailable, "down", Some("r9"));
        assert_eq!(v["type"], "error");
        assert_eq!(v["code"], "redis_unavailable");
        assert_eq!(v["run_id"], "r9");
    }

    #[test]
    fn a_rate_limited_error_says_when_to_retry_in_seconds_and_milliseconds() {
        let mut e = ErrorEvent::new(ErrorCode::RateLimited, "slow down").for_ref(Some("m7"));
        e.retry_after = Some(std::time::Duration::from_millis(1_250));
        let v = e.to_value();
        assert_eq!(v["code"], "rate_limited");
        assert_eq!(v["client_ref"], "m7");
        assert_eq!(v["retry_after"], 2);
        assert_eq!(v["retry_after_ms"], 1_250);
        assert_eq!(v.get("run_id"), None);
    }
}
