"""The demo agency holds what the issue promises."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_DAYS
from relink.models import Client, DailyMetric, DataSource, Grant, Role, User
from relink.providers.taxonomy import AuthKind
from tests.fixtures.demo import Demo, data_sources_of


async def test_the_demo_has_twelve_clients_and_four_kinds_of_login(
    session: AsyncSession, demo: Demo
) -> None:
    assert await session.scalar(select(func.count()).select_from(Client)) == 12
    roles = Counter(u.role for u in await session.scalars(select(User)))
    assert roles == {Role.ADMIN: 1, Role.STAFF: 2, Role.CLIENT: 1}
    assert demo.staff.all_clients and not demo.limited.all_clients


async def test_one_shared_grant_serves_eight_clients_and_another_three(
    session: AsyncSession, demo: Demo
) -> None:
    shared = await data_sources_of(session, demo.shared_grant)
    second = await data_sources_of(session, demo.second_grant)

    assert len({s.client_id for s in shared}) == 8
    assert len({s.client_id for s in second}) == 3
    assert demo.shared_grant.auth_kind is AuthKind.OAUTH2


async def test_four_clients_have_an_api_key_data_source_each(
    session: AsyncSession, demo: Demo
) -> None:
    key_grants = list(
        await session.scalars(select(Grant).where(Grant.auth_kind == AuthKind.API_KEY))
    )
    sources = list(
        await session.scalars(
            select(DataSource).where(DataSource.grant_id.in_([g.id for g in key_grants]))
        )
    )

    assert len(key_grants) == 4
    assert len({s.client_id for s in sources}) == 4


async def test_every_data_source_has_ninety_complete_days(
    session: AsyncSession, demo: Demo
) -> None:
    yesterday = date.today() - timedelta(days=1)
    per_source = dict(
        (
            await session.execute(
                select(DailyMetric.data_source_id, func.count()).group_by(
                    DailyMetric.data_source_id
                )
            )
        ).all()
    )
    sources = list(await session.scalars(select(DataSource)))

    assert len(sources) == 15
    assert all(per_source[s.id] == DEMO_DAYS for s in sources)
    assert all(s.complete_through == yesterday for s in sources)
