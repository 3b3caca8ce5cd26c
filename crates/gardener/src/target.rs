//! What a command works on: the rules and the files.
//!
//! Without `--config`, the rules are found the way ruff finds its settings: from each path
//! given (a file's folder, or the folder itself), walk up to the nearest folder with an
//! `ssot.toml`, or a `pyproject.toml` that has a `[tool.ssot]` table. So `pre-commit`, which
//! passes file names, finds the same rules as a scan of the whole tree. Paths in the rules
//! (`allow`, `exclude`, `src`) are relative to the rules file's folder, the *root*; reported
//! paths are relative to it too when the file is below it.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::modules::ModuleNamer;
use crate::walk::{self, SourceFile};

/// A loaded scan target.
#[derive(Debug)]
pub struct Target {
    /// The folder of the rules file, absolute.
    pub root: PathBuf,
    /// The compiled rules.
    pub config: Config,
    /// The files to scan, sorted by relative path.
    pub files: Vec<SourceFile>,
    /// Where Python modules are looked up (source roots, then package bases seen).
    pub module_roots: Vec<PathBuf>,
}

impl Target {
    /// Resolves `paths` (default `.`) and `config` (default: discovered) into a target.
    pub fn load(paths: &[PathBuf], config: Option<&Path>) -> Result<Target> {
        let paths: Vec<PathBuf> = if paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            paths.to_vec()
        };
        let starts = paths
            .iter()
            .map(|p| {
                std::fs::canonicalize(p).map_err(|e| {
                    Error::Usage(format!("{}: cannot scan this path: {e}", p.display()))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let config = match config {
            Some(c) => Config::load(c)?,
            None => discover_for_all(&starts)?,
        };
        let root = config.dir.clone();
        let mut namer = ModuleNamer::new(config.src.clone());
        let files = walk::collect(&root, &starts, &config.exclude, &mut namer)?;
        let mut module_roots = namer.roots();
        if !module_roots.contains(&root) {
            module_roots.push(root.clone());
        }
        Ok(Target {
            root,
            config,
            files,
            module_roots,
        })
    }
}

/// The one rules file that every start path finds; an error if they find none or several.
fn discover_for_all(starts: &[PathBuf]) -> Result<Config> {
    let mut found: Option<Config> = None;
    for start in starts {
        let config = discover(start)?.ok_or_else(|| {
            Error::Usage(format!(
                "{}: no rules found here or in any folder above (looked for ssot.toml, and \
                 pyproject.toml with a [tool.ssot] table); create one or pass --config FILE",
                start.display()
            ))
        })?;
        match &found {
            None => found = Some(config),
            Some(first) if first.path == config.path => {}
            Some(first) => {
                return Err(Error::Usage(format!(
                    "{} uses the rules in {} but {} uses {}; run once per project or pass --config",
                    starts[0].display(),
                    first.path.display(),
                    start.display(),
                    config.path.display()
                )));
            }
        }
    }
    found.ok_or_else(|| Error::Usage("no paths to scan".into()))
}

/// The nearest rules at or above `start` (a file or a folder): `ssot.toml` first, then a
/// `pyproject.toml` with `[tool.ssot]`, in each folder from the nearest up.
pub fn discover(start: &Path) -> Result<Option<Config>> {
    let mut dir = if start.is_dir() {
        Some(start)
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        let ssot = d.join("ssot.toml");
        if ssot.is_file() {
            return Config::load(&ssot).map(Some);
        }
        let pyproject = d.join("pyproject.toml");
        if pyproject.is_file() {
            let text = std::fs::read_to_string(&pyproject).map_err(|e| Error::io(&pyproject, e))?;
            // Another tool's pyproject.toml is none of our business unless it mentions us.
            if text.contains("ssot")
                && let Some(config) = Config::parse_pyproject(&pyproject, &text)?
            {
                return Ok(Some(config));
            }
        }
        dir = d.parent();
    }
    Ok(None)
}
