"""Live updates survive a Redis restart: the listener reconnects with backoff, pokes every
local stream once (what was published meanwhile was missed), and relays again.

Runs against a private redis-server on a free port (never the machine's shared Redis)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from relink.notifications import live
from relink.notifications.live import RedisBroker, Subscription
from tests.fixtures.database import IN_CI

USER = 7


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    binary = shutil.which("redis-server")
    if binary is None:
        if IN_CI:
            pytest.fail("redis-server is not installed; CI must test the reconnect")
        pytest.skip("redis-server is not installed; this runs in CI (CI=true)")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        yield process
    finally:
        process.terminate()
        process.wait(10)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


async def _next(stream: Subscription, wait: float) -> object:
    return await asyncio.wait_for(stream.__anext__(), wait)


async def _published_until_received(
    publisher: RedisBroker, stream: Subscription, *, seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while True:
        publisher.publish([USER])
        try:
            await _next(stream, 0.5)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


async def test_live_updates_flow_again_after_redis_restarts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "RECONNECT_MAX_SECONDS", 0.5)
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    listener, publisher = RedisBroker(url), RedisBroker(url)
    with _redis_server(port):
        await listener.start()
        stream = listener.subscribe(USER)
        await _published_until_received(publisher, stream, seconds=5)
    try:
        # Redis is down: the listener has lost its connection and keeps trying.
        await asyncio.sleep(1.0)
        with _redis_server(port):
            # Back: the listener pokes its streams once (they refresh what they missed) ...
            assert await _next(stream, 10) is None
            # ... and relays what is published from then on.
            await _published_until_received(publisher, stream, seconds=10)
    finally:
        await listener.close()
        await publisher.close()
