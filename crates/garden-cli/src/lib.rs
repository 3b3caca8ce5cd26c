//! The gardener's command line: `redis-ssot garden …` and `redis-ssot-garden …`.
//!
//! This crate is the only place that prints or draws a progress bar; the `gardener` library
//! returns values. Each subcommand loads a [`Target`], calls the library and maps the outcome
//! to an exit code: 0 clean, 1 violations or syntax errors (or refused rollbacks), 2 usage,
//! config or I/O errors.
//!
//! | module | owns |
//! | --- | --- |
//! | this file | arguments and the scan, baseline and fix commands |
//! | `report.rs` | `report` (history and dashboard) and `bench` printing |

#![warn(missing_docs)]

mod report;

use std::collections::BTreeSet;
use std::path::PathBuf;

use gardener::Kind;
use gardener::baseline::Baseline;
use gardener::error::Error;
use gardener::journal::Which;
use gardener::output::{self, Format};
use gardener::python::defined::ModuleIndex;
use gardener::scan;
use gardener::target::Target;

/// Exit code: nothing to report.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code: violations or syntax errors found (or, for rollback, files refused).
pub const EXIT_VIOLATIONS: i32 = 1;
/// Exit code: bad arguments, unreadable or invalid rules.
pub const EXIT_USAGE: i32 = 2;

/// Arguments of `garden`.
#[derive(Debug, clap::Args)]
pub struct GardenArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The `garden` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Report code that bypasses the one manager, and every syntax error (exit 0 clean, 1
    /// found something, 2 usage error).
    Scan(ScanArgs),
    /// Repair violations in phases (journaled; see `rollback`); lists what needs review.
    Fix(FixArgs),
    /// Undo the last `fix` (or all of them) byte for byte; refuses files changed since.
    Rollback(RollbackArgs),
    /// Accept today's violations: write their fingerprints to a baseline file.
    Baseline(BaselineArgs),
    /// Append today's counts to a history file; write the dashboard and chart as HTML.
    Report(report::ReportArgs),
    /// Time scans of a generated corpus against ruff's ban rule (TID251).
    Bench(report::BenchArgs),
}

/// Where to look and which rules to use; shared by the subcommands that scan.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// Files or directories to scan (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// The rules file: an ssot.toml, or a pyproject.toml with [tool.ssot]. Default: the
    /// nearest one at or above each path, as ruff finds its settings.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Analyse every file, also those that contain no word of any rule and so cannot violate
    /// one (every file is parsed and syntax-checked either way; this changes no result).
    #[arg(long)]
    pub full_parse: bool,
}

/// Arguments of `garden scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    #[command(flatten)]
    /// Where and with which rules.
    pub target: TargetArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Fail only on violations not recorded in this baseline file; list those fixed since.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}

/// Arguments of `garden fix`.
#[derive(Debug, clap::Args)]
pub struct FixArgs {
    #[command(flatten)]
    /// Where and with which rules.
    pub target: TargetArgs,
    /// Print a unified diff instead of writing files.
    #[arg(long)]
    pub dry_run: bool,
    /// The journal directory (default: .ssot/journal under the scan root).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// The kinds to repair, in phases: deprecated_import, deprecated_name,
    /// direct_instantiation (comma-separated; default all three, in that order).
    #[arg(long, value_delimiter = ',', value_parser = parse_kind)]
    pub select: Vec<Kind>,
}

fn parse_kind(text: &str) -> Result<Kind, String> {
    match Kind::parse(text.trim()) {
        Some(k) if gardener::fix::PHASES.contains(&k) => Ok(k),
        _ => Err(format!(
            "{text:?} is not a kind fix repairs; use deprecated_import, deprecated_name or \
             direct_instantiation"
        )),
    }
}

/// Arguments of `garden rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The journal directory written by `fix` (default: .ssot/journal beside the rules found
    /// from the current folder, else ./.ssot/journal).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Undo the newest fix only (the default).
    #[arg(long, conflicts_with = "all")]
    pub last: bool,
    /// Undo every journaled fix, newest first.
    #[arg(long)]
    pub all: bool,
}

/// Arguments of `garden baseline`.
#[derive(Debug, clap::Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    /// Where and with which rules.
    pub target: TargetArgs,
    /// Where to write the baseline.
    #[arg(long, short, default_value = "ssot-baseline.json")]
    pub output: PathBuf,
}

/// Runs `garden` and returns the process exit code.
pub fn run(args: GardenArgs) -> i32 {
    let outcome = match args.command {
        Command::Scan(a) => run_scan(a),
        Command::Fix(a) => run_fix(a),
        Command::Rollback(a) => run_rollback(a),
        Command::Baseline(a) => run_baseline(a),
        Command::Report(a) => report::run_report(a),
        Command::Bench(a) => report::run_bench(a),
    };
    outcome.unwrap_or_else(|e| {
        // Every error stops the command before it could judge the code: exit 2, never a
        // misleading 0 or 1.
        eprintln!("garden: {e}");
        EXIT_USAGE
    })
}

/// Loads the target and scans it, with a progress bar on a terminal for large trees.
pub(crate) fn load(target: &TargetArgs) -> Result<(Target, scan::ScanReport), Error> {
    let t = Target::load(&target.paths, target.config.as_deref())?;
    if t.files.is_empty() {
        // Exit 0 stays right (nothing is wrong), but "0 file(s) scanned" alone reads like a
        // pass: say that nothing was looked at. On stderr, so JSON and SARIF stay parseable.
        let shown: Vec<String> = if target.paths.is_empty() {
            vec![".".to_owned()]
        } else {
            target
                .paths
                .iter()
                .map(|p| p.display().to_string())
                .collect()
        };
        eprintln!(
            "garden: note: no Python or Rust files to scan in {} (a folder is searched for .py, \
             .pyi and .rs files not ignored or excluded); nothing was checked",
            shown.join(", ")
        );
    }
    let bar = (!target.no_progress
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
        && t.files.len() > 200)
        .then(|| {
            let bar = indicatif::ProgressBar::new(t.files.len() as u64);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec}")
            {
                bar.set_style(style);
            }
            bar
        });
    let tick = || {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    };
    let options = scan::ScanOptions {
        full_parse: target.full_parse,
        progress: Some(&tick),
    };
    let report = scan::scan_with(&t.config, t.root.clone(), t.files.clone(), options);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok((t, report))
}

fn run_scan(args: ScanArgs) -> Result<i32, Error> {
    let (target, report) = load(&args.target)?;
    let summary = report.summary();
    let Some(baseline_path) = &args.baseline else {
        let rendered = match args.format {
            Format::Text => output::text::render(
                report.violations(),
                report.parse_errors(),
                report.unread(),
                &summary,
            ),
            Format::Json => output::json::render(
                report.violations(),
                report.parse_errors(),
                report.unread(),
                &summary,
                None,
            ),
            Format::Sarif => output::sarif::render(
                report.violations(),
                report.parse_errors(),
                report.unread(),
                &target.root,
            ),
        };
        print!("{rendered}");
        if args.format != Format::Text {
            println!();
        }
        // A file not read was not checked: like a syntax error, it fails the scan.
        return Ok(
            if summary.violations == 0 && summary.parse_errors == 0 && summary.unread == 0 {
                EXIT_CLEAN
            } else {
                EXIT_VIOLATIONS
            },
        );
    };
    let baseline = Baseline::load(baseline_path)?;
    let comparison = baseline.compare(report.violations());
    let mut new_summary = summary.clone();
    new_summary.violations = comparison.new.len();
    for n in new_summary.by_kind.values_mut() {
        *n = 0;
    }
    for v in &comparison.new {
        *new_summary
            .by_kind
            .entry(v.kind.as_str().to_owned())
            .or_default() += 1;
    }
    // Every count of the summary is of new violations, the files included; the known ones
    // and their files are on the baseline line.
    let new_files: BTreeSet<&str> = comparison.new.iter().map(|v| v.path.as_str()).collect();
    let new_fingerprints: BTreeSet<&str> = comparison
        .new
        .iter()
        .map(|v| v.fingerprint.as_str())
        .collect();
    let known_files: BTreeSet<&str> = report
        .violations()
        .filter(|v| !new_fingerprints.contains(v.fingerprint.as_str()))
        .map(|v| v.path.as_str())
        .collect();
    new_summary.files_with_violations = new_files.len();
    match args.format {
        Format::Text => {
            print!(
                "{}",
                output::text::render(
                    comparison.new.iter().copied(),
                    report.parse_errors(),
                    report.unread(),
                    &new_summary
                )
            );
            println!(
                "baseline {}: {} new, {} known in {} file(s), {} fixed since",
                baseline_path.display(),
                comparison.new.len(),
                comparison.known,
                known_files.len(),
                comparison.fixed.len()
            );
            for f in &comparison.fixed {
                println!(
                    "  fixed: {}:{}: {}: {}",
                    f.path,
                    f.line,
                    f.kind.as_str(),
                    f.message
                );
            }
        }
        Format::Json => println!(
            "{}",
            output::json::render(
                comparison.new.iter().copied(),
                report.parse_errors(),
                report.unread(),
                &new_summary,
                Some(comparison.fixed.clone())
            )
        ),
        Format::Sarif => println!(
            "{}",
            output::sarif::render(
                comparison.new.iter().copied(),
                report.parse_errors(),
                report.unread(),
                &target.root
            )
        ),
    }
    // With a baseline only new violations fail; syntax errors are listed, as the tree the
    // baseline was taken from had them too.
    Ok(if comparison.new.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_VIOLATIONS
    })
}

fn run_baseline(args: BaselineArgs) -> Result<i32, Error> {
    let (_, report) = load(&args.target)?;
    let baseline = Baseline::from_violations(report.violations());
    baseline.save(&args.output)?;
    println!(
        "{}: recorded {} violation(s)",
        args.output.display(),
        baseline.violations.len()
    );
    Ok(EXIT_CLEAN)
}

fn run_fix(args: FixArgs) -> Result<i32, Error> {
    let (target, report) = load(&args.target)?;
    let index = ModuleIndex::new(target.module_roots.clone());
    let plan = gardener::fix::plan(&target.config, &index, &report.files, &args.select);
    for (path, reason) in &plan.skipped {
        eprintln!("{path}: not fixed: {reason}");
    }
    for r in &plan.needs_review {
        eprintln!(
            "{}:{}: needs_review: {}: {}",
            r.path,
            r.line,
            r.kind.as_str(),
            r.reason
        );
    }
    let phases: Vec<&str> = plan.kinds.iter().map(|k| k.as_str()).collect();
    let repaired = plan.repaired();
    let counts = format!(
        "{repaired} violation(s), editing {} file(s) ({}); {} need review; {} file(s) not edited",
        plan.files.len(),
        phases.join(", "),
        plan.needs_review.len(),
        plan.skipped.len()
    );
    if args.dry_run {
        print!("{}", plan.diff());
        println!("would fix {counts}");
        return Ok(EXIT_CLEAN);
    }
    if plan.files.is_empty() {
        println!(
            "nothing to fix ({}); {} need review; {} file(s) not edited",
            phases.join(", "),
            plan.needs_review.len(),
            plan.skipped.len()
        );
        return Ok(EXIT_CLEAN);
    }
    let dir = args
        .journal
        .unwrap_or_else(|| gardener::journal::default_dir(&target.root));
    let entry = gardener::journal::apply(&plan, &target.root, &dir)?;
    for f in &plan.files {
        println!("{}", edited(f));
    }
    println!(
        "fixed {counts}; journal entry {} (undo with `garden rollback --journal {}`)",
        entry.display(),
        dir.display()
    );
    Ok(EXIT_CLEAN)
}

/// What was done to one file, in words: how many violations the edit resolved, and how many
/// it left (those are listed as `needs_review` above).
fn edited(f: &gardener::fix::FilePlan) -> String {
    match (f.repaired, f.left) {
        (n, 0) => format!("fixed {}: {n} violation(s)", f.relative),
        (0, left) => format!(
            "edited {}: rewrote part of the code, but no violation is gone yet; {left} left for \
             review",
            f.relative
        ),
        (n, left) => format!(
            "fixed {}: {n} violation(s); {left} left for review",
            f.relative
        ),
    }
}

fn run_rollback(args: RollbackArgs) -> Result<i32, Error> {
    let which = if args.all { Which::All } else { Which::Last };
    let journal = match args.journal {
        Some(j) => j,
        None => std::env::current_dir()
            .ok()
            .and_then(|cwd| gardener::target::discover(&cwd).ok().flatten())
            .map(|rules| gardener::journal::default_dir(&rules.dir))
            .filter(|dir| dir.exists())
            .unwrap_or_else(|| PathBuf::from(".ssot/journal")),
    };
    let outcome = gardener::journal::rollback(&journal, which)?;
    for path in &outcome.restored {
        println!("restored {path}");
    }
    for path in &outcome.already_restored {
        println!("already restored {path} (it has its original bytes)");
    }
    for (path, reason) in &outcome.refused {
        eprintln!("{path}: refused: {reason}");
    }
    println!(
        "rolled back {} ({} restored, {} already restored, {} refused)",
        outcome.entries.join(", "),
        outcome.restored.len(),
        outcome.already_restored.len(),
        outcome.refused.len()
    );
    Ok(if outcome.refused.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_VIOLATIONS
    })
}
