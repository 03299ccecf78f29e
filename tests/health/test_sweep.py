"""A sweep ends: each grant and each data source at most once, whatever due time the work sets."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources import imports
from relink.grants import refresh
from relink.models import DataSource, Grant, SyncRun
from relink.providers.taxonomy import GRANT_LEVEL, ErrorClass
from relink.sandbox import seed
from relink.status import DataSourceStatus, GrantStatus
from relink.worker.context import JobContext
from relink.worker.sweep import SweepReport, sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.processes import relink_env, start
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import reload_grant, statuses

MANAGER = "manager@sandbox.test"
SECOND = "harbor@sandbox.test"
ONE_TOKEN_CALL_EACH = Counter({seed.IDENTITIES[0].subject: 1, seed.IDENTITIES[1].subject: 1})
# Only keeps a sweep that never ends from hanging the suite; a sweep here takes seconds.
NEVER_ENDS_SECONDS = 120
PROCESS_TIMEOUT = 120


async def _ends(work: Coroutine[Any, Any, SweepReport]) -> SweepReport:
    try:
        return await asyncio.wait_for(work, timeout=NEVER_ENDS_SECONDS)
    except TimeoutError:
        pytest.fail("the sweep never ended")


def _token_calls(sandbox: SandboxServer) -> Counter[str]:
    return Counter(sandbox.state.stats.token_requests_by_subject)


@pytest.mark.parametrize("token_lifetime", [60, 240])
async def test_a_sweep_against_short_lived_tokens_ends_with_one_token_call_per_grant(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    token_lifetime: int,
) -> None:
    # given: access tokens that live less than the refresh margin
    monkeypatch.setattr(sandbox.state, "access_token_ttl", token_lifetime)

    # when
    first = await _ends(sweep(ctx))
    clock.advance(seconds=token_lifetime)
    second = await _ends(sweep(ctx))

    # then: each sweep called the token endpoint once per grant, imports included
    assert first.refreshed == Counter({"refreshed": 2}) and second.refreshed == first.refreshed
    assert _token_calls(sandbox) == ONE_TOKEN_CALL_EACH + ONE_TOKEN_CALL_EACH
    assert first.imported == len(await statuses(session)) and not first.failures


async def test_a_sweep_ends_even_when_a_refresh_leaves_the_grant_due_at_once(
    demo: Demo, ctx: JobContext, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: whatever the refresh sets, the grant is due again the moment it is refreshed
    def due_at_once(*, now: datetime, **_: object) -> datetime:
        return now

    monkeypatch.setattr(refresh, "next_refresh_at", due_at_once)

    report = await _ends(sweep(ctx))

    assert report.refreshed == Counter({"refreshed": 2})
    assert _token_calls(sandbox) == ONE_TOKEN_CALL_EACH


async def test_a_sweep_imports_each_data_source_once_even_when_it_is_due_again_at_once(
    session: AsyncSession, demo: Demo, ctx: JobContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "IMPORT_INTERVAL", timedelta(0))
    monkeypatch.setattr(imports, "IMPORT_JITTER", timedelta(0))

    report = await _ends(sweep(ctx))

    runs = await session.execute(
        select(SyncRun.data_source_id, func.count()).group_by(SyncRun.data_source_id)
    )
    per_source = {source_id: count for source_id, count in runs}
    assert report.imported == len(per_source) == len(await statuses(session))
    assert set(per_source.values()) == {1}


async def test_relink_check_against_240_second_tokens_ends_with_one_refresh_per_grant(
    demo: Demo,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(sandbox.state, "access_token_ttl", 240)
    env = relink_env(
        database_url=database_url, secret_key=secret_key, sandbox_url=sandbox.url, var_dir=tmp_path
    )

    check = start("check", env=env)
    try:
        _, err = check.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        check.kill()

    assert check.returncode == 0, err.decode()
    assert _token_calls(sandbox) == ONE_TOKEN_CALL_EACH


async def test_a_sweep_counts_the_sources_that_a_refresh_inside_an_import_disconnected(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    # given: no refresh is due, so the imports find the tokens stale and refresh them
    await session.execute(
        update(Grant).values(next_refresh_at=clock() + timedelta(hours=1), access_expires_at=None)
    )
    await session.commit()
    sandbox.add_fault("revoke_grant", grant=SECOND)

    report = await sweep(ctx)

    second = await data_sources_of(session, demo.second_grant_id)
    assert {s.status for s in second} == {DataSourceStatus.DISCONNECTED}
    assert report.disconnected == len(second) == 3
    ended_grants = [n for n in report.failures if ErrorClass(n) in GRANT_LEVEL]
    assert [report.failures[n] for n in ended_grants] == [1]
    assert report.incidents_opened == 1
    assert report.refreshed == Counter()


async def test_check_every_grant_finds_a_revocation_when_no_refresh_is_due(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    # given: the start-up sweep refreshed every grant; nothing is due for the next hour
    await sweep(ctx)
    clock.advance(minutes=1)
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    assert (await sweep(ctx)).disconnected == 0

    report = await sweep(ctx, check_every_grant=True)

    assert report.disconnected == 8 and report.incidents_opened == 1
    assert report.refreshed == Counter({"refreshed": 1, "failed": 1})
    grant = await reload_grant(session, demo.shared_grant_id)
    assert grant.status is GrantStatus.DISCONNECTED
    assert _token_calls(sandbox) == ONE_TOKEN_CALL_EACH + ONE_TOKEN_CALL_EACH


async def test_imports_use_an_access_token_without_a_stated_lifetime_without_refreshing_it(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    # given: grants whose access tokens came without an expiry, and imports due
    await sweep(ctx)
    clock.advance(minutes=1)
    await session.execute(
        update(Grant).values(next_refresh_at=clock() + timedelta(hours=1), access_expires_at=None)
    )
    await session.execute(update(DataSource).values(next_sync_at=None))
    await session.commit()

    report = await sweep(ctx)

    assert report.imported == len(await statuses(session)) and not report.failures
    assert _token_calls(sandbox) == ONE_TOKEN_CALL_EACH
