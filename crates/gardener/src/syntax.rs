//! Rust syntax: syn judges it, tree-sitter-rust reads the files that can matter.
//!
//! Measured on 3,000 real crate sources (42 MB, `docs/BENCHMARKS.md`): syn parses at about
//! 10 MB/s per core, tree-sitter-rust at about 5 MB/s, and tree-sitter reported 22 of those
//! files, which all compile, as having syntax errors; syn reported none. Every file is checked
//! on a default scan, so syn is the judge: its errors are rustc's grammar, with a message.
//! The analysis still reads tree-sitter's tree, for two things syn does not give: comments
//! (the `ssot: allow` suppressions) and a tree for a file that has an error. Only files that
//! contain a rule word are read that way (see [`crate::prefilter`]).
//!
//! Creating a tree-sitter parser costs more than parsing a small file, so each rayon worker
//! keeps its own in a thread-local and every candidate is parsed exactly once.

use std::cell::RefCell;

use tree_sitter::{Node, Parser, Tree};

thread_local! {
    static RUST: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// Parses Rust `text` with this thread's tree-sitter parser; `None` only if tree-sitter gives
/// up (it does not for ordinary input; syntax errors come back as `ERROR` nodes instead).
pub fn parse_rust(text: &[u8]) -> Option<Tree> {
    RUST.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            let grammar: tree_sitter::Language = tree_sitter_rust::LANGUAGE.into();
            parser.set_language(&grammar).ok()?;
            *slot = Some(parser);
        }
        slot.as_mut()?.parse(text, None)
    })
}

/// The first syntax error of Rust `text` as syn sees it: 1-based line and column, message.
pub fn rust_error(text: &str) -> Option<(usize, usize, String)> {
    let result = syn::parse_file(text);
    let error = result.err().map(|e| {
        let start = e.span().start();
        let message = match e.to_string().as_str() {
            // proc-macro2's lexer error, which says nothing about the source.
            "cannot parse string into token stream" => {
                "unbalanced brackets or an invalid token: this does not lex as Rust".to_owned()
            }
            other => other.to_owned(),
        };
        (start.line.max(1), start.column + 1, message)
    });
    // span-locations keeps every parsed text in a per-thread map; free it after each file.
    proc_macro2::extra::invalidate_current_thread_spans();
    error
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
