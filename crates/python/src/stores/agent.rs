//! `AgentStateStore`: agent run state with compare-and-set, and thread history.
//!
//! A run's state is a dict: `run_id`, `owner`, `thread_id`, `status` (`pending`, `running`,
//! `completed`, `failed`, `cancelled`), `version` (0 before the first save), `data` (JSON),
//! `created_at_ms`, `updated_at_ms`. `save` writes only if the stored version still equals
//! `version` and returns the state with the bumped version; a lost race is `Conflict`.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use redis_ssot::{AgentState, RunStatus, UserId};
use serde_json::Value as Json;

use super::{Handle, later, py_none, py_u64, user_id, user_id_py};
use crate::args::{to_text, type_name};
use crate::client::duration;
use crate::errors::{type_error, value_error};

const STATUSES: &str = "pending, running, completed, failed or cancelled";

fn status_of(s: &str) -> PyResult<RunStatus> {
    Ok(match s {
        "pending" => RunStatus::Pending,
        "running" => RunStatus::Running,
        "completed" => RunStatus::Completed,
        "failed" => RunStatus::Failed,
        "cancelled" => RunStatus::Cancelled,
        other => {
            return Err(value_error(format!(
                "status must be {STATUSES}, not {other:?}"
            )));
        }
    })
}

fn status_name(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Pending => "pending",
        RunStatus::Running => "running",
        RunStatus::Completed => "completed",
        RunStatus::Failed => "failed",
        RunStatus::Cancelled => "cancelled",
    }
}

fn state_dict(py: Python<'_>, s: &AgentState) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("run_id", &s.run_id)?;
    d.set_item("owner", user_id_py(py, &s.owner))?;
    d.set_item("thread_id", &s.thread_id)?;
    d.set_item("status", status_name(s.status))?;
    d.set_item("version", s.version)?;
    d.set_item("data", crate::json::to_py(py, &s.data)?)?;
    d.set_item("created_at_ms", s.created_at_ms)?;
    d.set_item("updated_at_ms", s.updated_at_ms)?;
    Ok(d.into_any().unbind())
}

fn field<'py>(d: &Bound<'py, PyDict>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(d.get_item(name)?.filter(|v| !v.is_none()))
}

fn whole(d: &Bound<'_, PyDict>, name: &str) -> PyResult<u64> {
    match field(d, name)? {
        None => Ok(0),
        Some(v) => v.extract::<u64>().map_err(|_| {
            type_error(format!(
                "state[{name:?}] must be a non-negative int, not {}",
                type_name(&v)
            ))
        }),
    }
}

/// A state dict (as `new_state` or `load` returns it) as the Rust record.
fn state_from(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<AgentState> {
    let d = v.cast::<PyDict>().map_err(|_| {
        type_error(format!(
            "state must be a dict (from new_state or load), not {}",
            type_name(v)
        ))
    })?;
    let text = |name: &str| -> PyResult<String> {
        let v = field(d, name)?.ok_or_else(|| value_error(format!("state has no {name:?}")))?;
        to_text(&v, &format!("state[{name:?}]"))
    };
    let owner = field(d, "owner")?.ok_or_else(|| value_error("state has no \"owner\""))?;
    let status = match field(d, "status")? {
        Some(s) => status_of(&to_text(&s, "state[\"status\"]")?)?,
        None => RunStatus::Pending,
    };
    let data = match field(d, "data")? {
        Some(v) => crate::json::from_py(&v, "state[\"data\"]")?,
        None => Json::Object(Default::default()),
    };
    let mut state = AgentState::new(
        text("run_id")?,
        user_id(py, &owner)?,
        text("thread_id")?,
        data,
    );
    state.status = status;
    state.version = whole(d, "version")?;
    state.created_at_ms = whole(d, "created_at_ms")?;
    state.updated_at_ms = whole(d, "updated_at_ms")?;
    Ok(state)
}

/// Run state and thread history, confined to each owner's key space.
#[pyclass(frozen, module = "redis_ssot._native", name = "AgentStateStore")]
pub(crate) struct AgentStateStore {
    handle: Handle,
    state_ttl: Duration,
    thread_ttl: Duration,
    history_cap: u32,
}

impl AgentStateStore {
    fn store(&self, py: Python<'_>) -> PyResult<redis_ssot::AgentStateStore> {
        Ok(redis_ssot::AgentStateStore::new(self.handle.manager(py)?)
            .with_state_ttl(self.state_ttl)
            .with_thread_ttl(self.thread_ttl)
            .with_history_cap(self.history_cap))
    }

    fn user_and_text(
        &self,
        py: Python<'_>,
        user: &Bound<'_, PyAny>,
        text: &Bound<'_, PyAny>,
        what: &str,
    ) -> PyResult<(redis_ssot::AgentStateStore, UserId, String)> {
        Ok((self.store(py)?, user_id(py, user)?, to_text(text, what)?))
    }
}

fn state_reply(py: Python<'_>, s: AgentState) -> PyResult<Py<PyAny>> {
    state_dict(py, &s)
}

#[pymethods]
impl AgentStateStore {
    /// A store on `manager`: run state lives `state_ttl` seconds after each save (24 h), a
    /// thread `thread_ttl` after its last activity (7 days), with at most `history_cap`
    /// messages.
    #[new]
    #[pyo3(signature = (manager, *, state_ttl = 86400.0, thread_ttl = 604800.0, history_cap = 1000))]
    fn new(
        manager: &Bound<'_, PyAny>,
        state_ttl: f64,
        thread_ttl: f64,
        history_cap: u32,
    ) -> PyResult<AgentStateStore> {
        Ok(AgentStateStore {
            handle: Handle::of(manager)?,
            state_ttl: duration(state_ttl, "state_ttl")?,
            thread_ttl: duration(thread_ttl, "thread_ttl")?,
            history_cap: history_cap.max(1),
        })
    }

    /// A new, unsaved run state (version 0, `pending`).
    #[staticmethod]
    #[pyo3(signature = (run_id, owner, thread_id, data = None))]
    fn new_state(
        py: Python<'_>,
        run_id: &Bound<'_, PyAny>,
        owner: &Bound<'_, PyAny>,
        thread_id: &Bound<'_, PyAny>,
        data: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let data = match data {
            Some(d) => crate::json::from_py(d, "data")?,
            None => Json::Object(Default::default()),
        };
        let s = AgentState::new(
            to_text(run_id, "run_id")?,
            user_id(py, owner)?,
            to_text(thread_id, "thread_id")?,
            data,
        );
        state_dict(py, &s)
    }

    /// Saves `state` for `user_id` if the stored version still equals `state["version"]`:
    /// the saved state with the bumped version. `Forbidden` if `user_id` is not the owner,
    /// `Conflict` if another writer saved first.
    fn save(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        state: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, state) = (
            self.store(py)?,
            super::user_id(py, user_id)?,
            state_from(py, state)?,
        );
        self.handle.spawn(py, async move {
            Ok(later(store.save(&user, &state).await?, state_reply))
        })
    }

    /// `user_id`'s run: its state, or `NotFound`.
    fn load(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        run_id: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, run) = self.user_and_text(py, user_id, run_id, "run_id")?;
        self.handle.spawn(py, async move {
            Ok(later(store.load(&user, &run).await?, state_reply))
        })
    }

    /// Sets the status with compare-and-set against `expected_version`.
    fn update_status(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        run_id: &Bound<'_, PyAny>,
        expected_version: u64,
        status: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, run) = self.user_and_text(py, user_id, run_id, "run_id")?;
        let status = status_of(&to_text(status, "status")?)?;
        self.handle.spawn(py, async move {
            Ok(later(
                store
                    .update_status(&user, &run, expected_version, status)
                    .await?,
                state_reply,
            ))
        })
    }

    /// Deletes `user_id`'s run; `NotFound` if there is none.
    fn delete(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        run_id: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, run) = self.user_and_text(py, user_id, run_id, "run_id")?;
        self.handle.spawn(py, async move {
            store.delete(&user, &run).await?;
            Ok(later((), py_none))
        })
    }

    /// Appends `message` (JSON) to the thread's history: the history's length.
    fn append_message(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        thread_id: &Bound<'_, PyAny>,
        message: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, thread) = self.user_and_text(py, user_id, thread_id, "thread_id")?;
        let message = crate::json::from_py(message, "message")?;
        self.handle.spawn(py, async move {
            Ok(later(
                store.append_message(&user, &thread, &message).await?,
                py_u64,
            ))
        })
    }

    /// Messages `start..=stop` of the thread (0 is the oldest kept; negative from the end).
    #[pyo3(signature = (user_id, thread_id, start = 0, stop = -1))]
    fn messages(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        thread_id: &Bound<'_, PyAny>,
        start: i64,
        stop: i64,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, thread) = self.user_and_text(py, user_id, thread_id, "thread_id")?;
        self.handle.spawn(py, async move {
            let all: Vec<Json> = store.messages(&user, &thread, start, stop).await?;
            Ok(later(all, |py, all| {
                let list = PyList::empty(py);
                for m in &all {
                    list.append(crate::json::to_py(py, m)?)?;
                }
                Ok(list.into_any().unbind())
            }))
        })
    }

    /// How many messages the thread holds.
    fn message_count(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        thread_id: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, thread) = self.user_and_text(py, user_id, thread_id, "thread_id")?;
        self.handle.spawn(py, async move {
            Ok(later(store.message_count(&user, &thread).await?, py_u64))
        })
    }

    /// Points the thread at `run_id` (`save` does it too).
    fn set_thread_context(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        thread_id: &Bound<'_, PyAny>,
        run_id: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, thread) = self.user_and_text(py, user_id, thread_id, "thread_id")?;
        let run = to_text(run_id, "run_id")?;
        self.handle.spawn(py, async move {
            store.set_thread_context(&user, &thread, &run).await?;
            Ok(later((), py_none))
        })
    }

    /// The thread's current run id, or `None`.
    fn thread_context(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        thread_id: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, thread) = self.user_and_text(py, user_id, thread_id, "thread_id")?;
        self.handle.spawn(py, async move {
            let run = store.thread_context(&user, &thread).await?;
            Ok(later(run, |py, run| match run {
                Some(r) => Ok(PyString::new(py, &r).into_any().unbind()),
                None => Ok(py.None()),
            }))
        })
    }

    /// `user_id`'s live threads, most recently active first.
    fn list_threads(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let (store, user) = (self.store(py)?, super::user_id(py, user_id)?);
        self.handle.spawn(py, async move {
            Ok(later(store.list_threads(&user).await?, |py, t| {
                Ok(PyList::new(py, t)?.into_any().unbind())
            }))
        })
    }

    /// Deletes a thread's history, context and index entry (not its runs).
    fn delete_thread(
        &self,
        py: Python<'_>,
        user_id: &Bound<'_, PyAny>,
        thread_id: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (store, user, thread) = self.user_and_text(py, user_id, thread_id, "thread_id")?;
        self.handle.spawn(py, async move {
            store.delete_thread(&user, &thread).await?;
            Ok(later((), py_none))
        })
    }
}
