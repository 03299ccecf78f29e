"""Which token a script's request carries, answered from memory: a revocation or a change of
its user is heard at once (here and, through Redis, in every other process), an expiry and a
due "last used" by the app's clock, and a remembered answer reads nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select

from relink.api_tokens.token_cache import TokenCache
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import ApiToken
from relink.models.base import utcnow
from tests.api_tokens.conftest import STAFF, made_token
from tests.auth.conftest import browser, serving, signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.shared_redis import REDIS_URL, require_redis


def _script(app: FastAPI, value: str) -> httpx.AsyncClient:
    client = browser(app)
    client.headers["Authorization"] = f"Bearer {value}"
    return client


@pytest.fixture
async def app(demo: Demo, database_url: str) -> AsyncIterator[FastAPI]:
    async with serving(database_url) as running:
        yield running


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every statement the app's database is sent while the test runs."""
    sent: list[str] = []
    engine = app.state.database.engine.sync_engine

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield sent
    event.remove(engine, "before_cursor_execute", count)


async def test_a_remembered_token_is_answered_without_reading_the_database(
    app: FastAPI, demo: Demo, database: Database, statements: list[str]
) -> None:
    _, value = await made_token(database, demo.staff.id)
    script = _script(app, value)
    assert (await script.get("/api/me")).status_code == 200
    statements.clear()

    answer = await script.get("/api/me")

    assert answer.status_code == 200 and answer.json()["email"] == STAFF
    assert statements == []


async def test_a_remembered_token_is_refused_once_it_expires_by_the_apps_clock(
    app: FastAPI, demo: Demo, database: Database
) -> None:
    _, value = await made_token(database, demo.staff.id, expires_at=utcnow() + timedelta(days=1))
    script = _script(app, value)
    assert (await script.get("/api/me")).status_code == 200

    app.state.jobs.clock = lambda: utcnow() + timedelta(days=1, seconds=1)
    answer = await script.get("/api/me")

    assert answer.status_code == 401
    assert "expired" in answer.text


async def test_a_remembered_tokens_last_use_is_written_again_a_minute_later(
    app: FastAPI, demo: Demo, database: Database
) -> None:
    _, value = await made_token(database, demo.staff.id)
    script = _script(app, value)
    assert (await script.get("/api/me")).status_code == 200
    first = await _last_used(database)

    moment = first + timedelta(minutes=1, seconds=1)
    app.state.jobs.clock = lambda: moment
    assert (await script.get("/api/v1/data-sources")).status_code == 200

    assert await _last_used(database) == moment


async def test_a_revocation_in_one_process_stops_the_token_in_another(
    demo: Demo, database_url: str, database: Database
) -> None:
    await require_redis()
    token_id, value = await made_token(database, demo.staff.id)
    async with (
        serving(database_url, redis_url=REDIS_URL) as here,
        serving(database_url, redis_url=REDIS_URL) as there,
    ):
        owner = await signed_in(here, STAFF, DEMO_PASSWORD)
        elsewhere = _script(there, value)
        # Signing in changed the user, which every process hears of: wait until that has
        # passed and the token is held there.
        assert await _until_held(there.state.token_cache, elsewhere)

        revoked = await owner.post(f"/settings/tokens/{token_id}/revoke")
        assert revoked.status_code < 400, revoked.text

        assert await _until_forgotten(there.state.token_cache)
        answer = await elsewhere.get("/api/me")
        assert answer.status_code == 401
        assert "revoked" in answer.text


async def _until_held(cache: TokenCache, client: httpx.AsyncClient, seconds: float = 5.0) -> bool:
    held = 0
    for _ in range(int(seconds / 0.05)):
        assert (await client.get("/api/me")).status_code == 200
        held = held + 1 if len(cache) == 1 else 0
        if held == 3:
            return True
        await asyncio.sleep(0.05)
    return False


async def _until_forgotten(cache: TokenCache, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if len(cache) == 0:
            return True
        await asyncio.sleep(0.02)
    return False


async def _last_used(database: Database) -> datetime:
    async with database.reading() as session:
        used: datetime | None = await session.scalar(select(ApiToken.last_used_at))
    assert used is not None
    return used
