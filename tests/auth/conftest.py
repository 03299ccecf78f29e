"""The app in this process over the test's database, reached from any address through ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from relink.app import create_app
from relink.auth import sessions
from relink.config import Settings
from relink.db import Database
from relink.models import User
from relink.models.base import utcnow
from tests.fixtures.demo import Demo

OWN_ADDRESS = "127.0.0.1"


@asynccontextmanager
async def serving(database_url: str, *, redis_url: str | None = None) -> AsyncIterator[FastAPI]:
    """One app "process": its own Database object and lifespan, its scheduler off."""
    database = Database(database_url)
    app = create_app(
        database=database, settings=Settings(embedded_worker=False, redis_url=redis_url)
    )
    try:
        async with app.router.lifespan_context(app):
            yield app
    finally:
        await database.dispose()


def browser(app: FastAPI, address: str = OWN_ADDRESS) -> httpx.AsyncClient:
    """A client whose requests come from ``address`` (the peer address the server sees)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50_000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def signed_in(
    app: FastAPI, email: str, password: str, *, address: str = OWN_ADDRESS
) -> httpx.AsyncClient:
    """A browser signed in as ``email``, sending its session's CSRF token."""
    client = browser(app, address)
    answer = await client.post("/api/session", json={"email": email, "password": password})
    answer.raise_for_status()
    token = (await client.get("/api/session/csrf")).json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return client


@pytest.fixture
async def app(demo: Demo, database_url: str) -> AsyncIterator[FastAPI]:
    """The demo agency served in this process."""
    async with serving(database_url) as running:
        yield running


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic() -> FakeClock:
    return FakeClock()


async def new_session_token(database: Database, user_id: int) -> str:
    """A fresh session of ``user_id``, committed; its token as a cookie would carry it."""
    async with database.transaction() as session:
        user = await session.get_one(User, user_id)
        return (await sessions.start_session(session, user=user, now=utcnow())).token
