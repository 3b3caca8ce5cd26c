//! The HTTP surface: one file per group of routes, assembled by [`router`].
//!
//! Every error answer is our JSON (`{error, message}`): handlers answer with
//! [`ApiError`], and [`json_errors`] rewrites what the framework answers by itself (no such
//! route, a method the route does not take, a body over the limit) into the same shape, so
//! no client sees an empty body or a framework's text.

mod admin;
mod health;
mod login;
mod outage;
mod page;
mod threads;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::extract::BODY_LIMIT;
use crate::state::AppState;

/// The gateway's routes on `state`. The outage route exists only when the caller provided an
/// outage hook (embedded Redis) and someone may use it (demo mode, or an admin token with a
/// real authenticator), the admin routes only when an admin token is configured; otherwise
/// they are a plain 404.
pub fn router(state: AppState) -> Router {
    let mut r = Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/status.js", get(page::status_script))
        .route("/app.css", get(page::style))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/status", get(health::status))
        .route("/api/login", post(login::login))
        .route("/api/logout", post(login::logout))
        .route("/api/threads", get(threads::list).post(threads::create))
        .route("/api/threads/{id}/events", get(threads::events))
        .route(
            "/ws",
            get(crate::ws::upgrade).route_layer(middleware::from_fn(crate::ws::count_upgrades)),
        );
    if state.outage_routed() {
        r = r.route("/api/simulate-outage", post(outage::simulate));
    }
    if state.config().admin_token.is_some() {
        r = r
            .route("/api/admin/reconnect", post(admin::reconnect))
            .route("/api/admin/breaker/reset", post(admin::reset_breaker));
    }
    let routes = r
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(count_requests))
        .with_state(state);
    // Outside the routes, not per route as `Router::layer` would put it: the framework's
    // 405 gets its `Allow` header only once it leaves the route.
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(json_errors))
}

/// Any path that is not a route.
async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("there is no {method} {}", uri.path()))
}

/// Rewrites an error answer that is not our JSON (the framework's own 405, 413, ...) into
/// [`ApiError`]'s shape, keeping its status and `Allow` header.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    let err = match status {
        StatusCode::NOT_FOUND => ApiError::not_found(format!("there is no {method} {path}")),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = allow
                .as_ref()
                .and_then(|a| a.to_str().ok())
                .unwrap_or("other methods")
                .replace(',', ", ");
            ApiError::method_not_allowed(format!(
                "{path} does not take {method}; it takes {allowed}"
            ))
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(BODY_LIMIT),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::not_json(),
        other => {
            tracing::warn!(status = other.as_u16(), %method, %path, "a refusal without our error body; rewritten");
            let mut e = if other.is_server_error() {
                ApiError::internal(format!("{method} {path} answered {other} without a body"))
            } else {
                ApiError::bad_request(format!(
                    "{method} {path} was refused ({})",
                    other.canonical_reason().unwrap_or("error")
                ))
            };
            e.status = other;
            e
        }
    };
    let mut out = err.into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

/// Counts requests by route and status (`gateway_http_requests_total`).
async fn count_requests(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!(crate::metrics::HTTP_REQUESTS, "route" => route, "status" => status)
        .increment(1);
    resp
}
