"""Who a session is, answered from memory: every announced change is seen at once, an
unannounced one once the cache's lifetime is over, and "last seen" is still written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from relink.auth import session_cache as session_cache_module
from relink.auth import sessions
from relink.auth.session_cache import TTL_SECONDS, SessionCache
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import User, UserSession
from relink.models.base import utcnow
from relink.users.service import deactivate_user
from tests.auth.conftest import FakeClock, browser, new_session_token, signed_in
from tests.fixtures.demo import Demo

STAFF = "staff@demo.relink.test"
COOKIE = "relink_session"


async def _me(client: httpx.AsyncClient) -> dict[str, object] | None:
    answer = await client.get("/api/me")
    if answer.status_code == 401:
        return None
    answer.raise_for_status()
    body: dict[str, object] = answer.json()
    return body


async def test_a_copied_cookie_is_refused_as_soon_as_its_session_signs_out(app: FastAPI) -> None:
    owner = await signed_in(app, STAFF, DEMO_PASSWORD)
    thief = browser(app, "203.0.113.66")
    thief.cookies.set(COOKIE, owner.cookies[COOKIE])
    assert await _me(thief) is not None

    (await owner.delete("/api/session")).raise_for_status()

    assert await _me(thief) is None


async def test_a_deactivated_user_is_refused_at_once(
    app: FastAPI, database: Database, demo: Demo
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    assert await _me(laptop) is not None

    async with database.transaction() as session:
        user = await session.get_one(User, demo.staff.id)
        await deactivate_user(session, user=user, now=utcnow())

    assert await _me(laptop) is None


async def test_a_changed_user_is_read_again_at_once(
    app: FastAPI, database: Database, demo: Demo
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    assert await _me(laptop) is not None

    async with database.transaction() as session:
        user = await session.get_one(User, demo.staff.id)
        user.name = "Renamed Person"

    me = await _me(laptop)
    assert me is not None and me["name"] == "Renamed Person"


async def test_a_session_ended_without_a_word_is_refused_once_the_cache_lifetime_is_over(
    database: Database, demo: Demo, monotonic: FakeClock
) -> None:
    cache = SessionCache(clock=monotonic)
    token = await new_session_token(database, demo.staff.id)
    async with database.transaction() as session:
        assert await cache.resolve(session, token=token, now=utcnow()) is not None
    # A CLI command against the same database: no broker in this process heard of it.
    async with database.transaction() as session:
        await session.execute(
            update(UserSession)
            .where(UserSession.token_hash == sessions.token_hash(token))
            .values(revoked_at=utcnow())
        )

    async with database.transaction() as session:
        still = await cache.resolve(session, token=token, now=utcnow())
    monotonic.now += TTL_SECONDS
    async with database.transaction() as session:
        later = await cache.resolve(session, token=token, now=utcnow())

    assert still is not None
    assert later is None
    assert len(cache) == 0


async def test_last_seen_is_still_written_when_it_is_due(
    database: Database, demo: Demo, monotonic: FakeClock
) -> None:
    cache = SessionCache(clock=monotonic, ttl_seconds=10 * sessions.TOUCH_INTERVAL.seconds)
    token = await new_session_token(database, demo.staff.id)
    now = utcnow()
    async with database.transaction() as session:
        assert await cache.resolve(session, token=token, now=now) is not None

    later = now + sessions.TOUCH_INTERVAL + timedelta(seconds=1)
    async with database.transaction() as session:
        assert await cache.resolve(session, token=token, now=later) is not None
    async with database.transaction() as session:
        seen = await session.scalar(
            select(UserSession.last_seen_at).where(
                UserSession.token_hash == sessions.token_hash(token)
            )
        )

    assert seen is not None and seen.replace(tzinfo=None) >= later.replace(tzinfo=None)


async def test_a_change_to_the_user_in_one_request_does_not_leak_into_the_next(
    database: Database, demo: Demo
) -> None:
    cache = SessionCache()
    token = await new_session_token(database, demo.staff.id)
    async with database.transaction() as session:
        assert await cache.resolve(session, token=token, now=utcnow()) is not None

    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            signed_in_now = await cache.resolve(session, token=token, now=utcnow())
            assert signed_in_now is not None
            signed_in_now.user.name = "Never Saved"
            raise RuntimeError("the request failed")

    async with database.transaction() as session:
        again = await cache.resolve(session, token=token, now=utcnow())
    assert again is not None and again.user.name == demo.staff.name


@pytest.fixture
def change_during_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[SessionCache]]:
    """The user changes (and is forgotten) while a cache reads their session."""
    caches: list[SessionCache] = []
    real = session_cache_module.resolve_session

    async def read_then_change(*args: object, **kwargs: object) -> object:
        found = await real(*args, **kwargs)  # type: ignore[arg-type]
        if found is not None:
            for cache in caches:
                cache.forget([found.user.id])
        return found

    monkeypatch.setattr(session_cache_module, "resolve_session", read_then_change)
    yield caches


async def test_a_read_that_raced_a_change_is_not_kept(
    database: Database, demo: Demo, change_during_read: list[SessionCache]
) -> None:
    cache = SessionCache()
    change_during_read.append(cache)
    token = await new_session_token(database, demo.staff.id)

    async with database.transaction() as session:
        assert await cache.resolve(session, token=token, now=utcnow()) is not None

    assert len(cache) == 0


async def test_what_it_keeps_never_prints_the_password_hash(database: Database, demo: Demo) -> None:
    cache = SessionCache()
    token = await new_session_token(database, demo.staff.id)
    async with database.transaction() as session:
        signed_in_now = await cache.resolve(session, token=token, now=utcnow())
    assert signed_in_now is not None

    kept = cache.get(sessions.token_hash(token))

    assert kept is not None
    assert signed_in_now.user.password_hash not in repr(kept)
