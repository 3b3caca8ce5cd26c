"""Pub/sub: redis-py-shaped messages, channels that change at run time on one connection,
and exactly one `gap` message after the server was killed and restarted."""

from __future__ import annotations

import asyncio

import pytest

import redis_ssot


async def next_message(ps, timeout=5.0):
    message = await ps.get_message(ignore_subscribe_messages=True, timeout=timeout)
    assert message is not None, "no message within the timeout"
    return message


async def test_messages_confirmations_and_patterns(manager, server):
    before = len(server.clients())
    ps = manager.pubsub()
    await ps.subscribe("news", b"sport")
    await ps.psubscribe("user.*")
    assert len(server.clients()) == before + 1, "one connection for every channel and pattern"
    assert ps.subscribed is True
    assert await ps.get_message() == {"type": "subscribe", "pattern": None, "channel": b"news", "data": 1}
    assert await ps.get_message() == {"type": "subscribe", "pattern": None, "channel": b"sport", "data": 2}
    assert await ps.get_message() == {"type": "psubscribe", "pattern": None, "channel": b"user.*", "data": 3}
    assert await ps.get_message(timeout=0.05) is None

    assert await manager.publish("news", "hello") == 1
    assert await next_message(ps) == {"type": "message", "pattern": None, "channel": b"news", "data": b"hello"}
    assert await manager.publish("user.7", b"\x00bin") == 1
    assert await next_message(ps) == {
        "type": "pmessage",
        "pattern": b"user.*",
        "channel": b"user.7",
        "data": b"\x00bin",
    }

    await ps.unsubscribe("news")
    assert await ps.get_message() == {"type": "unsubscribe", "pattern": None, "channel": b"news", "data": 2}
    assert await manager.publish("news", "nobody") == 0
    await ps.aclose()
    with pytest.raises(redis_ssot.Closed):
        await ps.get_message()


async def test_decoded_messages_and_listen(manager, server):
    text = manager.client(decode_responses=True)
    async with text.pubsub() as ps:
        await ps.subscribe("c")
        got = []

        async def consume():
            async for m in ps.listen():
                got.append(m)
                if m["type"] == "message" and m["data"] == "stop":
                    return

        consumer = asyncio.ensure_future(consume())
        for word in ("a", "b", "stop"):
            await manager.publish("c", word)
        await asyncio.wait_for(consumer, 5)
    assert got == [
        {"type": "subscribe", "pattern": None, "channel": "c", "data": 1},
        {"type": "message", "pattern": None, "channel": "c", "data": "a"},
        {"type": "message", "pattern": None, "channel": "c", "data": "b"},
        {"type": "message", "pattern": None, "channel": "c", "data": "stop"},
    ]


async def test_one_gap_message_after_a_restart_then_delivery_resumes(manager, server):
    ps = manager.pubsub()
    await ps.subscribe("a", "b")
    await ps.psubscribe("p.*")
    assert await manager.publish("a", "1") == 1
    assert (await next_message(ps))["data"] == b"1"

    server.kill()
    with pytest.raises(redis_ssot.Unavailable):
        await manager.get("poke")
    with pytest.raises(redis_ssot.Unavailable):
        await ps.subscribe("during-outage")
    server.restart()
    await manager.wait_ready(10)

    assert await next_message(ps, timeout=10) == {"type": "gap", "pattern": None, "channel": None, "data": None}
    for channel in ("a", "b", "p.x"):
        assert await manager.publish(channel, channel) == 1
    got = [await next_message(ps) for _ in range(3)]
    assert [(m["type"], m["channel"]) for m in got] == [("message", b"a"), ("message", b"b"), ("pmessage", b"p.x")]
    assert await ps.get_message(timeout=0.2) is None, "exactly one gap"
    await ps.aclose()


async def test_a_cancelled_get_message_does_not_swallow_the_next_message(manager):
    ps = manager.pubsub()
    await ps.subscribe("c")
    assert (await ps.get_message())["type"] == "subscribe"
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(ps.get_message(timeout=None), 0.05)
    assert await manager.publish("c", "after") == 1
    assert await next_message(ps) == {"type": "message", "pattern": None, "channel": b"c", "data": b"after"}
    await ps.aclose()


async def test_aclose_from_another_task_ends_listen(manager):
    ps = manager.pubsub()
    await ps.subscribe("c")
    got = []

    async def consume():
        async for m in ps.listen():
            got.append(m["type"])

    consumer = asyncio.ensure_future(consume())
    await manager.publish("c", "x")
    while len(got) < 2:
        await asyncio.sleep(0.01)
    await ps.aclose()
    assert await asyncio.wait_for(consumer, 2) is None
    assert got == ["subscribe", "message"]
    assert ps.subscribed is False
    with pytest.raises(redis_ssot.Closed):
        await ps.get_message()
