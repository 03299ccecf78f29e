"""The app under measurement: `uvicorn relink.app:create_app` in a process of its own on a
loopback port (the load generator must not share its interpreter), and its users' cookies."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import itsdangerous

STARTUP_SECONDS = 120.0
COOKIE = "relink_session"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_app(
    database_url: str, *, secret_key: str, session_secret: str, var_dir: Path
) -> Iterator[str]:
    """The app on a free loopback port, its scheduler off (nothing but the bench's requests)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "RELINK_DATABASE_URL": database_url,
        "RELINK_SECRET_KEYS": secret_key,
        "RELINK_SESSION_SECRET": session_secret,
        "RELINK_EMBEDDED_WORKER": "false",
        "RELINK_VAR_DIR": str(var_dir),
        "RELINK_BASE_URL": url,
    }
    env.pop("RELINK_REDIS_URL", None)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "relink.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env)  # noqa: S603 (our own interpreter)
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the app under measurement exited at startup")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the app under measurement did not start")


def session_cookie(session_secret: str, token: str) -> str:
    """The cookie a browser holds after signing in with the session ``token`` (Starlette's
    signed session, as SessionMiddleware writes it)."""
    data = base64.b64encode(json.dumps({"sid": token}).encode())
    signed = itsdangerous.TimestampSigner(session_secret).sign(data).decode()
    return f"{COOKIE}={signed}"
