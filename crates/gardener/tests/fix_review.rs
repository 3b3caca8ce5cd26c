//! `garden fix` on the forms a migrating team met: what it must leave for review, and the
//! bytes it must write. Each test builds a small project in a temporary folder.

use std::path::Path;

use gardener::python::defined::ModuleIndex;
use gardener::target::Target;
use gardener::{fix, journal, scan};

/// Writes `files` (path, text) under `root`.
fn tree(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

/// Plans the three phases for `root` with its own rules.
fn plan(root: &Path) -> (Target, fix::Plan) {
    let target = Target::load(&[root.to_path_buf()], None).expect("target");
    let report = scan::scan(&target.config, target.root.clone(), target.files.clone());
    let index = ModuleIndex::new(target.module_roots.clone());
    let plan = fix::plan(&target.config, &index, &report.files, &[]);
    (target, plan)
}

/// Plans and writes the fix (journaled under `root/journal`); returns the plan.
fn fix_all(root: &Path) -> fix::Plan {
    let (target, plan) = plan(root);
    journal::apply(&plan, &target.root, &root.join("journal")).expect("fix applies");
    plan
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).expect("read")
}

/// `(path, line, kind, reason)` of every review item.
fn reviews(plan: &fix::Plan) -> Vec<(String, usize, &'static str, String)> {
    plan.needs_review
        .iter()
        .map(|r| (r.path.clone(), r.line, r.kind.as_str(), r.reason.clone()))
        .collect()
}

const EDGE_RULES: &str = "[[rule]]\nname = \"mgr\"\nlanguage = \"python\"\ncanonical = \"pkg.redis_manager\"\n\
deprecated_imports = [\n  { module = \"pkg.auth.redis_manager\", replacement = \"pkg.redis_manager\", \
names = { AuthRedisManager = \"RedisManager\" } },\n]\nconstruct_with = \"redis_manager\"\n\
managed_types = [\"RedisManager\", \"AuthRedisManager\"]\n";

const CANONICAL: &str = "class RedisManager:\n    pass\n\n\nredis_manager = RedisManager()\n";

/// The edge project: `pkg.redis_manager` is canonical, `pkg.auth.redis_manager` deprecated.
fn edge(root: &Path, files: &[(&str, &str)]) {
    tree(
        root,
        &[
            ("ssot.toml", EDGE_RULES),
            ("pkg/__init__.py", ""),
            ("pkg/auth/__init__.py", ""),
            (
                "pkg/auth/redis_manager.py",
                "class AuthRedisManager:\n    pass\n\n\nCACHE_TTL = 5\n",
            ),
            ("pkg/svc/__init__.py", ""),
            ("pkg/redis_manager.py", CANONICAL),
        ],
    );
    tree(root, files);
}

#[test]
fn a_construction_is_left_for_review_when_the_name_to_import_is_already_bound() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    let bound = "from pkg.redis_manager import RedisManager\n\nredis_manager = \"something else\"\nx = RedisManager()\n";
    let param = "from pkg.redis_manager import RedisManager\n\n\ndef f(redis_manager=None):\n    return RedisManager()\n";
    let loop_target = "from pkg.redis_manager import RedisManager\n\nfor redis_manager in []:\n    pass\nx = RedisManager()\n";
    edge(
        root,
        &[
            ("pkg/svc/bound.py", bound),
            ("pkg/svc/param.py", param),
            ("pkg/svc/loop_target.py", loop_target),
        ],
    );
    let plan = fix_all(root);
    assert_eq!(plan.files.len(), 0);
    let why = |line: usize| {
        format!(
            "`redis_manager` is already bound at line {line} of this file, so writing \
             `redis_manager` here would not mean the shared manager"
        )
    };
    assert_eq!(
        reviews(&plan),
        vec![
            (
                "pkg/svc/bound.py".to_owned(),
                4,
                "direct_instantiation",
                why(3)
            ),
            (
                "pkg/svc/loop_target.py".to_owned(),
                5,
                "direct_instantiation",
                why(3)
            ),
            (
                "pkg/svc/param.py".to_owned(),
                5,
                "direct_instantiation",
                why(4)
            ),
        ]
    );
    assert_eq!(read(root, "pkg/svc/bound.py"), bound);
}

const NETRA_RULES: &str = "src = [\".\"]\n\n[[rule]]\nname = \"redis-manager\"\nlanguage = \"python\"\n\
canonical = \"netra_backend.app.redis_manager\"\ndeprecated_imports = [\n  \
{ module = \"netra_backend.app.cache.redis_cache_manager\", replacement = \"netra_backend.app.redis_manager\", \
names = { RedisCacheManager = \"redis_manager\", default_redis_cache_manager = \"redis_manager\" } },\n]\n\
deprecated_names = [\n  { module = \"netra_backend.app.redis_manager\", name = \"auth_redis_manager\", \
replacement = \"redis_manager\" },\n]\nconstruct_with = \"redis_manager\"\n\
managed_types = [\"RedisManager\", \"RedisCacheManager\"]\n";

const NETRA_CANONICAL: &str = "\"\"\"The one Redis manager.\"\"\"\nCACHE_TTL = 300\n\n\nclass RedisManager:\n    \
pass\n\n\nredis_manager = RedisManager()\nauth_redis_manager = redis_manager  # compatibility alias\n\n\n\
def get_redis_manager() -> RedisManager:\n    return redis_manager\n";

const LEGACY_CACHE: &str = "\"\"\"Legacy cache manager (deprecated).\"\"\"\n\n\nclass RedisCacheManager:\n    \
pass\n\n\ndefault_redis_cache_manager = RedisCacheManager()\n";

/// The netra project of the review: a FastAPI backend with a legacy cache manager.
fn netra(root: &Path, files: &[(&str, &str)]) {
    tree(
        root,
        &[
            ("ssot.toml", NETRA_RULES),
            ("netra_backend/__init__.py", ""),
            ("netra_backend/app/__init__.py", ""),
            ("netra_backend/app/redis_manager.py", NETRA_CANONICAL),
            ("netra_backend/app/cache/__init__.py", ""),
            (
                "netra_backend/app/cache/redis_cache_manager.py",
                LEGACY_CACHE,
            ),
            ("netra_backend/app/routes/__init__.py", ""),
        ],
    );
    tree(root, files);
}

#[test]
fn constructions_of_a_class_the_file_also_uses_in_isinstance_or_annotations_are_left() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    let users = "from fastapi import APIRouter, Depends\n\n\
from ..cache.redis_cache_manager import RedisCacheManager, default_redis_cache_manager\n\n\
router = APIRouter()\ncache = RedisCacheManager()\n\n\n\
def get_cache() -> RedisCacheManager:\n    return default_redis_cache_manager\n\n\n\
async def check(uid: str):\n    if isinstance(cache, RedisCacheManager):\n        return {\"ok\": True}\n    \
return {\"ok\": False}\n";
    let subclass = "from netra_backend.app.cache import redis_cache_manager as rcm\n\n\n\
class Worker:\n    def __init__(self):\n        self.cache = rcm.RedisCacheManager()\n\n\n\
class MyCache(rcm.RedisCacheManager):\n    pass\n";
    netra(
        root,
        &[
            ("netra_backend/app/routes/users.py", users),
            ("netra_backend/app/routes/worker.py", subclass),
        ],
    );
    let plan = fix_all(root);
    // Lines are those after the fix: the moved object's import adds one to users.py.
    let users_reviews: Vec<_> = reviews(&plan)
        .into_iter()
        .filter(|r| r.0.starts_with("netra_backend/app/routes/"))
        .collect();
    assert_eq!(
        users_reviews,
        vec![
            (
                "netra_backend/app/routes/users.py".to_owned(),
                3,
                "deprecated_import",
                "`RedisCacheManager` at line 10 is used other than as a zero-argument call, which \
                 fix does not rewrite"
                    .to_owned()
            ),
            (
                "netra_backend/app/routes/users.py".to_owned(),
                7,
                "direct_instantiation",
                "`RedisCacheManager` is also used other than as a call at line 10 (an annotation, \
                 `isinstance` or subclass would no longer match the shared manager), so fix \
                 leaves its constructions too"
                    .to_owned()
            ),
            (
                "netra_backend/app/routes/worker.py".to_owned(),
                1,
                "deprecated_import",
                "`rcm.RedisCacheManager` at line 9 is used other than as a zero-argument call, \
                 which fix does not rewrite"
                    .to_owned()
            ),
            (
                "netra_backend/app/routes/worker.py".to_owned(),
                6,
                "direct_instantiation",
                "`rcm.RedisCacheManager` is also used other than as a call at line 9 (an \
                 annotation, `isinstance` or subclass would no longer match the shared manager), \
                 so fix leaves its constructions too"
                    .to_owned()
            ),
        ]
    );
    // The object moves; the class and its construction stay, so `isinstance` stays true.
    assert_eq!(
        read(root, "netra_backend/app/routes/users.py"),
        users
            .replace(
                "RedisCacheManager, default_redis_cache_manager\n",
                "RedisCacheManager\nfrom netra_backend.app.redis_manager import redis_manager\n"
            )
            .replace("return default_redis_cache_manager", "return redis_manager")
    );
    assert_eq!(read(root, "netra_backend/app/routes/worker.py"), subclass);
}

#[test]
fn a_local_name_that_is_not_an_imported_manager_class_is_neither_reported_nor_rewritten() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    let local = "def shadow():\n    RedisManager = dict\n    return RedisManager()\n\n\n\
def unknown():\n    return AuthRedisManager()\n";
    let own_class = "class RedisManager:\n    pass\n\n\nlegacy = RedisManager()\n";
    edge(
        root,
        &[
            ("pkg/svc/local.py", local),
            ("pkg/svc/own_class.py", own_class),
        ],
    );
    let target = Target::load(&[root.to_path_buf()], None).expect("target");
    let report = scan::scan(&target.config, target.root.clone(), target.files.clone());
    let found: Vec<(String, usize, &str)> = report
        .violations()
        .map(|v| (v.path.clone(), v.line, v.kind.as_str()))
        .collect();
    // A class the file defines is still its own managed type; a local `dict` is not.
    assert_eq!(
        found,
        vec![("pkg/svc/own_class.py".to_owned(), 5, "direct_instantiation")]
    );
    let plan = fix_all(root);
    let fixed: Vec<&str> = plan.files.iter().map(|f| f.relative.as_str()).collect();
    assert_eq!(fixed, vec!["pkg/svc/own_class.py"]);
    assert_eq!(read(root, "pkg/svc/local.py"), local);
}

#[test]
fn lines_inserted_into_a_crlf_file_end_in_crlf() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    edge(
        root,
        &[
            (
                "pkg/svc/tabs.py",
                "def f():\r\n\tif True:\r\n\t\tfrom pkg.auth.redis_manager import AuthRedisManager, CACHE_TTL\r\n\
                 \t\treturn AuthRedisManager, CACHE_TTL\r\n",
            ),
            (
                "pkg/svc/crlf.py",
                "from pkg.redis_manager import RedisManager\r\n\r\nx = RedisManager()\r\n",
            ),
        ],
    );
    fix_all(root);
    assert_eq!(
        read(root, "pkg/svc/tabs.py"),
        "def f():\r\n\tif True:\r\n\t\tfrom pkg.auth.redis_manager import CACHE_TTL\r\n\
         \t\tfrom pkg.redis_manager import RedisManager\r\n\t\treturn RedisManager, CACHE_TTL\r\n"
    );
    assert_eq!(
        read(root, "pkg/svc/crlf.py"),
        "from pkg.redis_manager import RedisManager\r\nfrom pkg.redis_manager import redis_manager\r\n\
         \r\nx = redis_manager\r\n"
    );
}

#[test]
fn an_import_the_canonical_module_would_import_back_is_left_as_a_circular_import() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    let canonical = "from typing import TYPE_CHECKING\n\nfrom .core import config\nimport pkg.svc.direct\n\n\
if TYPE_CHECKING:\n    from pkg.svc import typed\n\n\nclass RedisManager:\n    pass\n\n\n\
redis_manager = RedisManager()\n";
    let settings = "from pkg.auth.redis_manager import AuthRedisManager\n\nSETTINGS = {}\n_warm = AuthRedisManager()\n";
    let direct = "from pkg.redis_manager import RedisManager\n\nx = RedisManager()\n";
    let typed = "from pkg.redis_manager import RedisManager\n\nx = RedisManager()\n";
    edge(
        root,
        &[
            ("pkg/redis_manager.py", canonical),
            ("pkg/core/__init__.py", ""),
            ("pkg/core/config.py", "from .settings import SETTINGS\n"),
            ("pkg/core/settings.py", settings),
            ("pkg/svc/direct.py", direct),
            ("pkg/svc/typed.py", typed),
        ],
    );
    let plan = fix_all(root);
    let two_steps = "importing `pkg.redis_manager` here would make a circular import \
        (`pkg.redis_manager` imports `pkg.core.config`, which imports `pkg.core.settings`, which \
        is this file), so the app could not be imported; fix leaves it";
    let one_step = "importing `pkg.redis_manager` here would make a circular import \
        (`pkg.redis_manager` imports `pkg.svc.direct`, which is this file), so the app could not \
        be imported; fix leaves it";
    assert_eq!(
        reviews(&plan),
        vec![
            (
                "pkg/core/settings.py".to_owned(),
                1,
                "deprecated_import",
                two_steps.to_owned()
            ),
            (
                "pkg/core/settings.py".to_owned(),
                4,
                "direct_instantiation",
                two_steps.to_owned()
            ),
            (
                "pkg/svc/direct.py".to_owned(),
                3,
                "direct_instantiation",
                one_step.to_owned()
            ),
        ]
    );
    assert_eq!(read(root, "pkg/core/settings.py"), settings);
    assert_eq!(read(root, "pkg/svc/direct.py"), direct);
    // An import under `if TYPE_CHECKING:` never runs, so it makes no cycle.
    assert_eq!(
        read(root, "pkg/svc/typed.py"),
        "from pkg.redis_manager import RedisManager\nfrom pkg.redis_manager import redis_manager\n\nx = redis_manager\n"
    );
}

#[test]
fn a_re_exported_class_is_not_mapped_to_an_object_and_a_renamed_class_keeps_its_exported_name() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    let init =
        "from .cache.redis_cache_manager import RedisCacheManager as LegacyCache  # re-export\n";
    let listed = "from netra_backend.app.cache.redis_cache_manager import RedisCacheManager\n\n\
__all__ = [\"RedisCacheManager\"]\n";
    netra(
        root,
        &[
            ("netra_backend/app/__init__.py", init),
            ("netra_backend/app/routes/listed.py", listed),
        ],
    );
    let plan = fix_all(root);
    assert_eq!(
        reviews(&plan),
        vec![
            (
                "netra_backend/app/__init__.py".to_owned(),
                1,
                "deprecated_import",
                "`LegacyCache` is re-exported (imported by the package's `__init__.py`), so code \
                 elsewhere may call or subclass it; mapping it to `redis_manager` needs a hand edit"
                    .to_owned()
            ),
            (
                "netra_backend/app/routes/listed.py".to_owned(),
                1,
                "deprecated_import",
                "`RedisCacheManager` is re-exported (listed in `__all__`), so code elsewhere may \
                 call or subclass it; mapping it to `redis_manager` needs a hand edit"
                    .to_owned()
            ),
        ]
    );
    assert_eq!(read(root, "netra_backend/app/__init__.py"), init);

    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    edge(
        root,
        &[(
            "pkg/svc/__init__.py",
            "from pkg.auth.redis_manager import AuthRedisManager\n",
        )],
    );
    fix_all(root);
    // A class mapped to a class: the package still exports `AuthRedisManager`.
    assert_eq!(
        read(root, "pkg/svc/__init__.py"),
        "from pkg.redis_manager import RedisManager as AuthRedisManager\n"
    );
}

#[test]
fn an_import_line_two_phases_both_write_is_written_once() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    let users = "import os\nimport os\n\nfrom ..cache.redis_cache_manager import default_redis_cache_manager, RedisCacheManager\n\
from netra_backend.app.redis_manager import auth_redis_manager\n\n\n\
def get_cache():\n    return default_redis_cache_manager\n\n\n\
async def get_user(uid: str):\n    await auth_redis_manager.set(uid, 1)\n";
    netra(root, &[("netra_backend/app/routes/users.py", users)]);
    let plan = fix_all(root);
    assert_eq!(plan.needs_review.len(), 0);
    // The file's own repeated `import os` is not the fix's to tidy.
    assert_eq!(
        read(root, "netra_backend/app/routes/users.py"),
        "import os\nimport os\n\nfrom netra_backend.app.redis_manager import redis_manager\n\n\n\
def get_cache():\n    return redis_manager\n\n\n\
async def get_user(uid: str):\n    await redis_manager.set(uid, 1)\n"
    );
}

#[test]
fn rollback_treats_a_file_already_restored_by_hand_as_restored() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    let direct = "from pkg.redis_manager import RedisManager\n\nx = RedisManager()\n";
    edge(root, &[("pkg/svc/direct.py", direct)]);
    fix_all(root);
    assert_ne!(read(root, "pkg/svc/direct.py"), direct);
    std::fs::write(root.join("pkg/svc/direct.py"), direct).expect("restore by hand");
    let outcome = journal::rollback(&root.join("journal"), journal::Which::Last).expect("rollback");
    assert_eq!(
        outcome.already_restored,
        vec!["pkg/svc/direct.py".to_owned()]
    );
    assert_eq!(outcome.restored, Vec::<String>::new());
    assert_eq!(outcome.refused, vec![]);
    assert!(!root.join("journal").exists());
    assert_eq!(read(root, "pkg/svc/direct.py"), direct);
}

#[test]
fn a_zero_argument_call_through_a_plain_dotted_import_is_rewritten_whole() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    netra(
        root,
        &[(
            "user.py",
            "import netra_backend.app.cache.redis_cache_manager\n\n\
x = netra_backend.app.cache.redis_cache_manager.RedisCacheManager()\n\
y = netra_backend.app.cache.redis_cache_manager.default_redis_cache_manager\n",
        )],
    );
    let plan = fix_all(root);
    assert_eq!(plan.skipped, vec![]);
    assert_eq!(
        read(root, "user.py"),
        "import netra_backend.app.redis_manager\n\n\
x = netra_backend.app.redis_manager.redis_manager\n\
y = netra_backend.app.redis_manager.redis_manager\n"
    );
}

#[test]
fn a_comment_on_a_moved_name_of_a_parenthesised_import_moves_with_it() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    edge(
        root,
        &[
            (
                "pkg/svc/tabs.py",
                "def g():\r\n\tfrom pkg.auth.redis_manager import (\r\n\t\tAuthRedisManager as A,  # keep\r\n\
                 \t\tCACHE_TTL as T,\r\n\t)\r\n\treturn A, T\r\n",
            ),
            (
                "pkg/svc/all_moved.py",
                "from pkg.auth.redis_manager import (\n    AuthRedisManager,  # the old one\n)\n\n\
                 x = AuthRedisManager\n",
            ),
        ],
    );
    fix_all(root);
    assert_eq!(
        read(root, "pkg/svc/tabs.py"),
        "def g():\r\n\tfrom pkg.auth.redis_manager import (\r\n\t\tCACHE_TTL as T,\r\n\t)\r\n\
         \tfrom pkg.redis_manager import RedisManager as A  # keep\r\n\treturn A, T\r\n"
    );
    // Every name moved: the statement keeps its parentheses, and so its comment, in place.
    assert_eq!(
        read(root, "pkg/svc/all_moved.py"),
        "from pkg.redis_manager import (\n    RedisManager,  # the old one\n)\n\nx = RedisManager\n"
    );
}

#[test]
fn a_mapping_into_a_name_another_import_binds_is_left_for_review() {
    let dir = tempfile::tempdir().expect("temp");
    let root = dir.path();
    let from_other = "from pkg.auth.redis_manager import AuthRedisManager\nfrom pkg.other import RedisManager\n\n\n\
def f(a: AuthRedisManager, b: RedisManager):\n    pass\n";
    let module_alias = "import pkg.other as RedisManager\nfrom pkg.auth.redis_manager import AuthRedisManager\n\n\n\
def f(a: AuthRedisManager):\n    return RedisManager\n";
    let same_object = "from pkg.auth.redis_manager import AuthRedisManager\nfrom pkg.redis_manager import RedisManager\n\n\n\
def f(a: AuthRedisManager, b: RedisManager):\n    pass\n";
    edge(
        root,
        &[
            ("pkg/other.py", "class RedisManager:\n    pass\n"),
            ("pkg/svc/from_other.py", from_other),
            ("pkg/svc/module_alias.py", module_alias),
            ("pkg/svc/same_object.py", same_object),
        ],
    );
    let plan = fix_all(root);
    assert_eq!(
        reviews(&plan),
        vec![
            (
                "pkg/svc/from_other.py".to_owned(),
                1,
                "deprecated_import",
                "`AuthRedisManager` would become `RedisManager`, which the import at line 2 \
                 already binds to `pkg.other.RedisManager`"
                    .to_owned()
            ),
            (
                "pkg/svc/module_alias.py".to_owned(),
                2,
                "deprecated_import",
                "`AuthRedisManager` would become `RedisManager`, which the import at line 1 \
                 already binds to `pkg.other`"
                    .to_owned()
            ),
        ]
    );
    assert_eq!(read(root, "pkg/svc/from_other.py"), from_other);
    assert_eq!(read(root, "pkg/svc/module_alias.py"), module_alias);
    assert_eq!(
        read(root, "pkg/svc/same_object.py"),
        "from pkg.redis_manager import RedisManager\n\n\n\
def f(a: RedisManager, b: RedisManager):\n    pass\n"
    );
}
