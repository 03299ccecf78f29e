"""``POST /api/v1/data-sources/{id}/imports``: the days an outside importer imported, and what
Relink's own import job does with an external data source (nothing with the data API)."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.imports import import_data_source
from relink.db import Database
from relink.models import DataSource
from relink.models.base import utcnow
from relink.status import DataSourceStatus
from relink.worker.context import JobContext
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.importers.conftest import make_external, shared_sources

TODAY = utcnow().date()


async def _behind(database: Database, source_id: int, *, through: date, backfill: bool) -> None:
    """The data source complete through ``through``, disconnected and repaired since."""
    async with database.transaction() as session:
        await session.execute(
            update(DataSource)
            .where(DataSource.id == source_id)
            .values(
                complete_through=through,
                backfill_from=through + timedelta(days=1) if backfill else None,
                account_timezone="UTC",
            )
        )


async def _row(database: Database, source_id: int) -> DataSource:
    async with database.transaction() as session:
        return await session.get_one(DataSource, source_id)


def _confirm(importer: httpx.Client, source_id: int, **days: str) -> httpx.Response:
    return importer.post(f"/api/v1/data-sources/{source_id}/imports", json=days)


async def test_confirmed_days_move_complete_through_and_close_the_backfill(
    importer: httpx.Client, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]
    await make_external(database, [source.id])
    await _behind(database, source.id, through=TODAY - timedelta(days=6), backfill=True)

    answer = _confirm(
        importer,
        source.id,
        first=(TODAY - timedelta(days=5)).isoformat(),
        last=TODAY.isoformat(),
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["backfill_closed"] is True
    row = await _row(database, source.id)
    # Today is still going on: complete through yesterday, as Relink's own imports count.
    assert row.complete_through == TODAY - timedelta(days=1)
    assert row.backfill_from is None


async def test_part_of_a_gap_confirmed_moves_it_and_keeps_the_backfill_open(
    importer: httpx.Client, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]
    await make_external(database, [source.id])
    await _behind(database, source.id, through=TODAY - timedelta(days=6), backfill=True)

    answer = _confirm(
        importer,
        source.id,
        first=(TODAY - timedelta(days=5)).isoformat(),
        last=(TODAY - timedelta(days=3)).isoformat(),
    )

    assert answer.json()["backfill_closed"] is False
    assert answer.json()["backfill_until"] == (TODAY - timedelta(days=1)).isoformat()
    row = await _row(database, source.id)
    assert row.complete_through == TODAY - timedelta(days=3)
    assert row.backfill_from is not None


async def test_days_that_skip_the_first_missing_one_are_refused_naming_it(
    importer: httpx.Client, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]
    await make_external(database, [source.id])
    await _behind(database, source.id, through=TODAY - timedelta(days=6), backfill=False)

    answer = _confirm(
        importer,
        source.id,
        first=(TODAY - timedelta(days=3)).isoformat(),
        last=TODAY.isoformat(),
    )

    assert answer.status_code == 409
    assert answer.json()["code"] == "days_not_contiguous"
    assert (TODAY - timedelta(days=5)).isoformat() in answer.json()["detail"]
    assert (await _row(database, source.id)).complete_through == TODAY - timedelta(days=6)


async def test_a_day_that_has_not_begun_is_refused(
    importer: httpx.Client, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]
    await make_external(database, [source.id])

    answer = _confirm(importer, source.id, last=(TODAY + timedelta(days=3)).isoformat())

    assert answer.status_code == 422
    assert "has not begun" in answer.json()["detail"]


async def test_a_data_source_relink_imports_takes_no_confirmation(
    importer: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    source = (await shared_sources(session, demo))[0]

    answer = _confirm(importer, source.id, last=TODAY.isoformat())

    assert answer.status_code == 409
    assert answer.json()["code"] == "imported_by_relink"


async def test_confirmed_imports_bring_a_failing_data_source_back(
    importer: httpx.Client, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]
    await make_external(database, [source.id])
    async with database.transaction() as writing:
        await writing.execute(
            update(DataSource)
            .where(DataSource.id == source.id)
            .values(status=DataSourceStatus.FAILING, consecutive_failures=3)
        )

    _confirm(importer, source.id, last=TODAY.isoformat()).raise_for_status()

    row = await _row(database, source.id)
    assert row.status is DataSourceStatus.CONNECTED and row.consecutive_failures == 0


async def test_relink_never_calls_the_data_api_for_an_external_data_source(
    session: AsyncSession,
    demo: Demo,
    database: Database,
    ctx: JobContext,
    sandbox: SandboxServer,
) -> None:
    source = (await shared_sources(session, demo))[0]
    await make_external(database, [source.id])
    calls = sandbox.state.stats.api_requests_by_account[source.external_account_id]

    result = await import_data_source(ctx, data_source_id=source.id)

    assert result.skipped
    assert sandbox.state.stats.api_requests_by_account[source.external_account_id] == calls


async def test_staff_set_who_imports_a_data_source(
    admin: httpx.Client, session: AsyncSession, demo: Demo, database: Database
) -> None:
    source = (await shared_sources(session, demo))[0]

    answer = admin.put(
        f"/api/v1/data-sources/{source.id}/import-mode", json={"imports": "external"}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "data_source_id": source.id,
        "imports": "external",
        "own_setting": "external",
    }
    assert (await _row(database, source.id)).imports == "external"


async def test_a_service_token_cannot_change_who_imports(
    importer: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    source = (await shared_sources(session, demo))[0]

    answer = importer.put(
        f"/api/v1/data-sources/{source.id}/import-mode", json={"imports": "relink"}
    )

    assert answer.status_code == 403
