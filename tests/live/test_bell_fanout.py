"""The bell at scale: many open streams of one process are updated with ONE query, and the
polled unread count is right, cheap to ask and ends with the session."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import httpx
from sqlalchemy import event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth import sessions
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import Notification, User
from relink.models.base import utcnow
from relink.notifications import bell
from relink.notifications.live import LocalBroker, queue_live_update
from tests.fixtures.demo import Demo

STREAMS_PER_USER = 20


async def _notify(session: AsyncSession, user_ids: list[int], agency_id: int, *, n: int) -> None:
    now = utcnow()
    await session.execute(
        insert(Notification),
        [
            {
                "agency_id": agency_id,
                "user_id": user_id,
                "kind": "data_delayed",
                "payload": {
                    "kind": "data_delayed",
                    "incident_id": k,
                    "provider": "sandbox",
                    "provider_name": "Sandbox",
                    "opened_at": now.isoformat(),
                    "client_names": ["Acme Dental"],
                    "error_class": "provider_unavailable",
                },
                "created_at": now,
                "updated_at": now,
            }
            for user_id in user_ids
            for k in range(n)
        ],
    )
    # As every service that writes notifications does: the bells (and their counts, kept in
    # memory) hear of it after the commit.
    queue_live_update(session, user_ids=user_ids)
    await session.commit()


def _count_statements(database: Database) -> list[str]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def test_every_stream_of_every_poked_user_gets_its_bell_from_one_query(
    session: AsyncSession, database: Database, demo: Demo
) -> None:
    users = [demo.admin.id, demo.staff.id, demo.limited.id]
    await _notify(session, users, demo.agency.id, n=3)
    broker = LocalBroker(functools.partial(bell.render_many, database))
    streams = {u: [broker.subscribe(u) for _ in range(STREAMS_PER_USER)] for u in users}
    statements = _count_statements(database)

    broker.publish(users)
    received = {
        u: [json.loads(await asyncio.wait_for(s.__anext__(), 5) or "null") for s in mine]
        for u, mine in streams.items()
    }

    assert len(statements) == 1
    for user_id in users:
        assert all(r["unread"] == 3 and len(r["items"]) == 3 for r in received[user_id])


async def test_the_batched_bell_says_what_one_users_bell_says(
    session: AsyncSession, database: Database, demo: Demo
) -> None:
    await _notify(session, [demo.admin.id], demo.agency.id, n=bell.BELL_ITEMS + 3)
    first = await session.scalar(select(Notification.id).order_by(Notification.id).limit(1))
    await session.execute(
        update(Notification).where(Notification.id == first).values(read_at=utcnow())
    )
    await session.commit()
    admin = await session.get(User, demo.admin.id)
    assert admin is not None

    one = json.loads(await bell.render_one(database, admin))
    many = json.loads((await bell.render_many(database, [demo.admin.id]))[demo.admin.id])

    assert many == one
    assert many["unread"] == bell.BELL_ITEMS + 2
    assert len(many["items"]) == bell.BELL_ITEMS


async def test_a_user_without_notifications_gets_an_empty_bell(
    database: Database, demo: Demo
) -> None:
    rendered = await bell.render_many(database, [demo.staff.id])

    assert json.loads(rendered[demo.staff.id]) == {"unread": 0, "items": []}


def _sign_in(url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    client.post("/api/session", json={"email": email, "password": DEMO_PASSWORD}).raise_for_status()
    return client


async def test_the_polled_count_follows_new_and_read_notifications(
    app_url: str, session: AsyncSession, demo: Demo
) -> None:
    staff = _sign_in(app_url, "staff@demo.relink.test")
    before = staff.get("/api/notifications/unread-count").json()["unread"]
    await _notify(session, [demo.staff.id], demo.agency.id, n=2)

    after_new = staff.get("/api/notifications/unread-count").json()["unread"]
    newest = staff.get("/api/notifications", params={"show": "unread"}).json()["items"][0]
    staff.post(f"/api/notifications/{newest['id']}/read", json={}).raise_for_status()
    after_read = staff.get("/api/notifications/unread-count").json()["unread"]

    assert (after_new, after_read) == (before + 2, before + 1)


async def test_a_client_login_polls_a_count_of_zero(
    app_url: str, session: AsyncSession, demo: Demo
) -> None:
    await _notify(session, [demo.client_user.id], demo.agency.id, n=2)
    client_login = _sign_in(app_url, "client@demo.relink.test")

    assert client_login.get("/api/notifications/unread-count").json() == {"unread": 0}


async def test_a_revoked_session_polls_no_more(
    app_url: str, session: AsyncSession, demo: Demo
) -> None:
    staff = _sign_in(app_url, "staff@demo.relink.test")
    assert staff.get("/api/notifications/unread-count").status_code == 200

    # Revoked from elsewhere ("sign out everywhere" in another tab, an admin, the CLI).
    await sessions.end_all_sessions(session, user_id=demo.staff.id, now=utcnow())
    await session.commit()

    assert staff.get("/api/notifications/unread-count").status_code == 401


async def test_a_deactivated_user_polls_no_more(
    app_url: str, session: AsyncSession, demo: Demo
) -> None:
    staff = _sign_in(app_url, "staff@demo.relink.test")
    await session.execute(update(User).where(User.id == demo.staff.id).values(is_active=False))
    await session.commit()

    assert staff.get("/api/notifications/unread-count").status_code == 401
