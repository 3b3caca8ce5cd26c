//! The fix journal and `garden rollback`.
//!
//! Before `garden fix` writes anything it stores, in a journal directory, every original file
//! byte for byte and the SHA-256 of what it is about to write. Rollback restores a file only if
//! it still hashes to that value: a file edited since the fix is refused rather than silently
//! overwritten, and stays in the journal so that it can be dealt with and rolled back later.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fix::Plan;
use crate::violation::hex;

const MANIFEST: &str = "manifest.json";
const VERSION: u32 = 1;

/// The default journal directory under a scan root.
pub fn default_dir(root: &Path) -> PathBuf {
    root.join(".ssot").join("journal")
}

/// One file the fix changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// The file, relative to `Manifest::root`.
    pub path: String,
    /// Where its original bytes are, relative to the journal directory.
    pub original: String,
    /// SHA-256 of the original bytes.
    pub original_sha256: String,
    /// SHA-256 of the bytes the fix wrote.
    pub result_sha256: String,
}

/// The journal's index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Format version.
    pub version: u32,
    /// The absolute scan root the paths are relative to.
    pub root: PathBuf,
    /// The changed files.
    pub entries: Vec<Entry>,
}

/// What a rollback did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rollback {
    /// Files restored to their original bytes.
    pub restored: Vec<String>,
    /// `(path, reason)` for files left as they are.
    pub refused: Vec<(String, String)>,
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Journals `plan` into `dir`, then writes the fixed files. Refuses if a journal is already
/// there, because a second fix would make the first one impossible to roll back.
pub fn apply(plan: &Plan, root: &Path, dir: &Path) -> Result<Manifest> {
    let manifest_path = dir.join(MANIFEST);
    if manifest_path.exists() {
        return Err(Error::Usage(format!(
            "{}: a fix journal already exists; run `garden rollback` or remove it first",
            manifest_path.display()
        )));
    }
    let originals = dir.join("originals");
    std::fs::create_dir_all(&originals).map_err(|e| Error::io(&originals, e))?;
    let mut entries = Vec::with_capacity(plan.files.len());
    for (i, f) in plan.files.iter().enumerate() {
        let name = format!("originals/{i:05}.orig");
        let stored = dir.join(&name);
        std::fs::write(&stored, &f.original).map_err(|e| Error::io(&stored, e))?;
        entries.push(Entry {
            path: f.relative.clone(),
            original: name,
            original_sha256: sha256(&f.original),
            result_sha256: sha256(&f.fixed),
        });
    }
    let manifest = Manifest {
        version: VERSION,
        root: root.to_path_buf(),
        entries,
    };
    save(&manifest, &manifest_path)?;
    plan.write_files()?;
    Ok(manifest)
}

fn save(manifest: &Manifest, path: &Path) -> Result<()> {
    let text =
        serde_json::to_string_pretty(manifest).map_err(|e| Error::data(path, e.to_string()))?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

/// Restores every journaled file that is unchanged since the fix; removes the journal when
/// nothing is left in it.
pub fn rollback(dir: &Path) -> Result<Rollback> {
    let manifest_path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| Error::io(&manifest_path, e))?;
    let mut manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::data(
            &manifest_path,
            format!(
                "line {} column {}: not a fix journal: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    if manifest.version != VERSION {
        return Err(Error::data(
            &manifest_path,
            format!("journal version {} is not supported", manifest.version),
        ));
    }
    let mut outcome = Rollback::default();
    let mut remaining = Vec::new();
    for entry in manifest.entries.drain(..) {
        let target = manifest.root.join(&entry.path);
        let current = std::fs::read(&target);
        let reason = match &current {
            Err(e) => Some(format!("cannot read: {e}")),
            Ok(bytes) if sha256(bytes) != entry.result_sha256 => {
                Some("changed since the fix; not restored".to_owned())
            }
            Ok(_) => None,
        };
        if let Some(reason) = reason {
            outcome.refused.push((entry.path.clone(), reason));
            remaining.push(entry);
            continue;
        }
        let stored = dir.join(&entry.original);
        let original = std::fs::read(&stored).map_err(|e| Error::io(&stored, e))?;
        if sha256(&original) != entry.original_sha256 {
            return Err(Error::data(
                &stored,
                "journal copy does not match its recorded hash",
            ));
        }
        std::fs::write(&target, &original).map_err(|e| Error::io(&target, e))?;
        outcome.restored.push(entry.path);
    }
    if remaining.is_empty() {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    } else {
        manifest.entries = remaining;
        save(&manifest, &manifest_path)?;
    }
    Ok(outcome)
}
