//! The benchmark corpus is deterministic and finds what it planted.

use gardener::bench::{self, BenchOptions};

#[test]
fn bench_corpus_is_deterministic_and_prefilter_agrees_with_full_parse() {
    let dir = tempfile::tempdir().expect("temp");
    let options = BenchOptions {
        files: 300,
        dir: Some(dir.path().to_path_buf()),
        runs: 1,
        ruff: None,
        no_ruff: true,
        shape: bench::Shape::PreMigration,
        lines: None,
    };
    let report = bench::run(&options).expect("bench runs");
    assert_eq!(report.files, 300);
    assert_eq!(report.parse_errors, 0);
    assert_eq!(report.gardener.findings, report.gardener_full.findings);
    // Every file is parsed; the prefilter only spares the analysis of most of them.
    assert!(report.parsed < 100, "analysed {}", report.parsed);
    let again = bench::run(&options).expect("bench runs again");
    assert_eq!(again.bytes, report.bytes);
    assert_eq!(again.gardener.findings, report.gardener.findings);
}

#[test]
fn post_migration_files_all_import_the_canonical_manager_and_have_about_150_lines() {
    let dir = tempfile::tempdir().expect("temp");
    let bytes =
        bench::corpus::generate(dir.path(), 50, bench::Shape::PostMigration, 150).expect("corpus");
    let mut files = 0;
    for package in std::fs::read_dir(dir.path().join("netra_backend/app")).expect("dir") {
        for file in std::fs::read_dir(package.expect("entry").path()).expect("dir") {
            let path = file.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            if path.ends_with("__init__.py") {
                continue;
            }
            files += 1;
            assert!(
                text.contains("from netra_backend.app.redis_manager import redis_manager\n"),
                "{}",
                path.display()
            );
            let lines = text.lines().count();
            assert!(
                (145..=160).contains(&lines),
                "{}: {lines} lines",
                path.display()
            );
        }
    }
    assert_eq!(files, 50);
    assert!(bytes > 0);
}
