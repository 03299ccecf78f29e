"""The bell's count is answered from memory, and never outlives what it depends on: a read, a
new notification, a session ended here or in another process, or the cache's lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from relink.auth import sessions
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import Notification, User
from relink.models.base import utcnow
from relink.notifications import bell_cache as bell_cache_module
from relink.notifications.bell_cache import TTL_SECONDS, BellCache
from relink.notifications.live import queue_live_update
from relink.users.service import deactivate_user
from tests.auth.conftest import FakeClock, browser, new_session_token, serving, signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.shared_redis import REDIS_URL, require_redis

ADMIN = "admin@demo.relink.test"
STAFF = "staff@demo.relink.test"
COOKIE = "relink_session"


async def _unread(client: httpx.AsyncClient) -> int | None:
    """The bell's count, or None when the session is refused."""
    answer = await client.get("/api/notifications/unread-count")
    if answer.status_code == 401:
        return None
    answer.raise_for_status()
    return int(answer.json()["unread"])


async def _notify(database: Database, user_id: int, *, tell: bool = True) -> list[int]:
    """Two unread notifications for ``user_id``, committed; ``tell``: as the services do."""
    async with database.transaction() as session:
        user = await session.get_one(User, user_id)
        rows = [
            Notification(agency_id=user.agency_id, user_id=user.id, kind="reconnect_needed")
            for _ in range(2)
        ]
        session.add_all(rows)
        await session.flush()
        if tell:
            queue_live_update(session, user_ids=[user.id])
        return [row.id for row in rows]


async def test_a_read_moves_the_count_at_once(app: FastAPI, database: Database, demo: Demo) -> None:
    admin = await signed_in(app, ADMIN, DEMO_PASSWORD)
    before = await _unread(admin)
    first, _second = await _notify(database, demo.admin.id)
    assert before is not None
    assert await _unread(admin) == before + 2

    (await admin.post(f"/api/notifications/{first}/read")).raise_for_status()
    assert await _unread(admin) == before + 1

    (await admin.post("/api/notifications/read-all")).raise_for_status()
    assert await _unread(admin) == 0


async def test_a_copied_cookies_count_ends_with_sign_out(app: FastAPI) -> None:
    owner = await signed_in(app, STAFF, DEMO_PASSWORD)
    thief = browser(app, "203.0.113.66")
    thief.cookies.set(COOKIE, owner.cookies[COOKIE])
    assert await _unread(thief) is not None

    (await owner.delete("/api/session")).raise_for_status()

    assert await _unread(thief) is None


async def test_signing_out_everywhere_ends_every_counted_session(app: FastAPI) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    phone = await signed_in(app, STAFF, DEMO_PASSWORD)
    assert await _unread(phone) is not None

    (await laptop.delete("/api/sessions")).raise_for_status()

    assert await _unread(phone) is None


async def test_deactivation_ends_the_count_at_once(
    app: FastAPI, database: Database, demo: Demo
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    assert await _unread(laptop) is not None

    async with database.transaction() as session:
        user = await session.get_one(User, demo.staff.id)
        await deactivate_user(session, user=user, now=utcnow())

    assert await _unread(laptop) is None


async def test_a_change_nobody_announced_shows_once_the_cache_lifetime_is_over(
    database: Database, demo: Demo, monotonic: FakeClock
) -> None:
    cache = BellCache(clock=monotonic)
    token = await new_session_token(database, demo.admin.id)
    seen = await cache.seat(database, token=token, now=utcnow())
    assert seen is not None

    # A CLI command against the same database: no broker in this process heard of it.
    await _notify(database, demo.admin.id, tell=False)
    still = await cache.seat(database, token=token, now=utcnow())
    monotonic.now += TTL_SECONDS
    later = await cache.seat(database, token=token, now=utcnow())

    assert still is not None and still.unread == seen.unread
    assert later is not None and later.unread == seen.unread + 2


async def test_an_expired_session_is_not_answered_from_memory(
    database: Database, demo: Demo, monotonic: FakeClock
) -> None:
    cache = BellCache(clock=monotonic)
    token = await new_session_token(database, demo.admin.id)
    now = utcnow()
    assert await cache.seat(database, token=token, now=now) is not None

    after_expiry = now + sessions.IDLE_LIFETIME + timedelta(seconds=1)

    assert await cache.seat(database, token=token, now=after_expiry) is None


@pytest.fixture
def change_during_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BellCache]]:
    """The next read of a seat sees the rows, then a change is announced before it returns."""
    caches: list[BellCache] = []
    real = bell_cache_module.bell_seat_for_token

    async def read_then_change(*args: object, **kwargs: object) -> object:
        seat = await real(*args, **kwargs)  # type: ignore[arg-type]
        if seat is not None:
            for cache in caches:
                cache.forget([seat.user_id])
        return seat

    monkeypatch.setattr(bell_cache_module, "bell_seat_for_token", read_then_change)
    yield caches


async def test_a_read_that_overlapped_a_change_is_not_kept(
    database: Database, demo: Demo, change_during_read: list[BellCache]
) -> None:
    cache = BellCache()
    change_during_read.append(cache)
    token = await new_session_token(database, demo.admin.id)

    assert await cache.seat(database, token=token, now=utcnow()) is not None

    assert len(cache) == 0


async def test_a_change_forgets_only_that_users_sessions(database: Database, demo: Demo) -> None:
    cache = BellCache()
    admin = await new_session_token(database, demo.admin.id)
    staff = await new_session_token(database, demo.staff.id)
    await cache.seat(database, token=admin, now=utcnow())
    await cache.seat(database, token=staff, now=utcnow())

    cache.forget([demo.admin.id])

    assert len(cache) == 1


async def test_sign_out_in_one_process_ends_the_count_in_another(
    demo: Demo, database_url: str, database: Database
) -> None:
    await require_redis()
    async with (
        serving(database_url, redis_url=REDIS_URL) as here,
        serving(database_url, redis_url=REDIS_URL) as there,
    ):
        owner = await signed_in(here, STAFF, DEMO_PASSWORD)
        elsewhere = browser(there)
        elsewhere.cookies.set(COOKIE, owner.cookies[COOKIE])
        # Signing in changed the user (its last sign-in), which every process hears of: wait
        # until that has passed and the count is held.
        assert await _until_held(there.state.bell_cache, elsewhere)

        (await owner.delete("/api/session")).raise_for_status()

        assert await _until_forgotten(there.state.bell_cache)
        assert await _unread(elsewhere) is None


async def _until_held(cache: BellCache, client: httpx.AsyncClient, seconds: float = 5.0) -> bool:
    held = 0
    for _ in range(int(seconds / 0.05)):
        assert await _unread(client) is not None
        held = held + 1 if len(cache) == 1 else 0
        if held == 3:
            return True
        await asyncio.sleep(0.05)
    return False


async def _until_forgotten(cache: BellCache, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if len(cache) == 0:
            return True
        await asyncio.sleep(0.02)
    return False
