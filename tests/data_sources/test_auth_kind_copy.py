"""Each data source keeps a copy of its grant's auth kind (the auth filter's index key): set
when it is created, moved with it to another grant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import DataSource, Grant
from tests.fixtures.demo import Demo


async def test_every_data_source_has_its_grants_auth_kind(
    session: AsyncSession, demo: Demo
) -> None:
    pairs = list(
        await session.execute(
            select(DataSource.auth_kind, Grant.auth_kind).join(
                Grant, Grant.id == DataSource.grant_id
            )
        )
    )

    assert len({grant_kind for _, grant_kind in pairs}) > 1
    assert all(own == grant_kind for own, grant_kind in pairs)
