"""Imports: upserted per day, complete days only move forward, failures touch only their cause."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.imports import import_data_source
from relink.models import DailyMetric, DataSource, SyncRun
from relink.providers.taxonomy import ErrorClass
from relink.sandbox import seed
from relink.sandbox.metrics_data import day_metrics
from relink.status import DataSourceStatus, GrantStatus
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import open_incidents, reload_grant, statuses


async def _source(session: AsyncSession, account_id: str) -> DataSource:
    session.expire_all()
    source = await session.scalar(
        select(DataSource).where(DataSource.external_account_id == account_id)
    )
    assert source is not None
    return source


async def _row_count(session: AsyncSession, source_id: int) -> int:
    count = await session.scalar(
        select(func.count()).where(DailyMetric.data_source_id == source_id)
    )
    return int(count or 0)


async def test_a_re_import_replaces_days_and_never_duplicates(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    # Mid-day, so the hour below never crosses midnight into a new day.
    clock.current = clock.current.replace(hour=11, minute=0)
    source = await _source(session, seed.SECOND_ACCOUNTS[0].id)
    before = await _row_count(session, source.id)

    await import_data_source(ctx, data_source_id=source.id)
    clock.advance(hours=1)
    await import_data_source(ctx, data_source_id=source.id)

    # The demo's 90 settled days plus today, each once.
    assert await _row_count(session, source.id) == before + 1
    today_row = await session.scalar(
        select(DailyMetric).where(
            DailyMetric.data_source_id == source.id, DailyMetric.day == clock().date()
        )
    )
    assert today_row is not None
    assert (
        today_row.values["clicks"]
        == day_metrics(source.external_account_id, clock().date())["clicks"]
    )


async def test_complete_through_moves_forward_over_complete_days_only(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _source(session, seed.SECOND_ACCOUNTS[0].id)
    before = source.complete_through
    assert before is not None

    clock.advance(days=3)
    await import_data_source(ctx, data_source_id=source.id)
    clock.advance(hours=1)
    await import_data_source(ctx, data_source_id=source.id)

    source = await _source(session, seed.SECOND_ACCOUNTS[0].id)
    # Today is imported as far as it goes, but it is not complete before it is over.
    assert source.complete_through == clock().date() - timedelta(days=1)
    assert source.complete_through > before


async def test_a_long_gap_is_imported_oldest_first_in_batches(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _source(session, seed.SECOND_ACCOUNTS[1].id)
    clock.advance(days=70)

    result = await import_data_source(ctx, data_source_id=source.id)

    assert result.ok and result.days >= 70
    runs = list(
        await session.scalars(
            select(SyncRun).where(SyncRun.data_source_id == source.id).order_by(SyncRun.id)
        )
    )
    assert len(runs) >= 3
    assert [r.date_from for r in runs] == sorted(r.date_from for r in runs)
    source = await _source(session, seed.SECOND_ACCOUNTS[1].id)
    # Today is imported as far as it goes, but it is not complete before it is over.
    assert source.complete_through == clock().date() - timedelta(days=1)


async def test_malformed_data_opens_upload_failed_and_keeps_the_previous_rows(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    account = seed.SECOND_ACCOUNTS[0].id
    source_id = (await _source(session, account)).id
    before = await _rows(session, source_id)
    sandbox.add_fault("malformed_data", account=account)

    result = await import_data_source(ctx, data_source_id=source_id)

    assert not result.ok
    assert await _rows(session, source_id) == before
    incidents = await open_incidents(session)
    assert [(i.error_class, i.data_source_id) for i in incidents] == [
        (ErrorClass.DATA_ERROR, source_id)
    ]
    assert (await _source(session, account)).status is DataSourceStatus.CONNECTED


async def _rows(session: AsyncSession, source_id: int) -> dict[object, dict[str, float]]:
    session.expire_all()
    rows = await session.scalars(select(DailyMetric).where(DailyMetric.data_source_id == source_id))
    return {row.day: dict(row.values) for row in rows}


async def test_a_removed_permission_disconnects_only_that_source(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    target = seed.MANAGER_SUB_ACCOUNTS[2].id
    sandbox.add_fault("remove_permission", account=target)

    await sweep(ctx)

    now = await statuses(session)
    source = await _source(session, target)
    assert now[source.id] is DataSourceStatus.DISCONNECTED
    assert source.status_reason is ErrorClass.PERMISSION_DENIED
    assert [s for s in now.values() if s is DataSourceStatus.DISCONNECTED] == [
        DataSourceStatus.DISCONNECTED
    ]
    assert (await reload_grant(session, demo.shared_grant_id)).status is GrantStatus.ACTIVE


async def test_an_unlinked_account_is_account_not_found_for_that_source_only(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    target = seed.MANAGER_SUB_ACCOUNTS[4].id
    sandbox.add_fault("unlink_account", account=target)

    await sweep(ctx)

    source = await _source(session, target)
    assert source.status is DataSourceStatus.DISCONNECTED
    assert source.status_reason is ErrorClass.ACCOUNT_NOT_FOUND
    others = await data_sources_of(session, demo.shared_grant_id)
    assert sum(s.status is DataSourceStatus.DISCONNECTED for s in others) == 1


async def test_a_rotated_api_key_disconnects_only_its_source(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    account = seed.API_KEY_ACCOUNTS[0].account.id
    sandbox.add_fault("rotate_api_key", account=account)

    await sweep(ctx)

    source = await _source(session, account)
    assert source.status is DataSourceStatus.DISCONNECTED
    assert source.status_reason is ErrorClass.INVALID_CREDENTIALS
    disconnected = [
        s for s in (await statuses(session)).values() if s is DataSourceStatus.DISCONNECTED
    ]
    assert len(disconnected) == 1
