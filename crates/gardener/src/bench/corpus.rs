//! Synthetic corpora of typical backend Python files, modelled on the original system.
//!
//! Files look like service code: a module docstring, a block of imports, a logger, one or two
//! dataclasses with documented async methods, and helper functions. Two shapes:
//!
//! * **pre-migration** (about 70 lines and 3.5 KB a file): as in the original system before
//!   its migration, most files never touch Redis: 6% import the shared manager, 2% mention it
//!   in a docstring, 3% import a deprecated module (plain, aliased, relative or multi-line
//!   form) and 2% construct a manager directly;
//! * **post-migration** (about 150 lines a file): every file imports the canonical manager
//!   and uses it, as after the migration; 1% still import a deprecated module and 1% still
//!   construct a manager. Here a literal prefilter lets every file through, so this is the
//!   shape that measures the parser.
//!
//! `lines` pads each file with helpers to about that many lines (the 500 MB tree uses it).
//! Generation is deterministic (a fixed-seed generator) so runs are comparable.

use std::fmt::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// The rules written next to the corpus (the original system's rules).
pub const RULES: &str = include_str!("../../tests/fixtures/netra/ssot.toml");

/// The ruff configuration with the equivalent ban (flake8-tidy-imports banned-api, TID251).
pub const RUFF_CONFIG: &str = r#"# ruff's closest equivalent of the gardener's deprecated_import rule.
[lint]
select = ["TID251"]

[lint.flake8-tidy-imports.banned-api]
"auth_service.auth_core.redis_manager".msg = "use netra_backend.app.redis_manager"
"netra_backend.app.cache.redis_cache_manager".msg = "use netra_backend.app.redis_manager"
"netra_backend.app.managers.redis_manager".msg = "use netra_backend.app.redis_manager"
"netra_backend.app.redis_manager.auth_redis_manager".msg = "use netra_backend.app.redis_manager.redis_manager"
"netra_backend.app.db.redis_manager".msg = "use netra_backend.app.redis_manager"
"netra_backend.app.core.redis_manager".msg = "use netra_backend.app.redis_manager"
"test_framework.redis_test_utils.test_redis_manager".msg = "use netra_backend.app.redis_manager"
"analytics_service.analytics_core.database.redis_manager".msg = "use netra_backend.app.redis_manager"
"#;

/// A small deterministic generator (SplitMix64), enough for picking templates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const IMPORTS: [&str; 12] = [
    "import asyncio",
    "import json",
    "import logging",
    "import os",
    "from dataclasses import dataclass, field",
    "from datetime import datetime, timezone",
    "from typing import Any, Dict, List, Optional",
    "from netra_backend.app.core.config import settings",
    "from netra_backend.app.db.session import get_session",
    "from netra_backend.app.schemas import UserContext",
    "from netra_backend.app.services.metrics import record_latency",
    "from netra_backend.app.services.audit import audit_event",
];

const DEPRECATED: [&str; 6] = [
    "from netra_backend.app.managers.redis_manager import RedisManager",
    "import auth_service.auth_core.redis_manager as auth_redis",
    "from ..cache.redis_cache_manager import RedisCacheManager",
    "from netra_backend.app.db import (\n    redis_manager as db_redis,\n    session,\n)",
    "from netra_backend.app.core import redis_manager",
    "from test_framework.redis_test_utils.test_redis_manager import RedisTestManager",
];

/// The two corpus shapes (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// Few files mention Redis: the prefilter skips most of them.
    PreMigration,
    /// Every file imports the canonical manager.
    #[default]
    PostMigration,
}

impl Shape {
    /// The lines a file has when `lines` is not given.
    pub fn default_lines(self) -> usize {
        match self {
            Shape::PreMigration => 70,
            Shape::PostMigration => 150,
        }
    }
}

/// Writes `files` Python files of `shape`, about `lines` lines each (plus `ssot.toml` and
/// `ruff.toml`), under `dir`; returns the total number of bytes written.
pub fn generate(dir: &Path, files: usize, shape: Shape, lines: usize) -> Result<u64> {
    let mut rng = Rng(0x5EED_CAFE);
    let mut bytes = 0u64;
    let write =
        |path: &Path, text: &str| std::fs::write(path, text).map_err(|e| Error::io(path, e));
    write(&dir.join("ssot.toml"), RULES)?;
    write(&dir.join("ruff.toml"), RUFF_CONFIG)?;
    let per_package = 100;
    for i in 0..files {
        let package = dir.join(format!("netra_backend/app/svc_{:03}", i / per_package));
        if i % per_package == 0 {
            std::fs::create_dir_all(&package).map_err(|e| Error::io(&package, e))?;
            write(&package.join("__init__.py"), "")?;
        }
        let text = module(&mut rng, i, shape, lines);
        bytes += text.len() as u64;
        write(&package.join(format!("module_{i:05}.py")), &text)?;
    }
    Ok(bytes)
}

fn module(rng: &mut Rng, index: usize, shape: Shape, lines: usize) -> String {
    let mut s = String::with_capacity(lines * 48);
    // What this file does with Redis: before the migration most service files never touch
    // it; after it every file takes the shared manager.
    let role = match shape {
        Shape::PreMigration => rng.below(100),
        Shape::PostMigration => match rng.below(100) {
            0 => 8,  // a deprecated import left
            1 => 11, // a direct construction left
            _ => 2,  // the shared manager
        },
    };
    let _ = writeln!(
        s,
        "\"\"\"Service module {index}: request handling for feature {}.",
        rng.below(500)
    );
    if role < 2 {
        let _ = writeln!(
            s,
            "\nUses the shared RedisManager from netra_backend.app.redis_manager; never RedisManager()."
        );
    }
    let _ = writeln!(s, "\"\"\"");
    let mut picked: Vec<&str> = (0..4 + rng.below(6))
        .map(|_| IMPORTS[rng.below(IMPORTS.len())])
        .collect();
    picked.sort_unstable();
    picked.dedup();
    for line in picked {
        let _ = writeln!(s, "{line}");
    }
    if (2..8).contains(&role) || shape == Shape::PostMigration {
        let _ = writeln!(
            s,
            "from netra_backend.app.redis_manager import redis_manager"
        );
    }
    if (8..11).contains(&role) {
        let _ = writeln!(s, "{}", DEPRECATED[rng.below(DEPRECATED.len())]);
    }
    let _ = writeln!(
        s,
        "\nlogger = logging.getLogger(__name__)\nDEFAULT_TTL = {}\n",
        60 * (1 + rng.below(60))
    );
    for c in 0..1 + rng.below(2) {
        let _ = writeln!(
            s,
            "\n@dataclass\nclass Handler{index}x{c}:\n    \"\"\"Handles one kind of request.\"\"\"\n"
        );
        let _ = writeln!(
            s,
            "    name: str = \"handler-{c}\"\n    retries: int = {}\n    tags: List[str] = field(default_factory=list)\n",
            rng.below(5)
        );
        for m in 0..2 + rng.below(3) {
            let _ = writeln!(
                s,
                "    async def handle_{m}(self, ctx: \"UserContext\", payload: Dict[str, Any]) -> Optional[dict]:\n        \
                 \"\"\"Handle step {m}; returns None when the key is missing.\"\"\"\n        \
                 key = f\"{{ctx.user_id}}:{{self.name}}:{m}\"\n        \
                 try:\n            \
                 value = await get_session().get(key)\n        \
                 except KeyError as exc:  # the cache is optional\n            \
                 logger.warning(\"cache miss for %s: %s\", key, exc)\n            \
                 value = None\n        \
                 result = {{k: v for k, v in payload.items() if not k.startswith(\"_\")}}\n        \
                 return json.loads(value) if value else result\n"
            );
        }
    }
    if shape == Shape::PostMigration {
        let _ = writeln!(
            s,
            "\nasync def cached_{index}(key: str) -> Optional[str]:\n    \
             \"\"\"Read through the shared manager.\"\"\"\n    \
             return await redis_manager.get(key)\n"
        );
    }
    if (11..13).contains(&role) {
        let _ = writeln!(
            s,
            "\ndef legacy_manager():\n    from netra_backend.app.redis_manager import RedisManager\n\n    return RedisManager()\n"
        );
    }
    let helpers = 1 + rng.below(3);
    let mut f = 0;
    let mut count = s.lines().count();
    // Each helper is six lines.
    while f < helpers || count + 6 <= lines {
        count += 6;
        let _ = writeln!(
            s,
            "\ndef helper_{f}(items: List[dict], limit: int = {}) -> List[dict]:\n    \
             \"\"\"Return at most `limit` items, newest first.\"\"\"\n    \
             ordered = sorted(items, key=lambda item: item.get(\"created_at\", 0), reverse=True)\n    \
             return ordered[:limit]\n",
            10 + rng.below(90)
        );
        f += 1;
    }
    s
}
