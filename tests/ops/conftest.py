"""Operations fixtures: JSON logging switched on (and back off), an app served as in production."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import structlog

from relink.cli import app_server_config
from relink.logging import configure_logging
from tests.fixtures.server import Running, bound_socket, serve_config_in_thread


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
    with serve_config_in_thread(config, sock=sock) as running:
        yield running
