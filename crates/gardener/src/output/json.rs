//! JSON output: `{"violations":[..],"parse_errors":[..],"unread":[..],"summary":{..}}`, the contract for
//! scripts and CI.

use serde::Serialize;

use crate::scan::{ParseError, Summary};
use crate::violation::Violation;

#[derive(Serialize)]
struct Document<'a> {
    violations: Vec<&'a Violation>,
    parse_errors: Vec<&'a ParseError>,
    unread: Vec<&'a ParseError>,
    summary: &'a Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed_since_baseline: Option<Vec<&'a crate::baseline::Entry>>,
}

/// Renders the document; `fixed` is present only in baseline mode.
pub fn render<'a>(
    violations: impl IntoIterator<Item = &'a Violation>,
    parse_errors: impl IntoIterator<Item = &'a ParseError>,
    unread: impl IntoIterator<Item = &'a ParseError>,
    summary: &Summary,
    fixed: Option<Vec<&'a crate::baseline::Entry>>,
) -> String {
    let doc = Document {
        violations: violations.into_iter().collect(),
        parse_errors: parse_errors.into_iter().collect(),
        unread: unread.into_iter().collect(),
        summary,
        fixed_since_baseline: fixed,
    };
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
