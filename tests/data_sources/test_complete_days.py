"""What an import counts as complete: only days that are over in the account's time zone and
past the provider's reporting delay; today's data so far is imported all the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.imports import import_data_source
from relink.models import DailyMetric, DataSource
from relink.providers.catalog import Catalog
from relink.sandbox import seed
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo

LOS_ANGELES = "America/Los_Angeles"
BERLIN = "Europe/Berlin"
# December: Pacific Standard Time (UTC-8), Central European Time (UTC+1).
DEC_4, DEC_5, DEC_6, DEC_7 = (date(2026, 12, d) for d in (4, 5, 6, 7))
ACCOUNT = seed.SECOND_ACCOUNTS[0].id


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


async def _given(
    session: AsyncSession, *, time_zone: str | None, complete_through: date = date(2026, 12, 2)
) -> int:
    """The demo's first Harbor account, in ``time_zone``, imported through ``complete_through``."""
    source_id = await session.scalar(
        select(DataSource.id).where(DataSource.external_account_id == ACCOUNT)
    )
    assert source_id is not None
    await session.execute(
        update(DataSource)
        .where(DataSource.id == source_id)
        .values(account_timezone=time_zone, complete_through=complete_through)
    )
    await session.execute(
        delete(DailyMetric).where(
            DailyMetric.data_source_id == source_id, DailyMetric.day > complete_through
        )
    )
    await session.commit()
    return source_id


async def _imported(session: AsyncSession, ctx: JobContext, source_id: int) -> DataSource:
    result = await import_data_source(ctx, data_source_id=source_id)
    assert result.ok
    session.expire_all()
    source = await session.get(DataSource, source_id)
    assert source is not None
    return source


async def _days(session: AsyncSession, source_id: int) -> set[date]:
    found = await session.scalars(
        select(DailyMetric.day).where(DailyMetric.data_source_id == source_id)
    )
    return set(found)


async def test_today_is_never_complete_though_its_data_so_far_is_imported(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source_id = await _given(session, time_zone=None)

    for hour, minute in ((0, 1), (11, 0), (23, 59)):
        clock.current = _utc(6, hour, minute)
        source = await _imported(session, ctx, source_id)

        assert source.complete_through == DEC_5
        assert DEC_6 in await _days(session, source_id)


async def test_a_los_angeles_account_at_five_utc_is_still_on_the_previous_day(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source_id = await _given(session, time_zone=LOS_ANGELES)
    clock.current = _utc(6, 5)

    source = await _imported(session, ctx, source_id)

    # 21:00 on 5 Dec in Los Angeles: 5 Dec is today there, 6 Dec has not begun.
    assert source.complete_through == DEC_4
    days = await _days(session, source_id)
    assert DEC_5 in days and DEC_6 not in days


@pytest.mark.parametrize(
    ("zone", "local_midnight"),
    [(None, _utc(6, 0)), (LOS_ANGELES, _utc(6, 8)), (BERLIN, _utc(5, 23))],
    ids=["utc", "los-angeles", "berlin"],
)
async def test_a_day_becomes_complete_at_midnight_in_the_accounts_time_zone(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    zone: str | None,
    local_midnight: datetime,
) -> None:
    source_id = await _given(session, time_zone=zone)

    clock.current = local_midnight - timedelta(minutes=1)
    before = (await _imported(session, ctx, source_id)).complete_through
    clock.current = local_midnight
    after = (await _imported(session, ctx, source_id)).complete_through

    assert (before, after) == (DEC_4, DEC_5)


async def test_a_berlin_account_imports_its_today_before_utc_reaches_it(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source_id = await _given(session, time_zone=BERLIN)
    clock.current = _utc(6, 23, 30)

    source = await _imported(session, ctx, source_id)

    # 00:30 on 7 Dec in Berlin: 6 Dec is over there, and 7 Dec's first figures are in.
    assert source.complete_through == DEC_6
    assert DEC_7 in await _days(session, source_id)


async def test_the_reporting_delay_pushes_the_day_that_becomes_complete(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    # given: the sandbox's catalog entry names a three-hour reporting delay
    sandbox = ctx.catalog.get("sandbox").model_copy(
        update={"reporting_delay_hours": 3.0, "reporting_delay_source": "src/relink/sandbox/"}
    )
    ctx.catalog = Catalog({**ctx.catalog.specs, "sandbox": sandbox})
    source_id = await _given(session, time_zone=None)

    clock.current = _utc(6, 2, 59)
    before = (await _imported(session, ctx, source_id)).complete_through
    clock.current = _utc(6, 3)
    after = (await _imported(session, ctx, source_id)).complete_through

    assert (before, after) == (DEC_4, DEC_5)


async def test_a_day_claimed_complete_before_it_was_over_is_given_back_at_the_next_import(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    # given: an import before this rule wrote today as complete
    source_id = await _given(session, time_zone=None, complete_through=DEC_6)
    clock.current = _utc(6, 11)

    source = await _imported(session, ctx, source_id)

    assert source.complete_through == DEC_5
