//! `POST /api/simulate-outage`: pauses the embedded Redis for a few seconds.
//!
//! Routed only when the caller gave an outage hook (see `GatewayConfig::outage`), so it
//! cannot exist against an external Redis. It needs a session, so a drive-by request cannot
//! stall a shared demo.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::Authed;
use crate::state::AppState;

/// Runs the hook and answers how long the pause lasts.
pub async fn simulate(State(app): State<AppState>, who: Authed) -> Result<Json<Value>, ApiError> {
    let hook = app
        .config()
        .outage
        .clone()
        .ok_or_else(|| ApiError::not_found("no embedded redis"))?;
    let pause = app.config().outage_duration;
    tracing::warn!(user = %who.session.user, ?pause, "simulating a redis outage");
    hook(pause);
    Ok(Json(json!({"paused_ms": pause.as_millis() as u64})))
}
