"""One grant's many data sources import as a set: one refresh, one outcome, few statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.imports import import_data_sources
from relink.db import Database
from relink.models import DataSource, Grant
from relink.providers.taxonomy import GRANT_LEVEL, ErrorClass
from relink.sandbox import seed
from relink.status import DataSourceStatus
from relink.worker import sweep as sweep_module
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.many_sources import add_shared_clients
from tests.fixtures.sandbox import SandboxServer

MANAGER = "manager@sandbox.test"
EXTRA_CLIENTS = 42
# The in-process test sandbox answers a few calls at a time within the tests' short timeout.
CALLS_AT_ONCE = 5


def _manager_token_calls(sandbox: SandboxServer) -> int:
    return sandbox.state.stats.token_requests_by_subject[seed.IDENTITIES[0].subject]


@contextmanager
def _counted_statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _all_due_with_stale_tokens(session: AsyncSession, clock: Clock) -> None:
    """No refresh is due: the imports meet the provider's answer about the access token."""
    await session.execute(
        update(Grant).values(next_refresh_at=clock() + timedelta(hours=1), access_expires_at=None)
    )
    await session.execute(update(DataSource).values(next_sync_at=None))
    await session.commit()


async def test_a_revoked_grant_of_many_sources_is_refreshed_once_and_its_siblings_wait_with_it(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sweep_module, "CONCURRENCY", CALLS_AT_ONCE)
    shared = await add_shared_clients(session, demo, EXTRA_CLIENTS)
    await sweep(ctx)
    clock.advance(minutes=1)
    await _all_due_with_stale_tokens(session, clock)
    failures_before = {
        s.id: s.consecutive_failures for s in await data_sources_of(session, demo.shared_grant_id)
    }
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    calls_before = _manager_token_calls(sandbox)

    report = await sweep(ctx)

    assert _manager_token_calls(sandbox) == calls_before + 1
    assert ErrorClass.PROVIDER_UNAVAILABLE.value not in report.failures
    assert [n for n in report.failures if ErrorClass(n) not in GRANT_LEVEL] == []
    assert sum(report.failures.values()) == 1
    assert report.disconnected == len(shared) and report.incidents_opened == 1
    sources = await data_sources_of(session, demo.shared_grant_id)
    assert {s.status for s in sources} == {DataSourceStatus.DISCONNECTED}
    # No import counted the grant's failure as one of its own.
    assert {s.id: s.consecutive_failures for s in sources} == failures_before


async def test_a_batch_of_imports_issues_as_many_statements_for_fifty_sources_as_for_ten(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sweep_module, "CONCURRENCY", CALLS_AT_ONCE)
    shared = await add_shared_clients(session, demo, EXTRA_CLIENTS)
    assert len(shared) >= 50
    await sweep(ctx)
    clock.advance(minutes=5)

    with _counted_statements(database) as ten:
        small = await import_data_sources(ctx, shared[:10], concurrency=CALLS_AT_ONCE)
    with _counted_statements(database) as fifty:
        large = await import_data_sources(ctx, shared[:50], concurrency=CALLS_AT_ONCE)

    assert all(r.ok for r in small) and all(r.ok for r in large)
    assert len(fifty) == len(ten) < 50
