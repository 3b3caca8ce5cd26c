//! The rules file as written: the serde schema, before validation.
//!
//! Every value that can be wrong keeps its byte span ([`Spanned`]), so that validation in
//! [`super`] can name the line and column of the offending value.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::RuleLanguage;

/// The top-level table of `ssot.toml` (or `[tool.ssot]` of `pyproject.toml`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    #[serde(default)]
    pub src: Vec<Spanned<String>>,
    #[serde(default)]
    pub rule: Vec<RawRule>,
}

/// `pyproject.toml`: only `[tool.ssot]` is read; everything else belongs to other tools.
#[derive(Deserialize)]
pub(super) struct Pyproject {
    #[serde(default)]
    pub tool: Option<PyprojectTool>,
}

/// `[tool]` of `pyproject.toml`.
#[derive(Deserialize)]
pub(super) struct PyprojectTool {
    #[serde(default)]
    pub ssot: Option<RawConfig>,
}

/// One `[[rule]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub name: Spanned<String>,
    #[serde(default)]
    pub language: RuleLanguage,
    pub canonical: Option<Spanned<String>>,
    #[serde(default)]
    pub deprecated_imports: Vec<RawDeprecated>,
    #[serde(default)]
    pub deprecated_names: Vec<RawDeprecatedName>,
    pub construct_with: Option<Spanned<String>>,
    #[serde(default)]
    pub managed_types: Vec<Spanned<String>>,
    #[serde(default)]
    pub competing: Vec<Spanned<String>>,
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
}

/// One entry of `deprecated_imports`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeprecated {
    pub module: Spanned<String>,
    pub replacement: Spanned<String>,
    #[serde(default)]
    pub names: BTreeMap<String, Spanned<String>>,
}

/// One entry of `deprecated_names`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeprecatedName {
    pub module: Spanned<String>,
    pub name: Spanned<String>,
    pub replacement: Spanned<String>,
}
