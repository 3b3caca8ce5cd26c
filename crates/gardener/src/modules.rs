//! Python module names as Python sees them.
//!
//! A file's module is decided by the packages above it: the chain of folders that contain an
//! `__init__.py`, as the import system walks them, optionally topped by a source root (the
//! `src` setting, as in ruff and mypy: a folder that is on `sys.path`, below which folders
//! without `__init__.py` are namespace packages). It never depends on where the rules file
//! is: with the rules outside the tree, `from ..cache import x` still resolves and the
//! canonical module is still recognised.
//!
//! The same roots find a module's file (for `fix`, which checks that the replacement module
//! defines every name it is about to import).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A Python file's place in the import system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleName {
    /// The dotted module name as segments (`a/b/__init__.py` is `["a", "b"]`).
    pub module: Vec<String>,
    /// The package that a leading `.` refers to: the module itself for an `__init__.py`,
    /// its parent otherwise.
    pub package: Vec<String>,
}

/// Names Python modules, remembering which folders are packages.
#[derive(Debug, Default)]
pub struct ModuleNamer {
    src: Vec<PathBuf>,
    is_package: HashMap<PathBuf, bool>,
    bases: Vec<PathBuf>,
}

impl ModuleNamer {
    /// A namer with the given absolute source roots.
    pub fn new(src: Vec<PathBuf>) -> Self {
        ModuleNamer {
            src,
            ..ModuleNamer::default()
        }
    }

    fn package_dir(&mut self, dir: &Path) -> bool {
        if let Some(&known) = self.is_package.get(dir) {
            return known;
        }
        let known = dir.join("__init__.py").is_file() || dir.join("__init__.pyi").is_file();
        self.is_package.insert(dir.to_path_buf(), known);
        known
    }

    /// The module of the Python file at absolute `path`.
    pub fn name(&mut self, path: &Path) -> ModuleName {
        let Some(dir) = path.parent() else {
            return ModuleName::default();
        };
        // Walk up the package chain; a source root is a sys.path entry, never a package.
        let mut base = dir.to_path_buf();
        let mut at_root = self.src.iter().any(|s| s == &base);
        while !at_root && self.package_dir(&base) {
            match base.parent() {
                Some(parent) => base = parent.to_path_buf(),
                None => break,
            }
            at_root = self.src.iter().any(|s| s == &base);
        }
        if !at_root
            && let Some(root) = self
                .src
                .iter()
                .filter(|s| base.starts_with(s))
                .max_by_key(|s| s.components().count())
        {
            // Folders between a source root and the package chain are namespace packages.
            base = root.clone();
        }
        if !self.bases.contains(&base) {
            self.bases.push(base.clone());
        }
        let mut module: Vec<String> = path
            .strip_prefix(&base)
            .unwrap_or(path)
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        if let Some(last) = module.last_mut() {
            let stem = Path::new(last.as_str())
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            *last = stem;
        }
        let is_init = module.last().is_some_and(|m| m == "__init__");
        if is_init {
            module.pop();
        }
        let package = if is_init {
            module.clone()
        } else {
            module[..module.len().saturating_sub(1)].to_vec()
        };
        ModuleName { module, package }
    }

    /// Every folder that module names were taken relative to, source roots first: where
    /// [`find_module`] looks.
    pub fn roots(&self) -> Vec<PathBuf> {
        let mut roots = self.src.clone();
        for b in &self.bases {
            if !roots.contains(b) {
                roots.push(b.clone());
            }
        }
        roots
    }
}

/// The file of `module` under the first of `roots` that has it (`a/b.py`, `a/b.pyi` or
/// `a/b/__init__.py`).
pub fn find_module(roots: &[PathBuf], module: &[String]) -> Option<PathBuf> {
    if module.is_empty() {
        return None;
    }
    for root in roots {
        let mut path = root.clone();
        path.extend(module);
        for candidate in [
            path.with_extension("py"),
            path.with_extension("pyi"),
            path.join("__init__.py"),
            path.join("__init__.pyi"),
        ] {
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, "").expect("write");
    }

    #[test]
    fn modules_follow_the_init_chain_not_the_scan_root() {
        let dir = tempfile::tempdir().expect("temp");
        let root = std::fs::canonicalize(dir.path()).expect("canonical");
        touch(&root.join("repo/pkg/__init__.py"));
        touch(&root.join("repo/pkg/sub/__init__.py"));
        touch(&root.join("repo/pkg/sub/mod.py"));
        touch(&root.join("repo/loose/script.py"));
        let mut namer = ModuleNamer::new(Vec::new());
        let m = namer.name(&root.join("repo/pkg/sub/mod.py"));
        assert_eq!(m.module, vec!["pkg", "sub", "mod"]);
        assert_eq!(m.package, vec!["pkg", "sub"]);
        let init = namer.name(&root.join("repo/pkg/sub/__init__.py"));
        assert_eq!(init.module, vec!["pkg", "sub"]);
        assert_eq!(init.package, vec!["pkg", "sub"]);
        assert_eq!(
            namer.name(&root.join("repo/loose/script.py")).module,
            vec!["script"]
        );
        assert_eq!(
            find_module(&namer.roots(), &["pkg".into(), "sub".into(), "mod".into()]),
            Some(root.join("repo/pkg/sub/mod.py"))
        );
    }

    #[test]
    fn a_source_root_tops_the_chain_and_makes_namespace_packages() {
        let dir = tempfile::tempdir().expect("temp");
        let root = std::fs::canonicalize(dir.path()).expect("canonical");
        touch(&root.join("src/ns/pkg/__init__.py"));
        touch(&root.join("src/ns/pkg/mod.py"));
        touch(&root.join("src/plain/tool.py"));
        let mut namer = ModuleNamer::new(vec![root.join("src")]);
        assert_eq!(
            namer.name(&root.join("src/ns/pkg/mod.py")).module,
            vec!["ns", "pkg", "mod"]
        );
        assert_eq!(
            namer.name(&root.join("src/plain/tool.py")).module,
            vec!["plain", "tool"]
        );
    }
}
