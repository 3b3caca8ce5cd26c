//! The project's import graph, for `fix`'s check that a new import closes no cycle.
//!
//! `fix` adds `from <canonical> import redis_manager` to files, and rewrites imports to point
//! at the canonical module. If that module itself imports the file (directly, or through
//! other project modules), the result is a circular import and the app no longer starts:
//! the file runs while the canonical module is half-initialised, and its names are not there
//! yet. So before a repair imports a module, the edges from that module are followed, within
//! the project's source roots only, and a repair that would close a cycle is left for review.
//!
//! Best effort: the edges are the modules a file imports at import time (its top level, and
//! inside top-level `if` / `try` / `with` / loops, but not under `if TYPE_CHECKING:` or inside
//! functions and classes, which run later), absolute and relative. `from a import b` counts
//! `a`, and `a.b` when that is a module of its own. Modules outside the roots are leaves.

use std::collections::{HashMap, VecDeque};

use ruff_python_ast::{Expr, Stmt};

use super::defined::ModuleIndex;

/// Most modules followed from one start: a bound on the work for a huge tree.
const MAX_MODULES: usize = 20_000;

/// The modules `body` imports when it runs, resolved against `package`.
pub(crate) fn imported_modules(
    body: &[Stmt],
    package: &[String],
) -> Vec<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    collect(body, package, &mut out);
    out
}

fn collect(body: &[Stmt], package: &[String], out: &mut Vec<(Vec<String>, Vec<String>)>) {
    for stmt in body {
        match stmt {
            Stmt::Import(i) => {
                for alias in &i.names {
                    let module = alias.name.as_str().split('.').map(str::to_owned).collect();
                    out.push((module, Vec::new()));
                }
            }
            Stmt::ImportFrom(f) => {
                if let Some(module) = super::imports::from_module(f, package) {
                    let names = f.names.iter().map(|a| a.name.as_str().to_owned()).collect();
                    out.push((module, names));
                }
            }
            Stmt::If(s) => {
                if !is_type_checking(&s.test) {
                    collect(&s.body, package, out);
                }
                for clause in &s.elif_else_clauses {
                    collect(&clause.body, package, out);
                }
            }
            Stmt::Try(t) => {
                collect(&t.body, package, out);
                for h in &t.handlers {
                    let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                    collect(&h.body, package, out);
                }
                collect(&t.orelse, package, out);
                collect(&t.finalbody, package, out);
            }
            Stmt::With(w) => collect(&w.body, package, out),
            Stmt::For(f) => collect(&f.body, package, out),
            Stmt::While(w) => collect(&w.body, package, out),
            _ => {}
        }
    }
}

/// `TYPE_CHECKING` or `typing.TYPE_CHECKING`: code that never runs.
fn is_type_checking(test: &Expr) -> bool {
    match test {
        Expr::Name(n) => n.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(a) => a.attr.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

/// The chain of imports from `start` to `target` (both included), if importing `start`
/// runs `target`'s module within the project.
pub(crate) fn import_chain(
    index: &ModuleIndex,
    start: &[String],
    target: &[String],
) -> Option<Vec<Vec<String>>> {
    if start == target {
        return None;
    }
    let mut came_from: HashMap<Vec<String>, Vec<String>> = HashMap::new();
    let mut queue: VecDeque<Vec<String>> = VecDeque::from([start.to_vec()]);
    came_from.insert(start.to_vec(), Vec::new());
    while let Some(module) = queue.pop_front() {
        if came_from.len() > MAX_MODULES {
            return None;
        }
        for next in index.imports_of(&module).iter() {
            if came_from.contains_key(next) {
                continue;
            }
            came_from.insert(next.clone(), module.clone());
            if next == target {
                let mut chain = vec![next.clone()];
                let mut at = module.clone();
                while !at.is_empty() {
                    chain.push(at.clone());
                    at = came_from.get(&at).cloned().unwrap_or_default();
                }
                chain.reverse();
                return Some(chain);
            }
            queue.push_back(next.clone());
        }
    }
    None
}

/// Why importing `new` into the file of module `this` would be a circular import; `None`
/// when it would not (or `this` is not a named module).
pub(crate) fn cycle_reason(index: &ModuleIndex, new: &[String], this: &[String]) -> Option<String> {
    if this.is_empty() {
        return None;
    }
    let chain = import_chain(index, new, this)?;
    let mut words = format!("`{}` imports", new.join("."));
    for (i, module) in chain.iter().enumerate().skip(1) {
        if i > 1 {
            words.push_str(", which imports");
        }
        words.push_str(&format!(" `{}`", module.join(".")));
    }
    Some(format!(
        "importing `{}` here would make a circular import ({words}, which is this file), so \
         the app could not be imported; fix leaves it",
        new.join(".")
    ))
}
