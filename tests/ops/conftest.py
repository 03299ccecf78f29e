"""Operations fixtures: JSON logging switched on (and back off), an app served as in production."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import structlog
import uvicorn

from relink.cli import app_server_config
from relink.logging import configure_logging
from tests.fixtures.server import STARTUP_TIMEOUT_SECONDS, Running, bound_socket


@pytest.fixture
def json_logs() -> Iterator[None]:
    """Every log line as JSON for this test; the process's logging is restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    saved = structlog.get_config()
    configure_logging(json=True)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    structlog.configure(**saved)


@contextmanager
def served_like_relink_serve(app: Any) -> Iterator[Running]:
    """The app under uvicorn with ``relink serve``'s config: access log on, our log handlers."""
    sock = bound_socket()
    config = app_server_config(
        app, host="127.0.0.1", port=sock.getsockname()[1], timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    running = Running(f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread)
    try:
        yield running
    finally:
        running.stop()
        sock.close()
