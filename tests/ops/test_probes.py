"""/healthz and /readyz as an orchestrator probes them."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from relink.app import create_app
from relink.config import Settings
from relink.db import Database
from tests.fixtures.shared_redis import require_redis

# Nothing listens on port 1 of loopback: connections are refused at once.
UNREACHABLE_POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:1/nothing"


@asynccontextmanager
async def probed(
    database_url: str, redis_url: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    database = Database(database_url)
    app: FastAPI = create_app(
        database=database, settings=Settings(embedded_worker=False, redis_url=redis_url)
    )
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
                yield client
    finally:
        await database.dispose()


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A port that accepts connections and never answers: a Redis that hangs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    sock.close()


@pytest.fixture
async def redis_url() -> str:
    return await require_redis()


async def test_healthz_answers_while_the_database_is_unreachable() -> None:
    async with probed(UNREACHABLE_POSTGRES) as probe:
        answer = await probe.get("/healthz")

    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


async def test_readyz_is_ready_when_the_database_answers(database_url: str) -> None:
    async with probed(database_url) as probe:
        answer = await probe.get("/readyz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readyz_says_the_database_is_what_is_missing() -> None:
    async with probed(UNREACHABLE_POSTGRES) as probe:
        answer = await probe.get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert answer.json()["checks"]["database"].startswith("failed: ")


async def test_readyz_checks_redis_when_it_is_configured(database_url: str, redis_url: str) -> None:
    async with probed(database_url, redis_url) as probe:
        answer = await probe.get("/readyz")

    assert answer.status_code == 200
    assert answer.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_answers_503_when_redis_hangs(database_url: str, silent_redis: str) -> None:
    async with probed(database_url, silent_redis) as probe:
        answer = await probe.get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["checks"] == {"database": "ok", "redis": "failed: no answer within 1 s"}


async def test_probes_start_no_session(
    database_url: str,
) -> None:
    async with probed(database_url) as probe:
        answers = [await probe.get(path) for path in ("/healthz", "/readyz")]

    assert [a.status_code for a in answers] == [200, 200]
    assert all("set-cookie" not in a.headers for a in answers)
