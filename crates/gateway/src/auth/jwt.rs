//! HS256 JWT verification for tokens issued by an external auth service.
//!
//! Only HS256 is accepted, whatever the header claims: accepting the header's `alg` is the
//! classic JWT hole (`none`, or RS/HS confusion). `exp` is required, so a leaked token cannot
//! live forever; the blacklist (checked by the login handler with the `jti`, or the token's
//! fingerprint when there is none) revokes it earlier.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{Authenticator, Identity, LoginRequest};
use crate::agent::BoxFuture;
use crate::error::ApiError;
use crate::ids::Username;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Verifies HS256 JWTs with a shared secret.
#[derive(Clone)]
pub struct JwtAuthenticator {
    secret: Vec<u8>,
    issuer: Option<String>,
    audience: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// The claims the gateway reads, each checked on its own so a refusal says which claim is
/// wrong and how (serde's derive would say "invalid type: floating point `1e30`, expected
/// u64", or one message for every claim).
struct Claims {
    sub: String,
    exp: u64,
    nbf: Option<u64>,
    iss: Option<String>,
    aud: Option<serde_json::Value>,
    jti: Option<String>,
}

impl Claims {
    /// Reads the claims from the decoded payload; `Err` is the reason, in plain words.
    fn read(payload: &[u8]) -> Result<Claims, String> {
        let mut map = match serde_json::from_slice::<serde_json::Value>(payload) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err("the claims are not a JSON object".into()),
        };
        let mut take = |name: &str| map.remove(name).filter(|v| !v.is_null());
        let sub = match take("sub") {
            None => return Err("sub is required (the user)".into()),
            Some(serde_json::Value::String(s)) => s,
            Some(_) => return Err("sub must be text (the user)".into()),
        };
        let exp = match take("exp") {
            None => return Err("exp is required (when the token expires)".into()),
            Some(v) => seconds("exp", &v)?,
        };
        let nbf = take("nbf").map(|v| seconds("nbf", &v)).transpose()?;
        let iss = take("iss").map(|v| text("iss", v)).transpose()?;
        let jti = take("jti").map(|v| text("jti", v)).transpose()?;
        Ok(Claims {
            sub,
            exp,
            nbf,
            iss,
            aud: take("aud"),
            jti,
        })
    }
}

/// A NumericDate claim: whole seconds since 1970 that fit in 64 bits.
fn seconds(name: &str, v: &serde_json::Value) -> Result<u64, String> {
    v.as_u64()
        .ok_or_else(|| format!("{name} must be a whole number of seconds since 1970"))
}

fn text(name: &str, v: serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) => Ok(s),
        _ => Err(format!("{name} must be text")),
    }
}

impl JwtAuthenticator {
    /// A verifier for `secret`, optionally requiring `iss` and `aud`.
    pub fn new(secret: Vec<u8>, issuer: Option<String>, audience: Option<String>) -> Self {
        JwtAuthenticator {
            secret,
            issuer,
            audience,
        }
    }

    /// Checks signature and claims of `token` at unix time `now`.
    pub fn verify(&self, token: &str, now: u64) -> Result<Identity, ApiError> {
        let bad = |why: &str| ApiError::unauthorized(format!("invalid token: {why}"));
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected three dot-separated parts"));
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| bad("bad base64url"))
        };
        let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| bad("bad header"))?;
        if header.alg != "HS256" {
            return Err(bad("only HS256 is accepted"));
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).map_err(|_| bad("bad key"))?;
        mac.update(h.as_bytes());
        mac.update(b".");
        mac.update(p.as_bytes());
        mac.verify_slice(&decode(s)?)
            .map_err(|_| bad("signature mismatch"))?;
        let claims = Claims::read(&decode(p)?).map_err(|why| bad(&why))?;
        if claims.exp.saturating_add(LEEWAY_SECS) < now {
            return Err(bad("expired"));
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS))
        {
            return Err(bad("not yet valid"));
        }
        if let Some(want) = &self.issuer
            && claims.iss.as_deref() != Some(want.as_str())
        {
            return Err(bad("wrong issuer"));
        }
        if let Some(want) = &self.audience {
            let ok = match &claims.aud {
                Some(serde_json::Value::String(a)) => a == want,
                Some(serde_json::Value::Array(list)) => {
                    list.iter().any(|a| a.as_str() == Some(want))
                }
                _ => false,
            };
            if !ok {
                return Err(bad("wrong audience"));
            }
        }
        let user = Username::parse(&claims.sub).map_err(|e| bad(&e))?;
        Ok(Identity {
            user,
            credential_id: Some(
                claims
                    .jti
                    .unwrap_or_else(|| crate::token::fingerprint(token)),
            ),
            expires_at_ms: Some(claims.exp.saturating_mul(1000)),
        })
    }
}

impl Authenticator for JwtAuthenticator {
    fn mode(&self) -> &'static str {
        "jwt"
    }

    fn authenticate<'a>(
        &'a self,
        req: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Identity, ApiError>> {
        Box::pin(async move {
            let token = req.token.as_deref().ok_or_else(|| {
                ApiError::bad_field("token", "token is required: the JWT from your sign-in")
            })?;
            self.verify(token, crate::events::now_ms() / 1000)
        })
    }
}

/// Signs `claims` as an HS256 JWT: for tests and for tools that stand in for the auth service.
pub fn sign_hs256(claims: &serde_json::Value, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let sig = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(signing_input.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("{signing_input}.{sig}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn auth() -> JwtAuthenticator {
        JwtAuthenticator::new(b"s3cret".to_vec(), Some("idp".into()), Some("chat".into()))
    }

    #[test]
    fn valid_token_yields_the_subject_and_its_jti() {
        let t = sign_hs256(
            &json!({"sub":"alice","exp":NOW+60,"iss":"idp","aud":["chat"],"jti":"j1"}),
            b"s3cret",
        );
        let id = auth().verify(&t, NOW).unwrap();
        assert_eq!(id.user.as_str(), "alice");
        assert_eq!(id.credential_id.as_deref(), Some("j1"));
    }

    #[test]
    fn wrong_secret_expired_and_alg_none_are_refused() {
        let claims = json!({"sub":"alice","exp":NOW+60,"iss":"idp","aud":"chat"});
        let forged = sign_hs256(&claims, b"other");
        assert_eq!(
            auth().verify(&forged, NOW).unwrap_err().message,
            "invalid token: signature mismatch"
        );
        let old = sign_hs256(
            &json!({"sub":"alice","exp":NOW-31,"iss":"idp","aud":"chat"}),
            b"s3cret",
        );
        assert_eq!(
            auth().verify(&old, NOW).unwrap_err().message,
            "invalid token: expired"
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        assert_eq!(
            auth().verify(&none, NOW).unwrap_err().message,
            "invalid token: only HS256 is accepted"
        );
    }

    #[test]
    fn a_wrong_claim_is_named_with_what_it_must_be() {
        let message = |claims: serde_json::Value| {
            auth()
                .verify(&sign_hs256(&claims, b"s3cret"), NOW)
                .unwrap_err()
                .message
        };
        let exp = "invalid token: exp must be a whole number of seconds since 1970";
        assert_eq!(message(json!({"sub": "alice", "exp": 1e30})), exp);
        assert_eq!(message(json!({"sub": "alice", "exp": "soon"})), exp);
        assert_eq!(message(json!({"sub": "alice", "exp": -1})), exp);
        assert_eq!(message(json!({"sub": "alice", "exp": 1.5})), exp);
        assert_eq!(
            message(json!({"sub": "alice"})),
            "invalid token: exp is required (when the token expires)"
        );
        assert_eq!(
            message(json!({"exp": NOW + 60})),
            "invalid token: sub is required (the user)"
        );
        assert_eq!(
            message(json!({"sub": 7, "exp": NOW + 60})),
            "invalid token: sub must be text (the user)"
        );
        assert_eq!(
            message(json!({"sub": "alice", "exp": NOW + 60, "nbf": "now"})),
            "invalid token: nbf must be a whole number of seconds since 1970"
        );
        assert_eq!(
            message(json!(["not", "an", "object"])),
            "invalid token: the claims are not a JSON object"
        );
    }

    #[test]
    fn issuer_and_audience_must_match_when_configured() {
        let t = sign_hs256(
            &json!({"sub":"alice","exp":NOW+60,"iss":"evil","aud":"chat"}),
            b"s3cret",
        );
        assert_eq!(
            auth().verify(&t, NOW).unwrap_err().message,
            "invalid token: wrong issuer"
        );
        let t = sign_hs256(
            &json!({"sub":"alice","exp":NOW+60,"iss":"idp","aud":"other"}),
            b"s3cret",
        );
        assert_eq!(
            auth().verify(&t, NOW).unwrap_err().message,
            "invalid token: wrong audience"
        );
    }
}
