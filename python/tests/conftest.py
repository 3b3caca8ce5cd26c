"""Real redis-server processes for the tests: started, killed (-9) and restarted by them.

Nothing here is mocked: the package under test is the installed wheel, and every server is a
`redis-server` child on a free loopback port with its own scratch directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import AsyncIterator, Iterator, List

import pytest
import pytest_asyncio

import redis_ssot
from redis_ssot import sync

if "site-packages" not in (redis_ssot.__file__ or ""):
    raise RuntimeError(
        f"the tests must import the installed wheel, not {redis_ssot.__file__}; "
        "run them with `make test-python`"
    )

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"

# Short timeouts so outage tests finish quickly; the breaker opens after 5 failures as usual.
FAST = dict(
    command_timeout=0.3,
    connect_timeout=0.5,
    breaker_cooldown=0.3,
    backoff_cap=0.2,
    probe_interval=0.05,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server child process on a fixed port, restartable on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-ssot-py-")
        self.proc: "subprocess.Popen[bytes] | None" = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
                "--protected-mode", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited with {self.proc.returncode}")
            try:
                if self.cli("PING") == "PONG":
                    return
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on port {self.port} did not answer within 10 s")

    def kill(self) -> None:
        """kill -9: no goodbye to the clients."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def pause(self) -> None:
        """SIGSTOP: the server holds its connections but answers nothing (a hung server)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.kill()
        self.start()

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [REDIS_CLI, "-p", str(self.port), *args],
            check=True,
            capture_output=True,
            timeout=10,
        )
        return out.stdout.decode().strip()

    def clients(self) -> List[str]:
        """CLIENT LIST, without the redis-cli that asks."""
        return [line for line in self.cli("CLIENT", "LIST").splitlines() if "cmd=client" not in line]

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def close_the_process_manager() -> Iterator[None]:
    """After every test, whatever it did: close the process-wide manager, so a failed test
    cannot leave one behind that makes the next test's `init` a different-config error."""
    yield
    try:
        sync.get_redis_manager().close()
    except redis_ssot.NotInitialized:
        pass


@pytest.fixture
def server() -> Iterator[RedisServer]:
    s = RedisServer()
    try:
        yield s
    finally:
        s.stop()


@pytest_asyncio.fixture
async def manager(server: RedisServer) -> AsyncIterator[redis_ssot.RedisManager]:
    """The process-wide manager on a fresh server, closed after the test so the next test's
    `init` can make a new one."""
    m = redis_ssot.init(server.url, **FAST)
    await m.wait_ready(5)
    try:
        yield m
    finally:
        await m.aclose()


def interop_binary() -> str:
    """The Rust helper that writes and reads sessions (built by `make test-python`)."""
    path = os.environ.get("REDIS_SSOT_INTEROP_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "target", "debug", "examples", "session_interop")
    if not os.path.exists(path):
        raise RuntimeError(
            f"the Rust interop helper is missing at {path}; build it with "
            "`cargo build -p redis-ssot-python --example session_interop` (make test-python does)"
        )
    return path


@pytest_asyncio.fixture
async def redispy(server: RedisServer):
    """redis-py's asyncio client on the same server: the reference a result must equal."""
    import redis.asyncio

    r = redis.asyncio.Redis.from_url(server.url)
    try:
        yield r
    finally:
        await r.aclose()


def server_version(server: RedisServer) -> tuple:
    """The server's version as a tuple of ints, e.g. (7, 0, 15)."""
    for line in server.cli("INFO", "server").splitlines():
        if line.startswith("redis_version:"):
            return tuple(int(p) for p in line.split(":", 1)[1].strip().split("."))
    raise RuntimeError("INFO server has no redis_version")
