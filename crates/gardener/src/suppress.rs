//! `ssot: allow(<rule>) <reason>` comments.
//!
//! Suppressions are read from comment nodes of the syntax tree, so the same words inside a
//! string or docstring are never taken for one. A suppression covers violations of the named
//! rules on its own line and on the line below. A suppression must say why: one without a
//! reason still suppresses (so the count does not double), but is itself reported, which keeps
//! every exception reviewed.

/// One parsed suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The rule names inside `allow(..)`.
    pub rules: Vec<String>,
    /// The text after the closing parenthesis, if any.
    pub reason: Option<String>,
    /// 1-based line of the comment.
    pub line: usize,
    /// 1-based column of the comment.
    pub column: usize,
}

impl Suppression {
    /// Whether this suppression covers a violation of `rule` on `line`.
    pub fn covers(&self, rule: &str, line: usize) -> bool {
        (line == self.line || line == self.line + 1) && self.rules.iter().any(|r| r == rule)
    }
}

/// Parses one comment's text (including its `#` or `//` marker).
pub fn parse(comment: &str, line: usize, column: usize) -> Option<Suppression> {
    let body = comment
        .trim_start_matches('#')
        .trim_start_matches('/')
        .trim_start_matches('!')
        .trim();
    let rest = body.strip_prefix("ssot:")?.trim_start();
    let rest = rest.strip_prefix("allow(")?;
    let close = rest.find(')')?;
    let rules: Vec<String> = rest[..close]
        .split(',')
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    if rules.is_empty() {
        return None;
    }
    let reason = rest[close + 1..]
        .trim()
        .trim_start_matches([':', '-', '—'])
        .trim();
    Some(Suppression {
        rules,
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
        line,
        column,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppression_with_reason_lists_rules_and_reason() {
        let s = parse("# ssot: allow(redis-manager, other) legacy shim", 3, 5).unwrap();
        assert_eq!(
            s.rules,
            vec!["redis-manager".to_owned(), "other".to_owned()]
        );
        assert_eq!(s.reason.as_deref(), Some("legacy shim"));
        assert!(s.covers("other", 4));
        assert!(!s.covers("other", 5));
    }

    #[test]
    fn suppression_without_reason_has_none() {
        let s = parse("// ssot: allow(redis-client)", 1, 1).unwrap();
        assert_eq!(s.reason, None);
        assert_eq!(
            parse("// ssot: allow(redis-client) - ", 1, 1)
                .unwrap()
                .reason,
            None
        );
    }

    #[test]
    fn ordinary_comments_are_not_suppressions() {
        assert_eq!(parse("# we used to allow(RedisManager) here", 1, 1), None);
        assert_eq!(parse("# ssot: allow()", 1, 1), None);
    }
}
