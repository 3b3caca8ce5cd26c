//! The gardener: finds and fixes code that bypasses the one Redis manager.
//!
//! Rules (`ssot.toml`) name the module that owns the manager, the modules it replaced, the
//! types only it may construct, and the names a competing implementation would have. The
//! gardener parses Python and Rust with tree-sitter, resolves imports and `use` paths, and
//! reports what breaks a rule; it can rewrite deprecated imports, roll that back byte for byte,
//! track progress against a baseline and chart it over time. The rules schema is documented in
//! [`config`] (and, with the command line, in the crate's `README.md`).
//!
//! # Map
//!
//! | module | owns |
//! | --- | --- |
//! | [`cli`] | `redis-ssot garden …`: arguments, wiring, printing, exit codes |
//! | [`config`] | the rules file: schema, validation, compiled globs and names |
//! | [`target`] | what a command works on: root, rules and files |
//! | [`walk`] | gitignore-aware file discovery and language detection |
//! | [`syntax`] | tree-sitter parsers per thread, error location, traversal |
//! | [`python`] | Python imports, aliases, calls and classes |
//! | [`rust`] | Rust `use` trees, associated calls, struct literals, items |
//! | [`analysis`] | language-neutral rule checks over what the analysers resolved |
//! | [`names`] | qualified names and `*` patterns, shared by every language |
//! | [`suppress`] | `ssot: allow(<rule>) <reason>` comments |
//! | [`violation`] | violations, kinds, edits and stable fingerprints |
//! | [`lines`] | byte offsets to 1-based lines and columns |
//! | [`prefilter`] | skipping files that contain no rule word, before parsing |
//! | [`scan`] | the parallel scan and its summary |
//! | [`output`] | text, JSON and SARIF 2.1.0 rendering |
//! | [`baseline`] | accepted violations; new versus fixed |
//! | [`fix`] | applying import rewrites, unified diffs |
//! | [`journal`] | the fix journal and byte-exact rollback |
//! | [`history`] | the progress history file and its HTML chart |
//! | [`bench`] | the synthetic corpus and the speed benchmark |
//! | [`error`] | the error type: every message names its file |

#![warn(missing_docs)]

pub mod analysis;
pub mod baseline;
pub mod bench;
pub mod config;
pub mod error;
pub mod fix;
pub mod history;
pub mod journal;
pub mod lines;
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
