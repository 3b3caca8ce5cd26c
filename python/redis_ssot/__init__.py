"""redis_ssot: one Redis manager per process, for asyncio services.

Every command goes through the Rust manager's one choke point (readiness, circuit breaker,
in-flight limit, deadline, metrics, error kinds), over one shared connection::

    import redis_ssot

    manager = redis_ssot.init("redis://127.0.0.1:6379")   # once; later: get_redis_manager()
    await manager.wait_ready(5)
    await manager.set("greeting", "hello")
    assert await manager.get("greeting") == b"hello"

Names follow redis-py. A missing key is ``None``; an outage raises an :class:`Unavailable`
subclass; nothing returns ``None`` or ``False`` to mean "it failed". The blocking API is
:mod:`redis_ssot.sync`. See ``docs/python.md`` for the migration guide.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import inspect
import logging
import threading
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Optional, Tuple

from . import _native
from .errors import *  # noqa: F401,F403
from .errors import Closed, Unavailable
from .errors import __all__ as _error_names

__version__ = "0.1.0"

_log = logging.getLogger("redis_ssot")


_NO_TIMEOUT: Any = object()


def _block_timeout(command: str, timeout: Any) -> float:
    """A blocking command's timeout, checked: required and positive. redis-py's default (0,
    wait forever) is refused rather than replaced: a command never waits without a deadline,
    and a silent short default would turn "wait for work" into a busy loop of ``None``."""
    if timeout is _NO_TIMEOUT:
        raise TypeError(
            f"{command} needs a timeout in seconds, e.g. {command}(keys, timeout=5) "
            "(waiting forever, redis-py's default, is not supported: a command never waits "
            "without a deadline)"
        )
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
        raise TypeError(f"{command}: timeout must be a number of seconds, not {type(timeout).__name__}")
    if timeout is None or not timeout > 0:
        raise ValueError(
            f"{command} needs a positive timeout in seconds; got {timeout!r} (waiting forever "
            "is not supported: a command never waits without a deadline)"
        )
    if timeout > 1e9:
        raise ValueError(f"{command}: timeout must be at most 1000000000 seconds (about 31 years), got {timeout!r}")
    return float(timeout)


class _BlockingWaits(_native.Client):
    """The blocking commands of both managers (asyncio and :mod:`redis_ssot.sync`): each runs
    on a dedicated connection and needs a positive ``timeout`` (redis-py's default of 0 would
    wait forever; here a missing one is a ``TypeError``, a bad one a ``ValueError``).
    Cancelling an asyncio await gives the connection back."""

    def blpop(self, keys: Any, timeout: Any = _NO_TIMEOUT) -> Any:
        """BLPOP: ``(key, value)``, or ``None`` after ``timeout`` seconds."""
        return super().blpop(keys, _block_timeout("blpop", timeout))

    def brpop(self, keys: Any, timeout: Any = _NO_TIMEOUT) -> Any:
        """BRPOP, as :meth:`blpop`."""
        return super().brpop(keys, _block_timeout("brpop", timeout))

    def brpoplpush(self, src: Any, dst: Any, timeout: Any = _NO_TIMEOUT) -> Any:
        """BRPOPLPUSH: the element moved, or ``None`` after ``timeout`` seconds."""
        return super().brpoplpush(src, dst, _block_timeout("brpoplpush", timeout))

    def blmove(
        self, first_list: Any, second_list: Any, timeout: Any = _NO_TIMEOUT, src: str = "LEFT", dest: str = "RIGHT"
    ) -> Any:
        """BLMOVE: as ``lmove``, waiting up to ``timeout`` seconds for an element; ``None``
        if none came."""
        return super().blmove(first_list, second_list, _block_timeout("blmove", timeout), src, dest)


class RedisManager(_BlockingWaits):
    """The process's Redis manager (asyncio). Get it from :func:`init` or
    :func:`get_redis_manager`; every command method returns an awaitable."""

    async def scan_iter(
        self, match: Any = None, count: Optional[int] = None, _type: Any = None
    ) -> AsyncIterator[Any]:
        """Every key matching ``match`` (SCAN, never KEYS), as an async iterator. A key may
        come twice if the key space is resized mid-scan (SCAN's own guarantee)."""
        cursor = 0
        while True:
            cursor, keys = await self.scan(cursor, match=match, count=count, _type=_type)
            for key in keys:
                yield key
            if cursor == 0:
                return

    async def hscan_iter(
        self, name: Any, match: Any = None, count: Optional[int] = None, no_values: Optional[bool] = None
    ) -> AsyncIterator[Any]:
        """Every ``(field, value)`` of the hash ``name`` (HSCAN), as an async iterator; with
        ``no_values`` (Redis 7.4+) the fields alone."""
        cursor = 0
        while True:
            cursor, data = await self.hscan(name, cursor, match=match, count=count, no_values=no_values)
            for item in data if no_values else data.items():
                yield item
            if cursor == 0:
                return

    async def sscan_iter(self, name: Any, match: Any = None, count: Optional[int] = None) -> AsyncIterator[Any]:
        """Every member of the set ``name`` (SSCAN), as an async iterator."""
        cursor = 0
        while True:
            cursor, members = await self.sscan(name, cursor, match=match, count=count)
            for member in members:
                yield member
            if cursor == 0:
                return

    async def zscan_iter(self, name: Any, match: Any = None, count: Optional[int] = None) -> AsyncIterator[Any]:
        """Every ``(member, score)`` of the sorted set ``name`` (ZSCAN), scores as floats."""
        cursor = 0
        while True:
            cursor, pairs = await self.zscan(name, cursor, match=match, count=count)
            for pair in pairs:
                yield pair
            if cursor == 0:
                return

    def pipeline(self, transaction: bool = True) -> "Pipeline":
        """A buffered pipeline (MULTI/EXEC when ``transaction``): chain commands, then
        ``await pipe.execute()``. It runs whole or raises."""
        return Pipeline(self, pipeline=True, transaction=transaction)

    def pubsub(self) -> "PubSub":
        """A pub/sub object on its own connection; channels can change at any time."""
        return PubSub(self)

    def register_script(self, script: Any) -> "_native.Script":
        """A callable Lua script: ``await script(keys=[...], args=[...])`` (EVALSHA, with
        EVAL when the server lost its script cache)."""
        return _native.Script(self, script)

    def client(self, *, decode_responses: bool) -> "RedisManager":
        """A handle on the same manager that decodes replies (``str``) or not (``bytes``)."""
        return _view(self, decode_responses, RedisManager, "async")


class Pipeline(_native.Client):
    """A buffered pipeline; command methods return the pipeline, so calls chain."""

    async def __aenter__(self) -> "Pipeline":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.reset()


class PubSub(_native.PubSub):
    """redis-py's pub/sub object: ``await ps.subscribe("ch")``, then ``get_message`` or
    ``async for message in ps.listen()``. Messages are dicts with ``type``, ``pattern``,
    ``channel`` and ``data``. After the connection was lost and every channel subscribed
    again, one message of type ``gap`` says that messages may have been missed."""

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

    def _confirm(self, kind: str, names: Tuple[Any, ...], target: set, add: bool) -> None:
        for n in names:
            (target.add if add else target.discard)(n)
            self._confirmations.append(
                {
                    "type": kind,
                    "pattern": None,
                    "channel": n,
                    "data": len(self.channels) + len(self.patterns),
                }
            )

    async def subscribe(self, *channels: Any) -> None:
        """SUBSCRIBE; returns once the server confirmed. Raises an :class:`Unavailable`
        error while Redis cannot serve it."""
        if not channels:
            raise ValueError("subscribe needs at least one channel")
        await self._subscribe(*channels)
        self._confirm("subscribe", tuple(self._name(c) for c in channels), self.channels, True)

    async def psubscribe(self, *patterns: Any) -> None:
        """PSUBSCRIBE; messages matching a pattern arrive with type ``pmessage``."""
        if not patterns:
            raise ValueError("psubscribe needs at least one pattern")
        await self._psubscribe(*patterns)
        self._confirm("psubscribe", tuple(self._name(p) for p in patterns), self.patterns, True)

    async def unsubscribe(self, *channels: Any) -> None:
        """UNSUBSCRIBE from ``channels``, or from every channel when none is given."""
        names = tuple(self._name(c) for c in channels) or tuple(sorted(self.channels))
        await self._unsubscribe(*channels)
        self._confirm("unsubscribe", names, self.channels, False)

    async def punsubscribe(self, *patterns: Any) -> None:
        """PUNSUBSCRIBE from ``patterns``, or from every pattern when none is given."""
        names = tuple(self._name(p) for p in patterns) or tuple(sorted(self.patterns))
        await self._punsubscribe(*patterns)
        self._confirm("punsubscribe", names, self.patterns, False)

    async def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: Optional[float] = 0.0
    ) -> Optional[Dict[str, Any]]:
        """The next message, waiting up to ``timeout`` seconds (``None``: until one comes);
        ``None`` when none came in time. Raises :class:`Closed` once closed."""
        while self._confirmations:
            message = self._confirmations.popleft()
            if not ignore_subscribe_messages:
                return message
        return await self._next(timeout)

    async def listen(self) -> AsyncIterator[Dict[str, Any]]:
        """Every message, as long as something is subscribed; ends when the PubSub is closed
        (also from another task), as in redis-py."""
        while not self._closed and (self.subscribed or self._confirmations):
            try:
                message = await self.get_message(timeout=None)
            except Closed:
                if self._closed:
                    return
                raise
            if message is not None:
                yield message

    async def aclose(self) -> None:
        """Closes the connection; a running ``listen()`` ends, later calls raise
        :class:`Closed`."""
        self._closed = True
        self.channels.clear()
        self.patterns.clear()
        self._confirmations.clear()
        self._close()

    async def __aenter__(self) -> "PubSub":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


_views: Dict[Tuple[int, bool, str], Any] = {}
_views_lock = threading.Lock()


def _decoding(decode_responses: Any) -> bool:
    """``decode_responses`` checked: a bool, not merely truthy (``"no"`` is truthy)."""
    if not isinstance(decode_responses, bool):
        raise TypeError(f"decode_responses must be a bool (True or False), not {type(decode_responses).__name__}")
    return decode_responses


def _view(root: Any, decode_responses: Optional[bool], cls: type, mode: str) -> Any:
    """The one handle of ``cls`` per manager and decoding, so ``init() is init()``; ``None``
    means the decoding of the ``init`` that made the manager."""
    if decode_responses is None:
        decode_responses = root.decode_responses
    key = (root._core_id, _decoding(decode_responses), mode)
    with _views_lock:
        view = _views.get(key)
        if view is None or not view.same_as(root):
            # Views of managers closed since are dead weight: drop them with this miss.
            for k in [k for k, v in _views.items() if v.state == "closed"]:
                del _views[k]
            view = cls(root, mode=mode, decode_responses=bool(decode_responses))
            _views[key] = view
        return view


def init(url: Optional[str] = None, *, decode_responses: bool = False, **options: Any) -> RedisManager:
    """Creates the process-wide manager and starts connecting in the background, or returns
    the existing one when ``url`` and ``options`` are the same. A different configuration
    raises :class:`ConfigError` (one manager per process); after ``aclose()`` a new one can be
    made. With no URL it reads ``REDIS_URL``, ``REDIS_PASSWORD`` and every ``REDIS_SSOT_*``.

    Options (seconds for durations): ``command_timeout``, ``connect_timeout``,
    ``max_in_flight``, ``breaker_failure_threshold``, ``breaker_cooldown``, ... (see
    ``redis_ssot._native.CONFIG_OPTIONS``). ``decode_responses`` picks the handle's view: the
    manager and its connection are the same either way. The call that makes the manager
    also makes its ``decode_responses`` the default of :func:`get_redis_manager`.
    """
    decode = _decoding(decode_responses)
    return _view(_native.init(url, options, decode), decode, RedisManager, "async")


def get_redis_manager(*, decode_responses: Optional[bool] = None) -> RedisManager:
    """The process-wide manager, decoding as the :func:`init` that made it chose unless
    ``decode_responses`` says otherwise; :class:`NotInitialized` before :func:`init`."""
    return _view(_native.get_redis_manager(), decode_responses, RedisManager, "async")


async def _single_flight(
    flights: Dict[Any, "asyncio.Future[Any]"],
    key: Any,
    read: Callable[[], Awaitable[Any]],
    compute: Callable[[], Any],
    write: Callable[[Any], Awaitable[None]],
) -> Any:
    """The cached value, or ``compute()``'s (awaited if it is awaitable), computed once for
    concurrent misses on ``key`` in this event loop. An outage computes the value and returns
    it uncached (logged); a stored value that does not decode raises :class:`DecodeError`."""
    cached_ok = True
    try:
        value = await read()
        if value is not None:
            return value
    except Unavailable as e:
        cached_ok = False
        _log.warning("cache unavailable for %r, computing uncached: %s", key, e)
    flight = flights.get(key)
    if flight is not None:
        return await asyncio.shield(flight)
    flight = asyncio.get_running_loop().create_future()
    flights[key] = flight
    try:
        value = compute()
        if inspect.isawaitable(value):
            value = await value
        if cached_ok:
            try:
                await write(value)
            except Unavailable as e:
                _log.warning("computed value for %r not cached: %s", key, e)
        flight.set_result(value)
        return value
    except asyncio.CancelledError:
        flight.cancel()
        raise
    except BaseException as e:
        flight.set_exception(e)
        flight.exception()  # retrieved here; waiters re-raise it from their await
        raise
    finally:
        flights.pop(key, None)


class _BlockingFlights:
    """Single-flight for a store made with a blocking manager: concurrent misses on one key,
    in any thread, share one computation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: Dict[Any, "concurrent.futures.Future[Any]"] = {}

    def run(self, key: Any, read: Callable[[], Any], compute: Callable[[], Any], write: Callable[[Any], None]) -> Any:
        """As :func:`_single_flight`, blocking."""
        cached_ok = True
        try:
            value = read()
            if value is not None:
                return value
        except Unavailable as e:
            cached_ok = False
            _log.warning("cache unavailable for %r, computing uncached: %s", key, e)
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = concurrent.futures.Future()
        assert flight is not None
        if not leader:
            return flight.result()
        try:
            value = compute()
            if inspect.isawaitable(value):
                if inspect.iscoroutine(value):
                    value.close()
                raise TypeError(
                    "this store was made with a blocking manager (redis_ssot.sync), so the "
                    "function must return the value itself, not an awaitable"
                )
            if cached_ok:
                try:
                    write(value)
                except Unavailable as e:
                    _log.warning("computed value for %r not cached: %s", key, e)
            flight.set_result(value)
            return value
        except BaseException as e:
            flight.set_exception(e)
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)


def _is_blocking(manager: Any) -> bool:
    return isinstance(manager, _native.Client) and manager._blocking


class Cache(_native.Cache):
    """JSON values with TTLs in one namespace (``cache:<namespace>:<key>``). Made with a
    blocking manager (:mod:`redis_ssot.sync`), every method blocks."""

    def __init__(self, manager: RedisManager, namespace: str) -> None:
        self._flights: Dict[Any, "asyncio.Future[Any]"] = {}
        self._blocking_flights = _BlockingFlights() if _is_blocking(manager) else None

    def get_or_compute(self, key: str, ttl: float, compute: Callable[[], Any]) -> Any:
        """The cached value, or ``compute()``'s stored for ``ttl`` seconds; concurrent misses
        on one key share one computation (per event loop; across threads when blocking).
        With an asyncio manager it returns an awaitable and ``compute`` may be async."""
        if self._blocking_flights is not None:
            return self._blocking_flights.run(key, lambda: self.get(key), compute, lambda v: self.set(key, v, ttl))
        return _single_flight(
            self._flights, key, lambda: self.get(key), compute, lambda v: self.set(key, v, ttl)
        )


class UserCache(_native.UserCache):
    """A per-user JSON cache: ``UserCache.user_data(manager)``, ``UserCache.permissions(manager)``."""

    def __init__(self, manager: RedisManager, namespace: Optional[str] = None, ttl: float = 1800.0) -> None:
        self._flights: Dict[Any, "asyncio.Future[Any]"] = {}
        self._blocking_flights = _BlockingFlights() if _is_blocking(manager) else None

    @classmethod
    def user_data(cls, manager: RedisManager) -> "UserCache":
        """The user-data cache (``cache:user_data:<uid>``, 30 minutes)."""
        return cls(manager, "user_data")

    @classmethod
    def permissions(cls, manager: RedisManager) -> "UserCache":
        """The permission cache (``cache:permissions:<uid>``, 30 minutes)."""
        return cls(manager, "permissions")

    def get_or_load(self, user_id: Any, load: Callable[[], Any]) -> Any:
        """The cached value for ``user_id``, or ``load()``'s cached (single-flight); blocks
        when the cache was made with a blocking manager."""
        if self._blocking_flights is not None:
            return self._blocking_flights.run(user_id, lambda: self.get(user_id), load, lambda v: self.set(user_id, v))
        return _single_flight(
            self._flights, user_id, lambda: self.get(user_id), load, lambda v: self.set(user_id, v)
        )


class _UserClientScope:
    """What ``get_user_client`` returns: usable with ``async with`` and with ``with``."""

    def __init__(self, client: "_native.UserClient") -> None:
        self._client = client

    def __enter__(self) -> "_native.UserClient":
        return self._client

    def __exit__(self, *exc: Any) -> None:
        return None

    async def __aenter__(self) -> "_native.UserClient":
        return self._client

    async def __aexit__(self, *exc: Any) -> None:
        return None


class RedisFactory(_native.RedisFactory):
    """Per-user clients on the one manager: ``async with factory.get_user_client(ctx) as c``
    (``with`` for a blocking manager)."""

    def get_user_client(self, ctx: "_native.UserContext") -> _UserClientScope:
        """A client confined to ``ctx.user_id``'s key space (no connection of its own)."""
        return _UserClientScope(self.user_client(ctx))


Script = _native.Script
UserContext = _native.UserContext
UserClient = _native.UserClient
SessionStore = _native.SessionStore
TokenBlacklist = _native.TokenBlacklist
RateLimiter = _native.RateLimiter
Analytics = _native.Analytics
AgentStateStore = _native.AgentStateStore

__all__ = [
    "init",
    "get_redis_manager",
    "RedisManager",
    "Pipeline",
    "PubSub",
    "Script",
    "RedisFactory",
    "UserContext",
    "UserClient",
    "Cache",
    "UserCache",
    "SessionStore",
    "TokenBlacklist",
    "RateLimiter",
    "AgentStateStore",
    "Analytics",
    *_error_names,
]
