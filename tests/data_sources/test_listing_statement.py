"""The listing's statement is built once per shape and shared by every request of that shape:
each request's own values (who asks, which status, which page) decide what it reads."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.rows import Filters, Sort, list_rows
from relink.models import Client, DataSource, Role, User
from relink.models.base import utcnow
from relink.status import DataSourceStatus
from relink.users.service import create_user
from tests.fixtures.demo import Demo


async def _client_names(
    session: AsyncSession, user: User, filters: Filters | None = None
) -> set[str]:
    page = await list_rows(session, user=user, filters=filters, limit=200)
    return {row.client_name for row in page.items}


async def test_users_who_see_different_clients_each_read_their_own(
    session: AsyncSession, demo: Demo
) -> None:
    others = ["Bluebird Bakery", "Cedar Law Group"]
    ids = [c.id for c in demo.clients if c.name in others]
    other = await create_user(
        session,
        agency_id=demo.agency.id,
        email="other-limited@demo.relink.test",
        name="Other Limited",
        password="a long enough password",
        role=Role.STAFF,
        client_ids=ids,
        now=utcnow(),
    )
    await session.flush()

    first = await _client_names(session, demo.limited)
    second = await _client_names(session, other)
    first_again = await _client_names(session, demo.limited)

    assert first == first_again == {"Acme Dental", "Juniper Florist"}
    assert second == set(others)


async def test_each_request_filters_by_its_own_values(session: AsyncSession, demo: Demo) -> None:
    acme = await session.scalar(select(Client.id).where(Client.name == "Acme Dental"))
    await session.execute(
        update(DataSource)
        .where(DataSource.client_id == acme)
        .values(status=DataSourceStatus.PAUSED, paused_at=utcnow())
    )
    await session.flush()

    paused = await _client_names(session, demo.admin, Filters(status=DataSourceStatus.PAUSED))
    connected = await _client_names(session, demo.admin, Filters(status=DataSourceStatus.CONNECTED))
    one_client = await _client_names(session, demo.admin, Filters(client_id=acme))
    searched = await _client_names(session, demo.admin, Filters(q="juniper"))

    assert paused == {"Acme Dental"}
    assert "Acme Dental" not in connected and connected
    assert one_client == {"Acme Dental"}
    assert searched == {"Juniper Florist"}


async def test_pages_of_one_sort_follow_each_other_whoever_asks(
    session: AsyncSession, demo: Demo
) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        page = await list_rows(session, user=demo.admin, sort=Sort.CLIENT, limit=4, cursor=cursor)
        seen += [row.source.id for row in page.items]
        # Someone else's page of the same shape in between must not move this one.
        await list_rows(session, user=demo.limited, sort=Sort.CLIENT, limit=4)
        cursor = page.next_cursor
        if cursor is None:
            break

    everything = await list_rows(session, user=demo.admin, sort=Sort.CLIENT, limit=200)
    assert seen == [row.source.id for row in everything.items]
