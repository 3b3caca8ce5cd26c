"""The redis-py methods a migrating team meets, each checked twice on one real server: the
exact value, and the value redis-py 8 returns for the same call (same types: bytes or str,
bools, floats, tuples, dicts, None on a miss)."""

from __future__ import annotations

import asyncio
import datetime

import pytest

import redis_ssot
from conftest import server_version


async def test_hscan_sscan_zscan_steps_match_redis_py(manager, redispy):
    await manager.hset("h", mapping={"f1": "a", "f2": "b", "g": "c"})
    await manager.sadd("s", "x", "y")
    await manager.zadd("z", {"m1": 1, "m2": 2.5})

    assert await manager.hscan("h") == (0, {b"f1": b"a", b"f2": b"b", b"g": b"c"})
    assert await manager.hscan("h", 0, match="f*", count=100) == (0, {b"f1": b"a", b"f2": b"b"})
    assert await manager.zscan("z") == (0, [(b"m1", 1.0), (b"m2", 2.5)])
    assert await manager.zscan("z", match="m2") == (0, [(b"m2", 2.5)])
    cursor, members = await manager.sscan("s")
    assert (cursor, sorted(members)) == (0, [b"x", b"y"])
    assert await manager.hscan("missing") == (0, {})
    assert await manager.sscan("missing") == (0, [])
    assert await manager.zscan("missing") == (0, [])

    for call in (
        lambda c: c.hscan("h"),
        lambda c: c.hscan("h", 0, match="f*", count=100),
        lambda c: c.sscan("s", 0, match="x"),
        lambda c: c.zscan("z", count=10),
        lambda c: c.hscan("missing"),
        lambda c: c.zscan("missing"),
    ):
        assert await call(manager) == await call(redispy)

    text = manager.client(decode_responses=True)
    assert await text.hscan("h", match="g") == (0, {"g": "c"})
    assert await text.zscan("z", match="m1") == (0, [("m1", 1.0)])

    pipe = manager.pipeline()
    pipe.hscan("h", match="g").sscan("s", match="y").zscan("z", match="m1")
    assert await pipe.execute() == [(0, {b"g": b"c"}), (0, [b"y"]), (0, [(b"m1", 1.0)])]


async def test_scan_iters_visit_every_item_of_a_big_key_as_redis_py_does(manager, redispy):
    fields = {f"f{i}": str(i) for i in range(300)}
    await manager.hset("h", mapping=fields)
    await manager.sadd("s", *[f"m{i}" for i in range(300)])
    await manager.zadd("z", {f"m{i}": i / 2 for i in range(300)})

    got = [item async for item in manager.hscan_iter("h", count=20)]
    assert dict(got) == {k.encode(): v.encode() for k, v in fields.items()}
    assert len(got) == 300
    assert sorted(got) == sorted([item async for item in redispy.hscan_iter("h", count=20)])

    members = [m async for m in manager.sscan_iter("s", match="m1*", count=20)]
    expected = {f"m{i}".encode() for i in range(300) if str(i).startswith("1")}
    assert set(members) == expected and len(members) == len(expected)
    assert sorted(members) == sorted([m async for m in redispy.sscan_iter("s", match="m1*", count=20)])

    pairs = [p async for p in manager.zscan_iter("z", count=20)]
    assert sorted(pairs, key=lambda p: p[1]) == [(f"m{i}".encode(), i / 2) for i in range(300)]
    assert all(type(score) is float for _, score in pairs)
    assert sorted(pairs) == sorted([p async for p in redispy.zscan_iter("z", count=20)])

    assert [x async for x in manager.hscan_iter("missing")] == []
    assert [x async for x in manager.sscan_iter("missing")] == []
    assert [x async for x in manager.zscan_iter("missing")] == []


async def test_hscan_no_values_lists_the_fields(manager, redispy, server):
    await manager.hset("h", mapping={"a": "1", "b": "2"})
    if server_version(server) < (7, 4):
        # NOVALUES came in Redis 7.4: both clients relay the server's refusal.
        with pytest.raises(redis_ssot.ResponseError) as e:
            await manager.hscan("h", no_values=True)
        assert e.value.code == "ERR"
        with pytest.raises(Exception, match="syntax error"):
            await redispy.hscan("h", no_values=True)
        assert await manager.hscan("h", no_values=False) == (0, {b"a": b"1", b"b": b"2"})
        return
    assert await manager.hscan("h", no_values=True) == (0, [b"a", b"b"])
    assert sorted([f async for f in manager.hscan_iter("h", no_values=True)]) == [b"a", b"b"]
    assert await manager.hscan("h", no_values=True) == await redispy.hscan("h", no_values=True)


async def test_scans_refuse_a_wrong_type_and_bad_arguments_in_plain_words(manager):
    await manager.set("str", "x")
    with pytest.raises(redis_ssot.ResponseError) as e:
        await manager.hscan("str")
    assert e.value.code == "WRONGTYPE"
    with pytest.raises(TypeError) as e:
        await manager.zscan(None)
    assert str(e.value) == "name must be bytes, str, int or float, not NoneType"
    with pytest.raises(TypeError) as e:
        await manager.sscan("s", match=True)
    assert str(e.value).startswith("match must be bytes, str, int or float, not bool")


async def test_string_commands_getset_getrange_setrange_psetex_msetnx(manager, redispy):
    await manager.set("k", "hello", ex=100)
    assert await manager.getset("k", "world") == b"hello"
    assert await manager.ttl("k") == -1, "GETSET drops the TTL"
    assert await manager.getset("new", "v") is None
    assert await manager.getrange("k", 0, 2) == b"wor"
    assert await manager.getrange("k", -3, -1) == b"rld"
    assert await manager.getrange("missing", 0, 10) == b""
    assert await manager.setrange("k", 6, "!!") == 8
    assert await manager.get("k") == b"world\x00!!"
    assert await manager.setrange("fresh", 2, b"ab") == 4
    assert await manager.get("fresh") == b"\x00\x00ab"
    assert await manager.psetex("p", 50_000, "v") is True
    assert 49_000 <= await manager.pttl("p") <= 50_000
    assert await manager.psetex("p", datetime.timedelta(seconds=20), "w") is True
    assert 19_000 <= await manager.pttl("p") <= 20_000
    assert await manager.msetnx({"n1": "a", "n2": 2}) is True
    assert await manager.msetnx({"n2": "b", "n3": "c"}) is False
    assert await manager.mget("n1", "n2", "n3") == [b"a", b"2", None]

    for call in (
        lambda c: c.getset("k", "again"),
        lambda c: c.getset("gone", "v"),
        lambda c: c.getrange("k", 1, -2),
        lambda c: c.getrange("missing", 0, 1),
        lambda c: c.setrange("k", 1, "X"),
        lambda c: c.psetex("pp", 10_000, "v"),
        lambda c: c.msetnx({"m1": "x"}),
        lambda c: c.msetnx({"m1": "y", "m2": "z"}),
        lambda c: c.get("m2"),
    ):
        await manager.delete("gone", "m1", "m2")
        await redispy.set("k", "hello")
        ours = await call(manager)
        await manager.delete("gone", "m1", "m2")
        await redispy.set("k", "hello")
        theirs = await call(redispy)
        assert ours == theirs and type(ours) is type(theirs), (ours, theirs)

    text = manager.client(decode_responses=True)
    assert await text.getrange("k", 0, 1) == "he"
    with pytest.raises(ValueError) as e:
        await manager.msetnx({})
    assert str(e.value) == "msetnx needs at least one key -> value pair (the dict is empty)"
    with pytest.raises(TypeError) as e:
        await manager.getrange("k", "0", 1)
    assert str(e.value) == "start must be an int, not str"
    with pytest.raises(redis_ssot.ResponseError) as e:
        await manager.setrange("k", -1, "x")
    assert e.value.code == "ERR"


async def test_copy_and_renamenx_say_whether_they_did_it(manager, redispy):
    await manager.set("src", "v")
    await manager.set("taken", "t")
    assert await manager.copy("src", "dst") is True
    assert await manager.get("dst") == b"v"
    assert await manager.copy("src", "taken") is False
    assert await manager.get("taken") == b"t"
    assert await manager.copy("src", "taken", replace=True) is True
    assert await manager.get("taken") == b"v"
    assert await manager.copy("missing", "x") is False
    assert await manager.copy("src", "src", destination_db=1) is True
    assert await manager.exists("src") == 1
    assert await manager.renamenx("src", "dst") is False
    assert await manager.renamenx("src", "moved") is True
    assert await manager.get("moved") == b"v" and await manager.exists("src") == 0
    with pytest.raises(redis_ssot.ResponseError) as e:
        await manager.renamenx("missing", "x")
    assert e.value.code == "ERR"

    for setup, call in (
        (("a", "1"), lambda c: c.copy("a", "b")),
        (("a", "1"), lambda c: c.copy("a", "b", replace=True)),
        (("a", "1"), lambda c: c.copy("nope", "b")),
        (("a", "1"), lambda c: c.renamenx("a", "b")),
        (("a", "1"), lambda c: c.renamenx("a", "c")),
    ):
        results = []
        for client in (manager, redispy):
            await manager.flushdb()
            await manager.set(*setup)
            await manager.set("b", "taken")
            results.append(await call(client))
        assert results[0] is results[1], results


async def test_hmset_is_hset_with_a_mapping_and_warns_as_redis_py_does(manager, redispy):
    with pytest.warns(DeprecationWarning) as ours:
        assert await manager.hmset("h", {"a": 1, "b": b"2"}) is True
    assert await manager.hgetall("h") == {b"a": b"1", b"b": b"2"}
    with pytest.warns(DeprecationWarning) as theirs:
        assert await redispy.hmset("h2", {"a": 1, "b": b"2"}) is True
    assert await manager.hgetall("h2") == {b"a": b"1", b"b": b"2"}
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert ours[0].filename == __file__, "the warning points at the caller's line"
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError) as e:
            await manager.hmset("h", {})
    assert str(e.value) == "hmset needs at least one field -> value pair (the mapping is empty)"
    pipe = manager.pipeline()
    with pytest.warns(DeprecationWarning):
        pipe.hmset("h", {"c": 3})
    assert await pipe.hget("h", "c").execute() == [True, b"3"]


async def test_linsert_lmove_rpoplpush_smove_zmscore(manager, redispy):
    await manager.rpush("l", "a", "c")
    assert await manager.linsert("l", "BEFORE", "c", "b") == 3
    assert await manager.linsert("l", "after", "c", "d") == 4
    assert await manager.linsert("l", "before", "nope", "x") == -1
    assert await manager.linsert("missing", "before", "a", "x") == 0
    assert await manager.lrange("l", 0, -1) == [b"a", b"b", b"c", b"d"]
    assert await manager.lmove("l", "l2") == b"a"
    assert await manager.lmove("l", "l2", "RIGHT", "LEFT") == b"d"
    assert await manager.lmove("l", "l2", src="left", dest="right") == b"b"
    assert await manager.lrange("l2", 0, -1) == [b"d", b"a", b"b"]
    assert await manager.lmove("empty", "l2") is None
    assert await manager.rpoplpush("l2", "l3") == b"b"
    assert await manager.rpoplpush("empty", "l3") is None
    assert await manager.lrange("l3", 0, -1) == [b"b"]

    await manager.sadd("s1", "a", "b")
    assert await manager.smove("s1", "s2", "a") is True
    assert await manager.smove("s1", "s2", "zz") is False
    assert await manager.smembers("s1") == {b"b"} and await manager.smembers("s2") == {b"a"}

    await manager.zadd("z", {"a": 1, "b": 2.5})
    assert await manager.zmscore("z", ["a", "nope", "b"]) == [1.0, None, 2.5]
    assert await manager.zmscore("missing", ["a"]) == [None]

    for call in (
        lambda c: c.linsert("l", "BEFORE", "c", "b"),
        lambda c: c.linsert("l", "AFTER", "zz", "b"),
        lambda c: c.lmove("l", "l2"),
        lambda c: c.lmove("l", "l2", "RIGHT", "RIGHT"),
        lambda c: c.lmove("empty", "l2"),
        lambda c: c.rpoplpush("l", "l2"),
        lambda c: c.rpoplpush("empty", "l2"),
        lambda c: c.smove("s1", "s2", "a"),
        lambda c: c.smove("s1", "s2", "nope"),
        lambda c: c.zmscore("z", ["a", "nope", "b"]),
    ):
        results = []
        for client in (manager, redispy):
            await manager.flushdb()
            await manager.rpush("l", "a", "c")
            await manager.sadd("s1", "a")
            await manager.zadd("z", {"a": 1, "b": 2.5})
            results.append((await call(client), await manager.lrange("l2", 0, -1)))
        assert results[0] == results[1], results

    text = manager.client(decode_responses=True)
    assert await text.lmove("l", "l2") == "a"
    with pytest.raises(ValueError) as e:
        await manager.linsert("l", "middle", "a", "b")
    assert str(e.value) == "linsert: where must be 'BEFORE' or 'AFTER', not 'middle'"
    with pytest.raises(ValueError) as e:
        await manager.lmove("l", "l2", "UP")
    assert str(e.value) == "lmove: src must be 'LEFT' or 'RIGHT', not 'UP'"
    with pytest.raises(ValueError) as e:
        await manager.zmscore("z", [])
    assert str(e.value) == "zmscore needs at least one member"
    pipe = manager.pipeline()
    pipe.zmscore("z", ["a", "x"]).smove("s1", "s2", "a").linsert("l", "before", "c", "b")
    assert await pipe.execute() == [[1.0, None], True, 2]


async def test_brpoplpush_and_blmove_wait_on_a_dedicated_connection_with_a_timeout(manager):
    assert await manager.brpoplpush("empty", "dst", timeout=0.1) is None
    assert await manager.blmove("empty", "dst", 0.1) is None
    await manager.rpush("src", "a", "b")
    assert await manager.brpoplpush("src", "dst", 1) == b"b"
    assert await manager.blmove("src", "dst", timeout=1, src="LEFT", dest="RIGHT") == b"a"
    assert await manager.lrange("dst", 0, -1) == [b"b", b"a"]

    async def push_later():
        await asyncio.sleep(0.1)
        await manager.rpush("later", "job")

    pusher = asyncio.ensure_future(push_later())
    assert await manager.blmove("later", "done", timeout=2) == b"job"
    await pusher
    with pytest.raises(TypeError) as e:
        await manager.brpoplpush("src", "dst")
    assert str(e.value).startswith("brpoplpush needs a timeout in seconds")
    with pytest.raises(ValueError) as e:
        await manager.blmove("src", "dst", 0)
    assert str(e.value) == (
        "blmove needs a positive timeout in seconds; got 0 (waiting forever is not supported: "
        "a command never waits without a deadline)"
    )
    with pytest.raises(TypeError) as e:
        manager.pipeline().brpoplpush("a", "b", 1)
    assert str(e.value) == "brpoplpush cannot be used inside a pipeline"
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(manager.brpoplpush("never", "dst", timeout=20), 0.05)
    await manager.rpush("q", "x")
    assert await manager.brpoplpush("q", "dst", timeout=1) == b"x", "the cancelled wait gave its connection back"


async def test_script_load_script_exists_and_time(manager, redispy):
    sha = await manager.script_load("return ARGV[1]")
    assert sha == "098e0f0d1448c0a81dafe820f66d460eb09263da"
    assert type(sha) is str, "a str even without decode_responses, as redis-py"
    assert sha == await redispy.script_load("return ARGV[1]")
    assert await manager.evalsha(sha, 0, "hi") == b"hi"
    assert await manager.script_exists(sha, "0" * 40) == [True, False]
    assert await manager.script_exists(sha, "0" * 40) == await redispy.script_exists(sha, "0" * 40)
    with pytest.raises(ValueError) as e:
        await manager.script_exists()
    assert str(e.value) == "script_exists needs at least one sha"
    pipe = manager.pipeline()
    assert await pipe.script_load("return 1").script_exists(sha).execute() == [
        "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
        [True],
    ]

    seconds, micros = await manager.time()
    theirs = await redispy.time()
    assert type(seconds) is int and type(micros) is int
    assert 0 <= micros < 1_000_000
    assert abs((theirs[0] + theirs[1] / 1e6) - (seconds + micros / 1e6)) < 2
    seconds, _ = await manager.client(decode_responses=True).time()
    assert type(seconds) is int


async def test_set_stores_and_flushall(manager, redispy):
    await manager.sadd("a", "1", "2", "3")
    await manager.sadd("b", "2", "3", "4")
    assert await manager.sinterstore("i", ["a", "b"]) == 2
    assert await manager.smembers("i") == {b"2", b"3"}
    assert await manager.sunionstore("u", "a", "b") == 4
    assert await manager.sdiffstore("d", ["a", "b"]) == 1
    assert await manager.smembers("d") == {b"1"}
    assert await manager.sdiffstore("d", "missing") == 0
    assert await manager.exists("d") == 0, "an empty result deletes the destination"
    assert await manager.sunionstore("u2", ["a", "b"]) == await redispy.sunionstore("u3", ["a", "b"])
    with pytest.raises(redis_ssot.InvalidKey) as e:
        await manager.sinterstore("x", [])
    assert str(e.value) == "invalid key: sinterstore needs at least one key"
    assert await manager.flushall() is True
    assert await manager.dbsize() == 0
    await manager.set("k", "v")
    assert await manager.flushall(asynchronous=True) is True
    assert await manager.dbsize() == 0
