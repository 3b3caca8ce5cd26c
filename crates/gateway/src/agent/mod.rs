//! The agent interface: what a run gets and what it reports.
//!
//! An agent does not know about Redis or sockets. It receives the user's text and the
//! thread's earlier user messages, and reports its progress as [`Step`]s on a channel; the
//! [`runner`] turns the steps into stored events (`agent_started` first, `agent_completed`
//! last). A channel rather than a callback keeps the trait object-safe and lets the runner
//! retry an append during an outage without the agent noticing.

pub mod demo;
pub mod runner;

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use tokio::sync::mpsc;

/// The boxed future an agent's run returns (object-safe, `Send`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Everything an agent knows about one run.
#[derive(Debug, Clone)]
pub struct AgentInput {
    /// The user.
    pub user_id: String,
    /// The thread.
    pub thread_id: String,
    /// The run.
    pub run_id: String,
    /// The message that started the run.
    pub text: String,
    /// The thread's earlier user messages, oldest first (without `text`).
    pub history: Vec<String>,
}

/// One step of progress, reported while the agent works.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Reasoning about something (`agent_thinking`).
    Thinking(String),
    /// A tool call starts (`tool_executing`).
    ToolExecuting {
        /// Which tool.
        tool_name: String,
        /// Its input.
        input: Value,
    },
    /// A tool call ended (`tool_completed`).
    ToolCompleted {
        /// Which tool.
        tool_name: String,
        /// Its output.
        results: Value,
    },
}

/// Where an agent reports its steps.
pub type StepSender = mpsc::Sender<Step>;

/// A chat agent: the built-in [`demo::DemoAgent`], or a real LLM agent plugged in by the
/// caller through `GatewayConfig::agent`.
pub trait Agent: Send + Sync + 'static {
    /// The `agent_name` of every event of its runs.
    fn name(&self) -> &str;

    /// Works on `input`, reporting steps on `steps`, and returns the reply text (or an error
    /// message, which becomes an `agent_failed` event).
    fn run(
        &self,
        input: AgentInput,
        steps: StepSender,
    ) -> BoxFuture<'static, Result<String, String>>;
}
