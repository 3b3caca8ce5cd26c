//! Threads and their events. A thread id is looked up only among the caller's own threads, so
//! another user's thread is a 404, indistinguishable from a thread that does not exist.
//!
//! `GET /api/threads/{id}/events` pages through a thread: without a cursor it answers the
//! newest `limit` events; `before=<event_id>` the ones just older (scrolling back), and
//! `after=<event_id>` the ones just newer (catching up). Every page is oldest first and says
//! whether there is more each way (`has_older`, `has_newer`, and `has_more` for the way the
//! request went), with the cursors to continue (`before`, `after`).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::Uri;
use serde_json::{Value, json};

use crate::body::{FieldError, Fields, FromFields};
use crate::error::ApiError;
use crate::extract::{ApiJson, Authed, QueryParams};
use crate::history::{Cursor, Page};
use crate::ids::{EventId, ThreadId, Title};
use crate::state::AppState;

/// Events per page when the request does not say.
pub const DEFAULT_PAGE: usize = 100;

/// The most events one page returns.
pub const MAX_PAGE: usize = 500;

/// `GET /api/threads`.
pub async fn list(State(app): State<AppState>, who: Authed) -> Result<Json<Value>, ApiError> {
    let threads = app.threads().list(&who.session.uid).await?;
    Ok(Json(json!({ "threads": threads })))
}

/// The body of `POST /api/threads`: `{"id"?, "title"?}`.
#[derive(Debug)]
pub struct NewThread {
    /// Client-chosen id; a random one when absent.
    id: Option<ThreadId>,
    /// A title; when absent the thread's first message gives it one.
    title: Option<Title>,
}

impl FromFields for NewThread {
    fn from_fields(f: &mut Fields) -> Result<Self, FieldError> {
        let id = f
            .text("id")?
            .map(|v| {
                ThreadId::parse(&v)
                    .map_err(|m| FieldError::field("id", m.replacen("thread_id", "id", 1)))
            })
            .transpose()?;
        let title = f
            .text("title")?
            .map(|v| Title::parse(&v).map_err(|m| FieldError::field("title", m)))
            .transpose()?;
        Ok(NewThread { id, title })
    }
}

/// `POST /api/threads`: creates (or re-announces) one of the caller's threads; answers its
/// id and title (an existing thread keeps the title it has).
pub async fn create(
    State(app): State<AppState>,
    who: Authed,
    ApiJson(req): ApiJson<NewThread>,
) -> Result<Json<Value>, ApiError> {
    let id = req.id.map_or_else(
        || format!("t-{}", crate::token::random_hex(6)),
        String::from,
    );
    let title = app
        .threads()
        .create(&who.session.uid, &id, req.title.as_ref().map(Title::as_str))
        .await?;
    Ok(Json(json!({ "id": id, "title": title })))
}

/// `GET /api/threads/{id}/events?before=|after=&limit=`.
pub async fn events(
    State(app): State<AppState>,
    who: Authed,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let Path(raw) =
        path.map_err(|_| ApiError::bad_request("the thread id in the address could not be read"))?;
    let id = ThreadId::parse(&raw).map_err(|m| ApiError::bad_field("thread_id", m))?;
    let q = QueryParams::read(&uri, &["before", "after", "limit"])?;
    let cursor = match (event_id(&q, "before")?, event_id(&q, "after")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either before or after, not both",
            ));
        }
        (Some(b), None) => Cursor::Before(b),
        (None, Some(a)) => Cursor::After(a),
        (None, None) => Cursor::Newest,
    };
    let limit = match q.get("limit") {
        None => DEFAULT_PAGE,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::bad_field(
                    "limit",
                    format!("limit must be a whole number from 1 to {MAX_PAGE}, not {raw:?}"),
                )
            })?,
    };
    let user = &who.session.uid;
    let (exists, page, epoch) = tokio::join!(
        app.threads().exists(user, id.as_str()),
        app.threads().page(user, id.as_str(), cursor, limit),
        app.log().epoch(user)
    );
    if !exists? {
        return Err(ApiError::not_found(crate::history::no_such_thread(
            id.as_str(),
        )));
    }
    let Page {
        events,
        has_older,
        has_newer,
    } = page?;
    let first = events.first().map(|e| e.event_id.clone());
    let last = events.last().map(|e| e.event_id.clone());
    let after = last.or(match cursor {
        Cursor::After(a) => Some(a.to_string()),
        _ => None,
    });
    Ok(Json(json!({
        "thread_id": id,
        "epoch": epoch?,
        "events": events,
        "has_more": if matches!(cursor, Cursor::After(_)) { has_newer } else { has_older },
        "has_older": has_older,
        "has_newer": has_newer,
        "before": if has_older { first } else { None },
        "after": after,
    })))
}

fn event_id(q: &QueryParams, name: &'static str) -> Result<Option<EventId>, ApiError> {
    q.get(name)
        .map(|raw| {
            EventId::parse(raw).ok_or_else(|| {
                ApiError::bad_field(
                    name,
                    format!("{name} must be an event id like 1700000000000-0, not {raw:?}"),
                )
            })
        })
        .transpose()
}
