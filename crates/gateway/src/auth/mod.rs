//! Who is logging in: the [`Authenticator`] trait and its two implementations.
//!
//! Authentication is separate from sessions on purpose: an authenticator only turns a login
//! request into an [`Identity`]; the login handler then applies rate limits, the token
//! blacklist and creates the session the same way for every mode.

pub mod demo;
pub mod jwt;

use crate::agent::BoxFuture;
use crate::body::{FieldError, Fields, FromFields};
use crate::error::ApiError;
use crate::ids::Username;

/// The body of `POST /api/login`. Which fields are required depends on the mode: the demo
/// needs `username`, JWT mode needs `token`.
#[derive(Clone)]
pub struct LoginRequest {
    /// The user name (demo mode).
    pub username: Option<Username>,
    /// A JWT from the external auth service (JWT mode).
    pub token: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl FromFields for LoginRequest {
    fn from_fields(f: &mut Fields) -> Result<Self, FieldError> {
        let username = f
            .text("username")?
            .map(|u| Username::parse(&u).map_err(|m| FieldError::field("username", m)))
            .transpose()?;
        Ok(LoginRequest {
            username,
            token: f.text("token")?,
        })
    }
}

/// A verified login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user.
    pub user: Username,
    /// The credential's id for the blacklist (a JWT's `jti`, or its fingerprint); `None` for
    /// the demo, which has no credential.
    pub credential_id: Option<String>,
    /// When the credential expires (a JWT's `exp`, Unix ms); the session ends then at the
    /// latest. `None`: only the gateway's session lifetime applies.
    pub expires_at_ms: Option<u64>,
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
