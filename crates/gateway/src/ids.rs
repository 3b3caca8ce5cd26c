//! Validated input: user names, thread ids, thread titles, message texts, event ids.
//!
//! One function, [`check`], decides for all of them, so the same character is refused the
//! same way (with the same words) at every door: the login, the thread routes and the
//! socket. Every kind refuses control characters and the invisible characters that reorder
//! how text is displayed (bidirectional embeddings, overrides and isolates, U+202A–U+202E
//! and U+2066–U+2069: a name with U+202E shows up reversed). User names also refuse the other
//! invisible formatting characters (so "alice" and "al\u{200B}ice" cannot both exist) and the
//! characters of key syntax and markup. What is accepted is shown as text by the page, never
//! as HTML.
//!
//! User names and thread ids end up inside Redis key and channel names; refusing `{`, `}`,
//! `*`, `:` and whitespace keeps a user from forging another user's hash tag or a pub/sub
//! pattern.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest user name or thread id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// The longest thread title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 60;

/// The longest message text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 8_000;

/// What is being checked; each kind has its own length and character rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A user name: 1..=64 bytes, no whitespace, no formatting characters, none of
    /// `{ } * : ? [ ] < > & " '`.
    Username,
    /// A thread id: 1..=64 of `A-Z a-z 0-9 _ . @ -`.
    ThreadId,
    /// A thread title: 1..=60 characters, not only spaces; no tabs or line breaks.
    Title,
    /// A message: 1..=8,000 characters, not only spaces; line breaks and tabs allowed.
    Text,
}

/// Characters a user name may not contain besides whitespace and invisible ones.
const USERNAME_RESERVED: &[char] = &['{', '}', '*', ':', '?', '[', ']', '<', '>', '&', '"', '\''];

/// Checks `raw` as `kind`; the error names `field` and says what is wrong in plain words.
pub fn check(kind: Kind, field: &str, raw: &str) -> Result<(), String> {
    if raw.trim().is_empty() {
        return Err(if raw.is_empty() {
            format!("{field} must not be empty")
        } else {
            format!("{field} must not be only spaces")
        });
    }
    match kind {
        Kind::Username | Kind::ThreadId if raw.len() > MAX_ID_LEN => {
            return Err(format!(
                "{field} is {} bytes long; the limit is {MAX_ID_LEN}",
                raw.len()
            ));
        }
        Kind::Title | Kind::Text => {
            let (chars, limit) = (raw.chars().count(), limit_chars(kind));
            if chars > limit {
                return Err(format!(
                    "{field} is {chars} characters long; the limit is {limit}"
                ));
            }
        }
        _ => {}
    }
    for c in raw.chars() {
        if let Some(why) = refusal(kind, c) {
            return Err(format!("{field} contains {}, {why}", describe(c)));
        }
    }
    Ok(())
}

fn limit_chars(kind: Kind) -> usize {
    if kind == Kind::Title {
        MAX_TITLE_CHARS
    } else {
        MAX_TEXT_CHARS
    }
}

/// Why `kind` refuses `c`, if it does.
fn refusal(kind: Kind, c: char) -> Option<&'static str> {
    let allowed_control = kind == Kind::Text && matches!(c, '\n' | '\t' | '\r');
    if (c.is_control() && !allowed_control) || matches!(c, '\u{2028}' | '\u{2029}') {
        return Some("a control character");
    }
    if is_bidi_override(c) {
        return Some("an invisible character that reorders how the text is displayed");
    }
    match kind {
        Kind::Username if is_format(c) => Some("an invisible formatting character"),
        Kind::Username if c.is_whitespace() => Some("and user names cannot contain spaces"),
        Kind::Username if USERNAME_RESERVED.contains(&c) => {
            Some("and user names cannot contain any of { } * : ? [ ] < > & \" '")
        }
        Kind::ThreadId if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-')) => {
            Some("and thread ids may only contain A-Z a-z 0-9 _ . @ -")
        }
        Kind::Title if c.is_whitespace() && c != ' ' => Some("and titles are one line"),
        _ => None,
    }
}

/// Bidirectional embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI,
/// FSI, PDI): they change the display order of the text around them.
fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Invisible formatting characters (Unicode general category Cf, the ranges that occur in
/// text): zero-width spaces and joiners, bidi marks, the soft hyphen, the byte-order mark,
/// tags.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
        | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}' | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
}

/// `U+202E (right-to-left override)`, `"{"`, ... for messages.
fn describe(c: char) -> String {
    let name = match c {
        '\u{202A}' => Some("left-to-right embedding"),
        '\u{202B}' => Some("right-to-left embedding"),
        '\u{202C}' => Some("pop directional formatting"),
        '\u{202D}' => Some("left-to-right override"),
        '\u{202E}' => Some("right-to-left override"),
        '\u{2066}' => Some("left-to-right isolate"),
        '\u{2067}' => Some("right-to-left isolate"),
        '\u{2068}' => Some("first strong isolate"),
        '\u{2069}' => Some("pop directional isolate"),
        '\u{200B}' => Some("zero-width space"),
        '\u{200E}' => Some("left-to-right mark"),
        '\u{200F}' => Some("right-to-left mark"),
        '\n' => Some("line feed"),
        '\t' => Some("tab"),
        _ => None,
    };
    match name {
        Some(n) => format!("U+{:04X} ({n})", c as u32),
        None if c.is_control() || is_format(c) => format!("U+{:04X}", c as u32),
        None => format!("{:?}", c.to_string()),
    }
}

/// Declares a string newtype that is checked as `$kind` on every way in.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `raw` (see [`check`]).
            pub fn parse(raw: &str) -> Result<$name, String> {
                check($kind, $field, raw)?;
                Ok($name(raw.to_string()))
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                check($kind, $field, &raw)?;
                Ok($name(raw))
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// A user name (see [`Kind::Username`]).
    Username,
    Kind::Username,
    "username"
);
checked_string!(
    /// A thread id chosen by the client (see [`Kind::ThreadId`]); a redis-ssot key segment,
    /// so the agent-state store accepts it too.
    ThreadId,
    Kind::ThreadId,
    "thread_id"
);
checked_string!(
    /// A thread title (see [`Kind::Title`]).
    Title,
    Kind::Title,
    "title"
);

impl Title {
    /// A title made from a thread's first message: its first line, without the characters a
    /// title refuses, cut to [`MAX_TITLE_CHARS`]; `fallback` when nothing is left.
    pub fn derive(text: &str, fallback: &str) -> String {
        let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let cleaned: String = line
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .filter(|&c| refusal(Kind::Title, c).is_none())
            .take(MAX_TITLE_CHARS)
            .collect();
        let cleaned = cleaned.trim();
        if cleaned.is_empty() {
            fallback.to_string()
        } else {
            cleaned.to_string()
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_refuse_empty_long_control_bidi_invisible_and_reserved_characters() {
        let err = |raw: &str| Username::parse(raw).unwrap_err();
        assert_eq!(err(""), "username must not be empty");
        assert_eq!(
            err(&"a".repeat(65)),
            "username is 65 bytes long; the limit is 64"
        );
        assert_eq!(
            err("a\u{7}b"),
            "username contains U+0007, a control character"
        );
        assert_eq!(
            err("eve\u{202E}gnp"),
            "username contains U+202E (right-to-left override), an invisible character that reorders how the text is displayed"
        );
        assert_eq!(
            err("al\u{200B}ice"),
            "username contains U+200B (zero-width space), an invisible formatting character"
        );
        assert_eq!(
            err("<b>x"),
            "username contains \"<\", and user names cannot contain any of { } * : ? [ ] < > & \" '"
        );
        assert_eq!(
            err("a b"),
            "username contains \" \", and user names cannot contain spaces"
        );
        assert_eq!(
            Username::parse("josé@example.com").unwrap().as_str(),
            "josé@example.com"
        );
    }

    #[test]
    fn thread_ids_are_key_segments_and_titles_one_line_of_text() {
        assert_eq!(ThreadId::parse("t-1.a@b_c").unwrap().as_str(), "t-1.a@b_c");
        assert_eq!(
            ThreadId::parse("t%1").unwrap_err(),
            "thread_id contains \"%\", and thread ids may only contain A-Z a-z 0-9 _ . @ -"
        );
        assert_eq!(
            Title::parse("Trip to Köln ✈").unwrap().as_str(),
            "Trip to Köln ✈"
        );
        assert_eq!(
            Title::parse("a\u{1}b").unwrap_err(),
            "title contains U+0001, a control character"
        );
        assert_eq!(
            Title::parse("two\nlines").unwrap_err(),
            "title contains U+000A (line feed), a control character"
        );
        assert_eq!(
            Title::parse("   ").unwrap_err(),
            "title must not be only spaces"
        );
        assert_eq!(
            Title::parse(&"é".repeat(61)).unwrap_err(),
            "title is 61 characters long; the limit is 60"
        );
    }

    #[test]
    fn message_texts_keep_line_breaks_but_refuse_overrides() {
        assert_eq!(check(Kind::Text, "text", "line one\nline two\ttab"), Ok(()));
        assert_eq!(
            check(Kind::Text, "text", "a\u{2066}b"),
            Err("text contains U+2066 (left-to-right isolate), an invisible character that reorders how the text is displayed".into())
        );
        assert_eq!(
            check(Kind::Text, "text", "שלום\u{200F}!"),
            Ok(()),
            "marks are fine in text"
        );
    }

    #[test]
    fn a_derived_title_is_the_first_line_cleaned_and_cut() {
        assert_eq!(
            Title::derive("\n  hello\u{202E} world\nsecond", "t1"),
            "hello world"
        );
        assert_eq!(Title::derive(&"x".repeat(80), "t1"), "x".repeat(60));
        assert_eq!(Title::derive("\u{202E}", "t1"), "t1");
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
