//! `garden` exit codes: 0 clean, 1 violations, 2 usage or config error.

use std::path::{Path, PathBuf};

/// Runs `redis-ssot garden <args>` and returns its exit code.
fn run(args: &[&str]) -> i32 {
    std::process::Command::new(env!("CARGO_BIN_EXE_redis-ssot"))
        .arg("garden")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the binary runs")
        .code()
        .expect("exit code")
}

mod common {
    use super::*;

    /// The gardener's fixture directory `name`.
    pub fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../gardener/tests/fixtures")
            .join(name)
    }

    /// Copies a fixture tree into a fresh temporary directory.
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
                std::fs::copy(entry.path(), &dest).expect("copy");
            }
        }
    }
}

#[test]
fn scan_exits_one_on_violations_and_zero_when_clean() {
    let netra = common::fixture("netra");
    assert_eq!(
        run(&[
            "scan",
            "--no-progress",
            "--format",
            "json",
            netra.to_str().expect("utf-8")
        ]),
        1
    );
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert_eq!(
        run(&["scan", "--no-progress", repo.to_str().expect("utf-8")]),
        0
    );
}

#[test]
fn scan_exits_two_without_rules_or_with_invalid_rules() {
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().to_str().expect("utf-8").to_owned();
    assert_eq!(run(&["scan", &path]), 2);
    std::fs::write(
        dir.path().join("ssot.toml"),
        "[[rule]]\nname = \"r\"\nallow = [\"[\"]\n",
    )
    .expect("write");
    assert_eq!(run(&["scan", &path]), 2);
}

#[test]
fn baseline_then_scan_with_baseline_exits_zero_until_something_new_appears() {
    let dir = common::copy_fixture("netra");
    let root = dir.path().to_str().expect("utf-8").to_owned();
    let baseline = dir.path().join("baseline.json");
    let baseline_arg = baseline.to_str().expect("utf-8").to_owned();
    assert_eq!(run(&["baseline", &root, "--output", &baseline_arg]), 0);
    assert_eq!(run(&["scan", &root, "--baseline", &baseline_arg]), 0);
    std::fs::write(
        dir.path().join("new.py"),
        "from auth_service.auth_core.redis_manager import AuthRedisManager\n",
    )
    .expect("write");
    assert_eq!(run(&["scan", &root, "--baseline", &baseline_arg]), 1);
}

#[test]
fn fix_dry_run_changes_nothing_and_rollback_without_journal_is_an_error() {
    let dir = common::copy_fixture("netra");
    let root = dir.path().to_str().expect("utf-8").to_owned();
    let before = std::fs::read(dir.path().join("test_framework/fixtures.py")).expect("read");
    assert_eq!(run(&["fix", "--dry-run", &root]), 0);
    assert_eq!(
        std::fs::read(dir.path().join("test_framework/fixtures.py")).expect("read"),
        before
    );
    let journal = dir.path().join(".ssot/journal");
    assert_eq!(
        run(&["rollback", "--journal", journal.to_str().expect("utf-8")]),
        2
    );
    assert_eq!(run(&["fix", &root]), 0);
    assert_eq!(
        run(&["rollback", "--journal", journal.to_str().expect("utf-8")]),
        0
    );
    assert_eq!(
        std::fs::read(dir.path().join("test_framework/fixtures.py")).expect("read"),
        before
    );
}
