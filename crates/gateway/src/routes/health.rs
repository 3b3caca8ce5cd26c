//! Liveness, readiness, status and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;

use axum::http::request::Parts;

use crate::error::ApiError;
use crate::extract::Admin;
use crate::state::AppState;

/// `GET /healthz`: the process is alive (never touches Redis).
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 200 when the manager is ready, else 503 with `Retry-After`.
pub async fn readyz(State(app): State<AppState>) -> Result<&'static str, ApiError> {
    crate::extract::Accepting::check(&app)?;
    Ok("ready\n")
}

/// The gateway's own part of `/api/status`.
#[derive(Serialize)]
struct GatewayStatus {
    instance: String,
    auth_mode: &'static str,
    agent: String,
    open_sockets: usize,
    subscribed: bool,
    outage_control: bool,
}

/// The body of `/api/status`: the manager's `status()` with a `gateway` section added.
#[derive(Serialize)]
struct StatusBody {
    #[serde(flatten)]
    manager: redis_ssot::Status,
    /// One line for a person (`ready: ...`, `not ready (reason): ...`).
    verdict: String,
    gateway: GatewayStatus,
}

/// `GET /api/status`: the manager's status plus this instance's sockets and settings. Where
/// Redis lives (URL, server address, socket path) is shown only to the admin token.
pub async fn status(State(app): State<AppState>, parts: Parts) -> impl IntoResponse {
    let manager = app.manager().status();
    let manager = if Admin::present(&parts, &app) {
        manager
    } else {
        manager.without_addresses()
    };
    Json(StatusBody {
        verdict: manager.verdict(),
        manager,
        gateway: GatewayStatus {
            instance: app.instance().to_string(),
            auth_mode: app.authenticator().mode(),
            agent: app.agent().name().to_string(),
            open_sockets: app.hub().socket_count(),
            subscribed: app.hub().is_subscribed(),
            outage_control: app.outage_for_sessions(),
        },
    })
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    app.manager().refresh_gauges();
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        crate::metrics::render(),
    )
}
