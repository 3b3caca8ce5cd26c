//! Extractors: parsing and checks that run before a handler, so handlers stay short.
//!
//! - [`ApiJson`]: a JSON body whose rejections are JSON errors, not axum's plain text.
//! - [`ClientIp`]: the peer address (or `X-Forwarded-For` when configured to trust it).
//! - [`Authed`]: a live, non-revoked session from the `Authorization` header or `?token=`.
//! - [`Accepting`]: the readiness gate in front of the WebSocket upgrade.
//! - [`Admin`]: the operator's admin token.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::access::Session;
use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body; malformed or invalid bodies are a 400 (415 without a JSON content type)
/// with a JSON error that quotes serde's message (which names the field).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                let mut err = ApiError::bad_request(rejection.body_text());
                if matches!(rejection, JsonRejection::MissingJsonContentType(_)) {
                    err.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
                }
                Err(err)
            }
        }
    }
}

/// The client's IP address, for per-IP rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        if app.config().trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Ok(ClientIp(ip));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(peer.unwrap_or(IpAddr::from([0, 0, 0, 0]))))
    }
}

/// The bearer token of a request: `Authorization: Bearer <t>`, else `?token=<t>` (browsers
/// cannot set headers on a WebSocket).
pub fn bearer_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    {
        return Some(t.trim().to_string());
    }
    parts.uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "token")
            .map(|(_, v)| v.to_string())
    })
}

/// A request with a valid, non-revoked session.
#[derive(Debug, Clone)]
pub struct Authed {
    /// The session.
    pub session: Session,
    /// The raw token (needed by logout).
    pub token: String,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts).ok_or_else(|| {
            ApiError::unauthorized("missing token: send `Authorization: Bearer <token>`")
        })?;
        let session = app
            .access()
            .authenticate(&token)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown, expired or revoked token"))?;
        Ok(Authed { session, token })
    }
}

/// A request carrying the operator's admin token. 404 when no token is configured (the admin
/// routes do not exist then), 401 for a missing or wrong one.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl Admin {
    /// Whether the request carries the admin token (for answers that show more to it).
    pub fn present(parts: &Parts, app: &AppState) -> bool {
        match (&app.config().admin_token, bearer_header(parts)) {
            (Some(token), Some(presented)) => token.matches(&presented),
            _ => false,
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        if app.config().admin_token.is_none() {
            return Err(ApiError::not_found("no such route"));
        }
        if Admin::present(parts, app) {
            Ok(Admin)
        } else {
            Err(ApiError::unauthorized(
                "admin token required: send `Authorization: Bearer <admin token>`",
            ))
        }
    }
}

/// The `Authorization: Bearer` header only (never `?token=`: an admin token must not end up
/// in access logs).
fn bearer_header(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(|t| t.trim().to_string())
}

/// The readiness gate: refuses with 503 and `Retry-After` unless Redis is ready and this
/// instance is subscribed to notifications, so no socket is accepted that would then have to
/// be closed for a Redis reason.
#[derive(Debug, Clone, Copy)]
pub struct Accepting;

impl FromRequestParts<AppState> for Accepting {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        Accepting::check(app)
    }
}

impl Accepting {
    /// The gate itself, for handlers that are not upgrades (`/readyz`).
    pub fn check(app: &AppState) -> Result<Accepting, ApiError> {
        if app.accepting() {
            return Ok(Accepting);
        }
        let status = app.manager().status().without_addresses();
        let retry = if status.breaker.state == redis_ssot::BreakerState::Open {
            app.manager().config().breaker_cooldown
        } else {
            Duration::from_secs(1)
        };
        let why = if status.ready {
            "this gateway's notification subscription is not confirmed yet".to_string()
        } else {
            status.verdict()
        };
        Err(ApiError::unavailable(why, retry))
    }
}
