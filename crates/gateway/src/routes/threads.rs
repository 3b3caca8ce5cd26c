//! Threads and their events. A thread id is looked up only among the caller's own threads, so
//! another user's thread is a 404, indistinguishable from a thread that does not exist.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::eventlog::ThreadSummary;
use crate::events::Event;
use crate::extract::{ApiJson, Authed};
use crate::ids::{EventId, ThreadId};
use crate::state::AppState;

/// Most events one page of `/events` returns.
const PAGE: usize = 500;

/// `GET /api/threads`.
pub async fn list(State(app): State<AppState>, who: Authed) -> Result<Json<Value>, ApiError> {
    let threads: Vec<ThreadSummary> = app.log().threads(&who.session.uid).await?;
    Ok(Json(json!({ "threads": threads })))
}

/// The body of `POST /api/threads`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewThread {
    /// Client-chosen id; a random one when absent.
    #[serde(default)]
    id: Option<ThreadId>,
    /// A title; the id when absent.
    #[serde(default)]
    title: Option<String>,
}

/// `POST /api/threads`: creates (or re-announces) one of the caller's threads.
pub async fn create(
    State(app): State<AppState>,
    who: Authed,
    ApiJson(req): ApiJson<NewThread>,
) -> Result<Json<Value>, ApiError> {
    let id = req.id.map_or_else(
        || format!("t-{}", crate::token::random_hex(6)),
        String::from,
    );
    let title: String = req
        .title
        .unwrap_or_else(|| id.clone())
        .chars()
        .take(60)
        .collect();
    app.log()
        .create_thread(&who.session.uid, &id, &title)
        .await?;
    Ok(Json(json!({ "id": id, "title": title })))
}

/// The query of `/events`.
#[derive(Debug, Deserialize)]
pub struct After {
    /// Only events after this id (`<ms>-<seq>`).
    #[serde(default)]
    after: Option<String>,
}

#[derive(Serialize)]
struct EventsPage {
    thread_id: String,
    epoch: Option<String>,
    events: Vec<Event>,
}

/// `GET /api/threads/{id}/events?after=`.
pub async fn events(
    State(app): State<AppState>,
    who: Authed,
    Path(id): Path<String>,
    Query(q): Query<After>,
) -> Result<Json<Value>, ApiError> {
    let user = &who.session.uid;
    let id = ThreadId::parse(&id).map_err(ApiError::bad_request)?;
    if !app.log().thread_exists(user, id.as_str()).await? {
        return Err(ApiError::not_found(format!("no thread {id}")));
    }
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(raw) => Some(EventId::parse(raw).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`after` must be an event id like 1700000000000-0, got {raw:?}"
            ))
        })?),
    };
    let events = app
        .log()
        .thread_events(user, id.as_str(), after, PAGE)
        .await?;
    let page = EventsPage {
        thread_id: id.to_string(),
        epoch: app.log().epoch(user).await?,
        events,
    };
    Ok(Json(
        serde_json::to_value(page).map_err(ApiError::internal)?,
    ))
}
