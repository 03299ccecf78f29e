"""Disconnect that loses nothing: the trash, restore, the purge after the window, the grant."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.credentials import reverify_api_key
from relink.data_sources.removal import (
    TrashExpired,
    disconnect,
    purge_expired,
    removal_preview,
    restore,
)
from relink.errors import InvalidInput, NotFound
from relink.grants.revoke import Outcome
from relink.models import DataSource
from relink.providers.taxonomy import ErrorClass
from relink.sandbox.seed import API_KEY_ACCOUNTS
from relink.status import DataSourceStatus, GrantStatus
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.data_sources import (
    count_metrics,
    key_source,
    metric_rows,
    recording_jobs,
    reload,
    reload_grant,
)
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer

RETENTION = 30


async def _acme(session: AsyncSession, demo: Demo) -> DataSource:
    sources = await data_sources_of(session, demo.shared_grant_id)
    return next(s for s in sources if s.client_id == demo.client_named("Acme Dental").id)


async def _remove(
    session: AsyncSession,
    ctx: JobContext,
    demo: Demo,
    clock: Clock,
    source: DataSource,
    confirm: str = "Acme Dental",
) -> None:
    await disconnect(
        session, ctx=ctx, user=demo.admin, data_source_id=source.id, confirm=confirm, now=clock()
    )
    await session.commit()


async def test_the_preview_names_client_provider_and_days_of_data(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    source = await _acme(session, demo)

    preview = await removal_preview(
        session, user=demo.admin, data_source_id=source.id, now=clock(), retention_days=RETENTION
    )

    assert preview.client_name == "Acme Dental"
    assert preview.provider_name == "Sandbox Ads"
    assert preview.days_of_data == 90
    assert preview.retention_days == RETENTION and not preview.revokes_grant
    assert preview.other_data_sources_on_grant == 7


async def test_disconnect_needs_the_clients_name(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _acme(session, demo)
    source_id = source.id

    with pytest.raises(InvalidInput) as refused:
        await _remove(session, ctx, demo, clock, source, confirm="yes")

    assert "Acme Dental" in refused.value.message
    await session.rollback()
    still = await reload(session, source_id)
    assert still is not None and still.status is DataSourceStatus.CONNECTED


async def test_the_name_is_accepted_in_any_case_with_spaces_around(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _acme(session, demo)

    await _remove(session, ctx, demo, clock, source, confirm="  acme DENTAL ")

    removed = await reload(session, source.id)
    assert removed is not None and removed.status is DataSourceStatus.REMOVED
    assert removed.removed_at is not None


async def test_a_disconnected_then_restored_source_has_every_row_back(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _acme(session, demo)
    before = await metric_rows(session, source.id)

    await _remove(session, ctx, demo, clock, source)
    clock.advance(days=RETENTION - 1)
    await restore(
        session, user=demo.admin, data_source_id=source.id, now=clock(), retention_days=RETENTION
    )
    await session.commit()

    back = await reload(session, source.id)
    assert back is not None and back.status is DataSourceStatus.CONNECTED
    assert await metric_rows(session, source.id) == before and len(before) == 90


async def test_after_the_window_the_purge_removes_the_source_and_its_rows(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _acme(session, demo)
    source_id = source.id
    await _remove(session, ctx, demo, clock, source)

    clock.advance(days=RETENTION, minutes=1)
    report = await purge_expired(session, now=clock(), retention_days=RETENTION, batch_size=1)
    await session.commit()

    assert (report.data_sources, report.daily_metrics) == (1, 90)
    assert await reload(session, source_id) is None
    assert await count_metrics(session, source_id) == 0
    with pytest.raises(NotFound):
        await restore(session, user=demo.admin, data_source_id=source_id, now=clock())


async def test_the_purge_keeps_what_is_still_inside_the_window(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _acme(session, demo)
    await _remove(session, ctx, demo, clock, source)

    clock.advance(days=RETENTION - 1)
    report = await purge_expired(session, now=clock(), retention_days=RETENTION)

    assert report.data_sources == 0
    assert await count_metrics(session, source.id) == 90


async def test_restore_after_the_window_is_refused(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _acme(session, demo)
    await _remove(session, ctx, demo, clock, source)

    clock.advance(days=RETENTION + 1)
    with pytest.raises(TrashExpired):
        await restore(
            session,
            user=demo.admin,
            data_source_id=source.id,
            now=clock(),
            retention_days=RETENTION,
        )


async def test_disconnect_resolves_the_sources_own_open_incident(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    from relink.notifications.service import unread_count
    from relink.worker.sweep import sweep

    source = await key_source(session)
    sandbox.add_fault("rotate_api_key", account=source.external_account_id)
    await sweep(ctx)
    assert await unread_count(session, user=demo.admin) == 1

    await _remove(session, ctx, demo, clock, source, confirm="Indigo Spa")

    assert await unread_count(session, user=demo.admin) == 0


async def test_removing_one_of_a_shared_grants_sources_queues_no_revocation(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _acme(session, demo)

    with recording_jobs() as jobs:
        await _remove(session, ctx, demo, clock, source)

    assert "grants.revoke" not in jobs.names()
    assert (await reload_grant(session, demo.shared_grant_id)).status is GrantStatus.ACTIVE


async def test_the_revoke_job_leaves_a_grant_that_is_still_in_use(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    from relink.grants.revoke import revoke_unused_grant

    result = await revoke_unused_grant(ctx, grant_id=demo.shared_grant_id)

    assert result.outcome is Outcome.IN_USE
    assert not any(f.revoked for f in sandbox.state.families.values())


async def test_removing_an_api_key_source_revokes_its_grant_in_relink_only(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    source = await key_source(session)

    with recording_jobs() as jobs:
        await _remove(session, ctx, demo, clock, source, confirm="Indigo Spa")
        assert jobs.names() == ["grants.revoke"]
        (result,) = await jobs.run_all(ctx)

    assert result.outcome is Outcome.REVOKED and not result.at_provider
    assert (await reload_grant(session, source.grant_id)).status is GrantStatus.REVOKED


async def test_a_restored_source_of_a_revoked_grant_waits_for_its_key(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await key_source(session)
    with recording_jobs() as jobs:
        await _remove(session, ctx, demo, clock, source, confirm="Indigo Spa")
        await jobs.run_all(ctx)

    await restore(session, user=demo.admin, data_source_id=source.id, now=clock())
    await session.commit()
    down = await reload(session, source.id)
    assert down is not None and down.status is DataSourceStatus.DISCONNECTED
    assert down.status_reason is ErrorClass.AUTH_REVOKED

    await reverify_api_key(
        session,
        ctx=ctx,
        user=demo.admin,
        data_source_id=source.id,
        raw_key=API_KEY_ACCOUNTS[0].demo_api_key,
        now=clock(),
    )
    await session.commit()
    back = await reload(session, source.id)
    assert back is not None and back.status is DataSourceStatus.CONNECTED
    assert (await reload_grant(session, source.grant_id)).status is GrantStatus.ACTIVE
