//! Tree-sitter plumbing: one parser per language per thread, error location, traversal.
//!
//! Creating a parser and setting its language costs more than parsing a small file, so each
//! rayon worker keeps its own pair in a thread-local and every file is parsed exactly once.

use std::cell::RefCell;

use tree_sitter::{Node, Parser, Tree};

use crate::walk::Language;

struct Parsers {
    python: Option<Parser>,
    rust: Option<Parser>,
}

thread_local! {
    static PARSERS: RefCell<Parsers> = const { RefCell::new(Parsers { python: None, rust: None }) };
}

/// Parses `text` as `language` with this thread's parser; `None` only if tree-sitter gives up
/// (it does not for ordinary input; syntax errors come back as `ERROR` nodes instead).
pub fn parse(language: Language, text: &[u8]) -> Option<Tree> {
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        let slot = match language {
            Language::Python => &mut parsers.python,
            Language::Rust => &mut parsers.rust,
        };
        if slot.is_none() {
            let mut parser = Parser::new();
            let grammar: tree_sitter::Language = match language {
                Language::Python => tree_sitter_python::LANGUAGE.into(),
                Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            };
            parser.set_language(&grammar).ok()?;
            *slot = Some(parser);
        }
        slot.as_mut()?.parse(text, None)
    })
}

/// Byte offset of the first syntax error (an `ERROR` or missing node), if any.
pub fn first_error(root: Node) -> Option<usize> {
    if !root.has_error() {
        return None;
    }
    let mut node = root;
    'descend: loop {
        if node.is_error() || node.is_missing() {
            return Some(node.start_byte());
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.has_error() || child.is_error() || child.is_missing() {
                node = child;
                continue 'descend;
            }
        }
        return Some(node.start_byte());
    }
}

/// The source text of `node` (empty if it is not valid UTF-8).
pub fn text<'a>(node: Node, source: &'a [u8]) -> &'a str {
    node.utf8_text(source).unwrap_or("")
}

/// Visits every node in document order; `visit` returns whether to descend into the node.
pub fn walk<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>) -> bool) {
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if visit(node) && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}
