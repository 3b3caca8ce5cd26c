#!/usr/bin/env bash
# The gardener where Python teams work, end to end (run by `make test-garden-python`):
#  1. the wheel from `make wheel`, installed into a fresh virtualenv, gives `redis-ssot-garden`,
#     which finds the fixture corpus's violations and syntax errors with the exact counts;
#  2. `pre-commit try-repo` installs this repository as the hook of .pre-commit-hooks.yaml
#     (pip builds the wheel from the root pyproject.toml) and runs it on a git repository:
#     it fails on the seeds' forms and passes on a clean tree.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
venv_tools=${GARDEN_VENV:-.venv-garden}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "test-garden-python: $*" >&2; exit 1; }

wheel=$(ls -t target/wheels/redis_ssot_garden-*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || fail "no wheel in target/wheels; run make wheel"

echo "== wheel: $wheel into a fresh virtualenv"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --no-index "$wheel"
garden="$work/venv/bin/redis-ssot-garden"
[ -x "$garden" ] || fail "the wheel installed no redis-ssot-garden command"
"$garden" --version

set +e
"$garden" scan --no-progress --format json crates/gardener/tests/fixtures/netra > "$work/scan.json"
code=$?
set -e
[ "$code" = 1 ] || fail "scan of the fixture corpus exited $code, expected 1"
"$work/venv/bin/python" - "$work/scan.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))["summary"]
want = {"files": 23, "violations": 30, "parse_errors": 4}
got = {k: summary[k] for k in want}
assert got == want, f"wheel scan: {got} != {want}"
print(f"wheel scan: {got}")
PY

echo "== pre-commit try-repo (the hook builds the wheel from this repository)"
export PRE_COMMIT_HOME="$repo/target/pre-commit-home"
# pip builds the hook's wheel in a fresh clone; sharing target/ reuses the compiled dependencies.
export CARGO_TARGET_DIR="$repo/target"
precommit="$venv_tools/bin/pre-commit"
[ -x "$precommit" ] || fail "$precommit missing; run make garden-venv"
git_repo() {
  git -C "$1" init -q
  git -C "$1" -c user.email=ci@example.invalid -c user.name=ci add -A
  git -C "$1" -c user.email=ci@example.invalid -c user.name=ci commit -qm fixture
}
mkdir "$work/dirty" "$work/clean"
cp -r crates/gardener/tests/fixtures/seeds/. "$work/dirty/"
git_repo "$work/dirty"
set +e
(cd "$work/dirty" && "$repo/$precommit" try-repo "$repo" ssot-garden --all-files) > "$work/dirty.log" 2>&1
code=$?
set -e
[ "$code" = 1 ] || { cat "$work/dirty.log"; fail "the hook exited $code on the seeds' forms, expected 1"; }
grep -q "test_framework/conftest.py:5:6: deprecated_import" "$work/dirty.log" \
  || { cat "$work/dirty.log"; fail "the hook did not report the seeds' deprecated import"; }
grep -q "23 violation(s) in 21 file(s) scanned" "$work/dirty.log" \
  || { cat "$work/dirty.log"; fail "the hook's counts differ from a scan of the tree"; }
cp crates/gardener/tests/fixtures/seeds/ssot.toml "$work/clean/"
printf 'from netra_backend.app.redis_manager import redis_manager\n\n\ndef get():\n    return redis_manager\n' > "$work/clean/service.py"
git_repo "$work/clean"
(cd "$work/clean" && "$repo/$precommit" try-repo "$repo" ssot-garden --all-files) > "$work/clean.log" 2>&1 \
  || { cat "$work/clean.log"; fail "the hook failed on a clean tree"; }
echo "pre-commit: the hook fails on the seeds' forms (23 violations) and passes on a clean tree"
echo "3 passed, 0 failed"
