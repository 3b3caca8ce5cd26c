#!/usr/bin/env bash
# Installs what `make test` and `make run` need on a fresh Debian machine (run as root).
# Idempotent: it only calls apt-get when something is missing.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
if [ "${WITH_BROWSER:-0}" = "1" ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  # promtool (in Debian's prometheus package) checks /metrics in the tests.
  command -v promtool >/dev/null 2>&1 || need+=(prometheus)
fi

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "missing: ${need[*]}; install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Debian's packages start a system redis-server on 6379 (and prometheus on 9090); the project
# never uses them.
for svc in redis-server redis-sentinel prometheus; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done

rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
