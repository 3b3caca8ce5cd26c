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

#[test]
fn construct_with_names_mappings_and_deprecated_names_are_checked() {
    assert_eq!(
        error("[[rule]]\nname = \"r\"\nconstruct_with = \"redis_manager\"\n"),
        "ssot.toml:3:18: construct_with needs `canonical`: its name is imported from there"
    );
    assert_eq!(
        error("[[rule]]\nname = \"r\"\ncanonical = \"a.b\"\nconstruct_with = \"1 + x\"\n"),
        "ssot.toml:4:18: construct_with \"1 + x\" must be a name, an attribute or a call such as \
         `redis_manager` or `get_redis_manager()`"
    );
    assert_eq!(
        error(
            "[[rule]]\nname = \"r\"\ndeprecated_imports = [{ module = \"a.old\", replacement = \"a.new\", \
             names = { Old = \"not-a-name\" } }]\n"
        ),
        "ssot.toml:3:82: names value \"not-a-name\" is not an identifier"
    );
    assert_eq!(
        error(
            "[[rule]]\nname = \"r\"\ndeprecated_names = [{ module = \"a.b\", name = \"x.y\", replacement = \"z\" }]\n"
        ),
        "ssot.toml:3:46: deprecated name \"x.y\" is not an identifier"
    );
    let ok = Config::parse(
        Path::new("ssot.toml"),
        "[[rule]]\nname = \"r\"\ncanonical = \"a.b\"\nconstruct_with = \"get_redis_manager()\"\n\
         managed_types = [\"RedisManager\"]\n",
    )
    .expect("valid");
    assert_eq!(
        ok.rules[0]
            .construct_with
            .as_ref()
            .map(|c| c.import.as_str()),
        Some("get_redis_manager")
    );
}

#[test]
fn a_rule_that_checks_nothing_is_an_error_at_its_name() {
    assert_eq!(
        error("[[rule]]\nname = \"mgr\"\ncanonical = \"a.b\"\nallow = [\"x/**\"]\n"),
        "ssot.toml:2:8: rule \"mgr\" checks nothing: give it at least one of deprecated_imports, \
         deprecated_names, managed_types or competing"
    );
}

#[test]
fn a_src_entry_that_is_not_a_folder_is_an_error_at_its_value() {
    let dir = tempfile::tempdir().expect("temp");
    std::fs::create_dir(dir.path().join("src")).expect("mkdir");
    let rules = dir.path().join("ssot.toml");
    std::fs::write(
        &rules,
        "src = [\"src\", \"srcx\"]\n\n[[rule]]\nname = \"r\"\nmanaged_types = [\"redis.Redis\"]\n",
    )
    .expect("write");
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    assert_eq!(
        Config::load(&rules)
            .expect_err("srcx is missing")
            .to_string(),
        format!(
            "{}:1:15: src entry \"srcx\" is not a folder next to the rules file ({}/srcx does \
             not exist)",
            rules.display(),
            root.display()
        )
    );
}
