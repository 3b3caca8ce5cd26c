"""The command surface on a real server: values, misses, shapes, decoding, pipelines, SCAN,
scripts and the plain-words errors for bad input."""

from __future__ import annotations

import asyncio
import datetime
import threading

import pytest

import redis_ssot
from conftest import FAST


async def test_strings_keys_and_set_options(manager):
    assert await manager.set("a", "1") is True
    assert await manager.get("a") == b"1"
    assert await manager.get("missing") is None
    assert await manager.set("a", "2", nx=True) is None
    assert await manager.set("b", "x", xx=True) is None
    assert await manager.set("a", "3", xx=True, ex=100) is True
    assert 99 <= await manager.ttl("a") <= 100
    assert await manager.set("a", "4", get=True) == b"3"
    assert await manager.ttl("a") == -1
    assert await manager.ttl("missing") == -2
    assert await manager.set("p", 1.5, px=datetime.timedelta(seconds=50)) is True
    assert 49_000 <= await manager.pttl("p") <= 50_000
    assert await manager.incr("n") == 1
    assert await manager.incrby("n", 5) == 6
    assert await manager.decr("n", 2) == 4
    assert await manager.incrbyfloat("f", 0.5) == 0.5
    assert await manager.mset({"m1": b"x", "m2": 7}) is True
    assert await manager.mget(["m1", "m2", "nope"]) == [b"x", b"7", None]
    assert await manager.mget("m1", "m2") == [b"x", b"7"]
    assert await manager.exists("m1", "m2", "nope") == 2
    assert await manager.expire("m1", 30) is True
    assert await manager.expire("nope", 30) is False
    assert await manager.persist("m1") is True
    assert await manager.append("m1", "yz") == 3
    assert await manager.strlen("m1") == 3
    assert await manager.type("m1") == b"string"
    assert await manager.getdel("m1") == b"xyz"
    assert await manager.delete("m2", "a", "nope") == 2
    assert await manager.ping() is True
    assert await manager.echo("hi") == b"hi"
    assert await manager.setnx("s", "1") is True
    assert await manager.setnx("s", "2") is False
    assert await manager.setex("e", 10, "v") is True
    assert await manager.rename("e", "e2") is True
    assert await manager.get("e2") == b"v"


async def test_big_ints_floats_and_bytes_round_trip(manager):
    await manager.set("big", 2**70)
    assert await manager.get("big") == b"1180591620717411303424"
    await manager.set("bin", bytes(range(256)))
    assert await manager.get("bin") == bytes(range(256))
    await manager.set("neg", -0.25)
    assert await manager.get("neg") == b"-0.25"


async def test_hashes(manager):
    assert await manager.hset("h", "f", "v") == 1
    assert await manager.hset("h", mapping={"a": 1, "b": b"2"}) == 2
    assert await manager.hset("h", items=["c", "3"]) == 1
    assert await manager.hget("h", "a") == b"1"
    assert await manager.hget("h", "nope") is None
    assert await manager.hgetall("h") == {b"f": b"v", b"a": b"1", b"b": b"2", b"c": b"3"}
    assert await manager.hgetall("missing") == {}
    assert await manager.hmget("h", ["a", "nope"]) == [b"1", None]
    assert await manager.hincrby("h", "a", 10) == 11
    assert await manager.hincrbyfloat("h", "x", 1.25) == 1.25
    assert await manager.hexists("h", "a") is True
    assert await manager.hexists("h", "zz") is False
    assert await manager.hlen("h") == 5
    assert sorted(await manager.hkeys("h")) == [b"a", b"b", b"c", b"f", b"x"]
    assert await manager.hdel("h", "a", "b", "nope") == 2
    assert await manager.hsetnx("h", "c", "again") is False


async def test_lists_sets_and_sorted_sets(manager):
    assert await manager.rpush("l", "a", "b", "c") == 3
    assert await manager.lpush("l", "z") == 4
    assert await manager.lrange("l", 0, -1) == [b"z", b"a", b"b", b"c"]
    assert await manager.llen("l") == 4
    assert await manager.lindex("l", 1) == b"a"
    assert await manager.lpop("l") == b"z"
    assert await manager.rpop("l", 2) == [b"c", b"b"]
    assert await manager.lpop("empty") is None
    assert await manager.ltrim("l", 0, 0) is True
    assert await manager.blpop(["empty"], timeout=0.1) is None
    await manager.rpush("q", "job")
    assert await manager.blpop(["q"], timeout=1) == (b"q", b"job")

    assert await manager.sadd("s", "a", "b", "a") == 2
    assert await manager.smembers("s") == {b"a", b"b"}
    assert await manager.smembers("missing") == set()
    assert await manager.sismember("s", "a") is True
    assert await manager.sismember("s", "zz") is False
    assert await manager.scard("s") == 2
    assert await manager.srem("s", "a") == 1

    assert await manager.zadd("z", {"a": 1, "b": 2.5, "c": 3}) == 3
    assert await manager.zadd("z", {"a": 5}, xx=True, ch=True) == 1
    assert await manager.zadd("z", {"a": 1}, incr=True) == 6.0
    assert await manager.zscore("z", "a") == 6.0
    assert await manager.zscore("z", "nope") is None
    assert await manager.zrange("z", 0, -1) == [b"b", b"c", b"a"]
    assert await manager.zrange("z", 0, 1, withscores=True) == [(b"b", 2.5), (b"c", 3.0)]
    assert await manager.zrange("z", 0, -1, desc=True) == [b"a", b"c", b"b"]
    assert await manager.zrevrange("z", 0, 0, withscores=True) == [(b"a", 6.0)]
    assert await manager.zrangebyscore("z", 2, 3) == [b"b", b"c"]
    assert await manager.zrangebyscore("z", "-inf", "+inf", start=1, num=1) == [b"c"]
    assert await manager.zrevrangebyscore("z", "+inf", "(3") == [b"a"]
    assert await manager.zincrby("z", 0.5, "b") == 3.0
    assert await manager.zcard("z") == 3
    assert await manager.zcount("z", 3, 3) == 2
    assert await manager.zrank("z", "a") == 2
    assert await manager.zrank("z", "nope") is None
    assert await manager.zpopmin("z") == [(b"b", 3.0)]
    assert await manager.zremrangebyscore("z", "-inf", 3) == 1
    assert await manager.zrem("z", "a", "nope") == 1


async def test_decode_responses_gives_str_on_the_same_manager_and_connection(manager, server):
    text = redis_ssot.init(server.url, decode_responses=True, **FAST)
    assert text.same_as(manager)
    assert text is redis_ssot.get_redis_manager(decode_responses=True)
    await manager.set("k", "värde")
    await manager.hset("h", mapping={"f": "v"})
    assert await text.get("k") == "värde"
    assert await manager.get("k") == "värde".encode()
    assert await text.hgetall("h") == {"f": "v"}
    assert await text.smembers("none") == set()
    await manager.set("bin", b"\xff\xfe")
    with pytest.raises(redis_ssot.DecodeError) as e:
        await text.get("bin")
    assert "not valid UTF-8" in str(e.value)
    assert len(server.clients()) == 1


async def test_transaction_pipeline_chains_and_runs_whole(manager):
    pipe = manager.pipeline()
    assert pipe.set("a", 1).incr("a").get("a") is pipe
    assert len(pipe) == 3
    assert await pipe.execute() == [True, 2, b"2"]
    assert len(pipe) == 0
    assert await pipe.execute() == []
    async with manager.pipeline(transaction=False) as p:
        p.hset("h", "f", "v").hgetall("h").zadd("z", {"m": 1}).zrange("z", 0, -1, withscores=True)
        assert await p.execute() == [1, {b"f": b"v"}, 1, [(b"m", 1.0)]]


async def test_a_failing_pipeline_raises_instead_of_returning_partial_results(manager):
    await manager.set("str", "x")
    pipe = manager.pipeline()
    pipe.incr("counter").hget("str", "field")
    with pytest.raises(redis_ssot.ResponseError) as e:
        await pipe.execute()
    assert e.value.code == "WRONGTYPE"


async def test_scan_iter_visits_every_key_once_per_pattern(manager):
    for i in range(250):
        await manager.set(f"user:{i}", i)
    await manager.set("other", 1)
    keys = {k async for k in manager.scan_iter(match="user:*", count=50)}
    assert keys == {f"user:{i}".encode() for i in range(250)}
    assert [k async for k in manager.scan_iter(match="nothing:*")] == []
    await manager.rpush("alist", "x")
    assert [k async for k in manager.scan_iter(_type="list")] == [b"alist"]


async def test_scripts_eval_and_execute_command(manager, server):
    assert await manager.eval("return {KEYS[1], ARGV[1], 3}", 1, "k", "arg") == [b"k", b"arg", 3]
    script = manager.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert await script(keys=["c"], args=[5]) == 5
    server.cli("SCRIPT", "FLUSH")
    assert await script(keys=["c"], args=[1]) == 6, "falls back to EVAL after the cache was emptied"
    pipe = manager.pipeline()
    script(keys=["c"], args=[10], client=pipe)
    assert await pipe.execute() == [16]
    assert await manager.execute_command("SET", "x", "1") is True
    assert await manager.execute_command("GET", "x") == b"1"
    assert await manager.execute_command("DBSIZE") == 2
    with pytest.raises(redis_ssot.ResponseError) as e:
        await manager.execute_command("NOSUCHCOMMAND")
    assert e.value.code == "ERR"


async def test_bad_arguments_get_plain_python_errors(manager):
    with pytest.raises(TypeError) as e:
        await manager.set("k", {"a": 1})
    assert str(e.value) == "value must be bytes, str, int or float, not dict"
    with pytest.raises(TypeError) as e:
        await manager.set("k", True)
    assert "not bool" in str(e.value)
    with pytest.raises(TypeError) as e:
        await manager.get(None)
    assert str(e.value) == "name must be bytes, str, int or float, not NoneType"
    with pytest.raises(ValueError) as e:
        await manager.set("k", "v", nx=True, xx=True)
    assert str(e.value) == "set: nx and xx cannot both be true"
    with pytest.raises(redis_ssot.InvalidKey) as e:
        await manager.delete()
    assert str(e.value) == "invalid key: delete needs at least one key"
    with pytest.raises(redis_ssot.ConfigError) as e:
        redis_ssot.init("redis://127.0.0.1:1", command_timeout="soon")
    assert e.value.field == "command_timeout"
    with pytest.raises(redis_ssot.ConfigError) as e:
        redis_ssot.init("redis://127.0.0.1:1", frobnicate=1)
    assert e.value.field == "frobnicate"


async def test_a_second_config_is_refused_while_the_first_lives(manager, server):
    with pytest.raises(redis_ssot.ConfigError) as e:
        redis_ssot.init("redis://127.0.0.1:1/0")
    assert e.value.field == "url"
    assert str(e.value) == (
        f"invalid config field `url`: the process-wide manager already exists with url "
        f"redis://127.0.0.1:{server.port}/0, and this init() asks for redis://127.0.0.1:1/0; one "
        "manager per process: call get_redis_manager() to use it, or aclose() it first to replace it"
    )
    with pytest.raises(redis_ssot.ConfigError) as e:
        redis_ssot.init(server.url, **{**FAST, "command_timeout": 1})
    assert e.value.field == "command_timeout"
    assert str(e.value).startswith(
        "invalid config field `command_timeout`: the process-wide manager already exists with "
        "command_timeout 0.3 s, and this init() asks for 1 s; "
    )
    assert redis_ssot.init(server.url, **FAST) is manager


async def test_calling_from_a_thread_without_a_loop_raises_a_clear_error(manager):
    errors = []

    def worker():
        try:
            manager.get("k")
        except Exception as e:  # noqa: BLE001 - the test inspects what was raised
            errors.append(e)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert len(errors) == 1
    assert isinstance(errors[0], redis_ssot.NoEventLoop)
    assert "no running asyncio event loop in this thread" in str(errors[0])
    assert "redis_ssot.sync" in str(errors[0])


def test_works_under_uvloop(server):
    import uvloop

    async def main():
        m = redis_ssot.init(server.url)
        await m.wait_ready(5)
        await m.set("u", "v")
        got = await asyncio.gather(*(m.get("u") for _ in range(100)))
        await m.aclose()
        return got, type(asyncio.get_running_loop()).__module__

    got, loop_module = uvloop.run(main())
    assert got == [b"v"] * 100
    assert loop_module.startswith("uvloop")


async def test_a_cancelled_caller_does_not_break_the_bridge(manager):
    await manager.set("k", "v")
    tasks = [asyncio.ensure_future(manager.get("k")) for _ in range(50)]
    for t in tasks[::2]:
        t.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [r for r in results[1::2]] == [b"v"] * 25
    assert all(isinstance(r, asyncio.CancelledError) for r in results[::2])
    assert await manager.get("k") == b"v"


async def test_cancelled_blpops_give_back_their_dedicated_connections(manager, server):
    # Six waits on a pool of four dedicated connections, each for 20 s, all cancelled.
    for _ in range(6):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(manager.blpop(["never"], timeout=20), 0.05)
    await manager.rpush("jobs", "j1")
    started = asyncio.get_running_loop().time()
    assert await manager.blpop(["jobs"], timeout=0.2) == (b"jobs", b"j1")
    assert asyncio.get_running_loop().time() - started < 0.5
    # The cancelled waits' connections are closed, so no client is left blocked on the server.
    deadline = asyncio.get_running_loop().time() + 2
    while any(" flags=b " in c for c in server.clients()):
        assert asyncio.get_running_loop().time() < deadline, server.clients()
        await asyncio.sleep(0.05)


async def test_blocking_pops_need_a_positive_timeout(manager):
    with pytest.raises(TypeError) as e:
        await manager.blpop(["q"])
    assert str(e.value) == (
        "blpop needs a timeout in seconds, e.g. blpop(keys, timeout=5) (waiting forever, redis-py's "
        "default, is not supported: a command never waits without a deadline)"
    )
    for bad in (0, -1, None):
        with pytest.raises(ValueError) as e:
            await manager.brpop(["q"], timeout=bad)
        assert str(e.value) == (
            f"brpop needs a positive timeout in seconds; got {bad!r} (waiting forever is not "
            "supported: a command never waits without a deadline)"
        )
    with pytest.raises(TypeError) as e:
        await manager.blpop(["q"], timeout="5")
    assert str(e.value) == "blpop: timeout must be a number of seconds, not str"
    with pytest.raises(ValueError) as e:
        await manager.blpop(["q"], timeout=1e300)
    assert str(e.value) == "blpop: timeout must be at most 1000000000 seconds (about 31 years), got 1e+300"
    await manager.rpush("q", "a", "b")
    assert await manager.blpop("q", 1) == (b"q", b"a")
    assert await manager.brpop(["q"], timeout=1) == (b"q", b"b")


async def test_empty_mget_and_out_of_range_numbers(manager):
    assert await manager.mget([]) == []
    with pytest.raises(ValueError) as e:
        await manager.mset({})
    assert str(e.value) == "mset needs at least one key -> value pair (the dict is empty)"
    with pytest.raises(ValueError) as e:
        manager.pipeline().mget([])
    assert str(e.value) == "mget needs at least one key inside a pipeline"
    with pytest.raises(ValueError) as e:
        await manager.incr("n", 2**70)
    assert str(e.value) == "amount must be between -9223372036854775808 and 9223372036854775807 (Redis's 64-bit integers)"
    with pytest.raises(TypeError) as e:
        await manager.incr("n", 1.5)
    assert str(e.value) == "amount must be an int, not float"
    assert await manager.incr("n") == 1
    assert await manager.decr("n", 3) == -2
    with pytest.raises(ValueError) as e:
        await manager.expire("n", 2**70)
    assert str(e.value) == "time is too large: at most 9223372036854775807 (Redis's 64-bit integers)"


async def test_getex_expireat_and_set_algebra(manager):
    await manager.set("g", "v")
    assert await manager.getex("g", ex=100) == b"v"
    assert 99 <= await manager.ttl("g") <= 100
    assert await manager.getex("g", persist=True) == b"v"
    assert await manager.ttl("g") == -1
    assert await manager.getex("missing", px=100) is None
    with pytest.raises(ValueError) as e:
        await manager.getex("g", ex=1, persist=True)
    assert str(e.value) == "getex: give at most one of ex, px, exat, pxat and persist"
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=50)
    assert await manager.expireat("g", soon) is True
    assert 48 <= await manager.ttl("g") <= 50
    assert await manager.pexpireat("g", int(soon.timestamp() * 1000) + 20_000) is True
    assert 68_000 <= await manager.pttl("g") <= 70_000
    assert await manager.expireat("missing", soon) is False
    with pytest.raises(TypeError) as e:
        await manager.expireat("g", "tomorrow")
    assert str(e.value) == "when must be an int (a Unix time) or a datetime, not str"

    await manager.sadd("s1", "a", "b", "c")
    await manager.sadd("s2", "b", "c", "d")
    assert await manager.sinter(["s1", "s2"]) == {b"b", b"c"}
    assert await manager.sunion("s1", "s2") == {b"a", b"b", b"c", b"d"}
    assert await manager.sdiff(["s1", "s2"]) == {b"a"}
    assert await manager.sinter("s1", "nope") == set()
    assert await manager.smismember("s1", ["a", "d", "c"]) == [True, False, True]
    assert await manager.smismember("s1", "a", "zz") == [True, False]
    with pytest.raises(redis_ssot.InvalidKey) as e:
        await manager.sunion([])
    assert str(e.value) == "invalid key: sunion needs at least one key"
