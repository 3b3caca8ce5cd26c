//! Python import statements: bindings, deprecated-module checks and their fixes.
//!
//! Fixes are computed here, next to the code that understands the statement, as byte-range
//! edits: only the module path is replaced, so formatting, comments and the other names of a
//! multi-name import stay as they were.
//!
//! | form | fix |
//! | --- | --- |
//! | `from old import X, Y as Z` | `from new import X, Y as Z` (module path replaced in place) |
//! | `from .old import X` | `from new import X` (the relative path becomes the absolute replacement) |
//! | `import old as m` | `import new as m` |
//! | `import old` | `import new`, and every `old.` spelled in the file becomes `new.` |
//! | `from pkg import old, other` | `old` removed from the list; `from new_pkg import new as old` added below |

use tree_sitter::Node;

use super::Bindings;
use crate::analysis::FileContext;
use crate::syntax::{text, walk};
use crate::violation::Edit;

/// Reads one `import` / `from … import` statement: binds its names and reports deprecated modules.
pub fn analyse_import(
    ctx: &mut FileContext,
    node: Node,
    package: &[String],
    bindings: &mut Bindings,
    root: Node,
) {
    let source = ctx.text;
    if node.kind() == "import_statement" {
        let mut cursor = node.walk();
        let items: Vec<Node> = node.children_by_field_name("name", &mut cursor).collect();
        for item in items {
            let (name_node, alias) = split_alias(item);
            let module = dotted(name_node, source);
            if module.is_empty() {
                continue;
            }
            match alias {
                Some(a) => bindings.bind(text(a, source), module.clone()),
                None => bindings.bind(&module[0], vec![module[0].clone()]),
            }
            let old = text(name_node, source).to_owned();
            ctx.import(&module, name_node.start_byte(), |d| {
                let new = FileContext::replacement_for(d, &module).join(".");
                let mut edits = vec![Edit {
                    start: name_node.start_byte(),
                    end: name_node.end_byte(),
                    text: new.clone(),
                }];
                if alias.is_none() {
                    // `import old` binds the top package; the code spells `old.X` in full.
                    edits.extend(spelled_uses(root, source, &old).into_iter().map(
                        |(start, end)| Edit {
                            start,
                            end,
                            text: new.clone(),
                        },
                    ));
                }
                edits
            });
        }
        return;
    }
    // import_from_statement
    let Some(module_node) = node.child_by_field_name("module_name") else {
        return;
    };
    let Some(module) = resolve_module(module_node, source, package) else {
        return;
    };
    let mut cursor = node.walk();
    let names: Vec<Node> = node.children_by_field_name("name", &mut cursor).collect();
    let mut cursor = node.walk();
    let has_wildcard = node
        .children(&mut cursor)
        .any(|c| c.kind() == "wildcard_import");
    if has_wildcard {
        bindings.wildcard(module.clone());
    }
    for item in &names {
        let (name_node, alias) = split_alias(*item);
        let mut full = module.clone();
        full.extend(dotted(name_node, source));
        let local = alias.map_or_else(|| text(name_node, source), |a| text(a, source));
        bindings.bind(local, full);
    }
    if !ctx.deprecated(&module).is_empty() {
        let range = (module_node.start_byte(), module_node.end_byte());
        ctx.import(&module, module_node.start_byte(), |d| {
            vec![Edit {
                start: range.0,
                end: range.1,
                text: FileContext::replacement_for(d, &module).join("."),
            }]
        });
        return;
    }
    // `from pkg import old_module [as alias]`: the imported name is itself a deprecated module.
    let mut moved: Vec<(usize, String)> = Vec::new();
    for (i, item) in names.iter().enumerate() {
        let (name_node, alias) = split_alias(*item);
        let mut full = module.clone();
        full.extend(dotted(name_node, source));
        if let Some((_, d)) = ctx.deprecated(&full).first() {
            let new = FileContext::replacement_for(d, &full);
            let local = alias.map_or_else(|| text(name_node, source), |a| text(a, source));
            moved.push((i, import_line(&new, local)));
        }
    }
    let mut edits = if moved.is_empty() {
        Vec::new()
    } else {
        move_names(node, &names, &moved, source, has_wildcard)
    };
    for (i, _) in &moved {
        let (name_node, _) = split_alias(names[*i]);
        let mut full = module.clone();
        full.extend(dotted(name_node, source));
        let mine = std::mem::take(&mut edits);
        ctx.import(&full, name_node.start_byte(), move |_| mine);
    }
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

/// Edits that take the names at `moved` out of a `from … import` statement and add one import
/// line for each below it (or replace the statement when no other name is left).
fn move_names(
    stmt: Node,
    names: &[Node],
    moved: &[(usize, String)],
    source: &[u8],
    wildcard: bool,
) -> Vec<Edit> {
    let line_start = source[..stmt.start_byte()]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let prefix = &source[line_start..stmt.start_byte()];
    let own_line = prefix.iter().all(|b| *b == b' ' || *b == b'\t');
    let joiner = if own_line {
        format!("\n{}", String::from_utf8_lossy(prefix))
    } else {
        "; ".to_owned()
    };
    let lines: Vec<&str> = moved.iter().map(|(_, l)| l.as_str()).collect();
    if moved.len() == names.len() && !wildcard {
        return vec![Edit {
            start: stmt.start_byte(),
            end: stmt.end_byte(),
            text: lines.join(&joiner),
        }];
    }
    let is_moved = |i: usize| moved.iter().any(|(m, _)| *m == i);
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (i, name) in names.iter().enumerate().filter(|(i, _)| is_moved(*i)) {
        let kept_after = (i + 1..names.len()).any(|j| !is_moved(j));
        if kept_after {
            // Remove the name, its comma and the space up to the next name.
            let end = names[i + 1].start_byte();
            ranges.push(whole_line_or(source, name.start_byte(), end));
        } else if let Some(last_kept) = (0..i).rev().find(|j| !is_moved(*j)) {
            // Remove from the end of the last kept name, so its comma goes too.
            ranges.push((names[last_kept].end_byte(), name.end_byte()));
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
    let mut edits: Vec<Edit> = merged
        .into_iter()
        .map(|(start, end)| Edit {
            start,
            end,
            text: String::new(),
        })
        .collect();
    edits.push(Edit {
        start: stmt.end_byte(),
        end: stmt.end_byte(),
        text: format!("{joiner}{}", lines.join(&joiner)),
    });
    edits
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

/// For an `aliased_import`, its name and alias; otherwise the node itself and no alias.
fn split_alias(item: Node) -> (Node, Option<Node>) {
    if item.kind() == "aliased_import"
        && let Some(name) = item.child_by_field_name("name")
    {
        return (name, item.child_by_field_name("alias"));
    }
    (item, None)
}

/// The identifiers of a `dotted_name`.
fn dotted(node: Node, source: &[u8]) -> Vec<String> {
    let mut cursor = node.walk();
    match node.kind() {
        "dotted_name" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind() == "identifier")
            .map(|c| text(c, source).to_owned())
            .collect(),
        "identifier" => vec![text(node, source).to_owned()],
        _ => Vec::new(),
    }
}

/// The absolute module of a `from` clause; relative forms are resolved against `package`.
/// `None` when there are more leading dots than package levels.
fn resolve_module(node: Node, source: &[u8], package: &[String]) -> Option<Vec<String>> {
    if node.kind() == "dotted_name" {
        return Some(dotted(node, source));
    }
    let mut dots = 0;
    let mut rest = Vec::new();
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "import_prefix" => dots = text(child, source).chars().filter(|c| *c == '.').count(),
            "dotted_name" => rest = dotted(child, source),
            _ => {}
        }
    }
    let up = dots.checked_sub(1)?;
    let keep = package.len().checked_sub(up)?;
    let mut module = package[..keep].to_vec();
    module.extend(rest);
    Some(module)
}

/// Byte ranges of `attribute` expressions spelled exactly `dotted` (e.g. `a.b.c` in `a.b.c.X()`).
fn spelled_uses(root: Node, source: &[u8], dotted: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    walk(root, |node| match node.kind() {
        "import_statement" | "import_from_statement" | "string" | "comment" => false,
        "attribute" => {
            let t = text(node, source);
            if t == dotted {
                found.push((node.start_byte(), node.end_byte()));
                false
            } else {
                t.len() > dotted.len()
            }
        }
        _ => true,
    });
    found
}
