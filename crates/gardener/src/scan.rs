//! Scanning: read, parse once and analyse every file, in parallel.
//!
//! Files are independent, so the scan is a rayon `map` over the file list. Every file is
//! parsed, so that every syntax error is reported (ruff's parser for Python, syn for Rust);
//! the literal prefilter only decides which parsed files are analysed, since a file without a
//! rule word cannot break a rule. Results are kept in file order so that output,
//! fingerprints and baselines do not depend on thread scheduling. The library never prints:
//! a front end that wants a progress bar passes [`ScanOptions::progress`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::FileContext;
use crate::config::Config;
use crate::encoding::{Source, Undecodable};
use crate::lines::LineIndex;
use crate::prefilter::Prefilter;
use crate::python::defined::ModuleIndex;
use crate::violation::{Kind, Violation};
use crate::walk::{Language, SourceFile};

/// What the scan found in one file.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The file.
    pub file: SourceFile,
    /// Its violations, in source order.
    pub violations: Vec<Violation>,
    /// Its syntax errors, in source order.
    pub parse_errors: Vec<ParseError>,
    /// Why it could not be read at all (I/O, or bytes that are not text in a known
    /// encoding); such a file is neither parsed nor analysed, and is not a syntax error.
    pub unread: Option<ParseError>,
    /// The PEP 263 encoding it was decoded from when it is not UTF-8, with the line that
    /// declares it (see [`crate::encoding`]); `fix` does not edit such a file.
    pub declared_encoding: Option<(String, usize)>,
    /// Whether the file was analysed (false when the prefilter proved it cannot matter).
    pub parsed: bool,
}

/// A syntax error, or why a file could not be read. After a syntax error the file is still
/// analysed as far as the parser recovered, but `garden fix` never edits it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ParseError {
    /// The file, relative to the scan root.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the parser said.
    pub message: String,
}

/// The result of scanning a set of files.
#[derive(Debug, Clone)]
pub struct ScanReport {
    /// The directory paths are relative to.
    pub root: PathBuf,
    /// Per-file results, sorted by path.
    pub files: Vec<FileResult>,
}

/// How to scan.
#[derive(Clone, Copy, Default)]
pub struct ScanOptions<'a> {
    /// Analyse every file, even those the prefilter proves cannot violate a rule.
    pub full_parse: bool,
    /// Called once per file scanned, from any thread (a front end's progress bar).
    pub progress: Option<&'a (dyn Fn() + Sync)>,
}

/// Counts for the JSON summary, the history file and the text footer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Files scanned.
    pub files: usize,
    /// Violations found.
    pub violations: usize,
    /// Violations per kind (every kind present, zero included).
    pub by_kind: BTreeMap<String, usize>,
    /// Syntax errors.
    pub parse_errors: usize,
    /// Files that could not be read (I/O, or not text in a known encoding).
    pub unread: usize,
    /// Files analysed; the others contain no rule word (see [`crate::prefilter`]).
    pub parsed: usize,
    /// Files with at least one violation.
    pub files_with_violations: usize,
}

impl ScanReport {
    /// Every violation, in file then source order.
    pub fn violations(&self) -> impl Iterator<Item = &Violation> {
        self.files.iter().flat_map(|f| f.violations.iter())
    }

    /// Every syntax error, in file then source order.
    pub fn parse_errors(&self) -> impl Iterator<Item = &ParseError> {
        self.files.iter().flat_map(|f| f.parse_errors.iter())
    }

    /// Every file that could not be read, with why, in file order.
    pub fn unread(&self) -> impl Iterator<Item = &ParseError> {
        self.files.iter().filter_map(|f| f.unread.as_ref())
    }

    /// The counts.
    pub fn summary(&self) -> Summary {
        let mut by_kind: BTreeMap<String, usize> = Kind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), 0))
            .collect();
        for v in self.violations() {
            *by_kind.entry(v.kind.as_str().to_owned()).or_default() += 1;
        }
        let with: BTreeSet<&str> = self.violations().map(|v| v.path.as_str()).collect();
        Summary {
            files: self.files.len(),
            violations: self.violations().count(),
            by_kind,
            parse_errors: self.parse_errors().count(),
            unread: self.unread().count(),
            parsed: self.files.iter().filter(|f| f.parsed).count(),
            files_with_violations: with.len(),
        }
    }
}

/// Scans `files` with the prefilter on.
pub fn scan(config: &Config, root: PathBuf, files: Vec<SourceFile>) -> ScanReport {
    scan_with(config, root, files, ScanOptions::default())
}

/// Scans `files` as `options` say.
pub fn scan_with(
    config: &Config,
    root: PathBuf,
    files: Vec<SourceFile>,
    options: ScanOptions,
) -> ScanReport {
    let prefilter = if options.full_parse {
        Prefilter::disabled()
    } else {
        Prefilter::new(config)
    };
    let results: Vec<FileResult> = files
        .into_par_iter()
        .map(|file| {
            let result = match std::fs::read(&file.path) {
                Ok(bytes) => {
                    let candidate = prefilter.is_candidate(&bytes);
                    check_file(config, file, &bytes, candidate, None)
                }
                Err(e) => {
                    let why = Undecodable {
                        line: 1,
                        column: 1,
                        message: format!("cannot read: {e}"),
                    };
                    unread(file, why)
                }
            };
            if let Some(progress) = options.progress {
                progress();
            }
            result
        })
        .collect();
    ScanReport {
        root,
        files: results,
    }
}

/// Parses and analyses one file's bytes; `fixing` is set when planning a fix (repairs are
/// then computed and checked against it).
pub fn analyse_file(
    config: &Config,
    file: SourceFile,
    bytes: &[u8],
    fixing: Option<&ModuleIndex>,
) -> FileResult {
    check_file(config, file, bytes, true, fixing)
}

fn check_file(
    config: &Config,
    file: SourceFile,
    bytes: &[u8],
    analyse: bool,
    fixing: Option<&ModuleIndex>,
) -> FileResult {
    let error = |file: &SourceFile, line, column, message: String| ParseError {
        path: file.relative.clone(),
        line,
        column,
        message,
    };
    let decoded = match file.language {
        Language::Python => crate::encoding::decode(bytes),
        Language::Rust => crate::encoding::utf8(bytes).map(|text| Source {
            text: text.into(),
            declared: None,
        }),
    };
    let source = match decoded {
        Ok(source) => source,
        Err(why) => return unread(file, why),
    };
    // Positions are computed on the decoded text: decoding keeps lines and turns one byte
    // into one character, so they are the file's own.
    let text: &str = &source.text;
    let bytes = text.as_bytes();
    let declared_encoding = source.declared.clone();
    match file.language {
        Language::Python => {
            let parsed = crate::python::parse(text);
            let mut parse_errors = Vec::new();
            let found = crate::python::syntax_errors(&parsed);
            let index = (!found.is_empty()).then(|| LineIndex::new(bytes));
            for (offset, message) in found {
                let (line, column) = index.as_ref().map_or((1, 1), |i| i.position(bytes, offset));
                parse_errors.push(error(&file, line, column, message));
            }
            let violations = if analyse {
                let mut ctx = FileContext::new(config, &file, bytes, fixing);
                crate::python::analyse(&mut ctx, &parsed);
                ctx.finish()
            } else {
                Vec::new()
            };
            FileResult {
                file,
                violations,
                parse_errors,
                unread: None,
                declared_encoding,
                parsed: analyse,
            }
        }
        Language::Rust => {
            let parse_errors: Vec<ParseError> = crate::syntax::rust_error(text)
                .map(|(line, column, message)| error(&file, line, column, message))
                .into_iter()
                .collect();
            let violations = match analyse.then(|| crate::syntax::parse_rust(bytes)).flatten() {
                Some(tree) => {
                    let mut ctx = FileContext::new(config, &file, bytes, fixing);
                    crate::rust::analyse(&mut ctx, tree.root_node());
                    ctx.finish()
                }
                None => Vec::new(),
            };
            FileResult {
                file,
                violations,
                parse_errors,
                unread: None,
                declared_encoding,
                parsed: analyse,
            }
        }
    }
}

/// The result for a file that could not be read: one `unread` entry, nothing analysed.
fn unread(file: SourceFile, why: Undecodable) -> FileResult {
    FileResult {
        unread: Some(ParseError {
            path: file.relative.clone(),
            line: why.line,
            column: why.column,
            message: why.message,
        }),
        file,
        violations: Vec::new(),
        parse_errors: Vec::new(),
        declared_encoding: None,
        parsed: false,
    }
}
