//! `GET /ws`: the gated upgrade, then one task per socket.
//!
//! The gate runs as extractors **before** the upgrade, in this order: readiness
//! ([`Accepting`]: 503 + `Retry-After`), then the session ([`Authed`]: 401). So a socket is
//! never accepted and then closed with 1011 for a Redis reason; once open, an outage produces
//! `redis_unavailable` error events and the socket stays up.
//!
//! - `frames`: parsing client frames.
//! - `message`: one `user_message`: the checks before anything is stored, then the run.
//! - `socket`: the per-socket loop (delivery by cursor, client frames, logout close).

pub mod frames;
mod message;
mod socket;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Request, State, WebSocketUpgrade};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::extract::{Accepting, Authed, QueryParams};
use crate::ids::EventId;
use crate::state::AppState;

/// The socket's buffers, set on purpose (measured in `docs/BENCHMARKS.md`).
///
/// - Read: tungstenite's default (128 KiB) is allocated per socket up front and zero-filled
///   up to its size on every read attempt; at thousands of sockets that was a quarter of
///   the gateway's CPU and most of its memory per socket. Client frames are a few hundred
///   bytes; a larger frame still arrives whole (the buffer grows to the frame's length for
///   that frame).
/// - Write: frames are queued until a flush, and a run's events are fed together and
///   flushed once (one `write` per socket per batch), so the buffer must hold a batch;
///   past this size a feed writes at once. Its capacity stays at the largest batch a socket
///   was sent.
/// - Max write: what may pile up for a client that does not read; past it the send fails
///   and the socket is dropped rather than growing without bound.
pub const READ_BUFFER: usize = 1024;
/// See [`READ_BUFFER`].
pub const WRITE_BUFFER: usize = 16 * 1024;
/// See [`READ_BUFFER`].
pub const MAX_WRITE_BUFFER: usize = 1024 * 1024;

/// Where a reconnecting client left off, validated.
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
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, crate::error::ApiError> {
    let q = QueryParams::read(&uri, &["token", "last_event_id", "epoch"])?;
    let last_event_id = match q.get("last_event_id") {
        None => None,
        Some(raw) => Some(EventId::parse(raw).ok_or_else(|| {
            ApiError::bad_field(
                "last_event_id",
                format!("last_event_id must be an event id like 1700000000000-0, not {raw:?}"),
            )
        })?),
    };
    let resume = Resume {
        last_event_id,
        epoch: q.get("epoch").map(str::to_string),
    };
    let ws = ws.map_err(|_| {
        ApiError::bad_request(
            "/ws is a WebSocket: open it with a WebSocket client (the request asked for no upgrade to websocket)",
        )
    })?;

    let transport_limit = transport_limit(app.config());
    // Register, then position, both before answering the upgrade (see `socket::Start`).
    let guard = app
        .hub()
        .register(who.session.uid.encoded(), &who.session.fingerprint);
    let start = socket::locate(&app, &who.session.uid, &resume).await;
    Ok(ws
        .max_message_size(transport_limit)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade(move |socket| socket::run(app, socket, who, resume, guard, start)))
}

/// The largest message a socket reads at all: 16 times the protocol limit, at least 1 MiB.
/// Generous on purpose: a frame past the protocol limit (`max_frame_bytes`) gets a
/// `frame_too_large` error event and the socket stays open; only one past this limit, which
/// is not even read, closes the socket (1009, [`too_large_reason`]).
pub fn transport_limit(config: &crate::GatewayConfig) -> usize {
    config.max_frame_bytes.saturating_mul(16).max(1 << 20)
}

/// The close reason for a message past [`transport_limit`]: "message larger than 1 MiB".
pub fn too_large_reason(limit: usize) -> String {
    if limit.is_multiple_of(1 << 20) {
        format!("message larger than {} MiB", limit >> 20)
    } else {
        format!("message larger than {limit} bytes")
    }
}

/// Whether a read failed because the client's message is past [`transport_limit`]: decided
/// on the error's type (tungstenite's `Capacity`, the source of axum's error), never on its
/// text.
pub fn is_too_large(e: &axum::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<tungstenite::Error>())
        .is_some_and(|t| {
            matches!(
                t,
                tungstenite::Error::Capacity(
                    tungstenite::error::CapacityError::MessageTooLong { .. }
                )
            )
        })
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
