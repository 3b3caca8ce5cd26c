//! Python analysis on the tree-sitter-python syntax tree.
//!
//! One traversal collects the nodes that matter (imports, calls, class definitions, comments);
//! strings and docstrings are leaves of the tree, so names inside them are never seen. Imports
//! anywhere in the file (function-local, under `if TYPE_CHECKING:`) bind names for the whole
//! file, a deliberate over-approximation: a name imported in one function and constructed in
//! another is still the managed type in practice. Relative imports are resolved against the
//! file's package, which is derived from its path relative to the scan root.

mod imports;

use std::collections::HashMap;

use tree_sitter::Node;

use crate::analysis::FileContext;
use crate::syntax::{text, walk};

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

/// The package a file belongs to, from its path relative to the scan root: `a/b/c.py` and
/// `a/b/__init__.py` are both in `a.b`, which is what a leading `.` refers to in either file.
pub fn package_of(relative: &str) -> Vec<String> {
    let mut parts: Vec<String> = relative.split('/').map(str::to_owned).collect();
    parts.pop();
    parts
}

/// Node kind ids of the grammar, looked up once: comparing ids is much cheaper than comparing
/// kind names on every node of every file.
struct Kinds {
    import: u16,
    import_from: u16,
    call: u16,
    class: u16,
    comment: u16,
    string: u16,
}

fn kinds() -> &'static Kinds {
    static KINDS: std::sync::OnceLock<Kinds> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| {
        let language: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
        let id = |name: &str| language.id_for_node_kind(name, true);
        Kinds {
            import: id("import_statement"),
            import_from: id("import_from_statement"),
            call: id("call"),
            class: id("class_definition"),
            comment: id("comment"),
            string: id("string"),
        }
    })
}

/// Analyses one parsed Python file.
pub fn analyse(ctx: &mut FileContext, root: Node) {
    let source = ctx.text;
    let mut import_nodes = Vec::new();
    let mut calls = Vec::new();
    let mut classes = Vec::new();
    let ids = kinds();
    walk(root, |node| {
        let kind = node.kind_id();
        if kind == ids.import || kind == ids.import_from {
            import_nodes.push(node);
            false
        } else if kind == ids.call {
            calls.push(node);
            true
        } else if kind == ids.class {
            classes.push(node);
            true
        } else if kind == ids.comment {
            ctx.comment(text(node, source), node.start_byte());
            false
        } else {
            kind != ids.string
        }
    });
    let package = package_of(&ctx.file.relative);
    let mut bindings = Bindings::default();
    for node in import_nodes {
        imports::analyse_import(ctx, node, &package, &mut bindings, root);
    }
    if !ctx.has_rules() {
        return;
    }
    for call in calls {
        let Some(function) = call.child_by_field_name("function") else {
            continue;
        };
        let mut chain = Vec::new();
        if !spelled_chain(function, source, &mut chain) {
            continue;
        }
        // Most calls are not of a managed type: decide on the last name before resolving.
        let last = match chain.as_slice() {
            [single] => bindings
                .names
                .get(*single)
                .and_then(|p| p.last())
                .map_or(*single, String::as_str),
            [.., last] => *last,
            [] => continue,
        };
        if !ctx.may_be_managed(last) {
            continue;
        }
        if let Some(resolved) = bindings.resolve(&chain) {
            let how = format!("{}()", chain.join("."));
            ctx.construction(&resolved, function.start_byte(), &how);
        }
    }
    for class in classes {
        if let Some(name) = class.child_by_field_name("name") {
            ctx.definition(text(name, source), "class", name.start_byte());
        }
    }
}

/// Collects `a.b.c` as `["a", "b", "c"]`; false for anything that is not a plain name chain
/// (calls, subscripts, strings), which cannot be resolved statically.
fn spelled_chain<'s>(node: Node, source: &'s [u8], out: &mut Vec<&'s str>) -> bool {
    match node.kind() {
        "identifier" => {
            out.push(text(node, source));
            true
        }
        "attribute" => {
            let (Some(object), Some(attr)) = (
                node.child_by_field_name("object"),
                node.child_by_field_name("attribute"),
            ) else {
                return false;
            };
            if !spelled_chain(object, source, out) {
                return false;
            }
            out.push(text(attr, source));
            true
        }
        _ => false,
    }
}
