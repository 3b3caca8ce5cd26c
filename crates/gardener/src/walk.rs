//! Finding the files to scan.
//!
//! Walking is delegated to the `ignore` crate so that `.gitignore`, `.ignore` and hidden
//! directories are respected exactly as `git` and `rg` do; build output such as `target/` is
//! therefore never scanned. On top of that the config's `exclude` globs remove paths, and only
//! `.py`/`.pyi` and `.rs` files are kept, with one exception: a file named on the command line
//! whose first line is a Python shebang (`#!/usr/bin/env python3`) is Python whatever its name,
//! because that is how pre-commit's `types: [python]` picks extensionless scripts and passes
//! them to the hook. Walking a folder does not open every extensionless file to look: like
//! ruff, a tree scan goes by extension.

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
            let named = entry.depth() == 0;
            let Some(language) = Language::of(path)
                .or_else(|| (named && has_python_shebang(path)).then_some(Language::Python))
            else {
                continue;
            };
            let relative = relative_to(root, path);
            if exclude.matches(&relative) {
                continue;
            }
            let module = match language {
                // A script without `.py` cannot be imported, so it is no module.
                Language::Python if Language::of(path).is_some() => namer.name(path),
                Language::Python | Language::Rust => ModuleName::default(),
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

/// Whether the first line of the file at `path` is a shebang that runs Python: `python`,
/// `python3`, `python3.12`, `pypy3`, directly or through `env` (with its flags), as
/// pre-commit's `identify` reads it.
pub fn has_python_shebang(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 256];
    let Ok(read) = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) else {
        return false;
    };
    is_python_shebang(&head[..read])
}

/// Whether `head` (the first bytes of a file) starts with a shebang that runs Python.
pub fn is_python_shebang(head: &[u8]) -> bool {
    let Some(rest) = head.strip_prefix(b"#!") else {
        return false;
    };
    let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let base = |word: &str| word.rsplit('/').next().unwrap_or(word).to_owned();
    let Some(mut program) = words.next().map(base) else {
        return false;
    };
    if program == "env" {
        match words.find(|w| !w.starts_with('-') && !w.contains('=')) {
            Some(w) => program = base(w),
            None => return false,
        }
    }
    program.starts_with("python") || program.starts_with("pypy")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_shebangs_are_told_from_other_interpreters() {
        for yes in [
            &b"#!/usr/bin/env python3\nimport redis\n"[..],
            b"#!/usr/bin/python",
            b"#! /usr/local/bin/python3.12 -u\n",
            b"#!/usr/bin/env -S pypy3 -O\n",
        ] {
            assert!(is_python_shebang(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b"#!/bin/sh\npython3 x.py\n"[..],
            b"#!/usr/bin/env bash",
            b"# python3\n",
            b"import redis\n",
            b"#!/usr/bin/env\n",
        ] {
            assert!(!is_python_shebang(no), "{}", String::from_utf8_lossy(no));
        }
    }
}
