//! What both language analysers share: the per-file context, the rule checks and the final
//! pass (suppressions, ordering, fingerprints).
//!
//! Analysers are language-specific only in how they *read* code: they resolve imports, aliases
//! and `use` renames to [`QualifiedName`]-style segments and then call [`FileContext::import`],
//! [`FileContext::construction`] or [`FileContext::definition`]. Whether that breaks a rule is
//! decided here, once, for every language.

use crate::config::{Config, DeprecatedImport, DeprecatedName, Rule};
use crate::lines::LineIndex;
use crate::names::QualifiedName;
use crate::python::defined::ModuleIndex;
use crate::suppress::Suppression;
use crate::violation::{Kind, Repair, Violation, assign_fingerprints};
use crate::walk::{Language, SourceFile};

/// How a language spells module paths, for messages and fixes.
#[derive(Debug, Clone, Copy)]
pub struct Spelling {
    /// `.` for Python, `::` for Rust.
    pub separator: &'static str,
}

/// The state of analysing one file.
pub struct FileContext<'a> {
    /// The file.
    pub file: &'a SourceFile,
    /// Its bytes.
    pub text: &'a [u8],
    /// Line starts, for positions.
    pub index: LineIndex,
    /// The rules that apply to this file (language matches, path not allowed).
    pub rules: Vec<&'a Rule>,
    /// Names of every rule, to recognise suppressions.
    all_rules: Vec<&'a str>,
    /// Set when `fix` is planning: repairs are computed, checked against this index of
    /// replacement modules. A plain scan leaves it unset and computes no repairs.
    pub fixing: Option<&'a ModuleIndex>,
    spelling: Spelling,
    violations: Vec<Violation>,
    suppressions: Vec<Suppression>,
}

impl<'a> FileContext<'a> {
    /// Prepares the analysis of `file` under `config`; `fixing` is set when planning a fix.
    pub fn new(
        config: &'a Config,
        file: &'a SourceFile,
        text: &'a [u8],
        fixing: Option<&'a ModuleIndex>,
    ) -> Self {
        let rules = config
            .rules
            .iter()
            .filter(|r| {
                r.language.covers(file.language)
                    && !r.allow.matches(&file.relative)
                    && !is_canonical_module(r, file)
            })
            .collect();
        let spelling = match file.language {
            Language::Python => Spelling { separator: "." },
            Language::Rust => Spelling { separator: "::" },
        };
        FileContext {
            file,
            text,
            index: LineIndex::new(text),
            rules,
            all_rules: config.rules.iter().map(|r| r.name.as_str()).collect(),
            fixing,
            spelling,
            violations: Vec::new(),
            suppressions: Vec::new(),
        }
    }

    /// Whether any rule applies; analysers skip work when none does.
    pub fn has_rules(&self) -> bool {
        !self.rules.is_empty()
    }

    /// The first deprecated-import entry that covers `module`, with its rule.
    pub fn deprecated(&self, module: &[String]) -> Vec<(&'a Rule, &'a DeprecatedImport)> {
        let mut found = Vec::new();
        for rule in &self.rules {
            if let Some(d) = rule
                .deprecated_imports
                .iter()
                .find(|d| d.module.contains_module(module))
            {
                found.push((*rule, d));
            }
        }
        found
    }

    /// The replacement path for a deprecated `module` (the replacement plus any submodule suffix).
    pub fn replacement_for(d: &DeprecatedImport, module: &[String]) -> Vec<String> {
        let mut new = d.replacement.segments().to_vec();
        new.extend_from_slice(&module[d.module.segments().len().min(module.len())..]);
        new
    }

    /// The deprecated-name entries for `name` imported from `module`, with their rules.
    pub fn deprecated_name(
        &self,
        module: &[String],
        name: &str,
    ) -> Vec<(&'a Rule, &'a DeprecatedName)> {
        let mut found = Vec::new();
        for rule in &self.rules {
            for d in &rule.deprecated_names {
                if d.name == name && d.module.segments() == module {
                    found.push((*rule, d));
                }
            }
        }
        found
    }

    /// Records a use of the deprecated `name` of `module` at `offset`.
    pub fn deprecated_name_use(
        &mut self,
        rule: &Rule,
        d: &DeprecatedName,
        offset: usize,
        repair: Repair,
    ) {
        let sep = self.spelling.separator;
        let message = format!(
            "use of deprecated name `{}` of `{}` (rule `{}`); use `{}` instead",
            d.name,
            d.module.join(sep),
            rule.name,
            d.replacement
        );
        let subject = format!("{}{sep}{}", d.module.join(sep), d.name);
        self.push(rule, Kind::DeprecatedName, offset, subject, message, repair);
    }

    /// Records an import of `module` at byte `offset`; reports it if deprecated. The repair
    /// is attached to the first matching rule's violation.
    pub fn import(
        &mut self,
        module: &[String],
        offset: usize,
        edits: impl FnOnce(&DeprecatedImport) -> Repair,
    ) {
        let matches = self.deprecated(module);
        let sep = self.spelling.separator;
        let mut edits = Some(edits);
        for (rule, d) in matches {
            let shown = d.module.join(sep);
            let replacement = d.replacement.join(sep);
            let message = format!(
                "import of deprecated module `{shown}` (rule `{}`); import `{replacement}` instead",
                rule.name
            );
            let fix = edits.take().map(|f| f(d)).unwrap_or_default();
            self.push(
                rule,
                Kind::DeprecatedImport,
                offset,
                module.join(sep),
                message,
                fix,
            );
        }
    }

    /// Whether a type whose last name is `last` could be managed: a cheap test before resolving.
    pub fn may_be_managed(&self, last: &str) -> bool {
        self.rules
            .iter()
            .any(|r| r.managed_types.iter().any(|m| m.last() == last))
    }

    /// Whether `resolved` is inside an applicable rule's canonical owner (the canonical path
    /// itself or anything under its qualifier, such as `redis_ssot::…` for
    /// `redis_ssot::RedisManager`).
    pub fn is_canonical(&self, resolved: &[String]) -> bool {
        self.rules
            .iter()
            .filter_map(|r| r.canonical.as_ref())
            .any(|c| {
                let segments = c.segments();
                let qualifier = &segments[..segments.len().saturating_sub(1)];
                resolved.starts_with(segments)
                    || (!qualifier.is_empty() && resolved.starts_with(qualifier))
            })
    }

    /// Whether `resolved` names a managed type of any applicable rule.
    pub fn is_managed(&self, resolved: &[String]) -> bool {
        self.rules
            .iter()
            .any(|r| r.managed_types.iter().any(|m| m.matches_path(resolved)))
    }

    /// The applicable rules that manage the type at `resolved`, with the managed name.
    pub fn managing(&self, resolved: &[String]) -> Vec<(&'a Rule, &'a QualifiedName)> {
        self.rules
            .iter()
            .filter_map(|r| {
                r.managed_types
                    .iter()
                    .find(|m| m.matches_path(resolved))
                    .map(|m| (*r, m))
            })
            .collect()
    }

    /// Records a construction of the type at `resolved` (spelled `how`) at byte `offset`;
    /// `repair` says how `fix` would replace it under each rule.
    pub fn construction(
        &mut self,
        resolved: &[String],
        offset: usize,
        how: &str,
        mut repair: impl FnMut(&Rule) -> Repair,
    ) {
        let sep = self.spelling.separator;
        for (rule, managed) in self.managing(resolved) {
            let instead = match &rule.canonical {
                Some(c) => format!("use the shared manager from `{}` instead", c.join(sep)),
                None => "construct it only in the rule's allowed paths".to_owned(),
            };
            // Name what the code constructs. A bare managed name is the last segment of it
            // and reads best alone; a qualified one (`redis.from_url`) also covers longer
            // paths (`redis.Redis.from_url`), so the path the call resolved to is named, with
            // the managed entry that covers it.
            let shown = resolved.join(sep);
            let wanted = managed.join(sep);
            let message = if managed.segments().len() < 2 || shown == wanted {
                format!(
                    "direct construction of `{wanted}` via `{how}` (rule `{}`); {instead}",
                    rule.name
                )
            } else {
                format!(
                    "direct construction of `{shown}` via `{how}` (managed type `{wanted}`, rule \
                     `{}`); {instead}",
                    rule.name
                )
            };
            // The subject is the managed type, not the resolved path: fixing the import a
            // construction goes through must not make it look like a new violation.
            self.push(
                rule,
                Kind::DirectInstantiation,
                offset,
                managed.join(sep),
                message,
                repair(rule),
            );
        }
    }

    /// Records a definition (`what` is "class", "struct", "impl", ...) named `name` at `offset`.
    pub fn definition(&mut self, name: &str, what: &str, offset: usize) {
        let sep = self.spelling.separator;
        let rules: Vec<&'a Rule> = self.rules.clone();
        for rule in rules {
            let Some(pattern) = rule.competing.iter().find(|p| p.matches(name)) else {
                continue;
            };
            let instead = match &rule.canonical {
                Some(c) => format!("use or extend the manager in `{}` instead", c.join(sep)),
                None => "keep one implementation in the rule's allowed paths".to_owned(),
            };
            let message = format!(
                "{what} `{name}` matches competing pattern `{}` (rule `{}`); {instead}",
                pattern.as_str(),
                rule.name
            );
            self.push(
                rule,
                Kind::CompetingImplementation,
                offset,
                name.to_owned(),
                message,
                Repair::default(),
            );
        }
    }

    /// Records a comment; keeps it if it is an `ssot: allow(..)` suppression.
    pub fn comment(&mut self, text: &str, offset: usize) {
        if !text.contains("ssot:") {
            return;
        }
        let (line, column) = self.index.position(self.text, offset);
        if let Some(s) = crate::suppress::parse(text, line, column) {
            self.suppressions.push(s);
        }
    }

    fn push(
        &mut self,
        rule: &Rule,
        kind: Kind,
        offset: usize,
        subject: String,
        message: String,
        repair: Repair,
    ) {
        let (line, column) = self.index.position(self.text, offset);
        self.violations.push(Violation {
            rule: rule.name.clone(),
            kind,
            path: self.file.relative.clone(),
            line,
            column,
            message,
            fingerprint: String::new(),
            subject,
            repair,
        });
    }

    /// Applies suppressions, reports those without a reason or naming an unknown rule, sorts
    /// and fingerprints; returns the result.
    pub fn finish(mut self) -> Vec<Violation> {
        let suppressions = std::mem::take(&mut self.suppressions);
        self.violations
            .retain(|v| !suppressions.iter().any(|s| s.covers(&v.rule, v.line)));
        for s in &suppressions {
            let names = s.rules.join(", ");
            let unknown: Vec<&str> = s
                .rules
                .iter()
                .map(String::as_str)
                .filter(|r| !self.all_rules.contains(r))
                .collect();
            let message = match (&s.reason, unknown.is_empty()) {
                (Some(_), true) => continue,
                (None, true) => format!(
                    "suppression `ssot: allow({names})` gives no reason; write why after the \
                     closing parenthesis"
                ),
                (None, false) => format!(
                    "suppression `ssot: allow({names})` gives no reason; write why after the \
                     closing parenthesis (unknown rule: {})",
                    unknown.join(", ")
                ),
                // A misspelt rule suppresses nothing, silently: say so.
                (Some(_), false) => format!(
                    "suppression `ssot: allow({names})` names no rule of the rules file \
                     (unknown rule: {}; the rules are: {}), so it suppresses nothing",
                    unknown.join(", "),
                    self.all_rules.join(", ")
                ),
            };
            self.violations.push(Violation {
                // A reasonless one keeps its first rule (baselines hold it); an unknown one is
                // filed under the name that is wrong.
                rule: match (&s.reason, unknown.first()) {
                    (Some(_), Some(r)) => (*r).to_owned(),
                    _ => s.rules[0].clone(),
                },
                kind: Kind::UnjustifiedSuppression,
                path: self.file.relative.clone(),
                line: s.line,
                column: s.column,
                message,
                fingerprint: String::new(),
                subject: names,
                repair: Repair::default(),
            });
        }
        self.violations.sort_by(|a, b| {
            (a.line, a.column, a.kind, &a.rule).cmp(&(b.line, b.column, b.kind, &b.rule))
        });
        let (text, index) = (self.text, &self.index);
        assign_fingerprints(&mut self.violations, |line| {
            String::from_utf8_lossy(index.line_text(text, line)).into_owned()
        });
        self.violations
    }
}

/// Whether `file` is the Python module a rule names as canonical (where the manager lives and
/// may be constructed), decided by its module name, not by where the rules file is.
fn is_canonical_module(rule: &Rule, file: &SourceFile) -> bool {
    file.language == Language::Python
        && !file.module.module.is_empty()
        && rule
            .canonical
            .as_ref()
            .is_some_and(|c| c.segments() == file.module.module.as_slice())
}
