"""The stores with the seeds' names, on the Rust stores' key layout: per-user isolation with
hostile ids, sessions and the blacklist shared with a Rust process, caches, limits, analytics
and agent state."""

from __future__ import annotations

import asyncio
import datetime
import json
import subprocess

import pytest

import redis_ssot
from conftest import interop_binary

HOSTILE = ["a:b", "*", "[a]", "{u:a}", "ünï", "a", b"\xff\xfe"]


async def test_factory_isolates_hostile_user_ids(manager, server):
    factory = redis_ssot.RedisFactory(manager)
    for uid in HOSTILE:
        async with factory.get_user_client(redis_ssot.UserContext(uid, request_id="r1")) as c:
            assert c.request_id == "r1"
            await c.set("k", repr(uid))
            await c.hset("h", "f", repr(uid))
    for uid in HOSTILE:
        c = factory.user_client(redis_ssot.UserContext(uid))
        assert await c.get("k") == repr(uid).encode()
        assert await c.hgetall("h") == {b"f": repr(uid).encode()}
        assert await c.names() == ["h", "k"]
        assert c.user_id == uid
    assert factory.user_client(redis_ssot.UserContext("a:b")).key_of("k") == "{u:a%3Ab}:d:k"
    assert factory.user_client(redis_ssot.UserContext("*")).key_of("k") == "{u:%2A}:d:k"
    assert factory.user_client(redis_ssot.UserContext("{u:a}")).key_of("k") == "{u:%7Bu%3Aa%7D}:d:k"
    assert factory.user_client(redis_ssot.UserContext("ünï")).key_of("k") == "{u:%C3%BCn%C3%AF}:d:k"
    assert await manager.dbsize() == 2 * len(HOSTILE)

    star = factory.user_client(redis_ssot.UserContext("*"))
    assert await star.clear() == 2
    assert await star.get("k") is None
    assert await manager.dbsize() == 2 * (len(HOSTILE) - 1)
    assert await factory.user_client(redis_ssot.UserContext("a")).get("k") == b"'a'"

    with pytest.raises(redis_ssot.InvalidKey):
        redis_ssot.UserContext("")
    with pytest.raises(redis_ssot.InvalidKey):
        await star.get("bad*name")


async def test_user_client_commands(manager):
    factory = redis_ssot.RedisFactory(manager)
    c = factory.user_client(redis_ssot.UserContext("u1"))
    assert await c.set("n", 1) is True
    assert await c.incr("n", 4) == 5
    assert await c.exists("n") is True
    assert await c.expire("n", 100) is True
    assert 99 <= await c.ttl("n") <= 100
    assert await c.ttl("nope") == -2
    assert await c.rpush("l", "a", "b") == 2
    assert await c.lpush("l", "z") == 3
    assert await c.lrange("l", 0, -1) == [b"z", b"a", b"b"]
    assert await c.llen("l") == 3
    await c.set_json("j", {"a": [1, 2, None]}, ex=60)
    assert await c.get_json("j") == {"a": [1, 2, None]}
    assert await c.delete("j") is True
    assert await c.hdel("h", "x") == 0
    assert c.stats() == {"ops": 14, "errors": 0, "rejected": 0, "in_flight": 0}
    assert factory.live_users() == 1


async def test_sessions_and_blacklist_are_shared_with_rust(manager, server):
    binary = interop_binary()

    def rust(*args: str) -> str:
        out = subprocess.run([binary, args[0], server.url, *args[1:]], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    sessions = redis_ssot.SessionStore(manager)
    token = rust("create", "rust-user", json.dumps({"from": "rust"}))
    from_rust = await sessions.get(token)
    assert from_rust["user_id"] == "rust-user"
    assert from_rust["data"] == {"from": "rust"}
    assert from_rust["expires_at_ms"] - from_rust["created_at_ms"] == 3_600_000

    token2, made = await sessions.create("py-user:ü", {"from": "python", "n": 1})
    seen = json.loads(rust("get", token2))
    assert seen["id"] == made["id"]
    assert seen["user"] == "py-user%3A%C3%BC", "Rust holds the escaped user id"
    assert seen["data"] == {"from": "python", "n": 1}
    assert [s["id"] for s in await sessions.list_sessions("py-user:ü")] == [made["id"]]
    assert await sessions.delete(token2) is True
    assert rust("get", token2) == "none"

    blacklist = redis_ssot.TokenBlacklist(manager)
    await blacklist.revoke("jwt-from-python", 60)
    assert rust("revoked", "jwt-from-python") == "true"
    assert rust("revoke", "jwt-from-rust", "60") == "ok"
    assert await blacklist.is_revoked("jwt-from-rust") is True
    assert await blacklist.is_revoked("never") is False
    assert await blacklist.unrevoke("jwt-from-rust") is True
    assert rust("revoked", "jwt-from-rust") == "false"
    # Text that cannot be a token (a forged, truncated or old-system cookie) is no session,
    # as it was for redis-py code reading session:<token>; not text at all is a TypeError.
    keys_before = await manager.dbsize()
    for junk in ["not-a-token", "", "\x00\n", "x" * 1_000_000]:
        assert await sessions.get(junk) is None
        assert await sessions.touch(junk) is None
        assert await sessions.delete(junk) is False
    assert await manager.dbsize() == keys_before
    with pytest.raises(TypeError):
        await sessions.get(42)


async def test_session_life_cycle(manager):
    sessions = redis_ssot.SessionStore(manager, ttl=60)
    token, s = await sessions.create("alice", {"role": "admin"})
    assert len(token) == 64
    assert s["expires_at_ms"] - s["created_at_ms"] == 60_000
    touched = await sessions.touch(token)
    assert touched["id"] == s["id"]
    assert await sessions.revoke("bob", s["id"]) is False, "another user cannot revoke it"
    assert await sessions.revoke("alice", s["id"]) is True
    assert await sessions.get(token) is None
    assert await sessions.touch(token) is None
    await sessions.create("alice")
    await sessions.create("alice")
    assert await sessions.revoke_all("alice") == 2


async def test_rate_limiter(manager):
    limiter = redis_ssot.RateLimiter(manager)
    got = [await limiter.check("api:u1", 3, 10.0) for _ in range(4)]
    assert [d["allowed"] for d in got] == [True, True, True, False]
    assert [d["remaining"] for d in got[:3]] == [2, 1, 0]
    assert 0 < got[3]["retry_after"] <= 10
    with pytest.raises(redis_ssot.RateLimited) as e:
        await limiter.enforce("api:u1", 3, 10.0)
    assert 0 < e.value.retry_after <= 10
    await limiter.reset("api:u1")
    assert (await limiter.check("api:u1", 3, 10.0))["allowed"] is True


async def test_cache_single_flight_and_namespaces(manager, server):
    cache = redis_ssot.Cache(manager, "reports")
    other = redis_ssot.Cache(manager, "other")
    calls = 0

    async def compute():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return {"total": 42}

    got = await asyncio.gather(*(cache.get_or_compute("r1", 60, compute) for _ in range(20)))
    assert got == [{"total": 42}] * 20
    assert calls == 1
    assert server.cli("GET", "cache:reports:r1") == '{"total":42}'
    await cache.mset({"a": 1, "b": [1, 2]}, 60)
    assert await cache.mget(["a", "b", "c"]) == [1, [1, 2], None]
    await other.set("a", "theirs", 60)
    assert await cache.invalidate_namespace() == 3
    assert await other.get("a") == "theirs"
    server.cli("SET", "cache:reports:bad", "{not json")
    with pytest.raises(redis_ssot.DecodeError):
        await cache.get("bad")
    assert cache.stats()["hits"] >= 1
    with pytest.raises(TypeError) as e:
        await cache.set("x", {1, 2}, 60)
    assert "of type set, which cannot be stored as JSON" in str(e.value)
    with pytest.raises(redis_ssot.InvalidKey):
        redis_ssot.Cache(manager, "bad:ns")


async def test_user_cache_and_analytics(manager, server):
    perms = redis_ssot.UserCache.permissions(manager)
    await perms.set("u:1", ["read"])
    assert server.cli("GET", "cache:permissions:u%3A1") == '["read"]'
    assert 1799 <= int(server.cli("TTL", "cache:permissions:u%3A1")) <= 1800
    assert await perms.get("u:1") == ["read"]
    assert await perms.get_or_load("u:2", lambda: asyncio.sleep(0, ["write"])) == ["write"]
    assert await perms.invalidate("u:1") is True

    analytics = redis_ssot.Analytics(manager, event_cap=2)
    await analytics.cache_analytics_data("daily:1", {"users": 3})
    assert await analytics.get_analytics_data("daily:1") == {"users": 3}
    assert 3599 <= int(server.cli("TTL", "analytics:daily:1")) <= 3600
    for n in range(3):
        assert await analytics.record_event("logins", {"n": n}) == min(n + 1, 2)
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    assert await analytics.event_count("logins", day) == 2
    assert await analytics.events("logins", day) == [{"n": 2}, {"n": 1}]


async def test_agent_state_compare_and_set(manager):
    store = redis_ssot.AgentStateStore(manager)
    state = store.new_state("run1", "alice", "t1", {"step": 0})
    assert state["version"] == 0 and state["status"] == "pending"
    saved = await store.save("alice", state)
    assert saved["version"] == 1
    with pytest.raises(redis_ssot.Conflict):
        await store.save("alice", state)
    with pytest.raises(redis_ssot.Forbidden):
        await store.save("bob", saved)
    with pytest.raises(redis_ssot.NotFound):
        await store.load("bob", "run1")
    running = await store.update_status("alice", "run1", 1, "running")
    assert (running["version"], running["status"]) == (2, "running")
    loaded = await store.load("alice", "run1")
    assert loaded == running
    assert await store.thread_context("alice", "t1") == "run1"
    assert await store.append_message("alice", "t1", {"role": "user", "text": "hi"}) == 1
    assert await store.messages("alice", "t1") == [{"role": "user", "text": "hi"}]
    assert await store.message_count("alice", "t1") == 1
    assert await store.list_threads("alice") == ["t1"]
    await store.delete("alice", "run1")
    with pytest.raises(redis_ssot.NotFound):
        await store.load("alice", "run1")
    await store.delete_thread("alice", "t1")
    assert await store.list_threads("alice") == []
    with pytest.raises(ValueError) as e:
        await store.update_status("alice", "run1", 1, "sleeping")
    assert str(e.value) == 'status must be pending, running, completed, failed or cancelled, not "sleeping"'


async def test_store_arguments_get_plain_errors(manager):
    ctx = redis_ssot.UserContext("alice", request_id="req-1")
    assert repr(ctx) == "UserContext(user_id='alice', request_id='req-1')"
    assert repr(redis_ssot.UserContext("bob")) == "UserContext(user_id='bob', request_id=None)"
    limiter = redis_ssot.RateLimiter(manager)
    with pytest.raises(ValueError) as e:
        await limiter.check("k", 1, 0)
    assert str(e.value) == "window must be a positive number of seconds, got 0"
    analytics = redis_ssot.Analytics(manager)
    with pytest.raises(ValueError) as e:
        await analytics.events("clicks", "yesterday")
    assert str(e.value) == "day must be a datetime.date or text like '2024-05-31' (YYYY-MM-DD), got \"yesterday\""
    await analytics.record_event("clicks", {"n": 1})
    today = datetime.datetime.now(datetime.timezone.utc).date()
    assert await analytics.events("clicks", today) == [{"n": 1}]
    assert await analytics.event_count("clicks", today.isoformat()) == 1


async def test_async_cache_takes_a_plain_function_too_and_factory_scope_works(manager):
    cache = redis_ssot.Cache(manager, "plain")
    assert await cache.get_or_compute("k", 10, lambda: {"v": 2}) == {"v": 2}
    assert await cache.get("k") == {"v": 2}
    factory = redis_ssot.RedisFactory(manager)
    async with factory.get_user_client(redis_ssot.UserContext("u1")) as client:
        assert await client.set("k", "v") is True
