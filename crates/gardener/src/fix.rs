//! `garden fix`: rewriting deprecated imports.
//!
//! The analysers attach byte-range [`Edit`]s to deprecated-import violations. Planning re-reads
//! and re-analyses each affected file so that edits always match the bytes being changed, then
//! applies them and re-parses the result. A file is left alone if it had a syntax error before
//! (the tree is a guess there) or would have one after (the edit would break it).

use std::path::PathBuf;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::scan::{FileResult, analyse_file};
use crate::syntax;
use crate::violation::{Edit, Kind};

/// The planned change to one file.
#[derive(Debug, Clone)]
pub struct FilePlan {
    /// Where the file is.
    pub path: PathBuf,
    /// Its path relative to the scan root.
    pub relative: String,
    /// Its bytes before the fix.
    pub original: Vec<u8>,
    /// Its bytes after the fix.
    pub fixed: Vec<u8>,
    /// How many violations the change repairs.
    pub repaired: usize,
}

/// Every planned change, and the files that were left alone with the reason.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Files to rewrite.
    pub files: Vec<FilePlan>,
    /// `(relative path, reason)` for files with fixable violations that will not be touched.
    pub skipped: Vec<(String, String)>,
    /// Deprecated imports that `fix` cannot rewrite; they need a hand edit.
    pub unfixed: Vec<Unfixed>,
}

/// A deprecated import left for a person to rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfixed {
    /// The file, relative to the scan root.
    pub path: String,
    /// 1-based line (after the fix, if the file was otherwise fixed).
    pub line: usize,
    /// The violation's message.
    pub message: String,
}

impl Unfixed {
    fn of(v: &crate::violation::Violation) -> Self {
        Unfixed {
            path: v.path.clone(),
            line: v.line,
            message: v.message.clone(),
        }
    }
}

impl Plan {
    /// A unified diff of every planned change, `a/` and `b/` prefixed like `git diff`.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let old = String::from_utf8_lossy(&f.original);
            let new = String::from_utf8_lossy(&f.fixed);
            let diff = similar::TextDiff::from_lines(old.as_ref(), new.as_ref());
            out.push_str(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{}", f.relative), &format!("b/{}", f.relative))
                    .to_string(),
            );
        }
        out
    }

    /// Writes every planned file (no journal: see [`crate::journal::apply`] for that).
    pub fn write_files(&self) -> Result<()> {
        for f in &self.files {
            std::fs::write(&f.path, &f.fixed).map_err(|e| Error::io(&f.path, e))?;
        }
        Ok(())
    }
}

/// Plans the fixes for the files of a scan that have fixable violations.
pub fn plan(config: &Config, results: &[FileResult]) -> Plan {
    let mut plan = Plan::default();
    for result in results {
        if !result
            .violations
            .iter()
            .any(|v| v.kind == Kind::DeprecatedImport)
        {
            continue;
        }
        let relative = result.file.relative.clone();
        let original = match std::fs::read(&result.file.path) {
            Ok(b) => b,
            Err(e) => {
                plan.skipped.push((relative, format!("cannot read: {e}")));
                continue;
            }
        };
        let fresh = analyse_file(config, result.file.clone(), &original);
        if let Some(p) = &fresh.parse_error {
            plan.skipped.push((
                relative,
                format!("syntax error at {}:{}; never edited", p.line, p.column),
            ));
            continue;
        }
        let fixes: Vec<&crate::violation::Violation> = fresh
            .violations
            .iter()
            .filter(|v| v.kind == Kind::DeprecatedImport)
            .collect();
        let edits: Vec<Edit> = fixes.iter().flat_map(|v| v.edits.iter().cloned()).collect();
        if edits.is_empty() {
            plan.unfixed.extend(fixes.iter().map(|v| Unfixed::of(v)));
            continue;
        }
        let fixed = match apply_edits(&original, edits) {
            Ok(f) => f,
            Err(reason) => {
                plan.skipped.push((relative, reason));
                continue;
            }
        };
        let reparsed = syntax::parse(result.file.language, &fixed);
        if reparsed.as_ref().is_none_or(|t| t.root_node().has_error()) {
            plan.skipped.push((
                relative,
                "the rewrite would not parse; left unchanged".into(),
            ));
            continue;
        }
        // What the rewrite did not repair (for example a Rust path split across nested groups).
        let after = analyse_file(config, result.file.clone(), &fixed);
        let remaining: Vec<Unfixed> = after
            .violations
            .iter()
            .filter(|v| v.kind == Kind::DeprecatedImport)
            .map(Unfixed::of)
            .collect();
        let repaired = fixes.len().saturating_sub(remaining.len());
        plan.unfixed.extend(remaining);
        plan.files.push(FilePlan {
            path: result.file.path.clone(),
            relative,
            original,
            fixed,
            repaired,
        });
    }
    plan
}

/// Applies non-overlapping edits to `original`. Insertions at the same offset keep their order.
pub fn apply_edits(original: &[u8], mut edits: Vec<Edit>) -> std::result::Result<Vec<u8>, String> {
    edits.sort_by_key(|e| (e.start, e.end));
    edits.dedup();
    let mut out = Vec::with_capacity(original.len() + 64);
    let mut at = 0;
    for e in &edits {
        if e.start < at || e.end > original.len() || e.start > e.end {
            return Err(format!(
                "overlapping edits at byte {}; left unchanged",
                e.start
            ));
        }
        out.extend_from_slice(&original[at..e.start]);
        out.extend_from_slice(e.text.as_bytes());
        at = e.end;
    }
    out.extend_from_slice(&original[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_insertions_keep_their_order() {
        let edits = vec![
            Edit {
                start: 4,
                end: 4,
                text: "X".into(),
            },
            Edit {
                start: 0,
                end: 1,
                text: "A".into(),
            },
            Edit {
                start: 4,
                end: 4,
                text: "Y".into(),
            },
        ];
        assert_eq!(apply_edits(b"abcd", edits).unwrap(), b"AbcdXY".to_vec());
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let edits = vec![
            Edit {
                start: 0,
                end: 3,
                text: String::new(),
            },
            Edit {
                start: 2,
                end: 4,
                text: String::new(),
            },
        ];
        assert_eq!(
            apply_edits(b"abcd", edits),
            Err("overlapping edits at byte 2; left unchanged".to_owned())
        );
    }
}
