"""The probe: with no signal at all, a revoked grant is found within the probe interval, by
the cheapest call, within the provider's budget; a transient answer changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.refresh import refresh_current
from relink.models import Incident
from relink.providers.catalog import Catalog
from relink.providers.detection_spec import ProbeSpec
from relink.signals.probe import JITTER, calls_per_hour, probe_due
from relink.status import DataSourceStatus, GrantStatus
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import reload_grant, statuses

MANAGER = "manager@sandbox.test"


@pytest.fixture
async def connected(demo: Demo, ctx: JobContext, sandbox: SandboxServer) -> Demo:
    """Both demo grants hold an access token, and nobody listens for the sandbox's signals."""
    sandbox.state.transmitter.streams.clear()
    sandbox.state.transmitter.deauthorize_callbacks.clear()
    for grant_id in (demo.shared_grant_id, demo.second_grant_id):
        await refresh_current(ctx, grant_id=grant_id)
    return demo


def one_interval(ctx: JobContext, clock: Clock) -> None:
    clock.advance(seconds=ctx.settings.probe_interval_seconds * 1.2)


def with_budget(ctx: JobContext, calls_per_minute: int) -> None:
    spec = ctx.catalog.get("sandbox")
    probe = ProbeSpec(url=spec.probe.url, calls_per_minute=calls_per_minute)
    ctx.catalog = Catalog(
        {**ctx.catalog.specs, "sandbox": spec.model_copy(update={"probe": probe})}
    )


async def test_without_signals_the_probe_finds_a_revoked_grant_within_its_interval(
    session: AsyncSession, connected: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    shared = {s.id for s in await data_sources_of(session, connected.shared_grant_id)}
    await probe_due(ctx)  # schedules every grant within the next interval
    sandbox.add_fault("revoke_grant", grant=MANAGER)

    one_interval(ctx, clock)
    await probe_due(ctx)

    now = await statuses(session)
    assert {ds for ds, s in now.items() if s is DataSourceStatus.DISCONNECTED} == shared
    incident = await session.scalar(select(Incident))
    assert incident is not None and incident.detected_via == "probe"
    second = await reload_grant(session, connected.second_grant_id)
    assert second.status is GrantStatus.ACTIVE


async def test_a_probe_asks_the_identity_endpoint_and_refreshes_nothing_that_works(
    connected: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    refreshes = sandbox.state.stats.token_requests["refresh_token"]
    await probe_due(ctx)
    one_interval(ctx, clock)

    report = await probe_due(ctx)

    assert report.probed["sandbox"] == 2
    assert report.verdicts["ok"] == sum(report.probed.values())
    assert sandbox.state.stats.api_requests["me"] >= 2
    assert sandbox.state.stats.token_requests["refresh_token"] == refreshes


async def test_a_lapsed_access_token_is_left_to_the_refresh_schedule(
    session: AsyncSession, connected: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    refreshes = sandbox.state.stats.token_requests["refresh_token"]
    await probe_due(ctx)
    clock.advance(hours=2)  # past the sandbox's one-hour access tokens

    report = await probe_due(ctx)

    assert report.verdicts["skipped"] == 2
    assert sandbox.state.stats.token_requests["refresh_token"] == refreshes


async def test_a_transient_answer_to_the_probe_changes_nothing(
    session: AsyncSession, connected: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    await probe_due(ctx)
    sandbox.add_fault("server_error", grant=MANAGER, surface="api")
    one_interval(ctx, clock)

    report = await probe_due(ctx)

    assert report.verdicts["transient"] == 1
    grant = await reload_grant(session, connected.shared_grant_id)
    assert grant.status is GrantStatus.ACTIVE
    assert all(s is not DataSourceStatus.DISCONNECTED for s in (await statuses(session)).values())


async def test_the_probe_never_exceeds_the_providers_budget(
    connected: Demo, ctx: JobContext, clock: Clock
) -> None:
    with_budget(ctx, calls_per_minute=1)
    await probe_due(ctx)
    one_interval(ctx, clock)

    first = await probe_due(ctx)
    same_minute = await probe_due(ctx)
    clock.advance(seconds=61)
    next_minute = await probe_due(ctx)

    assert (first.probed["sandbox"], same_minute.probed["sandbox"]) == (1, 0)
    assert next_minute.probed["sandbox"] == 1


async def test_new_grants_are_first_probed_at_random_within_one_interval(
    session: AsyncSession, connected: Demo, ctx: JobContext, clock: Clock
) -> None:
    start = clock()
    span = timedelta(seconds=ctx.settings.probe_interval_seconds)

    await probe_due(ctx)

    for grant_id in (connected.shared_grant_id, connected.second_grant_id):
        grant = await reload_grant(session, grant_id)
        assert grant.next_probe_at is not None
        assert start <= grant.next_probe_at <= start + span * JITTER[1]


def test_the_cost_at_ten_thousand_grants_is_the_schedule_capped_by_the_budget() -> None:
    assert calls_per_hour(10_000, interval_seconds=300, calls_per_minute=600) == 36_000
    assert calls_per_hour(100, interval_seconds=300, calls_per_minute=600) == 1_200
