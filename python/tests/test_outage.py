"""Outages on a real server: kill -9, restart, readiness, operator controls, and what every
call says while Redis is gone (an Unavailable error, never a silent None)."""

from __future__ import annotations

import asyncio

import pytest

import redis_ssot

OUTAGE_KINDS = (
    redis_ssot.NotReady,
    redis_ssot.ConnectionError,
    redis_ssot.Timeout,
    redis_ssot.CircuitOpen,
)


async def test_a_miss_is_none_and_an_outage_raises_unavailable_never_none(manager, server):
    await manager.set("k", "v")
    assert await manager.get("missing") is None
    server.kill()
    calls = [
        lambda: manager.get("k"),
        lambda: manager.get("missing"),
        lambda: manager.hgetall("h"),
        lambda: manager.smembers("s"),
        lambda: manager.exists("k"),
        lambda: manager.set("k", "v2"),
        lambda: manager.pipeline().get("k").execute(),
    ]
    seen = set()
    for _ in range(5):
        for call in calls:
            with pytest.raises(redis_ssot.Unavailable) as e:
                await call()
            assert isinstance(e.value, OUTAGE_KINDS), repr(e.value)
            seen.add(type(e.value))
        await asyncio.sleep(0.05)
    assert redis_ssot.NotReady in seen or redis_ssot.ConnectionError in seen
    status = manager.status()
    assert status["ready"] is False
    assert status["not_ready"]["reason"] in ("unreachable", "connecting", "no_answer", "breaker_open")
    assert status["verdict"].startswith("not ready (")
    assert manager.is_ready is False

    server.restart()
    await manager.wait_ready(10)
    assert manager.is_ready is True
    assert await manager.get("k") is None, "no persistence: the restarted server is empty"
    assert await manager.set("k", "back") is True
    assert await manager.get("k") == b"back"
    assert manager.status()["reconnects"] >= 1


async def test_not_ready_carries_the_state_and_wait_ready_says_why(manager, server):
    server.kill()
    with pytest.raises(redis_ssot.Unavailable):
        await manager.get("poke")
    with pytest.raises(redis_ssot.NotReady) as e:
        await manager.wait_ready(0.2)
    assert e.value.state in ("reconnecting", "connecting")
    # The reason is in the message itself, not only in status().
    assert str(e.value).startswith("redis was still not ready after 200ms: not ready ("), e.value
    server.restart()
    await manager.wait_ready(10)


async def test_security_stores_fail_closed_unless_asked_to_fail_open(manager, server):
    closed = redis_ssot.TokenBlacklist(manager)
    opened = redis_ssot.TokenBlacklist(manager, fail_open=True)
    limiter = redis_ssot.RateLimiter(manager)
    await closed.revoke("tok", 60)
    assert await closed.is_revoked("tok") is True
    server.kill()
    await asyncio.sleep(0.05)
    with pytest.raises(redis_ssot.Unavailable):
        await closed.is_revoked("tok")
    assert await opened.is_revoked("tok") is False
    with pytest.raises(redis_ssot.Unavailable):
        await limiter.check("api", 10, 1.0)
    server.restart()
    await manager.wait_ready(10)


async def test_force_reconnect_under_concurrent_writers_loses_nothing(manager, server):
    done = asyncio.Event()
    errors = []
    written = [0] * 20

    async def writer(i):
        while not done.is_set():
            try:
                await manager.incr(f"w{i}")
                written[i] += 1
            except Exception as e:  # noqa: BLE001 - every error is a failure of the test
                errors.append(e)
            await asyncio.sleep(0)

    tasks = [asyncio.ensure_future(writer(i)) for i in range(20)]
    opened_before = manager.status()["connections_opened"]
    for _ in range(5):
        await asyncio.sleep(0.05)
        await manager.force_reconnect()
    await asyncio.sleep(0.05)
    done.set()
    await asyncio.gather(*tasks)
    assert errors == []
    assert manager.status()["connections_opened"] == opened_before + 5
    assert sum(written) > 100
    for i in range(20):
        assert await manager.get(f"w{i}") == str(written[i]).encode()
    assert len(server.clients()) == 1


async def test_reset_circuit_breaker_and_status_hold_no_secret(server):
    m = redis_ssot.init(server.url.replace("redis://", "redis://:hunter2@"), connect_timeout=0.5)
    try:
        with pytest.raises(redis_ssot.Unavailable):
            await m.wait_ready(0.5)
        status = m.status()
        assert "hunter2" not in repr(status)
        assert "hunter2" not in repr(m)
        assert status["url"] == f"redis://:***@127.0.0.1:{server.port}/0"
        assert m.reset_circuit_breaker() is None
        assert m.status()["breaker"]["state"] == "closed"
    finally:
        await m.aclose()


async def test_aclose_refuses_later_calls_and_init_makes_a_new_manager(server):
    m = redis_ssot.init(server.url)
    await m.wait_ready(5)
    await m.aclose()
    with pytest.raises(redis_ssot.Closed):
        await m.get("k")
    assert m.state == "closed"
    fresh = redis_ssot.init(server.url)
    assert not fresh.same_as(m)
    await fresh.wait_ready(5)
    assert await fresh.ping() is True
    await fresh.aclose()


async def test_a_hung_server_is_a_timeout_and_too_many_in_flight_is_overloaded(server):
    m = redis_ssot.init(server.url, command_timeout=0.3, max_in_flight=5, health_interval=60)
    await m.wait_ready(5)
    try:
        while m.status()["health_checks"] < 1:  # the check after connecting is done
            await asyncio.sleep(0.01)
        server.pause()
        try:
            results = await asyncio.gather(*(m.get("k") for _ in range(50)), return_exceptions=True)
        finally:
            server.resume()
        kinds = [type(r).__name__ for r in results]
        assert kinds.count("Timeout") == 5, kinds
        assert kinds.count("Overloaded") == 45, kinds
        timeout = next(r for r in results if isinstance(r, redis_ssot.Timeout))
        overloaded = next(r for r in results if isinstance(r, redis_ssot.Overloaded))
        assert (timeout.op, timeout.after, overloaded.limit) == ("GET", 0.3, 5)
        assert isinstance(timeout, redis_ssot.Unavailable) and isinstance(overloaded, redis_ssot.Unavailable)
        await m.wait_ready(5)
        assert await m.ping() is True
    finally:
        await m.aclose()
