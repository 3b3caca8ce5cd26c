//! Rules are found as ruff finds its settings, and module names never depend on where the
//! rules file is: the same counts with `--config` inside the tree, outside it, or found by
//! walking up from the paths (as `pre-commit` passes them).

mod common;

use std::path::PathBuf;

use common::{copy_fixture, fixture, located, scan_paths};

fn counts(report: &gardener::ScanReport) -> Vec<(String, usize)> {
    let s = report.summary();
    let mut out: Vec<(String, usize)> = s.by_kind.into_iter().collect();
    out.push(("parse_errors".into(), s.parse_errors));
    out
}

#[test]
fn counts_are_the_same_with_rules_inside_outside_or_discovered() {
    let tree = fixture("netra");
    let inside = scan_paths(std::slice::from_ref(&tree), Some(&tree.join("ssot.toml")));
    let discovered = scan_paths(std::slice::from_ref(&tree), None);
    let elsewhere = tempfile::tempdir().expect("temp");
    let outside_rules = elsewhere.path().join("ssot.toml");
    std::fs::copy(tree.join("ssot.toml"), &outside_rules).expect("copy");
    let outside = scan_paths(std::slice::from_ref(&tree), Some(&outside_rules));
    assert_eq!(counts(&inside), counts(&discovered));
    assert_eq!(counts(&inside), counts(&outside));
    assert_eq!(inside.summary().violations, 30);
    // The relative import and the canonical module's allowance hold with the rules outside.
    let paths = |r: &gardener::ScanReport| -> Vec<(String, usize, &'static str)> {
        located(r)
            .into_iter()
            .map(|(p, l, k)| (p.rsplit("netra/").next().unwrap_or(&p).to_owned(), l, k))
            .collect()
    };
    assert_eq!(paths(&inside), paths(&outside));
    assert!(
        outside
            .violations()
            .any(|v| v.path.ends_with("netra_backend/app/cache/warmup.py") && v.line == 1)
    );
}

#[test]
fn file_lists_find_the_nearest_rules_as_pre_commit_passes_them() {
    let tree = fixture("netra");
    let files: Vec<PathBuf> = [
        "test_framework/fixtures.py",
        "netra_backend/app/cache/warmup.py",
        "netra_backend/app/redis_manager.py",
    ]
    .iter()
    .map(|f| tree.join(f))
    .collect();
    let report = scan_paths(&files, None);
    assert_eq!(
        located(&report),
        vec![
            (
                "netra_backend/app/cache/warmup.py".to_owned(),
                1,
                "deprecated_import"
            ),
            (
                "netra_backend/app/cache/warmup.py".to_owned(),
                2,
                "deprecated_import"
            ),
            (
                "netra_backend/app/cache/warmup.py".to_owned(),
                7,
                "direct_instantiation"
            ),
            (
                "netra_backend/app/cache/warmup.py".to_owned(),
                8,
                "direct_instantiation"
            ),
            (
                "test_framework/fixtures.py".to_owned(),
                1,
                "deprecated_import"
            ),
            (
                "test_framework/fixtures.py".to_owned(),
                5,
                "direct_instantiation"
            ),
        ]
    );
}

#[test]
fn a_pyproject_with_a_tool_ssot_table_is_found_and_one_without_is_skipped() {
    let dir = copy_fixture("netra");
    let rules = std::fs::read_to_string(dir.path().join("ssot.toml")).expect("rules");
    std::fs::remove_file(dir.path().join("ssot.toml")).expect("remove");
    let tool = rules.replace("[[rule]]", "[[tool.ssot.rule]]");
    std::fs::write(
        dir.path().join("pyproject.toml"),
        format!("[project]\nname = \"netra\"\n\n[tool.ruff]\nline-length = 100\n\n{tool}"),
    )
    .expect("write");
    // A package's own pyproject.toml without [tool.ssot] is passed over on the way up.
    std::fs::write(
        dir.path().join("netra_backend/pyproject.toml"),
        "[project]\nname = \"backend\"\n",
    )
    .expect("write");
    let report = scan_paths(&[dir.path().join("netra_backend")], None);
    assert_eq!(report.summary().by_kind["deprecated_import"], 10);
    let target =
        gardener::target::Target::load(&[dir.path().join("netra_backend")], None).expect("target");
    assert_eq!(
        target.config.path,
        std::fs::canonicalize(dir.path())
            .expect("canonical")
            .join("pyproject.toml")
    );
}

#[test]
fn mistakes_in_a_pyproject_name_its_line_and_no_rules_anywhere_is_plain() {
    let dir = tempfile::tempdir().expect("temp");
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"x\"\n\n[tool.ssot]\n[[tool.ssot.rule]]\nname = \"r\"\nmanaged = [\"X\"]\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("a.py"), "x = 1\n").expect("write");
    let err = gardener::target::Target::load(&[dir.path().join("a.py")], None)
        .expect_err("bad rules")
        .to_string();
    assert!(
        err.contains("pyproject.toml:7:1: unknown field `managed`"),
        "{err}"
    );
    let empty = tempfile::tempdir().expect("temp");
    let err = gardener::target::Target::load(&[empty.path().to_path_buf()], None)
        .expect_err("no rules")
        .to_string();
    assert!(
        err.ends_with(
            "no rules found here or in any folder above (looked for ssot.toml, and \
             pyproject.toml with a [tool.ssot] table); create one or pass --config FILE"
        ),
        "{err}"
    );
}

#[test]
fn a_source_root_names_namespace_packages() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    std::fs::write(
        root.join("ssot.toml"),
        "src = [\"src\"]\n[[rule]]\nname = \"r\"\ncanonical = \"app.core.manager\"\n\
         deprecated_imports = [{ module = \"app.old\", replacement = \"app.core.manager\" }]\n\
         managed_types = [\"Manager\"]\n",
    )
    .expect("write");
    let write = |p: &str, t: &str| {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, t).expect("write");
    };
    // `src/app` has no __init__.py: a namespace package below the source root.
    write(
        "src/app/core/manager.py",
        "class Manager: pass\nmanager = Manager()\n",
    );
    write("src/app/core/user.py", "from ..old import thing\n");
    let report = scan_paths(&[root.to_path_buf()], None);
    assert_eq!(
        located(&report),
        vec![("src/app/core/user.py".to_owned(), 1, "deprecated_import")]
    );
}
