//! SARIF 2.1.0 output.
//!
//! One run, one reporting descriptor per (rule, kind) pair with id `rule/kind`, one result per
//! violation. Paths are relative URIs against the `SRCROOT` base, so a report can be uploaded
//! from any checkout. Parse errors and files not read become tool execution notifications,
//! which is where SARIF puts "the tool could not fully analyse this file".

use std::path::Path;

use serde_json::{Value, json};

use crate::scan::ParseError;
use crate::violation::Violation;

/// Renders a SARIF log for `violations` found under `root`.
pub fn render<'a>(
    violations: impl IntoIterator<Item = &'a Violation>,
    parse_errors: impl IntoIterator<Item = &'a ParseError>,
    unread: impl IntoIterator<Item = &'a ParseError>,
    root: &Path,
) -> String {
    let violations: Vec<&Violation> = violations.into_iter().collect();
    let mut rule_ids: Vec<(String, crate::violation::Kind)> = Vec::new();
    for v in &violations {
        let id = format!("{}/{}", v.rule, v.kind.as_str());
        if !rule_ids.iter().any(|(r, _)| *r == id) {
            rule_ids.push((id, v.kind));
        }
    }
    rule_ids.sort();
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|(id, kind)| {
            json!({
                "id": id,
                "name": kind.as_str(),
                "shortDescription": { "text": kind.description() },
                "defaultConfiguration": { "level": "error" },
            })
        })
        .collect();
    let results: Vec<Value> = violations
        .iter()
        .map(|v| {
            let id = format!("{}/{}", v.rule, v.kind.as_str());
            let index = rule_ids.iter().position(|(r, _)| *r == id).unwrap_or(0);
            json!({
                "ruleId": id,
                "ruleIndex": index,
                "level": "error",
                "message": { "text": v.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri_path(&v.path), "uriBaseId": "SRCROOT" },
                        "region": { "startLine": v.line, "startColumn": v.column },
                    }
                }],
                "partialFingerprints": { "ssotFingerprint/v1": v.fingerprint },
            })
        })
        .collect();
    let labelled = parse_errors
        .into_iter()
        .map(|p| ("syntax error", p))
        .chain(unread.into_iter().map(|p| ("not read", p)));
    let notifications: Vec<Value> = labelled
        .map(|(label, p)| {
            json!({
                "level": "error",
                "message": { "text": format!("{label}: {}", p.message) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri_path(&p.path), "uriBaseId": "SRCROOT" },
                        "region": { "startLine": p.line, "startColumn": p.column },
                    }
                }],
            })
        })
        .collect();
    let root_uri = format!(
        "file://{}/",
        uri_path(root.to_string_lossy().trim_end_matches('/'))
    );
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "redis-ssot-gardener",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": { "SRCROOT": { "uri": root_uri } },
            // Columns count characters, as editors do, not UTF-16 code units.
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Percent-encodes a `/`-separated path for use in a URI (RFC 3986 unreserved characters and
/// `/` stay as they are).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
