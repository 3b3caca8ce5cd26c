//! Python import statements: bindings, deprecated-module checks and their repairs.
//!
//! A repair never leaves a broken import. Before an imported name moves to the replacement
//! module, that module is found under the source roots and read ([`super::defined`]): the
//! name (or its mapping, `names = { Old = "new" }`) must be defined there. A name that is not
//! stays where it was and the violation is marked `needs_review` with the reason. When a
//! mapping renames something, every use in the file must be one `fix` can rewrite (a
//! zero-argument call, or any use when both names are of one kind), or the name stays too.
//!
//! | form | repair |
//! | --- | --- |
//! | `from old import X, Y as Z` | module path replaced in place (mapped names renamed) |
//! | `from .old import X` | the relative path becomes the absolute replacement |
//! | `from old import X, Missing` | `X` moves to a new `from new import X` line; `Missing` stays |
//! | `import old as m` | `import new as m` (every `m.X` checked) |
//! | `import old` | `import new`, and every `old.X` spelled in the file becomes `new.X` |
//! | `from pkg import old, other` | `old` removed from the list; `from new_pkg import new as old` added below |

use ruff_python_ast::{Alias, Stmt, StmtImportFrom};

use super::defined::{Binding, ModuleIndex};
use super::{Bindings, Facts, Use};
use crate::analysis::FileContext;
use crate::config::DeprecatedImport;
use crate::violation::{Edit, Repair};

/// Binds the names of one `import` / `from … import` statement.
pub(super) fn bind(stmt: &Stmt, package: &[String], bindings: &mut Bindings) {
    match stmt {
        Stmt::Import(i) => {
            for alias in &i.names {
                let module = dotted(alias.name.as_str());
                match &alias.asname {
                    Some(a) => bindings.bind(a.as_str(), module),
                    None => bindings.bind(&module[0], vec![module[0].clone()]),
                }
            }
        }
        Stmt::ImportFrom(f) => {
            let Some(module) = from_module(f, package) else {
                return;
            };
            for alias in &f.names {
                if alias.name.as_str() == "*" {
                    bindings.wildcard(module.clone());
                    continue;
                }
                let mut full = module.clone();
                full.push(alias.name.as_str().to_owned());
                let local = alias.asname.as_ref().unwrap_or(&alias.name);
                bindings.bind(local.as_str(), full);
            }
        }
        _ => {}
    }
}

/// Reports the deprecated modules one statement imports, with their repairs.
pub(super) fn check(ctx: &mut FileContext, stmt: &Stmt, package: &[String], facts: &Facts) {
    match stmt {
        Stmt::Import(i) => {
            for alias in &i.names {
                let module = dotted(alias.name.as_str());
                let offset = usize::from(alias.name.range.start());
                let fixing = ctx.fixing;
                ctx.import(&module, offset, |d| {
                    fixing.map_or_else(Repair::default, |index| {
                        plain_import(index, d, &module, alias, facts)
                    })
                });
            }
        }
        Stmt::ImportFrom(f) => from_import(ctx, f, package, facts),
        _ => {}
    }
}

/// `import old [as m]`.
fn plain_import(
    index: &ModuleIndex,
    d: &DeprecatedImport,
    module: &[String],
    alias: &Alias,
    facts: &Facts,
) -> Repair {
    let new = FileContext::replacement_for(d, module);
    if let Some(reason) = super::graph::cycle_reason(index, &new, &facts.module) {
        return Repair::review(reason);
    }
    let exact = d.module.segments() == module;
    let local: Vec<String> = match &alias.asname {
        Some(a) => vec![a.as_str().to_owned()],
        None => module.to_vec(),
    };
    let mut edits = vec![super::edit(alias.name.range, new.join("."))];
    // `import old` binds the top package; the code spells `old.X` in full, and each such
    // prefix becomes `new` (inside a call that is replaced whole, by that call's edit).
    let head = alias.asname.is_none().then(|| new.join("."));
    let members = match member_edits(index, d, exact, &new, facts, &local, head.as_deref()) {
        Ok(more) => more,
        Err(reason) => return Repair::review(reason),
    };
    if alias.asname.is_none() {
        for u in facts.uses.iter().filter(|u| starts_with(u, &local)) {
            let (start, end) = u.prefix(local.len() - 1);
            if members.iter().any(|e| e.start <= start && end <= e.end) {
                continue;
            }
            edits.push(Edit {
                start,
                end,
                text: new.join("."),
            });
        }
    }
    edits.extend(members);
    Repair::edits(edits)
}

fn starts_with(u: &Use, local: &[String]) -> bool {
    u.chain.len() > local.len() && u.chain.iter().zip(local).all(|(a, b)| *a == b)
}

/// Edits that keep every `local.member` use working once `local` stands for `new`; the
/// reason when one cannot be kept.
fn member_edits(
    index: &ModuleIndex,
    d: &DeprecatedImport,
    exact: bool,
    new: &[String],
    facts: &Facts,
    local: &[String],
    head: Option<&str>,
) -> Result<Vec<Edit>, String> {
    let mut edits = Vec::new();
    for u in facts.uses.iter().filter(|u| starts_with(u, local)) {
        let member = u.chain[local.len()];
        let target = if exact { d.mapped(member) } else { member };
        let binding = index.binding(new, target)?;
        if target != member {
            let from = index.binding(d.module.segments(), member).ok();
            let kinds = (from, binding);
            edits.extend(super::rewrite_use(
                u,
                local.len(),
                target,
                kinds,
                facts.source,
                head,
            )?);
        }
    }
    Ok(edits)
}

/// The first import of the file that binds `local`: where, and the path it stands for.
/// Names of `renamed` (the statement being repaired by `d`) that will themselves become
/// `local` are not counted: after the fix they are the same import.
fn import_binding(
    facts: &Facts,
    package: &[String],
    local: &str,
    renamed: &StmtImportFrom,
    d: &DeprecatedImport,
) -> Option<(usize, Vec<String>)> {
    for stmt in &facts.imports {
        match stmt {
            Stmt::Import(i) => {
                for alias in &i.names {
                    let module = dotted(alias.name.as_str());
                    let (bound, path) = match &alias.asname {
                        Some(a) => (a.as_str(), module.clone()),
                        None => (module[0].as_str(), vec![module[0].clone()]),
                    };
                    if bound == local {
                        return Some((usize::from(alias.name.range.start()), path));
                    }
                }
            }
            Stmt::ImportFrom(f) => {
                let same = std::ptr::eq(f, renamed);
                for alias in &f.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    if bound != local || alias.name.as_str() == "*" {
                        continue;
                    }
                    if same && d.mapped(alias.name.as_str()) == local {
                        continue;
                    }
                    let mut path = from_module(f, package).unwrap_or_default();
                    path.push(alias.name.as_str().to_owned());
                    return Some((usize::from(alias.name.range.start()), path));
                }
            }
            _ => {}
        }
    }
    None
}

/// `from module import names`.
fn from_import(ctx: &mut FileContext, f: &StmtImportFrom, package: &[String], facts: &Facts) {
    let Some(module) = from_module(f, package) else {
        return;
    };
    let source = ctx.text;
    let module_offset = module_start(f, source);
    if !ctx.deprecated(&module).is_empty() {
        let fixing = ctx.fixing;
        ctx.import(&module, module_offset, |d| {
            fixing.map_or_else(Repair::default, |index| {
                names_to_replacement(index, d, (&module, package), f, facts, source)
            })
        });
        return;
    }
    // `from pkg import old_module [as alias]`: the imported name is itself a deprecated module.
    // Every such name of the statement moves in one edit set (attached to the first), so two
    // of them never make overlapping edits.
    let mut hits: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, alias) in f.names.iter().enumerate() {
        let mut full = module.clone();
        full.push(alias.name.as_str().to_owned());
        if !ctx.deprecated(&full).is_empty() {
            hits.push((i, full));
        }
    }
    if hits.is_empty() {
        return;
    }
    let mut repairs: Vec<Repair> = Vec::new();
    let mut moved: Vec<usize> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut edits: Vec<Edit> = Vec::new();
    for (i, full) in &hits {
        let alias = &f.names[*i];
        let repair = match (ctx.fixing, ctx.deprecated(full).first()) {
            (Some(index), Some((_, d))) => {
                let new = FileContext::replacement_for(d, full);
                let local = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                let exact = d.module.segments() == full.as_slice();
                if matches!(index.lookup(&new), super::defined::Lookup::Missing) {
                    Repair::review(format!(
                        "the replacement module `{}` was not found under the source roots",
                        new.join(".")
                    ))
                } else if let Some(reason) = super::graph::cycle_reason(index, &new, &facts.module)
                {
                    Repair::review(reason)
                } else {
                    match member_edits(index, d, exact, &new, facts, &[local.to_owned()], None) {
                        Ok(uses) => {
                            edits.extend(uses);
                            moved.push(*i);
                            lines.push(import_line(&new, local));
                            Repair::default()
                        }
                        Err(reason) => Repair::review(reason),
                    }
                }
            }
            _ => Repair::default(),
        };
        repairs.push(repair);
    }
    if !moved.is_empty() {
        edits.extend(move_names(f, &moved, &lines, source));
        if let Some(first) = hits.iter().position(|(i, _)| moved.contains(i)) {
            repairs[first].edits = edits;
        }
    }
    for ((i, full), repair) in hits.into_iter().zip(repairs) {
        let offset = usize::from(f.names[i].name.range.start());
        ctx.import(&full, offset, move |_| repair);
    }
}

/// The names of `from old import ..` moved to the replacement, each checked.
fn names_to_replacement(
    index: &ModuleIndex,
    d: &DeprecatedImport,
    (module, package): (&[String], &[String]),
    f: &StmtImportFrom,
    facts: &Facts,
    source: &[u8],
) -> Repair {
    let new = FileContext::replacement_for(d, module);
    if let Some(reason) = super::graph::cycle_reason(index, &new, &facts.module) {
        return Repair::review(reason);
    }
    let exact = d.module.segments() == module;
    let mut moved: Vec<(usize, String, Vec<Edit>)> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    for (i, alias) in f.names.iter().enumerate() {
        let name = alias.name.as_str();
        if name == "*" {
            reasons.push(format!(
                "`from {} import *` cannot be checked name by name",
                module.join(".")
            ));
            continue;
        }
        let target = if exact { d.mapped(name) } else { name };
        let binding = match index.binding(&new, target) {
            Ok(b) => b,
            Err(reason) => {
                let hint = if target == name {
                    format!("; map it with `names = {{ {name} = \"...\" }}` or edit by hand")
                } else {
                    String::new()
                };
                reasons.push(format!("{reason}{hint}"));
                continue;
            }
        };
        let asname = alias.asname.as_ref().map(|a| a.as_str());
        if asname.is_none()
            && target != name
            && let Some(&at) = facts.bound.get(target)
        {
            reasons.push(format!(
                "`{name}` would become `{target}`, which is already bound at line {} of this \
                 file",
                super::line_of(facts.source, at)
            ));
            continue;
        }
        if asname.is_none()
            && target != name
            && let Some((at, other)) = import_binding(facts, package, target, f, d)
            && !(other
                .split_last()
                .is_some_and(|(last, m)| last == target && m == new))
        {
            reasons.push(format!(
                "`{name}` would become `{target}`, which the import at line {} already binds \
                 to `{}`",
                super::line_of(facts.source, at),
                other.join(".")
            ));
            continue;
        }
        let from = index.binding(module, name).ok();
        let local = asname.unwrap_or(name);
        if target != name && facts.reexports(local) {
            if from == Some(binding) && binding != Binding::Other {
                // Same kind: keep the exported name, so its importers elsewhere still work.
                let spelled = match asname {
                    Some(a) if a == target => target.to_owned(),
                    _ => format!("{target} as {local}"),
                };
                moved.push((i, spelled, Vec::new()));
            } else {
                reasons.push(format!(
                    "`{local}` is re-exported ({}), so code elsewhere may call or subclass it; \
                     mapping it to `{target}` needs a hand edit",
                    if facts.exported.iter().any(|e| e == local) {
                        "listed in `__all__`"
                    } else {
                        "imported by the package's `__init__.py`"
                    }
                ));
            }
            continue;
        }
        match name_edits(name, target, asname, (from, binding), facts) {
            Ok(edits) => {
                let spelled = match asname {
                    Some(a) if a != target => format!("{target} as {a}"),
                    _ => target.to_owned(),
                };
                moved.push((i, spelled, edits));
            }
            Err(reason) => reasons.push(reason),
        }
    }
    let review = (!reasons.is_empty()).then(|| reasons.join("; "));
    if moved.is_empty() {
        return Repair {
            edits: Vec::new(),
            review,
        };
    }
    let mut edits: Vec<Edit> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (_, spelled, _) in &moved {
        if !names.contains(spelled) {
            names.push(spelled.clone());
        }
    }
    if moved.len() == f.names.len() && names.len() < moved.len() {
        // Two old names became one (`A, a` both map to `redis_manager`): one line, once each.
        edits.push(Edit {
            start: usize::from(f.range.start()),
            end: usize::from(f.range.end()),
            text: format!(
                "from {} import {}{}",
                new.join("."),
                names.join(", "),
                comments_in(
                    source,
                    usize::from(f.range.start()),
                    usize::from(f.range.end())
                )
            ),
        });
        edits.extend(moved.into_iter().flat_map(|(_, _, uses)| uses));
    } else if moved.len() == f.names.len() {
        let start = module_start(f, source);
        let end = f
            .module
            .as_ref()
            .map_or_else(|| dots_end(f, source), |m| usize::from(m.range.end()));
        edits.push(Edit {
            start,
            end,
            text: new.join("."),
        });
        for (i, spelled, uses) in moved {
            let alias = &f.names[i];
            if spelled != alias.name.as_str() {
                edits.push(Edit {
                    start: usize::from(alias.range.start()),
                    end: usize::from(alias.range.end()),
                    text: spelled,
                });
            }
            edits.extend(uses);
        }
    } else {
        let line = format!("from {} import {}", new.join("."), names.join(", "));
        let indices: Vec<usize> = moved.iter().map(|(i, _, _)| *i).collect();
        edits.extend(move_names(f, &indices, &[line], source));
        for (_, _, uses) in moved {
            edits.extend(uses);
        }
    }
    Repair { edits, review }
}

/// Edits for the uses of a name imported as `name [as asname]` that now comes from the
/// replacement as `target`. Unchanged names need none.
fn name_edits(
    name: &str,
    target: &str,
    asname: Option<&str>,
    kinds: (Option<Binding>, Binding),
    facts: &Facts,
) -> Result<Vec<Edit>, String> {
    if target == name {
        return Ok(Vec::new());
    }
    let local = asname.unwrap_or(name);
    let mut edits = Vec::new();
    for u in facts.uses.iter().filter(|u| u.chain[0] == local) {
        let renamed = if asname.is_some() { local } else { target };
        edits.extend(super::rewrite_use(
            u,
            0,
            renamed,
            kinds,
            facts.source,
            None,
        )?);
    }
    Ok(edits)
}

/// Where the module part of `from <module> import` starts (its leading dots included).
fn module_start(f: &StmtImportFrom, source: &[u8]) -> usize {
    let mut at = usize::from(f.range.start()) + "from".len();
    while at < source.len() && matches!(source[at], b' ' | b'\t' | b'\\' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// The end of the dots of `from .. import x` (no module name).
fn dots_end(f: &StmtImportFrom, source: &[u8]) -> usize {
    let mut at = module_start(f, source);
    while at < source.len() && source[at] == b'.' {
        at += 1;
    }
    at
}

/// The absolute module of a `from` clause; relative forms are resolved against `package`.
/// `None` when there are more leading dots than package levels.
pub(super) fn from_module(f: &StmtImportFrom, package: &[String]) -> Option<Vec<String>> {
    let rest = f
        .module
        .as_ref()
        .map(|m| dotted(m.as_str()))
        .unwrap_or_default();
    if f.level == 0 {
        return Some(rest);
    }
    let up = usize::try_from(f.level).ok()?.checked_sub(1)?;
    let keep = package.len().checked_sub(up)?;
    let mut module = package[..keep].to_vec();
    module.extend(rest);
    Some(module)
}

fn dotted(text: &str) -> Vec<String> {
    text.split('.').map(str::to_owned).collect()
}

/// `import_line(["a","b","c"], "c")` is `from a.b import c`; an alias is added when the
/// binding differs from the module's own name, so the code below keeps working.
fn import_line(new: &[String], local: &str) -> String {
    let Some((last, parent)) = new.split_last() else {
        return String::new();
    };
    let alias = if last == local {
        String::new()
    } else {
        format!(" as {local}")
    };
    if parent.is_empty() {
        format!("import {last}{alias}")
    } else {
        format!("from {} import {last}{alias}", parent.join("."))
    }
}

/// Edits that take the names at `moved` out of a `from … import` statement and add `lines`
/// below it (or replace the statement by them when no name is left).
fn move_names(
    stmt: &StmtImportFrom,
    moved: &[usize],
    lines: &[String],
    source: &[u8],
) -> Vec<Edit> {
    let (stmt_start, stmt_end) = (
        usize::from(stmt.range.start()),
        usize::from(stmt.range.end()),
    );
    let names = &stmt.names;
    let line_start = source[..stmt_start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let prefix = &source[line_start..stmt_start];
    let own_line = prefix.iter().all(|b| *b == b' ' || *b == b'\t');
    let joiner = if own_line {
        format!(
            "{}{}",
            super::line_ending(source),
            String::from_utf8_lossy(prefix)
        )
    } else {
        "; ".to_owned()
    };
    if moved.len() == names.len() {
        return vec![Edit {
            start: stmt_start,
            end: stmt_end,
            text: lines.join(&joiner) + &comments_in(source, stmt_start, stmt_end),
        }];
    }
    let is_moved = |i: usize| moved.contains(&i);
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (i, name) in names.iter().enumerate().filter(|(i, _)| is_moved(*i)) {
        let kept_after = (i + 1..names.len()).any(|j| !is_moved(j));
        if kept_after {
            // Remove the name, its comma and the space up to the next name.
            let end = usize::from(names[i + 1].range.start());
            ranges.push(whole_line_or(source, usize::from(name.range.start()), end));
        } else if let Some(last_kept) = (0..i).rev().find(|j| !is_moved(*j)) {
            // Remove from the end of the last kept name, so its comma goes too.
            ranges.push((
                usize::from(names[last_kept].range.end()),
                usize::from(name.range.end()),
            ));
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    // A comment on a moved name's line goes with it, to the end of the new line.
    let kept: String = merged
        .iter()
        .map(|(start, end)| comments_in(source, *start, *end))
        .collect();
    let mut edits: Vec<Edit> = merged
        .into_iter()
        .map(|(start, end)| Edit {
            start,
            end,
            text: String::new(),
        })
        .collect();
    edits.push(Edit {
        start: stmt_end,
        end: stmt_end,
        text: format!("{joiner}{}{kept}", lines.join(&joiner)),
    });
    edits
}

/// The comments in `source[start..end]` (inside an import statement, where no string can
/// hold a `#`), each as `  # text`, to be written after the line that replaces them.
fn comments_in(source: &[u8], start: usize, end: usize) -> String {
    let text = String::from_utf8_lossy(&source[start..end.min(source.len())]);
    let mut out = String::new();
    for line in text.lines() {
        if let Some(i) = line.find('#') {
            out.push_str("  ");
            out.push_str(line[i..].trim_end());
        }
    }
    out
}

/// `(start, end)` widened to whole lines when the name sits alone on its line(s).
fn whole_line_or(source: &[u8], start: usize, end: usize) -> (usize, usize) {
    let line_start = source[..start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let alone_before = source[line_start..start]
        .iter()
        .all(|b| *b == b' ' || *b == b'\t');
    // `end` is the next name's start; if only whitespace and a newline separate them, the
    // removed name ended its line and the next line's indentation must be kept.
    let between = &source[start..end];
    match between.iter().rposition(|&b| b == b'\n') {
        Some(nl) if alone_before => (line_start, start + nl + 1),
        _ => (start, end),
    }
}
