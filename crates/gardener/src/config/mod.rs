//! The rules: schema, loading and validation.
//!
//! Rules live in `ssot.toml`, or in the `[tool.ssot]` table of a `pyproject.toml` (found the
//! way ruff finds its settings: see [`crate::target`]). The text is read once, checked
//! completely, and compiled into [`Config`]: globs become a [`globset::GlobSet`], names become
//! [`QualifiedName`]s. A mistake is reported with the file, line and column of the offending
//! value, because a rule that silently matches nothing is the worst outcome for a guard: it
//! reports "clean" forever. For the same reason a rule must check something (a deprecated import
//! or name, a managed type or a competing pattern) and every `src` entry must be a folder.
//!
//! ```toml
//! exclude = ["crates/gardener/tests/fixtures/**"]   # optional: never scanned
//! src = ["src", "."]                                 # optional: Python source roots
//!
//! [[rule]]
//! name = "redis-manager"
//! language = "python"                   # "python", "rust" or "any" (default)
//! canonical = "netra_backend.app.redis_manager"
//! deprecated_imports = [
//!   { module = "test_framework.redis_test_utils.test_redis_manager",
//!     replacement = "netra_backend.app.redis_manager",
//!     names = { RedisTestManager = "get_redis_manager" } },
//! ]
//! deprecated_names = [
//!   { module = "netra_backend.app.redis_manager", name = "auth_redis_manager", replacement = "redis_manager" },
//! ]
//! construct_with = "redis_manager"      # what `fix` writes for a zero-argument construction
//! managed_types = ["RedisManager", "redis::Client"]
//! competing = ["*RedisManager"]
//! allow = ["netra_backend/app/legacy/**"]
//! ```

mod raw;

use std::path::{Path, PathBuf};

use globset::{GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::lines::position_of;
use crate::names::{NamePattern, QualifiedName, is_identifier};
use crate::walk::Language;
use raw::{Pyproject, RawConfig, RawRule};

/// The compiled rules.
#[derive(Debug)]
pub struct Config {
    /// Where the rules were read from (for messages).
    pub path: PathBuf,
    /// The folder of the rules file: `allow`, `exclude` and `src` are relative to it.
    pub dir: PathBuf,
    /// Paths that are never scanned, relative to [`Config::dir`].
    pub exclude: PathGlobs,
    /// Python source roots, absolute (`src = [..]`, relative to [`Config::dir`] as written).
    pub src: Vec<PathBuf>,
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
    /// The module (Python) or path (Rust) that owns the one manager. A Python file whose
    /// module is this one is allowed implicitly, wherever the rules file is.
    pub canonical: Option<QualifiedName>,
    /// Modules that must no longer be imported, each with what to import instead.
    pub deprecated_imports: Vec<DeprecatedImport>,
    /// Names that must no longer be used, each with its replacement in the same module.
    pub deprecated_names: Vec<DeprecatedName>,
    /// What `garden fix` writes instead of a zero-argument construction of a managed type.
    pub construct_with: Option<ConstructWith>,
    /// Types that only the canonical module may construct.
    pub managed_types: Vec<QualifiedName>,
    /// Definitions with these names outside `allow` are competing implementations.
    pub competing: Vec<NamePattern>,
    /// Paths (relative to the rules file's folder) where the rule does not apply.
    pub allow: PathGlobs,
}

/// A deprecated module and its replacement.
#[derive(Debug, Clone)]
pub struct DeprecatedImport {
    /// The module that must not be imported (or any of its submodules).
    pub module: QualifiedName,
    /// What `garden fix` imports instead.
    pub replacement: QualifiedName,
    /// `old name -> new name` for names the replacement module spells differently, sorted.
    pub names: Vec<(String, String)>,
}

impl DeprecatedImport {
    /// The replacement's name for `name` imported from the deprecated module.
    pub fn mapped<'a>(&'a self, name: &'a str) -> &'a str {
        self.names
            .iter()
            .find(|(old, _)| old == name)
            .map_or(name, |(_, new)| new.as_str())
    }
}

/// A name of a module that must no longer be used (such as a compatibility alias).
#[derive(Debug, Clone)]
pub struct DeprecatedName {
    /// The module that defines it.
    pub module: QualifiedName,
    /// The deprecated name.
    pub name: String,
    /// The name to use instead, defined by the same module.
    pub replacement: String,
}

/// `construct_with`: an expression (a name, attribute or call, such as `redis_manager` or
/// `get_redis_manager()`) and the name it needs imported from the rule's canonical module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstructWith {
    /// The expression, as written.
    pub expression: String,
    /// Its first identifier: what `fix` imports from the canonical module.
    pub import: String,
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

impl Config {
    /// Reads and compiles the rules file at `path`: an `ssot.toml`, or a `pyproject.toml`
    /// whose `[tool.ssot]` table holds the rules.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        if path.file_name().is_some_and(|n| n == "pyproject.toml") {
            return Config::parse_pyproject(path, &text)?.ok_or_else(|| Error::Config {
                path: path.to_owned(),
                line: 1,
                column: 1,
                message: "no [tool.ssot] table: add the rules there or use an ssot.toml".into(),
            });
        }
        Config::parse(path, &text)
    }

    /// Compiles the rules of an `ssot.toml` from `text`; `path` names it in messages and its
    /// folder is what relative paths in it are relative to.
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        compile(path, text, raw)
    }

    /// The rules of a `pyproject.toml`'s `[tool.ssot]` table, or `None` when it has none.
    pub fn parse_pyproject(path: &Path, text: &str) -> Result<Option<Config>> {
        let raw: Pyproject = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        match raw.tool.and_then(|t| t.ssot) {
            Some(config) => compile(path, text, config).map(Some),
            None => Ok(None),
        }
    }
}

fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let (line, column) = position_of(text, e.span().map_or(0, |s| s.start));
    Error::Config {
        path: path.to_owned(),
        line,
        column,
        message: e.message().trim().to_owned(),
    }
}

fn compile(path: &Path, text: &str, raw: RawConfig) -> Result<Config> {
    let err = |offset: usize, message: String| {
        let (line, column) = position_of(text, offset);
        Error::Config {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    };
    if raw.rule.is_empty() {
        return Err(err(
            0,
            "no [[rule]] tables: a rules file must define at least one rule".into(),
        ));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let exclude = compile_globs(&raw.exclude).map_err(|(o, m)| err(o, m))?;
    let mut src = Vec::new();
    for s in &raw.src {
        let relative = s.get_ref().trim_start_matches("./").trim_end_matches('/');
        if Path::new(relative).is_absolute() {
            return Err(err(
                s.span().start,
                format!(
                    "src entry {:?} must be relative to the rules file",
                    s.get_ref()
                ),
            ));
        }
        let joined = if relative.is_empty() || relative == "." {
            dir.clone()
        } else {
            dir.join(relative)
        };
        // A source root that does not exist resolves nothing: the same silent "clean" as a
        // rule that matches nothing.
        if !joined.is_dir() {
            return Err(err(
                s.span().start,
                format!(
                    "src entry {:?} is not a folder next to the rules file ({} does not exist)",
                    s.get_ref(),
                    joined.display()
                ),
            ));
        }
        src.push(std::fs::canonicalize(&joined).unwrap_or(joined));
    }
    let mut rules: Vec<Rule> = Vec::with_capacity(raw.rule.len());
    let mut name_offsets = Vec::with_capacity(raw.rule.len());
    for r in raw.rule {
        let name_offset = r.name.span().start;
        let rule = compile_rule(r, &err)?;
        if rules.iter().any(|x| x.name == rule.name) {
            return Err(err(
                name_offset,
                format!("rule name {:?} is defined twice", rule.name),
            ));
        }
        rules.push(rule);
        name_offsets.push(name_offset);
    }
    for (rule, offset) in rules.iter().zip(name_offsets) {
        if rule.deprecated_imports.is_empty()
            && rule.deprecated_names.is_empty()
            && rule.managed_types.is_empty()
            && rule.competing.is_empty()
        {
            return Err(err(
                offset,
                format!(
                    "rule {:?} checks nothing: give it at least one of deprecated_imports, \
                     deprecated_names, managed_types or competing",
                    rule.name
                ),
            ));
        }
    }
    Ok(Config {
        path: path.to_owned(),
        dir,
        exclude,
        src,
        rules,
    })
}

fn compile_rule(r: RawRule, err: &impl Fn(usize, String) -> Error) -> Result<Rule> {
    let name = r.name.get_ref().trim().to_owned();
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ')' || c == ',') {
        return Err(err(
            r.name.span().start,
            format!("rule name {name:?} must be non-empty and contain no spaces, commas or ')'"),
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
    let identifier = |s: &Spanned<String>, what: &str| {
        if is_identifier(s.get_ref()) {
            Ok(s.get_ref().clone())
        } else {
            Err(err(
                s.span().start,
                format!("{what} {:?} is not an identifier", s.get_ref()),
            ))
        }
    };
    let canonical = r
        .canonical
        .as_ref()
        .map(|c| qualified(c, "canonical"))
        .transpose()?;
    let mut deprecated_imports = Vec::new();
    for d in &r.deprecated_imports {
        let mut names = Vec::new();
        for (old, new) in &d.names {
            if !is_identifier(old) {
                return Err(err(
                    new.span().start,
                    format!("names key {old:?} is not an identifier"),
                ));
            }
            names.push((old.clone(), identifier(new, "names value")?));
        }
        deprecated_imports.push(DeprecatedImport {
            module: qualified(&d.module, "deprecated module")?,
            replacement: qualified(&d.replacement, "replacement")?,
            names,
        });
    }
    let mut deprecated_names = Vec::new();
    for d in &r.deprecated_names {
        deprecated_names.push(DeprecatedName {
            module: qualified(&d.module, "module")?,
            name: identifier(&d.name, "deprecated name")?,
            replacement: identifier(&d.replacement, "replacement")?,
        });
    }
    let construct_with = match &r.construct_with {
        None => None,
        Some(c) => {
            if canonical.is_none() {
                return Err(err(
                    c.span().start,
                    "construct_with needs `canonical`: its name is imported from there".into(),
                ));
            }
            Some(parse_construct_with(c.get_ref()).ok_or_else(|| {
                err(
                    c.span().start,
                    format!(
                        "construct_with {:?} must be a name, an attribute or a call such as \
                         `redis_manager` or `get_redis_manager()`",
                        c.get_ref()
                    ),
                )
            })?)
        }
    };
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
                err(
                    c.span().start,
                    format!(
                        "competing pattern {:?} may only contain identifier characters and `*`",
                        c.get_ref()
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let allow = compile_globs(&r.allow).map_err(|(o, m)| err(o, m))?;
    Ok(Rule {
        name,
        language: r.language,
        canonical,
        deprecated_imports,
        deprecated_names,
        construct_with,
        managed_types,
        competing,
        allow,
    })
}

/// Checks a `construct_with` expression with ruff's parser: a name, an attribute chain or a
/// call of one. Returns it with its first identifier.
fn parse_construct_with(text: &str) -> Option<ConstructWith> {
    use ruff_python_ast::Expr;
    let parsed = ruff_python_parser::parse_expression(text.trim()).ok()?;
    let mut expr = parsed.expr();
    if let Expr::Call(call) = expr {
        expr = &call.func;
    }
    loop {
        match expr {
            Expr::Attribute(a) => expr = &a.value,
            Expr::Name(n) => {
                return Some(ConstructWith {
                    expression: text.trim().to_owned(),
                    import: n.id.as_str().to_owned(),
                });
            }
            _ => return None,
        }
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
