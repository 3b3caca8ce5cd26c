//! Baselines: accept today's violations, fail only on new ones.
//!
//! A baseline is a JSON list of fingerprints with enough context (rule, kind, path, line,
//! message) to tell a reader what was accepted. Comparison is by fingerprint as a multiset, so
//! two identical violations in one file are two entries and fixing one of them shows up.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::violation::{Kind, Violation};

/// The format version written to new baselines.
const VERSION: u32 = 1;

/// One accepted violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The violation's fingerprint (the only field used for matching).
    pub fingerprint: String,
    /// The rule it broke.
    pub rule: String,
    /// Its kind.
    pub kind: Kind,
    /// Its file.
    pub path: String,
    /// Its line when the baseline was taken.
    pub line: usize,
    /// Its message.
    pub message: String,
}

/// A recorded set of accepted violations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Format version.
    pub version: u32,
    /// The accepted violations.
    pub violations: Vec<Entry>,
}

/// The result of comparing a scan with a baseline.
#[derive(Debug)]
pub struct Comparison<'a> {
    /// Violations not in the baseline: these fail the scan.
    pub new: Vec<&'a Violation>,
    /// Baseline entries no longer found: fixed since the baseline was taken.
    pub fixed: Vec<&'a Entry>,
    /// Violations that were already in the baseline.
    pub known: usize,
}

impl Baseline {
    /// A baseline accepting `violations`.
    pub fn from_violations<'a>(violations: impl IntoIterator<Item = &'a Violation>) -> Self {
        Baseline {
            version: VERSION,
            violations: violations
                .into_iter()
                .map(|v| Entry {
                    fingerprint: v.fingerprint.clone(),
                    rule: v.rule.clone(),
                    kind: v.kind,
                    path: v.path.clone(),
                    line: v.line,
                    message: v.message.clone(),
                })
                .collect(),
        }
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let baseline: Baseline = serde_json::from_str(&text).map_err(|e| {
            Error::data(
                path,
                format!(
                    "line {} column {}: not a baseline: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        if baseline.version != VERSION {
            return Err(Error::data(
                path,
                format!(
                    "baseline version {} is not supported (expected {VERSION})",
                    baseline.version
                ),
            ));
        }
        Ok(baseline)
    }

    /// Writes the baseline as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text =
            serde_json::to_string_pretty(self).map_err(|e| Error::data(path, e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
    }

    /// Splits `current` into new and known violations and lists the fixed entries.
    pub fn compare<'a>(
        &'a self,
        current: impl IntoIterator<Item = &'a Violation>,
    ) -> Comparison<'a> {
        let mut remaining: HashMap<&str, Vec<&Entry>> = HashMap::new();
        for e in &self.violations {
            remaining.entry(e.fingerprint.as_str()).or_default().push(e);
        }
        let mut new = Vec::new();
        let mut known = 0;
        for v in current {
            match remaining.get_mut(v.fingerprint.as_str()).and_then(Vec::pop) {
                Some(_) => known += 1,
                None => new.push(v),
            }
        }
        let mut fixed: Vec<&Entry> = remaining.into_values().flatten().collect();
        fixed.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        Comparison { new, fixed, known }
    }
}
