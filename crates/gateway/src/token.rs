//! Opaque session tokens: 256 random bits, hex-encoded.
//!
//! A token is a bearer secret, so it is never logged or stored in clear where a hash will do:
//! [`fingerprint`] names a token in logs, in the socket registry and in the logout
//! notification that other gateways receive.

use sha2::{Digest, Sha256};

/// `bytes` random bytes from the thread-local CSPRNG, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    hex(&buf)
}

/// A new session token (256 bits).
pub fn new_session_token() -> String {
    random_hex(32)
}

/// A short, non-reversible name for a token (first 16 hex digits of its SHA-256).
pub fn fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    hex(&digest[..8])
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_are_64_hex_digits_and_differ() {
        let a = new_session_token();
        let b = new_session_token();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn fingerprints_are_stable_and_short() {
        assert_eq!(fingerprint("x"), fingerprint("x"));
        assert_eq!(fingerprint("x").len(), 16);
    }
}
