"""Sessions end when they should: sign-out, sign-out everywhere, a new password, deactivation."""

from __future__ import annotations

from datetime import timedelta

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth import sessions
from relink.auth.passwords import needs_rehash, verify_password
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import User, UserSession
from relink.models.base import utcnow
from relink.users.service import authenticate, deactivate_user, set_password
from tests.auth.conftest import browser, signed_in
from tests.fixtures.demo import Demo

STAFF = "staff@demo.relink.test"
NEW_PASSWORD = "a-brand-new-password"
COOKIE = "relink_session"


def _copy_of(client: httpx.AsyncClient, app: FastAPI) -> httpx.AsyncClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = browser(app, "203.0.113.66")
    thief.cookies.set(COOKIE, client.cookies[COOKIE])
    return thief


async def _me(client: httpx.AsyncClient) -> int:
    return (await client.get("/api/me")).status_code


async def test_a_cookie_copied_before_sign_out_is_dead_after_it(app: FastAPI) -> None:
    # given
    owner = await signed_in(app, STAFF, DEMO_PASSWORD)
    thief = _copy_of(owner, app)
    assert await _me(thief) == 200

    # when
    assert (await owner.delete("/api/session")).status_code == 204

    # then
    assert await _me(thief) == 401
    assert await _me(owner) == 401


async def test_signing_out_through_the_page_ends_the_session_too(app: FastAPI) -> None:
    owner = await signed_in(app, STAFF, DEMO_PASSWORD)
    thief = _copy_of(owner, app)

    answer = await owner.post("/logout", data={"csrf_token": owner.headers["X-CSRF-Token"]})

    assert answer.status_code == 303
    assert await _me(thief) == 401


async def test_signing_out_ends_only_this_session(app: FastAPI) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    phone = await signed_in(app, STAFF, DEMO_PASSWORD)

    await laptop.delete("/api/session")

    assert await _me(laptop) == 401
    assert await _me(phone) == 200


async def test_signing_out_everywhere_ends_every_session(app: FastAPI) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    phone = await signed_in(app, STAFF, DEMO_PASSWORD)
    thief = _copy_of(phone, app)

    answer = await laptop.delete("/api/sessions")

    assert answer.json() == {"ended": 2}
    assert [await _me(c) for c in (laptop, phone, thief)] == [401, 401, 401]


async def test_a_user_sees_their_own_sessions_and_can_end_one(app: FastAPI) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    phone = await signed_in(app, STAFF, DEMO_PASSWORD, address="192.0.2.8")

    listed = (await laptop.get("/api/sessions")).json()

    assert len(listed) == 2
    (other,) = [s for s in listed if not s["current"]]
    assert other["address"] == "192.0.2.8"
    assert (await laptop.delete(f"/api/sessions/{other['id']}")).status_code == 204
    assert await _me(phone) == 401
    assert await _me(laptop) == 200


async def test_another_users_session_cannot_be_ended(app: FastAPI) -> None:
    admin = await signed_in(app, "admin@demo.relink.test", DEMO_PASSWORD)
    staff = await signed_in(app, STAFF, DEMO_PASSWORD)
    (admins,) = (await admin.get("/api/sessions")).json()

    assert (await staff.delete(f"/api/sessions/{admins['id']}")).status_code == 404
    assert await _me(admin) == 200


async def test_a_password_change_by_the_service_ends_every_session(
    app: FastAPI, database: Database, demo: Demo
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    thief = _copy_of(laptop, app)

    async with database.transaction() as session:
        user = await session.get_one(User, demo.staff.id)
        ended = await set_password(session, user=user, password=NEW_PASSWORD, now=utcnow())

    assert ended == 1
    assert await _me(laptop) == 401 and await _me(thief) == 401
    assert await _me(await signed_in(app, STAFF, NEW_PASSWORD)) == 200


async def test_changing_ones_own_password_ends_the_other_sessions_but_not_this_one(
    app: FastAPI,
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    thief = _copy_of(await signed_in(app, STAFF, DEMO_PASSWORD), app)

    answer = await laptop.post(
        "/api/me/password",
        json={"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert answer.json() == {"ended": 1}
    assert await _me(laptop) == 200
    assert await _me(thief) == 401


async def test_a_wrong_current_password_changes_nothing(app: FastAPI) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)
    phone = await signed_in(app, STAFF, DEMO_PASSWORD)

    answer = await laptop.post(
        "/api/me/password",
        json={"current_password": "not-the-password", "new_password": NEW_PASSWORD},
    )

    assert answer.status_code == 403
    assert await _me(phone) == 200
    assert await _me(await signed_in(app, STAFF, DEMO_PASSWORD)) == 200


async def test_deactivation_ends_every_session_for_good(
    app: FastAPI, database: Database, demo: Demo
) -> None:
    laptop = await signed_in(app, STAFF, DEMO_PASSWORD)

    async with database.transaction() as session:
        user = await session.get_one(User, demo.staff.id)
        await deactivate_user(session, user=user, now=utcnow())
    async with database.transaction() as session:
        # Reactivated later: the sessions from before stay ended.
        (await session.get_one(User, demo.staff.id)).is_active = True

    assert await _me(laptop) == 401


async def test_a_session_unused_past_its_idle_lifetime_is_refused(
    session: AsyncSession, demo: Demo
) -> None:
    now = utcnow()
    started = await sessions.start_session(session, user=demo.staff, now=now)

    later = now + sessions.IDLE_LIFETIME + timedelta(seconds=1)

    assert await sessions.resolve_session(session, token=started.token, now=now) is not None
    assert await sessions.resolve_session(session, token=started.token, now=later) is None


async def test_a_busy_session_still_ends_at_its_absolute_lifetime(
    session: AsyncSession, demo: Demo
) -> None:
    now = utcnow()
    started = await sessions.start_session(session, user=demo.staff, now=now)
    moment = now
    while moment < now + sessions.ABSOLUTE_LIFETIME - timedelta(days=1):
        moment += timedelta(days=1)
        assert await sessions.resolve_session(session, token=started.token, now=moment)

    moment = now + sessions.ABSOLUTE_LIFETIME

    assert await sessions.resolve_session(session, token=started.token, now=moment) is None


async def test_the_database_holds_only_a_hash_of_the_session_token(
    app: FastAPI, database: Database
) -> None:
    client = await signed_in(app, STAFF, DEMO_PASSWORD)

    async with database.sessions() as session:
        stored = list(await session.scalars(select(UserSession.token_hash)))
    assert len(stored) == 1 and stored[0] not in client.cookies[COOKIE]


async def test_an_outdated_password_hash_is_rehashed_on_sign_in(
    session: AsyncSession, demo: Demo
) -> None:
    # given: a hash made with weaker argon2 parameters than today's
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(DEMO_PASSWORD)
    demo.staff.password_hash = weak
    await session.commit()
    assert needs_rehash(weak)

    # when
    user = await authenticate(session, email=STAFF, password=DEMO_PASSWORD)
    await session.commit()

    # then
    assert user is not None
    stored = await session.scalar(select(User.password_hash).where(User.id == demo.staff.id))
    assert stored is not None and stored != weak
    assert not needs_rehash(stored) and verify_password(stored, DEMO_PASSWORD)


async def test_a_current_hash_is_left_alone_on_sign_in(session: AsyncSession, demo: Demo) -> None:
    before = demo.staff.password_hash

    await authenticate(session, email=STAFF, password=DEMO_PASSWORD)

    assert demo.staff.password_hash == before
