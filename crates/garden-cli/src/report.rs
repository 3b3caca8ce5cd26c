//! `garden report` and `garden bench`: their arguments and what they print.

use std::path::PathBuf;

use gardener::bench::{BenchOptions, Shape};
use gardener::error::Error;
use gardener::history::{self, Dashboard, Point};

use crate::{EXIT_CLEAN, TargetArgs, load};

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

/// The corpus shapes of `garden bench --shape`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShapeArg {
    /// Every file imports the canonical manager (about 150 lines a file).
    PostMigration,
    /// Few files mention Redis (about 70 lines a file).
    PreMigration,
}

/// Arguments of `garden bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// How many Python files to generate.
    #[arg(long, default_value_t = 10_000)]
    pub files: usize,
    /// The corpus shape.
    #[arg(long, value_enum, default_value = "post-migration")]
    pub shape: ShapeArg,
    /// About how many lines each file has (default: 150 post-migration, 70 pre-migration;
    /// 500 gives the 25,000-file, 500 MB tree).
    #[arg(long)]
    pub lines: Option<usize>,
    /// Generate the corpus here and keep it (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Timed runs per tool, alternating; the best and the median are reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// The ruff executable to compare with (default: `ruff` on PATH).
    #[arg(long)]
    pub ruff: Option<PathBuf>,
    /// Do not run ruff.
    #[arg(long)]
    pub no_ruff: bool,
}

/// `garden report`: append a point, print the dashboard numbers, write the page.
pub fn run_report(args: ReportArgs) -> Result<i32, Error> {
    let (target, report) = load(&args.target)?;
    let summary = report.summary();
    let history_path = args
        .history
        .unwrap_or_else(|| target.root.join(".ssot/history.jsonl"));
    let html = args
        .html
        .unwrap_or_else(|| target.root.join(".ssot/report.html"));
    let point = Point::now(
        &summary,
        history::by_directory(report.violations()),
        args.label,
    );
    history::append(&history_path, &point)?;
    let points = history::load(&history_path)?;
    let page = history::render_html(&points, "redis-ssot gardener: violations over time");
    if let Some(dir) = html.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(&html, page).map_err(|e| Error::io(&html, e))?;
    if let Some(d) = Dashboard::of(&points) {
        println!(
            "{} violation(s) in {} file(s); {:+} since the first entry ({} then, {:.1}% fewer)",
            d.violations, d.files_with_violations, -d.reduction, d.first, d.reduction_percent
        );
        let kinds: Vec<String> = d
            .by_kind
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        println!("by kind: {}", kinds.join(", "));
        for (dir, n) in d.by_directory.iter().take(10) {
            println!("  {n:>6}  {dir}");
        }
    }
    println!(
        "{} point(s) in {}; dashboard and chart {}",
        points.len(),
        history_path.display(),
        html.display()
    );
    Ok(EXIT_CLEAN)
}

/// `garden bench`: generate, time both tools alternately, print the figures.
pub fn run_bench(args: BenchArgs) -> Result<i32, Error> {
    let options = BenchOptions {
        files: args.files,
        dir: args.dir,
        runs: args.runs,
        ruff: args.ruff,
        no_ruff: args.no_ruff,
        shape: match args.shape {
            ShapeArg::PostMigration => Shape::PostMigration,
            ShapeArg::PreMigration => Shape::PreMigration,
        },
        lines: args.lines,
    };
    let r = gardener::bench::run(&options)?;
    let secs = |d: std::time::Duration| d.as_secs_f64().max(1e-9);
    let mb = r.bytes as f64 / 1e6;
    println!(
        "corpus: {} Python files ({:?}), {mb:.1} MB, in {} ({} threads)",
        r.files,
        r.shape,
        r.dir.display(),
        r.threads
    );
    let line = |name: &str, t: &gardener::bench::Timing| {
        println!(
            "{name}: best {:.3} s ({:.0} files/s, {:.1} MB/s), median {:.3} s over {} runs; {} findings",
            secs(t.best()),
            r.files as f64 / secs(t.best()),
            mb / secs(t.best()),
            secs(t.median()),
            t.runs.len(),
            t.findings
        );
    };
    line("gardener", &r.gardener);
    line("gardener --full-parse", &r.gardener_full);
    println!(
        "analysed {} of {} files by default (all parsed); {} syntax errors",
        r.parsed, r.files, r.parse_errors
    );
    match &r.ruff {
        Ok(t) => {
            line("ruff TID251", t);
            println!("ruff command: {}", t.command);
            if let (Some(best), Some(round)) = (r.ratio(), r.ratio_per_round()) {
                println!(
                    "speed ratio (ruff time / gardener time): {best:.2} best-to-best, {round:.2} median per round"
                );
            }
        }
        Err(why) => println!("ruff: {why}"),
    }
    Ok(EXIT_CLEAN)
}
