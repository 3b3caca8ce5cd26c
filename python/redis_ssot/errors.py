"""The exceptions of redis_ssot: one class per error kind of the Rust manager.

Every failure raises; nothing returns ``None`` or ``False`` to mean "it failed". A missing key
is not a failure (``get`` returns ``None``); Redis being unreachable is.

``except Unavailable`` catches every outage: the data may be fine but Redis could not serve
the call now (not connected, breaker open, a timeout, overloaded, a connection error, or a
server that is busy loading, running a script or out of memory). Everything else is about the
call itself and will fail the same way if retried.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "RedisSSOTError",
    "Unavailable",
    "NotReady",
    "Closed",
    "CircuitOpen",
    "Timeout",
    "TimeoutError",
    "Overloaded",
    "ConnectionError",
    "ServerBusy",
    "ResponseError",
    "DecodeError",
    "ConfigError",
    "InvalidKey",
    "CrossSlot",
    "NotFound",
    "Forbidden",
    "Conflict",
    "RateLimited",
    "NotReplicated",
    "NotInitialized",
    "NoEventLoop",
]


class RedisSSOTError(Exception):
    """The base of every redis_ssot error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unavailable(RedisSSOTError):
    """Redis could not serve the call now; retrying later may succeed."""


class NotReady(Unavailable):
    """No usable connection: connecting, reconnecting, or the server is loading its data.

    ``state`` is the connection state when the call was refused.
    """

    def __init__(self, message: str, *, state: Optional[str] = None) -> None:
        super().__init__(message)
        self.state = state


class Closed(Unavailable):
    """The manager was shut down (``aclose``); ``init()`` makes a new one."""


class CircuitOpen(Unavailable):
    """The circuit breaker is open: refused at once, without touching the network.

    ``retry_after`` is the number of seconds until the breaker admits probe calls again.
    """

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Timeout(Unavailable):
    """The command did not complete within its deadline.

    ``op`` is the command (``GET``, ...), ``after`` the deadline in seconds.
    """

    def __init__(self, message: str, *, op: Optional[str] = None, after: float = 0.0) -> None:
        super().__init__(message)
        self.op = op
        self.after = after


#: redis-py's name for :class:`Timeout`.
TimeoutError = Timeout


class Overloaded(Unavailable):
    """Too many commands in flight: refused at once instead of queueing.

    ``limit`` is the configured in-flight limit.
    """

    def __init__(self, message: str, *, limit: int = 0) -> None:
        super().__init__(message)
        self.limit = limit


class ConnectionError(Unavailable):  # noqa: A001 - redis-py's name, on purpose
    """The connection failed or could not be made.

    ``kind`` says which: ``refused``, ``reset``, ``auth``, ``tls``, ``not_primary``, ...
    """

    def __init__(self, message: str, *, kind: Optional[str] = None) -> None:
        super().__init__(message)
        self.kind = kind


class ServerBusy(Unavailable):
    """The server answered but cannot serve this now (``LOADING``, ``BUSY``, ``OOM``, ...).

    ``reason`` says which. It counts as an outage: what a retry needs is time.
    """

    def __init__(self, message: str, *, reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.reason = reason


class ResponseError(RedisSSOTError):
    """Redis answered with an error reply (``WRONGTYPE``, ``NOPERM``, a script error, ...).

    ``code`` is the error code Redis sent. Retrying the same call fails the same way.
    """

    def __init__(self, message: str, *, code: str = "ERR") -> None:
        super().__init__(message)
        self.code = code


class DecodeError(RedisSSOTError):
    """A reply or stored value is there but is not what was asked for (not UTF-8 text with
    ``decode_responses=True``, not valid JSON in a store)."""


class ConfigError(RedisSSOTError):
    """Invalid configuration; ``field`` names what to fix."""

    def __init__(self, message: str, *, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidKey(RedisSSOTError):
    """A key, user id or name was rejected before anything was sent."""


class CrossSlot(RedisSSOTError):
    """The keys of one call live on different cluster slots and cannot be split safely."""


class NotFound(RedisSSOTError):
    """The requested record does not exist (or is not visible to the caller)."""


class Forbidden(RedisSSOTError):
    """The caller does not own the requested record."""


class Conflict(RedisSSOTError):
    """A compare-and-set lost: somebody else saved a newer version first."""


class RateLimited(RedisSSOTError):
    """A rate limit refused the call; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotReplicated(RedisSSOTError):
    """A durable write was applied on the primary but confirmed by too few replicas."""

    def __init__(self, message: str, *, acked: int = 0, required: int = 0) -> None:
        super().__init__(message)
        self.acked = acked
        self.required = required


class NotInitialized(RedisSSOTError):
    """``get_redis_manager()`` was called before ``init()``."""


class NoEventLoop(RedisSSOTError):
    """An asyncio call was made from a thread with no running event loop.

    Await redis_ssot calls from async code, or use :mod:`redis_ssot.sync` from plain threads.
    """
