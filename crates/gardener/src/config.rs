//! The rules file (`ssot.toml`): schema, loading and validation.
//!
//! The file is read once, checked completely, and compiled into [`Config`]: globs become a
//! [`globset::GlobSet`], names become [`QualifiedName`]s. A mistake is reported with the file,
//! line and column of the offending value, because a rule that silently matches nothing is the
//! worst outcome for a guard: it reports "clean" forever.
//!
//! ```toml
//! exclude = ["crates/gardener/tests/fixtures/**"]   # optional: never scanned
//!
//! [[rule]]
//! name = "redis-manager"
//! language = "python"                   # "python", "rust" or "any" (default)
//! canonical = "netra_backend.app.redis_manager"
//! deprecated_imports = [
//!   { module = "auth_service.auth_core.redis_manager", replacement = "netra_backend.app.redis_manager" },
//! ]
//! managed_types = ["RedisManager", "redis::Client"]
//! competing = ["*RedisManager"]
//! allow = ["netra_backend/app/redis_manager.py"]
//! ```

use std::path::{Path, PathBuf};

use globset::{GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::lines::position_of;
use crate::names::{NamePattern, QualifiedName};
use crate::walk::Language;

/// The compiled rules file.
#[derive(Debug)]
pub struct Config {
    /// Where the file was read from (for messages).
    pub path: PathBuf,
    /// Paths that are never scanned, relative to the scan root.
    pub exclude: PathGlobs,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

/// One rule: which module owns a manager, and what bypasses it.
#[derive(Debug)]
pub struct Rule {
    /// The rule's name, used in output and in `ssot: allow(<name>)` suppressions.
    pub name: String,
    /// Which sources the rule applies to.
    pub language: RuleLanguage,
    /// The module (Python) or path (Rust) that owns the one manager, named in messages.
    pub canonical: Option<QualifiedName>,
    /// Modules that must no longer be imported, each with what to import instead.
    pub deprecated_imports: Vec<DeprecatedImport>,
    /// Types that only the canonical module may construct.
    pub managed_types: Vec<QualifiedName>,
    /// Definitions with these names outside `allow` are competing implementations.
    pub competing: Vec<NamePattern>,
    /// Paths (relative to the scan root) where the rule does not apply.
    pub allow: PathGlobs,
}

/// A deprecated module and its replacement.
#[derive(Debug, Clone)]
pub struct DeprecatedImport {
    /// The module that must not be imported (or any of its submodules).
    pub module: QualifiedName,
    /// What `garden fix` imports instead.
    pub replacement: QualifiedName,
}

/// Which language a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RuleLanguage {
    /// Both Python and Rust (names are language-neutral).
    #[default]
    Any,
    /// Python only.
    Python,
    /// Rust only.
    Rust,
}

impl RuleLanguage {
    /// Whether a rule with this setting looks at files of `language`.
    pub fn covers(self, language: Language) -> bool {
        match self {
            RuleLanguage::Any => true,
            RuleLanguage::Python => language == Language::Python,
            RuleLanguage::Rust => language == Language::Rust,
        }
    }
}

/// Path globs matched like `.gitignore` entries: a pattern matches a path or any directory
/// above it, so `crates/cli/src/bench*` covers `crates/cli/src/bench/mod.rs` too.
#[derive(Debug, Clone)]
pub struct PathGlobs {
    set: GlobSet,
    patterns: Vec<String>,
}

impl PathGlobs {
    /// A set that matches nothing.
    pub fn empty() -> Self {
        PathGlobs {
            set: GlobSet::empty(),
            patterns: Vec::new(),
        }
    }

    /// Whether `relative` (with `/` separators) or one of its parent directories matches.
    pub fn matches(&self, relative: &str) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let mut candidate = relative;
        loop {
            if self.set.is_match(candidate) {
                return true;
            }
            match candidate.rfind('/') {
                Some(i) => candidate = &candidate[..i],
                None => return false,
            }
        }
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    #[serde(default)]
    language: RuleLanguage,
    canonical: Option<Spanned<String>>,
    #[serde(default)]
    deprecated_imports: Vec<RawDeprecated>,
    #[serde(default)]
    managed_types: Vec<Spanned<String>>,
    #[serde(default)]
    competing: Vec<Spanned<String>>,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeprecated {
    module: Spanned<String>,
    replacement: Spanned<String>,
}

impl Config {
    /// Reads and compiles the rules file at `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Config::parse(path, &text)
    }

    /// Compiles rules from `text`; `path` is only used in error messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let err = |offset: usize, message: String| {
            let (line, column) = position_of(text, offset);
            Error::Config {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            err(offset, e.message().trim().to_owned())
        })?;
        if raw.rule.is_empty() {
            return Err(err(
                0,
                "no [[rule]] tables: a rules file must define at least one rule".into(),
            ));
        }
        let exclude = compile_globs(&raw.exclude).map_err(|(o, m)| err(o, m))?;
        let mut rules: Vec<Rule> = Vec::with_capacity(raw.rule.len());
        for r in raw.rule {
            let name = r.name.get_ref().trim().to_owned();
            if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ')' || c == ',')
            {
                return Err(err(
                    r.name.span().start,
                    format!(
                        "rule name {name:?} must be non-empty and contain no spaces, commas or ')'"
                    ),
                ));
            }
            if rules.iter().any(|x| x.name == name) {
                return Err(err(
                    r.name.span().start,
                    format!("rule name {name:?} is defined twice"),
                ));
            }
            let qualified = |s: &Spanned<String>, what: &str| {
                QualifiedName::parse(s.get_ref()).ok_or_else(|| {
                    err(
                        s.span().start,
                        format!(
                            "{what} {:?} is not a dotted or `::` path of identifiers",
                            s.get_ref()
                        ),
                    )
                })
            };
            let canonical = r
                .canonical
                .as_ref()
                .map(|c| qualified(c, "canonical"))
                .transpose()?;
            let mut deprecated_imports = Vec::new();
            for d in &r.deprecated_imports {
                deprecated_imports.push(DeprecatedImport {
                    module: qualified(&d.module, "deprecated module")?,
                    replacement: qualified(&d.replacement, "replacement")?,
                });
            }
            let managed_types = r
                .managed_types
                .iter()
                .map(|m| qualified(m, "managed type"))
                .collect::<Result<Vec<_>>>()?;
            let competing = r
                .competing
                .iter()
                .map(|c| {
                    NamePattern::parse(c.get_ref()).ok_or_else(|| {
                        err(c.span().start, format!("competing pattern {:?} may only contain identifier characters and `*`", c.get_ref()))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let mut allow_patterns = r.allow.clone();
            if let (Some(c), RuleLanguage::Python | RuleLanguage::Any) = (&canonical, r.language) {
                // The canonical module is where the manager lives; it may construct it.
                let file = c.join("/");
                allow_patterns.push(Spanned::new(0..0, format!("{file}.py")));
                allow_patterns.push(Spanned::new(0..0, format!("{file}/__init__.py")));
            }
            let allow = compile_globs(&allow_patterns).map_err(|(o, m)| err(o, m))?;
            rules.push(Rule {
                name,
                language: r.language,
                canonical,
                deprecated_imports,
                managed_types,
                competing,
                allow,
            });
        }
        Ok(Config {
            path: path.to_owned(),
            exclude,
            rules,
        })
    }
}

fn compile_globs(patterns: &[Spanned<String>]) -> std::result::Result<PathGlobs, (usize, String)> {
    let mut builder = GlobSetBuilder::new();
    let mut written = Vec::with_capacity(patterns.len());
    for p in patterns {
        let text = p.get_ref().trim_start_matches("./").trim_end_matches('/');
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(true)
            .build()
            .map_err(|e| {
                (
                    p.span().start,
                    format!("invalid glob {:?}: {e}", p.get_ref()),
                )
            })?;
        builder.add(glob);
        written.push(p.get_ref().clone());
    }
    let set = builder
        .build()
        .map_err(|e| (0, format!("invalid glob set: {e}")))?;
    Ok(PathGlobs {
        set,
        patterns: written,
    })
}
