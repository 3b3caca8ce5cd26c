//! The gardener: finds and fixes code that bypasses the one Redis manager.
//!
//! Rules (`ssot.toml`, or `[tool.ssot]` in `pyproject.toml`) name the module that owns the
//! manager, the modules and names it replaced, the types only it may construct, and the names
//! a competing implementation would have. The gardener parses Python with ruff's parser and
//! Rust with syn and tree-sitter, resolves imports and `use` paths, and reports what breaks a
//! rule and every syntax error. It can repair violations in phases (checking that every name
//! it imports exists), roll each phase back byte for byte, track progress against a baseline
//! and chart it over time. It never prints: the command line lives in the `garden-cli` crate.
//! The rules schema is documented in [`config`] (and in `docs/gardener.md`).
//!
//! # Map
//!
//! | module | owns |
//! | --- | --- |
//! | [`config`] | the rules: schema, validation, compiled globs and names |
//! | [`target`] | what a command works on: rules discovery (ruff-like), root and files |
//! | [`walk`] | gitignore-aware file discovery and language detection |
//! | [`encoding`] | UTF-8 and PEP 263 `coding` declarations (latin-1, cp1252) |
//! | [`modules`] | Python module names from `__init__.py` chains and source roots |
//! | [`python`] | Python on ruff's parser: imports, aliases, calls, classes, the import graph, repairs |
//! | [`syntax`] | Rust syntax: syn's check, tree-sitter parsers per thread, traversal |
//! | [`rust`] | Rust `use` trees, associated calls, struct literals, items |
//! | [`analysis`] | language-neutral rule checks over what the analysers resolved |
//! | [`names`] | qualified names and `*` patterns, shared by every language |
//! | [`suppress`] | `ssot: allow(<rule>) <reason>` comments |
//! | [`violation`] | violations, kinds, repairs, edits and stable fingerprints |
//! | [`lines`] | byte offsets to 1-based lines and columns |
//! | [`prefilter`] | skipping the analysis of files that contain no rule word |
//! | [`scan`] | the parallel scan and its summary |
//! | [`output`] | text, JSON and SARIF 2.1.0 rendering |
//! | [`baseline`] | accepted violations; new versus fixed |
//! | [`fix`] | phased repairs, `needs_review`, unified diffs |
//! | [`journal`] | one journal entry per fix; byte-exact rollback of the last or all |
//! | [`history`] | the progress history file, the dashboard numbers and the HTML chart |
//! | [`bench`](mod@bench) | the synthetic corpora and the speed benchmark against ruff |
//! | [`error`] | the error type: every message names its file |

#![warn(missing_docs)]

pub mod analysis;
pub mod baseline;
pub mod bench;
pub mod config;
pub mod encoding;
pub mod error;
pub mod fix;
pub mod history;
pub mod journal;
pub mod lines;
pub mod modules;
pub mod names;
pub mod output;
pub mod prefilter;
pub mod python;
pub mod rust;
pub mod scan;
pub mod suppress;
pub mod syntax;
pub mod target;
pub mod violation;
pub mod walk;

pub use config::{Config, Rule};
pub use error::{Error, Result};
pub use scan::{ScanReport, Summary};
pub use violation::{Kind, Violation};
