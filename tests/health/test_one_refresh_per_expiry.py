"""One token call per grant per expiry (issue 23, 1): however many data sources, imports,
batches and processes meet an access token the provider ended early.

The sandbox rotates refresh tokens and revokes the whole family when a spent one is presented
again, as the providers that rotate do; ``end_access`` ends the login's access tokens before
their stated lifetime, so Relink still believes them fresh until the data API refuses them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.imports import import_data_source, import_data_sources
from relink.db import Database
from relink.grants.refresh import Outcome, refresh_current, refresh_grant
from relink.models import DataSource
from relink.providers.http import HttpClient
from relink.sandbox import seed
from relink.status import GrantStatus
from relink.worker.context import JobContext
from tests.conftest import TEST_TOKEN_TIMEOUT
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.processes import PROCESS_TIMEOUT, seeded_env, start
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import reload_grant

MANAGER = seed.IDENTITIES[0]
# The imports that meet the refused token after the first refresh has already finished.
LATE_REFUSAL_DELAY = 0.4
# The suite's data-call timeout (0.5 s) left a slow answer 0.1 s to spare, which a busy
# machine used up: an import then timed out (provider_unavailable) and the test failed.
PATIENT_HTTP_TIMEOUT = LATE_REFUSAL_DELAY + 2.0


@pytest.fixture
async def ctx(ctx: JobContext) -> AsyncIterator[JobContext]:
    """The suite's job context, waiting long enough for this module's slow answers."""
    patient = HttpClient(timeout=PATIENT_HTTP_TIMEOUT, token_timeout=TEST_TOKEN_TIMEOUT)
    try:
        yield dataclasses.replace(ctx, http=patient)
    finally:
        await patient.close()


async def _grant_sources(session: AsyncSession, grant_id: int) -> list[DataSource]:
    rows = await session.scalars(
        select(DataSource).where(DataSource.grant_id == grant_id).order_by(DataSource.id)
    )
    return list(rows)


def _token_calls(sandbox: SandboxServer) -> int:
    return sandbox.state.stats.token_requests_by_subject[MANAGER.subject]


async def _access_token_ended_early(
    ctx: JobContext, demo: Demo, sandbox: SandboxServer, clock: Clock
) -> int:
    """The shared grant holds a fresh access token, which the provider then ends; answers how
    many token calls were made so far."""
    assert (await refresh_current(ctx, grant_id=demo.shared_grant_id)).outcome is Outcome.REFRESHED
    clock.advance(seconds=1)
    sandbox.state.advance_clock(1)
    sandbox.add_fault("end_access", grant=MANAGER.email)
    return _token_calls(sandbox)


def _refusals_arrive_late(sandbox: SandboxServer, sources: list[DataSource]) -> None:
    """Every data source but the first answers slowly: their refusals arrive once the first
    import's refresh is over (a refresh still running would be shared anyway)."""
    for source in sources[1:]:
        sandbox.add_fault("slow", account=source.external_account_id, delay=LATE_REFUSAL_DELAY)


async def test_imports_that_meet_one_ended_token_one_after_another_refresh_it_once(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    # given: a grant's data sources imported by separate jobs, each refused in its own time
    sources = await _grant_sources(session, demo.shared_grant_id)
    assert len(sources) >= 3
    before = await _access_token_ended_early(ctx, demo, sandbox, clock)
    _refusals_arrive_late(sandbox, sources)

    # when
    results = await asyncio.gather(*(import_data_source(ctx, data_source_id=s.id) for s in sources))

    # then: one token call for the expiry, and every import went on with the new token
    assert _token_calls(sandbox) - before == 1
    assert all(r.ok for r in results), results
    assert sandbox.state.stats.refresh_token_reuse_detected == 0


async def test_a_refused_token_already_replaced_is_not_refreshed_again(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    # given: another caller replaced the token this caller saw refused
    refused = (await reload_grant(session, demo.shared_grant_id)).token_generation
    await refresh_current(ctx, grant_id=demo.shared_grant_id)
    before = _token_calls(sandbox)

    # when
    result = await refresh_grant(ctx, grant_id=demo.shared_grant_id, replacing=refused)

    # then: the caller is told to use the current token; the provider is not asked
    assert result.outcome is Outcome.STILL_FRESH
    assert _token_calls(sandbox) == before


async def test_two_processes_importing_one_grants_sources_refresh_it_once(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    sandbox: SandboxServer,
    clock: Clock,
    database_url: str,
) -> None:
    # given: a second process (its own engine, pool and in-process refresh table) beside ours
    sources = await _grant_sources(session, demo.shared_grant_id)
    before = await _access_token_ended_early(ctx, demo, sandbox, clock)
    _refusals_arrive_late(sandbox, sources)
    other = Database(database_url)
    other_ctx = JobContext(
        database=other,
        box=ctx.box,
        catalog=ctx.catalog,
        http=ctx.http,
        settings=ctx.settings,
        clock=clock,
        rng=ctx.rng,
    )
    ours, theirs = [s.id for s in sources[0::2]], [s.id for s in sources[1::2]]

    # when: each process imports its half, in batches as a sweep does
    try:
        results = await asyncio.gather(
            import_data_sources(ctx, ours), import_data_sources(other_ctx, theirs)
        )
    finally:
        await other.dispose()

    # then
    assert _token_calls(sandbox) - before == 1
    assert all(r.ok for batch in results for r in batch), results
    assert sandbox.state.stats.refresh_token_reuse_detected == 0
    grant = await reload_grant(session, demo.shared_grant_id)
    assert grant.status is GrantStatus.ACTIVE


async def test_two_checks_started_together_refresh_each_grant_once(
    pg_database_url: str, secret_key: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    # given: the demo, and two operators (or two cron machines) running `relink check` at once
    env = await seeded_env(
        database_url=pg_database_url,
        secret_key=secret_key,
        sandbox_url=sandbox.url,
        var_dir=tmp_path,
    )

    # when
    workers = [start("check", env=env) for _ in range(2)]
    outputs = [w.communicate(timeout=PROCESS_TIMEOUT) for w in workers]

    # then: each grant answered both checks with one refresh, and none was revoked for reuse
    assert [w.returncode for w in workers] == [0, 0], outputs
    refreshes = sandbox.state.stats.token_requests_by_subject
    assert refreshes == Counter({"sbx-user-1001": 1, "sbx-user-1002": 1})
    assert sandbox.state.stats.refresh_token_reuse_detected == 0
