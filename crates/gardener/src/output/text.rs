//! Text output: one line per finding, `path:line:column:` first so editors can jump to it.

use std::fmt::Write;

use crate::scan::{ParseError, Summary};
use crate::violation::Violation;

/// Renders violations, parse errors, files not read and the summary line.
pub fn render<'a>(
    violations: impl IntoIterator<Item = &'a Violation>,
    parse_errors: impl IntoIterator<Item = &'a ParseError>,
    unread: impl IntoIterator<Item = &'a ParseError>,
    summary: &Summary,
) -> String {
    let mut out = String::new();
    for v in violations {
        let _ = writeln!(
            out,
            "{}:{}:{}: {}: {}",
            v.path,
            v.line,
            v.column,
            v.kind.as_str(),
            v.message
        );
    }
    for p in parse_errors {
        let _ = writeln!(
            out,
            "{}:{}:{}: syntax error: {}",
            p.path, p.line, p.column, p.message
        );
    }
    for p in unread {
        let _ = writeln!(
            out,
            "{}:{}:{}: not read: {}",
            p.path, p.line, p.column, p.message
        );
    }
    let kinds: Vec<String> = summary
        .by_kind
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k}: {n}"))
        .collect();
    let _ = write!(
        out,
        "{} violation(s) in {} file(s) scanned",
        summary.violations, summary.files
    );
    if !kinds.is_empty() {
        let _ = write!(out, " ({})", kinds.join(", "));
    }
    let _ = write!(
        out,
        "; {} syntax error(s); {} file(s) with violations",
        summary.parse_errors, summary.files_with_violations
    );
    if summary.unread > 0 {
        let _ = write!(out, "; {} file(s) not read", summary.unread);
    }
    out.push('\n');
    out
}
