//! `garden bench`: how fast a scan is on a corpus of typical Python files, and how that
//! compares with ruff's closest rule where ruff is installed.
//!
//! The measured time is what `garden scan` does end to end except printing: walking the tree
//! (gitignore-aware), reading, parsing every file once with per-thread parsers, analysing and
//! fingerprinting. The best of several runs is reported, as the first run also pays for a
//! cold page cache.

pub mod corpus;

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
    /// The gardener's timings with `--full-parse` (every file parsed).
    pub gardener_full: Timing,
    /// Files parsed in the default mode (the rest were skipped by the prefilter).
    pub parsed: usize,
    /// Files with parse errors in the last run (expected 0).
    pub parse_errors: usize,
    /// ruff's timings, or why there are none.
    pub ruff: std::result::Result<Timing, String>,
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
    let bytes = corpus::generate(&dir, options.files)?;
    let (gardener, parsed, parse_errors) = time_gardener(&dir, options.runs, false)?;
    let (gardener_full, _, _) = time_gardener(&dir, options.runs, true)?;
    let ruff = if options.no_ruff {
        Err("skipped (--no-ruff)".to_owned())
    } else {
        time_ruff(options.ruff.as_deref(), &dir, options.runs.max(1))
    };
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
    })
}

/// Times `runs` end-to-end scans (walk, read, parse, analyse); returns the timing, the files
/// parsed and the parse errors of the last run.
fn time_gardener(dir: &Path, runs: usize, full_parse: bool) -> Result<(Timing, usize, usize)> {
    let mut timings = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let target = Target::load(&[dir.to_path_buf()], None)?;
        let options = scan::ScanOptions {
            progress: false,
            full_parse,
        };
        let summary =
            scan::scan_with(&target.config, target.root.clone(), target.files, options).summary();
        timings.push(start.elapsed());
        last = Some(summary);
    }
    let summary = last.ok_or_else(|| Error::Usage("bench: no timed runs".into()))?;
    let flag = if full_parse { " --full-parse" } else { "" };
    Ok((
        Timing {
            runs: timings,
            findings: summary.violations,
            command: format!("garden scan{flag} {}", dir.display()),
        },
        summary.parsed,
        summary.parse_errors,
    ))
}

fn time_ruff(ruff: Option<&Path>, dir: &Path, runs: usize) -> std::result::Result<Timing, String> {
    let exe = ruff.map_or_else(|| PathBuf::from("ruff"), Path::to_path_buf);
    let config = dir.join("ruff.toml");
    let args = |d: &Path| {
        vec![
            "check".to_owned(),
            "--no-cache".to_owned(),
            "--exit-zero".to_owned(),
            "--output-format".to_owned(),
            "concise".to_owned(),
            "--config".to_owned(),
            config.display().to_string(),
            d.display().to_string(),
        ]
    };
    let mut timings = Vec::new();
    let mut findings = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let output = Command::new(&exe).args(args(dir)).output().map_err(|e| {
            format!(
                "{}: not run ({e}); install with `pip install ruff` or pass --ruff PATH",
                exe.display()
            )
        })?;
        timings.push(start.elapsed());
        if !output.status.success() {
            return Err(format!(
                "{} failed: {}",
                exe.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        findings = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| l.contains("TID251"))
            .count();
    }
    Ok(Timing {
        runs: timings,
        findings,
        command: format!("{} {}", exe.display(), args(dir).join(" ")),
    })
}
