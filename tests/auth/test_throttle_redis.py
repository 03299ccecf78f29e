"""The sign-in throttle on Redis, when RELINK_REDIS_URL is set: shared, atomic, every key ends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from fastapi import FastAPI
from sqlalchemy import func, select

from relink.auth.throttle import (
    KNOWN_ADDRESS_LIFETIME,
    PAIR_LIMIT,
    LoginThrottle,
    TooManyAttempts,
)
from relink.auth.throttle_store import RedisStore
from relink.db import Database
from relink.models import LoginAttempt
from tests.auth.conftest import browser, serving
from tests.fixtures.demo import Demo
from tests.fixtures.shared_redis import REDIS_URL, require_redis

WRONG = {"email": "staff@demo.relink.test", "password": "wrong-password-x"}


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own, deleted afterwards; skips when Redis is absent."""
    client = redis.from_url(await require_redis())
    name = f"relink-test:{uuid.uuid4().hex}:"
    yield name
    keys = [k async for k in client.scan_iter(match=f"{name}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def _allowed(throttle: LoginThrottle, *, email: str, address: str) -> bool:
    try:
        await throttle.reserve(email=email, address=address)
    except TooManyAttempts:
        return False
    return True


async def test_parallel_guesses_in_two_processes_sharing_redis_pass_no_more_than_the_limit(
    prefix: str,
) -> None:
    throttles = [
        LoginThrottle(RedisStore(REDIS_URL, prefix=prefix), secret="shared") for _ in range(2)
    ]
    try:
        allowed = await asyncio.gather(
            *(_allowed(throttles[n % 2], email="a@x.test", address="192.0.2.1") for n in range(30))
        )
    finally:
        for throttle in throttles:
            await throttle.close()

    assert sum(allowed) == PAIR_LIMIT


async def test_every_redis_count_has_an_end(prefix: str) -> None:
    throttle = LoginThrottle(RedisStore(REDIS_URL, prefix=prefix), secret="k")
    try:
        for n in range(200):
            reservation = await throttle.reserve(email=f"user{n}@x.test", address=f"10.0.0.{n}")
            if n % 50 == 0:
                await throttle.succeeded(reservation)
        client = throttle.store.redis  # type: ignore[attr-defined]
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        ttls = [await client.ttl(k) for k in keys]
    finally:
        await throttle.close()

    assert len(keys) >= 200
    assert all(0 < ttl <= KNOWN_ADDRESS_LIFETIME.total_seconds() for ttl in ttls)


async def test_the_app_keeps_its_counts_in_redis_when_configured(
    demo: Demo, database_url: str, database: Database
) -> None:
    async with (
        serving(database_url, redis_url=REDIS_URL) as first,
        serving(database_url, redis_url=REDIS_URL) as second,
    ):
        apps: list[FastAPI] = [first, second]
        codes = [
            (await browser(apps[n % 2]).post("/api/session", json=WRONG)).status_code
            for n in range(PAIR_LIMIT + 1)
        ]

    assert codes == [401] * PAIR_LIMIT + [429]
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
