//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use gardener::scan::{self, ScanReport};
use gardener::target::Target;

/// The fixture directory `name` under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copies a fixture tree into a fresh temporary directory (tests that edit files use this).
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&fixture(name), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy");
        }
    }
}

/// Scans `root` with its own `ssot.toml`.
pub fn scan_dir(root: &Path) -> ScanReport {
    let target = Target::load(&[root.to_path_buf()], None).expect("target loads");
    scan::scan(&target.config, target.root.clone(), target.files.clone())
}

/// Scans `paths` with the rules found from them (or `config`).
pub fn scan_paths(paths: &[PathBuf], config: Option<&Path>) -> ScanReport {
    let target = Target::load(paths, config).expect("target loads");
    scan::scan(&target.config, target.root.clone(), target.files.clone())
}

/// `(path, line, kind)` of every violation, for exact comparisons.
pub fn located(report: &ScanReport) -> Vec<(String, usize, &'static str)> {
    report
        .violations()
        .map(|v| (v.path.clone(), v.line, v.kind.as_str()))
        .collect()
}
