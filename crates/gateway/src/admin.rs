//! The operator's admin token, for `POST /api/admin/*` and the full `/api/status`.
//!
//! Only the token's SHA-256 is kept, and a presented token is compared by digest in constant
//! time ([`subtle`]), so neither the token nor how much of a guess matched leaks through
//! memory dumps, logs, `Debug` output or response timing.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest admin token accepted: 16 characters (an admin token is a secret an operator
/// generates, e.g. `openssl rand -hex 32`).
pub const MIN_LEN: usize = 16;

/// A configured admin token (its digest).
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl AdminToken {
    /// The token, or a plain-words reason it is not acceptable.
    pub fn new(token: &str) -> Result<AdminToken, String> {
        let token = token.trim();
        if token.chars().count() < MIN_LEN {
            return Err(format!(
                "the admin token must be at least {MIN_LEN} characters (try `openssl rand -hex 32`)"
            ));
        }
        Ok(AdminToken {
            digest: Sha256::digest(token.as_bytes()).into(),
        })
    }

    /// Whether `presented` is the token, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        digest.ct_eq(&self.digest).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches_and_debug_hides_it() {
        let t = AdminToken::new("correct-horse-battery").unwrap();
        assert!(t.matches("correct-horse-battery"));
        assert!(!t.matches("correct-horse-batter"));
        assert!(!t.matches(""));
        assert_eq!(format!("{t:?}"), "AdminToken(***)");
    }

    #[test]
    fn a_short_token_is_refused_in_plain_words() {
        let e = AdminToken::new("short").unwrap_err();
        assert!(e.contains("at least 16 characters"), "{e}");
    }
}
