"""The shared column types read what was written: moments as aware UTC whatever the server's
time zone, statuses as their enum members, an unknown status as an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text, update

from relink.db import Database
from relink.demo import seed_demo
from relink.kit.crypto import SecretBox, generate_key
from relink.models import DataSource
from relink.providers.taxonomy import ErrorClass
from relink.status import DataSourceStatus

WRITTEN = datetime(2026, 3, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5)))


async def _source(database: Database) -> int:
    """A demo data source, failing since ``WRITTEN``."""
    async with database.transaction() as session:
        await seed_demo(session, box=SecretBox([generate_key()]))
        source_id = await session.scalar(select(func.min(DataSource.id)))
        assert source_id is not None
        await session.execute(
            update(DataSource)
            .where(DataSource.id == source_id)
            .values(
                status=DataSourceStatus.FAILING,
                status_reason=ErrorClass.PROVIDER_UNAVAILABLE,
                last_ok_at=WRITTEN,
                removed_at=None,
            )
        )
        return int(source_id)


async def test_moments_are_read_as_aware_utc(database_url: str) -> None:
    database = Database(database_url)
    try:
        source_id = await _source(database)
        async with database.transaction() as session:
            read = await session.execute(select(DataSource).where(DataSource.id == source_id))
            moment = read.scalar_one().last_ok_at
    finally:
        await database.dispose()

    assert moment == WRITTEN
    assert moment is not None and moment.utcoffset() == timedelta(0)
    assert moment.strftime("%d %b %H:%M") == "06 Mar 04:30"


async def test_a_server_in_another_time_zone_still_answers_in_utc(pg_database_url: str) -> None:
    # The server's default for these sessions is Tokyo; Relink's sessions run in UTC.
    database = Database(f"{pg_database_url}?options=-c%20TimeZone%3DAsia/Tokyo")
    try:
        source_id = await _source(database)
        async with database.transaction() as session:
            zone = (await session.execute(text("show time zone"))).scalar_one()
            row = await session.execute(
                select(DataSource.last_ok_at).where(DataSource.id == source_id)
            )
            moment = row.scalar_one()
    finally:
        await database.dispose()

    assert zone == "UTC"
    assert moment == WRITTEN
    assert moment.tzinfo is UTC


async def test_statuses_are_read_as_their_members(database_url: str) -> None:
    database = Database(database_url)
    try:
        source_id = await _source(database)
        async with database.transaction() as session:
            read = await session.execute(
                select(DataSource.status, DataSource.status_reason, DataSource.removed_at).where(
                    DataSource.id == source_id
                )
            )
            status, reason, removed_at = read.one()
    finally:
        await database.dispose()

    assert status is DataSourceStatus.FAILING
    assert reason is ErrorClass.PROVIDER_UNAVAILABLE
    assert removed_at is None


async def test_a_status_the_code_does_not_know_is_an_error(database_url: str) -> None:
    database = Database(database_url)
    try:
        source_id = await _source(database)
        async with database.transaction() as session:
            # What an older or newer release might have written.
            await session.execute(
                update(DataSource)
                .where(DataSource.id == source_id)
                .values(status=text("'haunted'"))
            )
        async with database.transaction() as session:
            with pytest.raises(LookupError):
                await session.execute(select(DataSource.status).where(DataSource.id == source_id))
    finally:
        await database.dispose()
