//! The fixture corpus modelled on the original system: exact counts and the tricky cases.

mod common;

use common::{fixture, located, scan_dir};

#[test]
fn netra_corpus_has_exact_counts_per_kind() {
    let report = scan_dir(&fixture("netra"));
    let summary = report.summary();
    assert_eq!(summary.files, 23);
    assert_eq!(summary.by_kind["deprecated_import"], 13);
    // ruff's parser recovers past `def broken(:` and sees `AuthRedisManager(` below it.
    assert_eq!(summary.by_kind["direct_instantiation"], 12);
    assert_eq!(summary.by_kind["competing_implementation"], 4);
    assert_eq!(summary.by_kind["unjustified_suppression"], 1);
    assert_eq!(summary.by_kind["deprecated_name"], 0);
    assert_eq!(summary.violations, 30);
    assert_eq!(summary.parse_errors, 4);
    assert_eq!(summary.files_with_violations, 15);
}

#[test]
fn comments_strings_and_docstrings_never_count() {
    let report = scan_dir(&fixture("netra"));
    let in_file: Vec<_> = located(&report)
        .into_iter()
        .filter(|(p, _, _)| p == "netra_backend/app/services/session_service.py")
        .collect();
    assert_eq!(in_file, vec![]);
}

#[test]
fn canonical_file_is_allowed() {
    let report = scan_dir(&fixture("netra"));
    assert!(
        !report
            .violations()
            .any(|v| v.path == "netra_backend/app/redis_manager.py")
    );
}

#[test]
fn auth_redis_manager_is_not_taken_for_redis_manager() {
    let report = scan_dir(&fixture("netra"));
    let session: Vec<&str> = report
        .violations()
        .filter(|v| {
            v.path == "auth_service/auth_core/session.py"
                && v.kind.as_str() == "direct_instantiation"
        })
        .map(|v| v.subject.as_str())
        .collect();
    assert_eq!(session, vec!["AuthRedisManager"]);
    // RedisManagerFactory() and AuthRedisManagerProxy() are not managed types.
    let exact: Vec<_> = located(&report)
        .into_iter()
        .filter(|(p, _, _)| p == "netra_backend/app/agents/exact_names.py")
        .collect();
    assert_eq!(
        exact,
        vec![(
            "netra_backend/app/agents/exact_names.py".to_owned(),
            11,
            "direct_instantiation"
        )]
    );
}

#[test]
fn aliased_relative_multiline_local_and_type_checking_imports_are_found() {
    let report = scan_dir(&fixture("netra"));
    let imports: Vec<(String, usize)> = report
        .violations()
        .filter(|v| {
            v.kind.as_str() == "deprecated_import" && v.path.starts_with("netra_backend/app/")
        })
        .map(|v| (v.path.clone(), v.line))
        .collect();
    let expected: Vec<(String, usize)> = [
        ("netra_backend/app/agents/typed.py", 4), // under if TYPE_CHECKING:
        ("netra_backend/app/agents/typed.py", 8), // inside a function
        ("netra_backend/app/broken.py", 1),       // before the syntax error
        ("netra_backend/app/cache/warmup.py", 1), // from .redis_cache_manager
        ("netra_backend/app/cache/warmup.py", 2), // from ..core import redis_manager
        ("netra_backend/app/routes/health.py", 1), // submodule in a multi-name import
        ("netra_backend/app/routes/health.py", 2), // plain import a.b.c
        ("netra_backend/app/services/aliased.py", 1), // import a.b as c
        ("netra_backend/app/services/multi_line.py", 1), // parenthesised, several lines
        ("netra_backend/app/services/multi_line.py", 6), // submodule in parentheses
    ]
    .into_iter()
    .map(|(p, l)| (p.to_owned(), l))
    .collect();
    assert_eq!(imports, expected);
}

#[test]
fn calls_through_aliases_resolve_to_the_managed_type() {
    let report = scan_dir(&fixture("netra"));
    let found: Vec<(usize, &str)> = report
        .violations()
        .filter(|v| {
            v.path == "netra_backend/app/services/aliased.py"
                && v.kind.as_str() == "direct_instantiation"
        })
        .map(|v| (v.line, v.message.split(" (rule").next().unwrap_or("")))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                6,
                "direct construction of `RedisManager` via `rm.RedisManager()`"
            ),
            (
                7,
                "direct construction of `RedisManager` via `legacy.RedisManager()`"
            ),
        ]
    );
}

#[test]
fn suppressions_with_reasons_hide_violations_and_reasonless_ones_are_reported() {
    let report = scan_dir(&fixture("netra"));
    let shim: Vec<_> = located(&report)
        .into_iter()
        .filter(|(p, _, _)| p == "netra_backend/app/legacy/shim.py")
        .collect();
    assert_eq!(
        shim,
        vec![(
            "netra_backend/app/legacy/shim.py".to_owned(),
            5,
            "unjustified_suppression"
        )]
    );
}

#[test]
fn every_syntax_error_is_reported_on_a_default_scan_with_the_parsers_message() {
    let report = scan_dir(&fixture("netra"));
    let errors: Vec<(&str, usize, usize, &str)> = report
        .parse_errors()
        .map(|p| (p.path.as_str(), p.line, p.column, p.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                "netra_backend/app/broken.py",
                4,
                12,
                "Expected a parameter or the end of the parameter list"
            ),
            (
                "netra_backend/app/broken.py",
                4,
                13,
                "Expected `)`, found newline"
            ),
            (
                "netra_backend/app/broken.py",
                6,
                1,
                "unexpected EOF while parsing"
            ),
            (
                "tools/loadgen/src/broken.rs",
                2,
                30,
                "unbalanced brackets or an invalid token: this does not lex as Rust"
            ),
        ]
    );
}

#[test]
fn a_broken_file_without_any_rule_word_is_still_reported() {
    let dir = common::copy_fixture("netra");
    std::fs::write(
        dir.path().join("plain.py"),
        "x = 1\ndef broken(:\n    pass\n",
    )
    .expect("write");
    let report = scan_dir(dir.path());
    let plain: Vec<(usize, usize)> = report
        .parse_errors()
        .filter(|p| p.path == "plain.py")
        .map(|p| (p.line, p.column))
        .collect();
    assert_eq!(plain, vec![(2, 12), (2, 13)]);
    let file = report
        .files
        .iter()
        .find(|f| f.file.relative == "plain.py")
        .expect("scanned");
    assert!(
        !file.parsed,
        "no rule word: parsed for syntax, not analysed"
    );
}

#[test]
fn text_output_names_file_line_column_and_the_replacement() {
    let report = scan_dir(&fixture("netra"));
    let text = gardener::output::text::render(
        report.violations(),
        report.parse_errors(),
        report.unread(),
        &report.summary(),
    );
    assert!(text.contains(
        "netra_backend/app/broken.py:4:12: syntax error: Expected a parameter or the end of the parameter list\n"
    ));
    assert!(text.contains(
        "test_framework/fixtures.py:1:6: deprecated_import: import of deprecated module \
         `test_framework.redis_test_utils.test_redis_manager` (rule `redis-manager`); \
         import `netra_backend.app.redis_manager` instead\n"
    ));
    assert!(text.ends_with(
        "30 violation(s) in 23 file(s) scanned (competing_implementation: 4, deprecated_import: 13, \
         direct_instantiation: 12, unjustified_suppression: 1); 4 syntax error(s); 15 file(s) with violations\n"
    ));
}

#[test]
fn json_output_has_the_documented_shape() {
    let report = scan_dir(&fixture("netra"));
    let json = gardener::output::json::render(
        report.violations(),
        report.parse_errors(),
        report.unread(),
        &report.summary(),
        None,
    );
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(value["summary"]["violations"], 30);
    assert_eq!(value["summary"]["files"], 23);
    assert_eq!(value["summary"]["parse_errors"], 4);
    assert_eq!(
        value["parse_errors"][0],
        serde_json::json!({
            "path": "netra_backend/app/broken.py",
            "line": 4,
            "column": 12,
            "message": "Expected a parameter or the end of the parameter list"
        })
    );
    assert_eq!(value["summary"]["by_kind"]["deprecated_import"], 13);
    let first = &value["violations"][0];
    let mut keys: Vec<&str> = first
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "column",
            "fingerprint",
            "kind",
            "line",
            "message",
            "path",
            "rule"
        ]
    );
}

#[test]
fn shipped_netra_example_config_is_valid_and_matches_the_fixtures() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/netra-ssot.toml");
    let config = gardener::Config::load(&example).expect("example config loads");
    assert_eq!(config.rules.len(), 1);
    let rule = &config.rules[0];
    assert_eq!(rule.deprecated_imports.len(), 7);
    let test_utils = &rule.deprecated_imports[5];
    assert_eq!(test_utils.mapped("RedisTestManager"), "get_redis_manager");
    assert_eq!(
        rule.deprecated_imports[1].mapped("default_redis_cache_manager"),
        "redis_manager"
    );
    assert_eq!(
        rule.deprecated_imports[0].mapped("auth_redis_manager"),
        "redis_manager"
    );
    assert_eq!(rule.deprecated_names[0].name, "auth_redis_manager");
    assert_eq!(
        rule.construct_with,
        Some(gardener::config::ConstructWith {
            expression: "redis_manager".into(),
            import: "redis_manager".into(),
        })
    );
    let example_text = std::fs::read_to_string(example).expect("example");
    for corpus in ["netra", "seeds"] {
        let fixture_text =
            std::fs::read_to_string(fixture(corpus).join("ssot.toml")).expect("fixture config");
        assert_eq!(example_text, fixture_text, "{corpus}");
    }
}

#[test]
fn prefilter_skips_files_without_rule_words_and_changes_no_result() {
    let target = gardener::target::Target::load(&[fixture("netra")], None).expect("target");
    let run = |full_parse| {
        let options = gardener::scan::ScanOptions {
            full_parse,
            progress: None,
        };
        gardener::scan::scan_with(
            &target.config,
            target.root.clone(),
            target.files.clone(),
            options,
        )
    };
    let (fast, full) = (run(false), run(true));
    assert_eq!(located(&fast), located(&full));
    assert_eq!(fast.summary().parse_errors, full.summary().parse_errors);
    assert_eq!(fast.summary().parsed, 19); // the four empty __init__.py are not analysed
    assert_eq!(full.summary().parsed, 23);
}
