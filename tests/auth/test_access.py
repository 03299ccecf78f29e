"""A staff user limited to 2 clients reads nothing of the other 10 through any service."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import visible_client_ids
from relink.clients import service as clients
from relink.data_sources import service as data_sources
from relink.errors import NotFound
from relink.events import service as events
from relink.grants import service as grants
from relink.metrics import service as metrics
from relink.models import (
    DataSource,
    Incident,
    IncidentDataSource,
    Notification,
    SyncOutcome,
    SyncRun,
    User,
)
from relink.notifications import service as notifications
from relink.providers.taxonomy import ErrorClass
from relink.users import preferences
from tests.fixtures.demo import Demo

LIMITED_CLIENTS = {"Acme Dental", "Juniper Florist"}


@pytest.fixture
async def world(session: AsyncSession, demo: Demo) -> Demo:
    """The demo plus a sync run, an incident, an event and a notification per data source."""
    for source in await session.scalars(select(DataSource)):
        session.add(
            SyncRun(
                agency_id=source.agency_id,
                data_source_id=source.id,
                trigger="schedule",
                date_from=date.today(),
                date_to=date.today(),
                outcome=SyncOutcome.OK,
            )
        )
        incident = Incident(
            agency_id=source.agency_id,
            key=f"data_source:{source.id}:permission_denied",
            data_source_id=source.id,
            error_class=ErrorClass.PERMISSION_DENIED,
            kind="reconnect_needed",
            provider=source.provider,
        )
        session.add(incident)
        await session.flush()
        session.add(
            IncidentDataSource(
                incident_id=incident.id, data_source_id=source.id, agency_id=source.agency_id
            )
        )
        session.add(
            Notification(
                agency_id=source.agency_id,
                user_id=demo.admin.id,
                incident_id=incident.id,
                kind="reconnect_needed",
            )
        )
        await events.record(
            session,
            agency_id=source.agency_id,
            actor="system:sweep",
            subject_type="data_source",
            subject_id=source.id,
            action="status_changed",
        )
    await session.commit()
    return demo


async def _foreign_sources(session: AsyncSession, demo: Demo) -> list[DataSource]:
    allowed = {c.id for c in demo.clients if c.name in LIMITED_CLIENTS}
    sources = await session.scalars(select(DataSource).where(DataSource.client_id.not_in(allowed)))
    return list(sources)


async def test_the_limited_user_sees_exactly_their_two_clients(
    session: AsyncSession, world: Demo
) -> None:
    listed = await preferences.visible_clients(session, user=world.limited)

    assert {c.name for c in listed} == LIMITED_CLIENTS


async def test_every_other_client_is_not_found(session: AsyncSession, world: Demo) -> None:
    others = [c for c in world.clients if c.name not in LIMITED_CLIENTS]
    assert len(others) == 10

    for client in others:
        with pytest.raises(NotFound):
            await clients.get_client(session, user=world.limited, client_id=client.id)


async def test_data_source_list_holds_only_their_clients(
    session: AsyncSession, world: Demo
) -> None:
    allowed = {c.id for c in world.clients if c.name in LIMITED_CLIENTS}

    page = await data_sources.list_data_sources(session, user=world.limited, limit=500)

    assert page.items and {s.client_id for s in page.items} <= allowed


async def test_data_source_list_filtered_by_a_foreign_client_is_empty(
    session: AsyncSession, world: Demo
) -> None:
    foreign = next(c for c in world.clients if c.name not in LIMITED_CLIENTS)

    page = await data_sources.list_data_sources(session, user=world.limited, client_id=foreign.id)

    assert page.items == []


async def test_foreign_data_sources_their_runs_and_metrics_are_not_found(
    session: AsyncSession, world: Demo
) -> None:
    today = date.today()
    for source in await _foreign_sources(session, world):
        with pytest.raises(NotFound):
            await data_sources.get_data_source(
                session, user=world.limited, data_source_id=source.id
            )
        with pytest.raises(NotFound):
            await data_sources.list_sync_runs(session, user=world.limited, data_source_id=source.id)
        with pytest.raises(NotFound):
            await metrics.daily_metrics(
                session,
                user=world.limited,
                data_source_id=source.id,
                start=today - timedelta(days=30),
                end=today,
            )


async def test_grants_are_limited_to_those_serving_their_clients(
    session: AsyncSession, world: Demo
) -> None:
    allowed = {c.id for c in world.clients if c.name in LIMITED_CLIENTS}
    serving = set(
        await session.scalars(select(DataSource.grant_id).where(DataSource.client_id.in_(allowed)))
    )

    listed = await grants.list_grants(session, user=world.limited)

    assert {g.id for g in listed} == serving
    for grant_id in set(await session.scalars(select(DataSource.grant_id))) - serving:
        with pytest.raises(NotFound):
            await grants.get_grant(session, user=world.limited, grant_id=grant_id)


async def test_another_users_notifications_are_invisible(
    session: AsyncSession, world: Demo
) -> None:
    assert (await notifications.list_notifications(session, user=world.limited)).items == []
    assert await notifications.unread_count(session, user=world.limited) == 0
    assert await notifications.unread_count(session, user=world.admin) > 0


@pytest.mark.parametrize(
    ("who", "expected"),
    [("admin", 12), ("staff", 12), ("limited", 2), ("client_user", 1)],
)
async def test_the_access_rule_per_role(
    session: AsyncSession, world: Demo, who: str, expected: int
) -> None:
    user: User = getattr(world, who)

    ids = list(await session.scalars(visible_client_ids(user)))

    assert len(ids) == expected


async def test_a_deactivated_user_sees_no_client(session: AsyncSession, world: Demo) -> None:
    world.staff.is_active = False

    assert list(await session.scalars(visible_client_ids(world.staff))) == []
