//! Import lines a fix would repeat.
//!
//! Phases repair one kind each, so two of them can each write the same import: phase 1 moves
//! `default_redis_cache_manager` to `from netra_backend.app.redis_manager import
//! redis_manager`, and phase 2 renames `from netra_backend.app.redis_manager import
//! auth_redis_manager` to that same line. After the phases, an import statement all of whose
//! names an earlier import of the same block already binds, the same way, is removed, unless
//! the original file had that repetition itself (it is not the fix's to tidy). Only a
//! statement alone on its line(s) is removed, with its line ending.

use std::collections::HashSet;

use ruff_python_ast::{Stmt, StmtImportFrom};
use ruff_text_size::Ranged;

use crate::violation::Edit;

/// What one imported name binds: `(local name, where it comes from)`.
type Bound = (String, String);

/// The bindings of an import statement, or `None` for any other statement.
fn bindings(stmt: &Stmt) -> Option<Vec<Bound>> {
    match stmt {
        Stmt::Import(i) => Some(
            i.names
                .iter()
                .map(|a| match &a.asname {
                    Some(local) => (local.to_string(), a.name.to_string()),
                    None => {
                        let top = a.name.as_str().split('.').next().unwrap_or("");
                        (top.to_owned(), format!("import {}", a.name))
                    }
                })
                .collect(),
        ),
        Stmt::ImportFrom(f) => Some(from_bindings(f)),
        _ => None,
    }
}

fn from_bindings(f: &StmtImportFrom) -> Vec<Bound> {
    let module = format!(
        "{}{}",
        ".".repeat(usize::try_from(f.level).unwrap_or(0)),
        f.module.as_ref().map_or("", |m| m.as_str())
    );
    f.names
        .iter()
        .map(|a| {
            let local = a.asname.as_ref().unwrap_or(&a.name).to_string();
            (local, format!("{module}:{}", a.name))
        })
        .collect()
}

/// The import statements of every block that repeat an earlier one of their block.
fn repeated<'a>(body: &'a [Stmt], out: &mut Vec<&'a Stmt>) {
    let mut seen: HashSet<Bound> = HashSet::new();
    for stmt in body {
        if let Some(bound) = bindings(stmt) {
            if !bound.is_empty()
                && !bound.iter().any(|(local, _)| local == "*")
                && bound.iter().all(|b| seen.contains(b))
            {
                out.push(stmt);
            }
            seen.extend(bound);
            continue;
        }
        match stmt {
            Stmt::FunctionDef(f) => repeated(&f.body, out),
            Stmt::ClassDef(c) => repeated(&c.body, out),
            Stmt::If(s) => {
                repeated(&s.body, out);
                for clause in &s.elif_else_clauses {
                    repeated(&clause.body, out);
                }
            }
            Stmt::Try(t) => {
                repeated(&t.body, out);
                for h in &t.handlers {
                    let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                    repeated(&h.body, out);
                }
                repeated(&t.orelse, out);
                repeated(&t.finalbody, out);
            }
            Stmt::With(w) => repeated(&w.body, out),
            Stmt::For(f) => {
                repeated(&f.body, out);
                repeated(&f.orelse, out);
            }
            Stmt::While(w) => {
                repeated(&w.body, out);
                repeated(&w.orelse, out);
            }
            _ => {}
        }
    }
}

/// A statement's text with its whitespace collapsed, to compare it across edits.
fn normalised(source: &str, stmt: &Stmt) -> String {
    source[stmt.range()]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The edits that remove the import statements `after` repeats and `before` did not.
pub(crate) fn removals(before: &str, after: &str) -> Vec<Edit> {
    let old = super::parse(before);
    let mut found = Vec::new();
    repeated(&old.syntax().body, &mut found);
    let already: HashSet<String> = found.iter().map(|s| normalised(before, s)).collect();
    let new = super::parse(after);
    let mut found = Vec::new();
    repeated(&new.syntax().body, &mut found);
    let bytes = after.as_bytes();
    found
        .into_iter()
        .filter(|s| !already.contains(&normalised(after, s)))
        .filter_map(|s| whole_lines(bytes, usize::from(s.start()), usize::from(s.end())))
        .map(|(start, end)| Edit {
            start,
            end,
            text: String::new(),
        })
        .collect()
}

/// The lines `start..end` fill, with the last one's line ending; `None` when something else
/// shares them.
fn whole_lines(source: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let line_start = source[..start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    if !source[line_start..start]
        .iter()
        .all(|b| matches!(b, b' ' | b'\t'))
    {
        return None;
    }
    let mut at = end;
    while at < source.len() && matches!(source[at], b' ' | b'\t' | b'\r') {
        at += 1;
    }
    match source.get(at) {
        Some(b'\n') => Some((line_start, at + 1)),
        None => Some((line_start, at)),
        Some(_) => None,
    }
}
