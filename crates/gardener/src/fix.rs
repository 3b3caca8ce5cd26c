//! `garden fix`: repairing violations in phases, as the original system migrated.
//!
//! A phase is one kind: `deprecated_import`, then `deprecated_name`, then
//! `direct_instantiation` (`--select` picks some; the default runs all three in that order).
//! Each phase re-analyses the bytes the previous one produced, so its edits always match the
//! text they change and never overlap another phase's. The analysers compute the repairs
//! (see [`crate::python`]) and check them: a name is only imported from a module that defines
//! it. After every phase the result must parse; a file that had a syntax error before is
//! never edited, and neither is a file in a declared encoding other than UTF-8 (see
//! [`crate::encoding`]). An import line that two phases both wrote is kept once. What the fix
//! leaves is listed as `needs_review`, with the reason.

use std::path::PathBuf;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::python::defined::ModuleIndex;
use crate::scan::{FileResult, analyse_file};
use crate::violation::{Edit, Kind, Violation};
use crate::walk::Language;

/// The kinds `fix` repairs, in the order it repairs them.
pub const PHASES: [Kind; 3] = [
    Kind::DeprecatedImport,
    Kind::DeprecatedName,
    Kind::DirectInstantiation,
];

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
    /// How many violations the change resolves.
    pub repaired: usize,
    /// How many violations of the selected kinds the file still has (each is in
    /// [`Plan::needs_review`]). A file can be edited and resolve none: a rewrite that moves
    /// some names out of a deprecated import leaves the import, and its violation, in place.
    pub left: usize,
}

/// A violation `fix` leaves for a person, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The file, relative to the scan root.
    pub path: String,
    /// 1-based line (after the fix, if the file was otherwise fixed).
    pub line: usize,
    /// The violation's kind.
    pub kind: Kind,
    /// Why it was not rewritten.
    pub reason: String,
}

/// Every planned change, the files left alone and the violations left for review.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The phases this plan ran, in order.
    pub kinds: Vec<Kind>,
    /// Files to rewrite.
    pub files: Vec<FilePlan>,
    /// `(relative path, reason)` for files with violations to fix that will not be touched.
    pub skipped: Vec<(String, String)>,
    /// Violations of the selected kinds that remain after the fix.
    pub needs_review: Vec<Review>,
}

impl Plan {
    /// Violations the plan resolves.
    pub fn repaired(&self) -> usize {
        self.files.iter().map(|f| f.repaired).sum()
    }

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

/// The phases for `select` (empty: all), in [`PHASES`] order.
pub fn phases(select: &[Kind]) -> Vec<Kind> {
    PHASES
        .into_iter()
        .filter(|k| select.is_empty() || select.contains(k))
        .collect()
}

/// Plans the fixes of the `select`ed kinds (empty: all) for the files of a scan, checking
/// replacement modules in `index`.
pub fn plan(config: &Config, index: &ModuleIndex, results: &[FileResult], select: &[Kind]) -> Plan {
    let kinds = phases(select);
    let mut plan = Plan {
        kinds: kinds.clone(),
        ..Plan::default()
    };
    let selected = |v: &Violation| kinds.contains(&v.kind);
    for result in results {
        if !result.violations.iter().any(selected) {
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
        let fresh = analyse_file(config, result.file.clone(), &original, Some(index));
        if let Some(p) = &fresh.unread {
            plan.skipped.push((relative, p.message.clone()));
            continue;
        }
        if let Some((encoding, line)) = &fresh.declared_encoding {
            plan.skipped.push((
                relative,
                format!(
                    "it is {encoding} text (declared on line {line}) and fix edits only UTF-8 \
                     files; repair it by hand, or save it as UTF-8 and run fix again"
                ),
            ));
            continue;
        }
        if let Some(p) = fresh.parse_errors.first() {
            plan.skipped.push((
                relative,
                format!("syntax error at {}:{}; never edited", p.line, p.column),
            ));
            continue;
        }
        let before = fresh.violations.iter().filter(|v| selected(v)).count();
        let mut bytes = original.clone();
        let mut current = fresh;
        let mut refused = None;
        for phase in &kinds {
            let edits: Vec<Edit> = current
                .violations
                .iter()
                .filter(|v| v.kind == *phase)
                .flat_map(|v| v.repair.edits.iter().cloned())
                .collect();
            if edits.is_empty() {
                continue;
            }
            let next = match apply_edits(&bytes, edits) {
                Ok(next) => next,
                Err(reason) => {
                    refused = Some(reason);
                    break;
                }
            };
            let after = analyse_file(config, result.file.clone(), &next, Some(index));
            if let Some(p) = after.parse_errors.first() {
                refused = Some(format!(
                    "the {} rewrite would not parse ({}:{}: {}); left unchanged",
                    phase.as_str(),
                    p.line,
                    p.column,
                    p.message
                ));
                break;
            }
            bytes = next;
            current = after;
        }
        if let Some(reason) = refused {
            plan.skipped.push((relative, reason));
            continue;
        }
        if result.file.language == Language::Python
            && let Some(tidied) = crate::python::drop_repeated_imports(&original, &bytes)
        {
            current = analyse_file(config, result.file.clone(), &tidied, Some(index));
            bytes = tidied;
        }
        if result.file.language == Language::Python
            && let Some(reason) =
                crate::python::imports_missing_names(config, index, &original, &bytes)
        {
            plan.skipped.push((relative, reason));
            continue;
        }
        let remaining: Vec<&Violation> =
            current.violations.iter().filter(|v| selected(v)).collect();
        plan.needs_review.extend(remaining.iter().map(|v| {
            Review {
                path: v.path.clone(),
                line: v.line,
                kind: v.kind,
                reason: v
                    .repair
                    .review
                    .clone()
                    .unwrap_or_else(|| "fix has no rewrite for this form".to_owned()),
            }
        }));
        if bytes != original {
            plan.files.push(FilePlan {
                path: result.file.path.clone(),
                relative,
                original,
                fixed: bytes,
                repaired: before.saturating_sub(remaining.len()),
                left: remaining.len(),
            });
        }
    }
    plan
}

/// Applies non-overlapping edits to `original`. Identical edits (the one import several
/// repairs add) count once; insertions at the same offset keep their order.
pub fn apply_edits(original: &[u8], mut edits: Vec<Edit>) -> std::result::Result<Vec<u8>, String> {
    edits.sort_by_key(|e| (e.start, e.end));
    edits.dedup();
    let mut out = Vec::with_capacity(original.len() + 64);
    let mut at = 0;
    for e in &edits {
        if e.start < at || e.end > original.len() || e.start > e.end {
            let line =
                memchr::memchr_iter(b'\n', &original[..e.start.min(original.len())]).count() + 1;
            return Err(format!(
                "two repairs would rewrite the same code at line {line}, so fix cannot do \
                 both; left unchanged for a hand edit"
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
            Err(
                "two repairs would rewrite the same code at line 1, so fix cannot do both; left \
                 unchanged for a hand edit"
                    .to_owned()
            )
        );
    }

    #[test]
    fn phases_keep_their_order_whatever_the_selection_order() {
        assert_eq!(
            phases(&[Kind::DirectInstantiation, Kind::DeprecatedImport]),
            vec![Kind::DeprecatedImport, Kind::DirectInstantiation]
        );
        assert_eq!(phases(&[]), PHASES.to_vec());
    }
}
