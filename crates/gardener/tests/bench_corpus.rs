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
    };
    let report = bench::run(&options).expect("bench runs");
    assert_eq!(report.files, 300);
    assert_eq!(report.parse_errors, 0);
    assert_eq!(report.gardener.findings, report.gardener_full.findings);
    assert!(report.parsed < 100, "parsed {}", report.parsed);
    let again = bench::run(&options).expect("bench runs again");
    assert_eq!(again.bytes, report.bytes);
    assert_eq!(again.gardener.findings, report.gardener.findings);
}
