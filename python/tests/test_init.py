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


async def test_get_redis_manager_decodes_as_init_chose(server):
    m = redis_ssot.init(server.url, decode_responses=True)
    await m.wait_ready(5)
    await m.set("flag", "on")
    assert await redis_ssot.get_redis_manager().get("flag") == "on"
    assert redis_ssot.get_redis_manager() is m
    assert sync.get_redis_manager().decode_responses is True
    assert await redis_ssot.get_redis_manager(decode_responses=False).get("flag") == b"on"
    # A later init with the same config but the other decoding gets its view; the default stays.
    assert redis_ssot.init(server.url).decode_responses is False
    assert redis_ssot.get_redis_manager().decode_responses is True
    await m.aclose()


def test_decode_responses_must_be_a_bool(server):
    for call in (
        lambda: redis_ssot.init(server.url, decode_responses="yes"),
        lambda: sync.init(server.url, decode_responses=1),
    ):
        try:
            call()
        except TypeError as e:
            assert str(e) in (
                "decode_responses must be a bool (True or False), not str",
                "decode_responses must be a bool (True or False), not int",
            )
        else:
            raise AssertionError("a non-bool decode_responses was accepted")


def test_bad_init_options_say_what_is_wrong_in_plain_words():
    cases = {
        ("command_timeout", -1): "must not be negative, got -1",
        ("command_timeout", -0.5): "must not be negative, got -0.5",
        ("command_timeout", 1e300): "must be at most 1000000000 seconds (about 31 years), got 1e300",
        ("command_timeout", 2**70): "must be at most 1000000000 seconds (about 31 years), got 1180591620717411303424",
        ("command_timeout", "soon"): "must be a number of seconds, not str",
        ("command_timeout", True): "must be a number of seconds, not bool",
        ("max_in_flight", -1): "must not be negative, got -1",
        ("max_in_flight", 2**70): "must be at most 4294967295, got 1180591620717411303424",
        ("max_in_flight", 10**40): "must be at most 4294967295, got a 41-digit number",
        ("max_in_flight", 1.5): "must be a whole number, not float",
        ("db", True): "must be a whole number, not bool",
    }
    for (field, value), message in cases.items():
        try:
            redis_ssot.init("redis://127.0.0.1:1", **{field: value})
        except redis_ssot.ConfigError as e:
            assert e.field == field
            assert str(e) == f"invalid config field `{field}`: {message}", (field, value)
        else:
            raise AssertionError(f"{field}={value!r} was accepted")
