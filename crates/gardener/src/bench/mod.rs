//! `garden bench`: how fast a scan is on a corpus of typical Python files, and how that
//! compares with ruff's closest rule (`ruff check --select TID251`, banning the same modules)
//! in the same run.
//!
//! The measured time is what `garden scan` does end to end except printing: finding the
//! rules, walking the tree (gitignore-aware), naming modules, reading, parsing every file once
//! (every syntax error is reported), analysing and fingerprinting. The runs of the two tools
//! alternate, so that both see the same machine; the best and the median are reported, as the
//! first run also pays for a cold page cache.

pub mod corpus;

pub use corpus::Shape;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::scan;
use crate::target::Target;

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// How many Python files to generate.
    pub files: usize,
    /// Where to generate them; a temporary directory (removed afterwards) when `None`.
    pub dir: Option<PathBuf>,
    /// How many timed scans to run.
    pub runs: usize,
    /// The ruff executable to compare with; `None` looks for `ruff` on `PATH`.
    pub ruff: Option<PathBuf>,
    /// Skip the ruff comparison.
    pub no_ruff: bool,
    /// The corpus shape.
    pub shape: Shape,
    /// About how many lines a file has (default: the shape's).
    pub lines: Option<usize>,
}

/// One tool's timings.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Every run's wall-clock time.
    pub runs: Vec<Duration>,
    /// What the tool reported (violations or findings).
    pub findings: usize,
    /// How it was run, for the record.
    pub command: String,
}

impl Timing {
    fn new(command: String) -> Self {
        Timing {
            runs: Vec::new(),
            findings: 0,
            command,
        }
    }

    /// The fastest run.
    pub fn best(&self) -> Duration {
        self.runs.iter().min().copied().unwrap_or_default()
    }

    /// The median run.
    pub fn median(&self) -> Duration {
        let mut sorted = self.runs.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }
}

/// The benchmark's results.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Where the corpus was.
    pub dir: PathBuf,
    /// Python files in the corpus.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    /// Threads rayon used.
    pub threads: usize,
    /// The gardener's timings (findings = violations).
    pub gardener: Timing,
    /// The gardener's timings with `--full-parse` (every file analysed, not only parsed).
    pub gardener_full: Timing,
    /// Files parsed in the default mode (the rest were skipped by the prefilter).
    pub parsed: usize,
    /// Files with parse errors in the last run (expected 0).
    pub parse_errors: usize,
    /// ruff's timings, or why there are none.
    pub ruff: std::result::Result<Timing, String>,
    /// The corpus shape.
    pub shape: Shape,
}

impl BenchReport {
    /// ruff's best time over the gardener's best: above 1.0 the gardener is faster.
    pub fn ratio(&self) -> Option<f64> {
        let ruff = self.ruff.as_ref().ok()?.best().as_secs_f64();
        let garden = self.gardener.best().as_secs_f64();
        (garden > 0.0).then(|| ruff / garden)
    }

    /// The median over rounds of ruff's time over the gardener's in the same round.
    pub fn ratio_per_round(&self) -> Option<f64> {
        let ruff = self.ruff.as_ref().ok()?;
        let mut ratios: Vec<f64> = ruff
            .runs
            .iter()
            .zip(&self.gardener.runs)
            .map(|(r, g)| r.as_secs_f64() / g.as_secs_f64().max(1e-9))
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios.get(ratios.len() / 2).copied()
    }
}

/// Generates the corpus and times the gardener (and ruff, if available) on it.
pub fn run(options: &BenchOptions) -> Result<BenchReport> {
    let temp;
    let dir = match &options.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
            d.clone()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("garden-bench-")
                .tempdir()
                .map_err(|e| Error::io(std::env::temp_dir(), e))?;
            temp.path().to_path_buf()
        }
    };
    let lines = options.lines.unwrap_or(options.shape.default_lines());
    let bytes = corpus::generate(&dir, options.files, options.shape, lines)?;
    let runs = options.runs.max(1);
    let mut gardener = Timing::new(format!("garden scan {}", dir.display()));
    let mut ruff: std::result::Result<Timing, String> = if options.no_ruff {
        Err("skipped (--no-ruff)".to_owned())
    } else {
        Ok(Timing::new(String::new()))
    };
    let (mut parsed, mut parse_errors) = (0, 0);
    for _ in 0..runs {
        let (elapsed, findings, p, e) = time_gardener(&dir, false)?;
        gardener.runs.push(elapsed);
        gardener.findings = findings;
        (parsed, parse_errors) = (p, e);
        if let Ok(timing) = &mut ruff {
            match time_ruff(options.ruff.as_deref(), &dir) {
                Ok((elapsed, findings, command)) => {
                    timing.runs.push(elapsed);
                    timing.findings = findings;
                    timing.command = command;
                }
                Err(why) => ruff = Err(why),
            }
        }
    }
    let mut gardener_full = Timing::new(format!("garden scan --full-parse {}", dir.display()));
    for _ in 0..runs {
        let (elapsed, findings, _, _) = time_gardener(&dir, true)?;
        gardener_full.runs.push(elapsed);
        gardener_full.findings = findings;
    }
    Ok(BenchReport {
        dir,
        files: options.files,
        bytes,
        threads: rayon::current_num_threads(),
        gardener,
        gardener_full,
        parsed,
        parse_errors,
        ruff,
        shape: options.shape,
    })
}

/// One end-to-end scan (rules, walk, read, parse, analyse): its time, violations, files
/// analysed and syntax errors.
fn time_gardener(dir: &Path, full_parse: bool) -> Result<(Duration, usize, usize, usize)> {
    let start = Instant::now();
    let target = Target::load(&[dir.to_path_buf()], None)?;
    let options = scan::ScanOptions {
        full_parse,
        progress: None,
    };
    let summary =
        scan::scan_with(&target.config, target.root.clone(), target.files, options).summary();
    Ok((
        start.elapsed(),
        summary.violations,
        summary.parsed,
        summary.parse_errors,
    ))
}

/// One `ruff check` run: its time, TID251 findings and the command.
fn time_ruff(
    ruff: Option<&Path>,
    dir: &Path,
) -> std::result::Result<(Duration, usize, String), String> {
    let exe = ruff.map_or_else(|| PathBuf::from("ruff"), Path::to_path_buf);
    let config = dir.join("ruff.toml");
    let args = vec![
        "check".to_owned(),
        "--no-cache".to_owned(),
        "--exit-zero".to_owned(),
        "--output-format".to_owned(),
        "concise".to_owned(),
        "--config".to_owned(),
        config.display().to_string(),
        dir.display().to_string(),
    ];
    let start = Instant::now();
    let output = Command::new(&exe).args(&args).output().map_err(|e| {
        format!(
            "{}: not run ({e}); install with `pip install ruff` or pass --ruff PATH",
            exe.display()
        )
    })?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        return Err(format!(
            "{} failed: {}",
            exe.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let findings = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.contains("TID251"))
        .count();
    Ok((
        elapsed,
        findings,
        format!("{} {}", exe.display(), args.join(" ")),
    ))
}
