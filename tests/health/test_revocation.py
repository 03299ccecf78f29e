"""A revoked shared grant: exactly its data sources go down, once, and nothing else does."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import DataSource, Event, IncidentDataSource
from relink.providers.taxonomy import GRANT_LEVEL, ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import open_incidents, reload_grant, statuses

MANAGER = "manager@sandbox.test"


async def test_revoking_the_shared_grant_disconnects_exactly_its_eight_sources(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    shared = {s.id for s in await data_sources_of(session, demo.shared_grant_id)}
    sandbox.add_fault("revoke_grant", grant=MANAGER)

    report = await sweep(ctx)

    now = await statuses(session)
    down = {ds for ds, status in now.items() if status is DataSourceStatus.DISCONNECTED}
    assert down == shared and len(down) == 8
    assert all(now[ds] is DataSourceStatus.CONNECTED for ds in now.keys() - shared)
    assert report.imported == len(now) - 8


async def test_the_revocation_opens_one_incident_linking_all_eight(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)

    await sweep(ctx)
    await sweep(ctx)

    incidents = await open_incidents(session)
    assert len(incidents) == 1
    assert incidents[0].error_class in GRANT_LEVEL
    linked = await session.scalars(
        select(IncidentDataSource.data_source_id).where(
            IncidentDataSource.incident_id == incidents[0].id
        )
    )
    assert len(set(linked)) == 8


async def test_the_grant_is_disconnected_with_its_reason(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    shared_id, second_id = demo.shared_grant_id, demo.second_grant_id
    sandbox.add_fault("revoke_grant", grant=MANAGER)

    await sweep(ctx)

    grant = await reload_grant(session, shared_id)
    assert grant.status is GrantStatus.DISCONNECTED
    assert grant.status_reason in GRANT_LEVEL
    assert (await reload_grant(session, second_id)).status is GrantStatus.ACTIVE


async def test_every_transition_is_in_the_event_log(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    shared = {s.id for s in await data_sources_of(session, demo.shared_grant_id)}
    sandbox.add_fault("revoke_grant", grant=MANAGER)

    await sweep(ctx)

    events = list(
        await session.scalars(
            select(Event).where(
                Event.subject_type == "data_source", Event.action == "status_changed"
            )
        )
    )
    assert {e.subject_id for e in events} == shared
    assert all((e.from_status, e.to_status) == ("connected", "disconnected") for e in events)
    assert all(e.actor == "system:refresh" and e.reason for e in events)


async def test_a_disconnected_grant_is_not_retried_on_the_schedule(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: object
) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    await sweep(ctx)
    calls = sandbox.state.stats.token_requests_by_subject["sbx-user-1001"]

    for _ in range(3):
        ctx.clock = _later(ctx, hours=2)
        await sweep(ctx)

    assert sandbox.state.stats.token_requests_by_subject["sbx-user-1001"] == calls
    disconnected = await session.scalars(
        select(DataSource).where(DataSource.status == DataSourceStatus.DISCONNECTED)
    )
    assert len(list(disconnected)) == 8


def _later(ctx: JobContext, **delta: float) -> object:
    from datetime import timedelta

    moment = ctx.now() + timedelta(**delta)
    return lambda: moment


async def test_a_revocation_a_sweep_finds_is_told_as_revoked_or_expired_not_as_expired(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    # The sandbox answers like Google, "Token has been expired or revoked.": it says no more.
    sandbox.add_fault("revoke_grant", grant=MANAGER)

    await sweep(ctx)

    grant = await reload_grant(session, demo.shared_grant_id)
    details = {s.status_detail for s in await data_sources_of(session, demo.shared_grant_id)}
    assert details == {grant.status_detail}
    assert grant.status_detail is not None
    assert "no longer works: it was revoked or has expired" in grant.status_detail
    assert "sign-in has expired" not in grant.status_detail
    assert grant.status_reason is ErrorClass.AUTH_REVOKED
