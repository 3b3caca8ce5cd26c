//! The repository's redis-rs rule on a Rust workspace fixture.

mod common;

use common::{fixture, located, scan_dir};

#[test]
fn redis_clients_built_outside_the_manager_crate_are_reported_in_every_form() {
    let report = scan_dir(&fixture("rust_ws"));
    let lines: Vec<(String, usize, &str)> = located(&report);
    let app = |line: usize, kind: &'static str| ("crates/app/src/main.rs".to_owned(), line, kind);
    assert_eq!(
        lines,
        vec![
            app(1, "deprecated_import"),
            app(6, "competing_implementation"),
            app(9, "direct_instantiation"), // use redis::Client; Client::open(..)
            app(10, "direct_instantiation"), // redis::Client::open(..)
            app(11, "direct_instantiation"), // redis::cluster::ClusterClientBuilder::new(..)
            app(12, "direct_instantiation"), // renamed in a use group, builder chain
            app(13, "direct_instantiation"), // ClusterClient::builder(..)
            app(14, "direct_instantiation"), // ConnectionManager renamed to Cm
            app(16, "direct_instantiation"), // struct literal
            app(17, "direct_instantiation"), // inside assert!(..)
            // An inherent impl of a type defined elsewhere; trait impls for the canonical
            // manager (main.rs, below line 25) are not reported.
            (
                "crates/app/src/shadow_impl.rs".to_owned(),
                1,
                "competing_implementation"
            ),
            (
                "crates/cli/src/main.rs".to_owned(),
                2,
                "direct_instantiation"
            ),
        ]
    );
}

#[test]
fn reqwest_client_comments_strings_and_suppressed_lines_are_not_reported() {
    let report = scan_dir(&fixture("rust_ws"));
    let app_lines: Vec<usize> = report
        .violations()
        .filter(|v| v.path == "crates/app/src/main.rs")
        .map(|v| v.line)
        .collect();
    for quiet in [15, 18, 19, 21] {
        assert!(!app_lines.contains(&quiet), "line {quiet} reported");
    }
}

#[test]
fn manager_crate_testkit_and_bench_are_allowed() {
    let report = scan_dir(&fixture("rust_ws"));
    let paths: Vec<&str> = report.violations().map(|v| v.path.as_str()).collect();
    for allowed in [
        "crates/redis-ssot/src/pool.rs",
        "crates/testkit/src/lib.rs",
        "crates/cli/src/bench.rs",
    ] {
        assert!(!paths.contains(&allowed), "{allowed} reported");
    }
}
