//! Who is logging in: the [`Authenticator`] trait and its two implementations.
//!
//! Authentication is separate from sessions on purpose: an authenticator only turns a login
//! request into an [`Identity`]; the login handler then applies rate limits, the token
//! blacklist and creates the session the same way for every mode.

pub mod demo;
pub mod jwt;

use serde::Deserialize;

use crate::agent::BoxFuture;
use crate::error::ApiError;
use crate::ids::Username;

/// The body of `POST /api/login`. Which fields are required depends on the mode: the demo
/// needs `username`, JWT mode needs `token`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The user name (demo mode).
    #[serde(default)]
    pub username: Option<Username>,
    /// A JWT from the external auth service (JWT mode).
    #[serde(default)]
    pub token: Option<String>,
}

/// A verified login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user.
    pub user: Username,
    /// The credential's id for the blacklist (a JWT's `jti`, or its fingerprint); `None` for
    /// the demo, which has no credential.
    pub credential_id: Option<String>,
}

/// Turns a login request into an identity, or refuses it with a 4xx [`ApiError`].
pub trait Authenticator: Send + Sync + 'static {
    /// A short name for logs and `/api/status` (`demo`, `jwt`).
    fn mode(&self) -> &'static str;

    /// Verifies `req`.
    fn authenticate<'a>(
        &'a self,
        req: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Identity, ApiError>>;
}
