//! This repository obeys its own rules: `garden scan .` with the root `ssot.toml` is clean.

mod common;

use std::path::Path;

#[test]
fn repository_scan_with_its_own_rules_is_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let report = common::scan_dir(&root);
    let found: Vec<String> = report
        .violations()
        .map(|v| format!("{}:{}: {}", v.path, v.line, v.message))
        .collect();
    assert_eq!(found, Vec::<String>::new());
    // Every Rust and Python file of the repository parses (syn and ruff's parser agree).
    let errors: Vec<String> = report
        .parse_errors()
        .map(|p| format!("{}:{}:{}: {}", p.path, p.line, p.column, p.message))
        .collect();
    assert_eq!(errors, Vec::<String>::new());
    // Fixtures and build output are never scanned.
    assert!(
        !report
            .files
            .iter()
            .any(|f| f.file.relative.contains("tests/fixtures/"))
    );
    assert!(
        !report
            .files
            .iter()
            .any(|f| f.file.relative.starts_with("target/"))
    );
}
