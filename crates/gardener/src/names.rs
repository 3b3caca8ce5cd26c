//! Names and name patterns, shared by every language.
//!
//! Rules are written once for Python and Rust, so a name is a list of segments whatever the
//! separator: `redis::cluster::ClusterClient` and `redis.cluster.ClusterClient` are the same
//! [`QualifiedName`]. Analysers resolve what the code spells (through imports, aliases and `use`
//! renames) to segments, and only then compare, so matching never looks at raw text.

/// A dotted (`a.b.C`) or path (`a::b::C`) name, stored as segments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    segments: Vec<String>,
}

impl QualifiedName {
    /// Splits `text` on `::` or `.`; returns `None` for an empty name or an empty segment.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let segments: Vec<String> = if text.contains("::") {
            text.split("::").map(str::to_owned).collect()
        } else {
            text.split('.').map(str::to_owned).collect()
        };
        if segments.iter().any(|s| s.is_empty() || !is_identifier(s)) {
            return None;
        }
        Some(QualifiedName { segments })
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The last segment: the type or module name itself.
    pub fn last(&self) -> &str {
        self.segments.last().map(String::as_str).unwrap_or("")
    }

    /// Whether a resolved path names this type.
    ///
    /// The last segments must be equal, and this name's qualifier must be a prefix of the
    /// resolved path's qualifier. So the bare `RedisManager` matches any `…RedisManager`
    /// wherever it was imported from, while `redis::Client` matches `redis::Client` and the
    /// re-exported `redis::client::Client` but not `reqwest::Client` or a local `Client`.
    /// `AuthRedisManager` never matches `RedisManager`: segments compare whole.
    pub fn matches_path(&self, resolved: &[String]) -> bool {
        let Some((name, qualifier)) = self.segments.split_last() else {
            return false;
        };
        let Some((rname, rqualifier)) = resolved.split_last() else {
            return false;
        };
        name == rname && rqualifier.starts_with(qualifier)
    }

    /// Whether `module` is this module or one of its submodules.
    pub fn contains_module(&self, module: &[String]) -> bool {
        module.starts_with(&self.segments)
    }

    /// Joins the segments with `sep` (`.` for Python, `::` for Rust).
    pub fn join(&self, sep: &str) -> String {
        self.segments.join(sep)
    }
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.segments.join("."))
    }
}

/// Whether `s` is a plain identifier (letters, digits, underscore; not starting with a digit).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// A name pattern with `*` wildcards, such as `*RedisManager`, matched against whole
/// identifiers (a class or struct name), never against substrings of other text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    pattern: String,
}

impl NamePattern {
    /// Builds a pattern; returns `None` if it contains anything but identifier characters and `*`.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = !text.is_empty()
            && text
                .chars()
                .all(|c| c == '*' || c == '_' || c.is_alphanumeric());
        ok.then(|| NamePattern {
            pattern: text.to_owned(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether `name` matches; `*` matches any run of characters, including none.
    pub fn matches(&self, name: &str) -> bool {
        wildcard(self.pattern.as_bytes(), name.as_bytes())
    }
}

/// Iterative wildcard match with single backtracking point (linear for one `*`, which is the
/// common case, and never exponential).
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> Vec<String> {
        QualifiedName::parse(s)
            .map(|q| q.segments().to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn bare_name_matches_wherever_it_was_imported_from() {
        let q = QualifiedName::parse("RedisManager").unwrap();
        assert!(q.matches_path(&path("netra_backend.app.redis_manager.RedisManager")));
        assert!(q.matches_path(&path("RedisManager")));
        assert!(!q.matches_path(&path("AuthRedisManager")));
    }

    #[test]
    fn qualified_name_requires_its_qualifier_as_prefix() {
        let q = QualifiedName::parse("redis::Client").unwrap();
        assert!(q.matches_path(&path("redis::Client")));
        assert!(q.matches_path(&path("redis::client::Client")));
        assert!(!q.matches_path(&path("reqwest::Client")));
        assert!(!q.matches_path(&path("Client")));
    }

    #[test]
    fn star_pattern_matches_whole_identifiers_only() {
        let p = NamePattern::parse("*RedisManager").unwrap();
        assert!(p.matches("RedisManager"));
        assert!(p.matches("AuthRedisManager"));
        assert!(!p.matches("RedisManagerFactory"));
        assert!(
            NamePattern::parse("Redis*Manager")
                .unwrap()
                .matches("RedisCacheManager")
        );
    }

    #[test]
    fn names_with_empty_segments_are_rejected() {
        assert_eq!(QualifiedName::parse("a..b"), None);
        assert_eq!(QualifiedName::parse("redis::"), None);
        assert_eq!(QualifiedName::parse("a-b"), None);
    }
}
