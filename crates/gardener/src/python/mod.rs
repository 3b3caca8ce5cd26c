//! Python analysis on ruff's syntax tree (`ruff_python_parser`).
//!
//! ruff's parser is used because it is Python's grammar as ruff checks it: it reports real
//! syntax errors with a message (tree-sitter's error recovery hid `def broken(:`), and its byte
//! ranges make `fix`'s edits exact. It parses about ten times faster than tree-sitter-python
//! did (55 against 5.4 MB/s per core on CPython's standard library; `docs/BENCHMARKS.md`).
//!
//! One traversal collects what matters (imports, calls, class definitions and, when needed,
//! every spelled name chain); strings and docstrings are literals, so names inside them are
//! never seen. Imports anywhere in the file (function-local, under `if TYPE_CHECKING:`) bind
//! names for the whole file, a deliberate over-approximation: a name imported in one function
//! and constructed in another is still the managed type in practice. Relative imports resolve
//! against the file's package (see [`crate::modules`]).

mod construct;
pub mod defined;
mod graph;
mod imports;
mod renames;
mod repeats;

use std::collections::HashMap;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{
    ExceptHandler, Expr, ExprCall, ExprContext, Identifier, ModModule, Parameter, Pattern,
    PySourceType, Stmt,
};
use ruff_python_parser::Parsed;
use ruff_text_size::{Ranged, TextRange};

use crate::analysis::FileContext;
use crate::config::Config;
use crate::violation::Edit;
use defined::{Binding, ModuleIndex};

/// An edit replacing `range` by `text`.
fn edit(range: TextRange, text: impl Into<String>) -> Edit {
    Edit {
        start: usize::from(range.start()),
        end: usize::from(range.end()),
        text: text.into(),
    }
}

/// The 1-based line of byte `offset` (for review reasons).
fn line_of(source: &[u8], offset: usize) -> usize {
    memchr::memchr_iter(b'\n', &source[..offset.min(source.len())]).count() + 1
}

/// The file's line ending, as its first line ends (`\n` when it has one line): what the lines
/// `fix` inserts end with, so that a CRLF file stays CRLF.
fn line_ending(source: &[u8]) -> &'static str {
    match memchr::memchr(b'\n', source) {
        Some(i) if i > 0 && source[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Rewrites segment `i` of use `u` to `renamed`, for a name bound as `from` in the old
/// module and as `to` in the new one. A name of the same kind (value for value, class for
/// class) is renamed wherever it is used. Otherwise only a zero-argument call can be
/// rewritten without knowing more: a value replaces the whole call (`RedisCacheManager()`
/// becomes `redis_manager`), a class or function keeps it (`RedisTestManager()` becomes
/// `get_redis_manager()`). Anything else is the reason a person has to look.
///
/// `head`, when set, is what the segments before `i` become (`import old` turns `old.X()`
/// into `new.X`): a call replaced whole must spell it, as no other edit may touch its range.
fn rewrite_use(
    u: &Use,
    i: usize,
    renamed: &str,
    (from, to): (Option<Binding>, Binding),
    source: &[u8],
    head: Option<&str>,
) -> Result<Vec<Edit>, String> {
    if from == Some(to) && to != Binding::Other {
        return Ok(if u.chain[i] == renamed {
            Vec::new()
        } else {
            vec![edit(u.ranges[i], renamed)]
        });
    }
    let spelled = u.chain.join(".");
    let line = line_of(source, usize::from(u.ranges[0].start()));
    let call = match u.call {
        Some(call) if u.chain.len() == i + 1 => call,
        _ => {
            return Err(format!(
                "`{spelled}` at line {line} is used other than as a zero-argument call, which \
                 fix does not rewrite"
            ));
        }
    };
    if call.has_args {
        return Err(format!(
            "`{spelled}(..)` at line {line} passes arguments, which fix does not carry over"
        ));
    }
    match to {
        Binding::Value => {
            let mut text: Vec<&str> = match head {
                Some(head) => vec![head],
                None => u.chain[..i].to_vec(),
            };
            text.push(renamed);
            Ok(vec![edit(call.range, text.join("."))])
        }
        Binding::Class | Binding::Function if u.chain[i] == renamed => Ok(Vec::new()),
        Binding::Class | Binding::Function => Ok(vec![edit(u.ranges[i], renamed)]),
        Binding::Other => Err(format!(
            "`{renamed}` is imported or only listed in `__all__` there, so fix cannot tell \
             whether `{spelled}()` at line {line} should call it"
        )),
    }
}

/// Names bound by imports: local name to the full dotted path it stands for.
#[derive(Debug, Default)]
pub struct Bindings {
    names: HashMap<String, Vec<String>>,
    wildcards: Vec<Vec<String>>,
}

impl Bindings {
    /// Binds `local` to `path`.
    pub fn bind(&mut self, local: &str, path: Vec<String>) {
        self.names.insert(local.to_owned(), path);
    }

    /// Records `from module import *`.
    pub fn wildcard(&mut self, module: Vec<String>) {
        self.wildcards.push(module);
    }

    /// What `local` is bound to, if an import binds it.
    pub fn get(&self, local: &str) -> Option<&[String]> {
        self.names.get(local).map(Vec::as_slice)
    }

    /// Resolves a spelled chain such as `rm.RedisManager` to a full path, if it can be.
    ///
    /// An imported first segment is replaced by what it stands for. A bare name that is not
    /// imported stays bare (a local class or a builtin), unless exactly one `import *` could
    /// have provided it. A dotted chain whose head is not imported (`self.factory.X`) is not
    /// resolved: guessing there would produce false reports.
    pub fn resolve(&self, chain: &[&str]) -> Option<Vec<String>> {
        let (head, rest) = chain.split_first()?;
        if let Some(path) = self.names.get(*head) {
            let mut full = path.clone();
            full.extend(rest.iter().map(|s| (*s).to_owned()));
            return Some(full);
        }
        if !rest.is_empty() {
            return None;
        }
        match self.wildcards.as_slice() {
            [module] => {
                let mut full = module.clone();
                full.push((*head).to_owned());
                Some(full)
            }
            _ => Some(vec![(*head).to_owned()]),
        }
    }
}

/// Parses Python source with ruff's parser (errors are collected, never fatal).
pub fn parse(text: &str) -> Parsed<ModModule> {
    ruff_python_parser::parse_unchecked_source(text, PySourceType::Python)
}

/// Every syntax error of a parse: byte offset and the parser's message.
pub fn syntax_errors(parsed: &Parsed<ModModule>) -> Vec<(usize, String)> {
    parsed
        .errors()
        .iter()
        .map(|e| (usize::from(e.location.start()), e.error.to_string()))
        .collect()
}

/// A call site: where the call is and whether it passes anything.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallSite {
    /// The whole call expression, `f(..)`.
    pub range: TextRange,
    /// Whether it has positional or keyword arguments.
    pub has_args: bool,
}

/// A spelled name chain in an expression (`x`, `rm.RedisManager`), with the range of each
/// segment, so that one segment or a prefix can be rewritten.
#[derive(Debug, Clone)]
pub(crate) struct Use<'a> {
    /// The segments as spelled.
    pub chain: Vec<&'a str>,
    /// The range of each segment's identifier.
    pub ranges: Vec<TextRange>,
    /// The call of which this chain is the callee, if it is one.
    pub call: Option<CallSite>,
}

impl Use<'_> {
    /// The range from the chain's start to the end of its segment `i` (0-based).
    pub fn prefix(&self, i: usize) -> (usize, usize) {
        (
            usize::from(self.ranges[0].start()),
            usize::from(self.ranges[i].end()),
        )
    }
}

/// What one traversal collects.
#[derive(Debug, Default)]
pub(crate) struct Facts<'a> {
    /// Import statements, anywhere.
    pub imports: Vec<&'a Stmt>,
    /// Calls whose callee is a name chain, with that chain.
    pub calls: Vec<(&'a ExprCall, Use<'a>)>,
    /// Class names.
    pub classes: Vec<&'a Identifier>,
    /// Every name chain (only when `collect_uses` is set).
    pub uses: Vec<Use<'a>>,
    /// Names bound other than by an import, in any scope, with the offset of the first such
    /// binding: assignment and `for` / `with` / walrus targets, `def`, `class`, parameters,
    /// `except .. as`, `global`, `nonlocal` and match captures. A name `fix` would import
    /// must not be one of them; a bare name bound here is not an imported managed type.
    pub bound: HashMap<&'a str, usize>,
    /// Where an added top-level import goes: the end of the line of the leading block of
    /// imports (after the docstring, if there are none).
    pub insert_at: usize,
    /// The file's bytes.
    pub source: &'a [u8],
    /// The file's own module (set when fixing), for the circular-import check.
    pub module: Vec<String>,
    /// The names of the file's literal `__all__` (set when fixing).
    pub exported: Vec<String>,
    /// Whether the file is a package's `__init__.py`, whose imports are its interface.
    pub is_package_init: bool,
    collect_uses: bool,
}

/// Collects `a.b.c` as a [`Use`]; `None` for anything that is not a plain name chain.
fn chain(expr: &Expr) -> Option<Use<'_>> {
    match expr {
        Expr::Name(n) => Some(Use {
            chain: vec![n.id.as_str()],
            ranges: vec![n.range],
            call: None,
        }),
        Expr::Attribute(a) => {
            let mut inner = chain(&a.value)?;
            inner.chain.push(a.attr.as_str());
            inner.ranges.push(a.attr.range);
            Some(inner)
        }
        _ => None,
    }
}

impl<'a> Facts<'a> {
    fn bind(&mut self, name: &'a Identifier) {
        self.bound
            .entry(name.as_str())
            .or_insert(usize::from(name.range.start()));
    }

    /// Whether other modules may import `local` from this one as part of its interface: it
    /// is listed in `__all__`, or imported by a package's `__init__.py`.
    pub fn reexports(&self, local: &str) -> bool {
        self.is_package_init || self.exported.iter().any(|e| e == local)
    }

    /// Whether the bare name `name` can stand for a managed type here: it is imported by
    /// name, or a class of this file, or (bound nowhere in the file) a `*` import may have
    /// provided it. A name the file binds itself (`RedisManager = dict`) is something else.
    fn may_name_a_type(&self, name: &str, bindings: &Bindings) -> bool {
        bindings.get(name).is_some()
            || self.classes.iter().any(|c| c.as_str() == name)
            || (!bindings.wildcards.is_empty() && !self.bound.contains_key(name))
    }
}

impl<'a> Visitor<'a> for Facts<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(_) | Stmt::ImportFrom(_) => self.imports.push(stmt),
            Stmt::ClassDef(c) => {
                self.classes.push(&c.name);
                self.bind(&c.name);
                visitor::walk_stmt(self, stmt);
            }
            Stmt::FunctionDef(f) => {
                self.bind(&f.name);
                visitor::walk_stmt(self, stmt);
            }
            Stmt::Global(g) => g.names.iter().for_each(|n| self.bind(n)),
            Stmt::Nonlocal(n) => n.names.iter().for_each(|n| self.bind(n)),
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_parameter(&mut self, parameter: &'a Parameter) {
        self.bind(&parameter.name);
        visitor::walk_parameter(self, parameter);
    }

    fn visit_except_handler(&mut self, handler: &'a ExceptHandler) {
        let ExceptHandler::ExceptHandler(h) = handler;
        if let Some(name) = &h.name {
            self.bind(name);
        }
        visitor::walk_except_handler(self, handler);
    }

    fn visit_pattern(&mut self, pattern: &'a Pattern) {
        let name = match pattern {
            Pattern::MatchAs(p) => p.name.as_ref(),
            Pattern::MatchStar(p) => p.name.as_ref(),
            Pattern::MatchMapping(p) => p.rest.as_ref(),
            _ => None,
        };
        if let Some(name) = name {
            self.bind(name);
        }
        visitor::walk_pattern(self, pattern);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr
            && n.ctx == ExprContext::Store
        {
            self.bound
                .entry(n.id.as_str())
                .or_insert(usize::from(n.range.start()));
        }
        match expr {
            Expr::Call(call) => {
                match chain(&call.func) {
                    Some(mut callee) => {
                        callee.call = Some(CallSite {
                            range: call.range(),
                            has_args: !call.arguments.is_empty(),
                        });
                        if self.collect_uses {
                            self.uses.push(callee.clone());
                        }
                        self.calls.push((call, callee));
                    }
                    None => self.visit_expr(&call.func),
                }
                self.visit_arguments(&call.arguments);
            }
            Expr::Name(_) | Expr::Attribute(_) if self.collect_uses => match chain(expr) {
                Some(u) => self.uses.push(u),
                None => visitor::walk_expr(self, expr),
            },
            Expr::Name(_) => {}
            _ => visitor::walk_expr(self, expr),
        }
    }
}

/// Where a new top-level import goes in `module` (see [`Facts::insert_at`]).
fn insertion_point(module: &ModModule, text: &[u8]) -> usize {
    let mut at = 0;
    for (i, stmt) in module.body.iter().enumerate() {
        let docstring =
            i == 0 && matches!(stmt, Stmt::Expr(e) if matches!(&*e.value, Expr::StringLiteral(_)));
        if docstring || matches!(stmt, Stmt::Import(_) | Stmt::ImportFrom(_)) {
            at = usize::from(stmt.range().end());
        } else {
            break;
        }
    }
    if at == 0 {
        // Before any code, but after a shebang or encoding comment.
        let mut line = 0;
        while text[line..].starts_with(b"#") {
            match text[line..].iter().position(|&b| b == b'\n') {
                Some(i) => line += i + 1,
                None => return text.len(),
            }
        }
        return line;
    }
    // After the statement's line (and a trailing comment on it).
    text[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| at + i + 1)
}

/// Analyses one parsed Python file.
pub fn analyse(ctx: &mut FileContext, parsed: &Parsed<ModModule>) {
    let source = ctx.text;
    if memchr::memmem::find(source, b"ssot:").is_some() {
        for token in parsed.tokens().iter() {
            if token.kind() == ruff_python_ast::token::TokenKind::Comment {
                let range = token.range();
                let (start, end) = (usize::from(range.start()), usize::from(range.end()));
                let text = std::str::from_utf8(&source[start..end]).unwrap_or("");
                ctx.comment(text, start);
            }
        }
    }
    if !ctx.has_rules() {
        return;
    }
    let module = parsed.syntax();
    let mut facts = Facts {
        source,
        collect_uses: ctx.fixing.is_some()
            || ctx.rules.iter().any(|r| !r.deprecated_names.is_empty()),
        ..Facts::default()
    };
    facts.visit_body(&module.body);
    if ctx.fixing.is_some() {
        facts.insert_at = insertion_point(module, source);
        facts.module = ctx.file.module.module.clone();
        facts.exported = defined::exported(module);
        facts.is_package_init = ctx
            .file
            .path
            .file_stem()
            .is_some_and(|s| s.to_string_lossy() == "__init__");
    }
    let package = ctx.file.module.package.clone();
    let mut bindings = Bindings::default();
    for stmt in &facts.imports {
        imports::bind(stmt, &package, &mut bindings);
    }
    for stmt in &facts.imports {
        imports::check(ctx, stmt, &package, &facts);
    }
    renames::check(ctx, &facts, &bindings, &package);
    for (call, callee) in &facts.calls {
        // Most calls are not of a managed type: decide on the last name before resolving.
        let last = match callee.chain.as_slice() {
            [single] => bindings
                .get(single)
                .and_then(|p| p.last())
                .map_or(*single, String::as_str),
            [.., last] => *last,
            [] => continue,
        };
        if !ctx.may_be_managed(last) {
            continue;
        }
        if let [single] = callee.chain.as_slice()
            && !facts.may_name_a_type(single, &bindings)
        {
            continue;
        }
        if let Some(resolved) = bindings.resolve(&callee.chain) {
            let how = format!("{}()", callee.chain.join("."));
            let offset = usize::from(call.func.range().start());
            let fixing = ctx.fixing;
            let repairs: Vec<_> = ctx
                .managing(&resolved)
                .into_iter()
                .map(|(rule, _)| construct::repair(fixing, rule, callee, &bindings, &facts))
                .collect();
            let mut repairs = repairs.into_iter();
            ctx.construction(&resolved, offset, &how, |_| {
                repairs.next().unwrap_or_default()
            });
        }
    }
    for class in &facts.classes {
        ctx.definition(class.as_str(), "class", usize::from(class.range.start()));
    }
}

/// The names that `from <module> import ..` statements of `text` take from a canonical or
/// replacement module of `config` that the module does not define.
fn missing_names(config: &Config, index: &ModuleIndex, text: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(text) else {
        return Vec::new();
    };
    let owners: Vec<Vec<String>> = config
        .rules
        .iter()
        .flat_map(|r| {
            r.canonical.iter().map(|c| c.segments().to_vec()).chain(
                r.deprecated_imports
                    .iter()
                    .map(|d| d.replacement.segments().to_vec()),
            )
        })
        .collect();
    let parsed = parse(text);
    let mut facts = Facts::default();
    facts.visit_body(&parsed.syntax().body);
    let mut missing = Vec::new();
    for stmt in facts.imports {
        let Stmt::ImportFrom(f) = stmt else {
            continue;
        };
        let Some(module) = f.module.as_ref().filter(|_| f.level == 0) else {
            continue;
        };
        let module: Vec<String> = module.as_str().split('.').map(str::to_owned).collect();
        if !owners.contains(&module) {
            continue;
        }
        for alias in &f.names {
            let name = alias.name.as_str();
            if name != "*" && index.binding(&module, name).is_err() {
                missing.push(format!("{}.{name}", module.join(".")));
            }
        }
    }
    missing
}

/// `after` without the import statements that repeat an earlier import of their block and
/// that `before` did not repeat (two phases can each write the same import line).
pub fn drop_repeated_imports(before: &[u8], after: &[u8]) -> Option<Vec<u8>> {
    let (Ok(old), Ok(new)) = (std::str::from_utf8(before), std::str::from_utf8(after)) else {
        return None;
    };
    let edits = repeats::removals(old, new);
    if edits.is_empty() {
        return None;
    }
    crate::fix::apply_edits(after, edits).ok()
}

/// Why a rewrite from `before` to `after` must not be written: it would import a name that
/// its module does not define (a check of the whole result, beside the per-repair checks).
pub fn imports_missing_names(
    config: &Config,
    index: &ModuleIndex,
    before: &[u8],
    after: &[u8],
) -> Option<String> {
    let old = missing_names(config, index, before);
    let new: Vec<String> = missing_names(config, index, after)
        .into_iter()
        .filter(|n| !old.contains(n))
        .collect();
    (!new.is_empty()).then(|| {
        format!(
            "the rewrite would import {}, which is not defined there; left unchanged",
            new.join(", ")
        )
    })
}
