//! Extractors: parsing and checks that run before a handler, so handlers stay short.
//!
//! - [`ApiJson`]: a JSON body read field by field ([`crate::body`]), refused in plain words.
//! - [`QueryParams`]: the query string, refusing parameters a route does not take.
//! - [`ClientIp`]: the peer address (or `X-Forwarded-For` when configured to trust it).
//! - [`Authed`]: a live, non-revoked session from the `Authorization` header or `?token=`.
//! - [`Accepting`]: the readiness gate in front of the WebSocket upgrade.
//! - [`Admin`]: the operator's admin token.
//! - [`OutageCaller`]: who may simulate an outage (a session in demo mode, else the admin).
//! - [`NoBody`]: a route that takes no body (empty, or `{}`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use redis_ssot::SessionToken;

use crate::access::Session;
use crate::body::FromFields;
use crate::error::ApiError;
use crate::state::AppState;

/// The largest request body the API accepts (login, thread creation: a few hundred bytes).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body read into `T` ([`crate::body`]): 415 without a JSON content type, 413 past
/// [`BODY_LIMIT`] (with the limit), 400 naming the field otherwise.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: FromFields, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        if !json {
            return Err(ApiError::not_json());
        }
        // Refused by its declared length before a byte of it is read: a client that waits
        // for `100 Continue` then never sends it, and no answer is lost to a reset.
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
            return Err(ApiError::too_large(BODY_LIMIT));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(BODY_LIMIT),
                _ => ApiError::bad_request("the request body could not be read to its end"),
            }
        })?;
        crate::body::parse(&bytes, "the body")
            .map(ApiJson)
            .map_err(ApiError::from_field)
    }
}

/// The body of a route that takes none: empty, or a JSON object without fields (`{}`, what
/// many clients send by default). Anything else is a 400 in the body module's words
/// (`unknown field "seconds"; the body takes no fields`), so a client that believes it is
/// setting something learns that it is not.
#[derive(Debug, Clone, Copy)]
pub struct NoBody;

struct NoFields;

impl FromFields for NoFields {
    fn from_fields(_: &mut crate::body::Fields) -> Result<Self, crate::body::FieldError> {
        Ok(NoFields)
    }
}

impl<S: Send + Sync> FromRequest<S> for NoBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(BODY_LIMIT),
                _ => ApiError::bad_request("the request body could not be read to its end"),
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(NoBody);
        }
        crate::body::parse::<NoFields>(&bytes, "the body")
            .map(|NoFields| NoBody)
            .map_err(ApiError::from_field)
    }
}

/// The query string as name → value, refusing names the route does not take.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(std::collections::HashMap<String, String>);

impl QueryParams {
    /// Reads the query of `uri`; `allowed` are the names the route takes.
    pub fn read(uri: &axum::http::Uri, allowed: &[&str]) -> Result<QueryParams, ApiError> {
        let axum::extract::Query(map) =
            axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(uri)
                .map_err(|_| ApiError::bad_request("the query string could not be read"))?;
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {unknown:?}; this address takes {}",
                allowed.join(", ")
            )));
        }
        Ok(QueryParams(map))
    }

    /// The value of `name`, if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
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
    /// The token (needed by logout and the socket's re-checks; its `Debug` is redacted).
    pub token: SessionToken,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts).ok_or_else(|| {
            ApiError::unauthorized("missing token: send Authorization: Bearer <token>")
        })?;
        let refused = || ApiError::invalid_token("unknown, expired or revoked token");
        let token = SessionToken::parse(&token).map_err(|_| refused())?;
        let session = app
            .access()
            .authenticate(&token)
            .await?
            .ok_or_else(refused)?;
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
            return Ok(Admin);
        }
        let message = "admin token required: send Authorization: Bearer <admin token>";
        Err(match bearer_header(parts) {
            Some(_) => ApiError::invalid_token(message),
            None => ApiError::unauthorized(message),
        })
    }
}

/// Who asked for a simulated outage. In demo login mode any session may (the page's
/// control: whoever types a name is that user anyway); with a real authenticator (JWT) the
/// pause hits real users, so only the operator's admin token may.
#[derive(Debug, Clone)]
pub enum OutageCaller {
    /// A demo session.
    Session(Box<Authed>),
    /// The admin token.
    Admin,
}

impl OutageCaller {
    /// For the log: the user, or `admin`.
    pub fn name(&self) -> &str {
        match self {
            OutageCaller::Session(who) => &who.session.user,
            OutageCaller::Admin => "admin",
        }
    }
}

impl FromRequestParts<AppState> for OutageCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        if app.outage_for_sessions() {
            let who = Authed::from_request_parts(parts, app).await?;
            return Ok(OutageCaller::Session(Box::new(who)));
        }
        Admin::from_request_parts(parts, app).await?;
        Ok(OutageCaller::Admin)
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
