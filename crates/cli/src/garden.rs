//! `redis-ssot garden …`: the command-line front end of the `gardener` crate.
//!
//! This is the only module that prints. Each subcommand loads a [`Target`], calls the library
//! and maps the outcome to an exit code: 0 clean, 1 violations (or refused rollbacks), 2 usage
//! or config errors.

use std::path::PathBuf;

use gardener::baseline::Baseline;
use gardener::error::Error;
use gardener::output::{self, Format};
use gardener::scan;
use gardener::target::Target;

/// Exit code: nothing to report.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code: violations found (or, for rollback, files refused).
pub const EXIT_VIOLATIONS: i32 = 1;
/// Exit code: bad arguments, unreadable or invalid rules.
pub const EXIT_USAGE: i32 = 2;

/// Arguments of `redis-ssot garden`.
#[derive(Debug, clap::Args)]
pub struct GardenArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The `garden` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Report code that bypasses the one manager (exit 0 clean, 1 violations, 2 usage error).
    Scan(ScanArgs),
    /// Rewrite deprecated imports to their replacements (journaled; see `rollback`).
    Fix(FixArgs),
    /// Undo the last `fix` byte for byte; refuses files changed since.
    Rollback(RollbackArgs),
    /// Accept today's violations: write their fingerprints to a baseline file.
    Baseline(BaselineArgs),
    /// Append today's counts to a history file and chart the history as HTML.
    Report(ReportArgs),
    /// Time a scan of a generated corpus of typical Python files (and ruff's ban rule if installed).
    Bench(BenchArgs),
}

/// Where to look and which rules to use; shared by the subcommands that scan.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// Files or directories to scan (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// The rules file (default: ssot.toml in the first scanned directory). Its directory is
    /// the root that rule globs and reported paths are relative to.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Parse every file, also those that contain no word of any rule and so cannot violate
    /// one (they are skipped by default; this finds every syntax error, slower).
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
}

/// Arguments of `garden rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The journal directory written by `fix`.
    #[arg(long, default_value = ".ssot/journal")]
    pub journal: PathBuf,
}

/// Arguments of `garden report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    /// Where and with which rules.
    pub target: TargetArgs,
    /// The history file (JSON lines) to append to (default: .ssot/history.jsonl under the root).
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// The HTML page to write (default: .ssot/report.html under the root).
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// A label for this point (a commit id, a release).
    #[arg(long)]
    pub label: Option<String>,
}

/// Arguments of `garden bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// How many Python files to generate.
    #[arg(long, default_value_t = 10_000)]
    pub files: usize,
    /// Generate the corpus here and keep it (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Timed runs per tool; the best and the median are reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// The ruff executable to compare with (default: `ruff` on PATH).
    #[arg(long)]
    pub ruff: Option<PathBuf>,
    /// Do not run ruff.
    #[arg(long)]
    pub no_ruff: bool,
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

/// Runs `redis-ssot garden` and returns the process exit code.
pub fn run(args: GardenArgs) -> i32 {
    let outcome = match args.command {
        Command::Scan(a) => run_scan(a),
        Command::Fix(a) => run_fix(a),
        Command::Rollback(a) => run_rollback(a),
        Command::Baseline(a) => run_baseline(a),
        Command::Report(a) => run_report(a),
        Command::Bench(a) => run_bench(a),
    };
    outcome.unwrap_or_else(|e| {
        // Every error stops the command before it could judge the code: exit 2, never a
        // misleading 0 or 1.
        eprintln!("garden: {e}");
        EXIT_USAGE
    })
}

fn load(target: &TargetArgs) -> Result<(Target, scan::ScanReport), Error> {
    let t = Target::load(&target.paths, target.config.as_deref())?;
    let report = scan::scan(
        &t.config,
        t.root.clone(),
        t.files.clone(),
        !target.no_progress,
    );
    Ok((t, report))
}

fn run_scan(args: ScanArgs) -> Result<i32, Error> {
    let (target, report) = load(&args.target)?;
    let summary = report.summary();
    let Some(baseline_path) = &args.baseline else {
        let rendered = match args.format {
            Format::Text => {
                output::text::render(report.violations(), report.parse_errors(), &summary)
            }
            Format::Json => output::json::render(report.violations(), &summary, None),
            Format::Sarif => {
                output::sarif::render(report.violations(), report.parse_errors(), &target.root)
            }
        };
        print!("{rendered}");
        if args.format != Format::Text {
            println!();
        }
        return Ok(if summary.violations == 0 {
            EXIT_CLEAN
        } else {
            EXIT_VIOLATIONS
        });
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
    match args.format {
        Format::Text => {
            print!(
                "{}",
                output::text::render(
                    comparison.new.iter().copied(),
                    report.parse_errors(),
                    &new_summary
                )
            );
            println!(
                "baseline {}: {} new, {} known, {} fixed since",
                baseline_path.display(),
                comparison.new.len(),
                comparison.known,
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
                &new_summary,
                Some(comparison.fixed.clone())
            )
        ),
        Format::Sarif => println!(
            "{}",
            output::sarif::render(
                comparison.new.iter().copied(),
                report.parse_errors(),
                &target.root
            )
        ),
    }
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
    let plan = gardener::fix::plan(&target.config, &report.files);
    for (path, reason) in &plan.skipped {
        eprintln!("{path}: not fixed: {reason}");
    }
    for u in &plan.unfixed {
        eprintln!(
            "{}:{}: not fixed automatically: {}",
            u.path, u.line, u.message
        );
    }
    let repaired: usize = plan.files.iter().map(|f| f.repaired).sum();
    if args.dry_run {
        print!("{}", plan.diff());
        println!(
            "would fix {repaired} import(s) in {} file(s)",
            plan.files.len()
        );
        return Ok(EXIT_CLEAN);
    }
    if plan.files.is_empty() {
        println!("nothing to fix");
        return Ok(EXIT_CLEAN);
    }
    let dir = args
        .journal
        .unwrap_or_else(|| gardener::journal::default_dir(&target.root));
    gardener::journal::apply(&plan, &target.root, &dir)?;
    for f in &plan.files {
        println!("fixed {}: {} import(s)", f.relative, f.repaired);
    }
    println!(
        "fixed {repaired} import(s) in {} file(s); journal {} (undo with `garden rollback --journal {}`)",
        plan.files.len(),
        dir.display(),
        dir.display()
    );
    Ok(EXIT_CLEAN)
}

fn run_rollback(args: RollbackArgs) -> Result<i32, Error> {
    let outcome = gardener::journal::rollback(&args.journal)?;
    for path in &outcome.restored {
        println!("restored {path}");
    }
    for (path, reason) in &outcome.refused {
        eprintln!("{path}: refused: {reason}");
    }
    println!(
        "{} restored, {} refused",
        outcome.restored.len(),
        outcome.refused.len()
    );
    Ok(if outcome.refused.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_VIOLATIONS
    })
}

fn run_report(args: ReportArgs) -> Result<i32, Error> {
    let (target, report) = load(&args.target)?;
    let summary = report.summary();
    let history = args
        .history
        .unwrap_or_else(|| target.root.join(".ssot/history.jsonl"));
    let html = args
        .html
        .unwrap_or_else(|| target.root.join(".ssot/report.html"));
    gardener::history::append(
        &history,
        &gardener::history::Point::now(&summary, args.label),
    )?;
    let points = gardener::history::load(&history)?;
    let page = gardener::history::render_html(&points, "redis-ssot gardener: violations over time");
    if let Some(dir) = html.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(&html, page).map_err(|e| Error::io(&html, e))?;
    println!(
        "{} violation(s) now; {} point(s) in {}; chart {}",
        summary.violations,
        points.len(),
        history.display(),
        html.display()
    );
    Ok(EXIT_CLEAN)
}

fn run_bench(args: BenchArgs) -> Result<i32, Error> {
    let options = gardener::bench::BenchOptions {
        files: args.files,
        dir: args.dir,
        runs: args.runs,
        ruff: args.ruff,
        no_ruff: args.no_ruff,
    };
    let r = gardener::bench::run(&options)?;
    let secs = |d: std::time::Duration| d.as_secs_f64();
    let g = &r.gardener;
    println!(
        "corpus: {} Python files, {:.1} MB, in {} ({} threads)",
        r.files,
        r.bytes as f64 / 1e6,
        r.dir.display(),
        r.threads
    );
    for (name, t) in [("gardener", g), ("gardener --full-parse", &r.gardener_full)] {
        println!(
            "{name}: best {:.3} s ({:.0} files/s), median {:.3} s over {} runs; {} violations",
            secs(t.best()),
            r.files as f64 / secs(t.best()).max(1e-9),
            secs(t.median()),
            t.runs.len(),
            t.findings
        );
    }
    println!(
        "parsed {} of {} files by default; {} parse errors",
        r.parsed, r.files, r.parse_errors
    );
    match &r.ruff {
        Ok(t) => {
            println!(
                "ruff TID251: best {:.3} s ({:.0} files/s), median {:.3} s over {} runs; {} findings",
                secs(t.best()),
                r.files as f64 / secs(t.best()).max(1e-9),
                secs(t.median()),
                t.runs.len(),
                t.findings
            );
            println!("ruff command: {}", t.command);
        }
        Err(why) => println!("ruff: {why}"),
    }
    Ok(EXIT_CLEAN)
}
