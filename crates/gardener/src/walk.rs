//! Finding the files to scan.
//!
//! Walking is delegated to the `ignore` crate so that `.gitignore`, `.ignore` and hidden
//! directories are respected exactly as `git` and `rg` do; build output such as `target/` is
//! therefore never scanned. On top of that the config's `exclude` globs remove paths, and only
//! `.py`/`.pyi` and `.rs` files are kept.

use std::path::{Path, PathBuf};

use crate::config::PathGlobs;
use crate::error::{Error, Result};
use crate::modules::{ModuleName, ModuleNamer};

/// The languages the gardener understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// `.py` and `.pyi` files, parsed with ruff's parser.
    Python,
    /// `.rs` files, checked with syn and read with tree-sitter-rust.
    Rust,
}

impl Language {
    /// The language of a path, from its extension.
    pub fn of(path: &Path) -> Option<Language> {
        match path.extension()?.to_str()? {
            "py" | "pyi" => Some(Language::Python),
            "rs" => Some(Language::Rust),
            _ => None,
        }
    }
}

/// One file to scan.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Where to read it.
    pub path: PathBuf,
    /// The path relative to the scan root with `/` separators: what rules and output use.
    pub relative: String,
    /// Its language.
    pub language: Language,
    /// Its Python module (empty for Rust files).
    pub module: ModuleName,
}

/// Lists the source files under `paths` (files or directories), relative to `root`, sorted by
/// relative path so that output is stable across runs and machines. Python files get their
/// module name from `namer`.
pub fn collect(
    root: &Path,
    paths: &[PathBuf],
    exclude: &PathGlobs,
    namer: &mut ModuleNamer,
) -> Result<Vec<SourceFile>> {
    let mut files = Vec::new();
    for start in paths {
        if !start.exists() {
            return Err(Error::Usage(format!(
                "{}: no such file or directory",
                start.display()
            )));
        }
        let walker = ignore::WalkBuilder::new(start)
            .require_git(false)
            .follow_links(false)
            .build();
        for entry in walker {
            let entry = entry.map_err(|e| Error::Usage(format!("{}: {e}", start.display())))?;
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path();
            let Some(language) = Language::of(path) else {
                continue;
            };
            let relative = relative_to(root, path);
            if exclude.matches(&relative) {
                continue;
            }
            let module = match language {
                Language::Python => namer.name(path),
                Language::Rust => ModuleName::default(),
            };
            files.push(SourceFile {
                path: path.to_owned(),
                relative,
                language,
                module,
            });
        }
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    files.dedup_by(|a, b| a.relative == b.relative);
    Ok(files)
}

/// `path` relative to `root` with `/` separators; for a path outside `root`, relative to the
/// current folder if below it, else absolute.
pub fn relative_to(root: &Path, path: &Path) -> String {
    let join = |p: &Path| {
        p.components()
            .filter_map(|c| match c {
                std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    if let Ok(p) = path.strip_prefix(root) {
        return join(p);
    }
    if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize)
        && let Ok(p) = path.strip_prefix(&cwd)
    {
        return join(p);
    }
    path.to_string_lossy().replace('\\', "/")
}
