//! The seeds' forms across the three phases of the migration: after each `fix`, every file
//! parses, every import of the canonical module names something it defines, and Python
//! itself imports every module; rollback restores every byte.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{copy_fixture, scan_dir};
use gardener::journal::Which;
use gardener::python::defined::{Defined, ModuleIndex};
use gardener::target::Target;
use gardener::{Kind, fix, journal, scan};

const CANONICAL: &str = "netra_backend.app.redis_manager";

fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                files.insert(
                    rel.display().to_string(),
                    std::fs::read(&path).expect("read"),
                );
            }
        }
    }
    files
}

fn python_files(root: &Path) -> Vec<String> {
    snapshot(root)
        .into_keys()
        .filter(|p| p.ends_with(".py") && !p.starts_with("stubs/"))
        .collect()
}

/// Runs one phase; returns (resolved, needs_review reasons as `path:line: reason`).
fn phase(root: &Path, kind: Kind) -> (usize, Vec<String>) {
    let target = Target::load(&[root.to_path_buf()], None).expect("target");
    let report = scan::scan(&target.config, target.root.clone(), target.files.clone());
    let index = ModuleIndex::new(target.module_roots.clone());
    let plan = fix::plan(&target.config, &index, &report.files, &[kind]);
    assert_eq!(plan.skipped, vec![], "{kind:?}");
    journal::apply(&plan, &target.root, &root.join(".ssot/journal")).expect("fix applies");
    let reviews = plan
        .needs_review
        .iter()
        .map(|r| format!("{}:{}: {}", r.path, r.line, r.reason))
        .collect();
    (plan.repaired(), reviews)
}

/// Every `from netra_backend.app.redis_manager import X` in the tree names a defined X.
fn canonical_imports_are_defined(root: &Path) {
    let canonical = std::fs::read_to_string(root.join("netra_backend/app/redis_manager.py"))
        .expect("canonical module");
    let defined = Defined::parse(&canonical);
    for file in python_files(root) {
        let text = std::fs::read_to_string(root.join(&file)).expect("read");
        let parsed = gardener::python::parse(&text);
        assert_eq!(gardener::python::syntax_errors(&parsed), vec![], "{file}");
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(&format!("from {CANONICAL} import ")) else {
                continue;
            };
            for name in rest.split(',') {
                let name = name.split(" as ").next().unwrap_or("").trim();
                assert!(defined.get(name).is_some(), "{file}: imports {name}");
            }
        }
    }
}

/// Python imports every module of the tree (with `stubs/` for pytest) without an error.
fn python_imports_every_module(root: &Path) {
    let modules: Vec<String> = python_files(root)
        .iter()
        .map(|f| {
            f.trim_end_matches(".py")
                .trim_end_matches("/__init__")
                .replace('/', ".")
        })
        .collect();
    let script = format!(
        "import importlib, sys\nsys.path[:0] = [{root:?}, {stubs:?}]\nfailed = []\n\
         for name in {modules:?}:\n    try:\n        importlib.import_module(name)\n    \
         except Exception as e:\n        failed.append(f'{{name}}: {{type(e).__name__}}: {{e}}')\n\
         print('\\n'.join(failed))\nsys.exit(1 if failed else 0)\n",
        root = root.display().to_string(),
        stubs = root.join("stubs").display().to_string(),
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn seeds_forms_scan_with_exact_counts() {
    let summary = scan_dir(&common::fixture("seeds")).summary();
    assert_eq!(summary.by_kind["deprecated_import"], 7);
    assert_eq!(summary.by_kind["deprecated_name"], 2);
    assert_eq!(summary.by_kind["direct_instantiation"], 11);
    assert_eq!(summary.by_kind["competing_implementation"], 3);
    assert_eq!(summary.violations, 23);
    assert_eq!(summary.parse_errors, 0);
}

#[test]
fn three_phases_fix_what_is_safe_keep_every_module_importable_and_roll_back_exactly() {
    let dir = copy_fixture("seeds");
    let root = dir.path();
    let before = snapshot(root);
    python_imports_every_module(root);

    let (imports, import_reviews) = phase(root, Kind::DeprecatedImport);
    assert_eq!(imports, 5);
    assert_eq!(
        import_reviews,
        vec![
            "netra_backend/app/services/legacy_errors.py:1: `netra_backend.app.redis_manager` \
             does not define `RedisConnectionError`; map it with `names = { RedisConnectionError \
             = \"...\" }` or edit by hand"
                .to_owned(),
            "netra_backend/app/services/multi_line.py:1: `netra_backend.app.redis_manager` does \
             not define `CACHE_TTL`; map it with `names = { CACHE_TTL = \"...\" }` or edit by hand"
                .to_owned(),
        ]
    );
    canonical_imports_are_defined(root);
    python_imports_every_module(root);
    // The mapped classes' zero-argument calls went with their imports.
    assert_eq!(scan_dir(root).summary().by_kind["direct_instantiation"], 7);

    let (names, name_reviews) = phase(root, Kind::DeprecatedName);
    assert_eq!((names, name_reviews), (2, vec![]));
    canonical_imports_are_defined(root);
    python_imports_every_module(root);

    let (constructions, construction_reviews) = phase(root, Kind::DirectInstantiation);
    assert_eq!(constructions, 6);
    assert_eq!(
        construction_reviews,
        vec![
            "netra_backend/app/services/configured.py:4: `RedisManager(..)` passes arguments; \
             `redis_manager` takes none, so this needs a hand edit"
                .to_owned()
        ]
    );
    canonical_imports_are_defined(root);
    python_imports_every_module(root);

    let after = scan_dir(root).summary();
    assert_eq!(after.by_kind["deprecated_import"], 2);
    assert_eq!(after.by_kind["deprecated_name"], 0);
    assert_eq!(after.by_kind["direct_instantiation"], 1);
    assert_eq!(
        std::fs::read_to_string(root.join("netra_backend/app/services/session_service.py"))
            .expect("read"),
        "\"\"\"Session service: construction in __init__ and in a function.\"\"\"\nimport logging\n\n\
         from netra_backend.app.redis_manager import RedisManager\n\
         from netra_backend.app.redis_manager import redis_manager\n\n\
         logger = logging.getLogger(__name__)\n\n\nclass SessionService:\n    def __init__(self):\n        \
         self.redis = redis_manager\n\n\ndef build_session_store():\n    manager = redis_manager\n    \
         return manager\n"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("test_framework/conftest.py")).expect("read"),
        "\"\"\"Test fixtures, as the seeds wrote them.\"\"\"\nimport pytest\n\n\
         from netra_backend.app.redis_manager import RedisManager\n\
         from netra_backend.app.redis_manager import get_redis_manager\n\
         from netra_backend.app.redis_manager import redis_manager\n\n\n@pytest.fixture\n\
         def redis_test_manager():\n    return get_redis_manager()\n\n\n@pytest.fixture\n\
         def manager():\n    return redis_manager\n"
    );

    let outcome = journal::rollback(&root.join(".ssot/journal"), Which::All).expect("rollback");
    assert_eq!(outcome.entries, vec!["0003", "0002", "0001"]);
    assert_eq!(outcome.refused, vec![]);
    assert_eq!(snapshot(root), before);
}
