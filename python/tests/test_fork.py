"""`fork()`: the child's first use re-creates the manager on a fresh runtime (the parent's
threads do not exist there); the parent keeps working. Nothing hangs or crashes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    import redis_ssot

    url = sys.argv[1]

    async def before_fork():
        m = redis_ssot.init(url)
        await m.wait_ready(5)
        await m.set("k", "parent")
        ps = m.pubsub()
        await ps.subscribe("c")
        return m, ps

    m, ps = asyncio.run(before_fork())
    sessions = redis_ssot.SessionStore(m)
    cache = redis_ssot.Cache(m, "ns")
    user = redis_ssot.RedisFactory(m).user_client(redis_ssot.UserContext("u1"))

    pid = os.fork()
    if pid == 0:
        async def child():
            assert redis_ssot.get_redis_manager() is m
            seen = await m.get("k")
            await m.set("k", "child")
            token, _ = await sessions.create("u1", {"from": "child"})
            await cache.set("x", {"y": 2}, 10)
            await user.set("x", "from-child")
            assert await user.get("x") == b"from-child"
            try:
                await ps.get_message(ignore_subscribe_messages=True)
                pubsub = "no error"
            except redis_ssot.Closed as e:
                pubsub = str(e)
            return seen, await sessions.get(token), await cache.get("x"), pubsub

        seen, session, cached, pubsub = asyncio.run(asyncio.wait_for(child(), 10))
        ok = (
            seen == b"parent"
            and session["data"] == {"from": "child"}
            and cached == {"y": 2}
            and "belongs to the parent process" in pubsub
        )
        os._exit(0 if ok else 3)

    _, status = os.waitpid(pid, 0)

    async def after():
        return await m.get("k"), await m.ping()

    print(os.waitstatus_to_exitcode(status), *asyncio.run(after()))
    """
)


def test_fork_then_use_in_the_child_and_in_the_parent(server):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, server.url], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0 b'child' True"
