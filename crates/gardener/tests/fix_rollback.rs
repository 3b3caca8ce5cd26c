//! `garden fix` and `garden rollback`: rewrites keep everything else, and undo is byte-exact.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{copy_fixture, scan_dir};
use gardener::target::Target;
use gardener::{fix, journal, scan};

fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                files.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

fn plan_for(root: &Path) -> (Target, fix::Plan) {
    let target = Target::load(&[root.to_path_buf()], None).expect("target");
    let report = scan::scan(
        &target.config,
        target.root.clone(),
        target.files.clone(),
        false,
    );
    let plan = fix::plan(&target.config, &report.files);
    (target, plan)
}

#[test]
fn fix_then_rollback_restores_every_file_byte_for_byte() {
    let dir = copy_fixture("netra");
    let before = snapshot(dir.path());
    let (target, plan) = plan_for(dir.path());
    assert_eq!(plan.files.len(), 8);
    assert_eq!(plan.files.iter().map(|f| f.repaired).sum::<usize>(), 12);
    let journal_dir = dir.path().join("journal");
    journal::apply(&plan, &target.root, &journal_dir).expect("fix applies");
    let after_fix = scan_dir(dir.path()).summary();
    // Only the import in the malformed file is left.
    assert_eq!(after_fix.by_kind["deprecated_import"], 1);
    assert_ne!(snapshot(dir.path()), before);

    let outcome = journal::rollback(&journal_dir).expect("rollback");
    assert_eq!(outcome.restored.len(), 8);
    assert_eq!(outcome.refused, vec![]);
    assert!(!journal_dir.exists());
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn rollback_refuses_a_file_changed_since_the_fix_and_keeps_it_journaled() {
    let dir = copy_fixture("netra");
    let (target, plan) = plan_for(dir.path());
    let journal_dir = dir.path().join("journal");
    journal::apply(&plan, &target.root, &journal_dir).expect("fix applies");
    let touched = dir.path().join("test_framework/fixtures.py");
    let mut edited = std::fs::read(&touched).expect("read");
    edited.extend_from_slice(b"# edited after the fix\n");
    std::fs::write(&touched, &edited).expect("write");

    let outcome = journal::rollback(&journal_dir).expect("rollback");
    assert_eq!(outcome.restored.len(), 7);
    assert_eq!(
        outcome.refused,
        vec![(
            "test_framework/fixtures.py".to_owned(),
            "changed since the fix; not restored".to_owned()
        )]
    );
    assert_eq!(std::fs::read(&touched).expect("read"), edited);
    assert!(journal_dir.join("manifest.json").exists());
}

#[test]
fn fix_keeps_formatting_comments_and_the_other_names() {
    let dir = copy_fixture("netra");
    let (target, plan) = plan_for(dir.path());
    journal::apply(&plan, &target.root, &dir.path().join("journal")).expect("fix applies");
    let multi =
        std::fs::read_to_string(dir.path().join("netra_backend/app/services/multi_line.py"))
            .expect("read");
    assert_eq!(
        multi,
        "from netra_backend.app.redis_manager import (\n    RedisCacheManager as Cache,  # the old cache\n    CACHE_TTL,\n)\n\
         from netra_backend.app.db import (\n    session_factory,\n)\nfrom netra_backend.app import redis_manager as db_redis\n\n\
         cache = Cache()\n"
    );
    let health = std::fs::read_to_string(dir.path().join("netra_backend/app/routes/health.py"))
        .expect("read");
    assert_eq!(
        health,
        "from netra_backend.app.cache import ttl_policy\nfrom netra_backend.app import redis_manager as redis_cache_manager\n\
         import netra_backend.app.redis_manager\n\n\ndef check():\n    netra_backend.app.redis_manager.ping()\n    \
         return redis_cache_manager.stats(), ttl_policy\n"
    );
    let warmup = std::fs::read_to_string(dir.path().join("netra_backend/app/cache/warmup.py"))
        .expect("read");
    assert!(warmup.starts_with(
        "from netra_backend.app.redis_manager import RedisCacheManager\nfrom netra_backend.app import redis_manager as core_rm\nfrom .. import redis_manager\n"
    ));
}

#[test]
fn malformed_files_are_never_fixed() {
    let dir = copy_fixture("netra");
    let broken = dir.path().join("netra_backend/app/broken.py");
    let before = std::fs::read(&broken).expect("read");
    let (target, plan) = plan_for(dir.path());
    assert_eq!(
        plan.skipped,
        vec![(
            "netra_backend/app/broken.py".to_owned(),
            "syntax error at 4:12; never edited".to_owned()
        )]
    );
    journal::apply(&plan, &target.root, &dir.path().join("journal")).expect("fix applies");
    assert_eq!(std::fs::read(&broken).expect("read"), before);
}

#[test]
fn a_second_fix_is_refused_while_a_journal_exists() {
    let dir = copy_fixture("netra");
    let (target, plan) = plan_for(dir.path());
    let journal_dir = dir.path().join("journal");
    journal::apply(&plan, &target.root, &journal_dir).expect("first fix");
    let err = journal::apply(&plan, &target.root, &journal_dir).expect_err("second fix refused");
    assert!(
        err.to_string()
            .ends_with("a fix journal already exists; run `garden rollback` or remove it first")
    );
}

#[test]
fn rust_use_paths_are_rewritten_in_place() {
    let dir = copy_fixture("rust_ws");
    let (target, plan) = plan_for(dir.path());
    journal::apply(&plan, &target.root, &dir.path().join("journal")).expect("fix applies");
    let main = std::fs::read_to_string(dir.path().join("crates/app/src/main.rs")).expect("read");
    assert!(
        main.starts_with(
            "use redis_ssot::{Options, RedisManager as Legacy};\nuse redis::Client;\n"
        )
    );
}

#[test]
fn imports_fix_cannot_rewrite_are_listed_for_a_hand_edit() {
    let dir = copy_fixture("rust_ws");
    std::fs::write(
        dir.path().join("crates/app/src/nested.rs"),
        "use legacy_redis::{manager::Options, other::Thing};\n",
    )
    .expect("write");
    let (_, plan) = plan_for(dir.path());
    let unfixed: Vec<(&str, usize)> = plan
        .unfixed
        .iter()
        .map(|u| (u.path.as_str(), u.line))
        .collect();
    assert_eq!(unfixed, vec![("crates/app/src/nested.rs", 1)]);
    assert_eq!(
        plan.files
            .iter()
            .map(|f| f.relative.as_str())
            .collect::<Vec<_>>(),
        vec!["crates/app/src/main.rs"]
    );
}
