//! `POST /api/simulate-outage`: pauses the embedded Redis for a few seconds.
//!
//! Routed only when the caller gave an outage hook (see `GatewayConfig::outage`), so it
//! cannot exist against an external Redis. Who may call it: any session in demo login mode
//! (the page's control), only the admin token with a real authenticator
//! ([`OutageCaller`]). Whoever calls it, one outage runs at a time for the whole gateway, with
//! a cooldown after it ([`crate::outage::OutageGate`]): a 429 with `Retry-After` otherwise.
//! The route takes no body ([`NoBody`]): a duration sent by the client is refused, not
//! silently ignored.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::{ApiError, retry_secs};
use crate::extract::{NoBody, OutageCaller};
use crate::outage::Refusal;
use crate::state::AppState;

/// Runs the hook and answers how long the pause lasts.
pub async fn simulate(
    State(app): State<AppState>,
    OutageOpen: OutageOpen,
    who: OutageCaller,
    NoBody: NoBody,
) -> Result<Json<Value>, ApiError> {
    let hook = app
        .config()
        .outage
        .clone()
        .ok_or_else(|| ApiError::not_found("no embedded redis"))?;
    let pause = app.config().outage_duration;
    app.outage_gate().try_start(pause).map_err(refused)?;
    tracing::warn!(by = who.name(), ?pause, "simulating a redis outage");
    hook(pause);
    Ok(Json(json!({
        "paused_ms": pause.as_millis() as u64,
        "cooldown_ms": app.config().outage_cooldown.as_millis() as u64,
    })))
}

/// The gate is open (checked before the caller is authenticated; see
/// [`crate::outage::OutageGate::check`]).
pub struct OutageOpen;

impl axum::extract::FromRequestParts<AppState> for OutageOpen {
    type Rejection = ApiError;

    async fn from_request_parts(
        _: &mut axum::http::request::Parts,
        app: &AppState,
    ) -> Result<Self, ApiError> {
        app.outage_gate().check().map_err(refused)?;
        Ok(OutageOpen)
    }
}

fn refused(r: Refusal) -> ApiError {
    let next = retry_secs(r.retry_after());
    match r {
        Refusal::Running { ends_in, .. } => ApiError::busy(
            "outage_running",
            format!(
                "a simulated outage is already running (Redis resumes in {} s); the next one can start in {next} s",
                retry_secs(ends_in)
            ),
            r.retry_after(),
        ),
        Refusal::CoolingDown { .. } => ApiError::busy(
            "outage_cooldown",
            format!("a simulated outage ended a moment ago; the next one can start in {next} s"),
            r.retry_after(),
        ),
    }
}
