//! Scanning: read, parse once and analyse every file, in parallel.
//!
//! Files are independent, so the scan is a rayon `map` over the file list with per-thread
//! parsers (see [`crate::syntax`]). Results are kept in file order so that output, fingerprints
//! and baselines do not depend on thread scheduling.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::FileContext;
use crate::config::Config;
use crate::prefilter::Prefilter;
use crate::syntax;
use crate::violation::{Kind, Violation};
use crate::walk::{Language, SourceFile};

/// What the scan found in one file.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The file.
    pub file: SourceFile,
    /// Its violations, in source order.
    pub violations: Vec<Violation>,
    /// Where the file failed to parse or read, if it did: (line, column, what).
    pub parse_error: Option<ParseError>,
    /// Whether the file was parsed (false when the prefilter skipped it).
    pub parsed: bool,
}

/// A file that could not be read or parsed cleanly. It is still analysed as far as the
/// error-tolerant tree allows, but `garden fix` never edits it.
#[derive(Debug, Clone, Serialize)]
pub struct ParseError {
    /// The file, relative to the scan root.
    pub path: String,
    /// 1-based line of the first error.
    pub line: usize,
    /// 1-based column of the first error.
    pub column: usize,
    /// What went wrong.
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
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Draw a progress bar when stderr is a terminal.
    pub progress: bool,
    /// Parse every file, even those the prefilter proves cannot violate a rule.
    pub full_parse: bool,
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
    /// Files that could not be parsed cleanly.
    pub parse_errors: usize,
    /// Files that were parsed; the others contain no rule word (see [`crate::prefilter`]).
    pub parsed: usize,
}

impl ScanReport {
    /// Every violation, in file then source order.
    pub fn violations(&self) -> impl Iterator<Item = &Violation> {
        self.files.iter().flat_map(|f| f.violations.iter())
    }

    /// Every parse error, in file order.
    pub fn parse_errors(&self) -> impl Iterator<Item = &ParseError> {
        self.files.iter().filter_map(|f| f.parse_error.as_ref())
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
        Summary {
            files: self.files.len(),
            violations: self.violations().count(),
            by_kind,
            parse_errors: self.parse_errors().count(),
            parsed: self.files.iter().filter(|f| f.parsed).count(),
        }
    }
}

/// Scans `files` with the prefilter on and no progress bar (what tests and the library want).
pub fn scan(config: &Config, root: PathBuf, files: Vec<SourceFile>, progress: bool) -> ScanReport {
    scan_with(
        config,
        root,
        files,
        ScanOptions {
            progress,
            full_parse: false,
        },
    )
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
    let bar = if options.progress && std::io::stderr().is_terminal() && files.len() > 200 {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec}")
        {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    let results: Vec<FileResult> = files
        .into_par_iter()
        .map(|file| {
            let result = match std::fs::read(&file.path) {
                Ok(bytes) if !prefilter.is_candidate(&bytes) => FileResult {
                    file,
                    violations: Vec::new(),
                    parse_error: None,
                    parsed: false,
                },
                Ok(bytes) => analyse_file(config, file, &bytes),
                Err(e) => FileResult {
                    parse_error: Some(ParseError {
                        path: file.relative.clone(),
                        line: 1,
                        column: 1,
                        message: format!("cannot read: {e}"),
                    }),
                    file,
                    violations: Vec::new(),
                    parsed: false,
                },
            };
            if let Some(bar) = &bar {
                bar.inc(1);
            }
            result
        })
        .collect();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    ScanReport {
        root,
        files: results,
    }
}

/// Parses and analyses one file's bytes.
pub fn analyse_file(config: &Config, file: SourceFile, bytes: &[u8]) -> FileResult {
    let Some(tree) = syntax::parse(file.language, bytes) else {
        return FileResult {
            parse_error: Some(ParseError {
                path: file.relative.clone(),
                line: 1,
                column: 1,
                message: "the parser gave up on this file".into(),
            }),
            file,
            violations: Vec::new(),
            parsed: true,
        };
    };
    let root = tree.root_node();
    let mut ctx = FileContext::new(config, &file, bytes);
    let parse_error = syntax::first_error(root).map(|offset| {
        let (line, column) = ctx.index.position(bytes, offset);
        ParseError {
            path: file.relative.clone(),
            line,
            column,
            message: "syntax error; analysed as far as the parser recovered, never fixed".into(),
        }
    });
    match file.language {
        Language::Python => crate::python::analyse(&mut ctx, root),
        Language::Rust => crate::rust::analyse(&mut ctx, root),
    }
    let violations = ctx.finish();
    FileResult {
        file,
        violations,
        parse_error,
        parsed: true,
    }
}
