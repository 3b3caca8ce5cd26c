"""``python -m redis_ssot.bench``: redis_ssot against redis-py and valkey-glide, one run.

All three clients talk to the same server in the same process run: redis-py's asyncio client
with its connection pool, valkey-glide's asyncio client (a Rust core of its own), and
redis_ssot. Each run is N tasks sharing one client, each task doing SET then GET of a 16-byte
value on its own key; every operation's latency is taken with ``perf_counter_ns``. Rounds
alternate the order of the clients, so no client always runs on a warmer or a cooler
machine. The report gives, per task count, the median over rounds of ops/s, p50 and p99, and
the ratios of redis_ssot to the others.

With no ``--url`` it starts a ``redis-server`` child on a free loopback port (no persistence)
and stops it at the end. The peers are the versions the targets were set against:
``pip install redis==8.1.0 valkey-glide==2.5.3``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

VALUE = b"v" * 16
CLIENTS = ("redis-py", "glide", "redis_ssot")


class Server:
    """A throwaway redis-server child process."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed; install it or pass --url")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = tempfile.mkdtemp(prefix="redis-ssot-bench-")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise SystemExit("redis-server did not start within 10 s")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def host_port(url: str) -> Tuple[str, int]:
    rest = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port = rest.rpartition(":")
    return (host or "127.0.0.1"), int(port or 6379)


async def make_client(name: str, url: str) -> Tuple[Any, Callable[[], Any]]:
    """The client and a coroutine function that closes it."""
    host, port = host_port(url)
    if name == "redis-py":
        import redis.asyncio as aioredis  # type: ignore[import-not-found,unused-ignore]

        client = aioredis.Redis(host=host, port=port)
        return client, client.aclose
    if name == "glide":
        from glide import GlideClient, GlideClientConfiguration, NodeAddress  # type: ignore[import-not-found,unused-ignore]

        client = await GlideClient.create(GlideClientConfiguration([NodeAddress(host, port)]))
        return client, client.close
    import redis_ssot

    client = redis_ssot.init(url)
    await client.wait_ready(10)

    async def keep_open() -> None:
        # The process-wide manager stays for the next round; closed once at the end.
        return None

    return client, keep_open


async def run(client: Any, tasks: int, ops: int) -> Tuple[float, List[int]]:
    """ops/s and every latency (ns) of `ops` operations spread over `tasks` tasks."""
    per_task = max(2, ops // tasks) // 2
    latencies: List[int] = []
    clock = time.perf_counter_ns

    async def worker(i: int) -> None:
        key = f"bench:{i}"
        mine = []
        for _ in range(per_task):
            t0 = clock()
            await client.set(key, VALUE)
            t1 = clock()
            got = await client.get(key)
            t2 = clock()
            mine.append(t1 - t0)
            mine.append(t2 - t1)
            if got != VALUE:
                raise RuntimeError(f"GET {key} returned {got!r}")
        latencies.extend(mine)

    gc.collect()
    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(tasks)))
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def percentile(sorted_ns: List[int], q: float) -> float:
    i = min(len(sorted_ns) - 1, int(len(sorted_ns) * q))
    return sorted_ns[i] / 1000.0


async def bench(url: str, names: List[str], tasks_list: List[int], ops: int, rounds: int) -> Dict[str, Any]:
    clients = {}
    closers = []
    for name in names:
        try:
            client, close = await make_client(name, url)
        except ImportError as e:
            raise SystemExit(
                f"{name} is not installed ({e}); pip install redis==8.1.0 valkey-glide==2.5.3, "
                "or leave it out with --clients"
            ) from None
        clients[name] = client
        closers.append(close)
    results: Dict[str, Any] = {}
    try:
        for tasks in tasks_list:
            per: Dict[str, Dict[str, List[float]]] = {n: {"ops": [], "p50": [], "p99": []} for n in names}
            for name in names:  # warm-up: connections, pools, caches
                await run(clients[name], tasks, min(ops, 4000))
            for r in range(rounds):
                order = names[r % len(names):] + names[: r % len(names)]
                for name in order:
                    rate, lat = await run(clients[name], tasks, ops)
                    lat.sort()
                    per[name]["ops"].append(rate)
                    per[name]["p50"].append(percentile(lat, 0.50))
                    per[name]["p99"].append(percentile(lat, 0.99))
            results[str(tasks)] = {
                n: {k: statistics.median(v) for k, v in per[n].items()} | {"runs": per[n]["ops"]}
                for n in names
            }
    finally:
        for close in closers:
            await close()
        if "redis_ssot" in names:
            await clients["redis_ssot"].aclose()
    return results


def report(results: Dict[str, Any], names: List[str]) -> str:
    lines = []
    head = "| tasks | client | ops/s | p50 (µs) | p99 (µs) |"
    lines += [head, "|---|---|---|---|---|"]
    for tasks, by in results.items():
        for n in names:
            r = by[n]
            lines.append(f"| {tasks} | {n} | {r['ops']:,.0f} | {r['p50']:.0f} | {r['p99']:.0f} |")
    if "redis_ssot" in names:
        lines += ["", "| tasks | ops/s ratio | p50 ratio (lower is better) |", "|---|---|---|"]
        for tasks, by in results.items():
            ours = by["redis_ssot"]
            for other in (n for n in names if n != "redis_ssot"):
                o = by[other]
                lines.append(
                    f"| {tasks} | redis_ssot / {other}: {ours['ops'] / o['ops']:.2f}x "
                    f"| {ours['p50'] / o['p50']:.2f} |"
                )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m redis_ssot.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="Redis to use (default: start a redis-server child)")
    p.add_argument("--tasks", default="1,50", help="comma-separated task counts (default 1,50)")
    p.add_argument("--ops", type=int, default=20000, help="operations per run (default 20000)")
    p.add_argument("--rounds", type=int, default=5, help="rounds, order rotating (default 5)")
    p.add_argument("--clients", default=",".join(CLIENTS), help="which clients (default all three)")
    p.add_argument("--uvloop", action="store_true", help="run on uvloop")
    p.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.clients.split(",") if n.strip()]
    unknown = [n for n in names if n not in CLIENTS]
    if unknown:
        p.error(f"unknown client(s) {unknown}; choose from {', '.join(CLIENTS)}")
    tasks_list = [int(t) for t in args.tasks.split(",")]
    server = None if args.url else Server()
    url = args.url or server.url  # type: ignore[union-attr]
    try:
        runner = asyncio.run
        if args.uvloop:
            import uvloop  # type: ignore[import-not-found,unused-ignore]

            runner = uvloop.run
        results = runner(bench(url, names, tasks_list, args.ops, args.rounds))
    finally:
        if server is not None:
            server.stop()
    import redis_ssot

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# redis_ssot bench: SET/GET of {len(VALUE)} bytes, {args.ops} ops per run, "
          f"{args.rounds} rounds (medians), Python {sys.version.split()[0]}, "
          f"redis_ssot {redis_ssot.__version__}, {os.cpu_count()} CPUs, loop "
          f"{'uvloop' if args.uvloop else 'asyncio'}, load average at the end {load}")
    print(report(results, names))
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
