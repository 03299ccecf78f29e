"""Who asks a page or endpoint that only reads (the Data Sources list and API): the same answer
as for any request, found without a transaction of its own when the session cache holds it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from relink.auth import sessions
from relink.auth.session_cache import SessionCache
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import User, UserSession
from relink.models.base import utcnow
from relink.users.service import deactivate_user
from tests.auth.conftest import browser, signed_in
from tests.fixtures.demo import Demo

STAFF = "staff@demo.relink.test"
COOKIE = "relink_session"
READERS = ("/api/data-sources", "/data-sources")


def _let_in(answer: httpx.Response) -> bool:
    """200 for a signed-in user; the API's 401 or the page's way to the sign-in page if not."""
    if answer.status_code == 200:
        return True
    assert answer.status_code == 401 or answer.headers["location"].startswith("/login"), answer
    return False


@pytest.mark.parametrize("path", READERS)
async def test_a_copied_cookie_is_refused_as_soon_as_its_session_signs_out(
    app: FastAPI, path: str
) -> None:
    owner = await signed_in(app, STAFF, DEMO_PASSWORD)
    thief = browser(app, "203.0.113.66")
    thief.cookies.set(COOKIE, owner.cookies[COOKIE])
    assert _let_in(await thief.get(path))

    (await owner.delete("/api/session")).raise_for_status()

    assert not _let_in(await thief.get(path))


@pytest.mark.parametrize("path", READERS)
async def test_a_deactivated_user_is_refused_at_once(
    app: FastAPI, database: Database, demo: Demo, path: str
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    assert _let_in(await laptop.get(path))

    async with database.transaction() as session:
        user = await session.get_one(User, demo.staff.id)
        await deactivate_user(session, user=user, now=utcnow())

    assert not _let_in(await laptop.get(path))


@pytest.mark.parametrize("path", READERS)
async def test_a_read_with_nothing_remembered_checks_the_session_and_keeps_last_seen_fresh(
    app: FastAPI, database: Database, path: str
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    long_ago = utcnow() - sessions.TOUCH_INTERVAL - timedelta(minutes=1)
    async with database.transaction() as session:
        await session.execute(update(UserSession).values(last_seen_at=long_ago))
    # A process that has not seen this session yet (a restart, another worker).
    app.state.session_cache = SessionCache()
    before = utcnow()

    assert _let_in(await laptop.get(path))

    async with database.transaction() as session:
        seen = await session.scalar(
            select(UserSession.last_seen_at).where(UserSession.revoked_at.is_(None))
        )
    assert seen is not None and seen.replace(tzinfo=None) >= before.replace(tzinfo=None)


async def test_a_read_with_nothing_remembered_refuses_an_ended_session(
    app: FastAPI, database: Database
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    async with database.transaction() as session:
        await session.execute(update(UserSession).values(revoked_at=utcnow()))
    app.state.session_cache = SessionCache()

    assert (await laptop.get("/api/data-sources")).status_code == 401
