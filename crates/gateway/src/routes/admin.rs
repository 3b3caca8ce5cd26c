//! `POST /api/admin/reconnect` and `POST /api/admin/breaker/reset`: the operator controls.
//!
//! Routed only when an admin token is configured (`GatewayConfig::admin_token`); the
//! [`Admin`] extractor checks it in constant time.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::Admin;
use crate::state::AppState;

/// Make-before-break reconnect of the manager's connection; answers once the new connection
/// serves (503 if it could not be made; the old one then stays).
pub async fn reconnect(State(app): State<AppState>, _: Admin) -> Result<Json<Value>, ApiError> {
    tracing::warn!("admin: reconnect requested");
    app.manager().force_reconnect().await?;
    let status = app.manager().status();
    Ok(Json(json!({
        "ok": true,
        "connections_opened": status.connections_opened,
        "verdict": status.verdict(),
    })))
}

/// Closes the circuit breaker and clears its counts.
pub async fn reset_breaker(State(app): State<AppState>, _: Admin) -> Json<Value> {
    tracing::warn!("admin: circuit breaker reset requested");
    app.manager().reset_circuit_breaker();
    let status = app.manager().status();
    Json(json!({"ok": true, "breaker": status.breaker, "verdict": status.verdict()}))
}
