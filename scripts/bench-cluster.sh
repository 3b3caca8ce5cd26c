#!/usr/bin/env bash
# `make bench-cluster`: the kv benchmark on a throwaway 3-master Redis Cluster on loopback,
# with the same benchmark on an embedded standalone server beside it in the same run.
# Usage: scripts/bench-cluster.sh [extra bench args, e.g. --clients 256 --json]
set -euo pipefail

BIN=${BIN:-target/release/redis-ssot}
BASE_PORT=${BENCH_CLUSTER_PORT:-17301}
DIR=$(mktemp -d /tmp/redis-ssot-bench-cluster.XXXXXX)
PORTS=("$BASE_PORT" "$((BASE_PORT + 1))" "$((BASE_PORT + 2))")

cleanup() {
  for p in "${PORTS[@]}"; do
    redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$DIR"
}
trap cleanup EXIT

for p in "${PORTS[@]}"; do
  mkdir -p "$DIR/$p"
  redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "$DIR/$p/nodes.conf" --dir "$DIR/$p" \
    --save '' --appendonly no --daemonize yes --logfile "$DIR/$p/log"
done
for p in "${PORTS[@]}"; do
  until redis-cli -p "$p" ping >/dev/null 2>&1; do sleep 0.05; done
done
redis-cli --cluster create "${PORTS[@]/#/127.0.0.1:}" --cluster-yes >/dev/null
until redis-cli -p "$BASE_PORT" cluster info | grep -q 'cluster_state:ok'; do sleep 0.1; done

URL="redis+cluster://127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},127.0.0.1:${PORTS[2]}"
"$BIN" bench --redis-url "$URL" "$@"
