//! Every Redis key the stores use, built from typed, validated parts.
//!
//! No store formats a key by hand: they call the builders here, so the layout below is the
//! whole truth and isolation between users is decided in one place.
//!
//! ## Why user ids are escaped, not just checked
//! A user id comes from outside (an auth provider, a URL). It may contain `:`, glob characters
//! or arbitrary bytes. [`UserId`] percent-encodes every byte outside `[A-Za-z0-9_.@-]`, which
//! makes the encoding *injective* (two ids never share an encoded form, because `%` itself is
//! escaped) and leaves only characters that mean nothing to Redis glob patterns, to hash tags
//! or to our `:` separator. The user's space is the prefix `{u:<encoded>}:`; since the encoded
//! id cannot contain `}`, no user's prefix is a prefix of another's, so no key, SCAN pattern
//! or sweep built for user A can touch user B.
//!
//! ## Why a hash tag
//! Every key of one user shares the hash tag `{u:<encoded>}`, so in Redis Cluster they live on
//! one slot and multi-key Lua scripts (agent state + thread index) stay legal.
//!
//! ## Key layout
//! | Key | Type | TTL | Owner |
//! |-----|------|-----|-------|
//! | `{u:<uid>}:d:<name>` | any | caller's | [`UserClient`](crate::UserClient) data |
//! | `{u:<uid>}:sessions` | zset: session id → expiry ms | latest session expiry | [`SessionStore`](crate::SessionStore) index |
//! | `{u:<uid>}:run:<run_id>` | hash `v` (version), `s` (JSON), `t` (thread) | state TTL (24 h) | [`AgentStateStore`](crate::AgentStateStore) |
//! | `{u:<uid>}:thread:<thread_id>:msgs` | list of JSON, capped | thread TTL (7 d) | agent thread history |
//! | `{u:<uid>}:thread:<thread_id>:ctx` | string: current run id | thread TTL | agent thread context |
//! | `{u:<uid>}:threads` | zset: thread id → expiry ms | thread TTL | agent thread index |
//! | `session:<sha256(token)>` | string JSON | session TTL (1 h) | [`SessionStore`](crate::SessionStore) |
//! | `blacklist:<sha256(token)>` | string `1` | token's remaining life | [`TokenBlacklist`](crate::TokenBlacklist) |
//! | `ratelimit:<name>` | zset (sliding log) | window | [`RateLimiter`](crate::RateLimiter) |
//! | `cache:<namespace>:<name>` | string JSON | caller's (user data, permissions: 30 min) | [`Cache`](crate::Cache) |
//! | `analytics:<name>` | string JSON | caller's | [`Analytics`](crate::Analytics) |
//! | `analytics:events:<stream>:<yyyy-mm-dd>` | list of JSON, capped | caller's | [`Analytics`](crate::Analytics) |
//!
//! `<uid>` is the encoded user id; `<name>` is a relative name checked by [`check_name`];
//! `<namespace>`, `<run_id>`, `<thread_id>` and `<stream>` are segments checked by
//! [`check_segment`]; tokens are stored only as the hex SHA-256 of the token.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Longest accepted user id, in raw bytes (before encoding).
pub const MAX_USER_ID_LEN: usize = 256;
/// Longest accepted segment (namespace, run id, thread id, stream name).
pub const MAX_SEGMENT_LEN: usize = 256;
/// Longest accepted relative name.
pub const MAX_NAME_LEN: usize = 1024;

/// A validated user id and its injective, Redis-safe encoding.
///
/// Stores take `&UserId`, never a string, so a raw id can never reach a key unescaped.
/// Serialized (serde) as the encoded form, which round-trips through [`UserId::from_encoded`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId {
    encoded: Box<str>,
}

impl UserId {
    /// Validates and encodes a user id. Empty ids and ids over [`MAX_USER_ID_LEN`] bytes are
    /// `Error::InvalidKey`; any other byte string is accepted and escaped.
    pub fn new(raw: impl AsRef<[u8]>) -> Result<UserId> {
        let raw = raw.as_ref();
        if raw.is_empty() {
            return Err(Error::InvalidKey("user id is empty".into()));
        }
        if raw.len() > MAX_USER_ID_LEN {
            return Err(Error::InvalidKey(format!(
                "user id of {} bytes exceeds {MAX_USER_ID_LEN}",
                raw.len()
            )));
        }
        let mut encoded = String::with_capacity(raw.len());
        for &b in raw {
            if is_safe_byte(b) {
                encoded.push(char::from(b));
            } else {
                encoded.push('%');
                encoded.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
                encoded.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
            }
        }
        Ok(UserId {
            encoded: encoded.into_boxed_str(),
        })
    }

    /// Rebuilds a user id from its encoded form (as stored in JSON). Rejects anything that
    /// [`UserId::new`] could not have produced, so a tampered value cannot smuggle a glob or
    /// separator into a key.
    pub fn from_encoded(encoded: &str) -> Result<UserId> {
        let raw = decode_percent(encoded)
            .ok_or_else(|| Error::InvalidKey(format!("not an encoded user id: {encoded:?}")))?;
        let id = UserId::new(raw)?;
        if &*id.encoded != encoded {
            return Err(Error::InvalidKey(format!(
                "not a canonical encoded user id: {encoded:?}"
            )));
        }
        Ok(id)
    }

    /// The encoded id: only `[A-Za-z0-9_.@%-]`.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The original bytes.
    pub fn raw(&self) -> Vec<u8> {
        decode_percent(&self.encoded).unwrap_or_default()
    }

    /// The hash tag all of this user's keys share: `{u:<encoded>}`.
    pub fn hash_tag(&self) -> String {
        format!("{{u:{}}}", self.encoded)
    }

    /// The prefix of every key in the user's space: `{u:<encoded>}:`.
    pub fn space_prefix(&self) -> String {
        format!("{{u:{}}}:", self.encoded)
    }

    /// A SCAN MATCH pattern for every key in the user's space.
    pub fn space_pattern(&self) -> String {
        format!("{}*", escape_glob(&self.space_prefix()))
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.encoded)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encoded)
    }
}

impl serde::Serialize for UserId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.encoded)
    }
}

impl<'de> serde::Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        UserId::from_encoded(&s).map_err(serde::de::Error::custom)
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

fn is_safe_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-')
}

fn decode_percent(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Checks a segment: a namespace, run id, thread id or event stream name. Segments are
/// `[A-Za-z0-9_.@-]`, 1..=[`MAX_SEGMENT_LEN`] bytes: no `:`, so a segment can never reach into
/// a neighbour's key space (`cache:ns:*` cannot match namespace `ns:sub`).
pub fn check_segment(what: &str, s: &str) -> Result<()> {
    check_len(what, s, MAX_SEGMENT_LEN)?;
    match s.chars().find(|c| !c.is_ascii() || !is_safe_byte(*c as u8)) {
        Some(c) => Err(Error::InvalidKey(format!(
            "{what} {s:?} contains {c:?}; allowed: A-Z a-z 0-9 _ . @ -"
        ))),
        None => Ok(()),
    }
}

/// Empty, or longer than `max` bytes, said in plain words.
fn check_len(what: &str, s: &str, max: usize) -> Result<()> {
    if s.is_empty() {
        return Err(Error::InvalidKey(format!("{what} is empty")));
    }
    if s.len() > max {
        return Err(Error::InvalidKey(format!(
            "{what} is {} bytes long; at most {max} are allowed",
            s.len()
        )));
    }
    Ok(())
}

/// Checks a relative name (a `UserClient` key, cache key, rate-limit key, analytics key):
/// printable ASCII, 1..=[`MAX_NAME_LEN`] bytes, none of the glob characters `* ? [ ] \` and no
/// braces (which would change the cluster hash tag). `:` and `/` are allowed.
pub fn check_name(what: &str, s: &str) -> Result<()> {
    check_len(what, s, MAX_NAME_LEN)?;
    let bad = s.bytes().find(|&b| {
        !b.is_ascii_graphic() || matches!(b, b'*' | b'?' | b'[' | b']' | b'\\' | b'{' | b'}')
    });
    match bad {
        Some(b) => Err(Error::InvalidKey(format!(
            "{what} {s:?} contains byte 0x{b:02x}; glob characters, braces, whitespace and \
             non-ASCII are not allowed"
        ))),
        None => Ok(()),
    }
}

/// Escapes the Redis glob characters `* ? [ ] \` so `s` matches only itself in SCAN MATCH.
pub fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Lower-case hex of SHA-256: how tokens are named in Redis, so a dump of the database
/// never contains a usable token.
pub fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    hex_lower(&Sha256::digest(data.as_ref()))
}

/// Lower-case hex of arbitrary bytes.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX_LOWER[usize::from(b >> 4)]));
        out.push(char::from(HEX_LOWER[usize::from(b & 0x0f)]));
    }
    out
}

/// `{u:<uid>}:d:<name>`: a `UserClient` key.
pub fn user_data(user: &UserId, name: &str) -> Result<String> {
    check_name("name", name)?;
    Ok(format!("{}d:{name}", user.space_prefix()))
}

/// The prefix of all `UserClient` keys of `user` (strip it to get the relative name).
pub fn user_data_prefix(user: &UserId) -> String {
    format!("{}d:", user.space_prefix())
}

/// `{u:<uid>}:sessions`: the user's session index.
pub fn session_index(user: &UserId) -> String {
    format!("{}sessions", user.space_prefix())
}

/// `session:<id>` where `id` is the SHA-256 hex of the token.
pub fn session(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// `blacklist:<sha256(token)>`.
pub fn blacklist(token: &str) -> String {
    format!("blacklist:{}", sha256_hex(token))
}

/// `ratelimit:<name>`.
pub fn rate_limit(name: &str) -> Result<String> {
    check_name("rate limit key", name)?;
    Ok(format!("ratelimit:{name}"))
}

/// `cache:<namespace>:` (the namespace must already be checked).
pub fn cache_prefix(namespace: &str) -> String {
    format!("cache:{namespace}:")
}

/// `{u:<uid>}:run:<run_id>`.
pub fn agent_run(user: &UserId, run_id: &str) -> Result<String> {
    check_segment("run id", run_id)?;
    Ok(format!("{}run:{run_id}", user.space_prefix()))
}

/// `{u:<uid>}:thread:<thread_id>:msgs`.
pub fn thread_messages(user: &UserId, thread_id: &str) -> Result<String> {
    check_segment("thread id", thread_id)?;
    Ok(format!("{}thread:{thread_id}:msgs", user.space_prefix()))
}

/// `{u:<uid>}:thread:<thread_id>:ctx`.
pub fn thread_context(user: &UserId, thread_id: &str) -> Result<String> {
    check_segment("thread id", thread_id)?;
    Ok(format!("{}thread:{thread_id}:ctx", user.space_prefix()))
}

/// `{u:<uid>}:threads`.
pub fn thread_index(user: &UserId) -> String {
    format!("{}threads", user.space_prefix())
}

/// `analytics:<name>`.
pub fn analytics(name: &str) -> Result<String> {
    check_name("analytics key", name)?;
    Ok(format!("analytics:{name}"))
}

/// `analytics:events:<stream>:<day>`.
pub fn analytics_events(stream: &str, day: &str) -> Result<String> {
    check_segment("event stream", stream)?;
    check_segment("day", day)?;
    Ok(format!("analytics:events:{stream}:{day}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_globs_braces_and_bytes_are_escaped_in_user_ids() {
        let id = UserId::new(b"a:b*c?[d]\\{e} f\x00\xff%").unwrap();
        assert_eq!(id.encoded(), "a%3Ab%2Ac%3F%5Bd%5D%5C%7Be%7D%20f%00%FF%25");
        assert_eq!(id.raw(), b"a:b*c?[d]\\{e} f\x00\xff%".to_vec());
    }

    #[test]
    fn percent_is_escaped_so_the_encoding_is_injective() {
        let literal = UserId::new("%41").unwrap();
        let letter = UserId::new("A").unwrap();
        assert_ne!(literal, letter);
        assert_eq!(literal.encoded(), "%2541");
    }

    #[test]
    fn empty_and_oversized_user_ids_are_invalid_keys() {
        assert!(matches!(UserId::new(""), Err(Error::InvalidKey(_))));
        assert!(matches!(
            UserId::new(vec![b'a'; MAX_USER_ID_LEN + 1]),
            Err(Error::InvalidKey(_))
        ));
        assert!(UserId::new(vec![b'a'; MAX_USER_ID_LEN]).is_ok());
    }

    #[test]
    fn user_keys_share_one_hash_tag() {
        let id = UserId::new("alice").unwrap();
        assert_eq!(id.hash_tag(), "{u:alice}");
        assert_eq!(user_data(&id, "x:y").unwrap(), "{u:alice}:d:x:y");
        assert_eq!(session_index(&id), "{u:alice}:sessions");
        assert_eq!(agent_run(&id, "r1").unwrap(), "{u:alice}:run:r1");
        assert_eq!(id.space_pattern(), "{u:alice}:*");
    }

    #[test]
    fn from_encoded_rejects_non_canonical_forms() {
        assert!(matches!(
            UserId::from_encoded("a:b"),
            Err(Error::InvalidKey(_))
        ));
        assert!(matches!(
            UserId::from_encoded("%41"),
            Err(Error::InvalidKey(_))
        ));
        assert_eq!(
            UserId::from_encoded("a%3Ab").unwrap().raw(),
            b"a:b".to_vec()
        );
    }

    #[test]
    fn names_with_globs_braces_or_spaces_are_rejected() {
        for bad in ["", "a*", "a?", "a[b]", "a\\b", "{x}", "a b", "é"] {
            assert!(
                matches!(check_name("name", bad), Err(Error::InvalidKey(_))),
                "{bad:?}"
            );
        }
        assert!(check_name("name", "a:b/c%d").is_ok());
        assert!(matches!(
            check_segment("ns", "a:b"),
            Err(Error::InvalidKey(_))
        ));
    }

    #[test]
    fn bad_names_and_segments_are_described_in_plain_words() {
        let text = |r: Result<()>| match r {
            Err(Error::InvalidKey(m)) => m,
            other => panic!("expected InvalidKey, got {other:?}"),
        };
        assert_eq!(text(check_name("cache key", "")), "cache key is empty");
        assert_eq!(
            text(check_name("cache key", &"k".repeat(1025))),
            "cache key is 1025 bytes long; at most 1024 are allowed"
        );
        assert_eq!(
            text(check_segment("event name", &"e".repeat(257))),
            "event name is 257 bytes long; at most 256 are allowed"
        );
        // The character itself, not one byte of its UTF-8 read as Latin-1.
        assert_eq!(
            text(check_segment("event name", "café")),
            "event name \"café\" contains 'é'; allowed: A-Z a-z 0-9 _ . @ -"
        );
        assert_eq!(
            text(check_segment("ns", "a:b")),
            "ns \"a:b\" contains ':'; allowed: A-Z a-z 0-9 _ . @ -"
        );
    }

    #[test]
    fn escape_glob_escapes_exactly_the_glob_characters() {
        assert_eq!(escape_glob("a*b?c[d]e\\f:g"), "a\\*b\\?c\\[d\\]e\\\\f:g");
    }

    #[test]
    fn sha256_hex_is_lowercase_and_64_chars() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
