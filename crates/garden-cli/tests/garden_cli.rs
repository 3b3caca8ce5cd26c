//! `redis-ssot-garden`, the binary of the Python wheel: exit codes, plain errors, the phases
//! of `fix` and `rollback --last` / `--all`, file lists as pre-commit passes them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The gardener's fixture directory `name`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gardener/tests/fixtures")
        .join(name)
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

fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&fixture(name), dir.path());
    dir
}

/// Runs the binary in `cwd`; returns (exit code, stdout, stderr).
fn garden(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_redis-ssot-garden"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn scan_exits_one_on_findings_zero_when_clean_two_on_bad_rules() {
    let netra = fixture("netra");
    let (code, out, _) = garden(&netra, &["scan", "--no-progress", "--format", "json"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(json["summary"]["violations"], 30);
    assert_eq!(json["summary"]["parse_errors"], 4);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (code, out, err) = garden(&repo, &["scan", "--no-progress", "."]);
    assert_eq!(code, 0, "{out}{err}");
    let dir = tempfile::tempdir().expect("temp");
    std::fs::write(
        dir.path().join("ssot.toml"),
        "[[rule]]\nname = \"r\"\nallow = [\"[\"]\n",
    )
    .expect("write");
    let (code, _, err) = garden(dir.path(), &["scan"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("garden: "), "{err}");
    assert!(err.contains("ssot.toml:3:10: invalid glob \"[\""), "{err}");
}

#[test]
fn a_broken_file_is_reported_with_its_line_on_a_default_scan() {
    let dir = tempfile::tempdir().expect("temp");
    std::fs::write(
        dir.path().join("ssot.toml"),
        "[[rule]]\nname = \"r\"\nmanaged_types = [\"RedisManager\"]\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("broken.py"),
        "import os\n\n\ndef broken(:\n    pass\n",
    )
    .expect("write");
    let (code, out, _) = garden(dir.path(), &["scan", "--no-progress", "broken.py"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "broken.py:4:12: syntax error: Expected a parameter or the end of the parameter list\n\
         broken.py:4:13: syntax error: Expected `)`, found newline\n\
         0 violation(s) in 1 file(s) scanned; 2 syntax error(s); 0 file(s) with violations\n"
    );
}

#[test]
fn phases_journal_separately_and_rollback_last_then_all_restores_every_byte() {
    let dir = copy_fixture("seeds");
    let root = dir.path();
    let original = std::fs::read(root.join("test_framework/conftest.py")).expect("read");
    let (code, out, err) = garden(root, &["fix", "--select", "deprecated_import", "."]);
    assert_eq!(code, 0, "{err}");
    let journal = std::fs::canonicalize(root)
        .expect("canonical")
        .join(".ssot/journal");
    assert!(
        out.ends_with(&format!(
            "fixed 5 violation(s), editing 7 file(s) (deprecated_import); 2 need review; 0 file(s) not \
             edited; journal entry {}/0001 (undo with `garden rollback --journal {}`)\n",
            journal.display(),
            journal.display()
        )),
        "{out}"
    );
    assert!(
        err.contains(
            "netra_backend/app/services/multi_line.py:1: needs_review: deprecated_import: \
         `netra_backend.app.redis_manager` does not define `CACHE_TTL`"
        ),
        "{err}"
    );
    let after_imports = std::fs::read(root.join("test_framework/conftest.py")).expect("read");
    let (code, out, _) = garden(root, &["fix", "--select", "direct_instantiation", "."]);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "fixed 6 violation(s), editing 5 file(s) (direct_instantiation); 1 need review"
        ),
        "{out}"
    );
    // From a subfolder: the journal beside the rules is found.
    let (code, out, _) = garden(&root.join("test_framework"), &["rollback", "--last"]);
    assert_eq!(
        (code, out.lines().last()),
        (
            0,
            Some("rolled back 0002 (5 restored, 0 already restored, 0 refused)")
        )
    );
    assert_eq!(
        std::fs::read(root.join("test_framework/conftest.py")).expect("read"),
        after_imports
    );
    let (code, out, _) = garden(root, &["rollback", "--all"]);
    assert_eq!(
        (code, out.lines().last()),
        (
            0,
            Some("rolled back 0001 (7 restored, 0 already restored, 0 refused)")
        )
    );
    assert_eq!(
        std::fs::read(root.join("test_framework/conftest.py")).expect("read"),
        original
    );
    let (code, _, err) = garden(&root.join("netra_backend"), &["rollback"]);
    assert_eq!(code, 2);
    assert!(
        err.ends_with("no fix journal here, so there is nothing to roll back\n"),
        "{err}"
    );
}

#[test]
fn an_unknown_kind_in_select_is_a_plain_usage_error() {
    let (code, _, err) = garden(&fixture("seeds"), &["fix", "--select", "imports", "."]);
    assert_eq!(code, 2);
    assert!(err.contains(
        "\"imports\" is not a kind fix repairs; use deprecated_import, deprecated_name or direct_instantiation"
    ), "{err}");
}

#[test]
fn file_lists_find_the_rules_from_each_files_folder() {
    let netra = fixture("netra");
    let deep = netra.join("netra_backend/app/cache");
    let (code, out, _) = garden(
        &deep,
        &["scan", "--no-progress", "warmup.py", "../redis_manager.py"],
    );
    assert_eq!(code, 1);
    assert!(
        out.starts_with("netra_backend/app/cache/warmup.py:1:6: deprecated_import"),
        "{out}"
    );
    assert!(out.ends_with("4 violation(s) in 2 file(s) scanned (deprecated_import: 2, direct_instantiation: 2); 0 syntax error(s); 1 file(s) with violations\n"), "{out}");
}

#[test]
fn report_prints_the_dashboard_numbers() {
    let dir = copy_fixture("seeds");
    let root = dir.path();
    let (code, out, _) = garden(root, &["report", "--no-progress", "--label", "before", "."]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(
            "23 violation(s) in 13 file(s); +0 since the first entry (23 then, 0.0% fewer)\n"
        ),
        "{out}"
    );
    garden(root, &["fix", "."]);
    let (_, out, _) = garden(root, &["report", "--no-progress", "--label", "after", "."]);
    assert!(
        out.starts_with(
            "6 violation(s) in 6 file(s); -17 since the first entry (23 then, 73.9% fewer)\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "by kind: competing_implementation: 3, deprecated_import: 2, direct_instantiation: 1\n"
        ),
        "{out}"
    );
    let html = std::fs::read_to_string(root.join(".ssot/report.html")).expect("page");
    assert!(
        html.contains("<strong>6</strong> violation(s) in <strong>6</strong> file(s); 17 fewer"),
        "{html}"
    );
}

#[test]
fn rollback_counts_a_file_restored_by_hand_as_restored_and_exits_zero() {
    let dir = copy_fixture("seeds");
    let root = dir.path();
    let path = root.join("test_framework/conftest.py");
    let original = std::fs::read(&path).expect("read");
    let (code, _, err) = garden(root, &["fix", "--select", "deprecated_import", "."]);
    assert_eq!(code, 0, "{err}");
    assert_ne!(std::fs::read(&path).expect("read"), original);
    std::fs::write(&path, &original).expect("restore by hand");
    let (code, out, err) = garden(root, &["rollback"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(
        out.contains("already restored test_framework/conftest.py (it has its original bytes)\n"),
        "{out}"
    );
    assert_eq!(
        out.lines().last(),
        Some("rolled back 0001 (6 restored, 1 already restored, 0 refused)")
    );
    assert!(!root.join(".ssot/journal").exists());
}
