"""The inbox: unread first, pages, mark read, mark all read, actions, history."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import NotFound
from relink.incidents import service as incidents
from relink.models import DataSource
from relink.notifications import service as inbox
from relink.providers.taxonomy import ErrorClass
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo


async def _incidents(session: AsyncSession, demo: Demo, clock: Clock, count: int) -> None:
    sources = list(await session.scalars(select(DataSource).order_by(DataSource.id)))
    for source in sources[:count]:
        await incidents.open_or_extend(
            session,
            agency_id=demo.agency.id,
            key=f"data_source:{source.id}:permission_denied",
            error_class=ErrorClass.PERMISSION_DENIED,
            provider=source.provider,
            now=clock(),
            grant_id=source.grant_id,
            data_source_id=source.id,
            hint="The login lost access to this account.",
        )
        clock.advance(seconds=1)
    await session.commit()


async def test_unread_come_first_then_newest(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    await _incidents(session, demo, clock, 4)
    page = await inbox.list_notifications(session, user=demo.admin)
    oldest = page.items[-1].id

    await inbox.mark_read(session, user=demo.admin, notification_id=page.items[0].id, now=clock())
    await session.commit()

    reordered = await inbox.list_notifications(session, user=demo.admin)
    assert [i.read for i in reordered.items] == [False, False, False, True]
    assert reordered.items[2].id == oldest


async def test_pages_cover_every_item_once(session: AsyncSession, demo: Demo, clock: Clock) -> None:
    await _incidents(session, demo, clock, 7)
    first = await inbox.list_notifications(session, user=demo.admin, limit=2)
    await inbox.mark_read(session, user=demo.admin, notification_id=first.items[1].id, now=clock())
    await session.commit()

    seen: list[int] = []
    cursor = None
    while True:
        page = await inbox.list_notifications(session, user=demo.admin, limit=3, cursor=cursor)
        seen += [i.id for i in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert len(seen) == len(set(seen)) == 7


async def test_mark_all_read_clears_the_count(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    await _incidents(session, demo, clock, 3)
    assert await inbox.unread_count(session, user=demo.admin) == 3

    await inbox.mark_all_read(session, user=demo.admin, now=clock())
    await session.commit()

    assert await inbox.unread_count(session, user=demo.admin) == 0
    assert await inbox.unread_count(session, user=demo.staff) == 3


async def test_taking_the_action_marks_read_and_leads_to_the_fix(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    await _incidents(session, demo, clock, 1)
    (item,) = (await inbox.list_notifications(session, user=demo.admin)).items

    path = await inbox.take_action(session, user=demo.admin, notification_id=item.id, now=clock())
    await session.commit()

    assert path == f"/grants/{demo.shared_grant_id}/reconnect"
    assert await inbox.unread_count(session, user=demo.admin) == 0


async def test_another_users_notification_is_not_found(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    await _incidents(session, demo, clock, 1)
    (item,) = (await inbox.list_notifications(session, user=demo.admin)).items

    with pytest.raises(NotFound):
        await inbox.mark_read(session, user=demo.staff, notification_id=item.id, now=clock())


async def test_history_filters_by_kind_and_state(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    await _incidents(session, demo, clock, 2)

    unread = await inbox.list_notifications(session, user=demo.admin, show="unread")
    reconnects = await inbox.list_notifications(session, user=demo.admin, kind="reconnect_needed")
    delayed = await inbox.list_notifications(session, user=demo.admin, kind="data_delayed")

    assert len(unread.items) == 2 and len(reconnects.items) == 2 and delayed.items == []


async def test_an_unknown_kind_filter_says_which_kinds_exist(
    session: AsyncSession, demo: Demo
) -> None:
    from relink.errors import InvalidInput

    with pytest.raises(InvalidInput, match="reconnect_needed"):
        await inbox.list_notifications(session, user=demo.admin, kind="nope")
