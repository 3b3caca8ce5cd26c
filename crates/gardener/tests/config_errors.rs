//! Rules-file mistakes are reported with file, line and column.

use std::path::Path;

use gardener::Config;

fn error(text: &str) -> String {
    Config::parse(Path::new("ssot.toml"), text)
        .expect_err("invalid rules")
        .to_string()
}

#[test]
fn unknown_fields_are_reported_at_their_line() {
    let message = error("[[rule]]\nname = \"r\"\nmanaged = [\"X\"]\n");
    assert!(
        message.starts_with("ssot.toml:3:1: unknown field `managed`"),
        "{message}"
    );
}

#[test]
fn bad_names_globs_and_duplicates_name_their_position() {
    assert_eq!(
        error("[[rule]]\nname = \"r\"\nmanaged_types = [\"redis::\"]\n"),
        "ssot.toml:3:18: managed type \"redis::\" is not a dotted or `::` path of identifiers"
    );
    assert!(
        error("[[rule]]\nname = \"r\"\nallow = [\"a/[\"]\n")
            .starts_with("ssot.toml:3:10: invalid glob \"a/[\"")
    );
    assert_eq!(
        error("[[rule]]\nname = \"r\"\n[[rule]]\nname = \"r\"\n"),
        "ssot.toml:4:8: rule name \"r\" is defined twice"
    );
    assert_eq!(
        error("exclude = []\n"),
        "ssot.toml:1:1: no [[rule]] tables: a rules file must define at least one rule"
    );
}

#[test]
fn competing_patterns_only_allow_identifier_characters_and_stars() {
    assert_eq!(
        error("[[rule]]\nname = \"r\"\ncompeting = [\"Redis?\"]\n"),
        "ssot.toml:3:14: competing pattern \"Redis?\" may only contain identifier characters and `*`"
    );
}
