//! What a command works on: the scan root, the rules and the files.
//!
//! The root is the directory of the rules file; every path in rules and output is relative to
//! it. Without `--config`, the rules are `ssot.toml` in the first scanned directory.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::walk::{self, SourceFile};

/// A loaded scan target.
#[derive(Debug)]
pub struct Target {
    /// The absolute scan root.
    pub root: PathBuf,
    /// The compiled rules.
    pub config: Config,
    /// The files to scan, sorted by relative path.
    pub files: Vec<SourceFile>,
}

impl Target {
    /// Resolves `paths` (default `.`) and `config` into a target.
    pub fn load(paths: &[PathBuf], config: Option<&Path>) -> Result<Target> {
        let paths: Vec<PathBuf> = if paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            paths.to_vec()
        };
        let absolute = |p: &Path| {
            std::fs::canonicalize(p).map_err(|e| Error::Usage(format!("{}: {e}", p.display())))
        };
        let starts = paths
            .iter()
            .map(|p| absolute(p))
            .collect::<Result<Vec<_>>>()?;
        let config_path = match config {
            Some(c) => c.to_path_buf(),
            None => {
                let first = &starts[0];
                let dir = if first.is_dir() {
                    first.clone()
                } else {
                    first.parent().map(Path::to_path_buf).unwrap_or_default()
                };
                let candidate = dir.join("ssot.toml");
                if !candidate.is_file() {
                    return Err(Error::Usage(format!(
                        "{}: no rules file; pass --config FILE or create ssot.toml there",
                        candidate.display()
                    )));
                }
                candidate
            }
        };
        let config = Config::load(&config_path)?;
        let config_abs = absolute(&config_path)?;
        let root = config_abs
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        let files = walk::collect(&root, &starts, &config.exclude)?;
        Ok(Target {
            root,
            config,
            files,
        })
    }
}
