//! The fix journal and `garden rollback`.
//!
//! Each `garden fix` is one journal entry: a numbered folder (`0001`, `0002`, ..) under the
//! journal directory holding every original file byte for byte and the SHA-256 of what the
//! fix wrote. So the phases of a migration (`fix --select deprecated_import`, then
//! `--select direct_instantiation`) can be undone one at a time, newest first
//! (`rollback --last`), or all together (`rollback --all`). Rollback restores a file only if
//! it still hashes to what the fix wrote: a file edited since is refused rather than silently
//! overwritten, and stays in its entry so that it can be dealt with and rolled back later.
//! A file that already has its original bytes again (restored by hand) counts as restored.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fix::Plan;
use crate::violation::hex;

const MANIFEST: &str = "manifest.json";
const VERSION: u32 = 2;

/// The default journal directory under a scan root.
pub fn default_dir(root: &Path) -> PathBuf {
    root.join(".ssot").join("journal")
}

/// One file the fix changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// The file, relative to `Manifest::root`.
    pub path: String,
    /// Where its original bytes are, relative to the entry's folder.
    pub original: String,
    /// SHA-256 of the original bytes.
    pub original_sha256: String,
    /// SHA-256 of the bytes the fix wrote.
    pub result_sha256: String,
}

/// The index of one journal entry (one `fix`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Format version.
    pub version: u32,
    /// The absolute scan root the paths are relative to.
    pub root: PathBuf,
    /// The kinds this fix repaired (its phase).
    pub kinds: Vec<String>,
    /// When it ran, UTC.
    pub timestamp: String,
    /// The changed files.
    pub entries: Vec<Entry>,
}

/// Which entries a rollback undoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The newest entry only.
    Last,
    /// Every entry, newest first.
    All,
}

/// What a rollback did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rollback {
    /// The entries undone (folder names), newest first.
    pub entries: Vec<String>,
    /// Files restored to their original bytes.
    pub restored: Vec<String>,
    /// Files that already had their original bytes (restored by hand): nothing to write.
    pub already_restored: Vec<String>,
    /// `(path, reason)` for files left as they are.
    pub refused: Vec<(String, String)>,
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The journal's entries, oldest first: `(name, folder)`.
pub fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for item in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let item = item.map_err(|e| Error::io(dir, e))?;
        let name = item.file_name().to_string_lossy().into_owned();
        if name.len() == 4
            && name.bytes().all(|b| b.is_ascii_digit())
            && item.path().join(MANIFEST).is_file()
        {
            found.push((name, item.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Journals `plan` as a new entry under `dir`, then writes the fixed files. Returns the
/// entry's folder.
pub fn apply(plan: &Plan, root: &Path, dir: &Path) -> Result<PathBuf> {
    let next = entries(dir)?
        .last()
        .and_then(|(n, _)| n.parse::<u32>().ok())
        .map_or(1, |n| n + 1);
    let entry_dir = dir.join(format!("{next:04}"));
    let originals = entry_dir.join("originals");
    std::fs::create_dir_all(&originals).map_err(|e| Error::io(&originals, e))?;
    let mut entries = Vec::with_capacity(plan.files.len());
    for (i, f) in plan.files.iter().enumerate() {
        let name = format!("originals/{i:05}.orig");
        let stored = entry_dir.join(&name);
        std::fs::write(&stored, &f.original).map_err(|e| Error::io(&stored, e))?;
        entries.push(Entry {
            path: f.relative.clone(),
            original: name,
            original_sha256: sha256(&f.original),
            result_sha256: sha256(&f.fixed),
        });
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let manifest = Manifest {
        version: VERSION,
        root: root.to_path_buf(),
        kinds: plan.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        timestamp: crate::history::utc_timestamp(secs),
        entries,
    };
    save(&manifest, &entry_dir.join(MANIFEST))?;
    plan.write_files()?;
    Ok(entry_dir)
}

fn save(manifest: &Manifest, path: &Path) -> Result<()> {
    let text =
        serde_json::to_string_pretty(manifest).map_err(|e| Error::data(path, e.to_string()))?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

fn load(path: &Path) -> Result<Manifest> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::data(
            path,
            format!(
                "line {} column {}: not a fix journal entry ({})",
                e.line(),
                e.column(),
                plain(&e)
            ),
        )
    })?;
    if manifest.version != VERSION {
        return Err(Error::data(
            path,
            format!("journal version {} is not supported", manifest.version),
        ));
    }
    Ok(manifest)
}

/// serde_json's message without its position suffix (the position is given separately).
fn plain(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Undoes the newest entry (`Which::Last`) or every entry, newest first (`Which::All`).
/// An entry is removed once all its files are restored; the journal directory once it is
/// empty.
pub fn rollback(dir: &Path, which: Which) -> Result<Rollback> {
    let mut all = entries(dir)?;
    if all.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no fix journal here, so there is nothing to roll back",
            dir.display()
        )));
    }
    all.reverse();
    if which == Which::Last {
        all.truncate(1);
    }
    let mut outcome = Rollback::default();
    for (name, entry_dir) in all {
        rollback_entry(&entry_dir, &mut outcome)?;
        outcome.entries.push(name);
    }
    if entries(dir)?.is_empty() {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    Ok(outcome)
}

fn rollback_entry(dir: &Path, outcome: &mut Rollback) -> Result<()> {
    let manifest_path = dir.join(MANIFEST);
    let mut manifest = load(&manifest_path)?;
    let mut remaining = Vec::new();
    for entry in manifest.entries.drain(..) {
        let target = manifest.root.join(&entry.path);
        let current = std::fs::read(&target);
        if current
            .as_ref()
            .is_ok_and(|bytes| sha256(bytes) == entry.original_sha256)
        {
            outcome.already_restored.push(entry.path);
            continue;
        }
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
    Ok(())
}
