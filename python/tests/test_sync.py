"""The blocking API: the same manager from plain threads, thread-safe, GIL released while a
call waits."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import redis_ssot
from redis_ssot import sync


@pytest.fixture
def blocking(server):
    m = sync.init(server.url)
    m.wait_ready(5)
    yield m
    m.close()


def test_commands_pipelines_scan_and_stores_block_and_return_values(blocking, server):
    assert blocking.set("k", "v") is True
    assert blocking.get("k") == b"v"
    assert blocking.get("missing") is None
    with blocking.pipeline() as pipe:
        assert pipe.incr("n").incr("n").execute() == [1, 2]
    assert sorted(blocking.scan_iter(match="*")) == [b"k", b"n"]
    assert blocking.client(decode_responses=True).get("k") == "v"
    sessions = redis_ssot.SessionStore(blocking)
    token, session = sessions.create("alice", {"role": "admin"})
    assert sessions.get(token) == session
    script = blocking.register_script("return ARGV[1]")
    assert script(args=["x"]) == b"x"
    assert len(server.clients()) == 1


def test_many_threads_share_it_safely(blocking):
    errors = []

    def worker(i):
        try:
            for j in range(200):
                blocking.incr(f"c{i % 4}")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [blocking.get(f"c{i}") for i in range(4)] == [b"400"] * 4


def test_the_gil_is_released_while_a_call_waits(blocking):
    spins = 0
    stop = threading.Event()

    def spinner():
        nonlocal spins
        while not stop.is_set():
            spins += 1

    t = threading.Thread(target=spinner)
    t.start()
    time.sleep(0.05)
    before = spins
    assert blocking.blpop(["empty"], timeout=0.5) is None
    during = spins - before
    stop.set()
    t.join()
    assert during > 10_000, f"the other thread ran only {during} loop turns in 0.5 s"


def test_blocking_pubsub(blocking):
    with blocking.pubsub() as ps:
        ps.subscribe("c")
        assert ps.get_message() == {"type": "subscribe", "pattern": None, "channel": b"c", "data": 1}
        assert blocking.publish("c", "hi") == 1
        assert ps.get_message(timeout=5) == {"type": "message", "pattern": None, "channel": b"c", "data": b"hi"}


def test_sync_and_asyncio_views_share_one_manager(server):
    import asyncio

    b = sync.init(server.url)
    b.wait_ready(5)

    async def main():
        a = redis_ssot.init(server.url)
        assert a.same_as(b)
        await a.set("shared", "1")

    asyncio.run(main())
    assert b.get("shared") == b"1"
    assert len(server.clients()) == 1
    b.close()


def test_stores_made_with_a_blocking_manager_block_and_return_values(blocking):
    cache = redis_ssot.Cache(blocking, "ns")
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.05)
        return {"v": 1}

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("y", 10, compute))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [{"v": 1}] * 8
    assert calls == [1], "concurrent misses in threads share one computation"
    assert cache.get("y") == {"v": 1}

    perms = redis_ssot.UserCache.permissions(blocking)
    assert perms.get_or_load("bob", lambda: ["read"]) == ["read"]
    assert perms.get("bob") == ["read"]
    with pytest.raises(TypeError) as e:
        perms.get_or_load("carol", lambda: asyncio.sleep(0, ["x"]))
    assert str(e.value) == (
        "this store was made with a blocking manager (redis_ssot.sync), so the function must "
        "return the value itself, not an awaitable"
    )

    factory = redis_ssot.RedisFactory(blocking)
    with factory.get_user_client(redis_ssot.UserContext("u1")) as client:
        assert client.set("k", "v") is True
        assert client.get("k") == b"v"


def test_mget_of_no_keys_is_an_empty_list_and_mset_of_nothing_a_value_error(blocking):
    assert blocking.mget([]) == []
    with pytest.raises(ValueError) as e:
        blocking.mset({})
    assert str(e.value) == "mset needs at least one key -> value pair (the dict is empty)"


def test_key_scan_iters_are_plain_iterators_matching_redis_py(blocking, server):
    import redis

    r = redis.Redis.from_url(server.url)
    blocking.hset("h", mapping={f"f{i}": i for i in range(200)})
    blocking.sadd("s", *range(200))
    blocking.zadd("z", {f"m{i}": i for i in range(200)})
    hashes = blocking.hscan_iter("h", count=10)
    assert iter(hashes) is hashes
    assert sorted(hashes) == sorted(r.hscan_iter("h", count=10))
    assert len(dict(blocking.hscan_iter("h"))) == 200
    assert sorted(blocking.sscan_iter("s", match="1*")) == sorted(r.sscan_iter("s", match="1*"))
    assert len(list(blocking.sscan_iter("s", match="1*"))) == 111
    pairs = sorted(blocking.zscan_iter("z", count=10), key=lambda p: p[1])
    assert pairs == [(f"m{i}".encode(), float(i)) for i in range(200)]
    blocking.zadd("small", {"m7": 7, "m8": 8})
    assert blocking.zscan("small", match="m7") == r.zscan("small", match="m7") == (0, [(b"m7", 7.0)])
    r.close()


def test_blocking_moves_wait_and_return_the_element(blocking):
    blocking.rpush("src", "a")
    assert blocking.brpoplpush("src", "dst", timeout=1) == b"a"
    assert blocking.blmove("dst", "src", 1, "LEFT", "LEFT") == b"a"
    assert blocking.blmove("none", "src", timeout=0.05) is None
    with pytest.raises(TypeError) as e:
        blocking.blmove("src", "dst")
    assert str(e.value).startswith("blmove needs a timeout in seconds")


def test_server_and_script_cache_commands_block_and_return_values(blocking):
    sha = blocking.script_load("return 7")
    assert blocking.script_exists(sha) == [True]
    assert blocking.evalsha(sha, 0) == 7
    seconds, micros = blocking.time()
    assert abs(seconds + micros / 1e6 - time.time()) < 2
    blocking.set("k", "v")
    assert blocking.flushall() is True
    assert blocking.dbsize() == 0
