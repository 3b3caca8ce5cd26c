//! Errors: [`GatewayError`] for `serve`, [`ApiError`] for HTTP answers.
//!
//! Every HTTP error is JSON (`{"error": code, "message": ..}`, plus `field` when one field
//! of the request is wrong and `limit_bytes` for a body that is too large) with a stable
//! `code`, so the page and scripts can branch on it; outages map to 503 with `Retry-After`
//! and rate limits to 429 with `Retry-After`, so a client knows when to come back. The
//! framework's own refusals (no such route, wrong method, ...) are rewritten into the same
//! shape by [`crate::routes`], so no client ever sees a plain-text or empty error.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why `serve` stopped.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("http server failed: {0}")]
    Serve(std::io::Error),
}

/// An HTTP error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The status code.
    pub status: StatusCode,
    /// A stable machine-readable code (`unauthorized`, `rate_limited`, ...).
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
    /// Sent as `Retry-After` (whole seconds, at least 1).
    pub retry_after: Option<Duration>,
    /// The request field the error is about, when it is one field.
    pub field: Option<&'static str>,
    /// The size limit that was exceeded, in bytes (413).
    pub limit_bytes: Option<usize>,
    /// For a 401 about a bearer token that was presented: RFC 6750's `error` code in the
    /// `WWW-Authenticate` challenge (`invalid_token`). Every 401 carries the challenge;
    /// without a token presented it names only the realm, as the RFC asks.
    pub bearer_error: Option<&'static str>,
}

/// The realm named in every `WWW-Authenticate: Bearer` challenge.
pub const REALM: &str = "redis-ssot";

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            field: None,
            limit_bytes: None,
            bearer_error: None,
        }
    }

    /// 400 about one field of the request.
    pub fn bad_field(field: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field),
            ..ApiError::bad_request(message)
        }
    }

    /// 400 or 413 for a body or frame that [`crate::body`] refused.
    pub fn from_field(e: crate::body::FieldError) -> ApiError {
        ApiError {
            field: e.field,
            ..ApiError::bad_request(e.message)
        }
    }

    /// 405 for `method` on a route that has others.
    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            message,
        )
    }

    /// 413 with the limit.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError {
            limit_bytes: Some(limit),
            ..ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than the limit of {limit} bytes"),
            )
        }
    }

    /// 415: the body is not declared as JSON.
    pub fn not_json() -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON, with the header Content-Type: application/json",
        )
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no valid session.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 401 for a bearer token that was presented and is not (or no longer) valid: the
    /// challenge says `error="invalid_token"` (RFC 6750 §3.1).
    pub fn invalid_token(message: impl Into<String>) -> ApiError {
        ApiError {
            bearer_error: Some("invalid_token"),
            ..ApiError::unauthorized(message)
        }
    }

    /// 401 at login: the credential is on the blacklist (logged out, or revoked by an
    /// operator). Its own constructor so that the login metric can tell it from a bad
    /// credential.
    pub fn revoked() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this token has been revoked",
        )
    }

    /// 404: not found, or not yours (the two are deliberately indistinguishable).
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after: Duration) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many attempts; try again in {} s",
                    retry_secs(retry_after)
                ),
            )
        }
    }

    /// 429 with `Retry-After` and its own `code`: something that is one at a time for the
    /// whole gateway (a simulated outage) is busy.
    pub fn busy(code: &'static str, message: impl Into<String>, retry_after: Duration) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    /// 503 with `Retry-After`: Redis cannot serve this now.
    pub fn unavailable(message: impl Into<String>, retry_after: Duration) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "redis_unavailable",
                message,
            )
        }
    }

    /// 500: something unexpected; the message is logged, not sent.
    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        tracing::error!(%message, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the gateway log",
        )
    }
}

/// Whole seconds, rounded up, at least 1 (what `Retry-After` carries).
pub fn retry_secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

impl From<redis_ssot::Error> for ApiError {
    fn from(e: redis_ssot::Error) -> ApiError {
        match e {
            redis_ssot::Error::RateLimited { retry_after } => ApiError::rate_limited(retry_after),
            // Plain words for the client (the error's own text can name the server and
            // prints durations the Rust way); the detail goes to the log.
            redis_ssot::Error::CircuitOpen { retry_after } => ApiError::unavailable(
                format!(
                    "Redis is not answering (the circuit breaker is open); try again in {} s",
                    retry_secs(retry_after)
                ),
                retry_after,
            ),
            redis_ssot::Error::NotFound(what) => ApiError::not_found(what),
            e if e.is_unavailable() => {
                tracing::debug!(error = %e, "answered 503");
                ApiError::unavailable(
                    "Redis cannot serve right now; try again in a moment",
                    Duration::from_secs(1),
                )
            }
            e => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({"error": self.code, "message": self.message});
        if let Some(obj) = body.as_object_mut() {
            if let Some(field) = self.field {
                obj.insert("field".into(), field.into());
            }
            if let Some(limit) = self.limit_bytes {
                obj.insert("limit_bytes".into(), limit.into());
            }
        }
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = match self.bearer_error {
                Some(code) => format!("Bearer realm=\"{REALM}\", error=\"{code}\""),
                None => format!("Bearer realm=\"{REALM}\""),
            };
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(after) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&retry_secs(after).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_answers_429_with_retry_after_rounded_up() {
        let resp = ApiError::rate_limited(Duration::from_millis(1500)).into_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn every_401_challenges_for_a_bearer_token_and_names_an_invalid_one() {
        let missing = ApiError::unauthorized("missing token").into_response();
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            missing.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"redis-ssot\""
        );
        let invalid = ApiError::invalid_token("unknown token").into_response();
        assert_eq!(
            invalid.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"redis-ssot\", error=\"invalid_token\""
        );
        let other = ApiError::not_found("x").into_response();
        assert!(other.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn outages_map_to_503_and_reply_errors_to_500() {
        let down = ApiError::from(redis_ssot::Error::connection(
            redis_ssot::ConnectionKind::Dropped,
            "reset",
        ));
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.code, "redis_unavailable");
        let reply = ApiError::from(redis_ssot::Error::Redis {
            code: "WRONGTYPE".into(),
            message: "x".into(),
        });
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
