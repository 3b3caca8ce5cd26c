//! Rust `use` declarations: bindings (with renames, groups, `self` and globs), deprecated-path
//! checks and their fixes.

use std::collections::HashMap;

use tree_sitter::Node;

use crate::analysis::FileContext;
use crate::syntax::text;
use crate::violation::{Edit, Repair};

/// Names bound by `use`: local name to the full path it stands for.
#[derive(Debug, Default)]
pub struct UseBindings {
    names: HashMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
}

impl UseBindings {
    /// Resolves a spelled path. An imported first segment is replaced by its full path; other
    /// paths stay as written, because in Rust an unimported first segment is a crate name
    /// (`redis::Client`) or a local item. A lone unimported name may come from a single glob.
    pub fn resolve(&self, spelled: &[String]) -> Vec<String> {
        let Some((head, rest)) = spelled.split_first() else {
            return Vec::new();
        };
        if let Some(path) = self.names.get(head) {
            let mut full = path.clone();
            full.extend_from_slice(rest);
            return full;
        }
        if let ([], [glob]) = (rest, self.globs.as_slice()) {
            let mut full = glob.clone();
            full.push(head.clone());
            return full;
        }
        spelled.to_vec()
    }
}

/// The segments of a path node (`a::b::C`, `crate::x`, `Vec::<u8>` as `Vec`); empty when the
/// path cannot be read statically (macro metavariables, `<T as Trait>::` forms).
pub fn segments(node: Node, source: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if push_segments(node, source, &mut out) {
        out
    } else {
        Vec::new()
    }
}

fn push_segments(node: Node, source: &[u8], out: &mut Vec<String>) -> bool {
    match node.kind() {
        "identifier" | "type_identifier" | "crate" | "self" | "super" => {
            out.push(text(node, source).to_owned());
            true
        }
        "scoped_identifier" | "scoped_type_identifier" => {
            if let Some(path) = node.child_by_field_name("path")
                && !push_segments(path, source, out)
            {
                return false;
            }
            match node.child_by_field_name("name") {
                Some(name) => push_segments(name, source, out),
                None => false,
            }
        }
        "generic_type" | "generic_type_with_turbofish" => match node.child_by_field_name("type") {
            Some(t) => push_segments(t, source, out),
            None => false,
        },
        _ => false,
    }
}

/// One path a `use` declaration brings in.
struct UseLeaf {
    path: Vec<String>,
    local: Option<String>,
    glob: bool,
}

/// Reads one `use` declaration: binds its names and reports deprecated paths.
pub fn analyse_use(ctx: &mut FileContext, decl: Node, bindings: &mut UseBindings) {
    let source = ctx.text;
    let Some(argument) = decl.child_by_field_name("argument") else {
        return;
    };
    let mut leaves = Vec::new();
    collect(argument, source, &[], &mut leaves);
    for leaf in &leaves {
        if leaf.glob {
            bindings.globs.push(leaf.path.clone());
        } else if let Some(local) = leaf.local.as_ref().filter(|l| *l != "_") {
            bindings.names.insert(local.clone(), leaf.path.clone());
        }
    }
    if !ctx.has_rules() {
        return;
    }
    // One report per deprecated module per declaration, at the declaration's outer path.
    let outer = outer_path(argument);
    let mut reported: Vec<String> = Vec::new();
    let mut fixed = false;
    for leaf in &leaves {
        let Some((_, d)) = ctx.deprecated(&leaf.path).into_iter().next() else {
            continue;
        };
        let key = d.module.join("::");
        if reported.contains(&key) {
            continue;
        }
        reported.push(key.clone());
        let offset = outer.map_or(argument.start_byte(), |n| n.start_byte());
        let edit = if fixed {
            None
        } else {
            outer.and_then(|n| prefix_edit(n, source, &key, &d.replacement.join("::")))
        };
        fixed |= edit.is_some();
        ctx.import(&leaf.path, offset, move |_| match edit {
            Some(e) => Repair::edits(vec![e]),
            None => Repair::review(
                "fix rewrites a deprecated `use` only when the deprecated prefix is spelled in \
                 one path, not across nested groups",
            ),
        });
    }
}

/// The path node that starts the declaration: the whole path for `use a::b::C`, the shared
/// prefix for `use a::b::{C, D}`.
fn outer_path(argument: Node) -> Option<Node> {
    match argument.kind() {
        "scoped_identifier" | "identifier" => Some(argument),
        "use_as_clause" | "scoped_use_list" => argument.child_by_field_name("path"),
        "use_wildcard" => argument.named_child(0),
        _ => None,
    }
}

/// Replaces the deprecated prefix `old` of `node` by `new`, if the node spells it in one piece.
fn prefix_edit(node: Node, source: &[u8], old: &str, new: &str) -> Option<Edit> {
    let spelled: String = text(node, source)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let rest = spelled.strip_prefix(old)?;
    if !(rest.is_empty() || rest.starts_with("::")) {
        return None;
    }
    Some(Edit {
        start: node.start_byte(),
        end: node.end_byte(),
        text: format!("{new}{rest}"),
    })
}

fn collect(node: Node, source: &[u8], prefix: &[String], out: &mut Vec<UseLeaf>) {
    let joined = |extra: Vec<String>| {
        let mut p = prefix.to_vec();
        p.extend(extra);
        p
    };
    match node.kind() {
        "identifier" | "scoped_identifier" | "crate" | "self" | "super" => {
            let mut path = joined(segments(node, source));
            if path.last().is_some_and(|s| s == "self") && path.len() > 1 {
                path.pop();
            }
            let local = path.last().cloned();
            out.push(UseLeaf {
                path,
                local,
                glob: false,
            });
        }
        "use_as_clause" => {
            let path = node
                .child_by_field_name("path")
                .map(|p| joined(segments(p, source)))
                .unwrap_or_default();
            let local = node
                .child_by_field_name("alias")
                .map(|a| text(a, source).to_owned());
            out.push(UseLeaf {
                path,
                local,
                glob: false,
            });
        }
        "scoped_use_list" => {
            let inner = node
                .child_by_field_name("path")
                .map(|p| joined(segments(p, source)))
                .unwrap_or_else(|| prefix.to_vec());
            if let Some(list) = node.child_by_field_name("list") {
                collect(list, source, &inner, out);
            }
        }
        "use_list" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                collect(child, source, prefix, out);
            }
        }
        "use_wildcard" => {
            let path = node
                .named_child(0)
                .map(|p| joined(segments(p, source)))
                .unwrap_or_else(|| prefix.to_vec());
            out.push(UseLeaf {
                path,
                local: None,
                glob: true,
            });
        }
        _ => {}
    }
}
