"""The issue's story over real HTTP: examples/platform_importer.py imports the demo agency's
sandbox data sources using only Relink's API; the sandbox revokes the shared grant; the
importer's report lights every recipient's bell and it is told to stop; one Reconnect later
it is asked for the missed days, imports and confirms them, and the gap closes."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.db import Database
from relink.grants.reconnect import repair_grant
from relink.models import DataSource, Grant, Notification, WebhookDelivery
from relink.models.base import utcnow
from relink.notifications.webhooks import create_endpoint
from relink.providers.results import ExternalIdentity, TokenSet
from relink.sandbox import seed
from relink.status import DataSourceStatus
from relink.worker.context import JobContext
from relink.worker.registry import JobName
from relink_client import RelinkClient
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.server import LOOPBACK_TLS
from tests.fixtures.sweeps import wait_for_jobs
from tests.importers.conftest import MANAGER, make_external, shared_sources

EXAMPLE = Path(__file__).parents[2] / "examples" / "platform_importer.py"
EVENT = "data_source.backfill_requested"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("platform_importer", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def relink(app_url: str, importer_token: str) -> Iterator[RelinkClient]:
    http = httpx.Client(base_url=app_url, timeout=10, verify=LOOPBACK_TLS)
    with RelinkClient(app_url, importer_token, http=http) as client:
        yield client


@pytest.fixture(autouse=True)
def local_receivers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELINK_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")


async def _rows(database: Database, demo: Demo) -> list[DataSource]:
    async with database.transaction() as session:
        return await shared_sources(session, demo)


async def _a_new_day(database: Database, ids: list[int], *, behind: int) -> None:
    """Time passes: each source is ``behind`` days short of its last complete day."""
    async with database.transaction() as session:
        await session.execute(
            update(DataSource)
            .where(DataSource.id.in_(ids))
            .values(complete_through=utcnow().date() - timedelta(days=behind + 1))
        )


async def test_an_outside_importer_lives_through_a_revoked_grant_with_relinks_api_alone(
    relink: RelinkClient,
    session: AsyncSession,
    database: Database,
    demo: Demo,
    ctx: JobContext,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    example = _example()
    warehouse = example.Warehouse(str(tmp_path / "warehouse.db"))
    ids = [s.id for s in await shared_sources(session, demo)]
    await make_external(database, ids)
    await create_endpoint(
        session, box=ctx.box, agency_id=demo.agency.id, url="http://127.0.0.1:9/h", events=[EVENT]
    )
    await session.commit()
    await _a_new_day(database, ids, behind=3)

    with httpx.Client(timeout=10) as provider:
        # The importer imports every shared source and confirms the days.
        first = example.import_once(relink, warehouse, provider)
        assert set(first.days) == set(ids) and not first.stopped
        yesterday = utcnow().date() - timedelta(days=1)
        assert {r.complete_through for r in await _rows(database, demo)} == {yesterday}

        # The sandbox revokes the shared grant; the next day's import meets it.
        await _a_new_day(database, ids, behind=2)
        sandbox.add_fault("revoke_grant", grant=MANAGER.email)
        second = example.import_once(relink, warehouse, provider)
        assert set(second.stopped) == set(ids) and not second.days
        assert {r.status for r in await _rows(database, demo)} == {DataSourceStatus.DISCONNECTED}
        async with database.transaction() as reading:
            told = set(await reading.scalars(select(Notification.user_id).distinct()))
        assert {demo.admin.id, demo.staff.id} <= told

        # One Reconnect later the importers are asked for the missed days.
        sandbox.reset()
        tokens = sandbox.connect(MANAGER.email)
        grant = await session.get_one(Grant, demo.shared_grant_id, populate_existing=True)
        await repair_grant(
            session,
            ctx=ctx,
            grant=grant,
            tokens=TokenSet(tokens["access_token"], tokens["refresh_token"], None),
            identity=ExternalIdentity(MANAGER.subject, email=MANAGER.email),
            reachable_account_ids={a.id for a in seed.MANAGER_SUB_ACCOUNTS},
            now=utcnow(),
            actor=f"user:{demo.admin.id}",
        )
        # The commit queues the grant's backfill on the app's dispatcher (served from a thread).
        await session.commit()
        await asyncio.to_thread(wait_for_jobs, JobName.BACKFILL_GRANT)
        async with database.transaction() as reading:
            asked = await reading.scalar(select(func.count()).where(WebhookDelivery.event == EVENT))
        assert asked == len(ids)

        third = example.import_once(relink, warehouse, provider)

    assert set(third.days) == set(ids) and not third.stopped
    rows = await _rows(database, demo)
    assert {r.complete_through for r in rows} == {yesterday}
    assert {r.backfill_from for r in rows} == {None}
    assert {r.status for r in rows} == {DataSourceStatus.CONNECTED}
    missed = {(yesterday - timedelta(days=n)).isoformat() for n in range(2)}
    assert all(missed <= warehouse.days(source_id) for source_id in ids)
