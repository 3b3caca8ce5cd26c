//! SARIF output validates against the official SARIF 2.1.0 JSON schema (vendored; see
//! tests/SARIF-SCHEMA-SOURCE.md).

mod common;

use common::{copy_fixture, scan_dir};

#[test]
fn sarif_output_validates_against_the_2_1_0_schema() {
    let dir = copy_fixture("netra");
    let report = scan_dir(dir.path());
    let sarif = gardener::output::sarif::render(
        report.violations(),
        report.parse_errors(),
        report.unread(),
        &report.root,
    );
    let instance: serde_json::Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
    let schema_text = include_str!("sarif-schema-2.1.0.json");
    let schema: serde_json::Value = serde_json::from_str(schema_text).expect("schema is JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(instance["version"], "2.1.0");
    assert_eq!(
        instance["runs"][0]["results"].as_array().map(Vec::len),
        Some(30)
    );
    assert_eq!(
        instance["runs"][0]["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
}

#[test]
fn the_schema_rejects_a_result_without_a_message() {
    // Guards against a validator that accepts anything.
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("sarif-schema-2.1.0.json")).expect("schema");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("schema compiles");
    let bad = serde_json::json!({
        "version": "2.1.0",
        "runs": [{ "tool": { "driver": { "name": "x" } }, "results": [{ "ruleId": "r" }] }]
    });
    assert!(!validator.is_valid(&bad));
}
