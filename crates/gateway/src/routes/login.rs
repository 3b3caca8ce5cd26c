//! `POST /api/login` and `POST /api/logout`.
//!
//! Login: rate limits first (per claimed username and per client IP, so neither one user's
//! guessers nor one address can hammer the authenticator), then the authenticator, then the
//! blacklist for the credential, then a new session. Logout: blacklist the credential the
//! session came from (a JWT, until its `exp`: it cannot log in again) and the session token,
//! delete the session, and close its open sockets on every instance with 1008.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::auth::LoginRequest;
use crate::error::ApiError;
use crate::extract::{ApiJson, Authed, ClientIp};
use crate::state::AppState;

/// `POST /api/login` → `{"token", "user_id", "expires_in"}`. Every attempt is counted in
/// `gateway_logins_total` with its outcome (see [`crate::metrics::count_login`]), a body that
/// could not be read included: a dashboard of logins that only counts successes hides an
/// attack.
pub async fn login(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Result<ApiJson<LoginRequest>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let answer = match body {
        Ok(ApiJson(req)) => attempt(&app, ip, &req).await,
        Err(e) => Err(e),
    };
    crate::metrics::count_login(match &answer {
        Ok(_) => crate::metrics::LoginOutcome::Ok,
        Err(e) => crate::metrics::LoginOutcome::of(e),
    });
    answer
}

/// One login attempt whose body was read.
async fn attempt(
    app: &AppState,
    ip: std::net::IpAddr,
    req: &LoginRequest,
) -> Result<Json<Value>, ApiError> {
    app.access()
        .check_login_rate(req.username.as_ref(), ip)
        .await?;
    let identity = app.authenticator().authenticate(req).await?;
    let mut revoked = false;
    for cred in identity.credential_id.iter().chain(req.token.iter()) {
        revoked |= app.access().is_revoked(cred).await?;
    }
    if revoked {
        return Err(ApiError::revoked());
    }
    let (token, session) = app.access().create_session(&identity).await?;
    tracing::info!(user = %session.user, session = %crate::token::fingerprint(&session.fingerprint), "login");
    let left_ms = session
        .expires_at_ms
        .saturating_sub(crate::events::now_ms());
    Ok(Json(json!({
        "token": token.as_str(),
        "user_id": session.user,
        "expires_in": left_ms / 1000,
        "expires_at_ms": session.expires_at_ms,
    })))
}

/// `POST /api/logout`.
pub async fn logout(State(app): State<AppState>, who: Authed) -> Result<Json<Value>, ApiError> {
    app.access().end_session(&who.token).await?;
    let closed = app
        .hub()
        .close_session(who.session.uid.encoded(), &who.session.fingerprint);
    let note = crate::notice::close_payload(&who.session.fingerprint);
    if let Err(e) = app
        .manager()
        .publish(&crate::keys::notify_channel(&who.session.uid), note)
        .await
    {
        tracing::warn!(error = %e, "logout notification not published; other instances close on their next check");
    }
    tracing::info!(user = %who.session.user, closed, "logout");
    Ok(Json(
        json!({ "logged_out": true, "closed_sockets_here": closed }),
    ))
}
