"""An agency's status version moves once per committed transaction that changed a status in it
(or added a data source), never before that commit and never for a rolled-back one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.service import create_data_source
from relink.db import Database
from relink.models import DataSource
from relink.status import DataSourceStatus, GrantStatus
from relink.status_versions import status_version
from relink.status_writer import transition_many
from tests.fixtures.demo import Demo, data_sources_of

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def agency(demo: Demo) -> int:
    """The demo agency's id (its object expires with a rollback)."""
    return demo.agency.id


async def _version(database: Database, agency: int) -> int:
    """The version as another unit of work sees it (what another process would read)."""
    async with database.reading() as reading:
        return await status_version(reading, agency_id=agency)


async def _pause_one(session: AsyncSession, demo: Demo) -> int:
    (first, *_) = await data_sources_of(session, demo.shared_grant_id)
    await transition_many(session, [first.id], to=DataSourceStatus.PAUSED, actor="test", now=NOW)
    return first.id


async def test_a_status_move_moves_the_version_when_it_commits_not_before(
    session: AsyncSession, database: Database, demo: Demo, agency: int
) -> None:
    before = await _version(database, agency)

    await _pause_one(session, demo)
    pending = await _version(database, agency)
    await session.commit()

    assert pending == before
    assert await _version(database, agency) == before + 1


async def test_a_rolled_back_move_leaves_the_version_and_the_next_commit_alone(
    session: AsyncSession, database: Database, demo: Demo, agency: int
) -> None:
    before = await _version(database, agency)

    await _pause_one(session, demo)
    await session.rollback()
    await session.commit()

    assert await _version(database, agency) == before


async def test_a_move_of_nothing_leaves_the_version(
    session: AsyncSession, database: Database, demo: Demo, agency: int
) -> None:
    before = await _version(database, agency)
    sources = [s.id for s in await data_sources_of(session, demo.shared_grant_id)]

    moved = await transition_many(
        session,
        sources,
        to=DataSourceStatus.CONNECTED,
        actor="test",
        now=NOW,
        only_from=[DataSourceStatus.DISCONNECTED],
    )
    await session.commit()

    assert moved == []
    assert await _version(database, agency) == before


async def test_many_moves_in_one_transaction_move_the_version_once(
    session: AsyncSession, database: Database, demo: Demo, agency: int
) -> None:
    before = await _version(database, agency)
    sources = [s.id for s in await data_sources_of(session, demo.shared_grant_id)]

    await transition_many(
        session, [demo.shared_grant_id], to=GrantStatus.DISCONNECTED, actor="t", now=NOW
    )
    await transition_many(session, sources, to=DataSourceStatus.DISCONNECTED, actor="t", now=NOW)
    await session.commit()

    assert await _version(database, agency) == before + 1


async def test_a_savepoint_rolled_back_after_a_move_keeps_the_moves_bump(
    session: AsyncSession, database: Database, demo: Demo, agency: int
) -> None:
    before = await _version(database, agency)

    await _pause_one(session, demo)
    savepoint = await session.begin_nested()
    await savepoint.rollback()
    await session.commit()

    assert await _version(database, agency) == before + 1


async def test_a_move_in_a_released_savepoint_moves_the_version_only_with_the_commit(
    session: AsyncSession, database: Database, demo: Demo, agency: int
) -> None:
    before = await _version(database, agency)

    async with session.begin_nested():
        await _pause_one(session, demo)
    released = await _version(database, agency)
    await session.commit()

    assert released == before
    assert await _version(database, agency) == before + 1


async def test_a_new_data_source_moves_the_version(
    session: AsyncSession, database: Database, demo: Demo, agency: int
) -> None:
    before = await _version(database, agency)

    await create_data_source(
        session,
        grant=demo.shared_grant,
        client_id=demo.client_named("Acme Dental").id,
        external_account_id="new-account",
        external_account_name="New account",
    )
    await session.commit()

    assert await _version(database, agency) == before + 1


async def test_a_mover_commits_while_another_holds_rows_of_the_same_agency(
    postgres: Database, demo: Demo, agency: int
) -> None:
    # given: one transaction has moved the shared grant and not committed (a revocation found)
    second = [s.id for s in await _sources(postgres, demo.second_grant_id)]
    async with postgres.sessions() as first, postgres.sessions() as other:
        await transition_many(
            first, [demo.shared_grant_id], to=GrantStatus.DISCONNECTED, actor="t", now=NOW
        )

        # when: another moves a data source of the same agency and commits, refusing to wait
        # for a lock (a version bumped beside each move would be held by the first)
        await other.execute(text("SET LOCAL lock_timeout = '5s'"))
        await transition_many(other, second, to=DataSourceStatus.PAUSED, actor="t", now=NOW)
        await other.commit()

        # then: both commit, and the version counts both
        before = await _version(postgres, agency)
        await first.commit()

    assert await _version(postgres, agency) == before + 1


async def _sources(database: Database, grant_id: int) -> list[DataSource]:
    async with database.sessions() as session:
        return list(await data_sources_of(session, grant_id))
