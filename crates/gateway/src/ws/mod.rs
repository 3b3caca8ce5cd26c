//! `GET /ws`: the gated upgrade, then one task per socket.
//!
//! The gate runs as extractors **before** the upgrade, in this order: readiness
//! ([`Accepting`]: 503 + `Retry-After`), then the session ([`Authed`]: 401). So a socket is
//! never accepted and then closed with 1011 for a Redis reason; once open, an outage produces
//! `redis_unavailable` error events and the socket stays up.
//!
//! - `frames`: parsing client frames.
//! - `socket`: the per-socket loop (delivery by cursor, client frames, logout close).

pub mod frames;
mod socket;

use axum::extract::{Query, Request, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;

use crate::extract::{Accepting, Authed};
use crate::ids::EventId;
use crate::state::AppState;

/// The socket's read buffer. tungstenite's default (128 KiB) is allocated per socket and
/// zero-filled up to that size on every read attempt, which at thousands of sockets was a
/// quarter of the gateway's CPU and most of its memory per socket. Client frames are small;
/// a larger frame still arrives whole (the buffer grows to the frame's length).
const READ_BUFFER: usize = 4 * 1024;

/// Where a reconnecting client left off.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResumeQuery {
    /// The last event the client received.
    #[serde(default)]
    pub last_event_id: Option<String>,
    /// The epoch the client saw with it.
    #[serde(default)]
    pub epoch: Option<String>,
}

/// The resume point, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    /// Deliver what came after this id.
    pub last_event_id: Option<EventId>,
    /// The client's epoch.
    pub epoch: Option<String>,
}

/// The upgrade handler.
pub async fn upgrade(
    State(app): State<AppState>,
    _ready: Accepting,
    who: Authed,
    Query(q): Query<ResumeQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, crate::error::ApiError> {
    let last_event_id = match q.last_event_id.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(EventId::parse(raw).ok_or_else(|| {
            crate::error::ApiError::bad_request(format!("bad last_event_id {raw:?}"))
        })?),
    };
    let resume = Resume {
        last_event_id,
        epoch: q.epoch.filter(|e| !e.is_empty()),
    };
    // Generous transport limit; the protocol limit (`max_frame_bytes`) is enforced per frame
    // with an error event, so an oversized frame does not kill the socket.
    let transport_limit = app.config().max_frame_bytes.saturating_mul(16).max(1 << 20);
    // Register, then position, both before answering the upgrade (see `socket::Start`).
    let guard = app
        .hub()
        .register(who.session.uid.encoded(), &who.session.fingerprint);
    let start = socket::locate(&app, &who.session.uid, &resume).await;
    Ok(ws
        .max_message_size(transport_limit)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| socket::run(app, socket, who, resume, guard, start)))
}

/// Counts upgrades: accepted (101), or refused before the upgrade by reason.
pub async fn count_upgrades(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let reason = match resp.status() {
        StatusCode::SWITCHING_PROTOCOLS => {
            metrics::counter!(crate::metrics::WS_UPGRADES_ACCEPTED).increment(1);
            return resp;
        }
        StatusCode::SERVICE_UNAVAILABLE => "not_ready",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        _ => "other",
    };
    metrics::counter!(crate::metrics::WS_UPGRADES_REFUSED, "reason" => reason).increment(1);
    resp
}
