//! Validated identifiers: user names, thread ids and event ids.
//!
//! They end up inside Redis key names and channel names, so they are checked once, at the
//! edge (serde `try_from`), and are plain strings afterwards. Rejecting `{`, `}`, `*`, `:` and
//! whitespace keeps a user from forging another user's hash tag or a pub/sub pattern.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest user name or thread id accepted.
pub const MAX_ID_LEN: usize = 64;

fn check_id(what: &str, raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if raw.len() > MAX_ID_LEN {
        return Err(format!(
            "{what} is {} bytes; the limit is {MAX_ID_LEN}",
            raw.len()
        ));
    }
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{what} contains the control character U+{:04X}",
            c as u32
        ));
    }
    if let Some(c) = raw
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '{' | '}' | '*' | ':' | '?' | '[' | ']'))
    {
        return Err(format!("{what} contains the reserved character {c:?}"));
    }
    Ok(())
}

/// A user name: 1..=64 bytes, no control characters, whitespace or key syntax.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Validates `raw` as a user name.
    pub fn parse(raw: &str) -> Result<Username, String> {
        check_id("username", raw)?;
        Ok(Username(raw.to_string()))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        check_id("username", &raw)?;
        Ok(Username(raw))
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_thread(raw: &str) -> Result<(), String> {
    check_id("thread_id", raw)?;
    match raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-')))
    {
        Some(c) => Err(format!(
            "thread_id contains {c:?}; allowed: A-Z a-z 0-9 _ . @ -"
        )),
        None => Ok(()),
    }
}

/// A thread id chosen by the client: 1..=64 of `[A-Za-z0-9_.@-]` (a redis-ssot key segment,
/// so the agent-state store accepts it too).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ThreadId(String);

impl ThreadId {
    /// Validates `raw` as a thread id.
    pub fn parse(raw: &str) -> Result<ThreadId, String> {
        check_thread(raw)?;
        Ok(ThreadId(raw.to_string()))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ThreadId {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        check_thread(&raw)?;
        Ok(ThreadId(raw))
    }
}

impl From<ThreadId> for String {
    fn from(t: ThreadId) -> String {
        t.0
    }
}

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Redis stream entry id (`<ms>-<seq>`), which is also the public `event_id`.
///
/// Parsed into numbers so that "is this before that" is a numeric comparison, not a string
/// one (`"9-0" > "10-0"` as strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl EventId {
    /// Parses `ms-seq` (a bare `ms` means `ms-0`).
    pub fn parse(raw: &str) -> Option<EventId> {
        let (ms, seq) = raw.split_once('-').unwrap_or((raw, "0"));
        Some(EventId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl Ord for EventId {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.ms, self.seq).cmp(&(other.ms, other.seq))
    }
}

impl PartialOrd for EventId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        EventId::parse(&raw)
            .ok_or_else(|| serde::de::Error::custom(format!("bad event id {raw:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_reject_empty_long_control_and_key_syntax() {
        assert_eq!(
            Username::parse("").unwrap_err(),
            "username must not be empty"
        );
        assert_eq!(
            Username::parse(&"a".repeat(65)).unwrap_err(),
            "username is 65 bytes; the limit is 64"
        );
        assert_eq!(
            Username::parse("a\u{7}b").unwrap_err(),
            "username contains the control character U+0007"
        );
        assert_eq!(
            Username::parse("a{b").unwrap_err(),
            "username contains the reserved character '{'"
        );
        assert_eq!(
            Username::parse("alice@example.com").unwrap().as_str(),
            "alice@example.com"
        );
    }

    #[test]
    fn thread_ids_are_key_segments() {
        assert_eq!(ThreadId::parse("t-1.a@b_c").unwrap().as_str(), "t-1.a@b_c");
        assert_eq!(
            ThreadId::parse("t%1").unwrap_err(),
            "thread_id contains '%'; allowed: A-Z a-z 0-9 _ . @ -"
        );
    }

    #[test]
    fn event_ids_compare_numerically() {
        let a = EventId::parse("9-5").unwrap();
        let b = EventId::parse("10-0").unwrap();
        assert!(a < b);
        assert_eq!(EventId::parse("7").unwrap(), EventId { ms: 7, seq: 0 });
        assert_eq!(EventId::parse("x-1"), None);
        assert_eq!(b.to_string(), "10-0");
    }
}
