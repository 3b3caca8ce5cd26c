//! Rust analysis on the tree-sitter-rust syntax tree.
//!
//! Constructions are recognised in every form the redis-rs API is used: associated functions
//! (`Client::open(..)`, `redis::cluster::ClusterClientBuilder::new(..)`, `ClusterClient::builder(..)`,
//! which covers builder chains at their start), tuple-struct calls and struct literals
//! (`Type { .. }`). Paths are resolved through `use` declarations, including renames, groups
//! and a single glob. Macro arguments are token trees, not expressions, so they are scanned
//! token by token for `path::to::f(` sequences. As in Python, `use` anywhere in the file binds
//! for the whole file.

mod uses;

use tree_sitter::Node;

use crate::analysis::FileContext;
use crate::syntax::{text, walk};
use uses::{UseBindings, analyse_use, segments};

/// Definitions that can compete with a manager.
const DEFINITIONS: [(&str, &str); 5] = [
    ("struct_item", "struct"),
    ("enum_item", "enum"),
    ("union_item", "union"),
    ("trait_item", "trait"),
    ("type_item", "type alias"),
];

/// Analyses one parsed Rust file.
pub fn analyse(ctx: &mut FileContext, root: Node) {
    let source = ctx.text;
    let mut use_nodes = Vec::new();
    let mut sites = Vec::new();
    let mut definitions = Vec::new();
    let mut impls = Vec::new();
    walk(root, |node| match node.kind() {
        "use_declaration" => {
            use_nodes.push(node);
            false
        }
        "call_expression" | "struct_expression" | "token_tree" => {
            sites.push(node);
            true
        }
        "impl_item" => {
            impls.push(node);
            true
        }
        "line_comment" | "block_comment" => {
            ctx.comment(text(node, source), node.start_byte());
            false
        }
        "string_literal" | "raw_string_literal" | "char_literal" => false,
        kind => {
            if DEFINITIONS.iter().any(|(k, _)| *k == kind) {
                definitions.push(node);
            }
            true
        }
    });
    let mut bindings = UseBindings::default();
    for node in use_nodes {
        analyse_use(ctx, node, &mut bindings);
    }
    if !ctx.has_rules() {
        return;
    }
    for node in sites {
        match node.kind() {
            "call_expression" => call(ctx, node, &bindings),
            "struct_expression" => {
                if let Some(name) = node.child_by_field_name("name") {
                    let spelled = segments(name, source);
                    if !spelled.is_empty() {
                        let how = format!("{} {{ .. }}", spelled.join("::"));
                        ctx.construction(&bindings.resolve(&spelled), name.start_byte(), &how);
                    }
                }
            }
            _ => macro_tokens(ctx, node, &bindings),
        }
    }
    let mut defined: Vec<String> = Vec::new();
    for node in definitions {
        let Some(name) = node.child_by_field_name("name") else {
            continue;
        };
        let what = DEFINITIONS
            .iter()
            .find(|(k, _)| *k == node.kind())
            .map_or("item", |(_, w)| *w);
        ctx.definition(text(name, source), what, name.start_byte());
        defined.push(text(name, source).to_owned());
    }
    for node in impls {
        // An impl of a type defined elsewhere still adds to a competing implementation.
        let Some(ty) = node.child_by_field_name("type") else {
            continue;
        };
        let Some(name) = segments(ty, source).pop() else {
            continue;
        };
        if !defined.contains(&name) {
            ctx.definition(&name, "impl", ty.start_byte());
            defined.push(name);
        }
    }
}

/// `T::f(..)`, `path::T::f(..)` and `T(..)` where `T` is managed.
fn call(ctx: &mut FileContext, node: Node, bindings: &UseBindings) {
    let Some(mut function) = node.child_by_field_name("function") else {
        return;
    };
    if function.kind() == "generic_function" {
        match function.child_by_field_name("function") {
            Some(f) => function = f,
            None => return,
        }
    }
    if !matches!(function.kind(), "scoped_identifier" | "identifier") {
        return;
    }
    let spelled = segments(function, ctx.text);
    report_path(ctx, &spelled, function.start_byte(), bindings);
}

/// Reports the call of `spelled` if it constructs a managed type, either as the type itself
/// (tuple struct) or through one of its associated functions.
fn report_path(ctx: &mut FileContext, spelled: &[String], offset: usize, bindings: &UseBindings) {
    if spelled.is_empty() {
        return;
    }
    let resolved = bindings.resolve(spelled);
    let how = format!("{}(..)", spelled.join("::"));
    if ctx.is_managed(&resolved) {
        ctx.construction(&resolved, offset, &how);
    } else if resolved.len() >= 2 {
        ctx.construction(&resolved[..resolved.len() - 1], offset, &how);
    }
}

/// Finds `a::b::f(` token sequences directly inside a macro's token tree.
fn macro_tokens(ctx: &mut FileContext, tree: Node, bindings: &UseBindings) {
    let source = ctx.text;
    let mut path: Vec<String> = Vec::new();
    let mut start = 0;
    let mut after_colons = false;
    let mut cursor = tree.walk();
    let children: Vec<Node> = tree.children(&mut cursor).collect();
    for child in children {
        match child.kind() {
            "identifier" => {
                if !after_colons {
                    path.clear();
                    start = child.start_byte();
                }
                path.push(text(child, source).to_owned());
                after_colons = false;
            }
            "::" => after_colons = !path.is_empty(),
            "token_tree" => {
                if path.len() >= 2 && !after_colons && text(child, source).starts_with('(') {
                    let spelled = std::mem::take(&mut path);
                    report_path(ctx, &spelled, start, bindings);
                }
                path.clear();
                after_colons = false;
            }
            _ => {
                path.clear();
                after_colons = false;
            }
        }
    }
}
