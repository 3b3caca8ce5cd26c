//! What a scan finds: violations, their kinds and their fingerprints.
//!
//! A fingerprint identifies a violation across edits of the file so that a baseline keeps
//! matching after lines are inserted above it. It therefore hashes what the violation *is*
//! (rule, kind, file, the name involved and the text of its line, whitespace-normalised) and the
//! how-many-th such occurrence it is in the file, but never its line number.

use std::collections::HashMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The kinds of violation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An import of a module the rule deprecates.
    DeprecatedImport,
    /// An import or use of a name the rule deprecates (such as a compatibility alias).
    DeprecatedName,
    /// A managed type constructed outside the rule's allowed paths.
    DirectInstantiation,
    /// A class, struct or impl whose name matches the rule's `competing` patterns.
    CompetingImplementation,
    /// An `ssot: allow(..)` comment without a reason.
    UnjustifiedSuppression,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 5] = [
        Kind::DeprecatedImport,
        Kind::DeprecatedName,
        Kind::DirectInstantiation,
        Kind::CompetingImplementation,
        Kind::UnjustifiedSuppression,
    ];

    /// The snake_case name used in JSON, SARIF rule ids and the history file.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DeprecatedImport => "deprecated_import",
            Kind::DeprecatedName => "deprecated_name",
            Kind::DirectInstantiation => "direct_instantiation",
            Kind::CompetingImplementation => "competing_implementation",
            Kind::UnjustifiedSuppression => "unjustified_suppression",
        }
    }

    /// The kind named `text` (its [`Kind::as_str`] spelling).
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// One sentence on what the kind means, for SARIF rule descriptions and the HTML report.
    pub fn description(self) -> &'static str {
        match self {
            Kind::DeprecatedImport => "Import of a module that the one manager replaced.",
            Kind::DeprecatedName => "Use of a name that the one manager's module replaced.",
            Kind::DirectInstantiation => {
                "Construction of a managed type outside the module that owns it."
            }
            Kind::CompetingImplementation => "A definition that competes with the one manager.",
            Kind::UnjustifiedSuppression => "A suppression comment that gives no reason.",
        }
    }
}

/// A byte-range replacement that `garden fix` applies to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// First byte replaced.
    pub start: usize,
    /// One past the last byte replaced (equal to `start` for an insertion).
    pub end: usize,
    /// The new text.
    pub text: String,
}

/// How `garden fix` would repair a violation: edits, or why a person has to look.
///
/// Both can be set: a `from old import A, B` whose `A` moves to the replacement while `B`,
/// which the replacement lacks, stays for review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repair {
    /// Byte-range edits that repair it (all or part of it).
    pub edits: Vec<Edit>,
    /// Why the fix leaves (some of) it for a person: `needs_review`.
    pub review: Option<String>,
}

impl Repair {
    /// A repair by `edits`.
    pub fn edits(edits: Vec<Edit>) -> Self {
        Repair {
            edits,
            review: None,
        }
    }

    /// No edits; a person has to look, for `reason`.
    pub fn review(reason: impl Into<String>) -> Self {
        Repair {
            edits: Vec::new(),
            review: Some(reason.into()),
        }
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    /// The rule that was broken.
    pub rule: String,
    /// What kind of bypass it is.
    pub kind: Kind,
    /// The file, relative to the scan root, with `/` separators.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong and what to write instead.
    pub message: String,
    /// Stable identity for baselines (see the module docs).
    pub fingerprint: String,
    /// The name the violation is about (module, type or definition), part of the fingerprint.
    #[serde(skip)]
    pub subject: String,
    /// How `garden fix` would repair it (computed only while planning a fix).
    #[serde(skip)]
    pub repair: Repair,
}

/// Fills in the fingerprints of one file's violations, which must be in source order.
pub fn assign_fingerprints(violations: &mut [Violation], line_text: impl Fn(usize) -> String) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for v in violations.iter_mut() {
        let normalised: String = line_text(v.line)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let key = format!(
            "{}\0{}\0{}\0{}\0{}",
            v.rule,
            v.kind.as_str(),
            v.path,
            v.subject,
            normalised
        );
        let n = seen.entry(key.clone()).or_insert(0);
        *n += 1;
        let digest = Sha256::digest(format!("{key}\0{n}").as_bytes());
        v.fingerprint = hex(&digest[..8]);
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
