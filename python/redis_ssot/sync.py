"""The blocking API: the same manager, for plain threads (scripts, WSGI, thread pools).

Thread-safe: any number of threads may share one manager; a call waits with the GIL released,
so other threads (and an asyncio loop in another thread) keep running. It shares the
process-wide manager with the asyncio API, so ``redis_ssot.sync.init(url)`` and
``redis_ssot.init(url)`` give two views of one manager and one connection::

    from redis_ssot import sync

    manager = sync.init("redis://127.0.0.1:6379")
    manager.wait_ready(5)
    manager.set("k", "v")
    assert manager.get("k") == b"v"

Stores made with a blocking manager (``SessionStore(manager)``, ...) block too.
"""

from __future__ import annotations

import collections
from typing import Any, Dict, Iterator, Optional

from . import _native
from . import _BlockingWaits, _decoding, _view  # type: ignore[attr-defined]
from .errors import *  # noqa: F401,F403
from .errors import Closed


class RedisManager(_BlockingWaits):
    """The process's Redis manager, blocking. Every command returns its value."""

    def scan_iter(self, match: Any = None, count: Optional[int] = None, _type: Any = None) -> Iterator[Any]:
        """Every key matching ``match`` (SCAN, never KEYS)."""
        cursor = 0
        while True:
            cursor, keys = self.scan(cursor, match=match, count=count, _type=_type)
            yield from keys
            if cursor == 0:
                return

    def hscan_iter(
        self, name: Any, match: Any = None, count: Optional[int] = None, no_values: Optional[bool] = None
    ) -> Iterator[Any]:
        """Every ``(field, value)`` of the hash ``name`` (HSCAN); with ``no_values`` the fields."""
        cursor = 0
        while True:
            cursor, data = self.hscan(name, cursor, match=match, count=count, no_values=no_values)
            yield from (data if no_values else data.items())
            if cursor == 0:
                return

    def sscan_iter(self, name: Any, match: Any = None, count: Optional[int] = None) -> Iterator[Any]:
        """Every member of the set ``name`` (SSCAN)."""
        cursor = 0
        while True:
            cursor, members = self.sscan(name, cursor, match=match, count=count)
            yield from members
            if cursor == 0:
                return

    def zscan_iter(self, name: Any, match: Any = None, count: Optional[int] = None) -> Iterator[Any]:
        """Every ``(member, score)`` of the sorted set ``name`` (ZSCAN), scores as floats."""
        cursor = 0
        while True:
            cursor, pairs = self.zscan(name, cursor, match=match, count=count)
            yield from pairs
            if cursor == 0:
                return

    def pipeline(self, transaction: bool = True) -> "Pipeline":
        """A buffered pipeline; ``pipe.execute()`` runs it whole or raises."""
        return Pipeline(self, mode="blocking", pipeline=True, transaction=transaction)

    def pubsub(self) -> "PubSub":
        """A blocking pub/sub object on its own connection."""
        return PubSub(self)

    def register_script(self, script: Any) -> "_native.Script":
        """A callable Lua script: ``script(keys=[...], args=[...])``."""
        return _native.Script(self, script)

    def close(self, grace: Optional[float] = None) -> None:
        """Shuts the manager down (see the asyncio ``aclose``)."""
        self.aclose(grace)

    def client(self, *, decode_responses: bool) -> "RedisManager":
        """A handle on the same manager with the other decoding."""
        return _view(self, decode_responses, RedisManager, "blocking")


class Pipeline(_native.Client):
    """A buffered blocking pipeline; use as ``with manager.pipeline() as pipe:``."""

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.reset()


class PubSub(_native.PubSub):
    """A blocking pub/sub object; messages as in the asyncio :class:`redis_ssot.PubSub`."""

    def __init__(self, manager: RedisManager) -> None:
        self._decode = manager.decode_responses
        self._confirmations: "collections.deque[Dict[str, Any]]" = collections.deque()
        self.channels: set = set()
        self.patterns: set = set()
        self._closed = False

    @property
    def subscribed(self) -> bool:
        """Whether any channel or pattern is subscribed."""
        return bool(self.channels or self.patterns)

    def _name(self, name: Any) -> Any:
        raw = name.encode() if isinstance(name, str) else bytes(name)
        return raw.decode() if self._decode else raw

    def _confirm(self, kind: str, names: Any, target: set, add: bool) -> None:
        for n in names:
            (target.add if add else target.discard)(n)
            count = len(self.channels) + len(self.patterns)
            self._confirmations.append({"type": kind, "pattern": None, "channel": n, "data": count})

    def subscribe(self, *channels: Any) -> None:
        """SUBSCRIBE; returns once the server confirmed."""
        if not channels:
            raise ValueError("subscribe needs at least one channel")
        self._subscribe(*channels)
        self._confirm("subscribe", [self._name(c) for c in channels], self.channels, True)

    def psubscribe(self, *patterns: Any) -> None:
        """PSUBSCRIBE."""
        if not patterns:
            raise ValueError("psubscribe needs at least one pattern")
        self._psubscribe(*patterns)
        self._confirm("psubscribe", [self._name(p) for p in patterns], self.patterns, True)

    def unsubscribe(self, *channels: Any) -> None:
        """UNSUBSCRIBE (every channel when none is given)."""
        names = [self._name(c) for c in channels] or sorted(self.channels)
        self._unsubscribe(*channels)
        self._confirm("unsubscribe", names, self.channels, False)

    def punsubscribe(self, *patterns: Any) -> None:
        """PUNSUBSCRIBE (every pattern when none is given)."""
        names = [self._name(p) for p in patterns] or sorted(self.patterns)
        self._punsubscribe(*patterns)
        self._confirm("punsubscribe", names, self.patterns, False)

    def get_message(self, ignore_subscribe_messages: bool = False, timeout: Optional[float] = 0.0) -> Optional[Dict[str, Any]]:
        """The next message within ``timeout`` seconds (``None``: wait), or ``None``."""
        while self._confirmations:
            message = self._confirmations.popleft()
            if not ignore_subscribe_messages:
                return message
        return self._next(timeout)

    def listen(self) -> Iterator[Dict[str, Any]]:
        """Every message, as long as something is subscribed; ends when the PubSub is closed
        (also from another thread)."""
        while not self._closed and (self.subscribed or self._confirmations):
            try:
                message = self.get_message(timeout=None)
            except Closed:
                if self._closed:
                    return
                raise
            if message is not None:
                yield message

    def close(self) -> None:
        """Closes the connection; a running ``listen()`` ends, later calls raise ``Closed``."""
        self._closed = True
        self.channels.clear()
        self.patterns.clear()
        self._confirmations.clear()
        self._close()

    def __enter__(self) -> "PubSub":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def init(url: Optional[str] = None, *, decode_responses: bool = False, **options: Any) -> RedisManager:
    """The process-wide manager, blocking view (see :func:`redis_ssot.init`)."""
    decode = _decoding(decode_responses)
    return _view(_native.init(url, options, decode), decode, RedisManager, "blocking")


def get_redis_manager(*, decode_responses: Optional[bool] = None) -> RedisManager:
    """The process-wide manager, blocking view, decoding as its ``init`` chose unless told
    otherwise; :class:`NotInitialized` before ``init``."""
    return _view(_native.get_redis_manager(), decode_responses, RedisManager, "blocking")


__all__ = ["init", "get_redis_manager", "RedisManager", "Pipeline", "PubSub"]
