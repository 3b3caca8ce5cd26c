//! The HTTP surface: one file per group of routes, assembled by [`router`].

mod admin;
mod health;
mod login;
mod outage;
mod page;
mod threads;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use crate::state::AppState;

/// The gateway's routes on `state`. The outage route exists only when the caller provided an
/// outage hook (embedded Redis), the admin routes only when an admin token is configured;
/// otherwise they are a plain 404.
pub fn router(state: AppState) -> Router {
    let mut r = Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
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
    if state.config().outage.is_some() {
        r = r.route("/api/simulate-outage", post(outage::simulate));
    }
    if state.config().admin_token.is_some() {
        r = r
            .route("/api/admin/reconnect", post(admin::reconnect))
            .route("/api/admin/breaker/reset", post(admin::reset_breaker));
    }
    r.layer(middleware::from_fn(count_requests))
        .with_state(state)
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
