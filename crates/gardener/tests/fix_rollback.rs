//! `garden fix` and `garden rollback`: rewrites keep everything else, and undo is byte-exact.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{copy_fixture, scan_dir};
use gardener::journal::Which;
use gardener::python::defined::ModuleIndex;
use gardener::target::Target;
use gardener::{Kind, fix, journal, scan};

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
    plan_kinds(root, &[])
}

fn plan_kinds(root: &Path, select: &[Kind]) -> (Target, fix::Plan) {
    let target = Target::load(&[root.to_path_buf()], None).expect("target");
    let report = scan::scan(&target.config, target.root.clone(), target.files.clone());
    let index = ModuleIndex::new(target.module_roots.clone());
    let plan = fix::plan(&target.config, &index, &report.files, select);
    (target, plan)
}

#[test]
fn fix_then_rollback_restores_every_file_byte_for_byte() {
    let dir = copy_fixture("netra");
    let before = snapshot(dir.path());
    let (target, plan) = plan_for(dir.path());
    assert_eq!(plan.files.len(), 7);
    // warmup.py's `RedisCacheManager` is left: `from .. import redis_manager` binds the name
    // it would become (see the test below).
    assert_eq!(plan.repaired(), 14);
    assert_eq!(plan.needs_review.len(), 9);
    let journal_dir = dir.path().join("journal");
    journal::apply(&plan, &target.root, &journal_dir).expect("fix applies");
    let after_fix = scan_dir(dir.path()).summary();
    // Left: the malformed file's import, four the replacement module cannot take
    // (`AnalyticsRedisManager`, `CACHE_TTL`, `.stats()` and `.ping()` are not defined there)
    // and warmup.py's, whose new name another import binds.
    assert_eq!(after_fix.by_kind["deprecated_import"], 6);
    assert_ne!(snapshot(dir.path()), before);

    let outcome = journal::rollback(&journal_dir, Which::Last).expect("rollback");
    assert_eq!(outcome.restored.len(), 7);
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

    let outcome = journal::rollback(&journal_dir, Which::Last).expect("rollback");
    assert_eq!(outcome.restored.len(), 6);
    assert_eq!(
        outcome.refused,
        vec![(
            "test_framework/fixtures.py".to_owned(),
            "changed since the fix; not restored".to_owned()
        )]
    );
    assert_eq!(std::fs::read(&touched).expect("read"), edited);
    assert!(journal_dir.join("0001/manifest.json").exists());
}

#[test]
fn fix_keeps_formatting_comments_and_the_other_names_and_never_imports_a_missing_name() {
    let dir = copy_fixture("netra");
    let (target, plan) = plan_for(dir.path());
    journal::apply(&plan, &target.root, &dir.path().join("journal")).expect("fix applies");
    let multi =
        std::fs::read_to_string(dir.path().join("netra_backend/app/services/multi_line.py"))
            .expect("read");
    // `RedisCacheManager as Cache` moves (mapped to the `redis_manager` object, so `Cache()`
    // becomes `Cache`); `CACHE_TTL`, which the canonical module lacks, stays where it was.
    // The comment on the moved name's line moves with it.
    assert_eq!(
        multi,
        "from netra_backend.app.cache.redis_cache_manager import (\n    CACHE_TTL,\n)\n\
         from netra_backend.app.redis_manager import redis_manager as Cache  # the old cache\n\
         from netra_backend.app.db import (\n    session_factory,\n)\nfrom netra_backend.app import redis_manager as db_redis\n\n\
         cache = Cache\n"
    );
    // `redis_cache_manager.stats()` and `...db.redis_manager.ping()` would be AttributeErrors
    // on the canonical module: the file is left as it was, for review.
    let health_before =
        std::fs::read(common::fixture("netra").join("netra_backend/app/routes/health.py"))
            .expect("read");
    let health =
        std::fs::read(dir.path().join("netra_backend/app/routes/health.py")).expect("read");
    assert_eq!(health, health_before);
    let reasons: Vec<(&str, usize, &str)> = plan
        .needs_review
        .iter()
        .filter(|r| r.path == "netra_backend/app/routes/health.py")
        .map(|r| (r.path.as_str(), r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                "netra_backend/app/routes/health.py",
                1,
                "`netra_backend.app.redis_manager` does not define `stats`"
            ),
            (
                "netra_backend/app/routes/health.py",
                2,
                "`netra_backend.app.redis_manager` does not define `ping`"
            ),
        ]
    );
    let warmup = std::fs::read_to_string(dir.path().join("netra_backend/app/cache/warmup.py"))
        .expect("read");
    // `RedisCacheManager` would become `redis_manager`, which `from .. import redis_manager`
    // binds to the module: the object would be shadowed, so the name and its construction
    // stay for review; the other deprecated import is still rewritten.
    assert_eq!(
        warmup,
        "from .redis_cache_manager import RedisCacheManager\nfrom netra_backend.app import redis_manager as core_rm\n\
         from .. import redis_manager\n\n\ndef warm():\n    RedisCacheManager().warm()\n    core_rm.RedisManager()\n    \
         return redis_manager.redis_manager.get()\n"
    );
    let warmup_reviews: Vec<(usize, &str, &str)> = plan
        .needs_review
        .iter()
        .filter(|r| r.path == "netra_backend/app/cache/warmup.py")
        .map(|r| (r.line, r.kind.as_str(), r.reason.as_str()))
        .collect();
    let shadowed =
        "`redis_manager` already stands for `netra_backend.app.redis_manager` in this file";
    assert_eq!(
        warmup_reviews,
        vec![
            (
                1,
                "deprecated_import",
                "`RedisCacheManager` would become `redis_manager`, which the import at line 3 \
                 already binds to `netra_backend.app.redis_manager`"
            ),
            (7, "direct_instantiation", shadowed),
            (8, "direct_instantiation", shadowed),
        ]
    );
    let fixtures =
        std::fs::read_to_string(dir.path().join("test_framework/fixtures.py")).expect("read");
    assert_eq!(
        fixtures,
        "from netra_backend.app.redis_manager import get_redis_manager\n\n\ndef redis_fixture():\n    return get_redis_manager()\n"
    );
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
fn each_phase_gets_its_own_journal_entry_and_rollback_undoes_the_last_or_all() {
    let dir = copy_fixture("seeds");
    let before = snapshot(dir.path());
    let journal_dir = dir.path().join("journal");
    let (target, imports) = plan_kinds(dir.path(), &[Kind::DeprecatedImport]);
    let first = journal::apply(&imports, &target.root, &journal_dir).expect("phase 1");
    let after_imports = snapshot(dir.path());
    let (target, constructions) = plan_kinds(dir.path(), &[Kind::DirectInstantiation]);
    let second = journal::apply(&constructions, &target.root, &journal_dir).expect("phase 2");
    assert_eq!(first, journal_dir.join("0001"));
    assert_eq!(second, journal_dir.join("0002"));

    let last = journal::rollback(&journal_dir, Which::Last).expect("rollback --last");
    assert_eq!(last.entries, vec!["0002".to_owned()]);
    assert_eq!(last.restored.len(), constructions.files.len());
    assert_eq!(snapshot(dir.path()), after_imports);

    let (target, constructions) = plan_kinds(dir.path(), &[Kind::DirectInstantiation]);
    journal::apply(&constructions, &target.root, &journal_dir).expect("phase 2 again");
    let all = journal::rollback(&journal_dir, Which::All).expect("rollback --all");
    assert_eq!(all.entries, vec!["0002".to_owned(), "0001".to_owned()]);
    assert_eq!(all.refused, vec![]);
    assert!(!journal_dir.exists());
    assert_eq!(snapshot(dir.path()), before);
    let err = journal::rollback(&journal_dir, Which::Last).expect_err("nothing left");
    assert!(
        err.to_string()
            .ends_with("no fix journal here, so there is nothing to roll back")
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
fn imports_fix_cannot_rewrite_are_listed_as_needs_review() {
    let dir = copy_fixture("rust_ws");
    std::fs::write(
        dir.path().join("crates/app/src/nested.rs"),
        "use legacy_redis::{manager::Options, other::Thing};\n",
    )
    .expect("write");
    let (_, plan) = plan_for(dir.path());
    let review: Vec<(&str, usize, &str)> = plan
        .needs_review
        .iter()
        .filter(|r| r.kind == Kind::DeprecatedImport)
        .map(|r| (r.path.as_str(), r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        review,
        vec![(
            "crates/app/src/nested.rs",
            1,
            "fix rewrites a deprecated `use` only when the deprecated prefix is spelled in one \
             path, not across nested groups"
        )]
    );
    assert_eq!(
        plan.files
            .iter()
            .map(|f| f.relative.as_str())
            .collect::<Vec<_>>(),
        vec!["crates/app/src/main.rs"]
    );
}

#[test]
fn two_deprecated_modules_imported_by_one_statement_move_together() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    let write = |p: &str, t: &str| {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, t).expect("write");
    };
    write(
        "ssot.toml",
        "[[rule]]\nname = \"r\"\ndeprecated_imports = [\n  { module = \"pkg.old_a\", replacement = \"pkg.new\" },\n  \
         { module = \"pkg.old_b\", replacement = \"pkg.new\" },\n]\n",
    );
    write("pkg/__init__.py", "");
    write("pkg/new.py", "def f():\n    return 1\n");
    write("pkg/old_a.py", "def f():\n    return 1\n");
    write("pkg/old_b.py", "def f():\n    return 1\n");
    write("pkg/keep.py", "");
    write(
        "user.py",
        "from pkg import old_a, old_b, keep\n\nold_a.f()\nold_b.f()\n",
    );
    let (target, plan) = plan_for(root);
    assert_eq!(plan.skipped, vec![]);
    assert_eq!(plan.repaired(), 2);
    journal::apply(&plan, &target.root, &root.join("journal")).expect("fix applies");
    assert_eq!(
        std::fs::read_to_string(root.join("user.py")).expect("read"),
        "from pkg import keep\nfrom pkg import new as old_a\nfrom pkg import new as old_b\n\nold_a.f()\nold_b.f()\n"
    );
}
