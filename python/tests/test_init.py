"""One manager per process: concurrent `init` calls share one manager and one connection."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import redis_ssot
from redis_ssot import sync


async def test_100_concurrent_inits_share_one_manager_and_one_connection(server):
    async def service(i):
        m = redis_ssot.init(server.url)
        await m.wait_ready(5)
        await m.set(f"svc:{i}", i)
        return m

    managers = await asyncio.gather(*(service(i) for i in range(100)))
    first = managers[0]
    assert all(m is first for m in managers)
    assert redis_ssot.get_redis_manager() is first
    assert await first.dbsize() == 100
    assert len(server.clients()) == 1
    assert first.status()["connections_opened"] == 1
    await first.aclose()


def test_100_threads_calling_init_at_once_share_one_manager(server):
    barrier = threading.Barrier(100)
    handles = [None] * 100
    errors = []

    def thread(i):
        try:
            barrier.wait()
            m = sync.init(server.url)
            m.wait_ready(5)
            m.set(f"t:{i}", i)
            handles[i] = m
        except Exception as e:  # noqa: BLE001 - every error fails the test
            errors.append(e)

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(h is handles[0] for h in handles)
    assert handles[0].same_as(sync.get_redis_manager())
    assert handles[0].dbsize() == 100
    assert len(server.clients()) == 1
    handles[0].close()


def test_get_redis_manager_before_init_raises_not_initialized():
    code = (
        "import redis_ssot\n"
        "try:\n"
        "    redis_ssot.get_redis_manager()\n"
        "except redis_ssot.NotInitialized as e:\n"
        "    print(type(e).__name__, '|', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "NotInitialized | the process-wide redis manager is not initialised: call redis_ssot.init() first"
    )
