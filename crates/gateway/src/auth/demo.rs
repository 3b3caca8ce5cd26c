//! The demo authenticator: whoever names a valid username is that user.
//!
//! This is not authentication. It exists so that `make run` works without an auth service;
//! the README says so, and production deployments use [`super::jwt::JwtAuthenticator`].

use super::{Authenticator, Identity, LoginRequest};
use crate::agent::BoxFuture;
use crate::error::ApiError;

/// Accepts a bare username.
#[derive(Debug, Default, Clone)]
pub struct DemoAuthenticator;

impl Authenticator for DemoAuthenticator {
    fn mode(&self) -> &'static str {
        "demo"
    }

    fn authenticate<'a>(
        &'a self,
        req: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Identity, ApiError>> {
        Box::pin(async move {
            let user = req
                .username
                .clone()
                .ok_or_else(|| ApiError::bad_field("username", "username is required"))?;
            Ok(Identity {
                user,
                credential_id: None,
                expires_at_ms: None,
            })
        })
    }
}
